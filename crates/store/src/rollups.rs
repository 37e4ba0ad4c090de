//! Maintenance and reads of the daily event rollups (`event_rollups`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{EntityTrait, Set};

use crate::Result;
use crate::entity::event_rollup;
use crate::writes::Writes;

/// Additions to the rollups, keyed by (UTC day, severity).
#[derive(Debug, Default)]
pub(crate) struct RollupDelta {
    rows: BTreeMap<(NaiveDate, String), (i64, f64, i64)>,
}

impl RollupDelta {
    pub(crate) fn add(&mut self, day: NaiveDate, severity: &str, duration_ms: Option<f64>) {
        let entry = self.rows.entry((day, severity.to_owned())).or_default();
        entry.0 += 1;
        if let Some(d) = duration_ms {
            entry.1 += d;
            entry.2 += 1;
        }
    }

    /// Takes a deleted event back out of the rollups.
    pub(crate) fn subtract(&mut self, day: NaiveDate, severity: &str, duration_ms: Option<f64>) {
        let entry = self.rows.entry((day, severity.to_owned())).or_default();
        entry.0 -= 1;
        if let Some(d) = duration_ms {
            entry.1 -= d;
            entry.2 -= 1;
        }
    }

    /// The accumulated rows: ((day, severity), (events, duration sum, events with a duration)).
    pub(crate) fn into_rows(self) -> impl Iterator<Item = ((NaiveDate, String), (i64, f64, i64))> {
        self.rows.into_iter()
    }

    /// Adds the delta to the stored rollups: its upsert, added to `writes` (the caller's
    /// transaction runs them).
    pub(crate) fn stage(self, writes: &mut Writes) {
        if self.rows.is_empty() {
            return;
        }
        let rows = self
            .rows
            .into_iter()
            .map(
                |((day, severity), (events, sum, count))| event_rollup::ActiveModel {
                    day: Set(day),
                    severity: Set(severity),
                    events: Set(events),
                    duration_sum: Set(sum),
                    duration_count: Set(count),
                },
            );
        // `excluded` names the proposed row on both SQLite and PostgreSQL.
        let on_conflict =
            OnConflict::columns([event_rollup::Column::Day, event_rollup::Column::Severity])
                .value(
                    event_rollup::Column::Events,
                    Expr::cust("event_rollups.events + excluded.events"),
                )
                .value(
                    event_rollup::Column::DurationSum,
                    Expr::cust("event_rollups.duration_sum + excluded.duration_sum"),
                )
                .value(
                    event_rollup::Column::DurationCount,
                    Expr::cust("event_rollups.duration_count + excluded.duration_count"),
                )
                .to_owned();
        writes.query(&event_rollup::Entity::insert_many(rows).on_conflict(on_conflict));
    }
}

impl crate::Store {
    /// Number of stored events, from the rollups.
    pub(crate) async fn rollup_total(&self) -> Result<u64> {
        use sea_orm::QuerySelect;
        let total: Option<Option<i64>> = event_rollup::Entity::find()
            .select_only()
            .column_as(Expr::cust("CAST(SUM(events) AS BIGINT)"), "total")
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(u64::try_from(total.flatten().unwrap_or(0)).unwrap_or(0))
    }

    /// Average reported duration over every event that has one.
    pub(crate) async fn rollup_avg_duration(&self) -> Result<Option<f64>> {
        use sea_orm::QuerySelect;
        let row: Option<(Option<f64>, Option<i64>)> = event_rollup::Entity::find()
            .select_only()
            .column_as(Expr::cust("SUM(duration_sum)"), "sum")
            .column_as(Expr::cust("CAST(SUM(duration_count) AS BIGINT)"), "count")
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(match row {
            Some((Some(sum), Some(count))) if count > 0 => Some(sum / count as f64),
            _ => None,
        })
    }

    /// (day, severity, events) for every day after `after`.
    pub(crate) async fn rollup_days_after(
        &self,
        after: NaiveDate,
    ) -> Result<Vec<(NaiveDate, String, i64)>> {
        use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
        Ok(event_rollup::Entity::find()
            .select_only()
            .column(event_rollup::Column::Day)
            .column(event_rollup::Column::Severity)
            .column(event_rollup::Column::Events)
            .filter(event_rollup::Column::Day.gt(after))
            .into_tuple()
            .all(&self.db)
            .await?)
    }
}
