use sentinel_api::Patch;
use sentinel_api::live::{LiveMessage, LiveViolationUpdate};
use sentinel_api::violation::{ViolationResponse, ViolationUpdate};
use sentinel_store::Triage;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Triage of a violation; `acknowledged_by` present (even `null`) stamps `acknowledged_date`.
pub async fn update(
    state: &AppState,
    id: i64,
    body: ViolationUpdate,
) -> ApiResult<ViolationResponse> {
    if matches!(body.status, Patch::Null) {
        return Err(ApiError::invalid(
            &["body", "status"],
            "Input should not be null",
            "null_not_allowed",
        ));
    }
    let change = Triage {
        status: body.status.value(),
        acknowledged_by: body.acknowledged_by.into_update(),
    };
    let violation = state.store.update_violation(id, change).await?;
    state.live.publish(&LiveMessage::ViolationUpdated {
        violation: LiveViolationUpdate {
            id: violation.id,
            status: violation.status,
            acknowledged_by: violation.acknowledged_by,
        },
    });
    Ok(violation)
}
