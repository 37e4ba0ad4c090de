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
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

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

#[derive(Default)]
struct ClientStats {
    received: u64,
    missed: u64,
    latencies_us: Vec<u64>,
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

    let (baseline, baseline_s) = ingest(&base, &token, "base", rate, seconds).await;
    println!(
        "baseline: {baseline} events in {baseline_s:.1} s = {:.0} events/s (offered {rate}/s, no clients)",
        baseline as f64 / baseline_s
    );

    let ws_base = base.replacen("http", "ws", 1);
    let stats = Arc::new(Mutex::new(Vec::<ClientStats>::new()));
    let stop = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("{ws_base}/api/events/ws?token={token}"))
                .await
                .expect("websocket");
        let stats = stats.clone();
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            let (_, mut rx) = ws.split();
            let mut mine = ClientStats::default();
            loop {
                let next = tokio::time::timeout(Duration::from_secs(5), rx.next()).await;
                let msg = match next {
                    Ok(Some(Ok(msg))) => msg,
                    Err(_) if stop.load(Ordering::Relaxed) == 1 => break,
                    Err(_) => continue,
                    _ => break,
                };
                let Message::Text(text) = msg else { continue };
                let received = now_us();
                let value: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                match value["type"].as_str() {
                    Some("new_event") => {
                        mine.received += 1;
                        if let Some(sent) = value["event"]["title"]
                            .as_str()
                            .and_then(|t| t.strip_prefix("load "))
                            .and_then(|t| t.parse::<u64>().ok())
                        {
                            mine.latencies_us.push(received.saturating_sub(sent));
                        }
                    }
                    Some("lagged") => mine.missed += value["missed"].as_u64().unwrap_or(0),
                    _ => {}
                }
            }
            stats.lock().await.push(mine);
        }));
    }
    println!("{clients} clients connected");

    let (loaded, loaded_s) = ingest(&base, &token, "load", rate, seconds).await;
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
    let mut all: Vec<u64> = stats
        .iter()
        .flat_map(|s| s.latencies_us.iter().copied())
        .collect();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    println!(
        "clients that got every message or a lagged notice for it: {complete}/{} ({lagged_clients} lagged)",
        stats.len()
    );
    println!(
        "delivery latency over {} frames: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "ingestion with clients vs baseline: {:+.1}%",
        ((loaded as f64 / loaded_s) / (baseline as f64 / baseline_s) - 1.0) * 100.0
    );
}
