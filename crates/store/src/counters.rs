//! Maintained counters of events and violations (migration 5), beside the daily rollups.
//!
//! Every write to `events` or `violations` (insert, triage, retention, bulk load) collects its
//! changes in one [`Counters`] and applies it in the same transaction, after the rows themselves,
//! so the counters cannot drift from the rows and a failed write leaves both as they were.
//! Applying last also gives every transaction the same lock order (data rows, then counter rows
//! table by table, each in key order), so concurrent writers on PostgreSQL cannot deadlock on them.
//!
//! Reads: the summaries, the dashboard and the exact `X-Total-Count` of lists filtered on any mix
//! of the equality filters add up a few hundred counter rows instead of counting the rows
//! themselves; `since`/`until` windows add whole hours from `event_hours` and count only the
//! partial hours at their edges. [`Store::counter_drift`] recounts everything, for tests and audits.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QuerySelect, Set, Statement,
};
use sentinel_api::event::EventFilter;
use sentinel_api::violation::ViolationFilter;

use crate::entity::{event, event_count, event_hour, violation, violation_count};
use crate::report_rollups::{
    self, ReportRollups, UsageDims, ViolationRollupDims, bucket_sql, usage_dims_sql,
    user_usage_dims_sql, violation_dims_sql,
};
use crate::rollups::RollupDelta;
use crate::writes::Writes;
use crate::{Backend, Result, Store};

/// The primary key of an `event_counts` row. Migration 5 builds the same text in SQL: the first
/// three fields never hold `|`, the policy id is digits or empty, and a present source is prefixed
/// with `=` so that no source reads as a missing one.
pub(crate) fn event_key(
    status: &str,
    severity: &str,
    event_type: &str,
    policy_id: Option<i64>,
    source: Option<&str>,
) -> String {
    let policy = policy_id.map(|p| p.to_string()).unwrap_or_default();
    let source = source.map(|s| format!("={s}")).unwrap_or_default();
    format!("{status}|{severity}|{event_type}|{policy}|{source}")
}

/// The `event_hours` bucket of an instant: whole hours since the Unix epoch, rounded down.
pub(crate) fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

fn hour_start(hour: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(hour.saturating_mul(3600), 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The first hour bucket that starts at or after `at`.
fn hour_ceil(at: DateTime<Utc>) -> i64 {
    let floor = hour_of(at);
    if hour_start(floor) == at {
        floor
    } else {
        floor + 1
    }
}

/// What the counters need to know about one event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventDims<'a> {
    pub status: &'a str,
    pub severity: &'a str,
    pub event_type: &'a str,
    pub policy_id: Option<i64>,
    pub source: Option<&'a str>,
    pub trigger_date: DateTime<Utc>,
    pub duration_ms: Option<f64>,
    /// What the report rollups need besides (the source and trigger date above are shared).
    pub model_name: Option<&'a str>,
    pub user_id: Option<i64>,
    pub blocked: bool,
    pub request_tokens: Option<i64>,
    pub response_tokens: Option<i64>,
}

impl<'a> EventDims<'a> {
    pub(crate) fn of(row: &'a event::Model) -> Self {
        Self {
            status: &row.status,
            severity: &row.severity,
            event_type: &row.event_type,
            policy_id: row.policy_id,
            source: row.source.as_deref(),
            trigger_date: row.trigger_date,
            duration_ms: row.duration_ms,
            model_name: row.model_name.as_deref(),
            user_id: row.user_id,
            blocked: row.decision.as_deref() == Some("block"),
            request_tokens: row.request_tokens,
            response_tokens: row.response_tokens,
        }
    }

    fn usage(&self) -> UsageDims<'a> {
        UsageDims {
            trigger_date: self.trigger_date,
            source: self.source,
            model_name: self.model_name,
            user_id: self.user_id,
            blocked: self.blocked,
            request_tokens: self.request_tokens,
            response_tokens: self.response_tokens,
        }
    }
}

/// The (status, severity, violation_type, policy_id) of `violation_counts`.
type ViolationDims = (String, String, String, i64);

/// Pending changes to every maintained counter, applied with [`Counters::apply`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    rollups: RollupDelta,
    report: ReportRollups,
    events: BTreeMap<String, (event_count::Model, i64)>,
    hours: BTreeMap<(i64, String), i64>,
    violations: BTreeMap<ViolationDims, i64>,
}

