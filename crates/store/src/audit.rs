//! The tamper-evident audit trail.
//!
//! Every entry stores `hash = SHA-256(prev_hash ‖ canonical entry)` (hex), where the canonical
//! entry is the JSON array of its fields in a fixed order (see [`canonical`]); the first entry's
//! `prev_hash` is [`GENESIS`]. The `audit_head` row keeps the last sequence number and hash, so a
//! truncated tail is caught too.
//!
//! Audited writes go through [`begin`], which takes the write lock before anything is read: on
//! SQLite the database's single writer lock (`BEGIN IMMEDIATE`, [`begin_write`]), on PostgreSQL
//! the head row's lock (a write that changes nothing, [`take_write_lock`]), which serialises
//! audited transactions across every node. The mutation and its entry then commit or roll back
//! together, so the trail and the data never disagree.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use sentinel_api::Timestamp;
use sentinel_api::audit::{AuditEntry, AuditFilter, AuditVerification};
use sentinel_api::page::{Page, PageParams};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::entity::{audit_head, audit_log};
use crate::{Result, Store, StoreError, convert};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who makes a change and from where. Every audited store method takes one.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// `user:<name>`, `key:<prefix>`, `cli:<os user>`, `system` or `anonymous`.
    pub actor: String,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

impl AuditContext {
    /// A change made by the system itself (bootstrap, retention), with no client.
    pub fn system() -> Self {
        Self {
            actor: "system".into(),
            ..Self::default()
        }
    }
}

/// What changed. `before` / `after` must never hold secrets (password hashes, key hashes).
#[derive(Debug, Clone)]
pub struct AuditChange {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl AuditChange {
    pub fn new(action: &'static str, target_type: &'static str) -> Self {
        Self {
            action,
            target_type,
            target_id: None,
            before: None,
            after: None,
        }
    }

    pub fn target(mut self, id: impl ToString) -> Self {
        self.target_id = Some(id.to_string());
        self
    }

    pub fn before(mut self, value: impl serde::Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: impl serde::Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

/// Opens a transaction that holds the audit write lock (see the module documentation).
pub(crate) async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        take_write_lock(&txn).await?;
    }
    Ok(txn)
}

/// Opens a transaction that, on SQLite, holds the database's write lock from its start
/// (`BEGIN IMMEDIATE`; on PostgreSQL a plain `BEGIN`). A transaction that reads before its first
/// write needs it on SQLite: a deferred transaction that read fails with SQLITE_BUSY_SNAPSHOT
/// (517) when another connection commits between its read and its first write, while one that
/// holds the lock makes the others wait their busy timeout. Taking it with `BEGIN` itself costs
/// no statement of its own.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    Ok(db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?)
}

