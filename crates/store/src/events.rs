use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sentinel_api::event::{EventFilter, EventStats};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::violation::FindingResponse;
use sentinel_api::{
    Decision, EventStatus, EventType, Severity, ShadowFilter, Timestamp, ViolationType,
};

use crate::audit::{self, AuditChange, AuditContext};
use crate::counters::{Counters, EventDims};
use crate::entity::{event, policy, violation};
use crate::error::Entity;
use crate::report_rollups::ViolationRollupDims;
use crate::violations::{ViolationRecord, triage_state};
use crate::writes::Writes;
use crate::{Result, Store, StoreError, Triage, convert};

/// A stored event: its row with the enum columns parsed and the metadata decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub event_id: String,
    pub event_type: EventType,
    pub severity: Severity,
    pub title: String,
    pub description: Option<String>,
    pub event_data: Option<String>,
    pub trigger_date: Timestamp,
    pub status: EventStatus,
    pub policy_id: Option<i64>,
    pub user_id: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_date: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub source: Option<String>,
    pub model_name: Option<String>,
    pub prompt: Option<String>,
    pub completion: Option<String>,
    pub request_tokens: Option<i64>,
    pub response_tokens: Option<i64>,
    pub duration_ms: Option<f64>,
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
    /// The engine's decision; `None` for events stored before decisions were recorded.
    pub decision: Option<Decision>,
}

/// An event to insert, as validated by the caller.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub event_type: EventType,
    pub severity: Severity,
    pub title: String,
    pub description: Option<String>,
    pub event_data: Option<String>,
    pub trigger_date: Timestamp,
    pub status: EventStatus,
    pub policy_id: Option<i64>,
    pub user_id: Option<i64>,
    pub source: Option<String>,
    pub model_name: Option<String>,
    pub prompt: Option<String>,
    pub completion: Option<String>,
    pub request_tokens: Option<i64>,
    pub response_tokens: Option<i64>,
    pub duration_ms: Option<f64>,
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
    pub decision: Option<Decision>,
}

/// A violation found while evaluating a new event; linked to it on insert.
#[derive(Debug, Clone)]
pub struct NewViolation {
    pub violation_type: ViolationType,
    pub severity: Severity,
    pub title: Option<String>,
    pub description: Option<String>,
    pub details: Option<String>,
    pub confidence_score: f64,
    pub policy_id: i64,
    pub legal_advice_score: Option<f64>,
    pub controversial_topics_score: Option<f64>,
    pub code_prompt_score: Option<f64>,
    pub safe_prompt_score: Option<f64>,
    pub findings: Vec<FindingResponse>,
    /// The version of the policy that raised it.
    pub policy_version: Option<i64>,
    /// Raised by a shadow policy: kept, but out of the legacy lists and counts.
    pub shadow: bool,
}

impl NewEvent {
    pub(crate) fn into_active(self, now: chrono::DateTime<Utc>) -> Result<event::ActiveModel> {
        let metadata = self
            .metadata
            .map(|m| serde_json::to_string(&m))
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                column: "events.metadata",
                value: e.to_string(),
            })?;
        Ok(event::ActiveModel {
            event_id: Set(self.event_id),
            event_type: Set(self.event_type.as_str().to_owned()),
            severity: Set(self.severity.as_str().to_owned()),
            title: Set(self.title),
            description: Set(self.description),
            event_data: Set(self.event_data),
            trigger_date: Set(self.trigger_date.0),
            trigger_day: Set(self.trigger_date.0.date_naive()),
            status: Set(self.status.as_str().to_owned()),
            policy_id: Set(self.policy_id),
            user_id: Set(self.user_id),
            acknowledged_by: Set(None),
            acknowledged_date: Set(None),
            created_at: Set(now),
            updated_at: Set(None),
            source: Set(self.source),
            model_name: Set(self.model_name),
            prompt: Set(self.prompt),
            completion: Set(self.completion),
            request_tokens: Set(self.request_tokens),
            response_tokens: Set(self.response_tokens),
            duration_ms: Set(self.duration_ms),
            metadata: Set(metadata),
            decision: Set(self.decision.map(|d| d.as_str().to_owned())),
            ..Default::default()
        })
    }
}