impl Counters {
    /// Counts a new event in (`sign` 1) or a deleted one out (`sign` -1).
    pub(crate) fn event(&mut self, e: EventDims<'_>, sign: i64) {
        if sign >= 0 {
            self.rollups
                .add(e.trigger_date.date_naive(), e.severity, e.duration_ms);
        } else {
            self.rollups
                .subtract(e.trigger_date.date_naive(), e.severity, e.duration_ms);
        }
        self.report.event(e.usage(), sign);
        self.event_dims(e, e.status, sign);
        *self
            .hours
            .entry((hour_of(e.trigger_date), e.severity.to_owned()))
            .or_default() += sign;
    }

    /// An event moved from `e.status` to `status`: only the per-status counts change.
    pub(crate) fn event_status(&mut self, e: EventDims<'_>, status: &str) {
        if e.status != status {
            self.event_dims(e, e.status, -1);
            self.event_dims(e, status, 1);
        }
    }

    fn event_dims(&mut self, e: EventDims<'_>, status: &str, sign: i64) {
        let key = event_key(status, e.severity, e.event_type, e.policy_id, e.source);
        let entry = self.events.entry(key.clone()).or_insert_with(|| {
            (
                event_count::Model {
                    dims: key,
                    status: status.to_owned(),
                    severity: e.severity.to_owned(),
                    event_type: e.event_type.to_owned(),
                    policy_id: e.policy_id,
                    source: e.source.map(str::to_owned),
                    events: 0,
                },
                0,
            )
        });
        entry.1 += sign;
    }

    /// `n` violations with these dimensions added (positive) or removed (negative).
    pub(crate) fn violations(
        &mut self,
        status: &str,
        severity: &str,
        violation_type: &str,
        policy_id: i64,
        n: i64,
    ) {
        *self
            .violations
            .entry((
                status.to_owned(),
                severity.to_owned(),
                violation_type.to_owned(),
                policy_id,
            ))
            .or_default() += n;
    }

    /// A violation (of any policy, shadow ones too) counted into the report rollups (`sign` 1)
    /// or out of them (`sign` -1).
    pub(crate) fn violation_rollup(&mut self, v: ViolationRollupDims<'_>, sign: i64) {
        self.report.violation(v, sign);
    }

    /// A violation's triage changed what the report rollups know of it.
    pub(crate) fn violation_rollup_moved(
        &mut self,
        before: ViolationRollupDims<'_>,
        after: ViolationRollupDims<'_>,
    ) {
        self.report.violation_moved(before, after);
    }

    /// A violation moved from status `from` to `to`.
    pub(crate) fn violation_status(
        &mut self,
        from: &str,
        to: &str,
        severity: &str,
        violation_type: &str,
        policy_id: i64,
    ) {
        if from != to {
            self.violations(from, severity, violation_type, policy_id, -1);
            self.violations(to, severity, violation_type, policy_id, 1);
        }
    }

    /// The rows to add to each table, without the ones that cancel out.
    pub(crate) fn into_parts(self) -> CounterRows {
        CounterRows {
            rollups: self.rollups,
            report: self.report,
            events: self
                .events
                .into_values()
                .filter(|(_, n)| *n != 0)
                .map(|(mut row, n)| {
                    row.events = n;
                    row
                })
                .collect(),
            hours: self.hours.into_iter().filter(|(_, n)| *n != 0).collect(),
            violations: self
                .violations
                .into_iter()
                .filter(|(_, n)| *n != 0)
                .collect(),
        }
    }

    /// Adds the changes to the stored counters on `conn`, the caller's transaction. Rows that
    /// reach zero stay (there is one per combination ever seen), except for the hours a deletion
    /// emptied, which would otherwise accumulate with retention.
    pub(crate) async fn apply<C: ConnectionTrait>(self, conn: &C) -> Result<()> {
        let mut writes = Writes::new(conn.get_database_backend());
        self.stage(&mut writes);
        writes.run(conn).await
    }

