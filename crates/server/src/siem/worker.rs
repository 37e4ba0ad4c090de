//! One task per sink: read the outbox after the sink's cursor, render what the sink wants, send
//! it, then move the cursor. A failed send is retried with exponential backoff and jitter until
//! it succeeds (a sink never skips a message). A clean stop lets a send under way finish (for
//! as long as the webhook worker waits for its attempts) and records how far the sink got; a
//! send that does not finish in that time leaves the cursor where it was, so that batch is sent
//! again after the restart (at least once). One more task prunes the outbox behind the slowest
//! reader. A sink that has caught up lets messages gather for a moment before it reads again.
//!
//! With several nodes on one database, only the node holding a sink's lease sends for it (see
//! `sentinel_store::siem`): the others wait, reading the lease, and take over once it is handed
//! back or expires. The holder renews the lease before a send could outlast it, and moves the
//! cursor only while it still holds it; a holder that finds its lease lost stops sending and
//! waits like the others.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use rand::Rng;
use sentinel_store::{OutboxPosition, Store, StoreError};

use crate::service::writer::{Activity, Load};
use crate::settings::{SiemSettings, SinkSettings};
use crate::siem::format::{self, Record};
use crate::siem::transport::{self, Transport};
use crate::tasks::{Stop, Tasks};

/// Outbox rows deleted per statement.
const PRUNE_BATCH: u64 = 1000;

/// After a batch that was not full, a sink waits this long (or `poll_ms`, if shorter) before it
/// reads again: a sink that keeps up then moves its cursor, a write that on SQLite takes the
/// lock ingestion waits for, a few times a second instead of once per commit.
const GATHER: Duration = Duration::from_millis(100);

/// The same while ingestion keeps the event writers over half busy.
const BUSY_GATHER: Duration = Duration::from_secs(1);

/// While ingestion keeps the event writers busy, a sink reads up to this many batches at once
/// (but no more than [`BUSY_READ_MAX`] messages beyond one batch), sends them one batch at a
/// time and then moves its cursor once: a sink that is behind then writes once per this many
/// batches.
const BUSY_BATCHES: usize = 10;

/// The most messages a busy read holds in memory, unless one batch is larger.
const BUSY_READ_MAX: usize = 5_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabels {
    pub sink: String,
}

/// The sinks' counters, kept across scrapes (the lag is read at scrape time).
#[derive(Clone, Default)]
pub struct SiemMetrics {
    sent: Family<SinkLabels, Counter>,
    failures: Family<SinkLabels, Counter>,
    pruned: Counter,
}

impl SiemMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "siem_sent",
            "Records delivered per SIEM sink since the process started",
            self.sent.clone(),
        );
        registry.register(
            "siem_send_failures",
            "Failed sends (each retried) per SIEM sink since the process started",
            self.failures.clone(),
        );
        registry.register(
            "outbox_pruned",
            "Outbox messages deleted once every reader was done with them",
            self.pruned.clone(),
        );
    }

    fn labels(sink: &str) -> SinkLabels {
        SinkLabels {
            sink: sink.to_owned(),
        }
    }
}

/// Builds every sink's transport (a bad CA file, a missing token: an error at start-up) and
/// starts one task per sink plus the outbox pruning. Turns decision messages on when a sink
/// wants them.
pub fn start(
    store: &Store,
    settings: &SiemSettings,
    metrics: &SiemMetrics,
    writers: &[Arc<Activity>],
    tasks: &mut Tasks,
) -> Result<(), String> {
    let timeout = Duration::from_secs_f64(settings.timeout_seconds);
    // Unique to this process: it names the holder of the sinks' leases.
    let owner: Arc<str> = format!(
        "{}-{}-{:016x}",
        transport::hostname(),
        std::process::id(),
        rand::rng().random::<u64>()
    )
    .into();
    let mut workers = Vec::new();
    for sink in &settings.sinks {
        workers.push(SinkWorker {
            store: store.clone(),
            transport: transport::build(sink, timeout)?,
            sink: sink.clone(),
            settings: Arc::new(settings.clone()),
            metrics: metrics.clone(),
            owner: owner.clone(),
            load: Load::new(writers.to_vec()),
        });
    }
    store.set_outbox_decisions(settings.sinks.iter().any(SinkSettings::wants_decisions));
    for worker in workers {
        tracing::info!(sink.name = %worker.sink.name, "SIEM sink started");
        tasks.spawn("siem sink", move |stop| worker.run(stop));
    }
    let pruner = Pruner {
        store: store.clone(),
        sinks: settings.sinks.iter().map(|s| s.name.clone()).collect(),
        after: chrono::Duration::milliseconds((settings.prune_after_hours * 3.6e6) as i64),
        every: Duration::from_secs_f64(settings.prune_every_seconds),
        metrics: metrics.clone(),
    };
    tasks.spawn("outbox pruning", move |stop| pruner.run(stop));
    Ok(())
}

