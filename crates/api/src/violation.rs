//! Violations: one breached policy for one event (CONTRACT.md §4).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Patch, Severity, Timestamp, ViolationStatus, ViolationType};

/// One span the engine flagged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FindingResponse {
    pub detector: String,
    pub entity: String,
    /// `prompt` or `completion`.
    pub target: String,
    /// Byte span in the target text.
    pub start: usize,
    pub end: usize,
    /// Span in Unicode scalar values.
    pub char_start: usize,
    pub char_end: usize,
    pub score: f64,
    pub explanation: String,
}

/// Body of `PUT /api/violations/{violation_id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ViolationUpdate {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<ViolationStatus>)]
    pub status: Patch<ViolationStatus>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<i64>)]
    pub acknowledged_by: Patch<i64>,
}

/// A violation as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ViolationResponse {
    pub id: i64,
    pub violation_type: ViolationType,
    pub severity: Severity,
    pub status: ViolationStatus,
    pub title: Option<String>,
    pub description: Option<String>,
    pub details: Option<String>,
    pub confidence_score: f64,
    pub event_id: Option<i64>,
    pub policy_id: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_date: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub legal_advice_score: Option<f64>,
    pub controversial_topics_score: Option<f64>,
    pub code_prompt_score: Option<f64>,
    pub safe_prompt_score: Option<f64>,
    pub findings: Vec<FindingResponse>,
    /// The version of the policy that raised it; null for violations recorded before versions
    /// were kept.
    #[serde(default)]
    pub policy_version: Option<i64>,
    /// Raised by a shadow policy: recorded for what it would have done, never acted on. Lists
    /// and counts leave these out unless asked (`shadow=include|only`).
    #[serde(default)]
    pub shadow: bool,
}

/// Filters of `GET /api/violations/`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViolationFilter {
    pub status: Option<ViolationStatus>,
    pub severity: Option<Severity>,
    pub policy_id: Option<i64>,
    pub event_id: Option<i64>,
    pub violation_type: Option<ViolationType>,
    /// `exclude` (the default: enforced policies only, as legacy clients expect), `include` or
    /// `only` the violations of shadow policies.
    pub shadow: Option<crate::ShadowFilter>,
}

/// Query of `GET /api/events/{event_id}/violations`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShadowQuery {
    /// `exclude` (the default), `include` or `only` the violations of shadow policies.
    pub shadow: Option<crate::ShadowFilter>,
}

/// `GET /api/violations/stats/summary`; open = `detected` + `investigating`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ViolationStats {
    pub total_violations: u64,
    pub open_violations: u64,
    pub critical_violations: u64,
    pub high_violations: u64,
}