    /// [`Counters::apply`]'s statements, added to `writes` (to run with the caller's other
    /// writes that need no answer).
    pub(crate) fn stage(self, writes: &mut Writes) {
        let parts = self.into_parts();
        parts.rollups.stage(writes);
        parts.report.stage(writes);
        // `excluded` names the proposed row on both SQLite and PostgreSQL.
        if !parts.events.is_empty() {
            let rows = parts.events.into_iter().map(|r| event_count::ActiveModel {
                dims: Set(r.dims),
                status: Set(r.status),
                severity: Set(r.severity),
                event_type: Set(r.event_type),
                policy_id: Set(r.policy_id),
                source: Set(r.source),
                events: Set(r.events),
            });
            writes.query(
                &event_count::Entity::insert_many(rows).on_conflict(
                    OnConflict::column(event_count::Column::Dims)
                        .value(
                            event_count::Column::Events,
                            Expr::cust("event_counts.events + excluded.events"),
                        )
                        .to_owned(),
                ),
            );
        }
        if !parts.hours.is_empty() {
            let emptied: BTreeSet<i64> = parts
                .hours
                .iter()
                .filter(|(_, n)| *n < 0)
                .map(|((hour, _), _)| *hour)
                .collect();
            let rows =
                parts
                    .hours
                    .into_iter()
                    .map(|((hour, severity), n)| event_hour::ActiveModel {
                        hour: Set(hour),
                        severity: Set(severity),
                        events: Set(n),
                    });
            writes.query(
                &event_hour::Entity::insert_many(rows).on_conflict(
                    OnConflict::columns([event_hour::Column::Hour, event_hour::Column::Severity])
                        .value(
                            event_hour::Column::Events,
                            Expr::cust("event_hours.events + excluded.events"),
                        )
                        .to_owned(),
                ),
            );
            // Only hours this transaction decremented (and so already holds) are cleaned up.
            let emptied: Vec<i64> = emptied.into_iter().collect();
            for chunk in emptied.chunks(5_000) {
                writes.query(
                    &event_hour::Entity::delete_many()
                        .filter(event_hour::Column::Hour.is_in(chunk.iter().copied()))
                        .filter(event_hour::Column::Events.lte(0)),
                );
            }
        }
        if !parts.violations.is_empty() {
            let rows = parts.violations.into_iter().map(
                |((status, severity, violation_type, policy_id), n)| violation_count::ActiveModel {
                    status: Set(status),
                    severity: Set(severity),
                    violation_type: Set(violation_type),
                    policy_id: Set(policy_id),
                    violations: Set(n),
                },
            );
            writes.query(
                &violation_count::Entity::insert_many(rows).on_conflict(
                    OnConflict::columns([
                        violation_count::Column::Status,
                        violation_count::Column::Severity,
                        violation_count::Column::ViolationType,
                        violation_count::Column::PolicyId,
                    ])
                    .value(
                        violation_count::Column::Violations,
                        Expr::cust("violation_counts.violations + excluded.violations"),
                    )
                    .to_owned(),
                ),
            );
        }
    }
}

/// [`Counters`] split per table, with the cancelled-out entries dropped (for the SQLite bulk
/// load, which writes them with its own statements).
#[derive(Debug)]
pub(crate) struct CounterRows {
    pub rollups: RollupDelta,
    pub report: ReportRollups,
    pub events: Vec<event_count::Model>,
    pub hours: Vec<((i64, String), i64)>,
    pub violations: Vec<(ViolationDims, i64)>,
}

fn to_u64(n: Option<i64>) -> u64 {
    u64::try_from(n.unwrap_or(0)).unwrap_or(0)
}

impl Store {
    /// The exact number of events matching `filter`, from the counters, or `None` when the
    /// counters cannot answer it (a time window combined with another filter).
    pub(crate) async fn counted_events(&self, filter: &EventFilter) -> Result<Option<u64>> {
        let windowed = filter.since.is_some() || filter.until.is_some();
        let other = filter.status.is_some()
            || filter.severity.is_some()
            || filter.event_type.is_some()
            || filter.policy_id.is_some()
            || filter.source.is_some();
        if windowed {
            if other {
                return Ok(None);
            }
            let per_severity = self
                .events_in_window(filter.since.map(|t| t.0), filter.until.map(|t| t.0))
                .await?;
            return Ok(Some(per_severity.values().sum()));
        }
        let mut select = event_count::Entity::find()
            .select_only()
            .column_as(Expr::cust("CAST(SUM(events) AS BIGINT)"), "n");
        if let Some(v) = filter.status {
            select = select.filter(event_count::Column::Status.eq(v.as_str()));
        }
        if let Some(v) = filter.severity {
            select = select.filter(event_count::Column::Severity.eq(v.as_str()));
        }
        if let Some(v) = filter.event_type {
            select = select.filter(event_count::Column::EventType.eq(v.as_str()));
        }
        if let Some(v) = filter.policy_id {
            select = select.filter(event_count::Column::PolicyId.eq(v));
        }
        if let Some(v) = &filter.source {
            select = select.filter(event_count::Column::Source.eq(v.as_str()));
        }
        let n: Option<Option<i64>> = select.into_tuple().one(&self.db).await?;
        Ok(Some(to_u64(n.flatten())))
    }