/// PostgreSQL: takes the audit head row's lock now, with a write that changes nothing, so that
/// audited transactions on every node append one after another.
async fn take_write_lock<C: ConnectionTrait>(txn: &C) -> Result<()> {
    audit_head::Entity::update_many()
        .col_expr(
            audit_head::Column::Seq,
            sea_orm::sea_query::Expr::col(audit_head::Column::Seq),
        )
        .filter(audit_head::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(())
}

/// Appends an entry inside a transaction opened by [`begin`]; returns its sequence number.
pub(crate) async fn append(
    txn: &DatabaseTransaction,
    ctx: &AuditContext,
    change: AuditChange,
) -> Result<i64> {
    let head = audit_head::Entity::find_by_id(1)
        .one(txn)
        .await?
        .ok_or(StoreError::Corrupt {
            column: "audit_head",
            value: "missing".into(),
        })?;
    let model = audit_log::Model {
        id: head.seq + 1,
        created_at: Timestamp::now().0,
        actor: ctx.actor.clone(),
        action: change.action.to_owned(),
        target_type: change.target_type.to_owned(),
        target_id: change.target_id,
        before: change.before.as_ref().map(canonical_json),
        after: change.after.as_ref().map(canonical_json),
        client_addr: ctx.client_addr.clone(),
        request_id: ctx.request_id.clone(),
        prev_hash: head.hash,
        hash: String::new(),
    };
    let hash = chain_hash(&model);
    let seq = model.id;
    let message = crate::outbox::OutboxMessage {
        message_type: sentinel_api::webhook::MessageType::Audit,
        payload: serde_json::json!({
            "id": model.id,
            "created_at": convert::ts(model.created_at),
            "actor": model.actor,
            "action": model.action,
            "target_type": model.target_type,
            "target_id": model.target_id,
            "before": change.before,
            "after": change.after,
            "client_addr": model.client_addr,
            "request_id": model.request_id,
        }),
        severity: None,
        policy_id: None,
        app: None,
    };
    crate::outbox::push(txn, vec![message]).await?;
    audit_log::ActiveModel {
        hash: Set(hash.clone()),
        ..audit_log::ActiveModel::from(model)
    }
    .insert(txn)
    .await
    .map_err(StoreError::classify)?;
    audit_head::ActiveModel {
        id: Set(1),
        seq: Set(seq),
        hash: Set(hash),
    }
    .update(txn)
    .await?;
    Ok(seq)
}

/// SHA-256(prev_hash ‖ canonical entry), hex.
fn chain_hash(m: &audit_log::Model) -> String {
    let mut hasher = Sha256::new();
    hasher.update(m.prev_hash.as_bytes());
    hasher.update(canonical(m).as_bytes());
    format!("{:x}", hasher.finalize())
}

/// The canonical form of an entry: a JSON array of its fields in a fixed order, the time as
/// integer microseconds since the epoch, `before`/`after` as their stored canonical JSON text.
fn canonical(m: &audit_log::Model) -> String {
    Value::Array(vec![
        m.id.into(),
        m.created_at.timestamp_micros().into(),
        m.actor.as_str().into(),
        m.action.as_str().into(),
        m.target_type.as_str().into(),
        m.target_id.as_deref().into(),
        m.before.as_deref().into(),
        m.after.as_deref().into(),
        m.client_addr.as_deref().into(),
        m.request_id.as_deref().into(),
    ])
    .to_string()
}

/// JSON text with object keys sorted at every level, so the same value always hashes the same.
fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

pub(crate) fn entry(m: audit_log::Model) -> AuditEntry {
    let parse =
        |text: Option<String>| text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)));
    AuditEntry {
        id: m.id,
        created_at: convert::ts(m.created_at),
        actor: m.actor,
        action: m.action,
        target_type: m.target_type,
        target_id: m.target_id,
        before: parse(m.before),
        after: parse(m.after),
        client_addr: m.client_addr,
        request_id: m.request_id,
        prev_hash: m.prev_hash,
        hash: m.hash,
    }
}

/// The chain hash of an entry as the API and the exports write it, recomputed from its fields:
/// equal to its `hash` when the entry is as recorded (bundles are checked with it offline).
pub fn entry_hash(e: &AuditEntry) -> String {
    let model = audit_log::Model {
        id: e.id,
        created_at: e.created_at.0,
        actor: e.actor.clone(),
        action: e.action.clone(),
        target_type: e.target_type.clone(),
        target_id: e.target_id.clone(),
        // Stored text that was not JSON comes back as a JSON string of that text.
        before: e.before.as_ref().map(stored_form),
        after: e.after.as_ref().map(stored_form),
        client_addr: e.client_addr.clone(),
        request_id: e.request_id.clone(),
        prev_hash: e.prev_hash.clone(),
        hash: String::new(),
    };
    chain_hash(&model)
}

fn stored_form(value: &Value) -> String {
    match value {
        Value::String(text) if serde_json::from_str::<Value>(text).is_err() => text.clone(),
        other => canonical_json(other),
    }
}

/// Entries read per query while verifying or exporting.
const CHUNK: u64 = 1000;

impl Store {
    /// Appends one entry on its own (logins, logouts, retention runs).
    pub async fn record_audit(&self, ctx: &AuditContext, change: AuditChange) -> Result<i64> {
        let txn = begin(&self.db).await?;
        let seq = append(&txn, ctx, change).await?;
        txn.commit().await?;
        Ok(seq)
    }

