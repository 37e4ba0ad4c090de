//! The delivery worker: fans the outbox out to the endpoints, claims due deliveries per endpoint
//! (at most `concurrency_per_endpoint` in flight each, so a slow endpoint holds only its own
//! slots), sends them signed, and records every attempt with its latency, status and an excerpt
//! of the answer. One recorder task writes the attempts that ended while it wrote the previous
//! ones in one statement, so the worker takes the database's write lock once for many
//! deliveries rather than once for each (on SQLite, the lock ingestion waits for). Failures are
//! retried with exponential backoff and jitter until `give_up_hours`; an endpoint failing
//! without one success for `disable_after_hours` is disabled and the act audited.
//!
//! Claims are leases (see the store), so any number of workers (nodes) share the outbox and no
//! delivery is sent by two of them at once. A worker killed mid-send leaves its leases to expire;
//! the delivery is then sent again: at least once, never lost.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use sentinel_store::{
    Attempt, AuditContext, ClaimedDelivery, Finished, NextStep, Store, WebhookRecord,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::settings::WebhookSettings;
use crate::state::AppState;
use crate::tasks::Stop;
use crate::webhook::{address, format, sign};

/// Outbox messages fanned out per transaction.
const DISPATCH_BATCH: u64 = 500;

/// Attempts the recorder writes at once at most, and attempts waiting for it at most (an attempt
/// beyond that waits for room).
const RECORD_BATCH: usize = 1024;

/// What every attempt needs.
#[derive(Clone)]
struct Ctx {
    store: Store,
    client: reqwest::Client,
    settings: Arc<WebhookSettings>,
    /// To the recorder task.
    finished: mpsc::Sender<Finished>,
}

/// The worker of one node.
pub struct Deliverer {
    ctx: Ctx,
    recorder: mpsc::Receiver<Finished>,
    wake: Arc<tokio::sync::Notify>,
    /// Unique to this worker: the prefix of its lease tokens.
    node: String,
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

impl Deliverer {
    pub fn new(state: &AppState) -> Result<Self, String> {
        // reqwest is built without a default crypto provider: use ring, already in the tree.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s = state.settings.webhooks.clone();
        let client = reqwest::Client::builder()
            .connect_timeout(seconds(s.connect_timeout_seconds))
            .timeout(seconds(s.timeout_seconds))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(s.concurrency_per_endpoint)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(address::GuardedResolver {
                allow: Arc::new(s.allow_private_hosts.clone()),
            }))
            .user_agent(concat!("Sentinel-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the webhook HTTP client: {e}"))?;
        let node = format!(
            "{}-{:016x}",
            std::process::id(),
            rand::rng().random::<u64>()
        );
        let (finished, recorder) = mpsc::channel(RECORD_BATCH);
        Ok(Self {
            ctx: Ctx {
                store: state.store.clone(),
                client,
                settings: Arc::new(s),
                finished,
            },
            recorder,
            wake: state.webhook_wake.clone(),
            node,
        })
    }

