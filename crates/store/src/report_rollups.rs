//! The report rollups of migration 12: `usage_hours`, `usage_user_days` and `violation_days`.
//!
//! They are maintained like the counters (see `counters.rs`): every write to events or
//! violations collects its changes in a [`ReportRollups`] (part of `Counters`) and applies them
//! in its own transaction, after the rows. The reports read whole buckets from them and count
//! only the partial buckets at the edges of a period from the rows, so a report over a million
//! events reads a few thousand rollup rows and at most two hours (two days for users and
//! violations) of rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Statement};

use crate::writes::Writes;

/// The bucket length of `usage_hours`, in seconds.
pub(crate) const HOUR: i64 = 3600;
/// The bucket length of `usage_user_days` and `violation_days`, in seconds.
pub(crate) const DAY: i64 = 86_400;

/// Upserted rows per statement: 12 parameters × 500 rows stays far under SQLite's bound.
const ROWS_PER_STATEMENT: usize = 500;

/// The bucket of an instant: `floor(unix seconds / secs)`.
pub(crate) fn bucket_of(at: DateTime<Utc>, secs: i64) -> i64 {
    at.timestamp().div_euclid(secs)
}

/// The first instant of a bucket.
pub(crate) fn bucket_start(bucket: i64, secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(bucket.saturating_mul(secs), 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `[since, until)` cut into the whole buckets `[first, last)` it covers and the partial
/// stretches at its edges, which are counted from the rows.
#[derive(Debug, PartialEq)]
pub(crate) struct Split {
    pub whole: Option<(i64, i64)>,
    pub edges: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

pub(crate) fn split(since: DateTime<Utc>, until: DateTime<Utc>, secs: i64) -> Split {
    if since >= until {
        return Split {
            whole: None,
            edges: Vec::new(),
        };
    }
    let floor = bucket_of(since, secs);
    let first = if bucket_start(floor, secs) == since {
        floor
    } else {
        floor + 1
    };
    let last = bucket_of(until, secs);
    if first >= last {
        return Split {
            whole: None,
            edges: vec![(since, until)],
        };
    }
    let mut edges = Vec::new();
    if since < bucket_start(first, secs) {
        edges.push((since, bucket_start(first, secs)));
    }
    if bucket_start(last, secs) < until {
        edges.push((bucket_start(last, secs), until));
    }
    Split {
        whole: Some((first, last)),
        edges,
    }
}

/// `floor(unix seconds of column / secs)` as the backend spells it (SQLite stores timestamps
/// as RFC 3339 text; the floor holds below 1970 too).
pub(crate) fn bucket_sql(backend: DbBackend, column: &str, secs: i64) -> String {
    match backend {
        DbBackend::Sqlite => format!(
            "((CAST(strftime('%s', {column}) AS INTEGER) \
             - ((CAST(strftime('%s', {column}) AS INTEGER) % {secs}) + {secs}) % {secs}) / {secs})"
        ),
        _ => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / {secs}) AS BIGINT)"),
    }
}

/// An optional text as a `dims` field: `-` when missing, else its length in characters, `:`
/// and the text, so that no value reads as another or as a missing one.
fn opt_text(value: Option<&str>) -> String {
    match value {
        None => "-".to_owned(),
        Some(s) => format!("{}:{s}", s.chars().count()),
    }
}

/// [`opt_text`] in SQL.
fn opt_text_sql(column: &str) -> String {
    format!("COALESCE(CAST(LENGTH({column}) AS TEXT) || ':' || {column}, '-')")
}

/// `1` when an `events` row was blocked, else `0`.
pub(crate) const BLOCKED_SQL: &str = "CASE WHEN decision = 'block' THEN 1 ELSE 0 END";

/// The `dims` text of a `usage_hours` row, from an `events` row.
pub(crate) fn usage_dims_sql() -> String {
    format!(
        "CAST({BLOCKED_SQL} AS TEXT) || '|' || {} || '|' || {}",
        opt_text_sql("source"),
        opt_text_sql("model_name")
    )
}

/// The `dims` text of a `usage_user_days` row, from an `events` row.
pub(crate) fn user_usage_dims_sql() -> String {
    format!(
        "CAST({BLOCKED_SQL} AS TEXT) || '|' || COALESCE(CAST(user_id AS TEXT), '-') || '|' || {}",
        opt_text_sql("model_name")
    )
}

/// The `dims` text of a `violation_days` row, from `violations v JOIN events e`.
pub(crate) fn violation_dims_sql() -> String {
    format!(
        "v.status || '|' || v.severity || '|' || v.violation_type || '|' \
         || CAST(v.policy_id AS TEXT) || '|' || CAST(CASE WHEN v.shadow THEN 1 ELSE 0 END AS TEXT) \
         || '|' || CAST(CASE WHEN v.acknowledged_by IS NULL THEN 0 ELSE 1 END AS TEXT) \
         || '|' || {} || '|' || {}",
        opt_text_sql("e.source"),
        opt_text_sql("e.model_name")
    )
}

/// What the usage rollups need to know about one event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UsageDims<'a> {
    pub trigger_date: DateTime<Utc>,
    pub source: Option<&'a str>,
    pub model_name: Option<&'a str>,
    pub user_id: Option<i64>,
    pub blocked: bool,
    pub request_tokens: Option<i64>,
    pub response_tokens: Option<i64>,
}

