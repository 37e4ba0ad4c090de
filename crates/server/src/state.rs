//! What every handler can reach. Plain data: [`Application`](crate::application::Application)
//! builds it and starts whatever runs beside it.

use std::sync::Arc;

use sentinel_store::Store;

use crate::auth::{Authenticator, Credentials, Throttle};
use crate::guard::Guard;
use crate::live::LiveHub;
use crate::metrics::HttpMetrics;
use crate::settings::Settings;

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
    pub http_metrics: HttpMetrics,
    pub settings: Arc<Settings>,
    /// The model gateway's upstreams and their pooled client.
    pub gateway: Arc<crate::gateway::Upstreams>,
    /// Group commit of the gateway's events.
    pub writer: crate::service::writer::EventWriter,
    /// Group commit of the events posted one at a time to `POST /api/events/`: no linger, so a
    /// lone event commits at once, while events that arrive together share a transaction.
    pub ingest: crate::service::writer::EventWriter,
    /// Wakes the webhook delivery worker (a test event, a redelivery, a re-enabled endpoint).
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// The SIEM sinks' counters.
    pub siem_metrics: crate::siem::worker::SiemMetrics,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Credentials for AppState {
    fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    fn store(&self) -> &Store {
        &self.store
    }
}