    /// Runs until `stop`; then lets the attempts in flight finish (each is bounded by the
    /// timeout) for a few seconds, records them, and leaves the rest to their leases.
    pub async fn run(mut self, mut stop: Stop) {
        let recorder = tokio::spawn(record(
            self.ctx.store.clone(),
            std::mem::replace(&mut self.recorder, mpsc::channel(1).1),
        ));
        let mut in_flight: HashMap<i64, usize> = HashMap::new();
        let mut owners: HashMap<tokio::task::Id, i64> = HashMap::new();
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut claims = 0u64;
        let poll = Duration::from_millis(self.ctx.settings.poll_ms);
        // `None`: a full round (fan-out, then every endpoint); after attempts end, only the
        // endpoints that freed a slot claim again.
        let mut freed: Option<Vec<i64>> = None;
        let mut next_full = tokio::time::Instant::now();
        loop {
            // A steady stream of finished attempts must not starve the fan-out.
            let now = tokio::time::Instant::now();
            let only = if now >= next_full { None } else { freed.take() };
            freed = None;
            if only.is_none() {
                next_full = now + poll;
            }
            if let Err(e) = self
                .round(only, &mut in_flight, &mut owners, &mut tasks, &mut claims)
                .await
            {
                tracing::warn!(error = %e, "webhook delivery round failed");
            }
            tokio::select! {
                _ = stop.requested() => break,
                _ = self.wake.notified() => {}
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    let mut ids = Vec::new();
                    let mut finished = vec![done];
                    while let Some(more) = tasks.try_join_next_with_id() {
                        finished.push(more);
                    }
                    for done in finished {
                        let id = match done {
                            Ok((id, ())) => id,
                            Err(e) => e.id(),
                        };
                        if let Some(webhook) = owners.remove(&id)
                            && let Some(n) = in_flight.get_mut(&webhook)
                        {
                            *n = n.saturating_sub(1);
                            ids.push(webhook);
                        }
                    }
                    ids.sort_unstable();
                    ids.dedup();
                    freed = Some(ids);
                }
                _ = tokio::time::sleep_until(next_full) => {}
            }
        }
        let grace = seconds(self.ctx.settings.timeout_seconds.min(8.0));
        let _ =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        // The recorder ends when the last sender is gone, after writing what it holds.
        drop(self);
        if tokio::time::timeout(Duration::from_secs(5), recorder)
            .await
            .is_err()
        {
            tracing::warn!(
                "recording the last webhook attempts timed out; they will be sent again when their leases expire"
            );
        }
    }

    /// Fans out the outbox, then claims what each endpoint has room for and starts sending it.
    async fn round(
        &self,
        only: Option<Vec<i64>>,
        in_flight: &mut HashMap<i64, usize>,
        owners: &mut HashMap<tokio::task::Id, i64>,
        tasks: &mut JoinSet<()>,
        claims: &mut u64,
    ) -> Result<(), sentinel_store::StoreError> {
        let store = &self.ctx.store;
        if only.is_none() {
            while store.dispatch_outbox(DISPATCH_BATCH).await? as u64 == DISPATCH_BATCH {}
        }
        let s = &self.ctx.settings;
        // Longer than any attempt can take (connect, answer, recording), so a live attempt never
        // loses its lease; a dead worker's deliveries wait this long before another takes them.
        let lease = seconds(s.connect_timeout_seconds + s.timeout_seconds + 10.0);
        for webhook in store.enabled_webhooks().await? {
            let id = webhook.info.id;
            if only.as_ref().is_some_and(|ids| !ids.contains(&id)) {
                continue;
            }
            let busy = in_flight.get(&id).copied().unwrap_or(0);
            let room = s.concurrency_per_endpoint.saturating_sub(busy);
            if room == 0 {
                continue;
            }
            *claims += 1;
            let token = format!("{}:{claims}", self.node);
            let until = Utc::now()
                + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
            let claimed = store
                .claim_deliveries(id, &token, room as u64, until)
                .await?;
            if claimed.is_empty() {
                continue;
            }
            let webhook = Arc::new(webhook);
            for delivery in claimed {
                *in_flight.entry(id).or_default() += 1;
                let handle = tasks.spawn(attempt(
                    self.ctx.clone(),
                    webhook.clone(),
                    delivery,
                    token.clone(),
                ));
                owners.insert(handle.id(), id);
            }
        }
        Ok(())
    }
}

/// When to try again after the attempt number `attempts + 1` failed, or `Dead` once that would
/// fall after `give_up_hours` from the delivery's creation.
pub fn next_step(
    s: &WebhookSettings,
    attempts_before: i32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> NextStep {
    let exponent = attempts_before.clamp(0, 30);
    let delay = (s.retry_first_seconds * 2f64.powi(exponent)).min(s.retry_max_seconds);
    let delay = delay * rand::rng().random_range(0.8..1.2);
    let at = now + chrono::Duration::milliseconds((delay * 1000.0) as i64);
    let give_up = created_at + chrono::Duration::milliseconds((s.give_up_hours * 3.6e6) as i64);
    if at > give_up {
        NextStep::Dead
    } else {
        NextStep::RetryAt(at)
    }
}

/// What a reqwest error says, without the URL (a Slack URL is itself a secret).
fn describe(e: reqwest::Error, timeout: f64) -> String {
    if e.is_timeout() {
        format!("timed out after {timeout} s")
    } else if e.is_connect() {
        format!("could not connect: {}", root_cause(&e.without_url()))
    } else {
        root_cause(&e.without_url())
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// One signed POST; the status and the start of the answer, or why it failed.
async fn send(
    ctx: &Ctx,
    webhook: &WebhookRecord,
    delivery: &ClaimedDelivery,
) -> Result<(u16, String), String> {
    let url = address::check(&webhook.info.url, &ctx.settings.allow_private_hosts)
        .await
        .map_err(|why| format!("refused: {why}"))?;
    let body = format::render(
        webhook.info.format,
        delivery.message_type,
        delivery.message_created_at,
        &delivery.payload,
    );
    let now = Utc::now();
    let msg_id = format!("msg_{}", delivery.message_id);
    let timestamp = now.timestamp();
    let signature =
        sign::signature_header(&webhook.signing_secrets(now), &msg_id, timestamp, &body);
    let timeout = ctx.settings.timeout_seconds;
    let mut res = ctx
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| describe(e, timeout))?;
    let status = res.status().as_u16();
    let mut excerpt = Vec::new();
    while excerpt.len() < sentinel_store::EXCERPT_CHARS {
        match res.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(describe(e, timeout)),
        }
    }
    excerpt.truncate(sentinel_store::EXCERPT_CHARS);
    Ok((status, String::from_utf8_lossy(&excerpt).into_owned()))
}

/// Sends one delivery and records the attempt.
async fn attempt(ctx: Ctx, webhook: Arc<WebhookRecord>, delivery: ClaimedDelivery, token: String) {
    let started = Instant::now();
    let outcome = send(&ctx, &webhook, &delivery).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1e5).round() / 100.0;
    let now = Utc::now();
    let (status_code, excerpt, error) = match outcome {
        Ok((code, text)) if (200..300).contains(&code) => (Some(code), Some(text), None),
        Ok((code, text)) => (
            Some(code),
            Some(text),
            Some(format!("answered HTTP {code}")),
        ),
        Err(e) => (None, None, Some(e)),
    };
    let ok = error.is_none();
    let next = if ok {
        NextStep::Succeeded
    } else {
        next_step(&ctx.settings, delivery.attempts, delivery.created_at, now)
    };
    let log_error = error.clone();
    let finished = Finished {
        delivery: delivery.id,
        token,
        attempt: Attempt {
            status_code: status_code.map(i32::from),
            latency_ms,
            excerpt,
            error,
            next,
        },
    };
    if ctx.finished.send(finished).await.is_err() {
        tracing::warn!(
            webhook.id = webhook.info.id,
            delivery.id = delivery.id,
            "the webhook recorder has stopped; the delivery will be sent again when its lease expires"
        );
    }
    if ok {
        if webhook.failing_since.is_some()
            && let Err(e) = ctx.store.webhook_succeeded(webhook.info.id).await
        {
            tracing::warn!(webhook.id = webhook.info.id, error = %e, "recording a webhook success failed");
        }
        return;
    }
    tracing::info!(
        webhook.id = webhook.info.id,
        delivery.id = delivery.id,
        attempt = delivery.attempts + 1,
        error = log_error.as_deref().unwrap_or(""),
        dead = next == NextStep::Dead,
        "webhook attempt failed"
    );
    if let Err(e) = failing(&ctx, &webhook, now, log_error.as_deref().unwrap_or("")).await {
        tracing::warn!(webhook.id = webhook.info.id, error = %e, "recording a webhook failure failed");
    }
}

