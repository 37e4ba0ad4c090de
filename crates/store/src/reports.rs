//! Aggregates for the compliance and usage reports, over a period `[since, until)`.
//!
//! A report reads maintained counters and rollups, not the rows: event totals from the hour
//! counters (`event_hours`), violations from `violation_days`, usage from `usage_hours` and
//! `usage_user_days` (migration 12, maintained in the transaction of every write, see
//! `report_rollups.rs`). Only the partial buckets at a period's edges are counted from the rows
//! (at most two hours of events, or two days of violations or of events by user), and only what
//! is human-sized is read row by row: triaged violations and the audit trail's triage entries.
//! The `*_scan` variants count everything from the rows, for the edges and for tests.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use sentinel_api::audit::AuditEntry;

use crate::entity::{audit_log, event, event_count, violation};
use crate::report_rollups::{self, DAY, HOUR, split};
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
    let db = match backend {
        Backend::Sqlite => sea_orm::DatabaseBackend::Sqlite,
        Backend::Postgres => sea_orm::DatabaseBackend::Postgres,
    };
    report_rollups::statement(db, sql, values)
}

/// The dimensions a violation group is merged and ordered on: all but its count.
type GroupKey<'a> = (
    &'a str,
    &'a str,
    &'a str,
    i64,
    bool,
    Option<&'a str>,
    Option<&'a str>,
    i32,
);

impl ViolationGroup {
    /// Its dimensions, the order [`Store::violation_groups`] returns groups in.
    pub fn key(&self) -> GroupKey<'_> {
        (
            &self.violation_type,
            &self.severity,
            &self.status,
            self.policy_id,
            self.shadow,
            self.source.as_deref(),
            self.model_name.as_deref(),
            self.reviewed,
        )
    }
}

/// The dimensions a usage group is merged on: key, model, blocked.
type UsageMergeKey = (Option<String>, Option<String>, i32);

/// A `usage_hours` group by a numeric key (the day of its hour).
#[derive(Debug, FromQueryResult)]
struct UsageDayRow {
    day: i64,
    model_name: Option<String>,
    blocked: i32,
    events: i64,
    request_tokens: Option<i64>,
    response_tokens: Option<i64>,
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
    /// shadow, application, model and whether a reviewer is recorded: whole days from
    /// `violation_days`, the partial days at the edges counted from the rows.
    pub async fn violation_groups(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ViolationGroup>> {
        let parts = split(since, until, DAY);
        let mut groups = Vec::new();
        if let Some((first, last)) = parts.whole {
            let sql = "SELECT violation_type, severity, status, policy_id, shadow, source, \
                       model_name, reviewed, CAST(SUM(violations) AS BIGINT) AS n \
                       FROM violation_days WHERE day >= ? AND day < ? \
                       GROUP BY violation_type, severity, status, policy_id, shadow, source, \
                       model_name, reviewed";
            let stmt = statement(self.backend(), sql, vec![first.into(), last.into()]);
            groups.extend(
                ViolationGroup::find_by_statement(stmt)
                    .all(&self.db)
                    .await?,
            );
        }
        for (a, b) in parts.edges {
            groups.extend(self.violation_groups_scan(a, b).await?);
        }
        // Rows of one group from the rollup and the edges, side by side once sorted, become one.
        groups.sort_by(|a, b| a.key().cmp(&b.key()));
        let mut merged: Vec<ViolationGroup> = Vec::with_capacity(groups.len());
        for g in groups {
            match merged.last_mut() {
                Some(last) if last.key() == g.key() => last.n += g.n,
                _ => merged.push(g),
            }
        }
        merged.retain(|g| g.n != 0);
        Ok(merged)
    }

    /// [`Store::violation_groups`] counted from the rows themselves: for the partial days at
    /// a period's edges, and for tests that check the rollups against the rows.
    pub async fn violation_groups_scan(
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
    /// their summed token counts: whole hours from `usage_hours` (whole days from
    /// `usage_user_days` by user), the partial buckets at the edges counted from the rows.
    pub async fn usage_groups(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        key: UsageKey,
    ) -> Result<Vec<UsageGroupRow>> {
        let bucket = if key == UsageKey::User { DAY } else { HOUR };
        let parts = split(since, until, bucket);
        let mut rows = Vec::new();
        if let Some((first, last)) = parts.whole {
            let sums = "CAST(SUM(events) AS BIGINT) AS events, \
                        CAST(SUM(request_tokens) AS BIGINT) AS request_tokens, \
                        CAST(SUM(response_tokens) AS BIGINT) AS response_tokens";
            let range = vec![first.into(), last.into()];
            let grouped = |k: &str, table: &str, b: &str| {
                format!(
                    "SELECT {k} AS key, model_name, blocked, {sums} FROM {table} \
                     WHERE {b} >= ? AND {b} < ? GROUP BY {k}, model_name, blocked"
                )
            };
            match key {
                UsageKey::App | UsageKey::Model | UsageKey::User => {
                    let sql = match key {
                        UsageKey::App => grouped("source", "usage_hours", "hour"),
                        UsageKey::Model => grouped("model_name", "usage_hours", "hour"),
                        _ => grouped("CAST(user_id AS TEXT)", "usage_user_days", "day"),
                    };
                    let stmt = statement(self.backend(), &sql, range);
                    rows.extend(UsageGroupRow::find_by_statement(stmt).all(&self.db).await?);
                }
                UsageKey::Day => {
                    // The UTC day of an hour bucket, rounded down below 1970 too.
                    let day = "((hour - ((hour % 24) + 24) % 24) / 24)";
                    let sql = format!(
                        "SELECT {day} AS day, model_name, blocked, {sums} FROM usage_hours \
                         WHERE hour >= ? AND hour < ? GROUP BY {day}, model_name, blocked"
                    );
                    let stmt = statement(self.backend(), &sql, range);
                    for r in UsageDayRow::find_by_statement(stmt).all(&self.db).await? {
                        rows.push(UsageGroupRow {
                            key: Some(
                                report_rollups::bucket_start(r.day, DAY)
                                    .date_naive()
                                    .to_string(),
                            ),
                            model_name: r.model_name,
                            blocked: r.blocked,
                            events: r.events,
                            request_tokens: r.request_tokens,
                            response_tokens: r.response_tokens,
                        });
                    }
                }
            }
        }
        for (a, b) in parts.edges {
            rows.extend(self.usage_groups_scan(a, b, key).await?);
        }
        let mut merged: BTreeMap<UsageMergeKey, (i64, i64, i64)> = BTreeMap::new();
        for r in rows {
            let e = merged.entry((r.key, r.model_name, r.blocked)).or_default();
            e.0 += r.events;
            e.1 += r.request_tokens.unwrap_or(0);
            e.2 += r.response_tokens.unwrap_or(0);
        }
        Ok(merged
            .into_iter()
            .filter(|(_, (events, _, _))| *events != 0)
            .map(
                |((key, model_name, blocked), (events, req, resp))| UsageGroupRow {
                    key,
                    model_name,
                    blocked,
                    events,
                    request_tokens: Some(req),
                    response_tokens: Some(resp),
                },
            )
            .collect())
    }

    /// [`Store::usage_groups`] counted from the rows themselves: for the partial buckets at a
    /// period's edges, and for tests that check the rollups against the rows.
    pub async fn usage_groups_scan(
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
