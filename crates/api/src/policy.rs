//! Policies, templates and the policy test/validate bodies (CONTRACT.md §2).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    Enforcement, InterventionType, Patch, PerformanceMode, PolicyCategory, PolicyStatus, Severity,
    Timestamp,
};

/// Body of `POST /api/policies/`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyCreate {
    pub name: String,
    /// A program in the policy language (docs/POLICY-LANGUAGE.md).
    pub definition: String,
    pub category: PolicyCategory,
    #[serde(default = "default_policy_severity")]
    #[schema(default = "medium")]
    pub severity: Severity,
    #[serde(default = "default_mode")]
    #[schema(default = "balanced")]
    pub performance_mode: PerformanceMode,
    #[serde(default = "default_intervention")]
    #[schema(default = "notification")]
    pub intervention_type: InterventionType,
    /// JSON text, e.g. `{"redact": "placeholder"}` or `{"block_message": "..."}`.
    #[serde(default)]
    pub intervention_config: Option<String>,
    /// `shadow`: evaluated on live traffic and recorded, but never acting on it.
    #[serde(default)]
    #[schema(default = "enforce")]
    pub enforcement: Enforcement,
}

fn default_policy_severity() -> Severity {
    Severity::Medium
}
fn default_mode() -> PerformanceMode {
    PerformanceMode::Balanced
}
fn default_intervention() -> InterventionType {
    InterventionType::Notification
}

/// Body of `PUT /api/policies/{policy_id}`: any subset of the fields.
/// `null` is refused for the required fields and clears `intervention_config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PolicyUpdate {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<String>)]
    pub definition: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<PolicyCategory>)]
    pub category: Patch<PolicyCategory>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<PolicyStatus>)]
    pub status: Patch<PolicyStatus>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<Severity>)]
    pub severity: Patch<Severity>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<PerformanceMode>)]
    pub performance_mode: Patch<PerformanceMode>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<InterventionType>)]
    pub intervention_type: Patch<InterventionType>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<String>)]
    pub intervention_config: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<Enforcement>)]
    pub enforcement: Patch<Enforcement>,
}

impl PolicyUpdate {
    /// Names of required fields that were sent as `null`.
    pub fn nulled_required_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let checks: [(&'static str, bool); 8] = [
            ("name", matches!(self.name, Patch::Null)),
            ("definition", matches!(self.definition, Patch::Null)),
            ("category", matches!(self.category, Patch::Null)),
            ("status", matches!(self.status, Patch::Null)),
            ("severity", matches!(self.severity, Patch::Null)),
            (
                "performance_mode",
                matches!(self.performance_mode, Patch::Null),
            ),
            (
                "intervention_type",
                matches!(self.intervention_type, Patch::Null),
            ),
            ("enforcement", matches!(self.enforcement, Patch::Null)),
        ];
        for (name, nulled) in checks {
            if nulled {
                out.push(name);
            }
        }
        out
    }
}

/// A compile error of a policy definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DefinitionError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Live evaluation counters of one policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyMetrics {
    pub evaluations: u64,
    pub hits: u64,
    pub p50_evaluation_us: Option<f64>,
    pub p95_evaluation_us: Option<f64>,
}

/// A policy as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyResponse {
    pub id: i64,
    pub name: String,
    pub definition: String,
    pub category: PolicyCategory,
    pub status: PolicyStatus,
    pub severity: Severity,
    pub performance_mode: PerformanceMode,
    pub intervention_type: InterventionType,
    pub intervention_config: Option<String>,
    pub estimated_cost_per_event: f64,
    pub estimated_latency_ms: f64,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    /// Empty when the definition compiles.
    pub definition_errors: Vec<DefinitionError>,
    pub metrics: PolicyMetrics,
    /// `enforce`, or `shadow`: evaluated and recorded, never acting on the traffic.
    pub enforcement: Enforcement,
    /// The number of its current version (`GET /api/policies/{policy_id}/versions`).
    pub version: i64,
}

/// Filters of `GET /api/policies/`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyFilter {
    pub status: Option<PolicyStatus>,
    /// Exact category value.
    pub category: Option<String>,
    /// `enforce` or `shadow`.
    pub enforcement: Option<Enforcement>,
}

