use axum::Json;
use axum::extract::State;
use sentinel_api::ViolationId;
use sentinel_api::error::{ErrorBody, ValidationErrorBody};
use sentinel_api::page::PageParams;
use sentinel_api::violation::{
    ShadowQuery, ViolationFilter, ViolationResponse, ViolationStats, ViolationUpdate,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Analyst, Auth, Read};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Pagination, PathId};
use crate::routes::Listed;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_violations))
        .routes(routes!(get_violation, update_violation))
        .routes(routes!(violation_stats))
}

/// Violations, newest first.
#[utoipa::path(
    get,
    path = "/api/violations/",
    tag = "violations",
    params(PageParams, ViolationFilter),
    responses(
        (status = 200, body = [ViolationResponse], headers(("X-Total-Count" = u64))),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_violations(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    Pagination(page): Pagination,
    ApiQuery(filter): ApiQuery<ViolationFilter>,
) -> ApiResult<Listed<ViolationResponse>> {
    Ok(Listed(
        service::violations::list(&state, &filter, page).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/violations/{violation_id}",
    tag = "violations",
    params(("violation_id" = i64, Path)),
    responses((status = 200, body = ViolationResponse), (status = 404, body = ErrorBody))
)]
async fn get_violation(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    PathId(id): PathId<ViolationId>,
) -> ApiResult<Json<ViolationResponse>> {
    Ok(Json(service::violations::get(&state, id).await?))
}

/// Triage: `status` and `acknowledged_by` (present, even `null`, stamps `acknowledged_date`).
#[utoipa::path(
    put,
    path = "/api/violations/{violation_id}",
    tag = "violations",
    params(("violation_id" = i64, Path)),
    request_body = ViolationUpdate,
    responses((status = 200, body = ViolationResponse), (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody))
)]
async fn update_violation(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    PathId(id): PathId<ViolationId>,
    ApiJson(body): ApiJson<ViolationUpdate>,
) -> ApiResult<Json<ViolationResponse>> {
    Ok(Json(
        service::violations::update(&state, &auth.audit(), id, body).await?,
    ))
}

/// Counts; open = `detected` + `investigating`. Shadow policies' violations are counted only
/// when `shadow` asks for them (`include` or `only`).
#[utoipa::path(
    get,
    path = "/api/violations/stats/summary",
    tag = "violations",
    params(ShadowQuery),
    responses((status = 200, body = ViolationStats), (status = 422, body = ValidationErrorBody))
)]
async fn violation_stats(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ShadowQuery>,
) -> ApiResult<Json<ViolationStats>> {
    let shadow = query.shadow.unwrap_or_default();
    Ok(Json(state.store.violation_stats_with(shadow).await?))
}
