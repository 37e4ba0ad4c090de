//! The event every gateway call leaves, with its violations, pushed live like any other.

use std::collections::BTreeMap;

use rand::Rng;
use sentinel_api::{Decision, EventStatus, EventType, Severity, Timestamp};
use sentinel_engine::{Evaluation, Finding, Input, PolicyHit, Scope};
use sentinel_store::{EventRecord, NewEvent, NewViolation, StoreError, ViolationRecord};
use serde_json::{Value, json};

use crate::guard::Enforced;
use crate::service::evaluate::{Interaction, off_runtime, policy_violation};
use crate::service::events::{announce_stored, keep_content};
use crate::settings::ApiShape;
use crate::state::AppState;

/// Everything known about one call when it ends.
#[derive(Debug)]
pub struct Call {
    pub api: ApiShape,
    /// `chat.completions`, `messages`, …
    pub operation: &'static str,
    pub upstream: Option<String>,
    pub model: Option<String>,
    pub scope: Scope,
    pub stream: bool,
    /// How many texts of each kind the request held (system, user, tool results, …).
    pub parts: BTreeMap<&'static str, usize>,
    /// The texts the model was to read, joined, as received.
    pub prompt: String,
    /// The model's answer as the upstream sent it (before redaction and restoration).
    pub completion: Option<String>,
    pub inbound: Option<Evaluation>,
    /// The evaluations of the answer (one per checkpoint that found something).
    pub outbound: Vec<Evaluation>,
    pub decision: Decision,
    /// Where the decision was taken: `request`, `response` or none.
    pub blocked_at: Option<&'static str>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub upstream_status: Option<u16>,
    pub upstream_ms: Option<f64>,
    pub first_token_ms: Option<f64>,
    /// Time Sentinel itself spent (evaluation, redaction, restoration).
    pub added_ms: f64,
    /// Characters the client received of the answer, for a stream.
    pub delivered_chars: Option<usize>,
    /// Parts that could not be scanned and were forwarded anyway.
    pub unscanned: Vec<String>,
    /// Values replaced on the way in, and pseudonyms restored on the way out.
    pub redacted_in: usize,
    pub restored_out: usize,
    pub redacted_out: usize,
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
    pub client_gone: bool,
}

impl Call {
    pub fn new(api: ApiShape, operation: &'static str, scope: Scope, stream: bool) -> Self {
        Call {
            api,
            operation,
            upstream: None,
            model: scope.model.clone(),
            scope,
            stream,
            parts: BTreeMap::new(),
            prompt: String::new(),
            completion: None,
            inbound: None,
            outbound: Vec::new(),
            decision: Decision::Allow,
            blocked_at: None,
            input_tokens: None,
            output_tokens: None,
            upstream_status: None,
            upstream_ms: None,
            first_token_ms: None,
            added_ms: 0.0,
            delivered_chars: None,
            unscanned: Vec::new(),
            redacted_in: 0,
            restored_out: 0,
            redacted_out: 0,
            cost_usd: None,
            error: None,
            client_gone: false,
        }
    }

    fn metadata(&self) -> BTreeMap<String, Value> {
        let api = match self.api {
            ApiShape::Openai => "openai",
            ApiShape::Anthropic => "anthropic",
        };
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: Value| {
            if !v.is_null() {
                m.insert(k.to_owned(), v);
            }
        };
        put("gateway", json!(true));
        put("api", json!(api));
        put("operation", json!(self.operation));
        put("upstream", json!(self.upstream));
        put("stream", json!(self.stream));
        put("decision", json!(self.decision.as_str()));
        put("blocked_at", json!(self.blocked_at));
        put("environment", json!(self.scope.environment));
        put("texts", json!(self.parts));
        put("scanned", json!(self.unscanned.is_empty()));
        if !self.unscanned.is_empty() {
            put("unscanned", json!(self.unscanned));
        }
        put("upstream_status", json!(self.upstream_status));
        put("upstream_latency_ms", json!(self.upstream_ms.map(round2)));
        put(
            "time_to_first_token_ms",
            json!(self.first_token_ms.map(round2)),
        );
        put("sentinel_added_ms", json!(round2(self.added_ms)));
        put("delivered_chars", json!(self.delivered_chars));
        put("redacted_in", json!(self.redacted_in));
        put("redacted_out", json!(self.redacted_out));
        put("restored_out", json!(self.restored_out));
        put("cost_usd", json!(self.cost_usd));
        put("error", json!(self.error));
        if self.client_gone {
            put("client_disconnected", json!(true));
        }
        m
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One hit per policy: a policy that fired at several checkpoints of an answer is one violation
/// with all its findings.
fn merged_hits(evaluations: &[Evaluation]) -> Vec<PolicyHit> {
    let mut hits: Vec<PolicyHit> = Vec::new();
    for hit in evaluations.iter().flat_map(|e| e.hits.iter()) {
        match hits.iter_mut().find(|h| h.policy_id == hit.policy_id) {
            Some(h) => {
                for f in &hit.findings {
                    if !h
                        .findings
                        .iter()
                        .any(|g| g.start == f.start && g.end == f.end)
                    {
                        h.findings.push(f.clone());
                    }
                }
                h.confidence = h.confidence.max(hit.confidence);
            }
            None => hits.push(hit.clone()),
        }
    }
    hits
}

/// The shadow policies' violations for the call: they are evaluated here, once the call is over,
/// on the texts it recorded (the joined prompt and the whole answer), so that they can never
/// touch what the client received. Large texts are evaluated on the blocking pool.
async fn shadow_violations(state: &AppState, call: &Call) -> Vec<NewViolation> {
    let current = state.guard.current();
    if !current.set.has_shadow() {
        return Vec::new();
    }
    let prompt = call.prompt.clone();
    let completion = call.completion.clone();
    let scope = call.scope.clone();
    let decision = call.decision;
    let bytes = prompt.len() + completion.as_ref().map_or(0, String::len);
    let evaluated = off_runtime(bytes, move || {
        let started = std::time::Instant::now();
        let hits = current.set.evaluate_shadow(&Input {
            prompt: Some(&prompt),
            completion: completion.as_deref(),
            scope: &scope,
        });
        let ids: Vec<i64> = hits.iter().map(|h| h.policy_id).collect();
        current.record_shadow(started.elapsed().as_secs_f64() * 1e6, &ids);
        hits.iter()
            .map(|hit| policy_violation(&current, hit, decision, true))
            .collect()
    })
    .await;
    evaluated.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "evaluating the shadow policies of a gateway call");
        Vec::new()
    })
}

