use std::sync::Arc;

use sentinel_store::Store;

use crate::guard::Guard;
use crate::live::LiveHub;

/// Settings the server needs at run time, validated by the binary before start-up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Origins allowed by CORS; empty means CORS stays closed.
    pub cors_origins: Vec<String>,
    /// Per-client queue of the live stream, in messages.
    pub live_queue: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            cors_origins: Vec::new(),
            live_queue: 1024,
        }
    }
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub live: LiveHub,
    pub guard: Arc<Guard>,
    pub config: Arc<ServerConfig>,
}

impl AppState {
    /// Builds the state and compiles the enforced policies found in the store.
    pub async fn new(
        store: Store,
        config: ServerConfig,
    ) -> Result<Self, sentinel_store::StoreError> {
        let live = LiveHub::new(config.live_queue);
        let guard = Arc::new(Guard::new(&store.all_policies().await?));
        Ok(Self {
            store,
            live,
            guard,
            config: Arc::new(config),
        })
    }
}
