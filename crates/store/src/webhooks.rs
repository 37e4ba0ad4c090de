//! Webhook endpoints, the fan-out of the outbox to them, and their deliveries.
//!
//! The delivery worker (in the server) calls [`Store::dispatch_outbox`] to turn undispatched
//! outbox rows into one `webhook_deliveries` row per matching enabled endpoint, then
//! [`Store::claim_deliveries`] per endpoint, sends, and reports attempts with
//! [`Store::finish_deliveries`]. A claim is a lease: one `UPDATE` marks due rows with a token
//! unique to that claim and an expiry, so two workers (two nodes on PostgreSQL, or two workers
//! on one SQLite file) never hold the same delivery at once; a worker that dies leaves rows
//! whose lease expires and another worker takes them (at least once, never lost).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::webhook::{
    DeliveryResponse, DeliveryStatus, MessageType, WebhookFormat, WebhookResponse,
};
use sentinel_api::{Severity, Timestamp};
use serde_json::Value;

use crate::audit::{self, AuditChange, AuditContext};
use crate::entity::{outbox, webhook, webhook_delivery};
use crate::error::Entity;
use crate::outbox::OutboxMessage;
use crate::{Result, Store, StoreError, convert};

/// Attempts recorded by one statement of [`Store::finish_deliveries`] (nine bound values each).
const FINISH_CHUNK: usize = 256;

/// The characters of an answer kept in the delivery log.
pub const EXCERPT_CHARS: usize = 1024;

/// An endpoint with its signing secrets: for the worker, never for the API.
#[derive(Clone)]
pub struct WebhookRecord {
    pub info: WebhookResponse,
    pub secret: String,
    /// Signs alongside `secret` until `info.previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    /// Since when it has failed without a success in between.
    pub failing_since: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl WebhookRecord {
    /// The secrets that sign a message sent at `now`: the current one, then the previous one
    /// while its overlap lasts.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.info.previous_secret_expires_at)
            && until.0 > now
        {
            secrets.push(previous.as_str());
        }
        secrets
    }

    /// Whether a message with these filter fields goes to this endpoint.
    pub fn wants(
        &self,
        message_type: MessageType,
        severity: Option<Severity>,
        policy_id: Option<i64>,
        app: Option<&str>,
    ) -> bool {
        let w = &self.info;
        let type_ok = if w.message_types.is_empty() {
            message_type != MessageType::Test
        } else {
            w.message_types.contains(&message_type)
        };
        let severity_ok = match (w.min_severity, severity) {
            (Some(min), Some(s)) => s >= min,
            _ => true,
        };
        let policy_ok =
            w.policy_ids.is_empty() || policy_id.is_none_or(|p| w.policy_ids.contains(&p));
        let app_ok = w.apps.is_empty()
            || match message_type {
                MessageType::NewViolation | MessageType::ViolationUpdated => {
                    app.is_some_and(|a| w.apps.iter().any(|x| x == a))
                }
                _ => true,
            };
        type_ok && severity_ok && policy_ok && app_ok
    }
}

/// An endpoint to create; the caller generated the secret and checked the URL.
#[derive(Clone)]
pub struct NewWebhook {
    pub url: String,
    pub description: Option<String>,
    pub format: WebhookFormat,
    pub message_types: Vec<MessageType>,
    pub min_severity: Option<Severity>,
    pub policy_ids: Vec<i64>,
    pub apps: Vec<String>,
    pub enabled: bool,
    pub secret: String,
    pub created_by: Option<i64>,
}

/// A partial update; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub format: Option<WebhookFormat>,
    pub message_types: Option<Vec<MessageType>>,
    pub min_severity: Option<Severity>,
    pub policy_ids: Option<Vec<i64>>,
    pub apps: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// A claimed delivery with its message, ready to send.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub message_id: i64,
    pub message_type: MessageType,
    /// Attempts made before this one.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub message_created_at: DateTime<Utc>,
    /// The message's JSON text.
    pub payload: String,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NextStep {
    Succeeded,
    RetryAt(DateTime<Utc>),
    Dead,
}

/// One attempt's result, for the log.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status_code: Option<i32>,
    pub latency_ms: f64,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub next: NextStep,
}

