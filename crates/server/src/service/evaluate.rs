//! Evaluating interactions with the engine and turning its answer into wire and store records.

use std::collections::BTreeMap;
use std::time::Instant;

use sentinel_api::Decision;
use sentinel_api::violation::FindingResponse;
use sentinel_engine::{Evaluation, Finding, Input, PolicyHit, Scope, Target};
use sentinel_store::NewViolation;

use crate::guard::Enforced;
use crate::state::AppState;

/// The texts and scope of one interaction.
#[derive(Debug, Clone, Default)]
pub struct Interaction {
    pub prompt: Option<String>,
    pub completion: Option<String>,
    pub scope: Scope,
}

impl Interaction {
    pub fn is_empty(&self) -> bool {
        self.prompt.is_none() && self.completion.is_none()
    }
}

/// Builds a scope: `metadata` values become strings (`environment` and `user_role` keys fill
/// their own fields when not given).
pub fn scope(
    app: Option<&str>,
    user: Option<String>,
    model: Option<&str>,
    metadata: Option<&BTreeMap<String, serde_json::Value>>,
) -> Scope {
    let metadata: BTreeMap<String, String> = metadata
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    Scope {
        app: app.map(str::to_owned),
        user,
        user_role: metadata.get("user_role").cloned(),
        model: model.map(str::to_owned),
        environment: metadata.get("environment").cloned(),
        metadata,
    }
}

/// The outcome of one pass over the policies in force.
pub struct Outcome {
    /// What the enforced policies decide.
    pub evaluation: Evaluation,
    /// The breached shadow policies: recorded, never acted on.
    pub shadow_hits: Vec<PolicyHit>,
    pub elapsed_us: u64,
    pub enforced: std::sync::Arc<Enforced>,
}

/// Texts up to this size are evaluated on the async worker; larger ones go to the blocking pool,
/// so a long evaluation never stalls other requests (or the shutdown).
pub const INLINE_BYTES: usize = 16 * 1024;

/// Runs `f` inline when `bytes` is small, else on the blocking pool.
pub async fn off_runtime<T, F>(bytes: usize, f: F) -> crate::service::ServiceResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if bytes <= INLINE_BYTES {
        return Ok(f());
    }
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::service::ServiceError::Internal(format!("evaluation task: {e}")))
}

/// [`evaluate`], off the async workers when the texts are large; hands the interaction back.
pub async fn evaluate_owned(
    state: &AppState,
    interaction: Interaction,
) -> crate::service::ServiceResult<(Outcome, Interaction)> {
    let bytes = interaction.prompt.as_ref().map_or(0, String::len)
        + interaction.completion.as_ref().map_or(0, String::len);
    let state = state.clone();
    // The evaluation's trace span is a child of the request's, on whichever thread it runs.
    let parent = tracing::Span::current();
    off_runtime(bytes, move || {
        let _request = parent.enter();
        let outcome = evaluate(&state, &interaction);
        (outcome, interaction)
    })
    .await
}

/// Evaluates `interaction` against every policy in force (the shadow ones beside the enforced
/// ones, in the same pass) and records the live metrics.
pub fn evaluate(state: &AppState, interaction: &Interaction) -> Outcome {
    let enforced = state.guard.current();
    let input = Input {
        prompt: interaction.prompt.as_deref(),
        completion: interaction.completion.as_deref(),
        scope: &interaction.scope,
    };
    let target = match (input.prompt, input.completion) {
        (_, None) => "llm_input",
        (None, Some(_)) => "llm_output",
        (Some(_), Some(_)) => "llm_input_output",
    };
    let span = crate::telemetry::guardrail_span(target);
    let started = Instant::now();
    let (evaluation, shadow_hits) = span.in_scope(|| enforced.set.evaluate_with_shadow(&input));
    let elapsed = started.elapsed();
    crate::telemetry::record_evaluation(&span, &evaluation);
    let elapsed_us = elapsed.as_secs_f64() * 1e6;
    let hits: Vec<i64> = evaluation.hits.iter().map(|h| h.policy_id).collect();
    enforced.record(elapsed_us, &hits);
    if enforced.set.has_shadow() {
        let hits: Vec<i64> = shadow_hits.iter().map(|h| h.policy_id).collect();
        enforced.record_shadow(elapsed_us, &hits);
    }
    Outcome {
        evaluation,
        shadow_hits,
        elapsed_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        enforced,
    }
}

pub fn finding(f: &Finding) -> FindingResponse {
    FindingResponse {
        detector: f.detector.to_string(),
        entity: f.entity.to_string(),
        target: match f.target {
            Target::Prompt => "prompt".into(),
            Target::Completion => "completion".into(),
        },
        start: f.start,
        end: f.end,
        char_start: f.char_start,
        char_end: f.char_end,
        score: f.score,
        explanation: f.explanation.to_string(),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The violation a breached policy of `enforced` yields; `decision` is the interaction's. A
/// shadow policy's violation is marked `shadow` and says what it would have decided.
pub fn policy_violation(
    enforced: &Enforced,
    hit: &PolicyHit,
    decision: Decision,
    shadow: bool,
) -> NewViolation {
    let meta = enforced.policies.get(&hit.policy_id);
    let name = meta.map_or("Policy", |m| m.name.as_str());
    let mut v = new_violation(hit, name, decision);
    v.policy_version = meta.map(|m| m.version);
    if shadow {
        v.shadow = true;
        let mut details: serde_json::Value = v
            .details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        details["shadow"] = serde_json::Value::Bool(true);
        details["would_decide"] = Decision::from(hit.action).as_str().into();
        v.details = Some(details.to_string());
    }
    v
}

/// The violation a breached policy yields.
fn new_violation(hit: &PolicyHit, policy_name: &str, decision: Decision) -> NewViolation {
    let mut detectors: Vec<&str> = hit.findings.iter().map(|f| &*f.detector).collect();
    detectors.sort_unstable();
    detectors.dedup();
    let what = if detectors.is_empty() {
        "condition met".to_owned()
    } else {
        detectors.join(", ")
    };
    let details = serde_json::json!({
        "decision": decision.as_str(),
        "action": hit.action.as_str(),
        "detectors": detectors,
        "explanation": hit.explanation,
        "findings": hit.findings.len(),
    });
    NewViolation {
        violation_type: hit.violation_type,
        severity: hit.severity,
        title: Some(format!("{policy_name}: {what}")),
        description: Some(hit.explanation.clone()),
        details: Some(details.to_string()),
        confidence_score: round3(hit.confidence),
        policy_id: hit.policy_id,
        legal_advice_score: Some(round3(hit.scores.legal_advice)),
        controversial_topics_score: Some(round3(hit.scores.controversial_topics)),
        code_prompt_score: Some(round3(hit.scores.code_prompt)),
        safe_prompt_score: Some(round3(hit.scores.safe_prompt)),
        findings: hit.findings.iter().map(finding).collect(),
        policy_version: None,
        shadow: false,
    }
}

/// One violation per breached policy, in the order the engine reports them: the enforced ones,
/// then the shadow ones.
pub fn violations(outcome: &Outcome) -> Vec<NewViolation> {
    let decision = outcome.evaluation.decision;
    let enforced = outcome.evaluation.hits.iter().map(|h| (h, false));
    let shadow = outcome.shadow_hits.iter().map(|h| (h, true));
    enforced
        .chain(shadow)
        .map(|(hit, shadow)| policy_violation(&outcome.enforced, hit, decision, shadow))
        .collect()
}
