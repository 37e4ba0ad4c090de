//! Compliance and usage reports (`/api/reports/*`): one plain-data model per report, which the
//! JSON answer, the CSV tables and the evidence bundle all render.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::Timestamp;
use crate::audit::AuditVerification;

/// How a report is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Json,
    /// Every table of the report as CSV, one after another, each headed by a `# table` line.
    Csv,
}

/// Query of `GET /api/reports/compliance`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceParams {
    /// `owasp-llm-2025` (the default), `eu-ai-act`, `nist-ai-rmf`, or a framework added in the
    /// configuration.
    pub framework: Option<String>,
    /// Start of the period (inclusive); default `until` minus 30 days.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// End of the period (exclusive); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// `json` (default) or `csv`.
    pub format: Option<ReportFormat>,
}

/// Query of `GET /api/reports/usage`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// Start of the period (inclusive); default `until` minus 30 days.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// End of the period (exclusive); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// Rows per `app` (default), `model`, `user` or `day`.
    pub group_by: Option<UsageGroup>,
    /// `json` (default) or `csv`.
    pub format: Option<ReportFormat>,
}

/// The dimension of a usage report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UsageGroup {
    #[default]
    App,
    Model,
    User,
    Day,
}

/// A half-open period `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Period {
    pub since: Timestamp,
    pub until: Timestamp,
}

/// The framework a report maps to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FrameworkRef {
    pub id: String,
    pub name: String,
    pub edition: String,
}

/// `GET /api/reports/compliance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComplianceReport {
    pub framework: FrameworkRef,
    pub period: Period,
    /// The period of equal length just before, for the trends.
    pub previous_period: Period,
    pub generated_at: Timestamp,
    pub coverage: Coverage,
    pub incidents: Incidents,
    pub triage: TriagePerformance,
    pub oversight: Oversight,
    pub retention: Retention,
    pub integrity: AuditVerification,
}

/// A policy addressing a control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyRef {
    pub id: i64,
    pub name: String,
}

/// Whether a control is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    /// Enforced policies address it (when policies can) and its evidence passes.
    Covered,
    /// Only shadow policies address it: recorded, not acted on.
    ShadowOnly,
    /// Nothing addresses it, or its evidence fails.
    Gap,
}

/// One report section checked as evidence for a control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceCheck {
    /// `event_log`, `audit_integrity`, `human_oversight`, `triage_metrics`, `retention`,
    /// `inventory` or `policies_defined`.
    pub kind: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ControlCoverage {
    pub id: String,
    pub title: String,
    pub status: ControlStatus,
    /// Open policies in enforce mode that address the control.
    pub enforced_policies: Vec<PolicyRef>,
    /// Open policies in shadow mode that address it.
    pub shadow_policies: Vec<PolicyRef>,
    pub evidence: Vec<EvidenceCheck>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Coverage {
    pub controls: Vec<ControlCoverage>,
    pub covered: u64,
    /// Ids of the controls that are not covered.
    pub gaps: Vec<String>,
}

/// A count in the period beside the previous period's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrendRow {
    /// The category, severity, application or model (`(none)` when the event named none).
    pub key: String,
    pub count: u64,
    pub previous: u64,
    /// Percentage change from the previous period; null when it had none.
    pub change_pct: Option<f64>,
}

/// Violations of enforced policies raised in the period (shadow hits are counted apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incidents {
    pub total: u64,
    pub previous_total: u64,
    pub change_pct: Option<f64>,
    /// Events recorded in the period and the previous one.
    pub events: u64,
    pub previous_events: u64,
    /// Violations raised by shadow policies in the period.
    pub shadow_hits: u64,
    pub by_category: Vec<TrendRow>,
    pub by_severity: Vec<TrendRow>,
    pub by_app: Vec<TrendRow>,
    pub by_model: Vec<TrendRow>,
}

/// Median and 90th percentile of a duration, in seconds (nearest rank).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DurationStats {
    pub count: u64,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

/// False positives among triage outcomes (`resolved` + `false_positive`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FalsePositiveRow {
    /// A policy id (as text) or a detector name.
    pub key: String,
    /// The policy's name, or the detector's.
    pub name: String,
    pub violations: u64,
    pub triaged: u64,
    pub false_positives: u64,
    /// `false_positives / triaged`; null when nothing was triaged.
    pub false_positive_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TriagePerformance {
    /// Violations of the period by status.
    pub violations: u64,
    pub open: u64,
    pub acknowledged: u64,
    pub resolved: u64,
    pub false_positives: u64,
    /// From creation to `acknowledged_date`.
    pub time_to_acknowledge: DurationStats,
    /// From creation to the update that set `resolved` or `false_positive`.
    pub time_to_resolve: DurationStats,
    pub by_policy: Vec<FalsePositiveRow>,
    /// Each policy's counts added to every detector its definition uses.
    pub by_detector: Vec<FalsePositiveRow>,
}

/// One person's (or key's) triage in the period, from the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewerActivity {
    /// The audit actor: `user:<name>`, `key:<prefix>`, `cli:<login>`.
    pub actor: String,
    /// Triage changes made (violations and events).
    pub actions: u64,
    pub violations: u64,
    pub events: u64,
    /// Changes that set these statuses.
    pub acknowledged: u64,
    pub resolved: u64,
    pub false_positives: u64,
    /// Median time from a violation's creation to this reviewer's change of it.
    pub median_response_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Oversight {
    /// Triage changes recorded in the audit trail in the period.
    pub actions: u64,
    pub reviewers: Vec<ReviewerActivity>,
    /// The period's violations that carry a reviewer (`acknowledged_by`), and all of them.
    pub violations_with_reviewer: u64,
    pub violations: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Retention {
    /// The configured `retention_days`; null keeps everything.
    pub retention_days: Option<u32>,
    /// Six months, counted as the longest six calendar months (184 days).
    pub required_days: u32,
    pub compliant: bool,
    /// Shown when the setting deletes logs before six months.
    pub warning: Option<String>,
    pub oldest_event: Option<Timestamp>,
}

/// One row of `GET /api/reports/usage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageRow {
    /// The application, model, user or UTC day (`(none)` when the events named none).
    pub key: String,
    pub events: u64,
    pub request_tokens: u64,
    pub response_tokens: u64,
    /// From the gateway's price table (built-in list prices and `gateway.prices`), US dollars;
    /// tokens of models it has no price for are not costed.
    pub cost_usd: f64,
    /// Events whose model has no price.
    pub unpriced_events: u64,
    pub blocked: u64,
    /// What the blocked events would have cost: each priced at the mean cost of an event of
    /// the same model that was not blocked.
    pub cost_avoided_usd: f64,
    /// The guard's own cost: the events times the summed `estimated_cost_per_event` of the
    /// policies in force.
    pub guard_cost_usd: f64,
}

/// `GET /api/reports/usage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageReport {
    pub period: Period,
    pub group_by: UsageGroup,
    pub generated_at: Timestamp,
    /// The summed `estimated_cost_per_event` of the open, enforced policies (US dollars).
    pub guard_cost_per_event_usd: f64,
    pub rows: Vec<UsageRow>,
    pub total: UsageRow,
}

/// A PDF document: the bytes of `GET /api/reports/compliance.pdf`.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfDocument(pub Vec<u8>);