/// What `violation_days` needs to know about one violation (and its event).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViolationRollupDims<'a> {
    pub created_at: DateTime<Utc>,
    pub violation_type: &'a str,
    pub severity: &'a str,
    pub status: &'a str,
    pub policy_id: i64,
    pub shadow: bool,
    pub reviewed: bool,
    pub source: Option<&'a str>,
    pub model_name: Option<&'a str>,
}

impl<'a> ViolationRollupDims<'a> {
    /// A stored violation, with its event's application and model.
    pub(crate) fn of(
        v: &'a crate::entity::violation::Model,
        source: Option<&'a str>,
        model_name: Option<&'a str>,
    ) -> Self {
        Self {
            created_at: v.created_at,
            violation_type: &v.violation_type,
            severity: &v.severity,
            status: &v.status,
            policy_id: v.policy_id,
            shadow: v.shadow,
            reviewed: v.acknowledged_by.is_some(),
            source,
            model_name,
        }
    }

    fn dims(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            self.status,
            self.severity,
            self.violation_type,
            self.policy_id,
            u8::from(self.shadow),
            u8::from(self.reviewed),
            opt_text(self.source),
            opt_text(self.model_name)
        )
    }
}

/// One usage rollup row being accumulated: its descriptive columns and its sums.
#[derive(Debug, Clone)]
struct UsageAcc {
    /// `source` (usage_hours) or the user id as text (usage_user_days).
    who: Option<String>,
    user_id: Option<i64>,
    model_name: Option<String>,
    blocked: bool,
    events: i64,
    request_tokens: i64,
    response_tokens: i64,
}

#[derive(Debug, Clone)]
struct ViolationAcc {
    violation_type: String,
    severity: String,
    status: String,
    policy_id: i64,
    shadow: bool,
    reviewed: bool,
    source: Option<String>,
    model_name: Option<String>,
    violations: i64,
}

/// A value bound to an upsert: the same list feeds sea-orm and the SQLite bulk load's `sqlx`.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    OptInt(Option<i64>),
    Small(i32),
    Bool(bool),
    Text(String),
    OptText(Option<String>),
}

impl From<Param> for sea_orm::Value {
    fn from(p: Param) -> Self {
        match p {
            Param::Int(v) => v.into(),
            Param::OptInt(v) => v.into(),
            Param::Small(v) => v.into(),
            Param::Bool(v) => v.into(),
            Param::Text(v) => v.into(),
            Param::OptText(v) => v.into(),
        }
    }
}

/// One multi-row `INSERT … ON CONFLICT DO UPDATE` with `?` placeholders.
#[derive(Debug)]
pub(crate) struct Upsert {
    pub sql: String,
    pub params: Vec<Param>,
}

/// Pending changes to the report rollups, keyed by (bucket, dims) so that each statement
/// touches its rows in key order (the lock order every writer shares).
#[derive(Debug, Default)]
pub(crate) struct ReportRollups {
    usage: BTreeMap<(i64, String), UsageAcc>,
    user_usage: BTreeMap<(i64, String), UsageAcc>,
    violations: BTreeMap<(i64, String), ViolationAcc>,
}

