//! The live stream: a `tokio::sync::broadcast` fan-out of pre-serialised JSON frames, coalesced
//! into batches.
//!
//! Publishing never waits for clients: a message is appended to the pending batch, and one
//! flusher task hands the batch to every client at most once per [`COALESCE`] interval. A burst
//! of 5,000 messages a second therefore wakes each client twenty times a second instead of 5,000
//! times. A message that arrives after a quiet spell goes out at once.
//!
//! The flusher also encodes the batch once as WebSocket frames. Server frames are not masked, so
//! those bytes are the same for every client: a client without a filter writes the shared bytes
//! with one write, and only filtered or lagging clients encode their own selection.
//!
//! Every message has a sequence number. Each client has a bounded queue (the channel's capacity,
//! in batches); one that falls behind loses the oldest batches and is told exactly how many
//! messages it missed with a `lagged` frame.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sentinel_api::Severity;
use sentinel_api::live::{LIVE_TYPES, LiveMessage, LiveSubscribe};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// How long one batch may take to reach a client before it is considered stuck and dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of keep-alive pings.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// Shortest time between two batches: the most a message waits for others to join it.
pub const COALESCE: Duration = Duration::from_millis(50);
/// Largest batch; a publisher that fills one hands it over without waiting for the flusher.
const MAX_BATCH: usize = 256;

/// A serialised message and what subscription filters look at.
#[derive(Debug)]
pub struct LiveFrame {
    /// The JSON text.
    pub text: Bytes,
    pub kind: &'static str,
    pub severity: Option<Severity>,
    pub policy_id: Option<i64>,
}

impl LiveFrame {
    /// A frame received from another node: its metadata is read back from the JSON once.
    pub fn parse(text: &str) -> Option<Self> {
        let message: LiveMessage = serde_json::from_str(text).ok()?;
        let (kind, severity, policy_id) = message.meta();
        Some(Self {
            text: Bytes::copy_from_slice(text.as_bytes()),
            kind,
            severity,
            policy_id,
        })
    }
}

/// Consecutive messages: `frames[i]` has sequence number `first_seq + i`.
#[derive(Debug, Default)]
pub struct Batch {
    pub first_seq: u64,
    pub frames: Vec<LiveFrame>,
    /// Every frame encoded as a WebSocket text frame, in order (filled when handed over).
    pub encoded: Bytes,
}

