//! Group commit for events: the calls that end together are written in one transaction.
//! The model gateway records its calls through one writer, and `POST /api/events/` through
//! another that never lingers.
//!
//! SQLite has one writer, so a hundred gateway streams that end in the same millisecond would
//! otherwise queue for a hundred transactions. Each caller hands its event to the writer task
//! and can wait until the transaction that holds it has committed. The writer takes whatever is
//! queued within its linger time after the first event (up to [`BATCH`] events), writes it with
//! [`Store::create_events`], and announces each event on the live stream. A batch that fails
//! is written again one event at a time, so one bad event never takes the others with it.

use sentinel_store::{EventRecord, NewEvent, NewViolation, Store, StoreError, ViolationRecord};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::tasks::Stop;

/// Events written in one transaction at most.
const BATCH: usize = 128;

/// Events waiting for the writer at most; a caller beyond it waits for room.
const QUEUE: usize = 4096;

type Stored = Result<(EventRecord, Vec<ViolationRecord>), StoreError>;

struct Pending {
    event: NewEvent,
    violations: Vec<NewViolation>,
    done: oneshot::Sender<Stored>,
}

/// The callers' side: hands an event to the writer task.
#[derive(Clone)]
pub struct EventWriter {
    store: Store,
    tx: mpsc::Sender<Pending>,
    activity: Arc<Activity>,
}

/// How busy a writer is: the time it has spent writing and the events it wrote, so that
/// background work (webhook deliveries, SIEM sinks; see [`Load`]) can step aside while
/// ingestion keeps the database's writer busy, and pace itself by ingestion's own rate.
#[derive(Debug, Default)]
pub struct Activity {
    /// Nanoseconds spent writing batches, in total.
    busy_ns: AtomicU64,
    /// Events written, in total.
    events: AtomicU64,
}

impl Activity {
    /// Counts `spent` as time spent writing `events` events (the writer task does, after each
    /// batch).
    pub fn add(&self, spent: Duration, events: u64) {
        self.busy_ns
            .fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
    }

    /// Time spent writing so far.
    pub fn busy(&self) -> Duration {
        Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed))
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
}

/// The writer task's side, until it is started.
pub struct WriterTask {
    store: Store,
    rx: mpsc::Receiver<Pending>,
    linger: Duration,
    activity: Arc<Activity>,
}

impl EventWriter {
    /// A writer that, after the first event of a batch, waits up to `linger` for more (zero when
    /// callers wait for the commit; a few milliseconds when they do not, so that calls arriving
    /// one after another share a transaction instead of each paying for one).
    pub fn new(store: Store, linger: Duration) -> (EventWriter, WriterTask) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let activity = Arc::new(Activity::default());
        (
            EventWriter {
                store: store.clone(),
                tx,
                activity: activity.clone(),
            },
            WriterTask {
                store,
                rx,
                linger,
                activity,
            },
        )
    }

    /// How busy this writer's task is.
    pub fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    /// Queues the event with its violations; the answer says when they are committed. When the
    /// writer task is gone (the application is stopping), the event is written here and now.
    pub async fn submit(&self, event: NewEvent, violations: Vec<NewViolation>) -> Submitted {
        let (done, committed) = oneshot::channel();
        let pending = Pending {
            event,
            violations,
            done,
        };
        match self.tx.send(pending).await {
            Ok(()) => Submitted::Queued(committed),
            Err(mpsc::error::SendError(p)) => Submitted::Written(Box::new(
                self.store.create_event(p.event, p.violations).await,
            )),
        }
    }
}

/// The share of the time spent writing events above which the event writers count as busy.
pub const BUSY_SHARE: f64 = 0.5;

/// The shortest time over which that share is measured.
pub const LOAD_WINDOW: Duration = Duration::from_millis(50);

/// The time over which the rate of events written is averaged (exponentially: a measurement
/// over this long or longer replaces the rate; a shorter one moves it by its share of this).
pub const RATE_WINDOW: Duration = Duration::from_secs(1);

/// Whether ingestion keeps the event writers busy: on SQLite every write of a background worker
/// (a webhook fan-out, claim or batch of recorded attempts; a SIEM cursor move) makes
/// ingestion's transactions wait, so while they are busy the workers hold back and catch up once
/// they are not.
pub struct Load {
    writers: Vec<Arc<Activity>>,
    at: tokio::time::Instant,
    spent: Duration,
    events: u64,
    busy: bool,
    /// Events written a second, averaged over about [`RATE_WINDOW`].
    rate: f64,
}

