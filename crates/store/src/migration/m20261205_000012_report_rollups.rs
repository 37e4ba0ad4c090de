//! Rollups for the compliance and usage reports (issue 15, item 5), kept in the same transaction
//! as every write to events and violations, like the counters of migration 5:
//!
//! - `usage_hours`: events and summed tokens per hour of `trigger_date`, application (`source`),
//!   model and whether the decision was `block`. The usage report by application, model and day
//!   adds these up.
//! - `usage_user_days`: the same per UTC day and user (users are many: a day keeps it small).
//! - `violation_days`: violations per UTC day of `created_at` and every dimension the compliance
//!   report shows: type, severity, status, policy, shadow, whether a reviewer is recorded, and
//!   the event's application and model.
//!
//! A bucket is `floor(unix seconds / bucket length)`. Several columns may be null, so each row
//! carries a text `dims` key built from all of them (built by `report_rollups::ReportRollups` in Rust and by
//! the `report_rollups::*_sql` helpers in SQL, the same text). All three are backfilled from the rows already stored.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::report_rollups::{
    BLOCKED_SQL, bucket_sql, usage_dims_sql, user_usage_dims_sql, violation_dims_sql,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum UsageHours {
    Table,
    Hour,
    Dims,
    Source,
    ModelName,
    Blocked,
    Events,
    RequestTokens,
    ResponseTokens,
}

#[derive(DeriveIden, Clone, Copy)]
enum UsageUserDays {
    Table,
    Day,
    Dims,
    UserId,
    ModelName,
    Blocked,
    Events,
    RequestTokens,
    ResponseTokens,
}

#[derive(DeriveIden, Clone, Copy)]
enum ViolationDays {
    Table,
    Day,
    Dims,
    ViolationType,
    Severity,
    Status,
    PolicyId,
    Shadow,
    Reviewed,
    Source,
    ModelName,
    Violations,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UsageHours::Table)
                    .col(big_integer(UsageHours::Hour))
                    .col(text(UsageHours::Dims))
                    .col(string_null(UsageHours::Source))
                    .col(string_null(UsageHours::ModelName))
                    .col(integer(UsageHours::Blocked))
                    .col(big_integer(UsageHours::Events).default(0))
                    .col(big_integer(UsageHours::RequestTokens).default(0))
                    .col(big_integer(UsageHours::ResponseTokens).default(0))
                    .primary_key(Index::create().col(UsageHours::Hour).col(UsageHours::Dims))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageUserDays::Table)
                    .col(big_integer(UsageUserDays::Day))
                    .col(text(UsageUserDays::Dims))
                    .col(big_integer_null(UsageUserDays::UserId))
                    .col(string_null(UsageUserDays::ModelName))
                    .col(integer(UsageUserDays::Blocked))
                    .col(big_integer(UsageUserDays::Events).default(0))
                    .col(big_integer(UsageUserDays::RequestTokens).default(0))
                    .col(big_integer(UsageUserDays::ResponseTokens).default(0))
                    .primary_key(
                        Index::create()
                            .col(UsageUserDays::Day)
                            .col(UsageUserDays::Dims),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ViolationDays::Table)
                    .col(big_integer(ViolationDays::Day))
                    .col(text(ViolationDays::Dims))
                    .col(string(ViolationDays::ViolationType))
                    .col(string(ViolationDays::Severity))
                    .col(string(ViolationDays::Status))
                    .col(big_integer(ViolationDays::PolicyId))
                    .col(boolean(ViolationDays::Shadow))
                    .col(integer(ViolationDays::Reviewed))
                    .col(string_null(ViolationDays::Source))
                    .col(string_null(ViolationDays::ModelName))
                    .col(big_integer(ViolationDays::Violations).default(0))
                    .primary_key(
                        Index::create()
                            .col(ViolationDays::Day)
                            .col(ViolationDays::Dims),
                    )
                    .to_owned(),
            )
            .await?;

        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        let hour = bucket_sql(backend, "trigger_date", 3600);
        let day = bucket_sql(backend, "trigger_date", 86_400);
        let created_day = bucket_sql(backend, "v.created_at", 86_400);
        let usage = usage_dims_sql();
        let user_usage = user_usage_dims_sql();
        let violation = violation_dims_sql();
        let tokens = "CAST(COALESCE(SUM(request_tokens), 0) AS BIGINT), \
                      CAST(COALESCE(SUM(response_tokens), 0) AS BIGINT)";
        db.execute_unprepared(&format!(
            "INSERT INTO usage_hours (hour, dims, source, model_name, blocked, events, \
             request_tokens, response_tokens) \
             SELECT {hour}, {usage}, source, model_name, {BLOCKED_SQL}, COUNT(*), {tokens} \
             FROM events GROUP BY {hour}, source, model_name, {BLOCKED_SQL}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO usage_user_days (day, dims, user_id, model_name, blocked, events, \
             request_tokens, response_tokens) \
             SELECT {day}, {user_usage}, user_id, model_name, {BLOCKED_SQL}, COUNT(*), {tokens} \
             FROM events GROUP BY {day}, user_id, model_name, {BLOCKED_SQL}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO violation_days (day, dims, violation_type, severity, status, policy_id, \
             shadow, reviewed, source, model_name, violations) \
             SELECT {created_day}, {violation}, v.violation_type, v.severity, v.status, \
             v.policy_id, v.shadow, CASE WHEN v.acknowledged_by IS NULL THEN 0 ELSE 1 END, \
             e.source, e.model_name, COUNT(*) \
             FROM violations v JOIN events e ON e.id = v.event_id \
             GROUP BY {created_day}, v.violation_type, v.severity, v.status, v.policy_id, \
             v.shadow, CASE WHEN v.acknowledged_by IS NULL THEN 0 ELSE 1 END, e.source, e.model_name"
        ))
        .await?;
        for table in ["usage_hours", "usage_user_days", "violation_days"] {
            db.execute_unprepared(&format!("ANALYZE {table}")).await?;
        }
        Ok(())
    }
}
