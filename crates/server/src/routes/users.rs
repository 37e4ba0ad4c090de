use axum::Json;
use axum::extract::State;
use sentinel_api::UserId;
use sentinel_api::error::{ErrorBody, MessageResponse, ValidationErrorBody};
use sentinel_api::identity::{UserCreate, UserResponse, UserUpdate};
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
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
}

/// Users in id order.
#[utoipa::path(
    get,
    path = "/api/users/",
    tag = "users",
    params(sentinel_api::page::PageParams),
    responses(
        (status = 200, body = [UserResponse], headers(("X-Total-Count" = u64, description = "Rows matching the filter"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_users(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    Pagination(page): Pagination,
) -> ApiResult<Listed<UserResponse>> {
    Ok(Listed(state.store.list_users(page).await?))
}

/// Creates a user. Passwords need at least 8 characters; a duplicate username or email is a 409.
#[utoipa::path(
    post,
    path = "/api/users/",
    tag = "users",
    request_body = UserCreate,
    responses(
        (status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn create_user(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UserCreate>,
) -> ApiResult<Json<UserResponse>> {
    Ok(Json(
        service::users::create(&state.store, &auth.audit(), body).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/users/{user_id}",
    tag = "users",
    params(("user_id" = i64, Path)),
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn get_user(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId<UserId>,
) -> ApiResult<Json<UserResponse>> {
    Ok(Json(state.store.get_user(id.get()).await?.user))
}

/// Partial update. The last active admin cannot be demoted or disabled (409); a new password or
/// disabling signs the user out everywhere.
#[utoipa::path(
    put,
    path = "/api/users/{user_id}",
    tag = "users",
    params(("user_id" = i64, Path)),
    request_body = UserUpdate,
    responses(
        (status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn update_user(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId<UserId>,
    ApiJson(body): ApiJson<UserUpdate>,
) -> ApiResult<Json<UserResponse>> {
    let user = service::users::update(&state.store, &auth.audit(), id, body).await?;
    state.auth.forget_user(id);
    Ok(Json(user))
}

/// Deletes a user. The last active admin cannot be deleted (409).
#[utoipa::path(
    delete,
    path = "/api/users/{user_id}",
    tag = "users",
    params(("user_id" = i64, Path)),
    responses((status = 200, body = MessageResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
async fn delete_user(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId<UserId>,
) -> ApiResult<Json<MessageResponse>> {
    state.store.delete_user(&auth.audit(), id.get()).await?;
    state.auth.forget_user(id);
    Ok(Json(MessageResponse {
        message: "User deleted successfully".into(),
    }))
}