    /// Newest first.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: PageParams,
    ) -> Result<Page<AuditEntry>> {
        let mut select = audit_log::Entity::find();
        if let Some(v) = &filter.actor {
            select = select.filter(audit_log::Column::Actor.eq(v.as_str()));
        }
        if let Some(v) = &filter.action {
            select = select.filter(audit_log::Column::Action.eq(v.as_str()));
        }
        if let Some(v) = &filter.target_type {
            select = select.filter(audit_log::Column::TargetType.eq(v.as_str()));
        }
        if let Some(v) = &filter.target_id {
            select = select.filter(audit_log::Column::TargetId.eq(v.as_str()));
        }
        if let Some(v) = filter.since {
            select = select.filter(audit_log::Column::CreatedAt.gte(v.0));
        }
        if let Some(v) = filter.until {
            select = select.filter(audit_log::Column::CreatedAt.lt(v.0));
        }
        let select = select.order_by_desc(audit_log::Column::Id);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        Ok(Page {
            items: rows.into_iter().map(entry).collect(),
            total,
        })
    }

    /// Calls `each` with every entry in chain order, reading in chunks.
    pub async fn export_audit(&self, mut each: impl FnMut(AuditEntry) -> Result<()>) -> Result<()> {
        let mut after = 0;
        loop {
            let rows = self.audit_chunk(after).await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.id;
            for row in rows {
                each(entry(row))?;
            }
        }
    }

    async fn audit_chunk(&self, after: i64) -> Result<Vec<audit_log::Model>> {
        Ok(audit_log::Entity::find()
            .filter(audit_log::Column::Id.gt(after))
            .order_by_asc(audit_log::Column::Id)
            .limit(CHUNK)
            .all(&self.db)
            .await?)
    }

    /// The stored hash of each of `ids` that exists.
    pub async fn audit_hashes(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<(i64, String)> = audit_log::Entity::find()
                .select_only()
                .column(audit_log::Column::Id)
                .column(audit_log::Column::Hash)
                .filter(audit_log::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(&self.db)
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Walks the whole chain: sequence without gaps, each `prev_hash` equal to the previous
    /// entry's hash, each hash recomputed, and the head row pointing at the last entry.
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let head = audit_head::Entity::find_by_id(1).one(&self.db).await?;
        let (head_id, head_hash) = head.map(|h| (h.seq, h.hash)).unwrap_or((-1, String::new()));
        let mut report = AuditVerification {
            intact: true,
            entries: 0,
            head_id,
            head_hash: head_hash.clone(),
            first_bad_id: None,
            reason: None,
        };
        let broken = |report: &mut AuditVerification, id: i64, reason: String| {
            report.intact = false;
            report.first_bad_id = Some(id);
            report.reason = Some(reason);
        };
        let (mut expected, mut prev) = (1_i64, GENESIS.to_owned());
        loop {
            let rows = self.audit_chunk(expected - 1).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                if row.id != expected {
                    broken(
                        &mut report,
                        expected,
                        format!("entry {expected} is missing (the next entry is {})", row.id),
                    );
                    return Ok(report);
                }
                if row.prev_hash != prev {
                    broken(
                        &mut report,
                        row.id,
                        format!("entry {} does not follow entry {}", row.id, row.id - 1),
                    );
                    return Ok(report);
                }
                if chain_hash(&row) != row.hash {
                    broken(
                        &mut report,
                        row.id,
                        format!(
                            "entry {} was altered (its hash does not match its contents)",
                            row.id
                        ),
                    );
                    return Ok(report);
                }
                report.entries += 1;
                expected += 1;
                prev = row.hash;
            }
        }
        let last = expected - 1;
        if head_id != last || head_hash != prev {
            broken(
                &mut report,
                last + 1,
                format!(
                    "the chain ends at entry {last} but its head records entry {head_id}: entries were removed from the end"
                ),
            );
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }
}
