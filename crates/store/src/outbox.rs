//! The transactional outbox: one row per alerting change, written on the caller's transaction.
//!
//! Writers call [`push`] inside the transaction that records the change (event ingestion,
//! violation triage, policy changes, audit entries), so the message exists exactly when the
//! change does. Fan-out to endpoints happens later, in the delivery worker, so ingestion pays one
//! multi-row `INSERT` per batch and nothing per endpoint.

use sea_orm::{ConnectionTrait, EntityTrait, Set};
use sentinel_api::Severity;
use sentinel_api::webhook::MessageType;
use serde_json::{Value, json};

use crate::convert;
use crate::entity::{event, outbox, violation};
use crate::writes::Writes;
use crate::{Result, StoreError};

/// Rows per multi-row `INSERT` (8 columns each).
const CHUNK: usize = 1000;

/// A message to put in the outbox, with the fields the endpoints filter on.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub message_type: MessageType,
    pub payload: Value,
    pub severity: Option<Severity>,
    pub policy_id: Option<i64>,
    /// The app (event `source`) a violation came from.
    pub app: Option<String>,
}

impl OutboxMessage {
    fn active(self, now: chrono::DateTime<chrono::Utc>) -> Result<outbox::ActiveModel> {
        let payload = serde_json::to_string(&self.payload).map_err(|e| StoreError::Corrupt {
            column: "outbox.payload",
            value: e.to_string(),
        })?;
        Ok(outbox::ActiveModel {
            message_type: Set(self.message_type.as_str().to_owned()),
            payload: Set(payload),
            created_at: Set(now),
            severity: Set(self.severity.map(|s| s.as_str().to_owned())),
            policy_id: Set(self.policy_id),
            app: Set(self.app),
            dispatched: Set(false),
            ..Default::default()
        })
    }
}

/// Writes `messages` on `conn` (the caller's transaction), a few multi-row `INSERT`s at most.
pub(crate) async fn push<C: ConnectionTrait>(conn: &C, messages: Vec<OutboxMessage>) -> Result<()> {
    let mut writes = Writes::new(conn.get_database_backend());
    stage(&mut writes, messages)?;
    writes.run(conn).await
}

/// [`push`]'s inserts, added to `writes` (to run with the caller's other writes).
pub(crate) fn stage(writes: &mut Writes, messages: Vec<OutboxMessage>) -> Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let now = sentinel_api::Timestamp::now().0;
    let rows = messages
        .into_iter()
        .map(|m| m.active(now))
        .collect::<Result<Vec<_>>>()?;
    stage_rows(writes, rows);
    Ok(())
}

/// Outbox rows as multi-row `INSERT`s of [`CHUNK`] rows at most, added to `writes`.
fn stage_rows(writes: &mut Writes, rows: Vec<outbox::ActiveModel>) {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(CHUNK).collect();
        writes.query(&outbox::Entity::insert_many(chunk));
    }
}

/// The `message_type` of a decision message. Not a webhook [`MessageType`]: decisions are written
/// only for SIEM sinks that subscribe to them, already marked dispatched so the webhook worker
/// never looks at them.
pub const DECISION: &str = "decision";

/// One `decision` message per stored event, added to `writes` (the events' transaction runs
/// them): what was decided about it, never its text.
pub(crate) fn stage_decisions(writes: &mut Writes, events: &[event::Model]) {
    let now = sentinel_api::Timestamp::now().0;
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        rows.push({
            let payload = json!({ "event": {
                "id": e.id,
                "event_id": e.event_id,
                "event_type": e.event_type,
                "severity": e.severity,
                "title": e.title,
                "source": e.source,
                "model_name": e.model_name,
                "policy_id": e.policy_id,
                "decision": e.decision,
                "status": e.status,
                "duration_ms": e.duration_ms,
                "trigger_date": convert::ts(e.trigger_date),
            }});
            outbox::ActiveModel {
                message_type: Set(DECISION.to_owned()),
                payload: Set(payload.to_string()),
                created_at: Set(now),
                severity: Set(Some(e.severity.clone())),
                policy_id: Set(e.policy_id),
                app: Set(e.source.clone()),
                dispatched: Set(true),
                ..Default::default()
            }
        });
    }
    stage_rows(writes, rows);
}

/// What a message says of a violation: never the prompt or completion text, only where the
/// findings are.
pub(crate) fn violation_json(v: &violation::Model) -> Value {
    let findings: Vec<Value> = v
        .findings
        .as_deref()
        .and_then(|f| serde_json::from_str::<Vec<Value>>(f).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            json!({
                "detector": f["detector"],
                "entity": f["entity"],
                "target": f["target"],
                "char_start": f["char_start"],
                "char_end": f["char_end"],
                "score": f["score"],
            })
        })
        .collect();
    json!({
        "id": v.id,
        "violation_type": v.violation_type,
        "severity": v.severity,
        "status": v.status,
        "title": v.title,
        "description": v.description,
        "confidence_score": v.confidence_score,
        "event_id": v.event_id,
        "policy_id": v.policy_id,
        "policy_version": v.policy_version,
        "acknowledged_by": v.acknowledged_by,
        "created_at": convert::ts(v.created_at),
        "updated_at": v.updated_at.map(convert::ts),
        "findings": findings,
    })
}

/// A violation's message, with the severity and policy it is filtered on.
pub(crate) fn violation_message(
    message_type: MessageType,
    v: &violation::Model,
    app: Option<String>,
    extra: Value,
) -> OutboxMessage {
    let mut payload = json!({ "violation": violation_json(v) });
    if let (Some(target), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        target.extend(extra);
    }
    OutboxMessage {
        message_type,
        payload,
        severity: v.severity.parse().ok(),
        policy_id: Some(v.policy_id),
        app,
    }
}
