//! The steps every gateway route shares: reading the body, the way in, forwarding to the
//! upstream (with its failures in the provider's shape), and answering a stream.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sentinel_engine::{Decision, Restorer, Scope, StreamOptions, StreamScanner, Target};
use serde_json::Value;
use tokio::sync::mpsc;

use super::ProviderError;
use super::inbound::{self, Texts};
use super::record::{self, Call};
use super::upstream::Upstream;
use crate::auth::{Auth, Proxy};
use crate::guard::Enforced;
use crate::settings::{ApiShape, Unscannable};
use crate::state::AppState;

pub(super) fn bad(api: ApiShape, message: impl Into<String>) -> ProviderError {
    ProviderError::new(
        api,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        message.into(),
    )
}

/// One provider API shape of a route: how it reads a request and judges an answer.
pub(super) trait Shape {
    const API: ApiShape;
    /// The event's `operation` (`chat.completions`).
    const OPERATION: &'static str;
    /// The upstream path after its base URL (`/chat/completions`).
    const PATH: &'static str;
    /// Whether the route can stream (when the body asks with `stream: true`).
    const STREAMS: bool = true;
    /// What the stream job learns from the request (whether the client asked for usage).
    type Ask: Send + 'static;
    /// The texts the model will read.
    fn texts(body: &Value) -> Result<Texts, ProviderError>;
    /// Adjusts the body to forward; says what the stream job must know.
    fn adjust(body: &mut Value, stream: bool) -> Self::Ask;
    /// Headers to forward besides the key.
    fn headers(_incoming: &HeaderMap) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Judges a whole answer.
    fn judge(state: &AppState, p: &mut Prepared, answer: Value) -> Value;
    /// Reads the upstream's stream, sends what is released, records the call.
    fn stream(
        state: AppState,
        p: Prepared,
        ask: Self::Ask,
        response: reqwest::Response,
        tx: mpsc::Sender<Bytes>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static;
}

/// The handler of a gateway route of shape `S`: from the request to the answer (or the stream).
pub(super) async fn serve<S: Shape>(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Result<Auth<Proxy>, crate::error::ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use tracing::Instrument as _;
    let provider = match S::API {
        ApiShape::Openai => "openai",
        ApiShape::Anthropic => "anthropic",
    };
    let span = crate::telemetry::call_span(provider);
    match serve_inner::<S>(state, auth, headers, body)
        .instrument(span)
        .await
    {
        Ok(response) | Err(response) => response,
    }
}

async fn serve_inner<S: Shape>(
    state: AppState,
    auth: Result<Auth<Proxy>, crate::error::ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let fail = |e: ProviderError| e.into_response();
    let auth = super::caller(S::API, auth).map_err(fail)?;
    let (mut body, model) = parse_body(S::API, &body).map_err(fail)?;
    crate::telemetry::name_call(&tracing::Span::current(), S::OPERATION, &model);
    let texts = S::texts(&body).map_err(fail)?;
    let stream = S::STREAMS && body.get("stream").and_then(Value::as_bool) == Some(true);
    let request = Request {
        api: S::API,
        operation: S::OPERATION,
        auth,
        headers: &headers,
        model,
        stream,
    };
    let mut p = prepare(&state, request, &mut body, &texts)
        .await
        .map_err(fail)?;
    let ask = S::adjust(&mut body, stream);
    let extra = S::headers(&headers);
    let response = forward(&state, &mut p, S::PATH, &body, &headers, &extra).await?;
    if stream {
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        tokio::spawn(tracing::Instrument::instrument(
            S::stream(state.clone(), p, ask, response, tx),
            tracing::Span::current(),
        ));
        return Ok(sse_response(rx));
    }
    let answer = p.read_json(&state, response).await?;
    let judged = Instant::now();
    let answer = S::judge(&state, &mut p, answer);
    p.call.added_ms += ms(judged);
    p.finish(&state).await;
    Ok(axum::Json(answer).into_response())
}

/// A request body: a JSON object with a `model`.
fn parse_body(api: ApiShape, bytes: &[u8]) -> Result<(Value, String), ProviderError> {
    let body: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(api, format!("invalid JSON body: {e}")))?;
    if !body.is_object() {
        return Err(bad(api, "the body must be a JSON object"));
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(api, "`model` is required"))?
        .to_owned();
    Ok((body, model))
}

