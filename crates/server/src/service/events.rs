use sentinel_api::event::{EventCreate, EventFilter, EventResponse, EventUpdate};
use sentinel_api::live::{LiveEvent, LiveEventUpdate, LiveMessage, LiveViolation};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::violation::ViolationResponse;
use sentinel_api::{EventId, EventStatus};
use sentinel_engine::{Finding, RedactStyle, Target};
use sentinel_store::{EventRecord, ViolationRecord};
use sentinel_store::{NewEvent, NewViolation};

use crate::service::evaluate::{self, Interaction};
use crate::service::triage;
use crate::service::{ServiceError, ServiceResult};
use crate::settings::StoreContent;
use crate::state::AppState;

/// The texts to evaluate: `prompt`/`completion`, or the same keys inside a JSON `event_data`.
fn interaction(body: &EventCreate) -> Interaction {
    let data: Option<serde_json::Map<String, serde_json::Value>> = body
        .event_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    let from_data = |key: &str| {
        data.as_ref()
            .and_then(|m| m.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    Interaction {
        prompt: body.prompt.clone().or_else(|| from_data("prompt")),
        completion: body.completion.clone().or_else(|| from_data("completion")),
        scope: evaluate::scope(
            body.source.as_deref(),
            body.user_id.map(|u| u.to_string()),
            body.model_name.as_deref(),
            body.metadata.as_ref(),
        ),
    }
}

/// Evaluates an incoming event against the enforced policies and prepares it for storage: its
/// decision, its violations, and its text as `store_content` allows.
async fn evaluate_event(
    state: &AppState,
    body: EventCreate,
) -> ServiceResult<(NewEvent, Vec<NewViolation>)> {
    let interaction = interaction(&body);
    if interaction.is_empty() {
        let mut event = new_event(body, None)?;
        keep_content(state.settings.store_content, &mut event, &interaction, &[]);
        return Ok((event, Vec::new()));
    }
    let (outcome, interaction) = evaluate::evaluate_owned(state, interaction).await?;
    let mut event = new_event(body, Some(outcome.evaluation.decision))?;
    keep_content(
        state.settings.store_content,
        &mut event,
        &interaction,
        &outcome.evaluation.findings,
    );
    Ok((event, evaluate::violations(&outcome)))
}

/// Applies `store_content` to an event about to be stored: `full` keeps its text, `none` drops
/// the prompt, the completion and `event_data`, and `redacted` replaces every value the enforced
/// policies detected with a placeholder (`[EMAIL_1]`), in the fields and inside `event_data`.
pub fn keep_content(
    mode: StoreContent,
    event: &mut NewEvent,
    evaluated: &Interaction,
    findings: &[Finding],
) {
    match mode {
        StoreContent::Full => {}
        StoreContent::None => {
            event.prompt = None;
            event.completion = None;
            event.event_data = None;
        }
        StoreContent::Redacted => {
            let redacted = |text: &str, target: Target| -> String {
                let own: Vec<Finding> = findings
                    .iter()
                    .filter(|f| f.target == target)
                    .cloned()
                    .collect();
                if own.is_empty() {
                    text.to_owned()
                } else {
                    sentinel_engine::redact(text, &own, RedactStyle::Placeholder)
                }
            };
            let prompt = evaluated
                .prompt
                .as_deref()
                .map(|t| redacted(t, Target::Prompt));
            let completion = evaluated
                .completion
                .as_deref()
                .map(|t| redacted(t, Target::Completion));
            if event.prompt.is_some() {
                event.prompt.clone_from(&prompt);
            }
            if event.completion.is_some() {
                event.completion.clone_from(&completion);
            }
            // `event_data` may carry the texts too: keep only their redacted form.
            if let Some(data) = &event.event_data
                && let Ok(mut map) =
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(data)
            {
                for (key, evaluated_text, clean) in [
                    ("prompt", &evaluated.prompt, &prompt),
                    ("completion", &evaluated.completion, &completion),
                ] {
                    if let Some(value) = map.get_mut(key) {
                        *value = match (value.as_str(), evaluated_text, clean) {
                            (Some(v), Some(e), Some(c)) if v == e => c.clone().into(),
                            _ => "[not stored]".into(),
                        };
                    }
                }
                event.event_data = Some(serde_json::Value::Object(map).to_string());
            }
        }
    }
}

/// Largest accepted `/api/events/batch`.
pub const MAX_BATCH: usize = 1000;

/// Longest accepted `duration_ms`: 1,000 hours. Larger (or negative, or not finite) values are
/// mistakes, and summed into the rollups they would overflow and skew every average.
pub const MAX_DURATION_MS: f64 = 3_600_000_000.0;

fn new_event(
    body: EventCreate,
    decision: Option<sentinel_api::Decision>,
) -> ServiceResult<NewEvent> {
    if body.event_id.trim().is_empty() {
        return Err(ServiceError::invalid(
            &["body", "event_id"],
            "String should have at least 1 character",
            "string_too_short",
        ));
    }
    if body
        .duration_ms
        .is_some_and(|d| !d.is_finite() || !(0.0..=MAX_DURATION_MS).contains(&d))
    {
        return Err(ServiceError::invalid(
            &["body", "duration_ms"],
            format!("duration_ms must be between 0 and {MAX_DURATION_MS}"),
            "range",
        ));
    }
    for (field, value) in [
        ("request_tokens", body.request_tokens),
        ("response_tokens", body.response_tokens),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(ServiceError::invalid(
                &["body", field],
                format!("{field} must not be negative"),
                "range",
            ));
        }
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
        decision,
    })
}

