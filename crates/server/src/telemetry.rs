//! OpenTelemetry traces over OTLP (DESIGN §11: it sits in the `tracing` layer, not in handlers).
//!
//! Off by default. It is switched on, and configured, by the standard environment variables:
//! `OTEL_TRACES_EXPORTER=otlp` or an `OTEL_EXPORTER_OTLP_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc` or
//! `http/protobuf`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
//! `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` as the exporter and SDK read them;
//! `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keep it off; `OTEL_BSP_MAX_QUEUE_SIZE`
//! (default 2048) and `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (512) size the queue.
//!
//! What is traced:
//! - every HTTP request: a server span that continues the W3C `traceparent` of the request;
//! - every evaluation of the policies: an `apply_guardrail` span with a `gen_ai.security.finding`
//!   event per finding, named and attributed per the draft GenAI security-guardrail conventions
//!   (open-telemetry/semantic-conventions PR #3233: `gen_ai.operation.name = apply_guardrail`,
//!   `gen_ai.guardian.*`, `gen_ai.security.target.type`, `gen_ai.security.decision.type`,
//!   `gen_ai.security.policy.*`, `gen_ai.security.risk.*`);
//! - every gateway call to an upstream: a client span named per the GenAI conventions
//!   (`chat {model}`, `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`,
//!   `gen_ai.usage.*`), whose context goes to the upstream as `traceparent`.
//!
//! Exporting never slows a request: finished spans go into a bounded queue that a task drains
//! in batches; when the queue is full a span is dropped and counted
//! (`sentinel_otel_spans_dropped_total` on `/metrics`). The SDK's own batch processor is bounded
//! too, but keeps its drop count to itself.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor};
use sentinel_engine::{Decision, Evaluation};
use tokio::sync::mpsc;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static ENABLED: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static EXPORTED: AtomicU64 = AtomicU64::new(0);

/// Whether traces are exported (set once, at start).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Spans dropped because the export queue was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Spans handed to the exporter.
pub fn exported() -> u64 {
    EXPORTED.load(Ordering::Relaxed)
}

/// The running exporter: flush it with [`Telemetry::shutdown`] before the process exits.
pub struct Telemetry {
    provider: SdkTracerProvider,
    drained: tokio::task::JoinHandle<()>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether the environment asks for traces.
fn wanted() -> bool {
    if env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return false;
    }
    match env("OTEL_TRACES_EXPORTER").map(|v| v.to_ascii_lowercase()) {
        Some(v) if v == "none" => false,
        Some(v) if v == "otlp" => true,
        Some(_) => false,
        None => {
            env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
                || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    env(name)
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// The `tracing` layer that turns spans into OpenTelemetry spans for the exporter.
pub type Layer<S> = tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>;

/// Starts the exporter if the environment asks for it, and returns the `tracing` layer that feeds
/// it. Must run inside the Tokio runtime (the queue is drained by a task).
pub fn init<S>() -> Result<Option<(Layer<S>, Telemetry)>, opentelemetry_otlp::ExporterBuildError>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    if !wanted() {
        return Ok(None);
    }
    // reqwest (the OTLP/HTTP client) is built without a default crypto provider: use ring, as
    // the gateway does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().build()?;
    let capacity = env_usize("OTEL_BSP_MAX_QUEUE_SIZE", 2048);
    let batch = env_usize("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512).min(capacity);
    let (tx, rx) = mpsc::channel(capacity);
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(env("OTEL_SERVICE_NAME").unwrap_or_else(|| "sentinel".into()))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    // The exporter sends the resource with each batch; the queue in front of it does not see it.
    exporter.set_resource(&resource);
    let drained = tokio::spawn(drain(exporter, rx, batch));
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Queue {
            tx: std::sync::Mutex::new(Some(tx)),
        })
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("sentinel");
    ENABLED.store(true, Ordering::Relaxed);
    tracing::info!(queue = capacity, "exporting OpenTelemetry traces over OTLP");
    Ok(Some((
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_location(false),
        Telemetry { provider, drained },
    )))
}

impl Telemetry {
    /// Ends the queue and waits (up to five seconds) until what it holds is exported.
    pub async fn shutdown(self) {
        // Shutting the provider down closes the queue; the task then exports the rest.
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.drained).await;
    }
}

/// The span processor: a bounded queue in front of the exporter task. Shutting it down lets go
/// of the sender, so the task exports what is queued and ends.
#[derive(Debug)]
struct Queue {
    tx: std::sync::Mutex<Option<mpsc::Sender<SpanData>>>,
}

impl SpanProcessor for Queue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let sent = match self.tx.lock() {
            Ok(tx) => tx.as_ref().is_some_and(|tx| tx.try_send(span).is_ok()),
            Err(_) => false,
        };
        if !sent {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        match self.tx.lock() {
            Ok(mut tx) => match tx.take() {
                Some(_) => Ok(()),
                None => Err(OTelSdkError::AlreadyShutdown),
            },
            Err(_) => Err(OTelSdkError::InternalFailure(
                "span queue lock poisoned".into(),
            )),
        }
    }
}

/// Exports the queue in batches until every sender is gone.
async fn drain(
    exporter: opentelemetry_otlp::SpanExporter,
    mut rx: mpsc::Receiver<SpanData>,
    batch: usize,
) {
    let mut spans = Vec::with_capacity(batch);
    loop {
        spans.clear();
        if rx.recv_many(&mut spans, batch).await == 0 {
            break;
        }
        let n = spans.len() as u64;
        match exporter.export(std::mem::take(&mut spans)).await {
            Ok(()) => {
                EXPORTED.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(error = %e, spans = n, "OpenTelemetry export failed"),
        }
    }
    let _ = exporter.shutdown();
}

/// The W3C trace context of a request's headers.
pub fn extract(headers: &axum::http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers))
}

