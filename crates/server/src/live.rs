//! The live stream: a `tokio::sync::broadcast` fan-out of pre-serialised JSON frames.
//!
//! Publishing never waits for clients. Each client has a bounded queue (the channel's capacity);
//! one that falls behind loses the oldest messages and is told how many with a `lagged` frame.

use std::sync::Arc;
use std::time::Duration;

use futures::{Sink, SinkExt, Stream, StreamExt};
use sentinel_api::Severity;
use sentinel_api::live::{LIVE_TYPES, LiveMessage, LiveSubscribe};
use tokio::sync::{broadcast, mpsc, watch};

/// How long one frame may take to reach a client before it is considered stuck and dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of keep-alive pings.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// A serialised frame and what subscription filters look at.
#[derive(Debug)]
pub struct LiveFrame {
    pub text: Arc<str>,
    pub kind: &'static str,
    pub severity: Option<Severity>,
    pub policy_id: Option<i64>,
}

impl LiveFrame {
    /// A frame received from another node: its metadata is read back from the JSON once.
    pub fn parse(text: Arc<str>) -> Option<Self> {
        let message: LiveMessage = serde_json::from_str(&text).ok()?;
        let (kind, severity, policy_id) = message.meta();
        Some(Self {
            text,
            kind,
            severity,
            policy_id,
        })
    }
}

/// What one client asked to receive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    types: Option<Vec<&'static str>>,
    min_severity: Option<Severity>,
    policy_ids: Option<Vec<i64>>,
}

impl Filter {
    /// Validates a subscription; the error is the client-facing reason.
    pub fn from_subscription(sub: LiveSubscribe) -> Result<Self, String> {
        if sub.kind != "subscribe" {
            return Err(format!(
                "unknown message type `{}`; send type `subscribe`",
                sub.kind
            ));
        }
        let types = match sub.types {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| {
                        LIVE_TYPES.iter().copied().find(|t| t == n).ok_or_else(|| {
                            format!(
                                "unknown frame type `{n}`; expected one of {}",
                                LIVE_TYPES.join(", ")
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Self {
            types,
            min_severity: sub.min_severity,
            policy_ids: sub.policy_ids,
        })
    }

    pub fn accepts(&self, frame: &LiveFrame) -> bool {
        if frame.kind == "lagged" {
            return true;
        }
        if let Some(types) = &self.types
            && !types.contains(&frame.kind)
        {
            return false;
        }
        if let (Some(min), Some(severity)) = (self.min_severity, frame.severity)
            && severity < min
        {
            return false;
        }
        if let (Some(ids), Some(id)) = (&self.policy_ids, frame.policy_id)
            && !ids.contains(&id)
        {
            return false;
        }
        true
    }
}

/// The publishing side, shared by every handler.
#[derive(Clone)]
pub struct LiveHub {
    tx: broadcast::Sender<Arc<LiveFrame>>,
    closed: Arc<watch::Sender<bool>>,
    /// Messages dropped for clients that fell behind, since start.
    lagged: Arc<std::sync::atomic::AtomicU64>,
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
            lagged: Arc::default(),
        }
    }

    /// Messages dropped for clients that fell behind, since start.
    pub fn lagged_total(&self) -> u64 {
        self.lagged.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The counter sessions add their missed messages to.
    pub fn lag_counter(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.lagged.clone()
    }

    /// Sends `message` to every connected client of every node. Never blocks; without clients it
    /// is dropped.
    pub fn publish(&self, message: &LiveMessage) {
        match serde_json::to_string(message) {
            Ok(text) => {
                let text: Arc<str> = Arc::from(text);
                if let Some(relay) = self.relay.get() {
                    let _ = relay.send(text.clone());
                }
                let (kind, severity, policy_id) = message.meta();
                self.publish_local(LiveFrame {
                    text,
                    kind,
                    severity,
                    policy_id,
                });
            }
            Err(e) => tracing::error!(error = %e, "could not serialise a live message"),
        }
    }

    /// Sends a ready frame to this node's clients only (frames that came from another node).
    pub fn publish_local(&self, frame: LiveFrame) {
        // An error only means nobody is listening.
        let _ = self.tx.send(Arc::new(frame));
    }

    /// From now on, every published frame is also handed to `relay`.
    pub fn relay_to(&self, relay: mpsc::UnboundedSender<Arc<str>>) {
        let _ = self.relay.set(relay);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveFrame>> {
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
/// A text message from the client that is a [`LiveSubscribe`] replaces its filter (answered with
/// `{"type":"subscribed",...}`, or `{"type":"error","detail":...}` when invalid); other messages
/// are ignored.
pub async fn run_session<S, R, E>(
    mut sink: S,
    mut stream: R,
    mut rx: broadcast::Receiver<Arc<LiveFrame>>,
    mut closed: watch::Receiver<bool>,
    lagged: Arc<std::sync::atomic::AtomicU64>,
) where
    S: Sink<Frame, Error = E> + Unpin,
    R: Stream<Item = Result<Frame, E>> + Unpin,
{
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut filter = Filter::default();
    loop {
        let outgoing = tokio::select! {
            received = rx.recv() => match received {
                Ok(frame) if filter.accepts(&frame) => Frame::Text(frame.text.to_string()),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    lagged.fetch_add(missed, std::sync::atomic::Ordering::Relaxed);
                    match serde_json::to_string(&LiveMessage::Lagged { missed }) {
                        Ok(text) => Frame::Text(text),
                        Err(_) => continue,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Frame::Close)) | Some(Err(_)) | None => break,
                Some(Ok(Frame::Text(text))) => match subscription(&text) {
                    Some(Ok(new)) => {
                        filter = new;
                        Frame::Text(r#"{"type":"subscribed"}"#.to_owned())
                    }
                    Some(Err(detail)) => Frame::Text(
                        serde_json::json!({ "type": "error", "detail": detail }).to_string(),
                    ),
                    None => continue,
                },
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

/// `None` when the message is not meant as a subscription at all (ignored).
fn subscription(text: &str) -> Option<Result<Filter, String>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if value.get("type").and_then(|t| t.as_str()) != Some("subscribe") {
        return None;
    }
    Some(
        serde_json::from_value::<LiveSubscribe>(value)
            .map_err(|e| format!("invalid subscription: {e}"))
            .and_then(Filter::from_subscription),
    )
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
            hub.lag_counter(),
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
        assert_eq!(hub.lagged_total(), 24);
    }
}
