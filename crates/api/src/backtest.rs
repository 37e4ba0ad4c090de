//! Backtests (`/api/policies/backtest*`): a candidate policy replayed over the stored events of a
//! window, as a background job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::violation::FindingResponse;
use crate::{BacktestStatus, Decision, InterventionType, PerformanceMode, Severity, Timestamp};

/// Body of `POST /api/policies/backtest`: a candidate and the events to replay it on.
///
/// The candidate is either a draft (`definition`, with the fields of a policy create) or a stored
/// policy (`policy_id`, at its current version or at `version`). A draft that names a
/// `policy_id` is a new version of that policy: the comparison with the enforced set replaces the
/// policy with the draft.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestCreate {
    /// A draft definition in the policy language (alias `code`).
    #[serde(default, alias = "code")]
    pub definition: Option<String>,
    /// The draft's name, shown in the result.
    #[serde(default)]
    pub name: Option<String>,
    /// The draft's action (alias `action`); `notification` unless given.
    #[serde(default, alias = "action")]
    pub intervention_type: Option<InterventionType>,
    /// The draft's mode (alias `mode`); `balanced` unless given.
    #[serde(default, alias = "mode")]
    pub performance_mode: Option<PerformanceMode>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub intervention_config: Option<String>,
    /// Restrict the draft to these applications (alias `scope`): it becomes
    /// `(<definition>) and scope.app in [...]`.
    #[serde(default, alias = "scope")]
    pub apps: Option<Vec<String>>,
    /// A stored policy: backtested itself (without `definition`), or replaced by the draft.
    #[serde(default)]
    pub policy_id: Option<i64>,
    /// The version of `policy_id` to backtest; its current version unless given.
    #[serde(default)]
    pub version: Option<i64>,
    /// Start of the window (inclusive), on the events' `trigger_date`: RFC 3339, or a duration
    /// back from now such as `7d`, `24h`, `30m`.
    pub since: String,
    /// End of the window (exclusive), same forms; now unless given.
    #[serde(default)]
    pub until: Option<String>,
    /// Only events of this application (`source`).
    #[serde(default)]
    pub app: Option<String>,
    /// Only events of this model.
    #[serde(default)]
    pub model: Option<String>,
    /// Only events whose metadata `environment` is this.
    #[serde(default)]
    pub environment: Option<String>,
    /// Flagged events to keep as examples (default 20, at most 100).
    #[serde(default)]
    pub sample_size: Option<u32>,
}

/// A backtest job: where it stands and, once done, its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacktestResponse {
    pub id: i64,
    pub status: BacktestStatus,
    /// The policy the candidate is, or is a draft of.
    pub policy_id: Option<i64>,
    /// The request as validated: the candidate, the window (absolute) and the filters.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// Events read so far.
    pub scanned: u64,
    /// Events of the window (before the `environment` filter), known once the job started.
    pub total: Option<u64>,
    /// `scanned / total`, 0 to 1 (1 once done).
    pub progress: f64,
    /// Events the candidate flagged so far.
    pub flagged: u64,
    /// Present once `done`.
    pub result: Option<BacktestResult>,
    /// Why it failed.
    pub error: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// One count of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BacktestCount {
    pub key: String,
    pub count: u64,
}

/// The candidate compared with the policies enforced when the backtest ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BacktestComparison {
    /// Enforced policies (status `open`, enforcement `enforce`) the comparison used.
    pub enforced_policies: u64,
    /// Events the enforced set flags today.
    pub currently_flagged: u64,
    /// Events the enforced set with the candidate (in place of the policy it is a version of)
    /// would flag.
    pub flagged_with_candidate: u64,
    /// Flagged with the candidate, not flagged today.
    pub newly_flagged: u64,
    /// Flagged today, no longer flagged with the candidate (only when it replaces a policy).
    pub no_longer_flagged: u64,
}

/// The precision estimated from the team's own triage: among the flagged events that have an
/// earlier (non-shadow) violation someone triaged, those marked `false_positive` count against,
/// those `acknowledged` or `resolved` for. An event with both counts as a false positive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacktestPrecision {
    /// Flagged events with a triage label.
    pub labelled: u64,
    pub confirmed: u64,
    pub false_positive: u64,
    /// `confirmed / labelled`; null when nothing is labelled.
    pub estimate: Option<f64>,
}

/// A finding of a sampled event, with the text it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacktestFinding {
    #[serde(flatten)]
    pub finding: FindingResponse,
    /// The text of the span (at most 200 characters).
    pub text: String,
}

/// A flagged event kept as an example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacktestSample {
    /// The event's id (`GET /api/events/{id}`).
    pub id: i64,
    pub trigger_date: Timestamp,
    pub app: Option<String>,
    pub model: Option<String>,
    /// What the candidate would decide.
    pub decision: Decision,
    /// Whether the enforced set flags it today.
    pub currently_flagged: bool,
    pub findings: Vec<BacktestFinding>,
}

/// What a backtest found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacktestResult {
    /// Events of the window that matched the filters.
    pub events_read: u64,
    /// Events evaluated: those with a stored text.
    pub events_scanned: u64,
    /// Events with no stored text (`store_content = none`, or none sent): they cannot be
    /// replayed, so they are neither flagged nor clean.
    pub not_replayable: u64,
    /// Scanned events the candidate flags.
    pub events_flagged: u64,
    /// Flagged events by the candidate's decision (`notify`, `redact`, `block`).
    pub by_decision: BTreeMap<String, u64>,
    /// Flagged events by application, most first (at most 50).
    pub by_app: Vec<BacktestCount>,
    /// Flagged events by model, most first (at most 50).
    pub by_model: Vec<BacktestCount>,
    /// Flagged events by detector of their findings, most first.
    pub by_detector: Vec<BacktestCount>,
    pub versus_enforced: BacktestComparison,
    pub precision: BacktestPrecision,
    /// Some flagged events with their findings: the first ones in time order.
    pub sample: Vec<BacktestSample>,
    pub duration_ms: u64,
}

/// A `backtest_progress` frame of the live stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LiveBacktestProgress {
    pub id: i64,
    pub status: BacktestStatus,
    pub scanned: u64,
    pub total: Option<u64>,
    pub flagged: u64,
    /// 0 to 1.
    pub progress: f64,
}