/// Appends `text` as one unmasked, final WebSocket text frame.
pub fn encode_text(out: &mut Vec<u8>, text: &[u8]) {
    let header = FrameHeader {
        is_final: true,
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    // Writing into a Vec cannot fail.
    let _ = header.format(text.len() as u64, out);
    out.extend_from_slice(text);
}

/// An empty ping frame.
const PING: &[u8] = &[0x89, 0x00];

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

    /// True for the default subscription, which takes every frame.
    pub fn accepts_all(&self) -> bool {
        self.types.is_none() && self.min_severity.is_none() && self.policy_ids.is_none()
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
    inner: Arc<Inner>,
}

struct Inner {
    tx: broadcast::Sender<Arc<Batch>>,
    /// Messages not yet handed to the clients, and the sequence number of the first of them.
    pending: Mutex<Batch>,
    /// Wakes the flusher when the pending batch was empty (and when the hub is dropped).
    wake: Arc<Notify>,
    closed: watch::Sender<bool>,
    /// Messages dropped for clients that fell behind, since start.
    lagged: Arc<AtomicU64>,
    /// Where published frames also go to reach other nodes (see `cluster.rs`).
    relay: std::sync::OnceLock<mpsc::UnboundedSender<Arc<str>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

impl Inner {
    /// Hands the pending messages to the clients. The lock is held while sending so that
    /// [`LiveHub::subscribe`] sees batches and sequence numbers in step. An error from `send` only
    /// means nobody is listening.
    fn flush(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.frames.is_empty() {
            return;
        }
        let next = pending.first_seq + pending.frames.len() as u64;
        let mut batch = std::mem::replace(
            &mut *pending,
            Batch {
                first_seq: next,
                ..Batch::default()
            },
        );
        let mut encoded = Vec::with_capacity(batch.frames.iter().map(|f| f.text.len() + 10).sum());
        for frame in &batch.frames {
            encode_text(&mut encoded, &frame.text);
        }
        batch.encoded = Bytes::from(encoded);
        let _ = self.tx.send(Arc::new(batch));
    }
}

impl LiveHub {
    /// A hub whose clients may fall `queue` batches behind. Starts the flusher task, so it must
    /// be called within a Tokio runtime.
    pub fn new(queue: usize) -> Self {
        let (tx, _) = broadcast::channel(queue.max(16));
        let (closed, _) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            tx,
            pending: Mutex::new(Batch::default()),
            wake: wake.clone(),
            closed,
            relay: std::sync::OnceLock::new(),
            lagged: Arc::default(),
        });
        tokio::spawn(flusher(
            Arc::downgrade(&inner),
            wake,
            inner.closed.subscribe(),
        ));
        Self { inner }
    }

    /// Messages dropped for clients that fell behind, since start.
    pub fn lagged_total(&self) -> u64 {
        self.inner.lagged.load(Ordering::Relaxed)
    }

    /// The counter sessions add their missed messages to.
    pub fn lag_counter(&self) -> Arc<AtomicU64> {
        self.inner.lagged.clone()
    }

    /// Sends `message` to every connected client of every node. Never blocks; without clients it
    /// is dropped.
    pub fn publish(&self, message: &LiveMessage) {
        match serde_json::to_string(message) {
            Ok(text) => {
                if let Some(relay) = self.inner.relay.get() {
                    let _ = relay.send(Arc::from(text.as_str()));
                }
                let (kind, severity, policy_id) = message.meta();
                self.publish_local(LiveFrame {
                    text: Bytes::from(text),
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
        if self.inner.tx.receiver_count() == 0 {
            return;
        }
        let len = {
            let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.frames.push(frame);
            pending.frames.len()
        };
        if len == 1 {
            self.inner.wake.notify_one();
        } else if len >= MAX_BATCH {
            self.inner.flush();
        }
    }

    /// From now on, every published frame is also handed to `relay`.
    pub fn relay_to(&self, relay: mpsc::UnboundedSender<Arc<str>>) {
        let _ = self.inner.relay.set(relay);
    }

    /// A new client's place: it is owed every message not yet handed to the clients.
    pub fn subscribe(&self) -> Subscription {
        // Under the lock, so no batch is handed over between the two readings.
        let pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
        Subscription {
            rx: self.inner.tx.subscribe(),
            next_seq: pending.first_seq,
        }
    }

    /// Number of connected clients.
    pub fn clients(&self) -> usize {
        self.inner.tx.receiver_count()
    }

    /// Ends every session (graceful shutdown).
    pub fn close(&self) {
        let _ = self.inner.closed.send(true);
    }

    pub fn closed(&self) -> watch::Receiver<bool> {
        self.inner.closed.subscribe()
    }
}

/// Hands the pending batch over when the first message of it arrives, but not sooner than
/// [`COALESCE`] after the previous batch. Ends when the hub is closed (at shutdown, when the
/// sessions end too) or dropped.
async fn flusher(hub: Weak<Inner>, wake: Arc<Notify>, mut closed: watch::Receiver<bool>) {
    let mut last = Instant::now() - COALESCE;
    loop {
        tokio::select! {
            () = wake.notified() => {}
            _ = closed.wait_for(|closed| *closed) => return,
        }
        tokio::time::sleep_until(last + COALESCE).await;
        let Some(inner) = hub.upgrade() else { return };
        inner.flush();
        last = Instant::now();
    }
}

/// A client's place in the stream: its receiver and the sequence number of the next message it
/// is owed.
pub struct Subscription {
    rx: broadcast::Receiver<Arc<Batch>>,
    next_seq: u64,
}

/// A message from a client, independent of the WebSocket library so the loop can be tested.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Text(String),
    Close,
    /// Anything else (pings are answered by the WebSocket library).
    Other,
}

/// The connection of one client: a stream of what the client sends, and a way to send it frames
/// that are already encoded.
pub trait LiveSocket: Stream<Item = Result<Frame, Self::Error>> + Unpin + Send {
    type Error: Send;
    /// Writes `chunks` of encoded WebSocket frames, in order, after anything the connection
    /// itself still holds, and flushes.
    fn send_encoded(
        &mut self,
        chunks: &[Bytes],
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send;
    /// Sends a close frame.
    fn close(&mut self) -> impl std::future::Future<Output = ()> + Send;
}

/// Runs one client session until the client leaves, gets stuck or the server shuts down.
/// A text message from the client that is a [`LiveSubscribe`] replaces its filter (answered with
/// `{"type":"subscribed",...}`, or `{"type":"error","detail":...}` when invalid); other messages
/// are ignored. Whatever is ready is sent with one write: the shared encoding of each batch when
/// the client takes everything, its own selection otherwise.
pub async fn run_session<S: LiveSocket>(
    mut socket: S,
    subscription: Subscription,
    mut closed: watch::Receiver<bool>,
    lagged: Arc<AtomicU64>,
) {
    let Subscription {
        mut rx,
        mut next_seq,
    } = subscription;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut filter = Filter::default();
    let mut out: Vec<Bytes> = Vec::new();
    loop {
        tokio::select! {
            received = rx.recv() => match received {
                Ok(batch) => {
                    select_frames(&batch, &filter, &mut next_seq, &lagged, &mut out);
                    // Whatever else is already queued goes out with the same write.
                    loop {
                        match rx.try_recv() {
                            Ok(batch) => select_frames(&batch, &filter, &mut next_seq, &lagged, &mut out),
                            Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                            Err(_) => break,
                        }
                    }
                }
                // The next batch's sequence number tells how many messages were missed.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Frame::Close)) | Some(Err(_)) | None => break,
                Some(Ok(Frame::Text(text))) => match parse_subscription(&text) {
                    Some(Ok(new)) => {
                        filter = new;
                        out.push(encoded(br#"{"type":"subscribed"}"#));
                    }
                    Some(Err(detail)) => out.push(encoded(
                        serde_json::json!({ "type": "error", "detail": detail }).to_string().as_bytes(),
                    )),
                    None => continue,
                },
                Some(Ok(_)) => continue,
            },
            _ = heartbeat.tick() => out.push(Bytes::from_static(PING)),
            _ = closed.changed() => break,
        };
        if out.is_empty() {
            continue;
        }
        let sent = tokio::time::timeout(SEND_TIMEOUT, socket.send_encoded(&out)).await;
        out.clear();
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close()).await;
}

/// `text` as one encoded frame.
fn encoded(text: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(text.len() + 10);
    encode_text(&mut out, text);
    Bytes::from(out)
}

/// Appends what the client is owed of `batch` and wants to `out`, preceded by a `lagged` frame
/// when messages before the batch were lost: the batch's shared encoding when that is all of
/// it, the client's own selection otherwise.
fn select_frames(
    batch: &Batch,
    filter: &Filter,
    next_seq: &mut u64,
    lagged: &AtomicU64,
    out: &mut Vec<Bytes>,
) {
    if batch.first_seq > *next_seq {
        let missed = batch.first_seq - *next_seq;
        lagged.fetch_add(missed, Ordering::Relaxed);
        if let Ok(text) = serde_json::to_string(&LiveMessage::Lagged { missed }) {
            out.push(encoded(text.as_bytes()));
        }
    }
    let skip = next_seq.saturating_sub(batch.first_seq) as usize;
    *next_seq = (*next_seq).max(batch.first_seq + batch.frames.len() as u64);
    if skip == 0 && filter.accepts_all() {
        if !batch.encoded.is_empty() {
            out.push(batch.encoded.clone());
        }
        return;
    }
    let mut own = Vec::new();
    for frame in batch.frames.iter().skip(skip).filter(|f| filter.accepts(f)) {
        encode_text(&mut own, &frame.text);
    }
    if !own.is_empty() {
        out.push(Bytes::from(own));
    }
}

/// `None` when the message is not meant as a subscription at all (ignored).
fn parse_subscription(text: &str) -> Option<Result<Filter, String>> {
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
    use sentinel_api::EventStatus;
    use sentinel_api::live::LiveEventUpdate;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::Control;

    fn update(id: i64) -> LiveMessage {
        LiveMessage::EventUpdated {
            event: LiveEventUpdate {
                id,
                status: EventStatus::Acknowledged,
                acknowledged_by: None,
            },
        }
    }

    /// A client connection that records what the session writes, fed by a channel.
    struct Recorder {
        incoming: futures::channel::mpsc::UnboundedReceiver<Result<Frame, ()>>,
        written: Arc<Mutex<(Vec<u8>, usize)>>,
    }

    impl Stream for Recorder {
        type Item = Result<Frame, ()>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.incoming.poll_next_unpin(cx)
        }
    }

    impl LiveSocket for Recorder {
        type Error = ();
        async fn send_encoded(&mut self, chunks: &[Bytes]) -> Result<(), ()> {
            let mut written = self.written.lock().unwrap();
            for chunk in chunks {
                written.0.extend_from_slice(chunk);
            }
            written.1 += 1;
            Ok(())
        }
        async fn close(&mut self) {}
    }

    /// The session's writes so far, decoded: text frames as their text, pings as "PING".
    #[derive(Clone)]
    struct Written(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Written {
        fn frames(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap().0.clone();
            let mut cursor = std::io::Cursor::new(&bytes[..]);
            let mut frames = Vec::new();
            while (cursor.position() as usize) < bytes.len() {
                let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
                assert!(header.is_final, "final frame");
                assert_eq!(header.mask, None, "server frames are not masked");
                let at = cursor.position() as usize;
                let payload = &bytes[at..at + len as usize];
                frames.push(match header.opcode {
                    OpCode::Data(Data::Text) => String::from_utf8(payload.to_vec()).unwrap(),
                    OpCode::Control(Control::Ping) => "PING".to_owned(),
                    other => panic!("unexpected opcode {other}"),
                });
                cursor.set_position((at + len as usize) as u64);
            }
            frames
        }
        fn writes(&self) -> usize {
            self.0.lock().unwrap().1
        }
    }

    fn session(
        hub: &LiveHub,
        subscription: Subscription,
    ) -> (
        tokio::task::JoinHandle<()>,
        futures::channel::mpsc::UnboundedSender<Result<Frame, ()>>,
        Written,
    ) {
        let (in_tx, incoming) = futures::channel::mpsc::unbounded();
        let written = Arc::new(Mutex::new((Vec::new(), 0)));
        let socket = Recorder {
            incoming,
            written: written.clone(),
        };
        let handle = tokio::spawn(run_session(
            socket,
            subscription,
            hub.closed(),
            hub.lag_counter(),
        ));
        (handle, in_tx, Written(written))
    }

    fn text(message: &LiveMessage) -> String {
        serde_json::to_string(message).unwrap()
    }

    async fn wait_for_frames(written: &Written, n: usize) -> Vec<String> {
        for _ in 0..400 {
            let frames = written.frames();
            if frames.len() >= n {
                return frames;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("expected {n} frames, got {:?}", written.frames());
    }

    #[test]
    fn frames_are_encoded_with_the_length_form_their_size_needs() {
        for len in [0usize, 1, 125, 126, 65_535, 65_536, 200_000] {
            let text = "x".repeat(len);
            let mut out = Vec::new();
            encode_text(&mut out, text.as_bytes());
            let frames = Written(Arc::new(Mutex::new((out, 0)))).frames();
            assert_eq!(frames, vec![text], "length {len}");
        }
    }

    #[tokio::test]
    async fn a_burst_is_handed_over_in_bounded_batches_in_order() {
        let hub = LiveHub::new(16);
        let mut probe = hub.subscribe();
        assert_eq!(probe.next_seq, 0);
        for id in 0..600 {
            hub.publish(&update(id));
        }
        let mut sizes = Vec::new();
        let mut seq = 0;
        while seq < 600 {
            let batch = probe.rx.recv().await.unwrap();
            assert_eq!(batch.first_seq, seq);
            let mut expected = Vec::new();
            for (i, frame) in batch.frames.iter().enumerate() {
                let want = text(&update(seq as i64 + i as i64));
                assert_eq!(frame.text, want.as_bytes());
                encode_text(&mut expected, want.as_bytes());
            }
            assert_eq!(
                batch.encoded, expected,
                "the shared encoding matches the frames"
            );
            seq += batch.frames.len() as u64;
            sizes.push(batch.frames.len());
        }
        // Filled batches go out at once; the rest waits for the flusher.
        assert_eq!(sizes, vec![MAX_BATCH, MAX_BATCH, 600 - 2 * MAX_BATCH]);
        assert_eq!(hub.subscribe().next_seq, 600);
    }

    #[tokio::test]
    async fn a_session_writes_each_batch_at_once_and_honours_its_filter() {
        let hub = LiveHub::new(16);
        let (handle, in_tx, written) = session(&hub, hub.subscribe());
        for id in 0..50 {
            hub.publish(&update(id));
        }
        let expected: Vec<String> = (0..50).map(|id| text(&update(id))).collect();
        assert_eq!(wait_for_frames(&written, 50).await, expected);
        assert_eq!(written.writes(), 1, "one burst, one write");

        in_tx
            .unbounded_send(Ok(Frame::Text(
                r#"{"type":"subscribe","types":["new_violation"]}"#.into(),
            )))
            .unwrap();
        let frames = wait_for_frames(&written, 51).await;
        assert_eq!(frames[50], r#"{"type":"subscribed"}"#);
        hub.publish(&update(99));
        tokio::time::sleep(COALESCE * 4).await;
        let frames = written.frames();
        assert_eq!(
            frames.len(),
            51,
            "the filtered-out update was not sent: {frames:?}"
        );

        in_tx
            .unbounded_send(Ok(Frame::Text(
                r#"{"type":"subscribe","types":["nope"]}"#.into(),
            )))
            .unwrap();
        let frames = wait_for_frames(&written, 52).await;
        let error: serde_json::Value = serde_json::from_str(&frames[51]).unwrap();
        assert_eq!(error["type"], "error");
        assert!(
            error["detail"]
                .as_str()
                .unwrap()
                .starts_with("unknown frame type `nope`"),
            "{error}"
        );
        drop(in_tx);
        handle.await.unwrap();
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_told_how_much_it_missed() {
        let hub = LiveHub::new(16);
        let behind = hub.subscribe();
        let mut probe = hub.subscribe();
        // One batch per message: wait for each to be handed over before the next.
        for id in 0..40 {
            hub.publish(&update(id));
            probe.rx.recv().await.unwrap();
        }
        let (handle, in_tx, written) = session(&hub, behind);
        let frames = wait_for_frames(&written, 17).await;
        assert_eq!(frames[0], r#"{"type":"lagged","missed":24}"#);
        let expected: Vec<String> = (24..40).map(|id| text(&update(id))).collect();
        assert_eq!(frames[1..], expected[..]);
        drop(in_tx);
        handle.await.unwrap();
        assert_eq!(hub.lagged_total(), 24);
    }
}