/// An attempt of a delivery leased to `token`, to record.
#[derive(Debug, Clone)]
pub struct Finished {
    pub delivery: i64,
    pub token: String,
    pub attempt: Attempt,
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_list<T: serde::de::DeserializeOwned>(column: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
        column,
        value: text.to_owned(),
    })
}

fn parse_enum<T: std::str::FromStr>(column: &'static str, text: &str) -> Result<T> {
    text.parse().map_err(|_| StoreError::Corrupt {
        column,
        value: text.to_owned(),
    })
}

fn info(m: &webhook::Model) -> Result<WebhookResponse> {
    Ok(WebhookResponse {
        id: m.id,
        url: m.url.clone(),
        description: m.description.clone(),
        format: parse_enum("webhooks.format", &m.format)?,
        message_types: parse_list("webhooks.message_types", &m.message_types)?,
        min_severity: m
            .min_severity
            .as_deref()
            .map(|s| parse_enum("webhooks.min_severity", s))
            .transpose()?,
        policy_ids: parse_list("webhooks.policy_ids", &m.policy_ids)?,
        apps: parse_list("webhooks.apps", &m.apps)?,
        enabled: m.enabled,
        disabled_reason: m.disabled_reason.clone(),
        previous_secret_expires_at: m.previous_secret_expires_at.map(convert::ts),
        created_by: m.created_by,
        created_at: convert::ts(m.created_at),
        updated_at: m.updated_at.map(convert::ts),
    })
}

fn record(m: webhook::Model) -> Result<WebhookRecord> {
    Ok(WebhookRecord {
        info: info(&m)?,
        secret: m.secret,
        previous_secret: m.previous_secret,
        failing_since: m.failing_since,
    })
}

fn delivery(m: webhook_delivery::Model) -> Result<DeliveryResponse> {
    let status: DeliveryStatus = parse_enum("webhook_deliveries.status", &m.status)?;
    Ok(DeliveryResponse {
        id: m.id,
        webhook_id: m.webhook_id,
        message_id: m.message_id,
        message_type: parse_enum("webhook_deliveries.message_type", &m.message_type)?,
        next_attempt_at: matches!(status, DeliveryStatus::Pending | DeliveryStatus::Failed)
            .then(|| convert::ts(m.next_attempt_at)),
        status,
        attempts: m.attempts,
        created_at: convert::ts(m.created_at),
        last_attempt_at: m.last_attempt_at.map(convert::ts),
        last_status_code: m.last_status_code,
        latency_ms: m.last_latency_ms,
        response_excerpt: m.response_excerpt,
        last_error: m.last_error,
    })
}

const WEBHOOK: Entity = Entity::Webhook;

async fn find_webhook<C: ConnectionTrait>(db: &C, id: i64) -> Result<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: WEBHOOK })
}

fn new_delivery(
    webhook_id: i64,
    message_id: i64,
    message_type: &str,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        webhook_id: Set(webhook_id),
        message_id: Set(message_id),
        message_type: Set(message_type.to_owned()),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
}