impl NewViolation {
    pub(crate) fn into_active(
        self,
        event_id: i64,
        now: chrono::DateTime<Utc>,
    ) -> Result<violation::ActiveModel> {
        let findings = serde_json::to_string(&self.findings).map_err(|e| StoreError::Corrupt {
            column: "violations.findings",
            value: e.to_string(),
        })?;
        Ok(violation::ActiveModel {
            violation_type: Set(self.violation_type.as_str().to_owned()),
            severity: Set(self.severity.as_str().to_owned()),
            status: Set("detected".to_owned()),
            title: Set(self.title),
            description: Set(self.description),
            details: Set(self.details),
            confidence_score: Set(self.confidence_score),
            event_id: Set(event_id),
            policy_id: Set(self.policy_id),
            acknowledged_by: Set(None),
            acknowledged_date: Set(None),
            created_at: Set(now),
            updated_at: Set(None),
            legal_advice_score: Set(self.legal_advice_score),
            controversial_topics_score: Set(self.controversial_topics_score),
            code_prompt_score: Set(self.code_prompt_score),
            safe_prompt_score: Set(self.safe_prompt_score),
            findings: Set(Some(findings)),
            policy_version: Set(self.policy_version),
            shadow: Set(self.shadow),
            ..Default::default()
        })
    }
}

/// Rows per multi-row `INSERT`: well under the bind-parameter limits of SQLite (32,766) and
/// PostgreSQL (65,535) with the events table's two dozen columns.
const INSERT_CHUNK: usize = 500;

/// Inserts many events and their violations on `conn` (a transaction), in input order, and adds
/// them to `counters`.
async fn insert_events<C: ConnectionTrait>(
    conn: &C,
    counters: &mut Counters,
    writes: &mut Writes,
    decisions: bool,
    batch: Vec<(NewEvent, Vec<NewViolation>)>,
) -> Result<Vec<(EventRecord, Vec<ViolationRecord>)>> {
    let mut policy_ids: Vec<i64> = batch.iter().filter_map(|(e, _)| e.policy_id).collect();
    policy_ids.sort_unstable();
    policy_ids.dedup();
    if !policy_ids.is_empty() {
        // The check reads before the first write: on SQLite the transaction holds the write lock
        // from its start (`audit::begin_write`). PostgreSQL needs nothing, and must not
        // serialise batches on a shared row.
        let live = policy::Entity::find()
            .filter(policy::Column::Id.is_in(policy_ids.iter().copied()))
            .filter(policy::Column::DeletedAt.is_null())
            .count(conn)
            .await?;
        if live != policy_ids.len() as u64 {
            return Err(StoreError::MissingReference {
                constraint: Some(&crate::constraint::FK_EVENTS_POLICY_ID),
            });
        }
    }
    let now = sentinel_api::Timestamp::now().0;
    let mut event_ids = Vec::with_capacity(batch.len());
    let mut rows = Vec::with_capacity(batch.len());
    let mut pending_violations = Vec::with_capacity(batch.len());
    for (new, violations) in batch {
        event_ids.push(new.event_id.clone());
        rows.push(new.into_active(now)?);
        pending_violations.push(violations);
    }
    // RETURNING does not promise the input order: rows are matched back by their unique
    // `event_id`.
    let mut by_event_id = std::collections::HashMap::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
        for model in event::Entity::insert_many(chunk)
            .exec_with_returning(conn)
            .await
            .map_err(StoreError::classify)?
        {
            by_event_id.insert(model.event_id.clone(), model);
        }
    }
    let mut inserted = Vec::with_capacity(event_ids.len());
    for event_id in &event_ids {
        let model = by_event_id.remove(event_id).ok_or(StoreError::Corrupt {
            column: "events.event_id",
            value: format!("{event_id} was inserted but not returned"),
        })?;
        counters.event(EventDims::of(&model), 1);
        inserted.push(model);
    }
    let mut violation_rows = Vec::new();
    for (model, violations) in inserted.iter().zip(pending_violations) {
        for v in violations {
            violation_rows.push(v.into_active(model.id, now)?);
        }
    }
    let mut by_event: std::collections::HashMap<i64, Vec<violation::Model>> =
        std::collections::HashMap::new();
    let mut violation_rows = violation_rows.into_iter().peekable();
    while violation_rows.peek().is_some() {
        let chunk: Vec<_> = violation_rows.by_ref().take(INSERT_CHUNK).collect();
        for row in violation::Entity::insert_many(chunk)
            .exec_with_returning(conn)
            .await
            .map_err(StoreError::classify)?
        {
            if !row.shadow {
                counters.violations(
                    &row.status,
                    &row.severity,
                    &row.violation_type,
                    row.policy_id,
                    1,
                );
            }
            by_event.entry(row.event_id).or_default().push(row);
        }
    }
    for model in &inserted {
        for v in by_event.get(&model.id).into_iter().flatten() {
            let dims =
                ViolationRollupDims::of(v, model.source.as_deref(), model.model_name.as_deref());
            counters.violation_rollup(dims, 1);
        }
    }
    // One outbox message per violation of an enforced policy, in this transaction: the alert
    // exists exactly when the violation does. Shadow violations alert nobody.
    let mut messages = Vec::new();
    for model in &inserted {
        for v in by_event.get(&model.id).into_iter().flatten() {
            if v.shadow {
                continue;
            }
            let event = serde_json::json!({ "event": {
                "id": model.id,
                "event_id": model.event_id,
                "title": model.title,
                "event_type": model.event_type,
                "source": model.source,
                "model_name": model.model_name,
                "decision": model.decision,
                "trigger_date": convert::ts(model.trigger_date),
            }});
            messages.push(crate::outbox::violation_message(
                sentinel_api::webhook::MessageType::NewViolation,
                v,
                model.source.clone(),
                event,
            ));
        }
    }
    crate::outbox::stage(writes, messages)?;
    if decisions {
        crate::outbox::stage_decisions(writes, &inserted);
    }
    inserted
        .into_iter()
        .map(|model| {
            let mut violations = by_event.remove(&model.id).unwrap_or_default();
            // Ids grow in insertion order, which is the order the engine reported them.
            violations.sort_by_key(|v| v.id);
            let violations = violations
                .into_iter()
                .map(convert::violation)
                .collect::<Result<Vec<_>>>()?;
            Ok((convert::event(model)?, violations))
        })
        .collect()
}

