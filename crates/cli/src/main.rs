//! The `sentinel` binary: thin. It parses the command line and configuration, then calls into the
//! server and store crates.

mod admin;
mod check;
mod config;
mod seed;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use sentinel_server::{AppState, ServerConfig};
use sentinel_store::Store;
use tokio::net::TcpListener;

use crate::config::{LogFormat, Settings};

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

/// Where the store lives; shared by every subcommand that touches it.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// Directory for the SQLite database and other state.
    #[arg(long, env = "SENTINEL_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://FILE or postgres://USER@HOST/DB (default: SQLite `sentinel.db` in the data dir).
    #[arg(long, env = "SENTINEL_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// A TOML configuration file.
    #[arg(long, env = "SENTINEL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on.
        #[arg(long, env = "SENTINEL_BIND")]
        bind: Option<String>,
        /// Load demo data into an empty store.
        #[arg(long, env = "SENTINEL_DEMO")]
        demo: bool,
        /// Seed of the demo data generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// With --demo: seconds between live demo events (about; jittered), sent through the
        /// real ingestion path so the dashboard moves. 0 switches the live traffic off.
        #[arg(long, default_value_t = 3.0, value_name = "SECONDS", value_parser = parse_demo_traffic)]
        demo_traffic: f64,
        /// Log output format.
        #[arg(long, env = "SENTINEL_LOG_FORMAT", value_enum)]
        log_format: Option<LogFormat>,
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
    /// Print the OpenAPI document.
    Openapi,
    /// Evaluate text offline against policies. Exit status: 0 allow, 1 notify, 2 redact,
    /// 3 block, 4 error.
    Check(check::CheckArgs),
    /// Work with policy definitions offline.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Check the definitions in FILE (separated by `---` lines, or a JSON array). Exit status 0
    /// when all are valid, 1 otherwise.
    Validate { file: PathBuf },
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
        online => (
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the runtime")
                .and_then(|runtime| runtime.block_on(run(online))),
            1,
        ),
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
        Command::Migrate { store } => {
            let settings = Settings::load(&store, None, None)?;
            config::init_logging(settings.log_format);
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
            let settings = Settings::load(&store, None, None)?;
            config::init_logging(settings.log_format);
            let store = open_store(&settings).await?;
            if purge_demo {
                seed::purge_demo(&store).await?;
            } else {
                seed::run(&store, events, seed, batch, true, demo_users).await?;
            }
            store.close().await?;
            Ok(0)
        }
        Command::User { store, command } => {
            let settings = Settings::load(&store, None, None)?;
            config::init_logging(settings.log_format);
            let store = open_store(&settings).await?;
            admin::user(&store, command).await?;
            store.close().await?;
            Ok(0)
        }
        Command::Audit { store, command } => {
            let settings = Settings::load(&store, None, None)?;
            config::init_logging(settings.log_format);
            let store = open_store(&settings).await?;
            let code = admin::audit(&store, command).await?;
            store.close().await?;
            Ok(code)
        }
        Command::Serve {
            store,
            bind,
            demo,
            seed,
            demo_traffic,
            log_format,
        } => {
            let settings = Settings::load(&store, bind, log_format)?;
            config::init_logging(settings.log_format);
            let live_demo = (demo && demo_traffic > 0.0)
                .then(|| std::time::Duration::from_secs_f64(demo_traffic));
            serve(settings, demo, seed, live_demo).await?;
            Ok(0)
        }
    }
}

async fn open_store(settings: &Settings) -> Result<Store> {
    let url = settings.database_url();
    Store::open(&url)
        .await
        .with_context(|| format!("opening the database {}", sentinel_store::redact_url(&url)))
}

/// `--demo-traffic`: a number of seconds, 0 (off) or from 0.05 to one day.
fn parse_demo_traffic(raw: &str) -> Result<f64, String> {
    let seconds: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of seconds, got `{raw}`"))?;
    if seconds == 0.0 || (0.05..=86_400.0).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "expected 0 (off) or 0.05 to 86400 seconds, got `{raw}`"
        ))
    }
}

/// `live_demo`: the mean interval of the live demo traffic, when it runs.
async fn serve(
    settings: Settings,
    demo: bool,
    seed: u64,
    live_demo: Option<std::time::Duration>,
) -> Result<()> {
    let store = open_store(&settings).await?;
    if demo {
        if store.is_empty().await? {
            tracing::info!("loading demo data");
            seed::run(&store, 2000, seed, 1000, false, true).await?;
        } else {
            tracing::info!("the store already holds data; demo data not loaded");
        }
    }
    let admin_password = std::env::var("SENTINEL_ADMIN_PASSWORD").ok();
    if sentinel_server::service::users::bootstrap_admin(&store, admin_password.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("creating the admin user: {e}"))?
    {
        tracing::info!("created the user `admin` from SENTINEL_ADMIN_PASSWORD");
    } else if admin_password.is_some() {
        tracing::info!("SENTINEL_ADMIN_PASSWORD ignored: the store already has users");
    } else if store.count_users().await? == 0 {
        tracing::warn!(
            "no users exist, so nobody can sign in: restart with SENTINEL_ADMIN_PASSWORD set to create `admin`, or run `sentinel user create NAME --email E --role admin` (password on standard input)"
        );
    }
    let listener = TcpListener::bind(&settings.bind)
        .await
        .with_context(|| format!("binding {}", settings.bind))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "Sentinel is listening; API docs at http://{addr}/docs");
    let state = AppState::new(
        store.clone(),
        ServerConfig {
            body_limit: settings.body_limit,
            cors_origins: settings.cors_origins.clone(),
            jwt_secret: sentinel_server::state::Secret(config::jwt_secret(&settings)?),
            access_ttl: std::time::Duration::from_secs(settings.access_token_minutes * 60),
            refresh_ttl: std::time::Duration::from_secs(settings.refresh_token_days * 86_400),
            anonymous_role: settings.anonymous_role,
            store_content: settings.store_content,
            retention_days: settings.retention_days,
            ..ServerConfig::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("compiling the enforced policies: {e}"))?;
    if let Some(days) = settings.retention_days {
        sentinel_server::service::retention::spawn(state.clone(), days);
    }
    let live_traffic = live_demo.map(|every| {
        tracing::info!(
            seconds = every.as_secs_f64(),
            "live demo traffic on (--demo-traffic 0 switches it off)"
        );
        sentinel_server::service::demo::spawn_live_traffic(state.clone(), every, seed)
    });
    let served = sentinel_server::serve(listener, state, shutdown_signal()).await;
    if let Some(task) = live_traffic {
        task.abort();
    }
    served.context("serving")?;
    tracing::info!("shut down cleanly");
    store.close().await?;
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; draining in-flight requests");
}
