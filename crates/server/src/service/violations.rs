use sentinel_api::ViolationId;
use sentinel_api::live::{LiveMessage, LiveViolationUpdate};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::violation::{ViolationFilter, ViolationResponse, ViolationUpdate};
use sentinel_store::ViolationRecord;

use crate::service::ServiceResult;
use crate::service::triage;
use crate::state::AppState;

/// The violation as the API returns it.
pub fn response(v: ViolationRecord) -> ViolationResponse {
    ViolationResponse {
        id: v.id,
        violation_type: v.violation_type,
        severity: v.severity,
        status: v.status,
        title: v.title,
        description: v.description,
        details: v.details,
        confidence_score: v.confidence_score,
        event_id: Some(v.event_id),
        policy_id: Some(v.policy_id),
        acknowledged_by: v.acknowledged_by,
        acknowledged_date: v.acknowledged_date,
        created_at: v.created_at,
        updated_at: v.updated_at,
        legal_advice_score: v.legal_advice_score,
        controversial_topics_score: v.controversial_topics_score,
        code_prompt_score: v.code_prompt_score,
        safe_prompt_score: v.safe_prompt_score,
        findings: v.findings,
        policy_version: v.policy_version,
        shadow: v.shadow,
    }
}

/// Violations, newest first.
pub async fn list(
    state: &AppState,
    filter: &ViolationFilter,
    page: PageParams,
) -> ServiceResult<Page<ViolationResponse>> {
    Ok(state
        .store
        .list_violations(filter, page)
        .await?
        .map(response))
}

pub async fn get(state: &AppState, id: ViolationId) -> ServiceResult<ViolationResponse> {
    Ok(response(state.store.get_violation(id.get()).await?))
}

/// Triage of a violation; `acknowledged_by` present (even `null`) stamps `acknowledged_date`.
pub async fn update(
    state: &AppState,
    ctx: &sentinel_store::AuditContext,
    id: ViolationId,
    body: ViolationUpdate,
) -> ServiceResult<ViolationResponse> {
    let change = triage(body.status, body.acknowledged_by)?;
    let violation = state.store.update_violation(ctx, id.get(), change).await?;
    state.live.publish(&LiveMessage::ViolationUpdated {
        violation: LiveViolationUpdate {
            id: violation.id,
            status: violation.status,
            acknowledged_by: violation.acknowledged_by,
        },
    });
    Ok(response(violation))
}
