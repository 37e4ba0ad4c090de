//! The HTTP surface. Each resource module exports `router()`; this module only merges them and
//! adds the cross-cutting layers.

mod audit;
mod auth;
mod backtests;
mod dashboard;
mod docs;
mod events;
mod guard;
mod keys;
mod metrics;
mod policies;
mod reports;
mod slash;
mod system;
mod ui;
mod unread_body;
mod users;
mod violations;
mod webhooks;

use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use sentinel_api::page::Page;
use serde::Serialize;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use unread_body::DRAIN_LIMIT;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Every documented route, with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router())
        .merge(policies::router())
        .merge(backtests::router())
        .merge(events::router())
        .merge(violations::router())
        .merge(dashboard::router())
        .merge(guard::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(keys::router())
        .merge(audit::router())
        .merge(webhooks::router())
        .merge(reports::router())
}

/// The OpenAPI document generated from the code.
pub fn openapi() -> utoipa::openapi::OpenApi {
    finish(api_router().split_for_parts().1)
}

fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    crate::openapi::CommonResponses.modify(&mut doc);
    doc
}

/// The complete application.
pub fn app(state: AppState) -> Router {
    let (router, doc) = api_router().split_for_parts();
    let doc = finish(doc);
    let request_id = HeaderName::from_static("x-request-id");
    let limit = state.settings.body_limit;
    router
        .merge(docs::router(doc))
        .merge(crate::gateway::router())
        .route("/metrics", axum::routing::get(metrics::scrape))
        .route_layer(axum::middleware::from_fn_with_state(
            state.http_metrics.clone(),
            crate::metrics::track,
        ))
        // After the metrics layer: the dashboard's page shells are not API traffic.
        .merge(ui::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(slash::canonical_slash))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.settings.body_limit,
        ))
        .layer(RequestBodyLimitLayer::new(state.settings.body_limit))
        // Inside the header layers, so the JSON 413 gets the security headers too.
        .layer(axum::middleware::from_fn(move |req, next| {
            problem_on_overflow(limit, req, next)
        }))
        .layer(cors(&state.settings.cors_origins))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                // The path only: query strings may carry tokens. With traces on, the span is an
                // OpenTelemetry server span that continues the request's `traceparent`.
                if !crate::telemetry::enabled() {
                    return tracing::info_span!("http", method = %req.method(), path = %req.uri().path());
                }
                let span = tracing::info_span!(
                    "http",
                    method = %req.method(),
                    path = %req.uri().path(),
                    otel.name = format!("{} {}", req.method(), req.uri().path()),
                    otel.kind = "server",
                    http.request.method = %req.method(),
                    url.path = %req.uri().path(),
                    http.response.status_code = tracing::field::Empty,
                );
                crate::telemetry::continue_trace(&span, req.headers());
                span
            })
            .on_response(
                |res: &axum::http::Response<_>, _latency: std::time::Duration, span: &tracing::Span| {
                    span.record("http.response.status_code", i64::from(res.status().as_u16()));
                },
            ),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        // Outermost, so it also sees the bodies that the limit layers and extractors leave unread.
        .layer(axum::middleware::from_fn(unread_body::drain_unread_body))
        .with_state(state)
}

/// CORS is closed unless origins are configured.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if allowed.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([HeaderName::from_static("x-total-count")])
}

/// `RequestBodyLimitLayer` answers a bare 413 when `Content-Length` is too large; give it our body.
async fn problem_on_overflow(
    limit: usize,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(req).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|v| v != "application/json")
    {
        return ApiError::payload_too_large(limit).into_response();
    }
    response
}

async fn not_found() -> Response {
    ApiError::route_not_found().into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::method_not_allowed().into_response()
}

/// A list answer: a plain JSON array, with the total in `X-Total-Count`.
pub struct Listed<T>(pub Page<T>);

impl<T: Serialize> IntoResponse for Listed<T> {
    fn into_response(self) -> Response {
        let total = self.0.total.to_string();
        (
            [(HeaderName::from_static("x-total-count"), total)],
            Json(self.0.items),
        )
            .into_response()
    }
}
