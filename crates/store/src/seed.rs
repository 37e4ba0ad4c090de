//! Bulk loading for demo data and benchmarks: many events per statement, batched transactions.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set, TransactionTrait};
use sentinel_api::ViolationStatus;

use crate::counters::{Counters, EventDims};
use crate::entity::{event, violation};
use crate::report_rollups::{Param, ViolationRollupDims};
use crate::{Backend, NewEvent, NewViolation, Result, Store, StoreError};

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

/// Rows per INSERT: 25 columns × 1,200 rows stays under SQLite's 32,766 bound parameters
/// (and PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: usize = 1200;

/// The counters' view of an event about to be loaded.
fn new_event_dims(e: &NewEvent) -> EventDims<'_> {
    EventDims {
        status: e.status.as_str(),
        severity: e.severity.as_str(),
        event_type: e.event_type.as_str(),
        policy_id: e.policy_id,
        source: e.source.as_deref(),
        trigger_date: e.trigger_date.0,
        duration_ms: e.duration_ms,
        model_name: e.model_name.as_deref(),
        user_id: e.user_id,
        blocked: e.decision == Some(sentinel_api::Decision::Block),
        request_tokens: e.request_tokens,
        response_tokens: e.response_tokens,
    }
}

/// The report rollups' view of a violation about to be loaded with its event (loaded
/// violations are created when their event triggered, with no reviewer).
fn new_violation_dims<'a>(e: &'a NewEvent, v: &'a SeedViolation) -> ViolationRollupDims<'a> {
    ViolationRollupDims {
        created_at: e.trigger_date.0,
        violation_type: v.violation.violation_type.as_str(),
        severity: v.violation.severity.as_str(),
        status: v.status.as_str(),
        policy_id: v.violation.policy_id,
        shadow: v.violation.shadow,
        reviewed: false,
        source: e.source.as_deref(),
        model_name: e.model_name.as_deref(),
    }
}

