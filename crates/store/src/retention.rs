//! Retention: deleting old events, their violations and their share of the rollups, in audited
//! batches.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::audit::{self, AuditChange, AuditContext};
use crate::entity::{event, event_rollup, violation};
use crate::rollups::RollupDelta;
use crate::{Result, Store};

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
        let txn = audit::begin(&self.db).await?;
        let rows: Vec<(i64, NaiveDate, String, Option<f64>)> = event::Entity::find()
            .select_only()
            .columns([
                event::Column::Id,
                event::Column::TriggerDay,
                event::Column::Severity,
                event::Column::DurationMs,
            ])
            .filter(event::Column::TriggerDate.lt(cutoff))
            .order_by_asc(event::Column::TriggerDate)
            .limit(limit)
            .into_tuple()
            .all(&txn)
            .await?;
        if rows.is_empty() {
            return Ok(Purged::default());
        }
        let mut delta = RollupDelta::default();
        let mut ids = Vec::with_capacity(rows.len());
        for (id, day, severity, duration) in rows {
            delta.subtract(day, &severity, duration);
            ids.push(id);
        }
        let mut purged = Purged::default();
        // Bounded IN lists: SQLite allows at most 32,766 parameters per statement.
        for chunk in ids.chunks(5_000) {
            purged.violations += violation::Entity::find()
                .filter(violation::Column::EventId.is_in(chunk.iter().copied()))
                .count(&txn)
                .await?;
            violation::Entity::delete_many()
                .filter(violation::Column::EventId.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
            purged.events += event::Entity::delete_many()
                .filter(event::Column::Id.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?
                .rows_affected;
        }
        delta.apply(&txn).await?;
        event_rollup::Entity::delete_many()
            .filter(event_rollup::Column::Events.lte(0))
            .exec(&txn)
            .await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("retention.purge", "events").after(serde_json::json!({
                "cutoff": sentinel_api::Timestamp(cutoff),
                "events_deleted": purged.events,
                "violations_deleted": purged.violations,
            })),
        )
        .await?;
        txn.commit().await?;
        Ok(purged)
    }
}