/// A call that passed the way in: its body rewritten, its record begun.
pub(super) struct Prepared {
    pub upstream: Upstream,
    pub call: Call,
    pub enforced: Arc<Enforced>,
    /// Puts pseudonyms back into the answer (when the request was pseudonymised).
    pub restorer: Option<Restorer>,
    pub options: StreamOptions,
    pub started: Instant,
    /// When the upstream call went out.
    pub sent: Instant,
}

/// What a route tells [`prepare`] about its request.
struct Request<'a> {
    pub api: ApiShape,
    pub operation: &'static str,
    pub auth: Auth<Proxy>,
    pub headers: &'a HeaderMap,
    pub model: String,
    pub stream: bool,
}

/// Authenticates, routes, and enforces the policies on the request's `texts`; rewrites `body`
/// where they redact. A block is recorded and answered here.
async fn prepare(
    state: &AppState,
    request: Request<'_>,
    body: &mut Value,
    texts: &Texts,
) -> Result<Prepared, ProviderError> {
    let started = Instant::now();
    let api = request.api;
    let auth = request.auth;
    let model = request.model;
    let upstream = state.gateway.route(&model, api).cloned().ok_or_else(|| {
        ProviderError::new(
            api,
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("No upstream serves the model `{model}`"),
        )
    })?;
    state
        .gateway
        .check_literal(&upstream)
        .map_err(|m| ProviderError::new(api, StatusCode::BAD_GATEWAY, "upstream_refused", m))?;
    let scope = call_scope(&auth, request.headers, body, &model);
    let mut call = Call::new(api, request.operation, scope.clone(), request.stream);
    call.upstream = Some(upstream.name.clone());
    call.parts = texts.parts();
    call.prompt = texts.joined().0;
    let enforced = state.guard.current();
    if !texts.unscannable.is_empty() {
        if state.settings.gateway.unscannable == Unscannable::Refuse {
            let message = format!(
                "Sentinel cannot scan {} (gateway.unscannable = \"refuse\")",
                texts.unscannable.join(", ")
            );
            return Err(ProviderError::new(
                api,
                StatusCode::BAD_REQUEST,
                "unscannable_content",
                message,
            ));
        }
        call.unscanned.clone_from(&texts.unscannable);
    }
    let inbound = inbound::evaluate(&enforced, texts, &scope);
    call.decision = inbound.evaluation.decision;
    call.redacted_in = inbound.rewrites.len();
    if inbound.evaluation.decision == Decision::Block {
        let error = ProviderError::blocked(
            api,
            block_message(&enforced, &inbound.evaluation),
            blocking_names(&enforced, &inbound.evaluation),
        );
        call.blocked_at = Some("request");
        call.inbound = Some(inbound.evaluation);
        call.added_ms = ms(started);
        record::store(state, &enforced, call).await;
        return Err(error);
    }
    inbound::apply(body, &inbound.rewrites);
    let restorer = inbound
        .redactor
        .as_ref()
        .map(sentinel_engine::Redactor::restorer)
        .filter(|r| !r.is_empty());
    call.inbound = Some(inbound.evaluation);
    call.added_ms = ms(started);
    Ok(Prepared {
        upstream,
        call,
        enforced,
        restorer,
        options: StreamOptions {
            checkpoint_bytes: state.settings.gateway.checkpoint_bytes,
            hold_bytes: state.settings.gateway.hold_bytes,
            ..StreamOptions::default()
        },
        started,
        sent: Instant::now(),
    })
}