impl Store {
    /// Inserts a batch of historical events in one transaction, with explicit ids so that their
    /// violations can be linked without reading ids back row by row.
    pub async fn seed_events(&self, batch: Vec<SeedEvent>) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        if self.backend() == Backend::Sqlite {
            return self.seed_events_sqlite(batch).await;
        }
        let txn = self.db.begin().await?;
        let max: Option<Option<i64>> = event::Entity::find()
            .select_only()
            .column_as(Expr::col(event::Column::Id).max(), "max")
            .into_tuple()
            .one(&txn)
            .await?;
        let first_id = max.flatten().unwrap_or(0) + 1;
        let count = batch.len() as u64;
        let mut counters = Counters::default();
        let mut events = Vec::with_capacity(batch.len());
        let mut violations = Vec::new();
        for (id, item) in (first_id..).zip(batch) {
            let at = item.event.trigger_date.0;
            counters.event(new_event_dims(&item.event), 1);
            for v in &item.violations {
                counters.violation_rollup(new_violation_dims(&item.event, v), 1);
            }
            let mut row = item.event.into_active(at)?;
            row.id = Set(id);
            events.push(row);
            for v in item.violations {
                if !v.violation.shadow {
                    counters.violations(
                        v.status.as_str(),
                        v.violation.severity.as_str(),
                        v.violation.violation_type.as_str(),
                        v.violation.policy_id,
                        1,
                    );
                }
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
        while !violations.is_empty() {
            let rest = violations.split_off(violations.len().min(ROWS_PER_STATEMENT));
            violation::Entity::insert_many(std::mem::replace(&mut violations, rest))
                .exec(&txn)
                .await?;
        }
        counters.apply(&txn).await?;
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

    /// SQLite fast path of [`Store::seed_events`]: plain `sqlx` multi-row inserts on one
    /// connection tuned for a bulk load. Building each statement through the ORM cost as much as
    /// SQLite's own work; this path is what lets `sentinel seed` load 50,000+ events per second.
    /// The column lists mirror the entities in `entity/event.rs` and `entity/violation.rs`.
    async fn seed_events_sqlite(&self, batch: Vec<SeedEvent>) -> Result<u64> {
        use sea_orm::sqlx::{self, Connection, QueryBuilder, Sqlite};

        let db_err = |e: sqlx::Error| StoreError::Database(sea_orm::DbErr::Custom(e.to_string()));
        let mut conn = self
            .db
            .get_sqlite_connection_pool()
            .acquire()
            .await
            .map_err(db_err)?;
        // A large page cache keeps the index b-trees of the load in memory, and checkpoints come
        // less often, so hot index pages are copied once rather than once per batch.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        sqlx::query("PRAGMA wal_autocheckpoint = 16384")
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        // A bulk load is replayable: skip the fsyncs of its checkpoints, and restore the
        // durability setting before the connection goes back to the pool.
        sqlx::query("PRAGMA synchronous = OFF")
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        let loaded = async {
            // IMMEDIATE: the load reads the last id and then writes. A deferred transaction would
            // fail with SQLITE_BUSY_SNAPSHOT (517) when another connection (the event writer, the
            // webhook worker) commits between the read and the first write; this one waits for
            // the write lock first.
            let mut tx = conn
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(db_err)?;
            let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            let count = batch.len() as u64;
            let mut counters = Counters::default();
            let mut events = Vec::with_capacity(batch.len());
            let mut violations = Vec::new();
            for (id, item) in (max + 1..).zip(batch) {
                let e = item.event;
                counters.event(new_event_dims(&e), 1);
                let metadata = e
                    .metadata
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()
                    .map_err(|err| StoreError::Corrupt {
                        column: "events.metadata",
                        value: err.to_string(),
                    })?;
                for v in &item.violations {
                    counters.violation_rollup(new_violation_dims(&e, v), 1);
                }
                for v in item.violations {
                    if !v.violation.shadow {
                        counters.violations(
                            v.status.as_str(),
                            v.violation.severity.as_str(),
                            v.violation.violation_type.as_str(),
                            v.violation.policy_id,
                            1,
                        );
                    }
                    let findings = serde_json::to_string(&v.violation.findings).map_err(|err| {
                        StoreError::Corrupt {
                            column: "violations.findings",
                            value: err.to_string(),
                        }
                    })?;
                    violations.push((id, e.trigger_date.0, v, findings));
                }
                events.push((id, e, metadata));
            }
            for chunk in events.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO events (id, event_id, event_type, severity, title, description, event_data, \
                     trigger_date, trigger_day, status, policy_id, user_id, created_at, source, model_name, \
                     prompt, completion, request_tokens, response_tokens, duration_ms, metadata, decision) ",
                );
                q.push_values(chunk, |mut row, (id, e, metadata)| {
                    row.push_bind(*id)
                        .push_bind(e.event_id.as_str())
                        .push_bind(e.event_type.as_str())
                        .push_bind(e.severity.as_str())
                        .push_bind(e.title.as_str())
                        .push_bind(e.description.as_deref())
                        .push_bind(e.event_data.as_deref())
                        .push_bind(e.trigger_date.0)
                        .push_bind(e.trigger_date.0.date_naive())
                        .push_bind(e.status.as_str())
                        .push_bind(e.policy_id)
                        .push_bind(e.user_id)
                        .push_bind(e.trigger_date.0)
                        .push_bind(e.source.as_deref())
                        .push_bind(e.model_name.as_deref())
                        .push_bind(e.prompt.as_deref())
                        .push_bind(e.completion.as_deref())
                        .push_bind(e.request_tokens)
                        .push_bind(e.response_tokens)
                        .push_bind(e.duration_ms)
                        .push_bind(metadata.as_deref())
                        .push_bind(e.decision.map(|d| d.as_str()));
                });
                q.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            for chunk in violations.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "INSERT INTO violations (violation_type, severity, status, title, description, details, \
                     confidence_score, event_id, policy_id, created_at, legal_advice_score, \
                     controversial_topics_score, code_prompt_score, safe_prompt_score, findings, \
                     policy_version, shadow) ",
                );
                q.push_values(chunk, |mut row, (event_id, at, v, findings)| {
                    let n = &v.violation;
                    row.push_bind(n.violation_type.as_str())
                        .push_bind(n.severity.as_str())
                        .push_bind(v.status.as_str())
                        .push_bind(n.title.as_deref())
                        .push_bind(n.description.as_deref())
                        .push_bind(n.details.as_deref())
                        .push_bind(n.confidence_score)
                        .push_bind(*event_id)
                        .push_bind(n.policy_id)
                        .push_bind(*at)
                        .push_bind(n.legal_advice_score)
                        .push_bind(n.controversial_topics_score)
                        .push_bind(n.code_prompt_score)
                        .push_bind(n.safe_prompt_score)
                        .push_bind(findings.as_str())
                        .push_bind(n.policy_version)
                        .push_bind(n.shadow);
                });
                q.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            // The counters, as `Counters::apply` writes them (same statements, bound by hand).
            let counters = counters.into_parts();
            for ((day, severity), (n, sum, with_duration)) in counters.rollups.into_rows() {
                sqlx::query(
                    "INSERT INTO event_rollups (day, severity, events, duration_sum, duration_count) \
                     VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, severity) DO UPDATE SET \
                     events = event_rollups.events + excluded.events, \
                     duration_sum = event_rollups.duration_sum + excluded.duration_sum, \
                     duration_count = event_rollups.duration_count + excluded.duration_count",
                )
                .bind(day)
                .bind(severity)
                .bind(n)
                .bind(sum)
                .bind(with_duration)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            for row in counters.events {
                sqlx::query(
                    "INSERT INTO event_counts (dims, status, severity, event_type, policy_id, source, events) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dims) DO UPDATE SET \
                     events = event_counts.events + excluded.events",
                )
                .bind(row.dims)
                .bind(row.status)
                .bind(row.severity)
                .bind(row.event_type)
                .bind(row.policy_id)
                .bind(row.source)
                .bind(row.events)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            for ((hour, severity), n) in counters.hours {
                sqlx::query(
                    "INSERT INTO event_hours (hour, severity, events) VALUES (?, ?, ?) \
                     ON CONFLICT (hour, severity) DO UPDATE SET \
                     events = event_hours.events + excluded.events",
                )
                .bind(hour)
                .bind(severity)
                .bind(n)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            for upsert in counters.report.into_upserts() {
                // Built by `into_upserts` from fixed table and column names; every value is bound.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(upsert.sql));
                for p in upsert.params {
                    q = match p {
                        Param::Int(v) => q.bind(v),
                        Param::OptInt(v) => q.bind(v),
                        Param::Small(v) => q.bind(v),
                        Param::Bool(v) => q.bind(v),
                        Param::Text(v) => q.bind(v),
                        Param::OptText(v) => q.bind(v),
                    };
                }
                q.execute(&mut *tx).await.map_err(db_err)?;
            }
            for ((status, severity, violation_type, policy_id), n) in counters.violations {
                sqlx::query(
                    "INSERT INTO violation_counts \
                     (status, severity, violation_type, policy_id, violations) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (status, severity, violation_type, policy_id) DO UPDATE SET \
                     violations = violation_counts.violations + excluded.violations",
                )
                .bind(status)
                .bind(severity)
                .bind(violation_type)
                .bind(policy_id)
                .bind(n)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok::<_, StoreError>(count)
        }
        .await;
        // Whatever happened, the connection must not go back to the pool without durability.
        if sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await
            .is_err()
        {
            conn.detach();
        }
        loaded
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
