use axum::Json;
use axum::extract::State;
use sentinel_api::error::{ErrorBody, ValidationErrorBody};
use sentinel_api::identity::{ApiKeyCreate, ApiKeyCreated, ApiKeyResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Auth};
use crate::error::ApiResult;
use crate::extract::{ApiJson, Pagination, PathId};
use crate::routes::Listed;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(get_key, revoke_key))
}

/// API keys, newest first: never the keys themselves.
#[utoipa::path(
    get,
    path = "/api/keys/",
    tag = "keys",
    params(sentinel_api::page::PageParams),
    responses(
        (status = 200, body = [ApiKeyResponse], headers(("X-Total-Count" = u64, description = "Rows matching the filter"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_keys(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    Pagination(page): Pagination,
) -> ApiResult<Listed<ApiKeyResponse>> {
    Ok(Listed(state.store.list_api_keys(page).await?))
}

/// Creates a key with scopes `ingest` (guard and event ingestion) and/or `read`. The answer holds
/// the key: it is shown this once. Use it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
#[utoipa::path(
    post,
    path = "/api/keys/",
    tag = "keys",
    request_body = ApiKeyCreate,
    responses(
        (status = 200, body = ApiKeyCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn create_key(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ApiKeyCreate>,
) -> ApiResult<Json<ApiKeyCreated>> {
    Ok(Json(
        service::keys::create(&state, &auth.audit(), auth.principal.user_id(), body).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/keys/{key_id}",
    tag = "keys",
    params(("key_id" = i64, Path)),
    responses((status = 200, body = ApiKeyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn get_key(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<ApiKeyResponse>> {
    Ok(Json(state.store.get_api_key(id).await?))
}

/// Revokes a key; it stops working at once on this node and within 5 s on the others.
#[utoipa::path(
    delete,
    path = "/api/keys/{key_id}",
    tag = "keys",
    params(("key_id" = i64, Path)),
    responses((status = 200, body = ApiKeyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn revoke_key(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<ApiKeyResponse>> {
    Ok(Json(
        service::keys::revoke(&state, &auth.audit(), id).await?,
    ))
}
