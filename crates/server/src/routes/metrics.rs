//! Prometheus metrics at `GET /metrics` (text exposition format, `prometheus-client`).
//!
//! Request counts and latencies by route template are recorded by a middleware
//! (`crate::metrics`); everything else (evaluations and violations by policy, WebSocket clients,
//! lag drops, database pool) is read at scrape time from where it already lives, so the hot paths
//! pay for nothing extra.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::auth::{Auth, Read};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    policy_id: String,
    policy: String,
}

/// `GET /metrics` (needs the `read` permission, e.g. a read-scoped API key for the scraper).
pub async fn scrape(_auth: Auth<Read>, State(state): State<AppState>) -> ApiResult<Response> {
    let mut registry = Registry::with_prefix("sentinel");
    state.http_metrics.register(&mut registry);

    let enforced = state.guard.current();
    let evaluations = Family::<PolicyLabels, Counter>::default();
    let violations = Family::<PolicyLabels, Counter>::default();
    for (id, m) in state.guard.all_metrics() {
        let labels = PolicyLabels {
            policy_id: id.to_string(),
            policy: enforced
                .policies
                .get(&id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        };
        evaluations.get_or_create(&labels).inc_by(m.evaluations);
        violations.get_or_create(&labels).inc_by(m.hits);
    }
    registry.register(
        "policy_evaluations",
        "Evaluations per policy since the process started",
        evaluations,
    );
    registry.register(
        "policy_violations",
        "Violations (breaches) per policy since the process started",
        violations,
    );
    let enforced_gauge = Gauge::<i64>::default();
    enforced_gauge.set(i64::try_from(enforced.policies.len()).unwrap_or(i64::MAX));
    registry.register("policies_enforced", "Policies enforced now", enforced_gauge);

    let clients = Gauge::<i64>::default();
    clients.set(i64::try_from(state.live.clients()).unwrap_or(i64::MAX));
    registry.register(
        "websocket_clients",
        "Connected live-stream clients",
        clients,
    );
    let lagged = Counter::<u64>::default();
    lagged.inc_by(state.live.lagged_total());
    registry.register(
        "websocket_lagged_messages",
        "Live messages dropped for clients that fell behind",
        lagged,
    );

    let otel_dropped = Counter::<u64>::default();
    otel_dropped.inc_by(crate::telemetry::dropped());
    registry.register(
        "otel_spans_dropped",
        "OpenTelemetry spans dropped because the export queue was full",
        otel_dropped,
    );
    let otel_exported = Counter::<u64>::default();
    otel_exported.inc_by(crate::telemetry::exported());
    registry.register(
        "otel_spans_exported",
        "OpenTelemetry spans handed to the OTLP exporter",
        otel_exported,
    );

    state.siem_metrics.register(&mut registry);
    let lag = Family::<crate::siem::worker::SinkLabels, Gauge>::default();
    for sink in &state.settings.siem.sinks {
        let cursor = state.store.siem_cursor(&sink.name).await?;
        let behind = state.store.siem_lag(cursor.position).await?;
        lag.get_or_create(&crate::siem::worker::SinkLabels {
            sink: sink.name.clone(),
        })
        .set(i64::try_from(behind).unwrap_or(i64::MAX));
    }
    registry.register(
        "siem_lag_messages",
        "Outbox messages each SIEM sink has not passed yet",
        lag,
    );

    let (size, idle) = state.store.pool_usage();
    let pool_size = Gauge::<i64>::default();
    pool_size.set(i64::from(size));
    registry.register(
        "db_pool_connections",
        "Open database connections",
        pool_size,
    );
    let pool_idle = Gauge::<i64>::default();
    pool_idle.set(i64::try_from(idle).unwrap_or(i64::MAX));
    registry.register(
        "db_pool_idle_connections",
        "Idle database connections",
        pool_idle,
    );

    let mut body = String::new();
    prometheus_client::encoding::text::encode(&mut body, &registry)
        .map_err(|e| ApiError::internal(format!("encoding metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}
