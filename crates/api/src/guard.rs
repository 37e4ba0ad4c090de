//! `POST /api/guard` and the answer of `POST /api/policies/{id}/test` (CONTRACT.md §2, §5).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Decision;
use crate::violation::FindingResponse;

/// Which side of the model the text is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// A prompt on its way to the model (`request.prompt`).
    #[default]
    Input,
    /// A completion coming back (`response.completion`).
    Output,
}

/// Body of `POST /api/guard`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GuardRequest {
    pub text: String,
    #[serde(default)]
    pub stage: Stage,
    /// The AI application (`scope.app`).
    #[serde(default)]
    pub source: Option<String>,
    /// The end user (`scope.user`).
    #[serde(default)]
    pub user: Option<String>,
    /// The end user's role (`scope.user.role`).
    #[serde(default)]
    pub user_role: Option<String>,
    #[serde(default)]
    pub model_name: Option<String>,
    /// `scope.environment`.
    #[serde(default)]
    pub environment: Option<String>,
    /// Extra scope keys (`scope.KEY`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Store the interaction as an event (with its violations). Defaults to true.
    #[serde(default = "default_true")]
    pub record: bool,
}

fn default_true() -> bool {
    true
}

/// Scores of the four legacy columns, 0..1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoresResponse {
    pub legal_advice: f64,
    pub controversial_topics: f64,
    pub code_prompt: f64,
    pub safe_prompt: f64,
}

/// A policy the text breached.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GuardViolation {
    pub policy_id: i64,
    pub policy_name: String,
    pub violation_type: crate::ViolationType,
    pub severity: crate::Severity,
    pub action: crate::InterventionType,
    pub confidence: f64,
    pub explanation: String,
    /// The stored violation's id when the interaction was recorded.
    pub violation_id: Option<i64>,
}

/// Answer of `POST /api/guard`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GuardResponse {
    pub decision: Decision,
    /// The redacted text when redacting, else the input.
    pub text: String,
    /// Shown to the user when blocking.
    pub block_message: Option<String>,
    pub findings: Vec<FindingResponse>,
    pub violations: Vec<GuardViolation>,
    /// The shadow policies the text breached, with the action each would have taken: recorded
    /// (as violations marked `shadow`), never acted on. They shape nothing else of the answer.
    #[serde(default)]
    pub shadow_violations: Vec<GuardViolation>,
    pub scores: ScoresResponse,
    /// The stored event's id, or null when not recorded.
    pub event_id: Option<i64>,
    pub evaluation_time_us: u64,
}

/// Answer of `POST /api/policies/{policy_id}/test`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyTestResponse {
    pub policy_id: i64,
    /// True when the policy is not breached.
    pub test_passed: bool,
    pub confidence_score: f64,
    pub evaluation_time_ms: f64,
    pub violations_detected: u64,
    pub details: String,
    pub decision: Decision,
    pub findings: Vec<FindingResponse>,
    /// Redacted prompt/content when the policy redacts and was breached.
    pub redacted: Option<String>,
    /// Redacted completion, when one was given.
    pub redacted_completion: Option<String>,
    pub scores: ScoresResponse,
    /// Compile errors when the definition does not compile.
    pub errors: Vec<crate::policy::DefinitionError>,
}
