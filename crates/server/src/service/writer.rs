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

/// How busy a writer is: the time it has spent writing, so that background work (webhook
/// deliveries, SIEM sinks; see [`Load`]) can step aside while ingestion keeps the database's
/// writer busy.
#[derive(Debug, Default)]
pub struct Activity {
    /// Nanoseconds spent writing batches, in total.
    busy_ns: AtomicU64,
}

impl Activity {
    /// Counts `spent` as time spent writing (the writer task does, after each batch).
    pub fn add(&self, spent: Duration) {
        self.busy_ns
            .fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Time spent writing so far.
    pub fn busy(&self) -> Duration {
        Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed))
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

/// Whether ingestion keeps the event writers busy: on SQLite every write of a background worker
/// (a webhook fan-out, claim or batch of recorded attempts; a SIEM cursor move) makes
/// ingestion's transactions wait, so while they are busy the workers hold back and catch up once
/// they are not.
pub struct Load {
    writers: Vec<Arc<Activity>>,
    at: tokio::time::Instant,
    spent: Duration,
    busy: bool,
}

impl Load {
    pub fn new(writers: Vec<Arc<Activity>>) -> Self {
        let spent = writers.iter().map(|w| w.busy()).sum();
        Self {
            writers,
            at: tokio::time::Instant::now(),
            spent,
            busy: false,
        }
    }

    /// Whether the writers spent more than [`BUSY_SHARE`] of the time since the last
    /// measurement writing (measured again once [`LOAD_WINDOW`] has passed).
    pub fn busy(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let elapsed = now - self.at;
        if elapsed >= LOAD_WINDOW {
            let spent: Duration = self.writers.iter().map(|w| w.busy()).sum();
            let share = spent.saturating_sub(self.spent).as_secs_f64() / elapsed.as_secs_f64();
            self.busy = share > BUSY_SHARE;
            self.at = now;
            self.spent = spent;
        }
        self.busy
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
            write_batch(&self.store, batch).await;
            self.activity.add(started.elapsed());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_writers_count_as_busy_only_while_they_spend_over_half_the_time_writing() {
        let (a, b) = (Arc::new(Activity::default()), Arc::new(Activity::default()));
        let mut load = Load::new(vec![a.clone(), b.clone()]);
        assert!(!load.busy(), "idle at first");
        // Far more writing than time passed: busy, whichever writer did it.
        b.add(Duration::from_secs(60));
        tokio::time::sleep(LOAD_WINDOW).await;
        assert!(load.busy());
        // A window without writing: not busy any more.
        tokio::time::sleep(LOAD_WINDOW).await;
        assert!(!load.busy());
        a.add(Duration::from_secs(60));
        tokio::time::sleep(LOAD_WINDOW).await;
        assert!(load.busy());
    }
}
