//! `sentinel seed` and `serve --demo`: the catalogue, then generated traffic in batched transactions.

use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sentinel_server::service::demo::{DEMO_MARK, DemoTraffic, seed_catalogue};
use sentinel_store::{AuditChange, Store};

pub async fn run(
    store: &Store,
    events: u64,
    seed: u64,
    batch: usize,
    progress: bool,
    demo_users: bool,
) -> Result<()> {
    let policy_ids = if store.is_empty().await? {
        seed_catalogue(store, demo_users)
            .await
            .context("loading users, templates and policies")?
    } else {
        let ids: Vec<i64> = store
            .all_policies()
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        if ids.is_empty() {
            anyhow::bail!("the store holds data but no policies; seed an empty store instead");
        }
        ids
    };
    let bar = if progress {
        ProgressBar::new(events)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut traffic = DemoTraffic::new(seed, events, policy_ids, sentinel_api::Timestamp::now().0);
    let started = Instant::now();
    let mut done = 0u64;
    let batch = batch.max(1);
    while done < events {
        let n = usize::try_from((events - done).min(batch as u64)).unwrap_or(batch);
        let inserted = store
            .seed_events(traffic.batch(n))
            .await
            .context("inserting events")?;
        done += inserted;
        bar.set_position(done);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    tracing::info!(
        events = done,
        seconds = format!("{secs:.2}"),
        per_second = format!("{rate:.0}"),
        "seeded"
    );
    if progress {
        println!("seeded {done} events in {secs:.2} s ({rate:.0} events/s)");
    }
    store
        .record_audit(
            &crate::cli_actor(),
            AuditChange::new("seed.events", "events").after(serde_json::json!({
                "events": done,
                "seed": seed,
            })),
        )
        .await
        .context("auditing the load")?;
    let analyzing = Instant::now();
    store
        .analyze()
        .await
        .context("refreshing planner statistics")?;
    tracing::info!(
        seconds = format!("{:.2}", analyzing.elapsed().as_secs_f64()),
        "planner statistics refreshed"
    );
    Ok(())
}

/// `sentinel seed --purge-demo`: deletes every event carrying the demo mark, with its
/// violations, in audited batches; policies, users and real traffic stay.
pub async fn purge_demo(store: &Store) -> Result<()> {
    let ctx = crate::cli_actor();
    let mut total = sentinel_store::Purged::default();
    loop {
        let purged = store
            .purge_marked_events(&ctx, DEMO_MARK, 5_000)
            .await
            .context("deleting demo events")?;
        if purged.events == 0 {
            break;
        }
        total.events += purged.events;
        total.violations += purged.violations;
    }
    println!(
        "deleted {} demo events and {} violations",
        total.events, total.violations
    );
    Ok(())
}