/// A starting point for a policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyTemplateResponse {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub category: PolicyCategory,
    /// The policy definition the template instantiates.
    pub template_code: String,
    pub default_severity: Severity,
    pub default_performance_mode: PerformanceMode,
    pub default_intervention_type: InterventionType,
    /// Comma-separated tags.
    pub tags: Option<String>,
    /// The OWASP Top 10 for LLM Applications entries the template addresses, 2025 edition
    /// numbering with the edition named: `["LLM01:2025", "LLM07:2025"]`.
    pub owasp_llm: Vec<String>,
    pub is_active: bool,
    pub created_at: Timestamp,
}

/// Optional overrides when instantiating a template.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TemplateInstantiate {
    pub name: Option<String>,
    pub severity: Option<Severity>,
    /// The template's default mode unless given (alias `mode`).
    #[serde(alias = "mode")]
    pub performance_mode: Option<PerformanceMode>,
    /// The template's default action unless given (alias `action`).
    #[serde(alias = "action")]
    pub intervention_type: Option<InterventionType>,
    pub intervention_config: Option<String>,
    /// `shadow` unless given: a policy made from a template starts by recording what it would
    /// have done, and acts once promoted or set to `enforce`.
    pub enforcement: Option<Enforcement>,
    /// Restrict the policy to these applications: the definition becomes
    /// `(<template>) and scope.app in [...]`. Each name is non-empty; an empty list is a 422.
    pub apps: Option<Vec<String>>,
}

/// One immutable version of a policy: its state after a change, who made the change and when,
/// and which versioned fields differ from the version before (empty for version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionResponse {
    pub policy_id: i64,
    pub version: i64,
    /// Who made the change: `user:<username>`, `key:<prefix>`, `system`…; null for the version 1
    /// of a policy created before versions were kept.
    pub author: Option<String>,
    /// The author's user id, when a user made the change.
    pub author_id: Option<i64>,
    pub created_at: Timestamp,
    /// The versioned fields that differ from the version before: `definition`, `status`,
    /// `severity`, `performance_mode`, `intervention_type`, `intervention_config`, `enforcement`.
    pub changed: Vec<String>,
    /// The version a rollback restored.
    pub rollback_of: Option<i64>,
    pub name: String,
    pub definition: String,
    pub category: PolicyCategory,
    pub status: PolicyStatus,
    pub severity: Severity,
    pub performance_mode: PerformanceMode,
    pub intervention_type: InterventionType,
    pub intervention_config: Option<String>,
    pub enforcement: Enforcement,
}

/// One field that differs between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(value_type = Object)]
    pub from: serde_json::Value,
    #[schema(value_type = Object)]
    pub to: serde_json::Value,
}

/// One line of a line diff: kept (`equal`), only in the `from` version (`delete`), or only in the
/// `to` version (`insert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DiffLine {
    pub op: DiffOp,
    pub line: String,
}

/// What a diff line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiffOp {
    Equal,
    Delete,
    Insert,
}

/// Answer of `GET /api/policies/{policy_id}/versions/{from}/diff/{to}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionDiff {
    pub policy_id: i64,
    pub from: i64,
    pub to: i64,
    /// Every stored field whose value differs, in a fixed order; empty when the versions agree.
    pub fields: Vec<FieldChange>,
    /// The line diff of `definition` (every line, in order), empty when it did not change.
    pub definition_diff: Vec<DiffLine>,
}

/// Body of `POST /api/policies/validate`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateRequest {
    pub definition: String,
}

/// Answer of `POST /api/policies/validate`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidateResponse {
    pub valid: bool,
    pub errors: Vec<DefinitionError>,
    pub detectors: Vec<String>,
}

/// Body of `POST /api/policies/{policy_id}/test`: `{"content": "..."}`, or prompt/completion/scope.
/// Any JSON object is accepted; missing texts count as empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PolicyTestRequest {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub content: Option<serde_json::Value>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub completion: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub scope: Option<serde_json::Map<String, serde_json::Value>>,
}