    /// Events triggered in `[since, until)` (either end open when `None`), per severity: whole
    /// hours from `event_hours`, the partial hours at the edges counted from the events.
    pub(crate) async fn events_in_window(
        &self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<BTreeMap<String, u64>> {
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        let first = since.map(hour_ceil);
        let last = until.map(hour_of);
        if let (Some(first), Some(last)) = (first, last)
            && first > last
        {
            // Both ends in one hour (or an empty window): count the rows, at most an hour's worth.
            if since < until {
                self.count_by_severity(since, until, &mut out).await?;
            }
            return Ok(out);
        }
        let mut select = event_hour::Entity::find()
            .select_only()
            .column(event_hour::Column::Severity)
            .column_as(Expr::cust("CAST(SUM(events) AS BIGINT)"), "n")
            .group_by(event_hour::Column::Severity);
        if let Some(first) = first {
            select = select.filter(event_hour::Column::Hour.gte(first));
        }
        if let Some(last) = last {
            select = select.filter(event_hour::Column::Hour.lt(last));
        }
        let rows: Vec<(String, Option<i64>)> = select.into_tuple().all(&self.db).await?;
        for (severity, n) in rows {
            *out.entry(severity).or_default() += to_u64(n);
        }
        if let (Some(since), Some(first)) = (since, first) {
            let edge = hour_start(first);
            if since < edge {
                self.count_by_severity(Some(since), Some(edge), &mut out)
                    .await?;
            }
        }
        if let (Some(until), Some(last)) = (until, last) {
            let edge = hour_start(last);
            if edge < until {
                self.count_by_severity(Some(edge), Some(until), &mut out)
                    .await?;
            }
        }
        Ok(out)
    }

    async fn count_by_severity(
        &self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        out: &mut BTreeMap<String, u64>,
    ) -> Result<()> {
        let mut select = event::Entity::find()
            .select_only()
            .column(event::Column::Severity)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .group_by(event::Column::Severity);
        if let Some(since) = since {
            select = select.filter(event::Column::TriggerDate.gte(since));
        }
        if let Some(until) = until {
            select = select.filter(event::Column::TriggerDate.lt(until));
        }
        let rows: Vec<(String, i64)> = select.into_tuple().all(&self.db).await?;
        for (severity, n) in rows {
            *out.entry(severity).or_default() += to_u64(Some(n));
        }
        Ok(())
    }

    /// The exact number of violations matching `filter`, from the counters, or `None` when they
    /// cannot answer it (`event_id`: an event has a handful of violations, counted directly).
    /// Shadow violations are not in the counters: a list that asks for them counts rows.
    pub(crate) async fn counted_violations(&self, filter: &ViolationFilter) -> Result<Option<u64>> {
        let shadow = filter.shadow.unwrap_or_default();
        if filter.event_id.is_some() || shadow != sentinel_api::ShadowFilter::Exclude {
            return Ok(None);
        }
        let mut select = violation_count::Entity::find()
            .select_only()
            .column_as(Expr::cust("CAST(SUM(violations) AS BIGINT)"), "n");
        if let Some(v) = filter.status {
            select = select.filter(violation_count::Column::Status.eq(v.as_str()));
        }
        if let Some(v) = filter.severity {
            select = select.filter(violation_count::Column::Severity.eq(v.as_str()));
        }
        if let Some(v) = filter.policy_id {
            select = select.filter(violation_count::Column::PolicyId.eq(v));
        }
        if let Some(v) = filter.violation_type {
            select = select.filter(violation_count::Column::ViolationType.eq(v.as_str()));
        }
        let n: Option<Option<i64>> = select.into_tuple().one(&self.db).await?;
        Ok(Some(to_u64(n.flatten())))
    }

    /// Violations whose status is one of `statuses` and, when given, whose severity is `severity`.
    pub(crate) async fn counted_violations_in(
        &self,
        statuses: Option<&[&str]>,
        severity: Option<&str>,
    ) -> Result<u64> {
        let mut select = violation_count::Entity::find()
            .select_only()
            .column_as(Expr::cust("CAST(SUM(violations) AS BIGINT)"), "n");
        if let Some(statuses) = statuses {
            select = select.filter(violation_count::Column::Status.is_in(statuses.iter().copied()));
        }
        if let Some(severity) = severity {
            select = select.filter(violation_count::Column::Severity.eq(severity));
        }
        let n: Option<Option<i64>> = select.into_tuple().one(&self.db).await?;
        Ok(to_u64(n.flatten()))
    }

    /// Violations per type, for the types that have any.
    pub(crate) async fn counted_violations_by_type(&self) -> Result<Vec<(String, u64)>> {
        use sea_orm::QueryOrder;
        let rows: Vec<(String, Option<i64>)> = violation_count::Entity::find()
            .select_only()
            .column(violation_count::Column::ViolationType)
            .column_as(Expr::cust("CAST(SUM(violations) AS BIGINT)"), "n")
            .group_by(violation_count::Column::ViolationType)
            .order_by_asc(violation_count::Column::ViolationType)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(t, n)| (t, to_u64(n)))
            .filter(|(_, n)| *n > 0)
            .collect())
    }

    /// Every maintained counter (daily rollups, event counts, event hours, violation counts)
    /// that differs from a fresh count of the rows, one line each; empty when all agree. Reads
    /// every event and violation: meant for tests and audits, not for request paths.
    pub async fn counter_drift(&self) -> Result<Vec<String>> {
        #[derive(FromQueryResult)]
        struct Keyed {
            k: String,
            n: i64,
        }
        let backend = self.db.get_database_backend();
        let query = |sql: &str| Statement::from_string(backend, sql.to_owned());
        let hour = match self.backend() {
            Backend::Sqlite => {
                "((CAST(strftime('%s', trigger_date) AS INTEGER) \
                 - ((CAST(strftime('%s', trigger_date) AS INTEGER) % 3600) + 3600) % 3600) / 3600)"
            }
            Backend::Postgres => "CAST(FLOOR(EXTRACT(EPOCH FROM trigger_date) / 3600) AS BIGINT)",
        };
        // (what, counted from the rows, maintained) as text keys → counts.
        let mut pairs = vec![
            (
                "event_counts",
                "SELECT status || '|' || severity || '|' || event_type || '|' \
                 || COALESCE(CAST(policy_id AS TEXT), '') || '|' || COALESCE('=' || source, '') AS k, \
                 COUNT(*) AS n FROM events \
                 GROUP BY status, severity, event_type, policy_id, source"
                    .to_owned(),
                "SELECT dims AS k, events AS n FROM event_counts".to_owned(),
            ),
            (
                "event_hours",
                format!(
                    "SELECT CAST({hour} AS TEXT) || '|' || severity AS k, COUNT(*) AS n \
                     FROM events GROUP BY {hour}, severity"
                ),
                "SELECT CAST(hour AS TEXT) || '|' || severity AS k, events AS n FROM event_hours"
                    .to_owned(),
            ),
            (
                "event_rollups",
                "SELECT CAST(trigger_day AS TEXT) || '|' || severity AS k, COUNT(*) AS n \
                 FROM events GROUP BY trigger_day, severity"
                    .to_owned(),
                "SELECT CAST(day AS TEXT) || '|' || severity AS k, events AS n FROM event_rollups"
                    .to_owned(),
            ),
            (
                "event_rollups durations",
                "SELECT CAST(trigger_day AS TEXT) || '|' || severity AS k, COUNT(duration_ms) AS n \
                 FROM events GROUP BY trigger_day, severity"
                    .to_owned(),
                "SELECT CAST(day AS TEXT) || '|' || severity AS k, duration_count AS n \
                 FROM event_rollups"
                    .to_owned(),
            ),
            (
                "violation_counts",
                "SELECT status || '|' || severity || '|' || violation_type || '|' \
                 || CAST(policy_id AS TEXT) AS k, COUNT(*) AS n FROM violations \
                 WHERE NOT shadow GROUP BY status, severity, violation_type, policy_id"
                    .to_owned(),
                "SELECT status || '|' || severity || '|' || violation_type || '|' \
                 || CAST(policy_id AS TEXT) AS k, violations AS n FROM violation_counts"
                    .to_owned(),
            ),
        ];
        // The report rollups (migration 12): events and both token sums per bucket and dims.
        let db_backend = self.db.get_database_backend();
        let usage_tables = [
            (
                "usage_hours",
                "hour",
                bucket_sql(db_backend, "trigger_date", report_rollups::HOUR),
                usage_dims_sql(),
            ),
            (
                "usage_user_days",
                "day",
                bucket_sql(db_backend, "trigger_date", report_rollups::DAY),
                user_usage_dims_sql(),
            ),
        ];
        for (table, bucket, counted_bucket, dims) in usage_tables {
            for (column, counted) in [
                ("events", "COUNT(*)"),
                (
                    "request_tokens",
                    "CAST(COALESCE(SUM(request_tokens), 0) AS BIGINT)",
                ),
                (
                    "response_tokens",
                    "CAST(COALESCE(SUM(response_tokens), 0) AS BIGINT)",
                ),
            ] {
                pairs.push((
                    table,
                    format!(
                        "SELECT CAST({counted_bucket} AS TEXT) || '|' || ({dims}) AS k, \
                         {counted} AS n FROM events GROUP BY {counted_bucket}, {dims}"
                    ),
                    format!(
                        "SELECT CAST({bucket} AS TEXT) || '|' || dims AS k, {column} AS n \
                         FROM {table}"
                    ),
                ));
            }
        }
        let violation_day = bucket_sql(db_backend, "v.created_at", report_rollups::DAY);
        let violation_dims = violation_dims_sql();
        pairs.push((
            "violation_days",
            format!(
                "SELECT CAST({violation_day} AS TEXT) || '|' || ({violation_dims}) AS k, \
                 COUNT(*) AS n FROM violations v JOIN events e ON e.id = v.event_id \
                 GROUP BY {violation_day}, {violation_dims}"
            ),
            "SELECT CAST(day AS TEXT) || '|' || dims AS k, violations AS n FROM violation_days"
                .to_owned(),
        ));
        let mut drift = Vec::new();
        for (what, counted, maintained) in pairs {
            let load = |sql: String| async move {
                let rows = Keyed::find_by_statement(query(&sql)).all(&self.db).await?;
                Ok::<_, crate::StoreError>(
                    rows.into_iter()
                        .filter(|r| r.n != 0)
                        .map(|r| (r.k, r.n))
                        .collect::<BTreeMap<_, _>>(),
                )
            };
            let counted = load(counted).await?;
            let maintained = load(maintained).await?;
            let keys: BTreeSet<&String> = counted.keys().chain(maintained.keys()).collect();
            for k in keys {
                let (c, m) = (
                    counted.get(k).copied().unwrap_or(0),
                    maintained.get(k).copied().unwrap_or(0),
                );
                if c != m {
                    drift.push(format!("{what} [{k}]: {m} maintained, {c} counted"));
                }
            }
        }
        // The grand totals once more through the read paths the API uses.
        let total_events = event::Entity::find().count(&self.db).await?;
        let counted = self
            .counted_events(&EventFilter::default())
            .await?
            .unwrap_or(0);
        if counted != total_events {
            drift.push(format!(
                "events total: {counted} maintained, {total_events} counted"
            ));
        }
        let total_violations = violation::Entity::find()
            .filter(violation::Column::Shadow.eq(false))
            .count(&self.db)
            .await?;
        let counted = self
            .counted_violations(&ViolationFilter::default())
            .await?
            .unwrap_or(0);
        if counted != total_violations {
            drift.push(format!(
                "violations total: {counted} maintained, {total_violations} counted"
            ));
        }
        Ok(drift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_tell_missing_values_from_present_ones() {
        assert_eq!(
            event_key("open", "low", "llm_request", None, None),
            "open|low|llm_request||"
        );
        assert_eq!(
            event_key("open", "low", "llm_request", Some(3), Some("")),
            "open|low|llm_request|3|="
        );
        assert_ne!(
            event_key("open", "low", "llm_request", None, Some("")),
            event_key("open", "low", "llm_request", None, None)
        );
    }

    #[test]
    fn hours_round_down_and_up() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(hour_of(at("1970-01-01T00:59:59.999Z")), 0);
        assert_eq!(hour_of(at("1969-12-31T23:59:59.5Z")), -1);
        assert_eq!(hour_ceil(at("1970-01-01T01:00:00Z")), 1);
        assert_eq!(hour_ceil(at("1970-01-01T01:00:00.001Z")), 2);
        assert_eq!(hour_start(2), at("1970-01-01T02:00:00Z"));
    }
}
