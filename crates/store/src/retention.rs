//! Retention: deleting old events, their violations and their share of the rollups and counters,
//! in audited batches.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::audit::{self, AuditChange, AuditContext};
use crate::counters::{Counters, EventDims};
use crate::entity::{event, event_rollup, violation};
use crate::{Result, Store, StoreError};

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
        // Only what the counters need: never the events' text.
        type Row = (
            i64,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            DateTime<Utc>,
            Option<f64>,
        );
        let rows: Vec<Row> = event::Entity::find()
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
            ])
            .filter(filter)
            .order_by_asc(event::Column::TriggerDate)
            .limit(limit)
            .into_tuple()
            .all(&txn)
            .await?;
        if rows.is_empty() {
            return Ok(Purged::default());
        }
        let mut counters = Counters::default();
        let mut ids = Vec::with_capacity(rows.len());
        for (id, status, severity, event_type, policy_id, source, trigger_date, duration_ms) in
            &rows
        {
            let dims = EventDims {
                status,
                severity,
                event_type,
                policy_id: *policy_id,
                source: source.as_deref(),
                trigger_date: *trigger_date,
                duration_ms: *duration_ms,
            };
            counters.event(dims, -1);
            ids.push(*id);
        }
        let mut purged = Purged::default();
        // Bounded IN lists: SQLite allows at most 32,766 parameters per statement.
        for chunk in ids.chunks(5_000) {
            let gone: Vec<(String, String, String, i64, i64)> = violation::Entity::find()
                .select_only()
                .columns([
                    violation::Column::Status,
                    violation::Column::Severity,
                    violation::Column::ViolationType,
                    violation::Column::PolicyId,
                ])
                .column_as(Expr::cust("COUNT(*)"), "n")
                .filter(violation::Column::EventId.is_in(chunk.iter().copied()))
                .filter(violation::Column::Shadow.eq(false))
                .group_by(violation::Column::Status)
                .group_by(violation::Column::Severity)
                .group_by(violation::Column::ViolationType)
                .group_by(violation::Column::PolicyId)
                .into_tuple()
                .all(&txn)
                .await?;
            // Shadow violations are not in the counters, but they go with their event too.
            for (status, severity, violation_type, policy_id, n) in gone {
                counters.violations(&status, &severity, &violation_type, policy_id, -n);
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
        if let Some(map) = after.as_object_mut() {
            map.insert("events_deleted".into(), purged.events.into());
            map.insert("violations_deleted".into(), purged.violations.into());
        }
        audit::append(&txn, ctx, AuditChange::new(action, "events").after(after)).await?;
        txn.commit().await?;
        Ok(purged)
    }
}
