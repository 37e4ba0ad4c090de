use sentinel_api::ViolationId;
use sentinel_api::live::{LiveMessage, LiveViolationUpdate};
use sentinel_api::violation::{ViolationResponse, ViolationUpdate};

use crate::service::ServiceResult;
use crate::service::triage;
use crate::state::AppState;

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
    Ok(violation)
}
