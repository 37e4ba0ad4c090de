use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentinel_api::system::{HealthResponse, ReadyResponse, RootResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root))
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// What this server is and where its documentation lives.
#[utoipa::path(get, path = "/", tag = "system", security(()), responses((status = 200, body = RootResponse)))]
async fn root(headers: HeaderMap) -> Response {
    // A browser navigating here gets the dashboard; every other client the legacy JSON.
    if super::ui::prefers_html(&headers) {
        return super::ui::overview();
    }
    let mut response = Json(RootResponse {
        message: "SentinelAI AI Governance Platform API".into(),
        version: crate::VERSION.into(),
        docs: "/docs".into(),
    })
    .into_response();
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("Accept"),
    );
    response
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "system", security(()), responses((status = 200, body = HealthResponse)))]
async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "healthy".into(),
    })
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "system",
    security(()),
    responses((status = 200, body = ReadyResponse), (status = 503, body = ReadyResponse))
)]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ReadyResponse>) {
    if state.store.ping().await {
        (
            StatusCode::OK,
            Json(ReadyResponse {
                status: "ready".into(),
                database: "ok".into(),
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ReadyResponse {
                status: "unavailable".into(),
                database: "unreachable".into(),
            }),
        )
    }
}
