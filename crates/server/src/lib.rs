//! Sentinel's HTTP and WebSocket server.
//!
//! Owns routing, request extraction and error mapping, the live stream, the API documentation and
//! the use cases (`service`) that join the store, the engine and the live stream; the one
//! configuration type (`settings`) and the one boot path (`application`), shared by the binary and
//! the tests. It holds no SQL (that is the store's) and no detection logic (that is the engine's).

pub mod application;
pub mod auth;
pub mod cluster;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod guard;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod settings;
pub mod siem;
pub mod state;
pub mod tasks;
pub mod telemetry;
pub mod webhook;
pub mod ws;

use std::future::Future;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

pub use application::Application;
pub use settings::Settings;
pub use state::AppState;

/// The version reported by `GET /`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Serves the application on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = routes::app(state.clone());
    let live = state.live.clone();
    // Small writes (live frames, short answers) go out at once instead of waiting for the
    // previous segment's acknowledgement (Nagle's algorithm with delayed ACKs).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Close WebSocket sessions so they don't hold the drain open.
        live.close();
    })
    .await
}
