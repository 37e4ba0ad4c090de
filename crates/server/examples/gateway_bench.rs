//! Benchmark of the model gateway against the stand-in upstream of the tests, side by side with
//! the same calls made directly to the upstream.
//!
//! ```text
//! cargo run --release -p sentinel-server --example gateway_bench -- [CALLS=2000] [STREAMS=256]
//! cargo run --release -p sentinel-server --example gateway_bench -- serve   # for wrk
//! ```
//!
//! Sentinel runs in this process on SQLite (a temporary directory), with the ten demo detectors
//! enforced as `any.text has sentinelai.<detector>` (notify, balanced): every call is evaluated by
//! all ten on the way in and on the way out, and recorded as an event with its violations. The
//! prompt is the engines' 1 KiB benchmark text; the answer is the same text. It prints:
//! - non-streamed calls, one at a time: latency percentiles direct and through Sentinel, and the
//!   difference (Sentinel's added latency);
//! - streamed calls, one at a time: time to first token direct and through Sentinel;
//! - STREAMS concurrent streamed calls: wall time, streams per second, and the growth of the
//!   process's resident memory while they are open, per stream.
//!
//! With `serve` it sets up the same and prints the URLs, the key and a body file for a load
//! generator in another process (`scripts/bench-gateway.sh` runs wrk with it), then waits.
//!
//! The process allocates with mimalloc, as the `sentinel` binary does (crates/cli/src/main.rs):
//! with the system allocator, a fifth of the gateway's time went to glibc's malloc and free.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use sentinel_server::settings::{ApiShape, GatewaySettings, Secret, UpstreamSettings};
use sentinel_server::{Application, Settings};
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../tests/it/upstream.rs"]
mod upstream;
#[allow(dead_code)]
#[path = "../../engine/benches/workload/mod.rs"]
mod workload;

const PASSWORD: &str = "gateway-bench-password";

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn summary(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (
        percentile(&xs, 0.5),
        percentile(&xs, 0.99),
        xs.iter().sum::<f64>() / xs.len() as f64,
    )
}

/// Sends a request and reads its JSON answer.
trait JsonAnswer {
    async fn json_answer(self) -> Value;
}

impl JsonAnswer for reqwest::RequestBuilder {
    async fn json_answer(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Sends a streamed call; returns the time to the first content delta and to the end.
async fn stream_once(client: &reqwest::Client, url: &str, key: &str, body: &Value) -> (f64, f64) {
    let started = Instant::now();
    let mut res = client
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let mut first = None;
    let mut seen = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        if first.is_none() {
            seen.extend_from_slice(&chunk);
            if memchr::memmem::find(&seen, b"\"content\":\"")
                .is_some_and(|i| seen.get(i + 11).is_some_and(|b| *b != b'"'))
            {
                first = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    let end = started.elapsed().as_secs_f64() * 1000.0;
    (first.unwrap_or(end), end)
}

#[tokio::main]
async fn main() {
    let serve = std::env::args().nth(1).as_deref() == Some("serve");
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(2000);
    let streams = args.get(1).copied().unwrap_or(256);

    let text = workload::realistic(1024);
    let upstream = upstream::StandIn::start().await;
    upstream.script(|s| {
        s.answer = text.clone();
        s.delta_sizes = vec![16];
        s.wire_sizes = vec![1 << 16];
    });
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_owned(),
        admin_password: Some(Secret::new(PASSWORD)),
        gateway: GatewaySettings {
            upstreams: vec![UpstreamSettings {
                name: "stand-in".into(),
                api: ApiShape::Openai,
                base_url: upstream.base_url.clone(),
                key_env: None,
                models: vec!["*".into()],
                pass_through_key: false,
            }],
            allow_private_hosts: vec!["127.0.0.1".into()],
            ..GatewaySettings::default()
        },
        ..Settings::default()
    };
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));

    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{base}/api/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=admin&password={PASSWORD}"))
        .json_answer()
        .await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let key: Value = client
        .post(format!("{base}/api/keys/"))
        .bearer_auth(&token)
        .json(&json!({"name": "bench", "scopes": ["proxy"], "app": "bench"}))
        .json_answer()
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    for (_, detector) in workload::DEMO {
        let policy: Value = client
            .post(format!("{base}/api/policies/"))
            .bearer_auth(&token)
            .json(&json!({"name": detector, "definition": format!("any.text has sentinelai.{detector}"),
                "category": "data_security", "severity": "medium", "performance_mode": "balanced",
                "intervention_type": "notification"}))
            .json_answer()
            .await;
        let res = client
            .put(format!("{base}/api/policies/{}", policy["id"]))
            .bearer_auth(&token)
            .json(&json!({"status": "open"}))
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "{policy} {}",
            res.text().await.unwrap()
        );
    }