impl ReportRollups {
    /// Counts an event in (`sign` 1) or a deleted one out (`sign` -1).
    pub(crate) fn event(&mut self, e: UsageDims<'_>, sign: i64) {
        let blocked = u8::from(e.blocked);
        let (req, resp) = (
            e.request_tokens.unwrap_or(0) * sign,
            e.response_tokens.unwrap_or(0) * sign,
        );
        let model = opt_text(e.model_name);
        let add = |map: &mut BTreeMap<(i64, String), UsageAcc>,
                   key: (i64, String),
                   who: fn(&UsageDims<'_>) -> (Option<String>, Option<i64>)| {
            let acc = map.entry(key).or_insert_with(|| {
                let (who, user_id) = who(&e);
                UsageAcc {
                    who,
                    user_id,
                    model_name: e.model_name.map(str::to_owned),
                    blocked: e.blocked,
                    events: 0,
                    request_tokens: 0,
                    response_tokens: 0,
                }
            });
            acc.events += sign;
            acc.request_tokens += req;
            acc.response_tokens += resp;
        };
        let hour = bucket_of(e.trigger_date, HOUR);
        let dims = format!("{blocked}|{}|{model}", opt_text(e.source));
        add(&mut self.usage, (hour, dims), |e| {
            (e.source.map(str::to_owned), None)
        });
        let day = bucket_of(e.trigger_date, DAY);
        let user = e.user_id.map_or_else(|| "-".to_owned(), |u| u.to_string());
        add(
            &mut self.user_usage,
            (day, format!("{blocked}|{user}|{model}")),
            |e| (None, e.user_id),
        );
    }

    /// Counts a violation in (`sign` 1) or out (`sign` -1).
    pub(crate) fn violation(&mut self, v: ViolationRollupDims<'_>, sign: i64) {
        let key = (bucket_of(v.created_at, DAY), v.dims());
        self.violations
            .entry(key)
            .or_insert_with(|| ViolationAcc {
                violation_type: v.violation_type.to_owned(),
                severity: v.severity.to_owned(),
                status: v.status.to_owned(),
                policy_id: v.policy_id,
                shadow: v.shadow,
                reviewed: v.reviewed,
                source: v.source.map(str::to_owned),
                model_name: v.model_name.map(str::to_owned),
                violations: 0,
            })
            .violations += sign;
    }

    /// A violation's triage moved it from `before` to `after` (same day, same event).
    pub(crate) fn violation_moved(
        &mut self,
        before: ViolationRollupDims<'_>,
        after: ViolationRollupDims<'_>,
    ) {
        if before.dims() != after.dims() {
            self.violation(before, -1);
            self.violation(after, 1);
        }
    }

