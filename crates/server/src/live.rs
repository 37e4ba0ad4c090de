//! The live stream: a `tokio::sync::broadcast` fan-out of pre-serialised JSON frames.
//!
//! Publishing never waits for clients. Each client has a bounded queue (the channel's capacity);
//! one that falls behind loses the oldest messages and is told how many with a `lagged` frame.

use std::sync::Arc;
use std::time::Duration;

use futures::{Sink, SinkExt, Stream, StreamExt};
use sentinel_api::live::LiveMessage;
use tokio::sync::{broadcast, mpsc, watch};

/// How long one frame may take to reach a client before it is considered stuck and dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of keep-alive pings.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// The publishing side, shared by every handler.
#[derive(Clone)]
pub struct LiveHub {
    tx: broadcast::Sender<Arc<str>>,
    closed: Arc<watch::Sender<bool>>,
    /// Where published frames also go to reach other nodes (see `cluster.rs`).
    relay: Arc<std::sync::OnceLock<mpsc::UnboundedSender<Arc<str>>>>,
}

impl LiveHub {
    pub fn new(queue: usize) -> Self {
        let (tx, _) = broadcast::channel(queue.max(16));
        let (closed, _) = watch::channel(false);
        Self {
            tx,
            closed: Arc::new(closed),
            relay: Arc::default(),
        }
    }

    /// Sends `message` to every connected client of every node. Never blocks; without clients it
    /// is dropped.
    pub fn publish(&self, message: &LiveMessage) {
        match serde_json::to_string(message) {
            Ok(text) => {
                let frame: Arc<str> = Arc::from(text);
                if let Some(relay) = self.relay.get() {
                    let _ = relay.send(frame.clone());
                }
                self.publish_local(frame);
            }
            Err(e) => tracing::error!(error = %e, "could not serialise a live message"),
        }
    }

    /// Sends a ready frame to this node's clients only (frames that came from another node).
    pub fn publish_local(&self, frame: Arc<str>) {
        // An error only means nobody is listening.
        let _ = self.tx.send(frame);
    }

    /// From now on, every published frame is also handed to `relay`.
    pub fn relay_to(&self, relay: mpsc::UnboundedSender<Arc<str>>) {
        let _ = self.relay.set(relay);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.tx.subscribe()
    }

    /// Number of connected clients.
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Ends every session (graceful shutdown).
    pub fn close(&self) {
        let _ = self.closed.send(true);
    }

    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}

/// A frame for or from a client, independent of the WebSocket library so the loop can be tested.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Text(String),
    Ping,
    Close,
    Other,
}

/// Runs one client session until the client leaves, gets stuck or the server shuts down.
/// Messages from the client are read (to notice it leaving) and otherwise ignored.
pub async fn run_session<S, R, E>(
    mut sink: S,
    mut stream: R,
    mut rx: broadcast::Receiver<Arc<str>>,
    mut closed: watch::Receiver<bool>,
) where
    S: Sink<Frame, Error = E> + Unpin,
    R: Stream<Item = Result<Frame, E>> + Unpin,
{
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        let outgoing = tokio::select! {
            received = rx.recv() => match received {
                Ok(text) => Frame::Text(text.to_string()),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    match serde_json::to_string(&LiveMessage::Lagged { missed }) {
                        Ok(text) => Frame::Text(text),
                        Err(_) => continue,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Frame::Close)) | Some(Err(_)) | None => break,
                Some(Ok(_)) => continue,
            },
            _ = heartbeat.tick() => Frame::Ping,
            _ = closed.changed() => break,
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(outgoing)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(Frame::Close)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use sentinel_api::EventStatus;
    use sentinel_api::live::LiveEventUpdate;

    fn update(id: i64) -> LiveMessage {
        LiveMessage::EventUpdated {
            event: LiveEventUpdate {
                id,
                status: EventStatus::Acknowledged,
                acknowledged_by: None,
            },
        }
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_told_how_much_it_missed() {
        let hub = LiveHub::new(16);
        let rx = hub.subscribe();
        for id in 0..40 {
            hub.publish(&update(id));
        }
        let (sink_tx, mut sink_rx) = mpsc::unbounded::<Frame>();
        let (in_tx, in_rx) = mpsc::unbounded::<Result<Frame, ()>>();
        let session = tokio::spawn(run_session(
            sink_tx.sink_map_err(|_| ()),
            in_rx,
            rx,
            hub.closed(),
        ));
        let first = sink_rx.next().await.unwrap();
        assert_eq!(
            first,
            Frame::Text(r#"{"type":"lagged","missed":24}"#.into())
        );
        let next = sink_rx.next().await.unwrap();
        assert_eq!(
            next,
            Frame::Text(serde_json::to_string(&update(24)).unwrap())
        );
        drop(in_tx);
        session.await.unwrap();
    }
}