/// Makes `span` a child of the trace a request's `traceparent` names (no-op without one, and
/// when traces are off).
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if enabled() && headers.contains_key("traceparent") {
        let _ = span.set_parent(extract(headers));
    }
}

/// The `traceparent` (and `tracestate`) to send upstream: the current span's context when traces
/// are on, else the incoming request's own header, passed on unchanged.
pub fn upstream_headers(
    span: &tracing::Span,
    incoming: &axum::http::HeaderMap,
) -> Vec<(String, String)> {
    if enabled() {
        let mut out = std::collections::HashMap::new();
        TraceContextPropagator::new().inject_context(&span.context(), &mut out);
        let mut out: Vec<(String, String)> = out.into_iter().collect();
        out.sort();
        return out;
    }
    ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| {
            let value = incoming.get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// An `apply_guardrail` span for one evaluation of `target` (`llm_input`, `llm_output`,
/// `tool_call`), or a disabled span when traces are off.
pub fn guardrail_span(target: &'static str) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "apply_guardrail",
        otel.name = format!("apply_guardrail sentinel {target}"),
        otel.kind = "internal",
    );
    span.set_attribute("gen_ai.operation.name", "apply_guardrail");
    span.set_attribute("gen_ai.guardian.name", "sentinel");
    span.set_attribute("gen_ai.guardian.version", env!("CARGO_PKG_VERSION"));
    span.set_attribute("gen_ai.security.target.type", target);
    span
}

/// The draft's decision type for an engine decision.
fn decision_type(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow",
        Decision::Notify => "warn",
        Decision::Redact => "modify",
        Decision::Block => "deny",
    }
}

/// Records an evaluation on its guardrail span: the decision, the policies that fired, and one
/// `gen_ai.security.finding` event per finding (category, score, the policy that raised it).
/// No text of the prompt or the answer is recorded.
pub fn record_evaluation(span: &tracing::Span, eval: &Evaluation) {
    if !enabled() || span.is_none() {
        return;
    }
    span.set_attribute(
        "gen_ai.security.decision.type",
        decision_type(eval.decision),
    );
    span.set_attribute(
        "gen_ai.security.content.modified",
        eval.decision == Decision::Redact,
    );
    let policies: Vec<String> = eval.hits.iter().map(|h| h.policy_id.to_string()).collect();
    if !policies.is_empty() {
        span.set_attribute(
            "gen_ai.security.policy.id",
            opentelemetry::Value::Array(
                policies
                    .into_iter()
                    .map(opentelemetry::StringValue::from)
                    .collect::<Vec<_>>()
                    .into(),
            ),
        );
    }
    for hit in &eval.hits {
        for f in &hit.findings {
            span.add_event(
                "gen_ai.security.finding",
                vec![
                    KeyValue::new("gen_ai.security.risk.category", f.detector.clone()),
                    KeyValue::new("gen_ai.security.risk.entity", f.entity.clone()),
                    KeyValue::new("gen_ai.security.risk.score", f.score),
                    KeyValue::new("gen_ai.security.risk.severity", hit.severity.as_str()),
                    KeyValue::new("gen_ai.security.policy.id", hit.policy_id.to_string()),
                    KeyValue::new(
                        "gen_ai.security.decision.type",
                        decision_type(Decision::from(hit.action)),
                    ),
                ],
            );
        }
    }
}

/// The client span of one gateway call (`{operation} {model}` once the model is known, see
/// [`name_call`]), or a disabled span when traces are off.
pub fn call_span(provider: &'static str) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "gen_ai",
        otel.name = tracing::field::Empty,
        otel.kind = "client",
    );
    span.set_attribute("gen_ai.provider.name", provider);
    span
}

/// Names a gateway call's span per the GenAI conventions: `chat gpt-4o`, `embeddings …`.
pub fn name_call(span: &tracing::Span, operation: &str, model: &str) {
    if !enabled() || span.is_none() {
        return;
    }
    let operation = if operation == "embeddings" {
        "embeddings"
    } else {
        "chat"
    };
    span.record("otel.name", format!("{operation} {model}"));
    span.set_attribute("gen_ai.operation.name", operation);
    span.set_attribute("gen_ai.request.model", model.to_owned());
}

/// Records what a finished gateway call used and decided on its span, and the guardrail's
/// verdict on the answer as an `apply_guardrail` child span (`llm_output`).
pub fn record_call(span: &tracing::Span, call: &crate::gateway::record::Call) {
    if !enabled() || span.is_none() {
        return;
    }
    if let Some(n) = call.input_tokens {
        span.set_attribute("gen_ai.usage.input_tokens", n);
    }
    if let Some(n) = call.output_tokens {
        span.set_attribute("gen_ai.usage.output_tokens", n);
    }
    if let Some(status) = call.upstream_status {
        span.set_attribute("http.response.status_code", i64::from(status));
    }
    if let Some(e) = &call.error {
        span.set_attribute("error.type", e.clone());
        span.set_status(opentelemetry::trace::Status::error(e.clone()));
    }
    if call.completion.is_some() || !call.outbound.is_empty() {
        let out = span.in_scope(|| guardrail_span("llm_output"));
        let merged = Evaluation {
            decision: call
                .outbound
                .iter()
                .map(|e| e.decision)
                .max()
                .unwrap_or(Decision::Allow),
            hits: call.outbound.iter().flat_map(|e| e.hits.clone()).collect(),
            findings: Vec::new(),
            redacted_prompt: None,
            redacted_completion: None,
            scores: sentinel_engine::Scores::default(),
            block_message: None,
        };
        record_evaluation(&out, &merged);
    }
}