/// Announces a committed call, or logs why it could not be stored.
fn announce(state: &AppState, stored: Result<(EventRecord, Vec<ViolationRecord>), StoreError>) {
    match stored {
        Ok((event, violations)) => announce_stored(state, &event, &violations),
        Err(e) => tracing::warn!(error = %e, "recording a gateway call"),
    }
}

/// Hands the call's event and violations to the writer (and, with
/// `gateway.record_before_answer`, waits for their commit); they are announced once committed.
/// Failures are logged: the client has its answer.
pub async fn store(state: &AppState, enforced: &Enforced, call: Call) {
    let mut violations: Vec<NewViolation> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let inbound_hits = call.inbound.iter().flat_map(|e| e.hits.iter().cloned());
    for hit in inbound_hits.chain(merged_hits(&call.outbound)) {
        findings.extend(hit.findings.iter().cloned());
        violations.push(policy_violation(enforced, &hit, call.decision, false));
    }
    // Shadow violations shape nothing of the event: not its severity, not its title.
    let severity = violations
        .iter()
        .map(|v| v.severity)
        .max()
        .unwrap_or(Severity::Low);
    let app = call.scope.app.clone();
    let model = call.model.clone().unwrap_or_else(|| "model".to_owned());
    let shadow = shadow_violations(state, &call).await;
    let shadow_ids: Vec<i64> = shadow.iter().map(|v| v.policy_id).collect();
    violations.extend(shadow);
    let title = match (&app, violations.iter().find(|v| !v.shadow)) {
        (Some(app), Some(v)) => format!("{app}: {}", v.title.clone().unwrap_or_default()),
        (Some(app), None) => format!("{app}: {model}"),
        (None, Some(v)) => v.title.clone().unwrap_or_default(),
        (None, None) => format!("Gateway: {model}"),
    };
    let mut event = NewEvent {
        event_id: format!(
            "gw_{:x}_{:08x}",
            Timestamp::now().0.timestamp_micros(),
            rand::rng().random::<u32>()
        ),
        event_type: EventType::LlmRequest,
        severity,
        title,
        description: Some(format!(
            "Gateway {} via {}: {}",
            call.operation,
            call.upstream.as_deref().unwrap_or("no upstream"),
            call.decision.as_str()
        )),
        event_data: None,
        trigger_date: Timestamp::now(),
        status: EventStatus::Open,
        policy_id: None,
        user_id: None,
        source: app,
        model_name: call.model.clone(),
        prompt: Some(call.prompt.clone()),
        completion: call.completion.clone(),
        request_tokens: call.input_tokens,
        response_tokens: call.output_tokens,
        duration_ms: call.upstream_ms.map(|u| round2(u + call.added_ms)),
        metadata: Some({
            let mut m = call.metadata();
            // The shadow policies that fired, apart from the enforced ones.
            if !shadow_ids.is_empty() {
                m.insert("shadow_policies".to_owned(), json!(shadow_ids));
            }
            m
        }),
        decision: Some(call.decision),
    };
    let evaluated = Interaction {
        prompt: Some(call.prompt.clone()),
        completion: call.completion.clone(),
        scope: call.scope.clone(),
    };
    keep_content(
        state.settings.store_content,
        &mut event,
        &evaluated,
        &findings,
    );
    let submitted = state.writer.submit(event, violations).await;
    if state.settings.gateway.record_before_answer {
        announce(state, submitted.committed().await);
    } else {
        let state = state.clone();
        tokio::spawn(async move { announce(&state, submitted.committed().await) });
    }
}
