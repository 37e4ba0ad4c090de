//! `POST /api/guard` and `POST /api/policies/{id}/test`.

use std::time::Instant;

use rand::Rng;
use sentinel_api::guard::{
    GuardRequest, GuardResponse, GuardViolation, PolicyTestResponse, ScoresResponse, Stage,
};
use sentinel_api::policy::PolicyTestRequest;
use sentinel_api::{Decision, EventStatus, EventType, PolicyId, Severity, Timestamp};
use sentinel_engine::{Evaluation, Input, Scores};
use sentinel_store::NewEvent;

use crate::guard::spec_of;
use crate::service::ServiceResult;
use crate::service::evaluate::{self, Interaction, finding, scope};
use crate::service::events::announce_stored;
use crate::service::policies::definition_error;
use crate::state::AppState;

pub fn scores(s: &Scores) -> ScoresResponse {
    let r = |x: f64| (x * 1000.0).round() / 1000.0;
    ScoresResponse {
        legal_advice: r(s.legal_advice),
        controversial_topics: r(s.controversial_topics),
        code_prompt: r(s.code_prompt),
        safe_prompt: r(s.safe_prompt),
    }
}

/// A unique id for an event the guard records.
fn guard_event_id() -> String {
    let now = Timestamp::now().0.timestamp_micros();
    format!("grd_{now:x}_{:08x}", rand::rng().random::<u32>())
}

/// Evaluates a text against every enforced policy in scope; records it when asked.
pub async fn guard(state: &AppState, req: GuardRequest) -> ServiceResult<GuardResponse> {
    let (prompt, completion) = match req.stage {
        Stage::Input => (Some(req.text.clone()), None),
        Stage::Output => (None, Some(req.text.clone())),
    };
    let interaction = Interaction {
        prompt,
        completion,
        scope: {
            let mut s = scope(
                req.source.as_deref(),
                req.user.clone(),
                req.model_name.as_deref(),
                req.metadata.as_ref(),
            );
            if req.environment.is_some() {
                s.environment = req.environment.clone();
            }
            if req.user_role.is_some() {
                s.user_role = req.user_role.clone();
            }
            s
        },
    };
    let (outcome, interaction) = evaluate::evaluate_owned(state, interaction).await?;
    let eval = &outcome.evaluation;
    let overall = eval.decision;
    let text = match req.stage {
        Stage::Input => eval.redacted_prompt.clone(),
        Stage::Output => eval.redacted_completion.clone(),
    }
    .filter(|_| overall == Decision::Redact)
    .unwrap_or_else(|| req.text.clone());
    let new_violations = evaluate::violations(&outcome);
    // `new_violations` holds the enforced hits' violations, then the shadow hits'.
    let enforced_count = eval.hits.len();
    let mut violations: Vec<GuardViolation> = eval
        .hits
        .iter()
        .chain(&outcome.shadow_hits)
        .zip(&new_violations)
        .map(|(hit, v)| GuardViolation {
            policy_id: hit.policy_id,
            policy_name: outcome
                .enforced
                .policies
                .get(&hit.policy_id)
                .map(|m| m.name.clone())
                .unwrap_or_default(),
            violation_type: v.violation_type,
            severity: v.severity,
            action: hit.action,
            confidence: v.confidence_score,
            explanation: hit.explanation.clone(),
            violation_id: None,
        })
        .collect();
    let mut shadow_violations = violations.split_off(enforced_count.min(violations.len()));
    let mut event_id = None;
    if req.record {
        // Shadow violations shape nothing of the event: not its severity, not its title.
        let severity = new_violations
            .iter()
            .filter(|v| !v.shadow)
            .map(|v| v.severity)
            .max()
            .unwrap_or(Severity::Low);
        let title = match (&req.source, violations.first()) {
            (Some(app), Some(v)) => format!("{app}: {}", v.policy_name),
            (Some(app), None) => format!("{app}: guard check"),
            (None, Some(v)) => v.policy_name.clone(),
            (None, None) => "Guard check".to_owned(),
        };
        let new_event = NewEvent {
            event_id: guard_event_id(),
            event_type: match req.stage {
                Stage::Input => EventType::LlmRequest,
                Stage::Output => EventType::LlmResponse,
            },
            severity,
            title,
            description: Some(format!("Guard decision: {}", overall.as_str())),
            event_data: None,
            trigger_date: Timestamp::now(),
            status: EventStatus::Open,
            policy_id: None,
            user_id: None,
            source: req.source.clone(),
            model_name: req.model_name.clone(),
            prompt: interaction.prompt.clone(),
            completion: interaction.completion.clone(),
            request_tokens: None,
            response_tokens: None,
            duration_ms: Some(outcome.elapsed_us as f64 / 1000.0),
            metadata: req.metadata.clone(),
            decision: Some(overall),
        };
        let mut new_event = new_event;
        crate::service::events::keep_content(
            state.settings.store_content,
            &mut new_event,
            &interaction,
            &eval.findings,
        );
        let (event, stored) = state.store.create_event(new_event, new_violations).await?;
        for (v, s) in violations
            .iter_mut()
            .chain(shadow_violations.iter_mut())
            .zip(&stored)
        {
            v.violation_id = Some(s.id);
        }
        announce_stored(state, &event, &stored);
        event_id = Some(event.id);
    }
    Ok(GuardResponse {
        decision: overall,
        text,
        block_message: if overall == Decision::Block {
            eval.block_message.clone()
        } else {
            None
        },
        findings: eval.findings.iter().map(finding).collect(),
        violations,
        shadow_violations,
        scores: scores(&eval.scores),
        event_id,
        evaluation_time_us: outcome.elapsed_us,
    })
}