    let body = json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are a helpful support assistant."},
        {"role": "user", "content": text},
    ]});
    let direct_url = format!("{}/chat/completions", upstream.base_url);
    let gateway_url = format!("{base}/v1/chat/completions");
    if serve {
        // For wrk (scripts/bench-gateway.sh): the two URLs, the key and the body, then wait.
        let file = std::env::temp_dir().join("sentinel-gateway-bench-body.json");
        std::fs::write(&file, body.to_string()).unwrap();
        println!("DIRECT_URL={direct_url}");
        println!("GATEWAY_URL={gateway_url}");
        println!("GATEWAY_KEY={key}");
        println!("BODY_FILE={}", file.display());
        println!("READY");
        tokio::signal::ctrl_c().await.unwrap();
        return;
    }

    // Warm-up: connections, caches, the first allocations.
    for _ in 0..50 {
        for url in [&direct_url, &gateway_url] {
            let r = client
                .post(url)
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            let _ = r.bytes().await;
        }
    }

    let mut direct = Vec::with_capacity(calls);
    let mut through = Vec::with_capacity(calls);
    for _ in 0..calls {
        for (url, out) in [(&direct_url, &mut direct), (&gateway_url, &mut through)] {
            let started = Instant::now();
            let r = client
                .post(url)
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let _ = r.bytes().await.unwrap();
            out.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (d50, d99, dmean) = summary(direct);
    let (g50, g99, gmean) = summary(through);
    println!("non-streamed, {calls} calls each, one at a time (ms):");
    println!("  direct        p50 {d50:.3}  p99 {d99:.3}  mean {dmean:.3}");
    println!("  via Sentinel  p50 {g50:.3}  p99 {g99:.3}  mean {gmean:.3}");
    println!(
        "  added         p50 {:.3}  p99 {:.3}  mean {:.3}",
        g50 - d50,
        g99 - d99,
        gmean - dmean
    );

    // What the last call's event says Sentinel itself spent (evaluation in and out, redaction,
    // restoration; not the hop, the JSON or the recording).
    let events: Value = client
        .get(format!("{base}/api/events/?limit=20"))
        .bearer_auth(&token)
        .json_answer()
        .await;
    let own: Vec<f64> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["metadata"]["sentinel_added_ms"].as_f64())
        .collect();
    let (o50, _, _) = summary(own);
    println!("  of which evaluation (in and out), per the last 20 events: p50 {o50:.3}");

    let mut stream_body = body.clone();
    stream_body["stream"] = json!(true);
    let runs = (calls / 10).max(20);
    let (mut dt, mut gt) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        dt.push(
            stream_once(&client, &direct_url, &key, &stream_body)
                .await
                .0,
        );
        gt.push(
            stream_once(&client, &gateway_url, &key, &stream_body)
                .await
                .0,
        );
    }
    let (d50, d99, _) = summary(dt);
    let (g50, g99, _) = summary(gt);
    println!("streamed, {runs} calls each, one at a time: time to first token (ms):");
    println!("  direct        p50 {d50:.3}  p99 {d99:.3}");
    println!("  via Sentinel  p50 {g50:.3}  p99 {g99:.3}");

    for (name, url) in [("direct", &direct_url), ("via Sentinel", &gateway_url)] {
        let before = rss_kib();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let started = Instant::now();
        let tasks: Vec<_> = (0..streams)
            .map(|_| {
                let (client, url, key, body) = (
                    client.clone(),
                    url.to_string(),
                    key.clone(),
                    stream_body.clone(),
                );
                tokio::spawn(async move { stream_once(&client, &url, &key, &body).await })
            })
            .collect();
        let mut ends = Vec::new();
        for t in tasks {
            ends.push(t.await.unwrap().1);
        }
        let wall = started.elapsed().as_secs_f64();
        sampler.abort();
        let grown = peak
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(before);
        let (e50, e99, _) = summary(ends);
        println!(
            "{streams} concurrent streams {name}: {wall:.2} s, {:.0} streams/s, each done in p50 {e50:.1} ms p99 {e99:.1} ms, resident memory +{} KiB ({:.1} KiB per stream; the stand-in's share included)",
            streams as f64 / wall,
            grown,
            grown as f64 / streams as f64
        );
    }
}