impl Store {
    /// Newest `trigger_date` first.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        page: PageParams,
    ) -> Result<Page<EventRecord>> {
        let mut select = event::Entity::find();
        if let Some(v) = filter.status {
            select = select.filter(event::Column::Status.eq(v.as_str()));
        }
        if let Some(v) = filter.severity {
            select = select.filter(event::Column::Severity.eq(v.as_str()));
        }
        if let Some(v) = filter.event_type {
            select = select.filter(event::Column::EventType.eq(v.as_str()));
        }
        if let Some(v) = filter.policy_id {
            select = select.filter(event::Column::PolicyId.eq(v));
        }
        if let Some(v) = &filter.source {
            select = select.filter(event::Column::Source.eq(v.as_str()));
        }
        if let Some(v) = filter.since {
            select = select.filter(event::Column::TriggerDate.gte(v.0));
        }
        if let Some(v) = filter.until {
            select = select.filter(event::Column::TriggerDate.lt(v.0));
        }
        let select = select
            .order_by_desc(event::Column::TriggerDate)
            .order_by_desc(event::Column::Id);
        // The counters hold the exact total for every filter but a time window combined with
        // another filter; counting up to a million rows per page is what they spare.
        let total = match self.counted_events(filter).await? {
            Some(total) => total,
            None => select.clone().count(&self.db).await?,
        };
        let rows = select
            .offset(page.skip)
            .limit(page.limit)
            .all(&self.db)
            .await?;
        let items = rows
            .into_iter()
            .map(convert::event)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    pub async fn get_event(&self, id: i64) -> Result<EventRecord> {
        let row =
            event::Entity::find_by_id(id)
                .one(&self.db)
                .await?
                .ok_or(StoreError::NotFound {
                    entity: Entity::Event,
                })?;
        convert::event(row)
    }

    /// Stores an event and the violations found for it, atomically.
    pub async fn create_event(
        &self,
        new: NewEvent,
        violations: Vec<NewViolation>,
    ) -> Result<(EventRecord, Vec<ViolationRecord>)> {
        let mut stored = self.create_events(vec![(new, violations)]).await?;
        stored.pop().ok_or(StoreError::Corrupt {
            column: "events.id",
            value: "the inserted event was not returned".into(),
        })
    }

    /// Stores many events with their violations: all of them, or none. The rows go in with a
    /// few multi-row `INSERT ... RETURNING` statements rather than two per event.
    pub async fn create_events(
        &self,
        batch: Vec<(NewEvent, Vec<NewViolation>)>,
    ) -> Result<Vec<(EventRecord, Vec<ViolationRecord>)>> {
        let _turn = self.write_turn().await;
        let txn = audit::begin_write(&self.db).await?;
        let mut counters = Counters::default();
        // The outbox rows and the counters need no answer: one round trip on SQLite.
        let mut writes = Writes::new(txn.get_database_backend());
        let out = insert_events(
            &txn,
            &mut counters,
            &mut writes,
            self.outbox_decisions(),
            batch,
        )
        .await?;
        counters.stage(&mut writes);
        writes.run(&txn).await?;
        txn.commit().await?;
        Ok(out)
    }

    pub async fn update_event(
        &self,
        ctx: &AuditContext,
        id: i64,
        change: Triage<EventStatus>,
    ) -> Result<EventRecord> {
        let txn = audit::begin(&self.db).await?;
        let current =
            event::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(StoreError::NotFound {
                    entity: Entity::Event,
                })?;
        let before = triage_state(&current.status, current.acknowledged_by);
        let mut counters = Counters::default();
        if let Some(status) = change.status {
            counters.event_status(EventDims::of(&current), status.as_str());
        }
        let mut model: event::ActiveModel = current.into();
        let now = sentinel_api::Timestamp::now().0;
        if let Some(status) = change.status {
            model.status = Set(status.as_str().to_owned());
        }
        if let Some(by) = change.acknowledged_by {
            model.acknowledged_by = Set(by);
            model.acknowledged_date = Set(Some(now));
        }
        model.updated_at = Set(Some(now));
        let updated = model.update(&txn).await.map_err(StoreError::classify)?;
        counters.apply(&txn).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("event.update", "event")
                .target(id)
                .before(before)
                .after(triage_state(&updated.status, updated.acknowledged_by)),
        )
        .await?;
        txn.commit().await?;
        convert::event(updated)
    }

    /// The violations of an existing event, oldest first: those of enforced policies, those of
    /// shadow policies, or both, as `shadow` says.
    pub async fn event_violations(
        &self,
        id: i64,
        shadow: ShadowFilter,
    ) -> Result<Vec<ViolationRecord>> {
        if event::Entity::find_by_id(id).count(&self.db).await? == 0 {
            return Err(StoreError::NotFound {
                entity: Entity::Event,
            });
        }
        crate::violations::shadow_filter(violation::Entity::find(), shadow)
            .filter(violation::Column::EventId.eq(id))
            .order_by_asc(violation::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(convert::violation)
            .collect()
    }

    pub async fn event_stats(&self) -> Result<EventStats> {
        let since = sentinel_api::Timestamp::now().0 - Duration::hours(24);
        let count = |filter: EventFilter| async move {
            Ok::<_, StoreError>(self.counted_events(&filter).await?.unwrap_or(0))
        };
        Ok(EventStats {
            total_events: count(EventFilter::default()).await?,
            open_events: count(EventFilter {
                status: Some(EventStatus::Open),
                ..EventFilter::default()
            })
            .await?,
            events_last_24h: self.events_since(since).await?,
            critical_events: count(EventFilter {
                severity: Some(Severity::Critical),
                ..EventFilter::default()
            })
            .await?,
        })
    }

    /// Events triggered at or after `since` (including any dated in the future).
    pub(crate) async fn events_since(&self, since: chrono::DateTime<Utc>) -> Result<u64> {
        Ok(self
            .events_in_window(Some(since), None)
            .await?
            .values()
            .sum())
    }
}
