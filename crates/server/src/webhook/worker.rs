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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use sentinel_store::{
    Attempt, AuditContext, ClaimedDelivery, Finished, NextStep, Store, WebhookRecord,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::service::writer::{Activity, Load};
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

impl Ctx {
    /// Whether a message written at `written` has waited `busy_max_lag_ms` already: then it is
    /// no longer held back for a busy ingestion.
    fn overdue(&self, written: DateTime<Utc>) -> bool {
        Utc::now() - written > chrono::Duration::milliseconds(self.settings.busy_max_lag_ms as i64)
    }

    /// The least time between two waves of an endpoint while events are being ingested, given
    /// when its next delivery's message was written and `per_second`, the endpoint's share of
    /// `busy_deliveries_per_event` (that many deliveries per event ingestion writes, shared by
    /// the enabled endpoints). A wave starts at most `concurrency` deliveries, so the share
    /// allows one per `concurrency / per_second`, but never a pause over [`LONGEST_BUSY_PAUSE`].
    /// Until the message has waited `busy_max_lag_ms`, the pace is the slower of that and
    /// `busy_wave_ms`; after, the share alone (which ingestion's rate raises and lowers, so
    /// that the deliveries cost a saturated ingestion about the same share on a slow machine
    /// as on a fast one), and no pause at all when `busy_deliveries_per_event` is 0. A
    /// `busy_wave_ms` of 0 never holds anything back.
    fn wave_pace(&self, next_written: Option<DateTime<Utc>>, per_second: f64) -> Duration {
        let s = &self.settings;
        let busy = Duration::from_millis(s.busy_wave_ms);
        if busy.is_zero() {
            return Duration::ZERO;
        }
        let share = (s.busy_deliveries_per_event > 0.0).then(|| {
            let wave = s.concurrency_per_endpoint as f64;
            if per_second * LONGEST_BUSY_PAUSE.as_secs_f64() > wave {
                seconds(wave / per_second)
            } else {
                LONGEST_BUSY_PAUSE
            }
        });
        let overdue = next_written.is_some_and(|written| self.overdue(written));
        match (overdue, share) {
            (false, None) => busy,
            (false, Some(share)) => busy.max(share),
            (true, None) => Duration::ZERO,
            (true, Some(share)) => share,
        }
    }
}

/// The longest pause between two waves of an endpoint while ingestion is busy, however few
/// events it writes (one large event can keep the writer busy).
const LONGEST_BUSY_PAUSE: Duration = Duration::from_secs(10);

/// The worker of one node.
pub struct Deliverer {
    ctx: Ctx,
    recorder: mpsc::Receiver<Finished>,
    wake: Arc<tokio::sync::Notify>,
    /// Unique to this worker: the prefix of its lease tokens.
    node: String,
    /// The event writers (the gateway's and `POST /api/events/`'s).
    writers: Vec<Arc<Activity>>,
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A healthy endpoint claims this many waves (`concurrency_per_endpoint` deliveries each) at
/// once, keeps them in a local queue and claims again when less than one wave is left. A busy
/// endpoint then costs one claim, one write, per this many waves instead of one per freed slot:
/// on SQLite every claim takes the write lock that ingestion waits for.
const PREFETCH_WAVES: usize = 16;

/// An attempt that took longer than this makes its endpoint claim one wave at a time, so that
/// deliveries it cannot start within their lease do not sit leased in the queue.
const SLOW_ATTEMPT: Duration = Duration::from_secs(1);

/// How long the recorder gathers more ended attempts after the first, so that a steady stream
/// of attempts is written a few dozen times a second rather than once per attempt or two. While
/// ingestion is busy it gathers for `busy_wave_ms` instead: a few writes a second.
const RECORD_LINGER: Duration = Duration::from_millis(50);

/// A claimed delivery waiting in its endpoint's queue.
struct Queued {
    delivery: ClaimedDelivery,
    token: String,
    /// Started after this, the attempt could outlive the lease: it is left to the lease then.
    start_by: tokio::time::Instant,
}

/// One endpoint as the worker sees it.
struct Lane {
    /// Its latest settings and secrets (from the last full round).
    webhook: Arc<WebhookRecord>,
    enabled: bool,
    queue: VecDeque<Queued>,
    in_flight: usize,
    /// Its last claim found fewer deliveries than it asked for: no claim before the next full
    /// round (new deliveries only appear in a full round's fan-out, or when something wakes it).
    dry: bool,
    /// Its last attempt took longer than [`SLOW_ATTEMPT`].
    slow: bool,
    /// When it last started attempts.
    last_wave: Option<tokio::time::Instant>,
}

impl Lane {
    /// Less than one wave (`concurrency_per_endpoint` deliveries) is queued: it claims more.
    fn short(&self, wave: usize) -> bool {
        self.queue.len() < wave
    }
}

/// The endpoints' lanes and the attempts in flight.
struct Lanes {
    lanes: HashMap<i64, Lane>,
    owners: HashMap<tokio::task::Id, i64>,
    tasks: JoinSet<Duration>,
    claims: u64,
    /// The earliest moment an endpoint held back while events are ingested may start again.
    resume: Option<tokio::time::Instant>,
    /// When the outbox was last fanned out.
    last_dispatch: Option<tokio::time::Instant>,
    load: Load,
}

impl Lanes {
    /// Every endpoint's id, in order.
    fn ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.lanes.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Takes the enabled endpoints as they are now: new ones get a lane, known ones their
    /// latest settings and a new chance to claim. Returns the queues of the endpoints no longer
    /// enabled, to hand back; their lanes stay while attempts are in flight.
    fn refresh(&mut self, enabled: Vec<WebhookRecord>) -> Vec<Queued> {
        for lane in self.lanes.values_mut() {
            lane.enabled = false;
        }
        for webhook in enabled {
            let webhook = Arc::new(webhook);
            match self.lanes.entry(webhook.info.id) {
                Entry::Occupied(mut lane) => {
                    let lane = lane.get_mut();
                    lane.webhook = webhook;
                    lane.enabled = true;
                    lane.dry = false;
                }
                Entry::Vacant(lane) => {
                    lane.insert(Lane {
                        webhook,
                        enabled: true,
                        queue: VecDeque::new(),
                        in_flight: 0,
                        dry: false,
                        slow: false,
                        last_wave: None,
                    });
                }
            }
        }
        let gone = self
            .lanes
            .values_mut()
            .filter(|lane| !lane.enabled)
            .flat_map(|lane| lane.queue.drain(..))
            .collect();
        self.lanes
            .retain(|_, lane| lane.enabled || lane.in_flight > 0);
        gone
    }
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
            writers: vec![state.writer.activity(), state.ingest.activity()],
        })
    }

    /// Runs until `stop`; then lets the attempts in flight finish (each is bounded by the
    /// timeout) for a few seconds, records them, releases the queued deliveries it did not
    /// start, and leaves the rest to their leases.
    pub async fn run(mut self, mut stop: Stop) {
        let recorder = tokio::spawn(record(
            self.ctx.store.clone(),
            std::mem::replace(&mut self.recorder, mpsc::channel(1).1),
            Load::new(self.writers.clone()),
            Duration::from_millis(self.ctx.settings.busy_wave_ms),
        ));
        let mut lanes = Lanes {
            lanes: HashMap::new(),
            owners: HashMap::new(),
            tasks: JoinSet::new(),
            claims: 0,
            resume: None,
            last_dispatch: None,
            load: Load::new(self.writers.clone()),
        };
        let poll = Duration::from_millis(self.ctx.settings.poll_ms);
        // `None`: a full round (fan-out, then every endpoint); after attempts end, only the
        // endpoints that freed a slot are served again.
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
            lanes.resume = None;
            if let Err(e) = self.round(only, &mut lanes).await {
                tracing::warn!(error = %e, "webhook delivery round failed");
            }
            tokio::select! {
                _ = stop.requested() => break,
                _ = self.wake.notified() => {}
                Some(done) = lanes.tasks.join_next_with_id(), if !lanes.tasks.is_empty() => {
                    let mut ids = Vec::new();
                    let mut finished = vec![done];
                    while let Some(more) = lanes.tasks.try_join_next_with_id() {
                        finished.push(more);
                    }
                    for done in finished {
                        let (id, took) = match done {
                            Ok((id, took)) => (id, took),
                            Err(e) => (e.id(), Duration::MAX),
                        };
                        if let Some(webhook) = lanes.owners.remove(&id)
                            && let Some(lane) = lanes.lanes.get_mut(&webhook)
                        {
                            lane.in_flight = lane.in_flight.saturating_sub(1);
                            lane.slow = took > SLOW_ATTEMPT;
                            ids.push(webhook);
                        }
                    }
                    ids.sort_unstable();
                    ids.dedup();
                    freed = Some(ids);
                }
                _ = tokio::time::sleep_until(next_full) => {}
                _ = tokio::time::sleep_until(lanes.resume.unwrap_or(next_full)), if lanes.resume.is_some() => {
                    freed = Some(lanes.ids());
                }
            }
        }
        let grace = seconds(self.ctx.settings.timeout_seconds.min(8.0));
        let tasks = &mut lanes.tasks;
        let _ =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        // What was claimed and never started goes back now rather than when its lease ends.
        let queued: Vec<Queued> = lanes
            .lanes
            .values_mut()
            .flat_map(|lane| lane.queue.drain(..))
            .collect();
        self.release(queued).await;
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

    /// A full round (`only` is `None`) fans out the outbox and refreshes the endpoints; then
    /// each endpoint served starts what its queue holds, claiming more when it runs low.
    async fn round(
        &self,
        only: Option<Vec<i64>>,
        lanes: &mut Lanes,
    ) -> Result<(), sentinel_store::StoreError> {
        let store = &self.ctx.store;
        let serve: Vec<i64> = match only {
            Some(ids) => ids,
            None => {
                // While ingestion is busy, the fan-out (one write for many rows) waits longer.
                let hold = Duration::from_millis(self.ctx.settings.busy_wave_ms * 4);
                let now = tokio::time::Instant::now();
                let busy = !hold.is_zero() && lanes.load.busy();
                if !busy || lanes.last_dispatch.is_none_or(|t| now >= t + hold) {
                    lanes.last_dispatch = Some(now);
                    self.dispatch(busy, lanes).await?;
                }
                let gone = lanes.refresh(store.enabled_webhooks().await?);
                self.release(gone).await;
                lanes.ids()
            }
        };
        for id in serve {
            self.serve(id, lanes).await?;
        }
        Ok(())
    }

    /// Fans the outbox out: all of it while ingestion is not busy. While it is busy, one batch,
    /// and only when an endpoint has run short of deliveries to send; the rest waits in the
    /// outbox. That holds when the endpoints send at full speed too (their messages have waited
    /// `busy_max_lag_ms`): fanning out a backlog of minutes at once wrote it as thousands of
    /// delivery rows per transaction, which held the write lock ingestion waits for (measured:
    /// ingestion saturated for two minutes lost 35%, BENCHMARKS.md).
    async fn dispatch(&self, busy: bool, lanes: &Lanes) -> Result<(), sentinel_store::StoreError> {
        let store = &self.ctx.store;
        if busy {
            let wave = self.ctx.settings.concurrency_per_endpoint;
            if lanes.lanes.values().any(|l| l.enabled && l.short(wave)) {
                store.dispatch_outbox(DISPATCH_BATCH).await?;
            }
            return Ok(());
        }
        while store.dispatch_outbox(DISPATCH_BATCH).await? as u64 == DISPATCH_BATCH {}
        Ok(())
    }

    /// Starts queued deliveries of endpoint `id` up to its concurrency, claiming more first
    /// when less than one wave is queued.
    async fn serve(&self, id: i64, lanes: &mut Lanes) -> Result<(), sentinel_store::StoreError> {
        let s = &self.ctx.settings;
        // This endpoint's share of the deliveries a busy ingestion allows.
        let endpoints = lanes.lanes.values().filter(|l| l.enabled).count().max(1);
        let per_second =
            s.busy_deliveries_per_event * lanes.load.events_per_second() / endpoints as f64;
        let Some(lane) = lanes.lanes.get_mut(&id) else {
            return Ok(());
        };
        if !lane.enabled {
            return Ok(());
        }
        // While events are being ingested, one wave per `Ctx::wave_pace` at most (a pace of
        // zero holds nothing back: `at` is then the last wave, already past).
        let now = tokio::time::Instant::now();
        if let Some(last) = lane.last_wave
            && let at = last
                + self.ctx.wave_pace(
                    lane.queue
                        .front()
                        .map(|next| next.delivery.message_created_at),
                    per_second,
                )
            && now < at
            && lanes.load.busy()
        {
            lanes.resume = Some(lanes.resume.map_or(at, |r| r.min(at)));
            return Ok(());
        }
        let wave = s.concurrency_per_endpoint;
        if lane.short(wave) && !lane.dry {
            let want = if lane.slow {
                wave
            } else {
                wave * PREFETCH_WAVES
            } - lane.queue.len();
            // An attempt (connect, answer, recording) takes at most `attempt`; a delivery is
            // started only while a whole attempt still fits in its lease, so a live attempt
            // never loses it. A dead worker's deliveries wait for the lease before another
            // worker takes them.
            let attempt = seconds(s.connect_timeout_seconds + s.timeout_seconds + 10.0);
            let lease = attempt * 2;
            lanes.claims += 1;
            let token = format!("{}:{}", self.node, lanes.claims);
            let claimed_at = tokio::time::Instant::now();
            let until = Utc::now()
                + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(120));
            let claimed = self
                .ctx
                .store
                .claim_deliveries(id, &token, want as u64, until)
                .await?;
            lane.dry = claimed.len() < want;
            lane.queue
                .extend(claimed.into_iter().map(|delivery| Queued {
                    delivery,
                    token: token.clone(),
                    start_by: claimed_at + (lease - attempt),
                }));
        }
        let now = tokio::time::Instant::now();
        let mut started = false;
        while lane.in_flight < wave
            && let Some(next) = lane.queue.pop_front()
        {
            if now > next.start_by {
                // Its lease is too short for an attempt now: claimed again once it ends.
                continue;
            }
            lane.in_flight += 1;
            let handle = lanes.tasks.spawn(attempt(
                self.ctx.clone(),
                lane.webhook.clone(),
                next.delivery,
                next.token,
            ));
            lanes.owners.insert(handle.id(), id);
            started = true;
        }
        if started {
            lane.last_wave = Some(now);
        }
        Ok(())
    }

    /// Gives up the leases of deliveries claimed and never started, so that they are due again
    /// at once (for any node) instead of when their leases end.
    async fn release(&self, queued: Vec<Queued>) {
        if queued.is_empty() {
            return;
        }
        let leases: Vec<(i64, String)> = queued
            .into_iter()
            .map(|q| (q.delivery.id, q.token))
            .collect();
        if let Err(e) = self.ctx.store.release_deliveries(&leases).await {
            tracing::warn!(
                error = %e,
                deliveries = leases.len(),
                "releasing unstarted webhook deliveries failed; they are sent once their leases end"
            );
        }
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

/// Sends one delivery and records the attempt; returns how long the send took.
async fn attempt(
    ctx: Ctx,
    webhook: Arc<WebhookRecord>,
    delivery: ClaimedDelivery,
    token: String,
) -> Duration {
    let started = Instant::now();
    let outcome = send(&ctx, &webhook, &delivery).await;
    let took = started.elapsed();
    let latency_ms = (took.as_secs_f64() * 1e5).round() / 100.0;
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
        return took;
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
    took
}

/// Writes the attempts that ended, many at a time: whatever arrived while it wrote the last
/// batch or within [`RECORD_LINGER`] of the first (`busy_linger` while ingestion keeps the
/// writers busy). Ends when every sender is gone, having written all it received.
async fn record(
    store: Store,
    mut finished: mpsc::Receiver<Finished>,
    mut load: Load,
    busy_linger: Duration,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while finished.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        if batch.len() < RECORD_BATCH {
            let linger = if load.busy() {
                busy_linger.max(RECORD_LINGER)
            } else {
                RECORD_LINGER
            };
            tokio::time::sleep(linger).await;
            while batch.len() < RECORD_BATCH
                && let Ok(more) = finished.try_recv()
            {
                batch.push(more);
            }
        }
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
