//! Load test of the live stream: N WebSocket clients while events arrive at a fixed rate.
//!
//! ```text
//! cargo run --release -p sentinel-server --example live_load -- \
//!     http://127.0.0.1:8000 <TOKEN> [CLIENTS=1000] [RATE=5000] [SECONDS=20]
//! ```
//!
//! It first ingests at RATE events/s for SECONDS with no client connected (the baseline), then
//! connects CLIENTS clients and ingests again. Events go through `POST /api/events/batch` in
//! batches of 50; each title carries its send time, so every client measures the delivery latency
//! of every `new_event` frame. It prints the achieved ingestion rates, whether every client got
//! every message or a `lagged` notice covering it, and the latency percentiles.
//!
//! The clients share the machine with the server, so after the handshake each reads frames
//! straight off its socket into one buffer (headers parsed by tungstenite), and finds the type
//! and the send time without a JSON parser: a general WebSocket client allocates per message,
//! which on the same two cores would measure the load generator rather than the server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use memchr::memmem;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::Mutex;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

const BATCH: u64 = 50;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Sends `rate` events/s for `seconds`; returns the events accepted and the seconds it took.
async fn ingest(base: &str, token: &str, run: &str, rate: u64, seconds: u64) -> (u64, f64) {
    let client = reqwest::Client::new();
    let batches = rate * seconds / BATCH;
    let interval = Duration::from_secs_f64(BATCH as f64 / rate as f64);
    let accepted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut inflight = Vec::new();
    for b in 0..batches {
        ticker.tick().await;
        let sent = now_us();
        let body: Vec<Value> = (0..BATCH)
            .map(|i| {
                json!({
                    "event_id": format!("{run}-{b}-{i}"),
                    "event_type": "llm_request",
                    "title": format!("load {sent}"),
                    "trigger_date": "2026-11-26T00:00:00Z",
                })
            })
            .collect();
        let req = client
            .post(format!("{base}/api/events/batch"))
            .bearer_auth(token)
            .json(&body);
        let accepted = accepted.clone();
        inflight.push(tokio::spawn(async move {
            if let Ok(res) = req.send().await
                && res.status().is_success()
            {
                accepted.fetch_add(BATCH, Ordering::Relaxed);
            }
        }));
        inflight.retain(|h| !h.is_finished());
    }
    for h in inflight {
        let _ = h.await;
    }
    (
        accepted.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

/// Latencies are counted in buckets of one millisecond, up to a minute.
const BUCKETS: usize = 60_001;

struct ClientStats {
    received: u64,
    missed: u64,
    latency_ms: Vec<u32>,
}

impl Default for ClientStats {
    fn default() -> Self {
        Self {
            received: 0,
            missed: 0,
            latency_ms: vec![0; BUCKETS],
        }
    }
}

impl ClientStats {
    fn record(&mut self, latency_us: u64) {
        let bucket = ((latency_us / 1000) as usize).min(BUCKETS - 1);
        self.latency_ms[bucket] += 1;
    }
}

/// The first complete frame in `buf`, parsed by tungstenite without copying: its opcode, where
/// its payload is, and its whole length.
fn next_frame(buf: &[u8]) -> Option<(OpCode, std::ops::Range<usize>, usize)> {
    let mut cursor = std::io::Cursor::new(buf);
    let (header, len) = FrameHeader::parse(&mut cursor).ok()??;
    assert!(header.mask.is_none(), "server frames are not masked");
    let start = cursor.position() as usize;
    let end = start + len as usize;
    (buf.len() >= end).then_some((header.opcode, start..end, end))
}

/// The decimal number that follows the needle of `key` in `text`.
fn field_after(text: &[u8], key: &memmem::Finder<'_>) -> Option<u64> {
    let rest = &text[key.find(text)? + key.needle().len()..];
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// A clock read a million times a second costs more than the frames it times: the clients read
/// this one, which a task advances every millisecond (the latency buckets are 1 ms wide).
static CLOCK_US: AtomicU64 = AtomicU64::new(0);

fn start_clock() {
    CLOCK_US.store(now_us(), Ordering::Relaxed);
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        loop {
            tick.tick().await;
            CLOCK_US.store(now_us(), Ordering::Relaxed);
        }
    });
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args
        .get(1)
        .expect("base URL")
        .trim_end_matches('/')
        .to_owned();
    let token = args.get(2).expect("token").clone();
    let clients: usize = args.get(3).map_or(1000, |a| a.parse().unwrap());
    let rate: u64 = args.get(4).map_or(5000, |a| a.parse().unwrap());
    let seconds: u64 = args.get(5).map_or(20, |a| a.parse().unwrap());

    // Event ids are unique per run, so the tool can be run again against the same store.
    let tag = now_us();
    let (baseline, baseline_s) = ingest(&base, &token, &format!("base-{tag}"), rate, seconds).await;
    println!(
        "baseline: {baseline} events in {baseline_s:.1} s = {:.0} events/s (offered {rate}/s, no clients)",
        baseline as f64 / baseline_s
    );

    start_clock();
    let ws_base = base.replacen("http", "ws", 1);
    let stats = Arc::new(Mutex::new(Vec::<ClientStats>::new()));
    let stop = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("{ws_base}/api/events/ws?token={token}"))
                .await
                .expect("websocket");
        // Nothing is published between the handshake and the second phase, so tungstenite holds
        // no frame yet and the raw connection can be read from here on.
        let MaybeTlsStream::Plain(mut tcp) = ws.into_inner() else {
            panic!("plain ws:// only");
        };
        let stats = stats.clone();
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            let title_key = memmem::Finder::new(r#""title":"load "#);
            let missed_key = memmem::Finder::new(r#""missed":"#);
            let mut mine = ClientStats::default();
            let mut buf = vec![0u8; 256 * 1024];
            let (mut start, mut end) = (0, 0);
            'read: loop {
                while let Some((opcode, payload, len)) = next_frame(&buf[start..end]) {
                    let text = &buf[start + payload.start..start + payload.end];
                    start += len;
                    match opcode {
                        OpCode::Data(Data::Text) => {}
                        OpCode::Control(Control::Close) => break 'read,
                        _ => continue,
                    }
                    let received = CLOCK_US.load(Ordering::Relaxed);
                    // The frame type is the first field, and the send time sits in the title.
                    if text.starts_with(br#"{"type":"new_event""#) {
                        mine.received += 1;
                        if let Some(sent) = field_after(text, &title_key) {
                            mine.record(received.saturating_sub(sent));
                        }
                    } else if text.starts_with(br#"{"type":"lagged""#) {
                        mine.missed += field_after(text, &missed_key).unwrap_or(0);
                    }
                }
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
                if end == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf[end..])).await
                {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => end += n,
                    Err(_) if stop.load(Ordering::Relaxed) == 1 => break,
                    Err(_) => continue,
                }
            }
            stats.lock().await.push(mine);
        }));
    }
    println!("{clients} clients connected");

    let (loaded, loaded_s) = ingest(&base, &token, &format!("load-{tag}"), rate, seconds).await;
    println!(
        "with clients: {loaded} events in {loaded_s:.1} s = {:.0} events/s",
        loaded as f64 / loaded_s
    );
    // Let the last frames arrive, then stop the clients at their next idle moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(1, Ordering::Relaxed);
    for h in handles {
        let _ = h.await;
    }

    let stats = stats.lock().await;
    let complete = stats
        .iter()
        .filter(|s| s.received + s.missed >= loaded)
        .count();
    let lagged_clients = stats.iter().filter(|s| s.missed > 0).count();
    let mut histogram = vec![0u64; BUCKETS];
    for client in stats.iter() {
        for (bucket, count) in client.latency_ms.iter().enumerate() {
            histogram[bucket] += u64::from(*count);
        }
    }
    let frames: u64 = histogram.iter().sum();
    let pct = |p: f64| {
        let rank = ((frames as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, count) in histogram.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return bucket;
            }
        }
        BUCKETS - 1
    };
    println!(
        "clients that got every message or a lagged notice for it: {complete}/{} ({lagged_clients} lagged)",
        stats.len()
    );
    println!(
        "delivery latency over {frames} frames (1 ms buckets): p50 < {} ms, p99 < {} ms, max < {} ms",
        pct(0.50) + 1,
        pct(0.99) + 1,
        pct(1.0) + 1
    );
    println!(
        "ingestion with clients vs baseline: {:+.1}%",
        ((loaded as f64 / loaded_s) / (baseline as f64 / baseline_s) - 1.0) * 100.0
    );
}
