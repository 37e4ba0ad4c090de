use axum::Json;
use axum::extract::Request;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sentinel_api::EventId;
use sentinel_api::error::{ErrorBody, ValidationErrorBody};
use sentinel_api::event::{EventCreate, EventFilter, EventResponse, EventStats, EventUpdate};
use sentinel_api::live::LiveMessage;
use sentinel_api::page::PageParams;
use sentinel_api::violation::{ShadowQuery, ViolationResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Analyst, Auth, Ingest, Read};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Pagination, PathId};
use crate::live::run_session;
use crate::routes::Listed;
use crate::service;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events, create_event))
        .routes(routes!(create_events_batch))
        .routes(routes!(get_event, update_event))
        .routes(routes!(event_violations))
        .routes(routes!(event_stats))
        .routes(routes!(live_stream))
}

/// Events, newest `trigger_date` first.
#[utoipa::path(
    get,
    path = "/api/events/",
    tag = "events",
    params(PageParams, EventFilter),
    responses(
        (status = 200, body = [EventResponse], headers(("X-Total-Count" = u64))),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn list_events(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    Pagination(page): Pagination,
    ApiQuery(filter): ApiQuery<EventFilter>,
) -> ApiResult<Listed<EventResponse>> {
    Ok(Listed(service::events::list(&state, &filter, page).await?))
}

/// Records an event (status `open`) and announces it on the live stream.
#[utoipa::path(
    post,
    path = "/api/events/",
    tag = "events",
    request_body = EventCreate,
    responses(
        (status = 200, body = EventResponse),
        (status = 409, body = ErrorBody, description = "Duplicate event_id"),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn create_event(
    _auth: Auth<Ingest>,

    State(state): State<AppState>,
    ApiJson(body): ApiJson<EventCreate>,
) -> ApiResult<Json<EventResponse>> {
    Ok(Json(service::events::create(&state, body).await?))
}

/// Records up to 1000 events at once: all of them or none.
#[utoipa::path(
    post,
    path = "/api/events/batch",
    tag = "events",
    request_body = Vec<EventCreate>,
    responses(
        (status = 200, body = [EventResponse]),
        (status = 409, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn create_events_batch(
    _auth: Auth<Ingest>,

    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Vec<EventResponse>>> {
    let events: Vec<EventCreate> = parse_batch(&body)?;
    Ok(Json(service::events::create_batch(&state, events).await?))
}

/// A batch body is a JSON array of event objects.
fn parse_batch(body: &[u8]) -> ApiResult<Vec<EventCreate>> {
    let wrapped = [b"{\"items\":".as_slice(), body, b"}"].concat();
    #[derive(serde::Deserialize)]
    struct Items {
        items: Vec<EventCreate>,
    }
    let err = match crate::extract::parse_json_body::<Items>(&wrapped) {
        Ok(items) => return Ok(items.items),
        Err(err) => err,
    };
    let mut issues = err.into_issues()?;
    // Report locations relative to the body, not to the wrapper.
    for issue in &mut issues {
        if issue.loc.get(1).and_then(|v| v.as_str()) == Some("items") {
            issue.loc.remove(1);
        }
    }
    Err(ApiError::validation(issues))
}

#[utoipa::path(
    get,
    path = "/api/events/{event_id}",
    tag = "events",
    params(("event_id" = i64, Path, description = "The numeric id")),
    responses((status = 200, body = EventResponse), (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody))
)]
async fn get_event(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    PathId(id): PathId<EventId>,
) -> ApiResult<Json<EventResponse>> {
    Ok(Json(service::events::get(&state, id).await?))
}

/// Triage: `status` and `acknowledged_by` (present, even `null`, stamps `acknowledged_date`).
#[utoipa::path(
    put,
    path = "/api/events/{event_id}",
    tag = "events",
    params(("event_id" = i64, Path)),
    request_body = EventUpdate,
    responses((status = 200, body = EventResponse), (status = 404, body = ErrorBody), (status = 422, body = ValidationErrorBody))
)]
async fn update_event(
    auth: Auth<Analyst>,

    State(state): State<AppState>,
    PathId(id): PathId<EventId>,
    ApiJson(body): ApiJson<EventUpdate>,
) -> ApiResult<Json<EventResponse>> {
    Ok(Json(
        service::events::update(&state, &auth.audit(), id, body).await?,
    ))
}

/// The violations the event produced: those of enforced policies, unless `shadow` asks for the
/// shadow policies' too (`include`) or alone (`only`).
#[utoipa::path(
    get,
    path = "/api/events/{event_id}/violations",
    tag = "events",
    params(("event_id" = i64, Path), ShadowQuery),
    responses(
        (status = 200, body = [ViolationResponse]),
        (status = 404, body = ErrorBody),
        (status = 422, body = ValidationErrorBody),
    )
)]
async fn event_violations(
    _auth: Auth<Read>,

    State(state): State<AppState>,
    PathId(id): PathId<EventId>,
    ApiQuery(query): ApiQuery<ShadowQuery>,
) -> ApiResult<Json<Vec<ViolationResponse>>> {
    let shadow = query.shadow.unwrap_or_default();
    Ok(Json(service::events::violations(&state, id, shadow).await?))
}

#[utoipa::path(get, path = "/api/events/stats/summary", tag = "events", responses((status = 200, body = EventStats)))]
async fn event_stats(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> ApiResult<Json<EventStats>> {
    Ok(Json(state.store.event_stats().await?))
}

/// WebSocket live stream of JSON text frames: `new_event`, `event_updated`, `new_violation`,
/// `violation_updated`, `policy_changed`, and `lagged` (`{"type":"lagged","missed":N}`) for a
/// client that fell behind. Credentials go in `Authorization` or `?token=`. A client narrows what
/// it receives by sending `{"type":"subscribe","types":[...],"min_severity":"high",
/// "policy_ids":[...]}` (answered `{"type":"subscribed"}`); pings every 30 s.
#[utoipa::path(
    get,
    path = "/api/events/ws",
    tag = "events",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol", body = LiveMessage),
        (status = 400, body = ErrorBody, description = "Not a WebSocket upgrade request"),
    )
)]
async fn live_stream(_auth: Auth<Read>, State(state): State<AppState>, req: Request) -> Response {
    let subscription = state.live.subscribe();
    let closed = state.live.closed();
    let lagged = state.live.lag_counter();
    crate::ws::upgrade(req, move |socket| {
        run_session(socket, subscription, closed, lagged)
    })
    .unwrap_or_else(|reason| {
        ApiError::bad_request(format!("This route expects a WebSocket upgrade: {reason}"))
            .into_response()
    })
}