/// Sends the call to its upstream. A failure to reach it, and the upstream's own error (passed
/// through in its own shape), are recorded and come back as the answer to give.
async fn forward(
    state: &AppState,
    p: &mut Prepared,
    path: &str,
    body: &Value,
    headers: &HeaderMap,
    extra: &[(&'static str, String)],
) -> Result<reqwest::Response, Response> {
    let mut request = authorize(
        state.gateway.client.post(p.upstream.url(path)),
        &p.upstream,
        headers,
    );
    for (name, value) in extra {
        request = request.header(*name, value.as_str());
    }
    // The trace goes on upstream: this call's span when traces are on, else the caller's own
    // `traceparent` as it came.
    for (name, value) in crate::telemetry::upstream_headers(&tracing::Span::current(), headers) {
        request = request.header(name, value);
    }
    p.sent = Instant::now();
    let response = match request.json(body).send().await {
        Ok(r) => r,
        Err(e) => {
            let (status, code) = if e.is_timeout() {
                (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout")
            } else {
                (StatusCode::BAD_GATEWAY, "upstream_unreachable")
            };
            let message = format!("The upstream {} could not be reached", p.upstream.name);
            let mut call = p.take_call();
            call.error = Some(format!("{code}: {}", error_chain(&e)));
            record::store(state, &p.enforced, call).await;
            return Err(ProviderError::new(p.call.api, status, code, message).into_response());
        }
    };
    p.call.upstream_status = Some(response.status().as_u16());
    if !response.status().is_success() {
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let bytes = response.bytes().await.unwrap_or_default();
        let mut call = p.take_call();
        call.upstream_ms = Some(ms(p.sent));
        call.error = Some(format!("upstream answered {status}"));
        record::store(state, &p.enforced, call).await;
        let mut r = Response::new(Body::from(bytes));
        *r.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        if let Some(ct) = content_type {
            r.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        return Err(r);
    }
    Ok(response)
}

impl Prepared {
    /// The call's record, leaving an empty one in its place.
    fn take_call(&mut self) -> Call {
        let blank = Call::new(self.call.api, self.call.operation, Scope::default(), false);
        std::mem::replace(&mut self.call, blank)
    }

    /// Reads a non-streamed answer; an unreadable one is recorded and answered with a 502.
    pub(super) async fn read_json(
        &mut self,
        state: &AppState,
        response: reqwest::Response,
    ) -> Result<Value, Response> {
        match response.json::<Value>().await {
            Ok(v) => {
                self.call.upstream_ms = Some(ms(self.sent));
                Ok(v)
            }
            Err(e) => {
                let mut call = self.take_call();
                call.error = Some(format!("unreadable upstream answer: {e}"));
                record::store(state, &self.enforced, call).await;
                Err(ProviderError::new(
                    self.call.api,
                    StatusCode::BAD_GATEWAY,
                    "upstream_invalid",
                    "The upstream's answer is not valid JSON".into(),
                )
                .into_response())
            }
        }
    }

    /// Records the finished call.
    pub(super) async fn finish(self, state: &AppState) {
        crate::telemetry::record_call(&tracing::Span::current(), &self.call);
        record::store(state, &self.enforced, self.call).await;
    }
}

/// The upstream's SSE events, parsed.
pub(super) fn events(
    response: reqwest::Response,
) -> impl futures::Stream<Item = Result<eventsource_stream::Event, String>> {
    use eventsource_stream::Eventsource;
    response
        .bytes_stream()
        .eventsource()
        .map(|e| e.map_err(|e| e.to_string()))
}

/// The next event of an upstream stream. `None` when the stream ended, when it failed (the error
/// is recorded in `call`) or when the client went away (recorded too), so a job stops either way.
pub(super) async fn next_event(
    upstream: &mut (impl futures::Stream<Item = Result<eventsource_stream::Event, String>> + Unpin),
    tx: &mpsc::Sender<Bytes>,
    call: &mut Call,
) -> Option<eventsource_stream::Event> {
    let event = tokio::select! {
        event = upstream.next() => event,
        () = tx.closed() => {
            call.client_gone = true;
            return None;
        }
    };
    match event? {
        Ok(event) => Some(event),
        Err(e) => {
            call.error = Some(format!("upstream stream: {e}"));
            None
        }
    }
}

/// A streamed answer whose frames a job sends through `rx`.
fn sse_response(mut rx: mpsc::Receiver<Bytes>) -> Response {
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .map(Ok::<Bytes, std::convert::Infallible>);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The usage of an Anthropic message or an OpenAI response (`input_tokens`, `output_tokens`).
pub(super) fn usage_tokens(value: &Value, call: &mut Call) {
    let u = &value["usage"];
    if let Some(n) = u.get("input_tokens").and_then(Value::as_i64) {
        call.input_tokens = Some(n);
    }
    if let Some(n) = u.get("output_tokens").and_then(Value::as_i64) {
        call.output_tokens = Some(n);
    }
}

/// The cost of the call from the price table.
pub(super) fn cost(state: &AppState, call: &Call) -> Option<f64> {
    call.model.as_deref().and_then(|m| {
        state.gateway.cost(
            m,
            call.input_tokens.unwrap_or(0),
            call.output_tokens.unwrap_or(0),
        )
    })
}

/// The scope of a call: the key's application and environment, the end user from
/// `X-Sentinel-User` (or the body's `user`), the model.
pub(super) fn call_scope(
    auth: &Auth<Proxy>,
    headers: &HeaderMap,
    body: &Value,
    model: &str,
) -> Scope {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Scope {
        app: auth
            .principal
            .app()
            .map(str::to_owned)
            .or_else(|| header("x-sentinel-app")),
        user: header("x-sentinel-user").or_else(|| {
            body.get("user")
                .or_else(|| body.pointer("/metadata/user_id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        user_role: None,
        model: Some(model.to_owned()),
        environment: auth
            .principal
            .environment()
            .map(str::to_owned)
            .or_else(|| header("x-sentinel-environment")),
        metadata: BTreeMap::new(),
    }
}

/// The names of the policies of an evaluation that blocked.
pub(super) fn blocking_names(
    enforced: &Enforced,
    eval: &sentinel_engine::Evaluation,
) -> Vec<String> {
    eval.hits
        .iter()
        .filter(|h| h.action == sentinel_engine::Action::Block)
        .map(|h| {
            enforced
                .policies
                .get(&h.policy_id)
                .map_or_else(|| format!("policy {}", h.policy_id), |m| m.name.clone())
        })
        .collect()
}

pub(super) fn block_message(enforced: &Enforced, eval: &sentinel_engine::Evaluation) -> String {
    eval.block_message.clone().unwrap_or_else(|| {
        format!(
            "Blocked by policy: {}",
            blocking_names(enforced, eval).join(", ")
        )
    })
}

pub(super) fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The upstream's key, or the client's own passed through.
pub(super) fn authorize(
    request: reqwest::RequestBuilder,
    upstream: &Upstream,
    headers: &HeaderMap,
) -> reqwest::RequestBuilder {
    if upstream.pass_through_key {
        let mut request = request;
        for name in [header::AUTHORIZATION.as_str(), "x-api-key"] {
            if let Some(v) = headers.get(name) {
                request = request.header(name, v.clone());
            }
        }
        return request;
    }
    match (upstream.api, upstream.key()) {
        (ApiShape::Openai, Some(key)) => request.bearer_auth(key),
        (ApiShape::Anthropic, Some(key)) => request.header("x-api-key", key),
        (_, None) => request,
    }
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Scans one whole text of the answer.
pub(super) fn scan_whole(
    enforced: &Enforced,
    scope: &Scope,
    options: StreamOptions,
    text: &str,
    call: &mut Call,
) -> (String, bool) {
    let mut scanner = StreamScanner::for_target(options, Target::Completion);
    let mut out = scanner.push(&enforced.set, scope, text).text;
    out.push_str(&scanner.finish(&enforced.set, scope).text);
    if scanner.redactor().is_some() {
        call.redacted_out += 1;
    }
    call.decision = call.decision.max(scanner.decision());
    call.outbound.extend(scanner.evaluations().iter().cloned());
    (out, scanner.blocked())
}

/// Puts the pseudonyms back into a text.
pub(super) fn restore(restorer: &Option<Restorer>, text: String, call: &mut Call) -> String {
    match restorer {
        Some(r) => {
            let mut r = r.clone();
            let mut out = r.push(&text);
            out.push_str(&r.finish());
            call.restored_out += r.restored();
            out
        }
        None => text,
    }
}
