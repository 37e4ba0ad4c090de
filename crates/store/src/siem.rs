//! The SIEM sinks' side of the outbox: a persisted cursor per sink, the read that follows it,
//! and the pruning of rows every reader is done with.
//!
//! A sink reads the outbox in commit order from its cursor and moves the cursor after each
//! successful send ([`Store::advance_siem_cursor`]), so a restart resumes where it stopped: at
//! least once, in order. On SQLite one writer at a time means id order is commit order. On
//! PostgreSQL ids can commit out of order, so a sink reads in `(txid, id)` order and only rows
//! whose transaction is older than every transaction still running
//! (`txid < pg_snapshot_xmin(pg_current_snapshot())`): a row committed late always sorts after
//! the cursor and is never skipped.
//!
//! One node sends for a sink at a time: the cursor row carries a lease (`lease_owner`,
//! `lease_until`). [`Store::take_siem_lease`] takes it when it is free, expired or already the
//! caller's (and renews it then); [`Store::advance_siem_cursor`] moves the cursor only while the
//! caller still holds it, in the same `UPDATE`, so a node that lost its lease can never move the
//! cursor of the node that took over; [`Store::release_siem_lease`] hands it back on a clean stop.
//! The lease is a time, so the nodes' clocks must agree to well within a lease period.
//!
//! Decisions (one message per stored event) reach the outbox only while a sink subscribes to
//! them ([`Store::set_outbox_decisions`]), so ingestion without such a sink writes nothing more.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Set,
    Statement,
};

use crate::entity::siem_cursor;
use crate::{Backend, Result, Store};

/// A position in the outbox: every message at or before it is delivered. `(0, 0)` is before the
/// first message. `txid` is 0 on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct OutboxPosition {
    pub txid: i64,
    pub id: i64,
}

/// An outbox message as a sink reads it.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct SiemMessage {
    pub id: i64,
    /// The writing transaction (PostgreSQL); 0 on SQLite.
    pub txid: i64,
    /// `new_violation`, `violation_updated`, `policy_changed`, `audit`, `test` or `decision`.
    pub message_type: String,
    /// JSON text.
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub severity: Option<String>,
}

impl SiemMessage {
    pub fn position(&self) -> OutboxPosition {
        OutboxPosition {
            txid: self.txid,
            id: self.id,
        }
    }
}

/// A sink's cursor and how many messages it has delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiemCursor {
    pub position: OutboxPosition,
    pub sent: u64,
}

/// Which node sends for a sink, and until when (it renews the lease well before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiemLease {
    pub owner: String,
    pub until: DateTime<Utc>,
}

impl Store {
    /// Whether stored events also write a `decision` message to the outbox (in their
    /// transaction). The server turns it on when a configured sink subscribes to decisions.
    pub fn set_outbox_decisions(&self, on: bool) {
        self.decisions.store(on, Ordering::Relaxed);
    }

    pub(crate) fn outbox_decisions(&self) -> bool {
        self.decisions.load(Ordering::Relaxed)
    }