impl Store {
    pub async fn create_webhook(
        &self,
        ctx: &AuditContext,
        new: NewWebhook,
    ) -> Result<WebhookRecord> {
        let now = Timestamp::now().0;
        let model = webhook::ActiveModel {
            url: Set(new.url),
            description: Set(new.description),
            format: Set(new.format.as_str().to_owned()),
            message_types: Set(json_text(&new.message_types)),
            min_severity: Set(new.min_severity.map(|s| s.as_str().to_owned())),
            policy_ids: Set(json_text(&new.policy_ids)),
            apps: Set(json_text(&new.apps)),
            enabled: Set(new.enabled),
            disabled_reason: Set(None),
            secret: Set(new.secret),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            failing_since: Set(None),
            created_by: Set(new.created_by),
            created_at: Set(now),
            updated_at: Set(None),
            ..Default::default()
        };
        let txn = audit::begin(&self.db).await?;
        let inserted = record(model.insert(&txn).await.map_err(StoreError::classify)?)?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("webhook.create", "webhook")
                .target(inserted.info.id)
                .after(&inserted.info),
        )
        .await?;
        txn.commit().await?;
        Ok(inserted)
    }

    /// Endpoints, oldest first.
    pub async fn list_webhooks(&self, page: PageParams) -> Result<Page<WebhookResponse>> {
        let select = webhook::Entity::find().order_by_asc(webhook::Column::Id);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        Ok(Page {
            items: rows.iter().map(info).collect::<Result<_>>()?,
            total,
        })
    }

    pub async fn get_webhook(&self, id: i64) -> Result<WebhookRecord> {
        record(find_webhook(&self.db, id).await?)
    }

    /// The enabled endpoints, with their secrets.
    pub async fn enabled_webhooks(&self) -> Result<Vec<WebhookRecord>> {
        webhook::Entity::find()
            .filter(webhook::Column::Enabled.eq(true))
            .order_by_asc(webhook::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    /// A partial update. Enabling an endpoint clears why it was disabled and its failure streak.
    pub async fn update_webhook(
        &self,
        ctx: &AuditContext,
        id: i64,
        change: WebhookChange,
    ) -> Result<WebhookResponse> {
        let txn = audit::begin(&self.db).await?;
        let current = find_webhook(&txn, id).await?;
        let before = info(&current)?;
        let mut model: webhook::ActiveModel = current.into();
        if let Some(v) = change.url {
            model.url = Set(v);
        }
        if let Some(v) = change.description {
            model.description = Set(Some(v).filter(|d| !d.is_empty()));
        }
        if let Some(v) = change.format {
            model.format = Set(v.as_str().to_owned());
        }
        if let Some(v) = change.message_types {
            model.message_types = Set(json_text(&v));
        }
        if let Some(v) = change.min_severity {
            model.min_severity = Set(Some(v.as_str().to_owned()));
        }
        if let Some(v) = change.policy_ids {
            model.policy_ids = Set(json_text(&v));
        }
        if let Some(v) = change.apps {
            model.apps = Set(json_text(&v));
        }
        if let Some(enabled) = change.enabled {
            model.enabled = Set(enabled);
            if enabled {
                model.disabled_reason = Set(None);
                model.failing_since = Set(None);
            } else if before.enabled {
                // Turned off now (one already off keeps the reason it has).
                model.disabled_reason = Set(Some(format!("disabled by {}", ctx.actor)));
            }
        }
        model.updated_at = Set(Some(Timestamp::now().0));
        let updated = info(&model.update(&txn).await.map_err(StoreError::classify)?)?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("webhook.update", "webhook")
                .target(id)
                .before(&before)
                .after(&updated),
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Deletes an endpoint and its delivery log.
    pub async fn delete_webhook(&self, ctx: &AuditContext, id: i64) -> Result<WebhookResponse> {
        let txn = audit::begin(&self.db).await?;
        let current = find_webhook(&txn, id).await?;
        let before = info(&current)?;
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::WebhookId.eq(id))
            .exec(&txn)
            .await?;
        webhook::Entity::delete_by_id(id).exec(&txn).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("webhook.delete", "webhook")
                .target(id)
                .before(&before),
        )
        .await?;
        txn.commit().await?;
        Ok(before)
    }

    /// Replaces the signing secret; the old one keeps signing beside it until `overlap_until`.
    pub async fn rotate_webhook_secret(
        &self,
        ctx: &AuditContext,
        id: i64,
        secret: String,
        overlap_until: DateTime<Utc>,
    ) -> Result<WebhookRecord> {
        let txn = audit::begin(&self.db).await?;
        let current = find_webhook(&txn, id).await?;
        let old = current.secret.clone();
        let mut model: webhook::ActiveModel = current.into();
        model.secret = Set(secret);
        model.previous_secret = Set(Some(old));
        model.previous_secret_expires_at = Set(Some(overlap_until));
        model.updated_at = Set(Some(Timestamp::now().0));
        let updated = record(model.update(&txn).await.map_err(StoreError::classify)?)?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("webhook.rotate_secret", "webhook")
                .target(id)
                .after(serde_json::json!({
                    "previous_secret_expires_at": updated.info.previous_secret_expires_at,
                })),
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Records a failed attempt of an endpoint: returns since when it has been failing without a
    /// success in between.
    pub async fn webhook_failed(&self, id: i64, at: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let turn = self.write_turn().await;
        webhook::Entity::update_many()
            .col_expr(webhook::Column::FailingSince, Expr::value(at))
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::FailingSince.is_null())
            .exec(&self.db)
            .await?;
        drop(turn);
        Ok(find_webhook(&self.db, id)
            .await?
            .failing_since
            .unwrap_or(at))
    }

    /// Records a successful attempt: the failure streak ends.
    pub async fn webhook_succeeded(&self, id: i64) -> Result<()> {
        let _turn = self.write_turn().await;
        webhook::Entity::update_many()
            .col_expr(
                webhook::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::FailingSince.is_not_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Disables an enabled endpoint for `reason`, audited as the system's act. Returns whether
    /// it was enabled (so only one node audits it).
    pub async fn disable_webhook(&self, ctx: &AuditContext, id: i64, reason: &str) -> Result<bool> {
        let txn = audit::begin(&self.db).await?;
        let current = find_webhook(&txn, id).await?;
        if !current.enabled {
            return Ok(false);
        }
        let before = info(&current)?;
        let mut model: webhook::ActiveModel = current.into();
        model.enabled = Set(false);
        model.disabled_reason = Set(Some(reason.to_owned()));
        model.updated_at = Set(Some(Timestamp::now().0));
        let updated = info(&model.update(&txn).await?)?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("webhook.disable", "webhook")
                .target(id)
                .before(&before)
                .after(&updated),
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// When the oldest outbox message not yet fanned out was written, if any (a read).
    pub async fn outbox_waiting_since(&self) -> Result<Option<DateTime<Utc>>> {
        let oldest: Option<DateTime<Utc>> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::CreatedAt)
            .filter(outbox::Column::Dispatched.eq(false))
            .order_by_asc(outbox::Column::Id)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(oldest)
    }

    /// Fans up to `limit` undispatched outbox messages out to the enabled endpoints that want
    /// them: one delivery each. Returns how many messages it took. Several workers can run it at
    /// once: the first statement marks the rows it takes (on PostgreSQL skipping rows another
    /// transaction holds), and the deliveries commit with that mark.
    pub async fn dispatch_outbox(&self, limit: u64) -> Result<usize> {
        // A read first: an idle poll never takes SQLite's write lock from ingestion.
        let waiting = outbox::Entity::find()
            .filter(outbox::Column::Dispatched.eq(false))
            .one(&self.db)
            .await?;
        if waiting.is_none() {
            return Ok(0);
        }
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let mut pick = Query::select();
        pick.column(outbox::Column::Id)
            .from(outbox::Entity)
            .and_where(outbox::Column::Dispatched.eq(false))
            .order_by(outbox::Column::Id, sea_orm::sea_query::Order::Asc)
            .limit(limit);
        // PostgreSQL: rows locked by another node's dispatch are skipped. SQLite has no row
        // locks (sea-query writes nothing there); its single writer serialises dispatches.
        pick.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        let taken = outbox::Entity::update_many()
            .col_expr(outbox::Column::Dispatched, Expr::value(true))
            .filter(outbox::Column::Id.in_subquery(pick))
            .filter(outbox::Column::Dispatched.eq(false))
            .exec_with_returning(&txn)
            .await?;
        if taken.is_empty() {
            txn.rollback().await?;
            return Ok(0);
        }
        let webhooks: Vec<WebhookRecord> = webhook::Entity::find()
            .filter(webhook::Column::Enabled.eq(true))
            .all(&txn)
            .await?
            .into_iter()
            .map(record)
            .collect::<Result<_>>()?;
        let now = Timestamp::now().0;
        let mut rows = Vec::new();
        let mut messages = taken;
        messages.sort_by_key(|m| m.id);
        for m in &messages {
            let Ok(message_type) = m.message_type.parse::<MessageType>() else {
                continue;
            };
            let severity = m.severity.as_deref().and_then(|s| s.parse().ok());
            for w in &webhooks {
                // An endpoint gets the messages written from its creation on.
                if m.created_at >= w.info.created_at.0
                    && w.wants(message_type, severity, m.policy_id, m.app.as_deref())
                {
                    rows.push(new_delivery(w.info.id, m.id, &m.message_type, now));
                }
            }
        }
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(1000).collect();
            webhook_delivery::Entity::insert_many(chunk)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(messages.len())
    }

    /// Leases up to `limit` due deliveries of endpoint `webhook_id` to `token` until
    /// `lease_until`, and returns them with their messages. `token` must be unique to this
    /// claim. One `UPDATE` takes them, so no two claims ever hold the same delivery.
    pub async fn claim_deliveries(
        &self,
        webhook_id: i64,
        token: &str,
        limit: u64,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>> {
        use webhook_delivery::Column as C;
        let now = Timestamp::now().0;
        // Any endpoint's delivery that may be leased now: waiting, due and not leased.
        let claimable = || {
            Condition::all()
                .add(C::Status.is_in([
                    DeliveryStatus::Pending.as_str(),
                    DeliveryStatus::Failed.as_str(),
                ]))
                .add(C::NextAttemptAt.lte(now))
                .add(
                    Condition::any()
                        .add(C::LeaseUntil.is_null())
                        .add(C::LeaseUntil.lt(now)),
                )
        };
        let due = || claimable().add(C::WebhookId.eq(webhook_id));
        // A read first: nothing due means no write (and no SQLite write lock) at all.
        let any_due = webhook_delivery::Entity::find()
            .filter(due())
            .one(&self.db)
            .await?;
        if any_due.is_none() {
            return Ok(Vec::new());
        }
        let update = webhook_delivery::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(token))
            .col_expr(C::LeaseUntil, Expr::value(lease_until))
            // Re-checked on the row itself, in case it changed after it was picked.
            .filter(due());
        let claimed = if self.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            // PostgreSQL may run an `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` once per
            // outer row, and each run skips the rows the statement has just updated: it then
            // leases far more than `n`. So one transaction picks the rows (locking them and
            // skipping rows another node is claiming) and then leases exactly those.
            let txn = self.db.begin().await?;
            let ids: Vec<i64> = webhook_delivery::Entity::find()
                .select_only()
                .column(C::Id)
                .filter(due())
                .order_by_asc(C::NextAttemptAt)
                .order_by_asc(C::Id)
                .limit(limit)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .into_tuple()
                .all(&txn)
                .await?;
            let claimed = if ids.is_empty() {
                Vec::new()
            } else {
                update
                    .filter(C::Id.is_in(ids))
                    .exec_with_returning(&txn)
                    .await?
            };
            txn.commit().await?;
            claimed
        } else {
            // The oldest due deliveries of each status, read in the order of the due index
            // (webhook, status, next attempt, id), so that the read stops after `limit` rows
            // however long the backlog: one query over both statuses would sort all of them.
            // SQLite's single writer serialises claims; the update re-checks each row.
            let mut picked: Vec<(DateTime<Utc>, i64)> = Vec::new();
            for status in [DeliveryStatus::Pending, DeliveryStatus::Failed] {
                let rows: Vec<(i64, DateTime<Utc>)> = webhook_delivery::Entity::find()
                    .select_only()
                    .column(C::Id)
                    .column(C::NextAttemptAt)
                    .filter(C::WebhookId.eq(webhook_id))
                    .filter(C::Status.eq(status.as_str()))
                    .filter(C::NextAttemptAt.lte(now))
                    .filter(
                        Condition::any()
                            .add(C::LeaseUntil.is_null())
                            .add(C::LeaseUntil.lt(now)),
                    )
                    .order_by_asc(C::NextAttemptAt)
                    .order_by_asc(C::Id)
                    .limit(limit)
                    .into_tuple()
                    .all(&self.db)
                    .await?;
                picked.extend(rows.into_iter().map(|(id, at)| (at, id)));
            }
            picked.sort_unstable();
            picked.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            if picked.is_empty() {
                Vec::new()
            } else {
                // By id, re-checking that each is still due (another process may share the
                // file). Without the endpoint in the condition SQLite looks the ids up by key
                // instead of walking the due index.
                let _turn = self.write_turn().await;
                webhook_delivery::Entity::update_many()
                    .col_expr(C::LeaseOwner, Expr::value(token))
                    .col_expr(C::LeaseUntil, Expr::value(lease_until))
                    .filter(C::Id.is_in(picked.into_iter().map(|(_, id)| id)))
                    .filter(claimable())
                    .exec_with_returning(&self.db)
                    .await?
            }
        };
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = claimed.iter().map(|d| d.message_id).collect();
        let messages: std::collections::HashMap<i64, outbox::Model> = outbox::Entity::find()
            .filter(outbox::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut out = Vec::with_capacity(claimed.len());
        for d in claimed {
            let Some(m) = messages.get(&d.message_id) else {
                continue;
            };
            out.push(ClaimedDelivery {
                id: d.id,
                webhook_id: d.webhook_id,
                message_id: d.message_id,
                message_type: parse_enum("webhook_deliveries.message_type", &d.message_type)?,
                attempts: d.attempts,
                created_at: d.created_at,
                message_created_at: m.created_at,
                payload: m.payload.clone(),
            });
        }
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    /// Gives up leases taken and not used: each `(delivery, token)` whose delivery is still
    /// leased to that token becomes claimable again at once, its attempts untouched. Returns
    /// how many were released.
    pub async fn release_deliveries(&self, leases: &[(i64, String)]) -> Result<u64> {
        let _turn = self.write_turn().await;
        let backend = self.db.get_database_backend();
        let mut released = 0;
        for chunk in leases.chunks(FINISH_CHUNK) {
            let values: Vec<sea_orm::Value> = chunk
                .iter()
                .flat_map(|(id, token)| [(*id).into(), token.clone().into()])
                .collect();
            let sql = format!(
                "{} UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL \
                 FROM r WHERE webhook_deliveries.id = r.id \
                 AND webhook_deliveries.lease_owner = r.token",
                values_list(&["id", "token"], chunk.len())
            );
            let statement = crate::report_rollups::statement(backend, &sql, values);
            released += self.db.execute_raw(statement).await?.rows_affected();
        }
        Ok(released)
    }

    /// Records an attempt of a delivery still leased to `token` and releases it. Returns false
    /// when the lease was lost (it expired and another worker took the delivery).
    pub async fn finish_delivery(&self, id: i64, token: &str, attempt: Attempt) -> Result<bool> {
        let done = self
            .finish_deliveries(&[Finished {
                delivery: id,
                token: token.to_owned(),
                attempt,
            }])
            .await?;
        Ok(done == [id])
    }

    /// Records many attempts at once, each as [`Store::finish_delivery`] does, with one
    /// statement per [`FINISH_CHUNK`] attempts; returns the deliveries recorded, whose lease
    /// was still held. One short write for many attempts keeps the worker from taking SQLite's
    /// write lock from ingestion once per delivery.
    pub async fn finish_deliveries(&self, finished: &[Finished]) -> Result<Vec<i64>> {
        let _turn = self.write_turn().await;
        let backend = self.db.get_database_backend();
        let mut recorded = Vec::with_capacity(finished.len());
        for chunk in finished.chunks(FINISH_CHUNK) {
            let now = Timestamp::now().0;
            let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 9);
            for f in chunk {
                let (status, next_at) = match f.attempt.next {
                    NextStep::Succeeded => (DeliveryStatus::Succeeded, now),
                    NextStep::RetryAt(at) => (DeliveryStatus::Failed, at),
                    NextStep::Dead => (DeliveryStatus::Dead, now),
                };
                let excerpt = f
                    .attempt
                    .excerpt
                    .as_ref()
                    .map(|e| e.chars().take(EXCERPT_CHARS).collect::<String>());
                values.extend([
                    f.delivery.into(),
                    f.token.clone().into(),
                    status.as_str().into(),
                    next_at.into(),
                    now.into(),
                    f.attempt.status_code.into(),
                    f.attempt.latency_ms.into(),
                    excerpt.into(),
                    f.attempt.error.clone().into(),
                ]);
            }
            let columns = [
                "id", "token", "status", "next_at", "at", "code", "latency", "excerpt", "error",
            ];
            let sql = format!(
                "{} UPDATE webhook_deliveries SET status = r.status, \
                 attempts = webhook_deliveries.attempts + 1, next_attempt_at = r.next_at, \
                 last_attempt_at = r.at, last_status_code = r.code, last_latency_ms = r.latency, \
                 response_excerpt = r.excerpt, last_error = r.error, lease_owner = NULL, \
                 lease_until = NULL \
                 FROM r WHERE webhook_deliveries.id = r.id \
                 AND webhook_deliveries.lease_owner = r.token \
                 RETURNING webhook_deliveries.id",
                values_list(&columns, chunk.len())
            );
            let statement = crate::report_rollups::statement(backend, &sql, values);
            for row in self.db.query_all_raw(statement).await? {
                recorded.push(row.try_get::<i64>("", "id")?);
            }
        }
        recorded.sort_unstable();
        Ok(recorded)
    }

    /// An endpoint's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        webhook_id: i64,
        page: PageParams,
    ) -> Result<Page<DeliveryResponse>> {
        find_webhook(&self.db, webhook_id).await?;
        let select = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .order_by_desc(webhook_delivery::Column::Id);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        Ok(Page {
            items: rows.into_iter().map(delivery).collect::<Result<_>>()?,
            total,
        })
    }

    /// Queues the message of delivery `delivery_id` to its endpoint again, as a new delivery
    /// due now (same message id, so a receiver can tell it is the same message).
    pub async fn redeliver(
        &self,
        ctx: &AuditContext,
        webhook_id: i64,
        delivery_id: i64,
    ) -> Result<DeliveryResponse> {
        let txn = audit::begin(&self.db).await?;
        find_webhook(&txn, webhook_id).await?;
        let original = webhook_delivery::Entity::find_by_id(delivery_id)
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound {
                entity: Entity::Delivery,
            })?;
        // Its message may have been pruned (see `Store::prune_outbox`): nothing to send then.
        if outbox::Entity::find_by_id(original.message_id)
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound {
                entity: Entity::Delivery,
            });
        }
        let now = Timestamp::now().0;
        let row = new_delivery(webhook_id, original.message_id, &original.message_type, now)
            .insert(&txn)
            .await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("webhook.redeliver", "webhook")
                .target(webhook_id)
                .after(
                    serde_json::json!({ "delivery_id": delivery_id, "new_delivery_id": row.id }),
                ),
        )
        .await?;
        txn.commit().await?;
        delivery(row)
    }

    /// Queues a `test` message to one endpoint (enabled or not), due now.
    pub async fn enqueue_test(&self, webhook_id: i64, payload: Value) -> Result<DeliveryResponse> {
        find_webhook(&self.db, webhook_id).await?;
        let txn = self.db.begin().await?;
        let message = OutboxMessage {
            message_type: MessageType::Test,
            payload,
            severity: None,
            policy_id: None,
            app: None,
        };
        let now = Timestamp::now().0;
        let payload = serde_json::to_string(&message.payload).unwrap_or_else(|_| "{}".into());
        let row = outbox::ActiveModel {
            message_type: Set(MessageType::Test.as_str().to_owned()),
            payload: Set(payload),
            created_at: Set(now),
            severity: Set(None),
            policy_id: Set(None),
            app: Set(None),
            // Not fanned out: it goes to this endpoint only.
            dispatched: Set(true),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let d = new_delivery(webhook_id, row.id, MessageType::Test.as_str(), now)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        delivery(d)
    }

    /// Deliveries not yet finished (pending or failed), for the tests and the metrics.
    pub async fn unfinished_deliveries(&self) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.is_in([
                DeliveryStatus::Pending.as_str(),
                DeliveryStatus::Failed.as_str(),
            ]))
            .count(&self.db)
            .await?)
    }

    /// Outbox messages not yet fanned out.
    pub async fn undispatched_messages(&self) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(outbox::Entity::find()
            .filter(outbox::Column::Dispatched.eq(false))
            .count(&self.db)
            .await?)
    }
}

/// `WITH r (<columns>) AS (VALUES (?, …), …)` for `rows` rows of placeholders: the list an
/// `UPDATE … FROM r` reads. PostgreSQL and SQLite (3.33 and later) both read `UPDATE … FROM`;
/// the list is named in a `WITH` because SQLite cannot name a `VALUES` subquery's columns.
fn values_list(columns: &[&str], rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "WITH r ({}) AS (VALUES {})",
        columns.join(", "),
        vec![row; rows].join(", ")
    )
}
