use axum::Json;
use axum::extract::State;
use sentinel_api::error::ValidationErrorBody;
use sentinel_api::guard::{GuardRequest, GuardResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Ingest};
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(guard_text))
}

/// Evaluates a prompt (`stage: input`) or a completion (`stage: output`) against every enforced
/// policy in scope. The strongest intervention wins: block > redact > notify > allow. With
/// `record` (the default) the interaction is stored as an event with its violations.
#[utoipa::path(
    post,
    path = "/api/guard",
    tag = "guard",
    request_body = GuardRequest,
    responses((status = 200, body = GuardResponse), (status = 422, body = ValidationErrorBody))
)]
async fn guard_text(
    _auth: Auth<Ingest>,

    State(state): State<AppState>,
    ApiJson(body): ApiJson<GuardRequest>,
) -> ApiResult<Json<GuardResponse>> {
    Ok(Json(service::guard::guard(&state, body).await?))
}
