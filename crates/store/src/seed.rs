//! Bulk loading for demo data and benchmarks: many events per statement, batched transactions.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set, TransactionTrait};
use sentinel_api::ViolationStatus;

use crate::entity::{event, violation};
use crate::rollups::RollupDelta;
use crate::{Backend, NewEvent, NewViolation, Result, Store};

/// A historical event with the violations it produced, written as if ingested at `trigger_date`.
#[derive(Debug, Clone)]
pub struct SeedEvent {
    pub event: NewEvent,
    pub violations: Vec<SeedViolation>,
}

/// A historical violation and where its triage stands.
#[derive(Debug, Clone)]
pub struct SeedViolation {
    pub violation: NewViolation,
    pub status: ViolationStatus,
}

/// Rows per INSERT: 26 columns × 400 rows stays well under SQLite's 32,766 bound parameters.
const ROWS_PER_STATEMENT: usize = 400;

impl Store {
    /// Inserts a batch of historical events in one transaction, with explicit ids so that their
    /// violations can be linked without reading ids back row by row.
    pub async fn seed_events(&self, batch: Vec<SeedEvent>) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        let txn = self.db.begin().await?;
        if self.backend() == Backend::Sqlite {
            // SQLite only: a large page cache keeps the index b-trees of a bulk load in memory
            // instead of evicting and re-reading them for every batch (per connection, in KiB).
            txn.execute_unprepared("PRAGMA cache_size = -262144")
                .await?;
        }
        let max: Option<Option<i64>> = event::Entity::find()
            .select_only()
            .column_as(Expr::col(event::Column::Id).max(), "max")
            .into_tuple()
            .one(&txn)
            .await?;
        let first_id = max.flatten().unwrap_or(0) + 1;
        let count = batch.len() as u64;
        let mut delta = RollupDelta::default();
        let mut events = Vec::with_capacity(batch.len());
        let mut violations = Vec::new();
        for (id, item) in (first_id..).zip(batch) {
            let at = item.event.trigger_date.0;
            delta.add(
                at.date_naive(),
                item.event.severity.as_str(),
                item.event.duration_ms,
            );
            let mut row = item.event.into_active(at)?;
            row.id = Set(id);
            events.push(row);
            for v in item.violations {
                let mut vrow = v.violation.into_active(id, at)?;
                vrow.status = Set(v.status.as_str().to_owned());
                violations.push(vrow);
            }
        }
        while !events.is_empty() {
            let rest = events.split_off(events.len().min(ROWS_PER_STATEMENT));
            event::Entity::insert_many(std::mem::replace(&mut events, rest))
                .exec(&txn)
                .await?;
        }
        delta.apply(&txn).await?;
        while !violations.is_empty() {
            let rest = violations.split_off(violations.len().min(ROWS_PER_STATEMENT));
            violation::Entity::insert_many(std::mem::replace(&mut violations, rest))
                .exec(&txn)
                .await?;
        }
        // PostgreSQL only: explicit ids do not advance the serial sequence, so move it past them.
        // SQLite's AUTOINCREMENT tracks the largest id inserted by itself.
        if self.backend() == Backend::Postgres {
            for table in ["events", "violations"] {
                txn.execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
                .await?;
            }
        }
        txn.commit().await?;
        Ok(count)
    }

    /// Refreshes the planner's statistics after a bulk load, so filters pick the most selective
    /// index. `ANALYZE` means the same on both backends.
    pub async fn analyze(&self) -> Result<()> {
        self.db.execute_unprepared("ANALYZE").await?;
        Ok(())
    }

    /// True when the store holds no policies, events or users yet (demo data may be loaded).
    pub async fn is_empty(&self) -> Result<bool> {
        use sea_orm::PaginatorTrait;
        Ok(crate::entity::policy::Entity::find()
            .count(&self.db)
            .await?
            == 0
            && event::Entity::find().count(&self.db).await? == 0
            && crate::entity::user::Entity::find().count(&self.db).await? == 0)
    }
}
