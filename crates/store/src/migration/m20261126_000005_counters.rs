//! Maintained counters for the summaries and the `X-Total-Count` of lists, kept in the same
//! transaction as every write to events and violations, so PostgreSQL (which has no cheap
//! `COUNT(*)`) answers them from a few hundred rows instead of counting up to a million:
//!
//! - `event_counts`: events per (status, severity, event_type, policy_id, source). Any mix of
//!   those equality filters is a `SUM` over the matching rows. `policy_id` and `source` may be
//!   null, and NULLs never conflict in a unique index on either backend, so each row carries a
//!   text `dims` built from all five columns as its primary key (see `counters::event_key`).
//! - `event_hours`: events per hour (`floor(unix seconds / 3600)`) and severity, for
//!   `since`/`until` totals, `events_last_24h` and the timeline's partial first day.
//! - `violation_counts`: violations per (status, severity, violation_type, policy_id).
//!
//! All three are backfilled from the rows already stored.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum EventCounts {
    Table,
    Dims,
    Status,
    Severity,
    EventType,
    PolicyId,
    Source,
    Events,
}

#[derive(DeriveIden, Clone, Copy)]
enum EventHours {
    Table,
    Hour,
    Severity,
    Events,
}

#[derive(DeriveIden, Clone, Copy)]
enum ViolationCounts {
    Table,
    Status,
    Severity,
    ViolationType,
    PolicyId,
    Violations,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventCounts::Table)
                    .col(text(EventCounts::Dims).primary_key())
                    .col(string(EventCounts::Status))
                    .col(string(EventCounts::Severity))
                    .col(string(EventCounts::EventType))
                    .col(big_integer_null(EventCounts::PolicyId))
                    .col(string_null(EventCounts::Source))
                    .col(big_integer(EventCounts::Events).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EventHours::Table)
                    .col(big_integer(EventHours::Hour))
                    .col(string(EventHours::Severity))
                    .col(big_integer(EventHours::Events).default(0))
                    .primary_key(
                        Index::create()
                            .col(EventHours::Hour)
                            .col(EventHours::Severity),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ViolationCounts::Table)
                    .col(string(ViolationCounts::Status))
                    .col(string(ViolationCounts::Severity))
                    .col(string(ViolationCounts::ViolationType))
                    .col(big_integer(ViolationCounts::PolicyId))
                    .col(big_integer(ViolationCounts::Violations).default(0))
                    .primary_key(
                        Index::create()
                            .col(ViolationCounts::Status)
                            .col(ViolationCounts::Severity)
                            .col(ViolationCounts::ViolationType)
                            .col(ViolationCounts::PolicyId),
                    )
                    .to_owned(),
            )
            .await?;

        // Backfill. The `dims` key must match `counters::event_key` exactly: the four enum-like columns
        // never hold `|`, the policy id is digits or empty, and a present source is prefixed with
        // `=` so that no source can be mistaken for a missing one.
        let hour = match manager.get_database_backend() {
            // SQLite stores timestamps as RFC 3339 text; floor division also below 1970.
            DbBackend::Sqlite => {
                "((CAST(strftime('%s', trigger_date) AS INTEGER) \
                 - ((CAST(strftime('%s', trigger_date) AS INTEGER) % 3600) + 3600) % 3600) / 3600)"
            }
            // PostgreSQL (and anything else sea-orm might add): timestamptz arithmetic.
            _ => "CAST(FLOOR(EXTRACT(EPOCH FROM trigger_date) / 3600) AS BIGINT)",
        };
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO event_counts (dims, status, severity, event_type, policy_id, source, events) \
             SELECT status || '|' || severity || '|' || event_type || '|' \
                    || COALESCE(CAST(policy_id AS TEXT), '') || '|' || COALESCE('=' || source, ''), \
                    status, severity, event_type, policy_id, source, COUNT(*) \
             FROM events GROUP BY status, severity, event_type, policy_id, source",
        )
        .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO event_hours (hour, severity, events) \
             SELECT {hour} AS h, severity, COUNT(*) FROM events GROUP BY {hour}, severity"
        ))
        .await?;
        db.execute_unprepared(
            "INSERT INTO violation_counts (status, severity, violation_type, policy_id, violations) \
             SELECT status, severity, violation_type, policy_id, COUNT(*) \
             FROM violations GROUP BY status, severity, violation_type, policy_id",
        )
        .await?;
        // Fresh statistics for the new tables, so the planner knows they are small.
        for table in ["event_counts", "event_hours", "violation_counts"] {
            db.execute_unprepared(&format!("ANALYZE {table}")).await?;
        }
        Ok(())
    }
}