/// The event as the API returns it.
pub fn response(e: EventRecord) -> EventResponse {
    EventResponse {
        id: e.id,
        event_id: e.event_id,
        event_type: e.event_type,
        severity: e.severity,
        title: e.title,
        description: e.description,
        event_data: e.event_data,
        trigger_date: e.trigger_date,
        status: e.status,
        policy_id: e.policy_id,
        user_id: e.user_id,
        acknowledged_by: e.acknowledged_by,
        acknowledged_date: e.acknowledged_date,
        created_at: e.created_at,
        updated_at: e.updated_at,
        source: e.source,
        model_name: e.model_name,
        prompt: e.prompt,
        completion: e.completion,
        request_tokens: e.request_tokens,
        response_tokens: e.response_tokens,
        duration_ms: e.duration_ms,
        metadata: e.metadata,
        decision: e.decision,
    }
}

/// Events, newest first.
pub async fn list(
    state: &AppState,
    filter: &EventFilter,
    page: PageParams,
) -> ServiceResult<Page<EventResponse>> {
    Ok(state.store.list_events(filter, page).await?.map(response))
}

pub async fn get(state: &AppState, id: EventId) -> ServiceResult<EventResponse> {
    Ok(response(state.store.get_event(id.get()).await?))
}

/// The violations the event produced.
pub async fn violations(
    state: &AppState,
    id: EventId,
    shadow: sentinel_api::ShadowFilter,
) -> ServiceResult<Vec<ViolationResponse>> {
    let stored = state.store.event_violations(id.get(), shadow).await?;
    Ok(stored
        .into_iter()
        .map(super::violations::response)
        .collect())
}

fn announce(state: &AppState, event: &EventRecord) {
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

/// Announces a stored event and its violations on the live stream. Shadow violations are not
/// announced: the legacy frames show what they showed before shadow policies existed.
pub fn announce_stored(state: &AppState, event: &EventRecord, violations: &[ViolationRecord]) {
    announce(state, event);
    for v in violations.iter().filter(|v| !v.shadow) {
        state.live.publish(&LiveMessage::NewViolation {
            violation: LiveViolation {
                id: v.id,
                violation_type: v.violation_type,
                severity: v.severity,
                status: v.status,
                title: v.title.clone(),
                confidence_score: v.confidence_score,
                event_id: event.id,
                policy_id: v.policy_id,
                created_at: v.created_at,
            },
        });
    }
}

/// Evaluates and stores one event with its violations, then announces them. The event commits
/// through the ingest writer, in one transaction with any other events posted at that moment; a
/// batch that fails is retried event by event, so each caller gets its own event's outcome.
pub async fn create(state: &AppState, body: EventCreate) -> ServiceResult<EventResponse> {
    let (event, violations) = evaluate_event(state, body).await?;
    let (event, stored) = state
        .ingest
        .submit(event, violations)
        .await
        .committed()
        .await?;
    announce_stored(state, &event, &stored);
    Ok(response(event))
}

/// Stores up to [`MAX_BATCH`] events atomically, then announces each.
pub async fn create_batch(
    state: &AppState,
    bodies: Vec<EventCreate>,
) -> ServiceResult<Vec<EventResponse>> {
    if bodies.is_empty() || bodies.len() > MAX_BATCH {
        return Err(ServiceError::invalid(
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
            return Err(ServiceError::DuplicateInBatch {
                event_id: body.event_id,
                index: i,
            });
        }
        batch.push(evaluate_event(state, body).await?);
    }
    let stored = state.store.create_events(batch).await?;
    for (event, violations) in &stored {
        announce_stored(state, event, violations);
    }
    Ok(stored.into_iter().map(|(e, _)| response(e)).collect())
}

/// Triage of an event; `acknowledged_by` present (even `null`) stamps `acknowledged_date`.
pub async fn update(
    state: &AppState,
    ctx: &sentinel_store::AuditContext,
    id: EventId,
    body: EventUpdate,
) -> ServiceResult<EventResponse> {
    let change = triage(body.status, body.acknowledged_by)?;
    let event = state.store.update_event(ctx, id.get(), change).await?;
    state.live.publish(&LiveMessage::EventUpdated {
        event: LiveEventUpdate {
            id: event.id,
            status: event.status,
            acknowledged_by: event.acknowledged_by,
        },
    });
    Ok(response(event))
}
