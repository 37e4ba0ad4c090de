//! The `sentinel` binary: thin. It parses the command line and configuration, then calls into the
//! server and store crates.

mod admin;
mod backtest;
mod check;
mod config;
mod policy_test;
mod report;
mod seed;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sentinel_server::{Application, Settings};
use sentinel_store::Store;

use crate::config::{ServeFlags, StoreArgs};

/// mimalloc: the server and the bulk loader allocate many small, short-lived values (JSON,
/// query parameters); it measurably beats the system allocator on both.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "sentinel",
    version,
    about = "Sentinel: self-hosted AI governance and guardrails"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        flags: ServeFlags,
    },
    /// Show the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Load demo data: users, templates, the ten legacy policies and events.
    Seed {
        #[command(flatten)]
        store: StoreArgs,
        /// Number of events to generate.
        #[arg(long, default_value_t = 2000)]
        events: u64,
        /// Seed of the generator (same seed, same data).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Events per transaction.
        #[arg(long, default_value_t = 50_000)]
        batch: usize,
        /// Also create the four legacy demo users (`admin`/`2501`, the others `secret`).
        #[arg(long)]
        demo_users: bool,
        /// Instead of loading anything, delete every demo event (seeded or live: those whose
        /// metadata holds `sentinel_demo: true`) with its violations.
        #[arg(long, conflicts_with_all = ["events", "seed", "batch", "demo_users"])]
        purge_demo: bool,
    },
    /// Manage users.
    User {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: admin::UserCommand,
    },
    /// Verify or export the audit trail.
    Audit {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: admin::AuditCommand,
    },
    /// Compliance evidence: export a framework's report for a period as a verifiable bundle,
    /// and verify one.
    Report {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Evaluate text offline against policies. Exit status: 0 allow, 1 notify, 2 redact,
    /// 3 block, 4 error.
    Check(check::CheckArgs),
    /// Replay the policies of a policy file over the stored events of a window. Exit status 0,
    /// 1 when more than --max-flagged events are flagged, 4 on an error.
    Backtest(backtest::BacktestArgs),
    /// Work with policy definitions offline.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the effective value of every setting as TOML, with where it came from (default,
    /// file, environment variable or flag); secrets are masked. Takes the flags of `serve`.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        flags: ServeFlags,
    },
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Check the definitions in FILE (separated by `---` lines, or a JSON array). Exit status 0
    /// when all are valid, 1 otherwise.
    Validate { file: PathBuf },
    /// Run the policy test files (TOML: `[[policy]]` definitions and `[[test]]` examples with the
    /// expected decision, policies and findings). Exit status 0 when every example passes, 1
    /// when one fails, 4 when a file cannot be read or its policies do not compile.
    Test {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Offline commands need no runtime; their errors exit with 4 so pipelines can tell them
    // apart from decisions (0 to 3).
    let (result, error_code) = match cli.command {
        Command::Check(args) => (check::run_check(args), 4),
        Command::Policy {
            command: PolicyCommand::Validate { file },
        } => (check::run_validate(&file), 4),
        Command::Policy {
            command: PolicyCommand::Test { files },
        } => (policy_test::run(&files), 4),
        online => {
            // A failed backtest must not read as "too many flagged" (1) in a CI gate.
            let error_code = if matches!(online, Command::Backtest(_)) {
                4
            } else {
                1
            };
            (
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .context("starting the runtime")
                    .and_then(|runtime| runtime.block_on(run(online))),
                error_code,
            )
        }
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(error_code)
        }
    }
}

/// The audit actor of CLI commands: `cli:<login name>`.
pub fn cli_actor() -> sentinel_store::AuditContext {
    let who = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    sentinel_store::AuditContext {
        actor: format!("cli:{who}"),
        client_addr: Some("local".into()),
        request_id: None,
    }
}

