//! Retention: deleting old events, their violations and their share of the rollups and counters,
//! in audited batches.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::audit::{self, AuditChange, AuditContext};
use crate::counters::{Counters, EventDims};
use crate::entity::{event, event_rollup, violation};
use crate::report_rollups::ViolationRollupDims;
use crate::{Result, Store, StoreError};

/// What the counters and rollups need of a deleted event.
#[derive(Debug, FromQueryResult)]
struct PurgedEvent {
    id: i64,
    status: String,
    severity: String,
    event_type: String,
    policy_id: Option<i64>,
    source: Option<String>,
    trigger_date: DateTime<Utc>,
    duration_ms: Option<f64>,
    model_name: Option<String>,
    user_id: Option<i64>,
    decision: Option<String>,
    request_tokens: Option<i64>,
    response_tokens: Option<i64>,
}

/// What one retention batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: u64,
    pub violations: u64,
}

impl Store {
    /// Deletes up to `limit` of the oldest events triggered before `cutoff`, with their violations,
    /// and takes them out of the rollups, in one transaction with its audit entry. A batch that
    /// finds nothing to delete writes nothing.
    pub async fn purge_events_before(
        &self,
        ctx: &AuditContext,
        cutoff: DateTime<Utc>,
        limit: u64,
    ) -> Result<Purged> {
        self.purge_events_where(
            ctx,
            Condition::all().add(event::Column::TriggerDate.lt(cutoff)),
            limit,
            "retention.purge",
            serde_json::json!({ "cutoff": sentinel_api::Timestamp(cutoff) }),
        )
        .await
    }

    /// Deletes up to `limit` of the oldest events whose metadata holds `mark: true` (the demo
    /// traffic's mark), like [`Store::purge_events_before`]. Metadata is stored as compact JSON
    /// written by this crate, so the mark has exactly one spelling.
    pub async fn purge_marked_events(
        &self,
        ctx: &AuditContext,
        mark: &str,
        limit: u64,
    ) -> Result<Purged> {
        let needle = serde_json::to_string(mark).map_err(|e| StoreError::Corrupt {
            column: "events.metadata",
            value: e.to_string(),
        })?;
        self.purge_events_where(
            ctx,
            Condition::all().add(event::Column::Metadata.like(format!("%{needle}:true%"))),
            limit,
            "events.purge_marked",
            serde_json::json!({ "mark": mark }),
        )
        .await
    }

    /// One audited batch: the oldest `limit` events matching `filter`, with their violations,
    /// taken out of the counters and rollups in the same transaction. `after` is the audit
    /// entry's description of the selection; the counts are added to it.
    async fn purge_events_where(
        &self,
        ctx: &AuditContext,
        filter: Condition,
        limit: u64,
        action: &'static str,
        mut after: serde_json::Value,
    ) -> Result<Purged> {
        let txn = audit::begin(&self.db).await?;
        // Only what the counters and rollups need: never the events' text.
        let rows: Vec<PurgedEvent> = event::Entity::find()
            .select_only()
            .columns([
                event::Column::Id,
                event::Column::Status,
                event::Column::Severity,
                event::Column::EventType,
                event::Column::PolicyId,
                event::Column::Source,
                event::Column::TriggerDate,
                event::Column::DurationMs,
                event::Column::ModelName,
                event::Column::UserId,
                event::Column::Decision,
                event::Column::RequestTokens,
                event::Column::ResponseTokens,
            ])
            .filter(filter)
            .order_by_asc(event::Column::TriggerDate)
            .limit(limit)
            .into_model()
            .all(&txn)
            .await?;
        if rows.is_empty() {
            return Ok(Purged::default());
        }
        let mut counters = Counters::default();
        let mut ids = Vec::with_capacity(rows.len());
        let mut apps = std::collections::HashMap::with_capacity(rows.len());
        for e in &rows {
            let dims = EventDims {
                status: &e.status,
                severity: &e.severity,
                event_type: &e.event_type,
                policy_id: e.policy_id,
                source: e.source.as_deref(),
                trigger_date: e.trigger_date,
                duration_ms: e.duration_ms,
                model_name: e.model_name.as_deref(),
                user_id: e.user_id,
                blocked: e.decision.as_deref() == Some("block"),
                request_tokens: e.request_tokens,
                response_tokens: e.response_tokens,
            };
            counters.event(dims, -1);
            ids.push(e.id);
            apps.insert(e.id, (e.source.as_deref(), e.model_name.as_deref()));
        }
        let mut purged = Purged::default();
        // Bounded IN lists: SQLite allows at most 32,766 parameters per statement.
        for chunk in ids.chunks(5_000) {
            let gone = violation::Entity::find()
                .filter(violation::Column::EventId.is_in(chunk.iter().copied()))
                .all(&txn)
                .await?;
            for v in &gone {
                // Shadow violations are not in the counters, but they are in the report
                // rollups, and they go with their event too.
                if !v.shadow {
                    counters.violations(&v.status, &v.severity, &v.violation_type, v.policy_id, -1);
                }
                let (source, model_name) = apps.get(&v.event_id).copied().unwrap_or((None, None));
                counters.violation_rollup(ViolationRollupDims::of(v, source, model_name), -1);
            }
            purged.violations += violation::Entity::delete_many()
                .filter(violation::Column::EventId.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?
                .rows_affected;
            purged.events += event::Entity::delete_many()
                .filter(event::Column::Id.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?
                .rows_affected;
        }
        counters.apply(&txn).await?;
        event_rollup::Entity::delete_many()
            .filter(event_rollup::Column::Events.lte(0))
            .exec(&txn)
            .await?;
        // The report rollups' emptied rows go too, or retention would leave one per bucket.
        for sql in [
            "DELETE FROM usage_hours WHERE events = 0",
            "DELETE FROM usage_user_days WHERE events = 0",
            "DELETE FROM violation_days WHERE violations = 0",
        ] {
            txn.execute_unprepared(sql).await?;
        }
        if let Some(map) = after.as_object_mut() {
            map.insert("events_deleted".into(), purged.events.into());
            map.insert("violations_deleted".into(), purged.violations.into());
        }
        audit::append(&txn, ctx, AuditChange::new(action, "events").after(after)).await?;
        txn.commit().await?;
        Ok(purged)
    }
}
