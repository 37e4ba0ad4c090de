//! The model gateway: OpenAI- and Anthropic-compatible routes under `/v1` (DESIGN §11).
//!
//! A client changes its base URL to Sentinel's and authenticates with a Sentinel API key that
//! has the `proxy` scope. Each call is evaluated on the way in (every text the model will read),
//! forwarded to the upstream that serves its model, evaluated on the way out (streamed or not,
//! through the engine's [`StreamScanner`](sentinel_engine::StreamScanner)), and recorded as an
//! event. Errors reach the client in the provider's own shape.
//!
//! - [`upstream`]: the configured upstreams, routing by model, the pooled client, the private
//!   address guard and the price table.
//! - [`inbound`]: the request's texts, their evaluation and redaction.
//! - [`pipeline`]: the steps every route shares (the way in, forwarding, failures, streams).
//! - [`openai`]: `POST /v1/chat/completions`, `POST /v1/embeddings` and `GET /v1/models`.
//! - [`anthropic`]: `POST /v1/messages`.
//! - [`responses`]: `POST /v1/responses`.
//! - [`record`]: the event each call leaves.

mod anthropic;
mod inbound;
mod openai;
mod pipeline;
pub(crate) mod record;
mod responses;
mod upstream;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use upstream::{Upstreams, is_private};

use crate::auth::{Auth, Proxy};
use crate::error::ApiError;
use crate::settings::ApiShape;
use crate::state::AppState;

/// The `/v1` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/chat/completions",
            axum::routing::post(pipeline::serve::<openai::Chat>),
        )
        .route(
            "/v1/embeddings",
            axum::routing::post(pipeline::serve::<openai::Embeddings>),
        )
        .route(
            "/v1/responses",
            axum::routing::post(pipeline::serve::<responses::Responses>),
        )
        .route(
            "/v1/messages",
            axum::routing::post(pipeline::serve::<anthropic::Messages>),
        )
        .route("/v1/models", axum::routing::get(openai::models))
}

/// An error in a provider's shape: OpenAI's `{"error": {message, type, code, param}}` or
/// Anthropic's `{"type": "error", "error": {type, message}}`.
#[derive(Debug)]
pub struct ProviderError {
    pub api: ApiShape,
    pub status: StatusCode,
    /// OpenAI's `type` (`invalid_request_error`); Anthropic's `error.type` is derived from the
    /// status.
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    /// The policies that blocked, for `content_policy_violation`.
    pub policies: Vec<String>,
}

impl ProviderError {
    pub fn new(api: ApiShape, status: StatusCode, code: &'static str, message: String) -> Self {
        let kind = match status.as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            500..=599 => "api_error",
            _ => "invalid_request_error",
        };
        ProviderError {
            api,
            status,
            kind,
            code,
            message,
            policies: Vec::new(),
        }
    }

    /// A request refused by policy.
    pub fn blocked(api: ApiShape, message: String, policies: Vec<String>) -> Self {
        ProviderError {
            policies,
            ..Self::new(
                api,
                StatusCode::BAD_REQUEST,
                "content_policy_violation",
                message,
            )
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        match self.api {
            ApiShape::Openai => json!({
                "error": {
                    "message": self.message,
                    "type": self.kind,
                    "param": null,
                    "code": self.code,
                    "policies": self.policies,
                }
            }),
            ApiShape::Anthropic => json!({
                "type": "error",
                "error": {
                    "type": self.kind,
                    "message": self.message,
                    "code": self.code,
                    "policies": self.policies,
                }
            }),
        }
    }

    /// A Sentinel error (authentication, body limits) in the provider's shape.
    pub fn from_api(api: ApiShape, e: ApiError) -> Self {
        Self::new(api, e.status(), e.code().as_str(), e.message())
    }
}

impl IntoResponse for ProviderError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// The caller of a gateway route, or the provider-shaped refusal.
pub fn caller(
    api: ApiShape,
    auth: Result<Auth<Proxy>, ApiError>,
) -> Result<Auth<Proxy>, ProviderError> {
    auth.map_err(|e| ProviderError::from_api(api, e))
}
