//! `sentinel seed`: the demo catalogue, then generated traffic in batched transactions
//! (`sentinel_server::service::demo::load`, which `serve --demo` uses too), and its purge.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sentinel_server::service::demo::{DEMO_MARK, DemoLoad, load};
use sentinel_store::Store;

/// `sentinel seed`: the catalogue into an empty store, then `events` generated events, with a
/// progress bar; audited as the CLI's user.
pub async fn run(
    store: &Store,
    events: u64,
    seed: u64,
    batch: usize,
    demo_users: bool,
) -> Result<()> {
    let bar = ProgressBar::new(events);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let plan = DemoLoad {
        events,
        seed,
        batch,
        demo_users,
    };
    let loaded = load(store, &crate::cli_actor(), plan, |done| {
        bar.set_position(done)
    })
    .await
    .context("seeding")?;
    bar.finish_and_clear();
    let rate = if loaded.seconds > 0.0 {
        loaded.events as f64 / loaded.seconds
    } else {
        0.0
    };
    println!(
        "seeded {} events in {:.2} s ({rate:.0} events/s)",
        loaded.events, loaded.seconds
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
