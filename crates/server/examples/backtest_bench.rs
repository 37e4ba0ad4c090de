//! Benchmark of backtests over a large store.
//!
//! ```text
//! cargo run --release -p sentinel-server --example backtest_bench -- [DATABASE_URL] [EVENTS=1000000] [--verify]
//! ```
//!
//! Opens the store at `DATABASE_URL` (default: a new SQLite file in a temporary directory), and if
//! it holds no events seeds `EVENTS` demo events (the generator of `sentinel seed`: 30 days of
//! realistic traffic, about one interaction in five risky, texts in prompt and completion) with
//! the demo policies, which are then the enforced set. It then times backtests of several drafts
//! over the whole window, as the server's job runs them (`service::backtest::run`), and prints
//! for each: the wall time, events per second and the counts.
//!
//! With `--read-only` it first times reading every event with no evaluation: through the ORM's
//! keyset pages on one task (`replay_page`), then as a backtest reads them (`split_replay` into one
//! range per core, each streamed by its own thread through `replay_blocking`). With `--verify` each draft's flagged count is checked against an independent evaluation: every
//! event read back in id order and evaluated by the draft alone (`evaluate_spec`, compiled
//! separately, one thread), without the backtest's pages, threads or combined policy set.
//!
//! The process allocates with mimalloc, as the `sentinel` binary does (crates/cli/src/main.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use chrono::Utc;
use sentinel_api::backtest::BacktestCreate;
use sentinel_server::service::backtest::{self, Plan};
use sentinel_server::service::demo::{self, DemoLoad};
use sentinel_store::{AuditContext, ReplayCursor, ReplayWindow, Store};

const DRAFTS: [(&str, &str); 4] = [
    (
        "injection in prompts",
        "request.prompt has sentinelai.prompt_injection",
    ),
    (
        "pii anywhere",
        "any.text has sentinelai.pii(email, phone, credit_card, ssn)",
    ),
    ("secrets anywhere", "any.text has sentinelai.secrets"),
    (
        "keyword or regex",
        "request.prompt contains \"system prompt\" or response.completion matches /(?i)confidential/",
    ),
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verify = args.iter().any(|a| a == "--verify");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let dir = tempfile::tempdir().unwrap();
    let url = positional.first().map_or_else(
        || {
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            )
        },
        |u| (*u).clone(),
    );
    let events: u64 = positional
        .get(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let store = Store::open(&url).await.unwrap();
    println!("store: {}", sentinel_store::redact_url(&url));
    if store.is_empty().await.unwrap() {
        let started = Instant::now();
        let plan = DemoLoad {
            events,
            seed: 7,
            batch: 50_000,
            demo_users: false,
        };
        demo::load(&store, &AuditContext::system(), plan, |_| {})
            .await
            .unwrap();
        println!(
            "seeded {events} events in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    if args.iter().any(|a| a == "--read-only") {
        read_only(&store).await;
    }
    let enforced = backtest::enforced_specs(&store).await.unwrap();
    println!(
        "enforced policies: {}; threads: {}",
        enforced.len(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    for (name, definition) in DRAFTS {
        let body = BacktestCreate {
            definition: Some(definition.into()),
            name: Some(name.into()),
            since: "3650d".into(),
            ..Default::default()
        };
        let plan = backtest::plan(&store, body, Utc::now()).await.unwrap();
        let window = window_of(&plan);
        let total = store.count_replay(&window).await.unwrap();
        let started = Instant::now();
        let result = backtest::run(&store, &plan, enforced.clone(), total, |_| async { true })
            .await
            .unwrap()
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name:<22} {seconds:>6.2} s  {:>9.0} events/s  read {} scanned {} flagged {} newly {} not_replayable {}",
            result.events_read as f64 / seconds,
            result.events_read,
            result.events_scanned,
            result.events_flagged,
            result.versus_enforced.newly_flagged,
            result.not_replayable,
        );
        if verify {
            let independent = independent_count(&store, &plan).await;
            assert_eq!(
                independent, result.events_flagged,
                "{name}: the independent evaluation flags {independent}"
            );
            println!("{name:<22} verified: an independent evaluation flags {independent} too");
        }
    }
}

fn window_of(plan: &Plan) -> ReplayWindow {
    ReplayWindow {
        since: plan.since.0,
        until: plan.until.0,
        app: plan.app.clone(),
        model: plan.model.clone(),
    }
}

/// Times reading the whole store with no evaluation: the floor under any backtest's time.
async fn read_only(store: &Store) {
    let window = ReplayWindow {
        since: Utc::now() - chrono::Duration::days(3650),
        until: Utc::now(),
        app: None,
        model: None,
    };
    let started = Instant::now();
    let mut rows_read = 0u64;
    each_page(store, &window, 4096, |rows| rows_read += rows.len() as u64).await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:<22} {seconds:>6.2} s  {:>9.0} events/s  read {rows_read}",
        "read only, ORM pages",
        rows_read as f64 / seconds
    );

    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let total = store.count_replay(&window).await.unwrap();
    let ranges = store.split_replay(&window, threads, total).await.unwrap();
    let readers: Vec<_> = ranges
        .into_iter()
        .map(|range| {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                let mut n = 0u64;
                store
                    .replay_blocking(&range, 4096, |e| {
                        n += u64::from(e.prompt.is_some() || e.completion.is_some());
                        std::ops::ControlFlow::Continue(())
                    })
                    .unwrap();
                n
            })
        })
        .collect();
    let mut rows_read = 0u64;
    for r in readers {
        rows_read += r.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:<22} {seconds:>6.2} s  {:>9.0} events/s  read {rows_read} (with text), {threads} threads",
        "read only, streamed",
        total as f64 / seconds
    );
}

/// Calls `each` with every page of `window`, read in the backtest's keyset order.
async fn each_page(
    store: &Store,
    window: &ReplayWindow,
    size: u64,
    mut each: impl FnMut(&[sentinel_store::ReplayRow]),
) {
    let mut after: Option<ReplayCursor> = None;
    loop {
        let rows = store.replay_page(window, after, size).await.unwrap();
        let Some(last) = rows.last() else { break };
        after = Some(ReplayCursor {
            trigger_date: last.trigger_date,
            id: last.id,
        });
        each(&rows);
    }
}

/// The draft alone over every event of the window, one at a time.
async fn independent_count(store: &Store, plan: &Plan) -> u64 {
    let c = &plan.candidate[0];
    let spec = sentinel_engine::PolicySpec {
        id: 1,
        name: c.name.clone(),
        definition: c.definition.clone(),
        severity: c.severity,
        mode: c.performance_mode,
        action: c.intervention_type,
        intervention_config: c.intervention_config.clone(),
        enforcement: sentinel_engine::Enforcement::Enforce,
    };
    let window = window_of(plan);
    let mut flagged = 0;
    each_page(store, &window, 10_000, |rows| {
        for row in rows {
            if row.prompt.is_none() && row.completion.is_none() {
                continue;
            }
            let metadata = row
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok());
            let scope = sentinel_server::service::evaluate::scope(
                row.source.as_deref(),
                row.user_id.map(|u| u.to_string()),
                row.model_name.as_deref(),
                metadata.as_ref(),
            );
            let eval = sentinel_engine::evaluate_spec(
                &spec,
                &sentinel_engine::Input {
                    prompt: row.prompt.as_deref(),
                    completion: row.completion.as_deref(),
                    scope: &scope,
                },
            )
            .unwrap();
            flagged += u64::from(!eval.hits.is_empty());
        }
    })
    .await;
    flagged
}
