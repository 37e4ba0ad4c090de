//! The one boot path, used by `sentinel serve` and by the tests.
//!
//! [`Application::build`] opens and migrates the store, loads demo data when asked, creates the
//! first admin from `admin_password`, compiles the enforced policies, binds the listener and
//! starts the background tasks (retention, live demo traffic, the cluster relay and listener).
//! [`Application::run_until`] serves until its shutdown future completes, drains in-flight
//! requests, stops every background task and closes the store.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use sentinel_store::{AuditContext, Store, StoreError};
use tokio::net::TcpListener;

use crate::auth::{Authenticator, Throttle};
use crate::guard::Guard;
use crate::live::LiveHub;
use crate::metrics::HttpMetrics;
use crate::service::ServiceError;
use crate::service::demo::{self, DemoError, DemoLoad};
use crate::settings::Settings;
use crate::state::{AppState, Shared};
use crate::tasks::{TaskEnd, Tasks};

/// Demo data loaded by `serve --demo` into an empty store.
const DEMO_EVENTS: u64 = 2000;
const DEMO_BATCH: usize = 1000;

/// Why the application could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("opening the database {url}")]
    Open {
        /// With the password hidden.
        url: String,
        #[source]
        source: StoreError,
    },
    #[error("reading the store")]
    Store(#[from] StoreError),
    #[error("loading demo data")]
    Demo(#[source] DemoError),
    #[error("creating the admin user")]
    Admin(#[source] ServiceError),
    #[error("the model gateway: {0}")]
    Gateway(String),
    #[error("a SIEM sink: {0}")]
    Siem(String),
    #[error("the token-signing secret {path}: {reason}")]
    Secret { path: String, reason: String },
    #[error("binding {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("serving")]
    Serve(#[source] std::io::Error),
}

/// A bound application, not yet serving.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    tasks: Tasks,
}

/// How the application stopped.
#[derive(Debug)]
pub struct Stopped {
    /// Each background task and how it ended, in start order.
    pub tasks: Vec<(&'static str, TaskEnd)>,
}

impl Application {
    /// Does everything before serving; see the module documentation.
    pub async fn build(settings: Settings) -> Result<Self, BootError> {
        let url = settings.database_url();
        let store = Store::open(&url).await.map_err(|source| BootError::Open {
            url: sentinel_store::redact_url(&url),
            source,
        })?;
        if settings.demo {
            load_demo(&store, settings.demo_seed).await?;
        }
        match crate::service::backtest::sweep_stale(&store).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                backtests = n,
                "backtests interrupted by a stop marked failed"
            ),
            Err(e) => tracing::warn!(error = %e, "could not sweep interrupted backtests"),
        }
        let added = crate::service::templates::seed(&store).await?;
        if added > 0 {
            tracing::info!(templates = added, "template library added to the store");
        }
        bootstrap_admin(&store, &settings).await?;
        let secret = signing_secret(&settings)?;
        let listener =
            TcpListener::bind(&settings.bind)
                .await
                .map_err(|source| BootError::Bind {
                    addr: settings.bind.clone(),
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| BootError::Bind {
            addr: settings.bind.clone(),
            source,
        })?;

        let guard = Arc::new(Guard::new(&store.all_policies().await?));
        let auth = Arc::new(Authenticator::new(
            &secret,
            settings.access_ttl(),
            settings.refresh_ttl(),
            settings.anonymous_role,
        ));
        let gateway = Arc::new(
            crate::gateway::Upstreams::new(&settings.gateway).map_err(BootError::Gateway)?,
        );
        let linger = if settings.gateway.record_before_answer {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_millis(10)
        };
        let (writer, writer_task) = crate::service::writer::EventWriter::new(store.clone(), linger);
        let (ingest, ingest_task) =
            crate::service::writer::EventWriter::new(store.clone(), std::time::Duration::ZERO);
        let state = AppState::new(Shared {
            store,
            live: LiveHub::new(settings.live_queue),
            guard,
            auth,
            throttle: Arc::new(Throttle::default()),
            http_metrics: HttpMetrics::default(),
            settings: Arc::new(settings),
            gateway,
            writer,
            ingest,
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
            siem_metrics: crate::siem::worker::SiemMetrics::default(),
        });

        let mut tasks = Tasks::new();
        crate::cluster::start(&state, &mut tasks).await?;
        tasks.spawn("event writer", move |stop| writer_task.run_dedicated(stop));
        tasks.spawn("ingest writer", move |stop| ingest_task.run_dedicated(stop));
        let deliverer =
            crate::webhook::worker::Deliverer::new(&state).map_err(BootError::Gateway)?;
        tasks.spawn("webhook delivery", move |stop| deliverer.run(stop));
        crate::siem::worker::start(
            &state.store,
            &state.settings.siem,
            &state.siem_metrics,
            &[state.writer.activity(), state.ingest.activity()],
            &mut tasks,
        )
        .map_err(BootError::Siem)?;
        if let Some(days) = state.settings.retention_days {
            let state = state.clone();
            tasks.spawn("retention", move |stop| {
                crate::service::retention::run(state, days, stop)
            });
        }
        if let Some(every) = state.settings.live_demo_every() {
            tracing::info!(
                seconds = every.as_secs_f64(),
                "live demo traffic on (--demo-traffic 0 switches it off)"
            );
            let (state, seed) = (state.clone(), state.settings.demo_seed);
            tasks.spawn("demo traffic", move |stop| {
                demo::live_traffic(state, every, seed, stop)
            });
        }
        Ok(Self {
            listener,
            addr,
            state,
            tasks,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on (the one the system chose for `bind = "…:0"`).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The state its handlers share.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The names of the background tasks running beside the server, in start order.
    pub fn tasks(&self) -> Vec<&'static str> {
        self.tasks.names()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests, stops every background
    /// task and closes the store.
    pub async fn run_until<F>(self, shutdown: F) -> Result<Stopped, BootError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Self {
            listener,
            addr,
            state,
            tasks,
        } = self;
        tracing::info!(%addr, "Sentinel is listening; API docs at http://{addr}/docs");
        let served = crate::serve(listener, state.clone(), shutdown).await;
        let stopped = Stopped {
            tasks: tasks.stop().await,
        };
        let store = state.store.clone();
        // The last handles on the state (and its live hub) go before the pool closes.
        drop(state);
        store.close().await?;
        served.map_err(BootError::Serve)?;
        Ok(stopped)
    }
}

/// `serve --demo`: the demo catalogue, the legacy demo users and generated traffic, into an
/// empty store only.
async fn load_demo(store: &Store, seed: u64) -> Result<(), BootError> {
    if !store.is_empty().await? {
        tracing::info!("the store already holds data; demo data not loaded");
        return Ok(());
    }
    tracing::info!("loading demo data");
    let ctx = AuditContext {
        actor: "system:demo".into(),
        ..AuditContext::default()
    };
    let plan = DemoLoad {
        events: DEMO_EVENTS,
        seed,
        batch: DEMO_BATCH,
        demo_users: true,
    };
    demo::load(store, &ctx, plan, |_| {})
        .await
        .map_err(BootError::Demo)?;
    if let Some(id) = demo::store_backtest(store).await.map_err(BootError::Demo)? {
        tracing::info!(
            backtest.id = id,
            "stored the demo backtest of the shadow policy"
        );
    }
    Ok(())
}

/// Creates `admin` from `admin_password` on a store without users, or says how to get one.
async fn bootstrap_admin(store: &Store, settings: &Settings) -> Result<(), BootError> {
    let password = settings.admin_password.as_ref().map(|p| p.expose());
    if crate::service::users::bootstrap_admin(store, password)
        .await
        .map_err(BootError::Admin)?
    {
        tracing::info!("created the user `admin` from admin_password (SENTINEL_ADMIN_PASSWORD)");
    } else if password.is_some() {
        tracing::info!(
            "admin_password (SENTINEL_ADMIN_PASSWORD) ignored: the store already has users"
        );
    } else if store.count_users().await? == 0 {
        tracing::warn!(
            "no users exist, so nobody can sign in: restart with SENTINEL_ADMIN_PASSWORD (or admin_password) set to create `admin`, or run `sentinel user create NAME --email E --role admin` (password on standard input)"
        );
    }
    Ok(())
}

/// The token-signing secret: configured, or generated once and kept in the data directory
/// (readable by the owner only).
fn signing_secret(settings: &Settings) -> Result<Vec<u8>, BootError> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.expose().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt-secret");
    let failed = |reason: String| BootError::Secret {
        path: path.display().to_string(),
        reason,
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
        return Err(failed("shorter than 32 characters".into()));
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| failed(format!("no randomness: {e}")))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| failed(format!("creating {}: {e}", settings.data_dir.display())))?;
    write_private(&path, &secret).map_err(|e| failed(format!("writing: {e}")))?;
    tracing::info!(path = %path.display(), "generated the token-signing secret");
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
