use std::sync::Arc;
use std::time::Duration;

use sentinel_api::UserRole;
use sentinel_store::Store;

use crate::auth::{Authenticator, Throttle};
use crate::guard::Guard;
use crate::live::LiveHub;

/// How much of an event's text the database keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreContent {
    /// Prompt, completion and event data as received.
    #[default]
    Full,
    /// The text as the policies' redaction leaves it: detected values replaced.
    Redacted,
    /// No prompt, completion or event data at all; findings keep their offsets and types only.
    None,
}

/// A secret that never prints.
#[derive(Clone, Default)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Settings the server needs at run time, validated by the binary before start-up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Origins allowed by CORS; empty means CORS stays closed.
    pub cors_origins: Vec<String>,
    /// Per-client queue of the live stream, in messages.
    pub live_queue: usize,
    /// Key that signs access tokens (HS256).
    pub jwt_secret: Secret,
    /// Lifetime of an access token.
    pub access_ttl: Duration,
    /// Lifetime of a refresh token.
    pub refresh_ttl: Duration,
    /// The role of requests without credentials; `None` (the default) refuses them.
    pub anonymous_role: Option<UserRole>,
    /// How much event text is stored.
    pub store_content: StoreContent,
    /// Events older than this many days are deleted in the background; `None` keeps everything.
    pub retention_days: Option<u32>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            cors_origins: Vec::new(),
            live_queue: 1024,
            jwt_secret: Secret::default(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            anonymous_role: None,
            store_content: StoreContent::Full,
            retention_days: None,
        }
    }
}

/// Everything a handler can reach: one `Arc`, so the per-request clones axum makes (one per
/// `State` extractor and middleware) cost a single atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct Shared {
    pub store: Store,
    pub live: LiveHub,
    pub guard: Arc<Guard>,
    pub auth: Arc<Authenticator>,
    pub throttle: Arc<Throttle>,
    pub http_metrics: crate::metrics::HttpMetrics,
    pub config: Arc<ServerConfig>,
}

impl AppState {
    /// Builds the state and compiles the enforced policies found in the store. An empty
    /// `jwt_secret` is replaced by a random one that lives as long as the process (the binary
    /// always supplies one, configured or kept in the data directory).
    pub async fn new(
        store: Store,
        config: ServerConfig,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let live = LiveHub::new(config.live_queue);
        let guard = Arc::new(Guard::new(&store.all_policies().await?));
        let mut secret = config.jwt_secret.0.clone();
        if secret.is_empty() {
            secret = vec![0; 32];
            getrandom::fill(&mut secret)?;
        }
        let auth = Arc::new(Authenticator::new(
            &secret,
            config.access_ttl,
            config.refresh_ttl,
            config.anonymous_role,
        ));
        let state = Self(Arc::new(Shared {
            store,
            live,
            guard,
            auth,
            throttle: Arc::new(Throttle::default()),
            http_metrics: crate::metrics::HttpMetrics::default(),
            config: Arc::new(config),
        }));
        crate::cluster::start(&state).await?;
        Ok(state)
    }
}
