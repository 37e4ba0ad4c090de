//! Aggregates for the compliance and usage reports, over a period `[since, until)`.
//!
//! Event totals come from the maintained hour counters (`event_hours`). Violations are grouped
//! in the database by every dimension a report shows (one `GROUP BY` over the period's
//! violations, each joined to its event by primary key for the application and model), so a
//! report reads a few hundred grouped rows instead of the rows themselves. Only what is
//! human-sized is read row by row: triaged violations and the audit trail's triage entries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use sentinel_api::audit::AuditEntry;

use crate::entity::{audit_log, event, event_count, violation};
use crate::{Backend, Result, Store};

/// Violations of a period sharing every reported dimension.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct ViolationGroup {
    pub violation_type: String,
    pub severity: String,
    pub status: String,
    pub policy_id: i64,
    pub shadow: bool,
    /// The event's `source` (the application).
    pub source: Option<String>,
    pub model_name: Option<String>,
    /// 1 when the violations carry an `acknowledged_by`.
    pub reviewed: i32,
    pub n: i64,
}

/// The triage timestamps of one violation that was acknowledged or closed.
#[derive(Debug, Clone, PartialEq)]
pub struct TriagedViolation {
    pub policy_id: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub acknowledged_date: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Events of a period sharing a usage key, a model and whether they were blocked.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct UsageGroupRow {
    pub key: Option<String>,
    pub model_name: Option<String>,
    pub blocked: i32,
    pub events: i64,
    pub request_tokens: Option<i64>,
    pub response_tokens: Option<i64>,
}

/// The column a usage report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageKey {
    App,
    Model,
    User,
    Day,
}

/// `?` placeholders as the backend spells them (`$1`, `$2`, … on PostgreSQL).
fn statement(backend: Backend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = match backend {
        Backend::Sqlite => sql.to_owned(),
        Backend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
    };
    let db = match backend {
        Backend::Sqlite => sea_orm::DatabaseBackend::Sqlite,
        Backend::Postgres => sea_orm::DatabaseBackend::Postgres,
    };
    Statement::from_sql_and_values(db, sql, values)
}

impl Store {
    /// Events triggered in the period, from the hour counters.
    pub async fn events_between(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<u64> {
        Ok(self
            .events_in_window(Some(since), Some(until))
            .await?
            .values()
            .sum())
    }

    /// The period's violations (by creation time) grouped by type, severity, status, policy,
    /// shadow, application, model and whether a reviewer is recorded.
    pub async fn violation_groups(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ViolationGroup>> {
        let sql = "SELECT v.violation_type AS violation_type, v.severity AS severity, \
                   v.status AS status, v.policy_id AS policy_id, v.shadow AS shadow, \
                   e.source AS source, e.model_name AS model_name, \
                   CAST(CASE WHEN v.acknowledged_by IS NULL THEN 0 ELSE 1 END AS INTEGER) AS reviewed, \
                   COUNT(*) AS n \
                   FROM violations v JOIN events e ON e.id = v.event_id \
                   WHERE v.created_at >= ? AND v.created_at < ? \
                   GROUP BY v.violation_type, v.severity, v.status, v.policy_id, v.shadow, \
                   e.source, e.model_name, \
                   CASE WHEN v.acknowledged_by IS NULL THEN 0 ELSE 1 END";
        let stmt = statement(self.backend(), sql, vec![since.into(), until.into()]);
        Ok(ViolationGroup::find_by_statement(stmt)
            .all(&self.db)
            .await?)
    }

    /// The period's violations of enforced policies that were acknowledged, or closed as
    /// `resolved` / `false_positive` by an update.
    pub async fn triaged_violations(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<TriagedViolation>> {
        type Row = (
            i64,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let closed = violation::Column::Status
            .is_in(["resolved", "false_positive"])
            .and(violation::Column::UpdatedAt.is_not_null());
        let rows: Vec<Row> = violation::Entity::find()
            .select_only()
            .column(violation::Column::PolicyId)
            .column(violation::Column::Status)
            .column(violation::Column::CreatedAt)
            .column(violation::Column::AcknowledgedDate)
            .column(violation::Column::UpdatedAt)
            .filter(violation::Column::CreatedAt.gte(since))
            .filter(violation::Column::CreatedAt.lt(until))
            .filter(violation::Column::Shadow.eq(false))
            .filter(violation::Column::AcknowledgedDate.is_not_null().or(closed))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(policy_id, status, created_at, acknowledged_date, updated_at)| TriagedViolation {
                    policy_id,
                    status,
                    created_at,
                    acknowledged_date,
                    updated_at,
                },
            )
            .collect())
    }

    /// Audit entries made in the period, oldest first; only those with one of `actions` when
    /// given.
    pub async fn audit_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        actions: Option<&[&str]>,
    ) -> Result<Vec<AuditEntry>> {
        let mut select = audit_log::Entity::find()
            .filter(audit_log::Column::CreatedAt.gte(since))
            .filter(audit_log::Column::CreatedAt.lt(until));
        if let Some(actions) = actions {
            select = select.filter(audit_log::Column::Action.is_in(actions.iter().copied()));
        }
        let rows = select
            .order_by_asc(audit_log::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(crate::audit::entry).collect())
    }

    /// When each of `ids` was created (ids that do not exist are left out).
    pub async fn violation_created(&self, ids: &[i64]) -> Result<HashMap<i64, DateTime<Utc>>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<(i64, DateTime<Utc>)> = violation::Entity::find()
                .select_only()
                .column(violation::Column::Id)
                .column(violation::Column::CreatedAt)
                .filter(violation::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(&self.db)
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The trigger time of the oldest stored event.
    pub async fn oldest_event(&self) -> Result<Option<DateTime<Utc>>> {
        let oldest: Option<Option<DateTime<Utc>>> = event::Entity::find()
            .select_only()
            .column_as(event::Column::TriggerDate.min(), "oldest")
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(oldest.flatten())
    }

    /// Applications (`source`) that have stored events, from the counters.
    pub async fn known_sources(&self) -> Result<Vec<String>> {
        let rows: Vec<Option<String>> = event_count::Entity::find()
            .select_only()
            .column(event_count::Column::Source)
            .filter(event_count::Column::Source.is_not_null())
            .filter(event_count::Column::Events.gt(0))
            .distinct()
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut sources: Vec<String> = rows.into_iter().flatten().collect();
        sources.sort();
        Ok(sources)
    }

    /// The period's events grouped by `key`, model and whether the decision was `block`, with
    /// their summed token counts.
    pub async fn usage_groups(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        key: UsageKey,
    ) -> Result<Vec<UsageGroupRow>> {
        let key = match key {
            UsageKey::App => "source",
            UsageKey::Model => "model_name",
            UsageKey::User => "CAST(user_id AS TEXT)",
            UsageKey::Day => "CAST(trigger_day AS TEXT)",
        };
        let blocked = "CAST(CASE WHEN decision = 'block' THEN 1 ELSE 0 END AS INTEGER)";
        let sql = format!(
            "SELECT {key} AS key, model_name, {blocked} AS blocked, COUNT(*) AS events, \
             CAST(SUM(request_tokens) AS BIGINT) AS request_tokens, \
             CAST(SUM(response_tokens) AS BIGINT) AS response_tokens \
             FROM events WHERE trigger_date >= ? AND trigger_date < ? \
             GROUP BY {key}, model_name, {blocked}"
        );
        let stmt = statement(self.backend(), &sql, vec![since.into(), until.into()]);
        Ok(UsageGroupRow::find_by_statement(stmt).all(&self.db).await?)
    }
}