/// Writes the attempts that ended, many at a time: whatever arrived while it wrote the last
/// batch. Ends when every sender is gone, having written all it received.
async fn record(store: Store, mut finished: mpsc::Receiver<Finished>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while finished.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        match store.finish_deliveries(&batch).await {
            Ok(recorded) => {
                for f in &batch {
                    if recorded.binary_search(&f.delivery).is_err() {
                        tracing::warn!(
                            delivery.id = f.delivery,
                            "a webhook delivery's lease expired before its attempt was recorded; it will be sent again"
                        );
                    }
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                attempts = batch.len(),
                "recording webhook attempts failed; they will be sent again when their leases expire"
            ),
        }
        batch.clear();
    }
}

/// Keeps the endpoint's failure streak, and disables it once the streak is too long.
async fn failing(
    ctx: &Ctx,
    webhook: &WebhookRecord,
    now: DateTime<Utc>,
    error: &str,
) -> Result<(), sentinel_store::StoreError> {
    let since = ctx.store.webhook_failed(webhook.info.id, now).await?;
    let limit = chrono::Duration::milliseconds((ctx.settings.disable_after_hours * 3.6e6) as i64);
    if now - since < limit {
        return Ok(());
    }
    let reason = format!(
        "disabled automatically: failing since {} without a success (last error: {error})",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let ctx_audit = AuditContext {
        actor: "system:webhooks".into(),
        ..AuditContext::default()
    };
    if ctx
        .store
        .disable_webhook(&ctx_audit, webhook.info.id, &reason)
        .await?
    {
        tracing::warn!(webhook.id = webhook.info.id, "{reason}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_caps_and_gives_up_after_a_day() {
        let s = WebhookSettings::default();
        let t0 = Utc::now();
        let delay = |attempts: i32| match next_step(&s, attempts, t0, t0) {
            NextStep::RetryAt(at) => (at - t0).num_milliseconds() as f64 / 1000.0,
            other => panic!("{other:?}"),
        };
        for (n, base) in [(0, 5.0), (1, 10.0), (2, 20.0), (5, 160.0), (20, 3600.0)] {
            let d = delay(n);
            assert!((base * 0.8..=base * 1.2).contains(&d), "attempt {n}: {d} s");
        }
        let late = t0 + chrono::Duration::hours(24);
        assert_eq!(next_step(&s, 30, t0, late), NextStep::Dead);
        // Roughly a day of attempts: count them with the mean delays.
        let (mut at, mut n) = (0.0, 0);
        while at < 24.0 * 3600.0 {
            at += (5.0 * 2f64.powi(n)).min(3600.0);
            n += 1;
        }
        assert!((25..=40).contains(&n), "{n} attempts in a day");
    }
}