/// Sleeps `d`; true when a stop came first.
async fn stopped_during(stop: &mut Stop, d: Duration) -> bool {
    tokio::select! {
        _ = stop.requested() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

/// The delay before retry number `failures` (1, 2, …): doubling from `retry_first_seconds`,
/// at most `retry_max_seconds`, ±20%.
pub fn backoff(s: &SiemSettings, failures: u32) -> Duration {
    let exponent = i32::try_from(failures.saturating_sub(1).min(30)).unwrap_or(30);
    let base = (s.retry_first_seconds * 2f64.powi(exponent)).min(s.retry_max_seconds);
    Duration::from_secs_f64(base * rand::rng().random_range(0.8..1.2))
}

struct SinkWorker {
    store: Store,
    sink: SinkSettings,
    transport: Transport,
    settings: Arc<SiemSettings>,
    metrics: SiemMetrics,
    /// This node's name in the leases.
    owner: Arc<str>,
    /// How busy ingestion keeps the event writers.
    load: Load,
}

/// Why a sink stopped sending.
enum End {
    /// A stop was asked.
    Stopped,
    /// Another node holds the lease now.
    Lost,
}

/// The lease as this worker holds it: where the cursor is and when the lease runs out, by this
/// process's monotonic clock (measured from before the write that set it, so never late).
struct Held {
    cursor: OutboxPosition,
    until: tokio::time::Instant,
}

impl SinkWorker {
    fn lease(&self) -> Duration {
        Duration::from_secs_f64(self.settings.lease_seconds)
    }

    /// A lease taken now: its end in the database, and by this process's clock.
    fn lease_from_now(&self) -> (chrono::DateTime<chrono::Utc>, tokio::time::Instant) {
        let lease = self.lease();
        let wall = chrono::Utc::now()
            + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
        (wall, tokio::time::Instant::now() + lease)
    }

    async fn run(mut self, mut stop: Stop) {
        loop {
            let Some(held) = self.acquire(&mut stop).await else {
                return;
            };
            match self.send_while_held(held, &mut stop).await {
                End::Stopped => {
                    if let Err(e) = self
                        .store
                        .release_siem_lease(&self.sink.name, &self.owner)
                        .await
                    {
                        tracing::warn!(sink.name = %self.sink.name, error = %e, "releasing a SIEM sink's lease failed; it expires by itself");
                    }
                    return;
                }
                End::Lost => {
                    tracing::warn!(sink.name = %self.sink.name, "another node took over this SIEM sink (its lease had run out); waiting");
                }
            }
        }
    }

    /// Waits until this node holds the sink's lease; `None` when a stop came first.
    async fn acquire(&self, stop: &mut Stop) -> Option<Held> {
        let name = &self.sink.name;
        let poll = Duration::from_millis(self.settings.poll_ms);
        let mut waited = false;
        loop {
            let (wall, until) = self.lease_from_now();
            match self.store.take_siem_lease(name, &self.owner, wall).await {
                Ok(Some(c)) => {
                    if waited {
                        tracing::info!(sink.name = %name, "this node now sends for the SIEM sink");
                    }
                    return Some(Held {
                        cursor: c.position,
                        until,
                    });
                }
                Ok(None) => waited = true,
                Err(e) => {
                    tracing::warn!(sink.name = %name, error = %e, "taking a SIEM sink's lease failed");
                }
            }
            if stopped_during(stop, poll).await {
                return None;
            }
        }
    }

    /// Renews the lease when less than half of it (or less than a send's timeout and a second)
    /// is left, so that a send started now ends inside it. False when it was lost.
    async fn renew(&self, held: &mut Held) -> Result<bool, StoreError> {
        let lease = self.lease();
        let margin = (lease / 2).max(Duration::from_secs_f64(self.settings.timeout_seconds + 1.0));
        if tokio::time::Instant::now() + margin < held.until {
            return Ok(true);
        }
        let (wall, until) = self.lease_from_now();
        match self
            .store
            .take_siem_lease(&self.sink.name, &self.owner, wall)
            .await?
        {
            Some(c) => {
                held.until = until;
                // Unchanged unless the lease had expired and another node moved the cursor.
                held.cursor = c.position;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn send_while_held(&mut self, mut held: Held, stop: &mut Stop) -> End {
        let name = self.sink.name.clone();
        let poll = Duration::from_millis(self.settings.poll_ms);
        loop {
            match self.renew(&mut held).await {
                Ok(true) => {}
                Ok(false) => return End::Lost,
                Err(e) => {
                    // Not sure of the lease: send nothing until it is renewed.
                    tracing::warn!(sink.name = %name, error = %e, "renewing a SIEM sink's lease failed");
                    if stopped_during(stop, poll).await {
                        return End::Stopped;
                    }
                    continue;
                }
            }
            let busy = self.load.busy();
            let want = if busy {
                (self.settings.batch * BUSY_BATCHES)
                    .min(BUSY_READ_MAX)
                    .max(self.settings.batch)
            } else {
                self.settings.batch
            };
            let batch = match self.store.siem_messages(held.cursor, want as u64).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(sink.name = %name, error = %e, "reading the outbox failed");
                    if stopped_during(stop, poll).await {
                        return End::Stopped;
                    }
                    continue;
                }
            };
            let Some(last) = batch.last().map(|m| m.position()) else {
                if stopped_during(stop, poll).await {
                    return End::Stopped;
                }
                continue;
            };
            // Each record beside the position of its message, so that a stop between two
            // chunks can record how far the sink got.
            let (positions, records): (Vec<OutboxPosition>, Vec<Record>) = batch
                .iter()
                .filter(|m| {
                    let severity = m.severity.as_deref().and_then(|s| s.parse().ok());
                    self.sink.wants(&m.message_type, severity)
                })
                .map(|m| (m.position(), format::render(self.sink.format, m)))
                .unzip();
            let before = held.cursor;
            let mut done = 0;
            let mut ended = None;
            for chunk in records.chunks(self.settings.batch) {
                if let Some(end) = self.deliver(chunk, &mut held, stop).await {
                    ended = Some(end);
                    break;
                }
                if held.cursor != before {
                    // The lease had expired and was retaken after another node moved on: this
                    // batch is stale, read again from there.
                    break;
                }
                done += chunk.len();
                if stop.is_requested() {
                    ended = Some(End::Stopped);
                    break;
                }
            }
            // How far the sink got: the whole batch (skipped messages included); after a clean
            // stop, the last record sent, so that none of it is sent again after the restart
            // (what was not sent is, from there).
            let (to, count) = match ended {
                Some(End::Lost) => return End::Lost,
                Some(End::Stopped) => match done.checked_sub(1).and_then(|i| positions.get(i)) {
                    Some(&to) => (to, done),
                    None => return End::Stopped,
                },
                None if held.cursor != before => continue,
                None => (last, records.len()),
            };
            self.metrics
                .sent
                .get_or_create(&SiemMetrics::labels(&name))
                .inc_by(count as u64);
            let saved = self.save(to, count as u64, &mut held, stop).await;
            if ended.is_some() {
                // Stopping, whether the save went through or not.
                return End::Stopped;
            }
            if let Some(end) = saved {
                return end;
            }
            // Caught up: let messages gather before the next read, rather than reading and
            // moving the cursor (a write) for every message or two as they are committed; longer
            // while ingestion keeps the event writers busy.
            let gather = if busy { BUSY_GATHER } else { poll.min(GATHER) };
            if batch.len() < want && stopped_during(stop, gather).await {
                return End::Stopped;
            }
        }
    }

    /// Sends until it succeeds (`None`, also when a stop came while the send that succeeded was
    /// under way), renewing the lease before each attempt; `Some` when a stop came first or the
    /// lease was lost.
    async fn deliver(
        &mut self,
        records: &[Record],
        held: &mut Held,
        stop: &mut Stop,
    ) -> Option<End> {
        let mut failures = 0u32;
        let before = held.cursor;
        loop {
            if failures > 0 {
                match self.renew(held).await {
                    Ok(true) if held.cursor == before => {}
                    Ok(true) => return None,
                    Ok(false) => return Some(End::Lost),
                    Err(e) => {
                        tracing::warn!(sink.name = %self.sink.name, error = %e, "renewing a SIEM sink's lease failed");
                        let wait = Duration::from_millis(self.settings.poll_ms);
                        if stopped_during(stop, wait).await {
                            return Some(End::Stopped);
                        }
                        continue;
                    }
                }
            }
            let sent = {
                let mut send = std::pin::pin!(self.transport.send(records));
                tokio::select! {
                    biased;
                    sent = &mut send => sent,
                    _ = stop.requested() => {
                        // A clean stop lets a send under way finish, for a moment, so that
                        // what it delivered is recorded and not sent again after the restart
                        // (the webhook worker gives its attempts the same grace).
                        let grace = Duration::from_secs_f64(self.settings.timeout_seconds.min(8.0));
                        return match tokio::time::timeout(grace, send).await {
                            Ok(Ok(())) => None,
                            _ => Some(End::Stopped),
                        };
                    }
                }
            };
            match sent {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(sink.name = %self.sink.name, failures, "SIEM sink recovered");
                    }
                    return None;
                }
                Err(e) => {
                    failures += 1;
                    self.metrics
                        .failures
                        .get_or_create(&SiemMetrics::labels(&self.sink.name))
                        .inc();
                    let wait = backoff(&self.settings, failures);
                    tracing::warn!(
                        sink.name = %self.sink.name,
                        error = %e,
                        attempt = failures,
                        retry_in_ms = wait.as_millis() as u64,
                        "SIEM send failed; retrying"
                    );
                    if stopped_during(stop, wait).await {
                        return Some(End::Stopped);
                    }
                }
            }
        }
    }

    /// Moves the cursor past what was just sent (and extends the lease), only while this node
    /// still holds the lease; `Some` when a stop came first (the batch is then sent again after
    /// the restart: at least once) or the lease was lost (the new holder resends it).
    async fn save(
        &self,
        to: OutboxPosition,
        sent: u64,
        held: &mut Held,
        stop: &mut Stop,
    ) -> Option<End> {
        let wait = Duration::from_millis(self.settings.poll_ms);
        loop {
            let (wall, until) = self.lease_from_now();
            match self
                .store
                .advance_siem_cursor(&self.sink.name, &self.owner, to, sent, wall)
                .await
            {
                Ok(true) => {
                    held.cursor = to;
                    held.until = until;
                    return None;
                }
                Ok(false) => return Some(End::Lost),
                Err(e) => {
                    tracing::warn!(sink.name = %self.sink.name, error = %e, "saving a SIEM cursor failed; retrying");
                    if stopped_during(stop, wait).await {
                        return Some(End::Stopped);
                    }
                }
            }
        }
    }
}

struct Pruner {
    store: Store,
    sinks: Vec<String>,
    after: chrono::Duration,
    every: Duration,
    metrics: SiemMetrics,
}

impl Pruner {
    async fn run(self, mut stop: Stop) {
        loop {
            let before = chrono::Utc::now() - self.after;
            loop {
                match self
                    .store
                    .prune_outbox(&self.sinks, before, PRUNE_BATCH)
                    .await
                {
                    Ok(n) => {
                        self.metrics.pruned.inc_by(n);
                        if n < PRUNE_BATCH {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pruning the outbox failed");
                        break;
                    }
                }
            }
            if stopped_during(&mut stop, self.every).await {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = SiemSettings::default();
        for (n, base) in [(1, 1.0), (2, 2.0), (3, 4.0), (12, 300.0)] {
            let d = backoff(&s, n).as_secs_f64();
            assert!((base * 0.8..=base * 1.2).contains(&d), "retry {n}: {d} s");
        }
    }
}