impl Load {
    pub fn new(writers: Vec<Arc<Activity>>) -> Self {
        let spent = writers.iter().map(|w| w.busy()).sum();
        let events = writers.iter().map(|w| w.events()).sum();
        Self {
            writers,
            at: tokio::time::Instant::now(),
            spent,
            events,
            busy: false,
            rate: 0.0,
        }
    }

    /// Whether the writers spent more than [`BUSY_SHARE`] of the time since the last
    /// measurement writing (measured again once [`LOAD_WINDOW`] has passed).
    pub fn busy(&mut self) -> bool {
        self.measure();
        self.busy
    }

    /// The events the writers wrote a second lately (measured with [`busy`](Self::busy)).
    pub fn events_per_second(&mut self) -> f64 {
        self.measure();
        self.rate
    }

    fn measure(&mut self) {
        self.measure_at(tokio::time::Instant::now());
    }

    fn measure_at(&mut self, now: tokio::time::Instant) {
        let elapsed = now.saturating_duration_since(self.at);
        if elapsed < LOAD_WINDOW {
            return;
        }
        let spent: Duration = self.writers.iter().map(|w| w.busy()).sum();
        let events: u64 = self.writers.iter().map(|w| w.events()).sum();
        let seconds = elapsed.as_secs_f64();
        self.busy = spent.saturating_sub(self.spent).as_secs_f64() / seconds > BUSY_SHARE;
        let rate = events.saturating_sub(self.events) as f64 / seconds;
        let weight = (seconds / RATE_WINDOW.as_secs_f64()).min(1.0);
        self.rate += (rate - self.rate) * weight;
        self.at = now;
        self.spent = spent;
        self.events = events;
    }
}

/// An event handed to the writer.
pub enum Submitted {
    /// Queued: the writer answers once committed.
    Queued(oneshot::Receiver<Stored>),
    /// Written directly (the writer task had stopped).
    Written(Box<Stored>),
}

impl Submitted {
    /// The stored event and violations, once committed.
    pub async fn committed(self) -> Stored {
        match self {
            Submitted::Written(stored) => *stored,
            Submitted::Queued(rx) => rx.await.unwrap_or_else(|_| {
                Err(StoreError::Corrupt {
                    column: "events",
                    value: "the event writer stopped before answering".into(),
                })
            }),
        }
    }
}

impl WriterTask {
    /// Runs [`run`](Self::run) on a thread of its own on SQLite (on PostgreSQL, here).
    ///
    /// On SQLite this task is ingestion's bottleneck: it holds the database's one write lock
    /// nearly all the time while events pour in, and each of its statements is a round trip to
    /// the connection's thread. On the shared runtime every round trip waits for a worker
    /// thread, and so behind whatever webhook deliveries, SIEM sends and requests are queued
    /// there. On its own thread it is woken at once. (PostgreSQL has no single writer, and its
    /// connections belong to the runtime that opened them, so it stays on the shared one.)
    pub async fn run_dedicated(self, stop: Stop) {
        if self.store.backend() != sentinel_store::Backend::Sqlite {
            return self.run(stop).await;
        }
        let (ended, end) = oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("sentinel-event-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(self.run(stop)),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the event writer's runtime")
                    }
                }
                let _ = ended.send(());
            });
        match spawned {
            Ok(_) => {
                let _ = end.await;
            }
            Err(e) => tracing::error!(error = %e, "cannot start the event writer's thread"),
        }
    }

    /// Writes batches until asked to stop, then writes what is still queued.
    pub async fn run(mut self, mut stop: Stop) {
        loop {
            let first = tokio::select! {
                p = self.rx.recv() => p,
                () = stop.requested() => None,
            };
            let Some(first) = first else { break };
            if !self.linger.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(self.linger) => {}
                    () = stop.requested() => {}
                }
            }
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            let started = Instant::now();
            let events = batch.len() as u64;
            write_batch(&self.store, batch).await;
            self.activity.add(started.elapsed(), events);
        }
        self.rx.close();
        let mut rest = Vec::new();
        while let Some(p) = self.rx.recv().await {
            rest.push(p);
            if rest.len() == BATCH {
                write_batch(&self.store, std::mem::take(&mut rest)).await;
            }
        }
        if !rest.is_empty() {
            write_batch(&self.store, rest).await;
        }
    }
}

