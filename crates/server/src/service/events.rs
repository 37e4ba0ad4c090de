use sentinel_api::event::{EventCreate, EventResponse, EventUpdate};
use sentinel_api::live::{LiveEvent, LiveEventUpdate, LiveMessage};
use sentinel_api::{EventStatus, Patch};
use sentinel_store::{NewEvent, Triage};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest accepted `/api/events/batch`.
pub const MAX_BATCH: usize = 1000;

fn new_event(body: EventCreate) -> ApiResult<NewEvent> {
    if body.event_id.trim().is_empty() {
        return Err(ApiError::invalid(
            &["body", "event_id"],
            "String should have at least 1 character",
            "string_too_short",
        ));
    }
    Ok(NewEvent {
        event_id: body.event_id,
        event_type: body.event_type,
        severity: body.severity,
        title: body.title,
        description: body.description,
        event_data: body.event_data,
        trigger_date: body.trigger_date,
        status: EventStatus::Open,
        policy_id: body.policy_id,
        user_id: body.user_id,
        source: body.source,
        model_name: body.model_name,
        prompt: body.prompt,
        completion: body.completion,
        request_tokens: body.request_tokens,
        response_tokens: body.response_tokens,
        duration_ms: body.duration_ms,
        metadata: body.metadata,
        decision: None,
    })
}

fn announce(state: &AppState, event: &EventResponse) {
    state.live.publish(&LiveMessage::NewEvent {
        event: LiveEvent {
            id: event.id,
            event_id: event.event_id.clone(),
            title: event.title.clone(),
            severity: event.severity,
            status: event.status,
            trigger_date: event.trigger_date,
        },
    });
}

/// Stores one event and announces it on the live stream.
pub async fn create(state: &AppState, body: EventCreate) -> ApiResult<EventResponse> {
    let (event, _violations) = state
        .store
        .create_event(new_event(body)?, Vec::new())
        .await?;
    announce(state, &event);
    Ok(event)
}

/// Stores up to [`MAX_BATCH`] events atomically, then announces each.
pub async fn create_batch(
    state: &AppState,
    bodies: Vec<EventCreate>,
) -> ApiResult<Vec<EventResponse>> {
    if bodies.is_empty() || bodies.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            &["body"],
            format!(
                "A batch holds 1 to {MAX_BATCH} events, got {}",
                bodies.len()
            ),
            "batch_size",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut batch = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        if !seen.insert(body.event_id.clone()) {
            return Err(ApiError::Conflict {
                detail: format!(
                    "event_id `{}` appears twice in the batch (item {i})",
                    body.event_id
                ),
                code: "duplicate_event_id",
            });
        }
        batch.push((new_event(body)?, Vec::new()));
    }
    let stored = state.store.create_events(batch).await?;
    let events: Vec<EventResponse> = stored.into_iter().map(|(e, _)| e).collect();
    for event in &events {
        announce(state, event);
    }
    Ok(events)
}

/// Triage of an event; `acknowledged_by` present (even `null`) stamps `acknowledged_date`.
pub async fn update(state: &AppState, id: i64, body: EventUpdate) -> ApiResult<EventResponse> {
    if matches!(body.status, Patch::Null) {
        return Err(ApiError::invalid(
            &["body", "status"],
            "Input should not be null",
            "null_not_allowed",
        ));
    }
    let change = Triage {
        status: body.status.value(),
        acknowledged_by: body.acknowledged_by.into_update(),
    };
    let event = state.store.update_event(id, change).await?;
    state.live.publish(&LiveMessage::EventUpdated {
        event: LiveEventUpdate {
            id: event.id,
            status: event.status,
            acknowledged_by: event.acknowledged_by,
        },
    });
    Ok(event)
}