    /// The cursor of `sink`, created before the first message if the sink never ran.
    pub async fn siem_cursor(&self, sink: &str) -> Result<SiemCursor> {
        if let Some(row) = siem_cursor::Entity::find_by_id(sink.to_owned())
            .one(&self.db)
            .await?
        {
            return Ok(cursor(&row));
        }
        let row = siem_cursor::ActiveModel {
            sink: Set(sink.to_owned()),
            txid: Set(None),
            outbox_id: Set(0),
            sent: Set(0),
            updated_at: Set(Utc::now()),
            lease_owner: Set(None),
            lease_until: Set(None),
        };
        // Two nodes may create it at once: the second insert does nothing.
        siem_cursor::Entity::insert(row)
            .on_conflict(
                OnConflict::column(siem_cursor::Column::Sink)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let row = siem_cursor::Entity::find_by_id(sink.to_owned())
            .one(&self.db)
            .await?;
        Ok(row.as_ref().map(cursor).unwrap_or(SiemCursor {
            position: OutboxPosition::default(),
            sent: 0,
        }))
    }

    /// The lease of `sink`: who holds it (it may have expired), if anyone.
    pub async fn siem_lease(&self, sink: &str) -> Result<Option<SiemLease>> {
        let row = siem_cursor::Entity::find_by_id(sink.to_owned())
            .one(&self.db)
            .await?;
        Ok(row.and_then(|r| {
            Some(SiemLease {
                owner: r.lease_owner?,
                until: r.lease_until?,
            })
        }))
    }

    /// Takes the lease of `sink` for `owner` until `until` when it is free, expired or already
    /// `owner`'s (then it is a renewal), and answers the cursor as it is now (a previous holder
    /// may have moved it); `None` while another node holds it. A read comes first, so a node
    /// waiting for a held lease writes nothing (and takes no SQLite write lock).
    pub async fn take_siem_lease(
        &self,
        sink: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<Option<SiemCursor>> {
        use siem_cursor::Column as C;
        let now = Utc::now();
        let row = siem_cursor::Entity::find_by_id(sink.to_owned())
            .one(&self.db)
            .await?;
        let held_by_another = |r: &siem_cursor::Model| {
            r.lease_owner.as_deref().is_some_and(|o| o != owner)
                && r.lease_until.is_some_and(|u| u >= now)
        };
        match &row {
            Some(r) if held_by_another(r) => return Ok(None),
            Some(_) => {}
            None => {
                // Creates it; two nodes may at once, and the second insert does nothing.
                self.siem_cursor(sink).await?;
            }
        }
        // The row itself decides: of two nodes taking an expired lease at once, one updates it
        // and the other then finds it held (PostgreSQL re-reads the row after the first commits).
        let free = Condition::any()
            .add(C::LeaseOwner.is_null())
            .add(C::LeaseOwner.eq(owner))
            .add(C::LeaseUntil.is_null())
            .add(C::LeaseUntil.lt(now));
        let _turn = self.write_turn().await;
        let taken = siem_cursor::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(owner))
            .col_expr(C::LeaseUntil, Expr::value(until))
            .filter(C::Sink.eq(sink))
            .filter(free)
            .exec_with_returning(&self.db)
            .await?;
        Ok(taken.first().map(cursor))
    }

    /// Gives the lease of `sink` back, if `owner` still holds it, so another node can take over
    /// at once (a clean stop; a crash leaves it to expire).
    pub async fn release_siem_lease(&self, sink: &str, owner: &str) -> Result<()> {
        use siem_cursor::Column as C;
        let _turn = self.write_turn().await;
        siem_cursor::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(C::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(C::Sink.eq(sink))
            .filter(C::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Moves `sink`'s cursor to `to` (just delivered), adds `sent` to its count and extends the
    /// lease to `until`, all in one `UPDATE` that only matches while `owner` holds the lease.
    /// Returns false, moving nothing, when the lease was lost (another node took it over: it
    /// resumes from the cursor as it was, so the batch may arrive twice, never be skipped).
    pub async fn advance_siem_cursor(
        &self,
        sink: &str,
        owner: &str,
        to: OutboxPosition,
        sent: u64,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        use siem_cursor::Column as C;
        let txid = (self.backend() == Backend::Postgres).then_some(to.txid);
        let _turn = self.write_turn().await;
        let result = siem_cursor::Entity::update_many()
            .col_expr(C::Txid, Expr::value(txid))
            .col_expr(C::OutboxId, Expr::value(to.id))
            .col_expr(
                C::Sent,
                Expr::col(C::Sent).add(i64::try_from(sent).unwrap_or(i64::MAX)),
            )
            .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
            .col_expr(C::LeaseUntil, Expr::value(until))
            .filter(C::Sink.eq(sink))
            .filter(C::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Up to `limit` committed messages after `after`, in commit order.
    pub async fn siem_messages(
        &self,
        after: OutboxPosition,
        limit: u64,
    ) -> Result<Vec<SiemMessage>> {
        let statement = match self.backend() {
            Backend::Postgres => Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT id, txid, message_type, payload, created_at, severity FROM outbox \
                 WHERE (txid, id) > ($1, $2) \
                 AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                 ORDER BY txid, id LIMIT $3",
                [after.txid.into(), after.id.into(), clamp(limit).into()],
            ),
            Backend::Sqlite => Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Sqlite,
                "SELECT id, 0 AS txid, message_type, payload, created_at, severity FROM outbox \
                 WHERE id > ? ORDER BY id LIMIT ?",
                [after.id.into(), clamp(limit).into()],
            ),
        };
        Ok(SiemMessage::find_by_statement(statement)
            .all(&self.db)
            .await?)
    }

    /// Committed messages after `after` that `sink` has not delivered yet (its lag).
    pub async fn siem_lag(&self, after: OutboxPosition) -> Result<u64> {
        #[derive(FromQueryResult)]
        struct Count {
            n: i64,
        }
        let statement = match self.backend() {
            Backend::Postgres => Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT COUNT(*) AS n FROM outbox WHERE (txid, id) > ($1, $2)",
                [after.txid.into(), after.id.into()],
            ),
            Backend::Sqlite => Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Sqlite,
                "SELECT COUNT(*) AS n FROM outbox WHERE id > ?",
                [after.id.into()],
            ),
        };
        let n = Count::find_by_statement(statement)
            .one(&self.db)
            .await?
            .map_or(0, |c| c.n);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes up to `limit` outbox messages that every reader is done with: fanned out by the
    /// webhook worker, without a pending or failed webhook delivery, passed by the cursor of every
    /// sink in `sinks`, and created before `before` (so a recent message can still be redelivered
    /// by hand). Returns how many went; call again while it returns `limit`.
    pub async fn prune_outbox(
        &self,
        sinks: &[String],
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64> {
        let mut slowest: Option<OutboxPosition> = None;
        for sink in sinks {
            let c = self.siem_cursor(sink).await?.position;
            slowest = Some(slowest.map_or(c, |s| s.min(c)));
        }
        // Integers read from our own rows, never user input: safe to write into the SQL.
        let passed = match (self.backend(), slowest) {
            (_, None) => String::new(),
            (Backend::Postgres, Some(p)) => format!("AND (o.txid, o.id) <= ({}, {})", p.txid, p.id),
            (Backend::Sqlite, Some(p)) => format!("AND o.id <= {}", p.id),
        };
        let sql = format!(
            "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o \
             WHERE o.dispatched = {yes} AND o.created_at < {at} {passed} \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = o.id \
             AND d.status IN ('pending', 'failed')) \
             ORDER BY o.id LIMIT {limit})",
            yes = "TRUE",
            at = match self.backend() {
                Backend::Postgres => "$1",
                Backend::Sqlite => "?",
            },
            limit = clamp(limit),
        );
        let db = match self.backend() {
            Backend::Postgres => sea_orm::DatabaseBackend::Postgres,
            Backend::Sqlite => sea_orm::DatabaseBackend::Sqlite,
        };
        let _turn = self.write_turn().await;
        let result = self
            .db
            .execute_raw(Statement::from_sql_and_values(db, sql, [before.into()]))
            .await?;
        Ok(result.rows_affected())
    }

    /// Messages in the outbox, for the tests and the metrics.
    pub async fn outbox_len(&self) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(crate::entity::outbox::Entity::find()
            .count(&self.db)
            .await?)
    }
}

fn clamp(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn cursor(row: &siem_cursor::Model) -> SiemCursor {
    SiemCursor {
        position: OutboxPosition {
            txid: row.txid.unwrap_or(0),
            id: row.outbox_id,
        },
        sent: u64::try_from(row.sent).unwrap_or(0),
    }
}
