//! The retention job: deletes events older than the configured number of days, with their
//! violations, in audited batches.

use std::time::Duration;

use sentinel_store::{AuditChange, AuditContext, Purged};

use crate::state::AppState;
use crate::tasks::Stop;

/// Events deleted per transaction.
const BATCH: u64 = 10_000;
/// Time between two runs.
const EVERY: Duration = Duration::from_secs(3600);

fn actor() -> AuditContext {
    AuditContext {
        actor: "system:retention".into(),
        ..AuditContext::default()
    }
}

/// One retention run: deletes every event triggered more than `days` days ago. Each batch is
/// audited with its counts; a run that finds nothing writes one entry saying so.
pub async fn run_once(state: &AppState, days: u32) -> sentinel_store::Result<Purged> {
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    let ctx = actor();
    let mut total = Purged::default();
    loop {
        let purged = state.store.purge_events_before(&ctx, cutoff, BATCH).await?;
        total.events += purged.events;
        total.violations += purged.violations;
        if purged.events < BATCH {
            break;
        }
    }
    if total.events == 0 {
        state
            .store
            .record_audit(
                &ctx,
                AuditChange::new("retention.purge", "events").after(serde_json::json!({
                    "cutoff": sentinel_api::Timestamp(cutoff),
                    "events_deleted": 0,
                    "violations_deleted": 0,
                })),
            )
            .await?;
    }
    Ok(total)
}

/// Runs the retention job now and then every hour, until `stop`. A run in progress finishes
/// first: each batch is one audited transaction.
pub async fn run(state: AppState, days: u32, mut stop: Stop) {
    let mut ticker = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.requested() => return,
        }
        match run_once(&state, days).await {
            Ok(p) => tracing::info!(
                events = p.events,
                violations = p.violations,
                retention_days = days,
                "retention run finished"
            ),
            Err(e) => tracing::error!(error = %e, "retention run failed; retrying next hour"),
        }
    }
}
