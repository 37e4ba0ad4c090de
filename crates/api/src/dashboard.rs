//! The six dashboard endpoints (CONTRACT.md §8).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{PerformanceMode, PolicyStatus, Timestamp, ViolationType};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DashboardStats {
    pub total_policies: u64,
    /// Policies with status `open` that are enforced (shadow policies act on nothing and are
    /// left out).
    pub active_policies: u64,
    pub total_events: u64,
    pub open_violations: u64,
    pub events_last_24h: u64,
    pub critical_violations: u64,
}

/// A shadow policy of `GET /api/dashboard/shadow`: what its recorded hits would have done had it
/// been enforced, counted by the action of the version that raised each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShadowPolicySummary {
    pub policy_id: i64,
    pub name: String,
    pub status: PolicyStatus,
    pub intervention_type: crate::InterventionType,
    pub version: i64,
    pub would_notify: u64,
    pub would_redact: u64,
    pub would_block: u64,
    /// Every shadow violation it recorded.
    pub total: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Window in days, counted back from today (UTC), 1 to 365.
    #[serde(default = "default_days")]
    #[param(minimum = 1, maximum = 365, default = 7)]
    pub days: u32,
}

fn default_days() -> u32 {
    7
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeverityBreakdown {
    pub low: u64,
    pub medium: u64,
    pub high: u64,
    pub critical: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelinePoint {
    /// UTC date, `YYYY-MM-DD`.
    pub date: String,
    pub total: u64,
    pub severity_breakdown: SeverityBreakdown,
}

#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentActivityParams {
    /// At most this many items, 1 to 100.
    #[serde(default = "default_recent")]
    #[param(minimum = 1, maximum = 100, default = 10)]
    pub limit: u64,
}

fn default_recent() -> u64 {
    10
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActivityItem {
    /// `event` or `violation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub timestamp: Timestamp,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModePerformance {
    pub mode: PerformanceMode,
    pub avg_latency_ms: f64,
    pub avg_cost_per_event: f64,
    pub policy_count: u64,
}

/// Measured live figures of one policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyLiveMetrics {
    pub policy_id: i64,
    pub name: String,
    pub evaluations: u64,
    pub hits: u64,
    pub p50_evaluation_us: Option<f64>,
    pub p95_evaluation_us: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PerformanceMetrics {
    pub avg_event_duration_ms: f64,
    pub policy_performance: Vec<ModePerformance>,
    pub policy_metrics: Vec<PolicyLiveMetrics>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    pub category: ViolationType,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusCount {
    pub status: PolicyStatus,
    pub count: u64,
}
