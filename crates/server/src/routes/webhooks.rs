//! `/api/webhooks/`: endpoints, their secrets and their delivery log (admins only).

use axum::Json;
use axum::extract::State;
use sentinel_api::error::{ErrorBody, ValidationErrorBody};
use sentinel_api::webhook::{
    DeliveryResponse, WebhookCreate, WebhookCreated, WebhookResponse, WebhookUpdate,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Auth};
use crate::error::ApiResult;
use crate::extract::{ApiJson, Pagination, PathId, PathInts};
use crate::routes::Listed;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(send_test))
        .routes(routes!(enable_webhook))
        .routes(routes!(disable_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

/// Webhook endpoints, oldest first (never their secrets).
#[utoipa::path(
    get,
    path = "/api/webhooks/",
    tag = "webhooks",
    params(sentinel_api::page::PageParams),
    responses(
        (status = 200, body = [WebhookResponse], headers(("X-Total-Count" = u64, description = "Endpoints in all"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_webhooks(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    Pagination(page): Pagination,
) -> ApiResult<Listed<WebhookResponse>> {
    Ok(Listed(state.store.list_webhooks(page).await?))
}

/// Creates an endpoint. The answer holds its `whsec_…` signing secret: shown this once. The URL
/// must not be a private, loopback or link-local destination unless the configuration allows it.
#[utoipa::path(
    post,
    path = "/api/webhooks/",
    tag = "webhooks",
    request_body = WebhookCreate,
    responses(
        (status = 200, body = WebhookCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn create_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<WebhookCreate>,
) -> ApiResult<Json<WebhookCreated>> {
    Ok(Json(
        service::webhooks::create(&state, &auth.audit(), auth.principal.user_id(), body).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = i64, Path)),
    responses((status = 200, body = WebhookResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn get_webhook(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<WebhookResponse>> {
    Ok(Json(state.store.get_webhook(id).await?.info))
}

/// Changes an endpoint; `enabled: true` re-enables one the worker disabled.
#[utoipa::path(
    put,
    path = "/api/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = i64, Path)),
    request_body = WebhookUpdate,
    responses(
        (status = 200, body = WebhookResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody),
    )
)]
async fn update_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<WebhookUpdate>,
) -> ApiResult<Json<WebhookResponse>> {
    Ok(Json(
        service::webhooks::update(&state, &auth.audit(), id, body).await?,
    ))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(
    delete,
    path = "/api/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = i64, Path)),
    responses((status = 200, body = WebhookResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn delete_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<WebhookResponse>> {
    Ok(Json(state.store.delete_webhook(&auth.audit(), id).await?))
}

/// A new signing secret, shown this once. The old one keeps signing beside it (a second
/// `v1,…` in `webhook-signature`) for `webhooks.rotation_overlap_hours`, until
/// `previous_secret_expires_at`.
#[utoipa::path(
    post,
    path = "/api/webhooks/{webhook_id}/rotate-secret",
    tag = "webhooks",
    params(("webhook_id" = i64, Path)),
    responses((status = 200, body = WebhookCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn rotate_secret(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<WebhookCreated>> {
    Ok(Json(
        service::webhooks::rotate_secret(&state, &auth.audit(), id).await?,
    ))
}

/// Queues a `test` message to this endpoint (sent while it is enabled); the answer is the
/// queued delivery, whose outcome appears in `deliveries`.
#[utoipa::path(
    post,
    path = "/api/webhooks/{webhook_id}/test",
    tag = "webhooks",
    params(("webhook_id" = i64, Path)),
    responses((status = 200, body = DeliveryResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn send_test(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<DeliveryResponse>> {
    Ok(Json(
        service::webhooks::send_test(&state, &auth.audit(), id).await?,
    ))
}

/// Turns an endpoint on (clearing why it was disabled); its pending deliveries resume.
#[utoipa::path(
    post,
    path = "/api/webhooks/{webhook_id}/enable",
    tag = "webhooks",
    params(("webhook_id" = i64, Path)),
    responses((status = 200, body = WebhookResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn enable_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<WebhookResponse>> {
    let on = WebhookUpdate {
        enabled: Some(true),
        ..WebhookUpdate::default()
    };
    Ok(Json(
        service::webhooks::update(&state, &auth.audit(), id, on).await?,
    ))
}

/// Turns an endpoint off: no new deliveries are queued for it and none are sent.
#[utoipa::path(
    post,
    path = "/api/webhooks/{webhook_id}/disable",
    tag = "webhooks",
    params(("webhook_id" = i64, Path)),
    responses((status = 200, body = WebhookResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn disable_webhook(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<WebhookResponse>> {
    let off = WebhookUpdate {
        enabled: Some(false),
        ..WebhookUpdate::default()
    };
    Ok(Json(
        service::webhooks::update(&state, &auth.audit(), id, off).await?,
    ))
}

/// The endpoint's delivery log, newest first: status, attempts, last status code, latency and
/// an excerpt of the last answer.
#[utoipa::path(
    get,
    path = "/api/webhooks/{webhook_id}/deliveries",
    tag = "webhooks",
    params(("webhook_id" = i64, Path), sentinel_api::page::PageParams),
    responses(
        (status = 200, body = [DeliveryResponse], headers(("X-Total-Count" = u64, description = "Deliveries in all"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_deliveries(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    PathId(id): PathId,
    Pagination(page): Pagination,
) -> ApiResult<Listed<DeliveryResponse>> {
    Ok(Listed(state.store.list_deliveries(id, page).await?))
}

/// Sends a delivery's message again, as a new delivery due now (same `webhook-id`).
#[utoipa::path(
    post,
    path = "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    params(("webhook_id" = i64, Path), ("delivery_id" = i64, Path)),
    responses((status = 200, body = DeliveryResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn redeliver(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    path: PathInts<2>,
) -> ApiResult<Json<DeliveryResponse>> {
    let [id, delivery_id] = path.0;
    Ok(Json(
        service::webhooks::redeliver(&state, &auth.audit(), id, delivery_id).await?,
    ))
}