/// Runs an online command; returns its exit status.
async fn run(command: Command) -> Result<u8> {
    match command {
        Command::Check(_) | Command::Policy { .. } => unreachable!("handled without a runtime"),
        Command::Openapi => {
            let doc = sentinel_server::routes::openapi();
            println!(
                "{}",
                doc.to_pretty_json()
                    .context("serialising the OpenAPI document")?
            );
            Ok(0)
        }
        Command::Config {
            command: ConfigCommand::Show { store, flags },
        } => {
            let (figment, settings) = config::load(&store, Some(&flags))?;
            print!("{}", config::show(&figment, &settings)?);
            Ok(0)
        }
        Command::Backtest(args) => {
            let settings = settings(&args.store)?;
            let store = open_store(&settings).await?;
            let code = backtest::run(&store, args).await?;
            store.close().await?;
            Ok(code)
        }
        Command::Migrate { store } => {
            let settings = settings(&store)?;
            let store = open_store(&settings).await?;
            tracing::info!("database is migrated");
            store.close().await?;
            Ok(0)
        }
        Command::Seed {
            store,
            events,
            seed,
            batch,
            demo_users,
            purge_demo,
        } => {
            let settings = settings(&store)?;
            let store = open_store(&settings).await?;
            if purge_demo {
                seed::purge_demo(&store).await?;
            } else {
                seed::run(&store, events, seed, batch, demo_users).await?;
            }
            store.close().await?;
            Ok(0)
        }
        Command::User { store, command } => {
            let settings = settings(&store)?;
            let store = open_store(&settings).await?;
            admin::user(&store, command).await?;
            store.close().await?;
            Ok(0)
        }
        Command::Audit { store, command } => {
            let settings = settings(&store)?;
            let store = open_store(&settings).await?;
            let code = admin::audit(&store, command).await?;
            store.close().await?;
            Ok(code)
        }
        Command::Report { store, command } => match command {
            report::ReportCommand::Export {
                framework,
                since,
                until,
                out,
            } => {
                let settings = settings(&store)?;
                let db = open_store(&settings).await?;
                let code = report::export(&db, &settings, framework.as_deref(), since, until, &out)
                    .await?;
                db.close().await?;
                Ok(code)
            }
            report::ReportCommand::Verify { file } => {
                // Against a store only when one is named.
                let live = store.database_url.is_some()
                    || store.data_dir.is_some()
                    || store.config.is_some();
                let settings = settings(&store)?;
                if live {
                    let db = open_store(&settings).await?;
                    let code = report::verify(&file, Some(&db)).await?;
                    db.close().await?;
                    Ok(code)
                } else {
                    report::verify(&file, None).await
                }
            }
        },
        Command::Serve { store, flags } => {
            let (_, settings) = config::load(&store, Some(&flags))?;
            let telemetry = config::init_logging_and_traces(settings.log_format)?;
            let app = Application::build(settings)
                .await
                .context("starting the server")?;
            // The signal handlers go in before the server says it is listening: a SIGTERM sent
            // as soon as it does (a supervisor's, a test's) is then never missed.
            let shutdown = shutdown_signal();
            app.run_until(shutdown).await?;
            if let Some(telemetry) = telemetry {
                telemetry.shutdown().await;
            }
            tracing::info!("shut down cleanly");
            Ok(0)
        }
    }
}

/// The settings of a command that only opens the store; starts logging.
fn settings(store: &StoreArgs) -> Result<Settings> {
    let (_, settings) = config::load(store, None)?;
    config::init_logging(settings.log_format);
    Ok(settings)
}

async fn open_store(settings: &Settings) -> Result<Store> {
    let url = settings.database_url();
    Store::open(&url)
        .await
        .with_context(|| format!("opening the database {}", sentinel_store::redact_url(&url)))
}

/// Listens for SIGINT and SIGTERM from the call on (not from the returned future's first poll,
/// which may come after a signal was sent); the future completes on the first of them.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    /// Waits for one signal, or forever when its handler could not be installed.
    #[cfg(unix)]
    async fn received(listener: std::io::Result<tokio::signal::unix::Signal>, name: &'static str) {
        match listener {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for {name}");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            received(signal(SignalKind::interrupt()), "SIGINT"),
            received(signal(SignalKind::terminate()), "SIGTERM"),
        )
    };
    #[cfg(not(unix))]
    let (interrupt, terminate) = (
        async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        },
        std::future::pending::<()>(),
    );
    async move {
        tokio::select! {
            () = interrupt => {},
            () = terminate => {},
        }
        tracing::info!("shutdown requested; draining in-flight requests");
    }
}