    /// The statements that add these changes to the stored rollups, table by table, each in
    /// key order; changes that cancel out are left out.
    pub(crate) fn into_upserts(self) -> Vec<Upsert> {
        let mut out = Vec::new();
        let usage = |table: &str,
                     bucket: &str,
                     who: &str,
                     rows: BTreeMap<(i64, String), UsageAcc>| {
            let rows: Vec<_> = rows
                .into_iter()
                .filter(|(_, a)| a.events != 0 || a.request_tokens != 0 || a.response_tokens != 0)
                .collect();
            let mut out = Vec::new();
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut params = Vec::with_capacity(chunk.len() * 8);
                for ((b, dims), a) in chunk {
                    params.push(Param::Int(*b));
                    params.push(Param::Text(dims.clone()));
                    if who == "source" {
                        params.push(Param::OptText(a.who.clone()));
                    } else {
                        params.push(Param::OptInt(a.user_id));
                    }
                    params.push(Param::OptText(a.model_name.clone()));
                    params.push(Param::Small(i32::from(a.blocked)));
                    params.push(Param::Int(a.events));
                    params.push(Param::Int(a.request_tokens));
                    params.push(Param::Int(a.response_tokens));
                }
                let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
                out.push(Upsert {
                    sql: format!(
                        "INSERT INTO {table} ({bucket}, dims, {who}, model_name, blocked, events, \
                         request_tokens, response_tokens) VALUES {values} \
                         ON CONFLICT ({bucket}, dims) DO UPDATE SET \
                         events = {table}.events + excluded.events, \
                         request_tokens = {table}.request_tokens + excluded.request_tokens, \
                         response_tokens = {table}.response_tokens + excluded.response_tokens"
                    ),
                    params,
                });
            }
            out
        };
        out.extend(usage("usage_hours", "hour", "source", self.usage));
        out.extend(usage("usage_user_days", "day", "user_id", self.user_usage));
        let rows: Vec<_> = self
            .violations
            .into_iter()
            .filter(|(_, a)| a.violations != 0)
            .collect();
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut params = Vec::with_capacity(chunk.len() * 11);
            for ((day, dims), a) in chunk {
                params.push(Param::Int(*day));
                params.push(Param::Text(dims.clone()));
                params.push(Param::Text(a.violation_type.clone()));
                params.push(Param::Text(a.severity.clone()));
                params.push(Param::Text(a.status.clone()));
                params.push(Param::Int(a.policy_id));
                params.push(Param::Bool(a.shadow));
                params.push(Param::Small(i32::from(a.reviewed)));
                params.push(Param::OptText(a.source.clone()));
                params.push(Param::OptText(a.model_name.clone()));
                params.push(Param::Int(a.violations));
            }
            let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            out.push(Upsert {
                sql: format!(
                    "INSERT INTO violation_days (day, dims, violation_type, severity, status, \
                     policy_id, shadow, reviewed, source, model_name, violations) VALUES {values} \
                     ON CONFLICT (day, dims) DO UPDATE SET \
                     violations = violation_days.violations + excluded.violations"
                ),
                params,
            });
        }
        out
    }

    /// Adds the changes to the stored rollups: their upserts, added to `writes` (the caller's
    /// transaction runs them).
    pub(crate) fn stage(self, writes: &mut Writes) {
        let backend = writes.backend();
        for u in self.into_upserts() {
            writes.push(statement(
                backend,
                &u.sql,
                u.params.into_iter().map(Into::into).collect(),
            ));
        }
    }
}

/// A statement with `?` placeholders as the backend spells them (`$1`, `$2`, … on PostgreSQL).
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_period_splits_into_whole_buckets_and_partial_edges() {
        let s = split(at("2026-12-01T10:30:00Z"), at("2026-12-01T13:15:00Z"), HOUR);
        assert_eq!(
            s.whole,
            Some((
                bucket_of(at("2026-12-01T11:00:00Z"), HOUR),
                bucket_of(at("2026-12-01T13:00:00Z"), HOUR)
            ))
        );
        assert_eq!(
            s.edges,
            vec![
                (at("2026-12-01T10:30:00Z"), at("2026-12-01T11:00:00Z")),
                (at("2026-12-01T13:00:00Z"), at("2026-12-01T13:15:00Z")),
            ]
        );
        // Aligned ends leave no edge; a period inside one bucket is all edge; an empty one is
        // nothing.
        let s = split(at("2026-12-01T00:00:00Z"), at("2026-12-03T00:00:00Z"), DAY);
        assert_eq!(s.edges, vec![]);
        assert_eq!(s.whole.map(|(a, b)| b - a), Some(2));
        let s = split(at("2026-12-01T10:10:00Z"), at("2026-12-01T10:20:00Z"), HOUR);
        assert_eq!(s.whole, None);
        assert_eq!(s.edges.len(), 1);
        let s = split(at("2026-12-01T10:10:00Z"), at("2026-12-01T11:20:00Z"), HOUR);
        assert_eq!(s.whole, None, "no whole hour between 10:10 and 11:20");
        assert_eq!(
            s.edges,
            vec![(at("2026-12-01T10:10:00Z"), at("2026-12-01T11:20:00Z"))]
        );
        assert_eq!(
            split(at("2026-12-01T10:00:00Z"), at("2026-12-01T10:00:00Z"), HOUR),
            Split {
                whole: None,
                edges: vec![]
            }
        );
        // Before 1970 the buckets still round down.
        assert_eq!(bucket_of(at("1969-12-31T23:59:59Z"), DAY), -1);
    }

    #[test]
    fn dims_tell_missing_values_from_present_ones() {
        assert_eq!(opt_text(None), "-");
        assert_eq!(opt_text(Some("-")), "1:-");
        assert_eq!(opt_text(Some("")), "0:");
        assert_eq!(opt_text(Some("ü|x")), "3:ü|x");
    }
}
