use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use sentinel_api::error::{ErrorBody, MessageResponse, ValidationErrorBody};
use sentinel_api::identity::{LoginRequest, RefreshRequest, TokenResponse, UserResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AnyUser, Auth, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(token))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// Signs in with a username and password. After 5 failures in a row for a username or a client
/// address, further attempts answer 429 with `Retry-After`.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64))),
    )
)]
async fn login(
    State(state): State<AppState>,
    RequestContext(ctx): RequestContext,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(
        service::auth::login(&state, ctx, &body.username, body.password).await?,
    ))
}

/// The OAuth2 password flow (`application/x-www-form-urlencoded`: `username`, `password`,
/// optional `grant_type=password`), for Swagger UI's Authorize button and OAuth2 clients.
#[utoipa::path(
    post,
    path = "/api/auth/token",
    tag = "auth",
    security(()),
    request_body(content = LoginRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64))),
    )
)]
async fn token(
    State(state): State<AppState>,
    RequestContext(ctx): RequestContext,
    body: Bytes,
) -> ApiResult<Json<TokenResponse>> {
    let mut username = None;
    let mut password = None;
    let mut grant_type = None;
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "username" => username = Some(v.into_owned()),
            "password" => password = Some(v.into_owned()),
            "grant_type" => grant_type = Some(v.into_owned()),
            _ => {}
        }
    }
    if grant_type.as_deref().is_some_and(|g| g != "password") {
        return Err(ApiError::invalid(
            &["body", "grant_type"],
            "grant_type must be 'password'",
            "value_error",
        ));
    }
    for (field, value) in [("username", &username), ("password", &password)] {
        if value.as_deref().is_some_and(|v| v.contains('\0')) {
            return Err(ApiError::invalid(
                &["body", field],
                "Text must not contain the NUL character (U+0000)",
                "string_nul",
            ));
        }
    }
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::invalid(
            &["body", "username"],
            "Field required: username and password",
            "missing",
        ));
    };
    Ok(Json(
        service::auth::login(&state, ctx, &username, password).await?,
    ))
}

/// Exchanges a refresh token for a new access token and a new refresh token. Each refresh token
/// works once: presenting a used one revokes every token of its sign-in.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    RequestContext(ctx): RequestContext,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(
        service::auth::refresh(&state, &ctx, &body.refresh_token).await?,
    ))
}

/// Revokes the refresh token (and every token of its sign-in). Access tokens expire on their own.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security(()),
    request_body = RefreshRequest,
    responses((status = 200, body = MessageResponse), (status = 422, body = ValidationErrorBody))
)]
async fn logout(
    State(state): State<AppState>,
    RequestContext(ctx): RequestContext,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<Json<MessageResponse>> {
    service::auth::logout(&state.store, &ctx, &body.refresh_token).await?;
    Ok(Json(MessageResponse {
        message: "Logged out".into(),
    }))
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
async fn me(State(state): State<AppState>, auth: Auth<AnyUser>) -> ApiResult<Json<UserResponse>> {
    let id = auth.principal.user_id().ok_or_else(ApiError::forbidden)?;
    Ok(Json(state.store.get_user(id).await?.user))
}
