//! Backtests of candidate policies over stored traffic (`/api/policies/backtest*`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sentinel_api::backtest::{BacktestCreate, BacktestResponse};
use sentinel_api::error::{ErrorBody, ValidationErrorBody};
use sentinel_api::page::PageParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Analyst, Auth, Read};
use crate::error::ApiResult;
use crate::extract::{ApiJson, Pagination, PathId};
use crate::routes::Listed;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_backtest))
        .routes(routes!(list_backtests))
        .routes(routes!(get_backtest, cancel_backtest))
        .routes(routes!(cancel_backtest_post))
}

/// Starts a backtest: the candidate (a draft `definition`, or a stored `policy_id` at its
/// current version or at `version`) is replayed over the stored events of the window, beside the
/// policies enforced today, as a background job. Answers 202 with the queued job; follow it with
/// `GET /api/policies/backtests/{backtest_id}` or the live stream's `backtest_progress` frames.
/// A bad window or definition is a 422, an unknown policy or version a 404.
#[utoipa::path(
    post,
    path = "/api/policies/backtest",
    tag = "policies",
    request_body = BacktestCreate,
    responses(
        (status = 202, body = BacktestResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn create_backtest(
    auth: Auth<Analyst>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<BacktestCreate>,
) -> ApiResult<(StatusCode, Json<BacktestResponse>)> {
    let job = service::backtest::create(&state, body, auth.principal.user_id()).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Backtest jobs, newest first, with their results: two drafts' results side by side.
#[utoipa::path(
    get,
    path = "/api/policies/backtests",
    tag = "policies",
    params(PageParams),
    responses(
        (status = 200, body = [BacktestResponse], headers(("X-Total-Count" = u64))),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_backtests(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    Pagination(page): Pagination,
) -> ApiResult<Listed<BacktestResponse>> {
    Ok(Listed(service::backtest::list(&state, page).await?))
}

/// One backtest job: its status, progress and, once `done`, its result.
#[utoipa::path(
    get,
    path = "/api/policies/backtests/{backtest_id}",
    tag = "policies",
    params(("backtest_id" = i64, Path)),
    responses(
        (status = 200, body = BacktestResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn get_backtest(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<BacktestResponse>> {
    Ok(Json(service::backtest::get(&state, id).await?))
}

/// Cancels a queued or running backtest (it stops at its next page and keeps no result); a
/// finished one is answered as it is.
#[utoipa::path(
    delete,
    path = "/api/policies/backtests/{backtest_id}",
    tag = "policies",
    params(("backtest_id" = i64, Path)),
    responses(
        (status = 200, body = BacktestResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn cancel_backtest(
    _auth: Auth<Analyst>,
    State(state): State<AppState>,
    PathId(id): PathId,
) -> ApiResult<Json<BacktestResponse>> {
    Ok(Json(service::backtest::cancel(&state, id).await?))
}

/// The same as `DELETE /api/policies/backtests/{backtest_id}`.
#[utoipa::path(
    post,
    path = "/api/policies/backtests/{backtest_id}/cancel",
    tag = "policies",
    params(("backtest_id" = i64, Path)),
    responses(
        (status = 200, body = BacktestResponse),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn cancel_backtest_post(
    auth: Auth<Analyst>,
    state: State<AppState>,
    id: PathId,
) -> ApiResult<Json<BacktestResponse>> {
    cancel_backtest(auth, state, id).await
}
