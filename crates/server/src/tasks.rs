//! Background tasks and the token that stops them.
//!
//! Every task the application starts (retention, live demo traffic, the cluster relay and
//! listener) is spawned through [`Tasks`] with a [`Stop`] token, and stops by itself at a point
//! where stopping is safe (between two retention runs, while demo traffic sleeps, between two
//! notifications), never in the middle of a write. [`Tasks::stop`] asks them all and waits.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Asks the tasks to stop; they also stop when it is dropped.
#[derive(Debug)]
pub struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }

    /// A token that completes when stopping is asked.
    pub fn token(&self) -> Stop {
        Stop(self.0.subscribe())
    }

    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// A task's side of [`Shutdown`].
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Completes once stopping is asked (or the sender is gone).
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether stopping has been asked (or the sender is gone), without waiting.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }
}

/// Any `watch` flag that turns `true` once can stop a task, for instance the live hub's
/// [`closed`](crate::live::LiveHub::closed).
impl From<watch::Receiver<bool>> for Stop {
    fn from(flag: watch::Receiver<bool>) -> Self {
        Self(flag)
    }
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEnd {
    /// It returned after being asked to stop.
    Finished,
    /// It panicked.
    Panicked,
    /// It had not stopped within the grace period and was aborted.
    Aborted,
}

/// The background tasks of one application.
#[derive(Debug, Default)]
pub struct Tasks {
    shutdown: Shutdown,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

/// How long [`Tasks::stop`] waits for a task before aborting it.
const GRACE: Duration = Duration::from_secs(10);

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns `task`, handing it the stop token.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, task: F)
    where
        F: FnOnce(Stop) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task(self.shutdown.token()));
        self.running.push((name, handle));
    }

    /// The names of the tasks, in start order.
    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|(name, _)| *name).collect()
    }

    /// A token that completes when [`stop`](Self::stop) is called.
    pub fn token(&self) -> Stop {
        self.shutdown.token()
    }

    /// Asks every task to stop and waits for each (aborting one that takes longer than 10 s).
    /// Returns how each ended, in start order.
    pub async fn stop(self) -> Vec<(&'static str, TaskEnd)> {
        self.shutdown.trigger();
        let mut ended = Vec::with_capacity(self.running.len());
        for (name, mut handle) in self.running {
            let end = match tokio::time::timeout(GRACE, &mut handle).await {
                Ok(Ok(())) => TaskEnd::Finished,
                Ok(Err(e)) if e.is_panic() => TaskEnd::Panicked,
                Ok(Err(_)) => TaskEnd::Aborted,
                Err(_) => {
                    handle.abort();
                    let _ = handle.await;
                    TaskEnd::Aborted
                }
            };
            if end != TaskEnd::Finished {
                tracing::warn!(task = name, ?end, "background task did not stop cleanly");
            }
            ended.push((name, end));
        }
        ended
    }
}