/// Runs one policy, whatever its status, on the texts of a test request.
pub async fn test_policy(
    state: &AppState,
    id: PolicyId,
    req: PolicyTestRequest,
) -> ServiceResult<PolicyTestResponse> {
    let policy_id = id.get();
    let policy = state.store.get_policy(policy_id).await?;
    let content = req.content.as_ref().map(|c| match c {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    // `content` alone stands for both sides of the interaction, so any target can match it.
    let (prompt, completion) = match (req.prompt, req.completion) {
        (None, None) => (content.clone(), content),
        (p, c) => (p.or(content), c),
    };
    let scope_map: std::collections::BTreeMap<String, serde_json::Value> =
        req.scope.unwrap_or_default().into_iter().collect();
    let text = |key: &str| scope_map.get(key).and_then(|v| v.as_str());
    let mut s = scope(
        text("app"),
        text("user").map(str::to_owned),
        text("model"),
        Some(&scope_map),
    );
    if let Some(role) = text("user.role") {
        s.user_role = Some(role.to_owned());
    }
    let spec = spec_of(&policy);
    let bytes = prompt.as_ref().map_or(0, String::len) + completion.as_ref().map_or(0, String::len);
    let (result, elapsed) = evaluate::off_runtime(bytes, move || {
        let input = Input {
            prompt: prompt.as_deref(),
            completion: completion.as_deref(),
            scope: &s,
        };
        let started = Instant::now();
        let result = sentinel_engine::evaluate_spec(&spec, &input);
        (result, started.elapsed())
    })
    .await?;
    let evaluation_time_ms = (elapsed.as_secs_f64() * 1e6).round() / 1000.0;
    match result {
        Err(errors) => Ok(PolicyTestResponse {
            policy_id,
            test_passed: false,
            confidence_score: 0.0,
            evaluation_time_ms,
            violations_detected: 0,
            details: format!(
                "The definition does not compile: {}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            decision: Decision::Allow,
            findings: Vec::new(),
            redacted: None,
            redacted_completion: None,
            scores: ScoresResponse::default(),
            errors: errors.iter().map(definition_error).collect(),
        }),
        Ok(eval) => {
            state.guard.record_one(
                policy_id,
                elapsed.as_secs_f64() * 1e6,
                !eval.hits.is_empty(),
            );
            Ok(test_response(policy_id, &eval, evaluation_time_ms))
        }
    }
}

fn test_response(policy_id: i64, eval: &Evaluation, evaluation_time_ms: f64) -> PolicyTestResponse {
    let breached = !eval.hits.is_empty();
    let confidence = eval.hits.iter().map(|h| h.confidence).fold(0.0, f64::max);
    let mut findings: Vec<_> = eval.findings.iter().map(finding).collect();
    findings.dedup_by(|a, b| {
        a.detector == b.detector && a.entity == b.entity && a.start == b.start && a.end == b.end
    });
    let overall = eval.decision;
    PolicyTestResponse {
        policy_id,
        test_passed: !breached,
        confidence_score: (confidence * 1000.0).round() / 1000.0,
        evaluation_time_ms,
        violations_detected: eval.hits.len() as u64,
        details: match eval.hits.first() {
            Some(hit) => hit.explanation.clone(),
            None => "No violation: the policy's condition is not met by this content".to_owned(),
        },
        decision: overall,
        findings,
        redacted: eval
            .redacted_prompt
            .clone()
            .filter(|_| overall == Decision::Redact),
        redacted_completion: eval
            .redacted_completion
            .clone()
            .filter(|_| overall == Decision::Redact),
        scores: scores(&eval.scores),
        errors: Vec::new(),
    }
}
