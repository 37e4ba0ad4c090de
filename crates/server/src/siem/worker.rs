//! One task per sink: read the outbox after the sink's cursor, render what the sink wants, send
//! it, then move the cursor. A failed send is retried with exponential backoff and jitter until
//! it succeeds (a sink never skips a message); a stop in the middle leaves the cursor where it
//! was, so the batch is sent again after the restart (at least once). One more task prunes the
//! outbox behind the slowest reader.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use rand::Rng;
use sentinel_store::{OutboxPosition, Store};

use crate::settings::{SiemSettings, SinkSettings};
use crate::siem::format::{self, Record};
use crate::siem::transport::{self, Transport};
use crate::tasks::{Stop, Tasks};

/// Outbox rows deleted per statement.
const PRUNE_BATCH: u64 = 1000;

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
    tasks: &mut Tasks,
) -> Result<(), String> {
    let timeout = Duration::from_secs_f64(settings.timeout_seconds);
    let mut workers = Vec::new();
    for sink in &settings.sinks {
        workers.push(SinkWorker {
            store: store.clone(),
            transport: transport::build(sink, timeout)?,
            sink: sink.clone(),
            settings: Arc::new(settings.clone()),
            metrics: metrics.clone(),
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
}

impl SinkWorker {
    async fn run(mut self, mut stop: Stop) {
        let name = self.sink.name.clone();
        let poll = Duration::from_millis(self.settings.poll_ms);
        let mut cursor = loop {
            match self.store.siem_cursor(&name).await {
                Ok(c) => break c.position,
                Err(e) => {
                    tracing::warn!(sink.name = %name, error = %e, "reading a SIEM sink's cursor failed");
                    if stopped_during(&mut stop, poll).await {
                        return;
                    }
                }
            }
        };
        loop {
            let batch = match self
                .store
                .siem_messages(cursor, self.settings.batch as u64)
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(sink.name = %name, error = %e, "reading the outbox failed");
                    if stopped_during(&mut stop, poll).await {
                        return;
                    }
                    continue;
                }
            };
            let Some(last) = batch.last().map(|m| m.position()) else {
                if stopped_during(&mut stop, poll).await {
                    return;
                }
                continue;
            };
            let records: Vec<Record> = batch
                .iter()
                .filter(|m| {
                    let severity = m.severity.as_deref().and_then(|s| s.parse().ok());
                    self.sink.wants(&m.message_type, severity)
                })
                .map(|m| format::render(self.sink.format, m))
                .collect();
            if !records.is_empty() && !self.deliver(&records, &mut stop).await {
                return;
            }
            self.metrics
                .sent
                .get_or_create(&SiemMetrics::labels(&name))
                .inc_by(records.len() as u64);
            if !self.save(last, records.len() as u64, &mut stop).await {
                return;
            }
            cursor = last;
        }
    }

    /// Sends until it succeeds; false when a stop came first.
    async fn deliver(&mut self, records: &[Record], stop: &mut Stop) -> bool {
        let mut failures = 0u32;
        loop {
            let sent = tokio::select! {
                _ = stop.requested() => return false,
                sent = self.transport.send(records) => sent,
            };
            match sent {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(sink.name = %self.sink.name, failures, "SIEM sink recovered");
                    }
                    return true;
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
                        return false;
                    }
                }
            }
        }
    }

    /// Persists the cursor; false when a stop came first (the batch is then sent again after
    /// the restart: at least once).
    async fn save(&self, to: OutboxPosition, sent: u64, stop: &mut Stop) -> bool {
        let wait = Duration::from_millis(self.settings.poll_ms);
        loop {
            match self
                .store
                .advance_siem_cursor(&self.sink.name, to, sent)
                .await
            {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(sink.name = %self.sink.name, error = %e, "saving a SIEM cursor failed; retrying");
                    if stopped_during(stop, wait).await {
                        return false;
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