async fn write_batch(store: &Store, batch: Vec<Pending>) {
    if batch.len() == 1 {
        return write_each(store, batch).await;
    }
    let rows = batch
        .iter()
        .map(|p| (p.event.clone(), p.violations.clone()))
        .collect();
    match store.create_events(rows).await {
        Ok(stored) => {
            for (p, s) in batch.into_iter().zip(stored) {
                let _ = p.done.send(Ok(s));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, events = batch.len(), "a batch of events failed; writing them one by one");
            write_each(store, batch).await;
        }
    }
}

/// Writes each event in its own transaction and answers its caller.
async fn write_each(store: &Store, batch: Vec<Pending>) {
    for p in batch {
        let stored = store.create_event(p.event, p.violations).await;
        let _ = p.done.send(stored);
    }
}

// The store tests' minimal rows (the server's integration tests include them the same way).
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../../store/tests/common/mod.rs"]
mod common;

#[cfg(test)]
mod tests {
    use super::*;

    /// The threads of this process named `name` (Linux: `/proc/self/task/*/comm`).
    fn threads_named(name: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                    .filter(|comm| comm.trim_end() == name)
                    .count()
            })
            .unwrap_or(0)
    }

    /// On SQLite the writer runs on a thread of its own, writes what it is handed, and when
    /// asked to stop, ends with its thread.
    #[tokio::test]
    async fn on_sqlite_the_writer_has_its_own_thread() {
        // Thread names are cut to 15 bytes.
        const NAME: &str = "sentinel-event-";
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
        let store = Store::open(&url).await.unwrap();
        let before = threads_named(NAME);
        let (writer, task) = EventWriter::new(store.clone(), Duration::ZERO);
        let shutdown = crate::tasks::Shutdown::new();
        let running = tokio::spawn(task.run_dedicated(shutdown.token()));
        let event = common::new_event("evt_dedicated", chrono::Utc::now());
        let (stored, _) = writer
            .submit(event, Vec::new())
            .await
            .committed()
            .await
            .unwrap();
        assert_eq!(stored.event_id, "evt_dedicated");
        assert!(threads_named(NAME) > before, "the writer's own thread");
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the writer stops when asked")
            .unwrap();
        // The thread answers just before it exits.
        let deadline = Instant::now() + Duration::from_secs(10);
        while threads_named(NAME) > before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(threads_named(NAME), before, "its thread has ended");
    }

    #[tokio::test]
    async fn the_writers_count_as_busy_only_while_they_spend_over_half_the_time_writing() {
        let (a, b) = (Arc::new(Activity::default()), Arc::new(Activity::default()));
        let mut load = Load::new(vec![a.clone(), b.clone()]);
        assert!(!load.busy(), "idle at first");
        // Far more writing than time passed: busy, whichever writer did it.
        b.add(Duration::from_secs(60), 0);
        tokio::time::sleep(LOAD_WINDOW).await;
        assert!(load.busy());
        // A window without writing: not busy any more.
        tokio::time::sleep(LOAD_WINDOW).await;
        assert!(!load.busy());
        a.add(Duration::from_secs(60), 0);
        tokio::time::sleep(LOAD_WINDOW).await;
        assert!(load.busy());
    }

    #[test]
    fn the_rate_of_events_follows_what_the_writers_wrote_lately() {
        let (a, b) = (Arc::new(Activity::default()), Arc::new(Activity::default()));
        a.add(Duration::ZERO, 1_000_000);
        let mut load = Load::new(vec![a.clone(), b.clone()]);
        let start = load.at;
        let rate_at = |load: &mut Load, after: Duration| {
            load.measure_at(start + after);
            load.rate
        };
        assert_eq!(
            rate_at(&mut load, LOAD_WINDOW),
            0.0,
            "what was written before does not count"
        );
        // 300 events over a second, from both writers: the rate is theirs.
        a.add(Duration::ZERO, 100);
        b.add(Duration::ZERO, 200);
        let second = LOAD_WINDOW + RATE_WINDOW;
        assert_eq!(rate_at(&mut load, second), 300.0);
        // Within the load window nothing is measured again.
        a.add(Duration::ZERO, 1_000);
        assert_eq!(rate_at(&mut load, second + LOAD_WINDOW / 2), 300.0);
        // A tenth of the rate window at 1,000 events (10,000 a second) moves the rate a tenth of
        // the way there.
        let rate = rate_at(&mut load, second + RATE_WINDOW / 10);
        assert!((rate - 1_270.0).abs() < 1e-6, "{rate}");
        // A second without events: none a second.
        assert_eq!(rate_at(&mut load, second * 2 + RATE_WINDOW / 10), 0.0);
    }
}
