//! `sentinel backtest --policy-file F --since 7d`: replays the policies of a policy file over the
//! events of a store, with the server's backtest (the same evaluation, the same counts), so that
//! a policy change can be gated in CI with `--max-flagged`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use sentinel_server::service::backtest::{self, Plan};
use sentinel_store::{ReplayWindow, Store};

use crate::config::StoreArgs;

#[derive(clap::Args, Debug)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A policy file: TOML with `[[policy]]` entries (the policy test format; its `[[test]]`
    /// examples are ignored here). All its policies together are the candidate.
    #[arg(long)]
    pub policy_file: PathBuf,
    /// Start of the window: RFC 3339, or a duration back from now (`7d`, `24h`, `30m`).
    #[arg(long)]
    pub since: String,
    /// End of the window (exclusive), same forms; now unless given.
    #[arg(long)]
    pub until: Option<String>,
    /// Only events of this application.
    #[arg(long)]
    pub app: Option<String>,
    /// Only events of this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Only events whose metadata `environment` is this.
    #[arg(long)]
    pub environment: Option<String>,
    /// The stored policy (id) the file's policy is a new version of: the comparison with the
    /// enforced set leaves it out on the candidate's side.
    #[arg(long)]
    pub replaces: Option<i64>,
    /// Exit with status 1 when more events than this are flagged.
    #[arg(long)]
    pub max_flagged: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the backtest; returns the exit status (1 when `--max-flagged` is exceeded).
pub async fn run(store: &Store, args: BacktestArgs) -> Result<u8> {
    let candidate = crate::policy_test::load_policies(&args.policy_file)?;
    let now = chrono::Utc::now();
    let forms = "RFC 3339 or a duration back from now (7d, 24h, 30m)";
    let since = backtest::parse_instant(&args.since, now)
        .with_context(|| format!("--since `{}` is not {forms}", args.since))?;
    let until = match &args.until {
        Some(text) => backtest::parse_instant(text, now)
            .with_context(|| format!("--until `{text}` is not {forms}"))?,
        None => now,
    };
    anyhow::ensure!(
        since < until,
        "the window is empty: --until must be after --since"
    );
    let plan = Plan {
        candidate,
        replaces: args.replaces,
        version: None,
        since: sentinel_api::Timestamp(since),
        until: sentinel_api::Timestamp(until),
        app: args.app,
        model: args.model,
        environment: args.environment,
        sample_size: 5,
    };
    let window = ReplayWindow {
        since,
        until,
        app: plan.app.clone(),
        model: plan.model.clone(),
    };
    let total = store.count_replay(&window).await?;
    let enforced = backtest::enforced_specs(store).await?;
    let result = backtest::run(store, &plan, enforced, total, |_| async { true })
        .await?
        .context("the backtest stopped")?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).context("serialising the result")?
        );
    } else {
        let names: Vec<&str> = plan.candidate.iter().map(|c| c.name.as_str()).collect();
        println!(
            "backtest of {} over {} .. {}",
            names.join(", "),
            plan.since,
            plan.until
        );
        println!(
            "  events read {}, scanned {}, not replayable (no stored text) {}",
            result.events_read, result.events_scanned, result.not_replayable
        );
        println!("  flagged {}", result.events_flagged);
        for (decision, n) in &result.by_decision {
            if *n > 0 {
                println!("    {decision:<8} {n}");
            }
        }
        let v = &result.versus_enforced;
        println!(
            "  against the {} enforced policies: {} flagged today, {} newly flagged, {} no longer flagged",
            v.enforced_policies, v.currently_flagged, v.newly_flagged, v.no_longer_flagged
        );
        if let Some(p) = result.precision.estimate {
            println!(
                "  estimated precision {p:.3} ({} triaged: {} confirmed, {} false positive)",
                result.precision.labelled,
                result.precision.confirmed,
                result.precision.false_positive
            );
        }
        println!("  {} ms", result.duration_ms);
    }
    match args.max_flagged {
        Some(max) if result.events_flagged > max => {
            eprintln!(
                "{} events flagged, more than --max-flagged {max}",
                result.events_flagged
            );
            Ok(1)
        }
        _ => Ok(0),
    }
}
