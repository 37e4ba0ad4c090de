use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "violations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub violation_type: String,
    pub severity: String,
    pub status: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub details: Option<String>,
    pub confidence_score: f64,
    pub event_id: i64,
    pub policy_id: i64,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_date: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
    pub legal_advice_score: Option<f64>,
    pub controversial_topics_score: Option<f64>,
    pub code_prompt_score: Option<f64>,
    pub safe_prompt_score: Option<f64>,
    /// JSON array text of findings.
    pub findings: Option<String>,
    /// The version of the policy that raised it; `None` before versions were kept (migration 7).
    pub policy_version: Option<i64>,
    /// Raised by a shadow policy: recorded, never acted on, left out of the legacy counts.
    pub shadow: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
