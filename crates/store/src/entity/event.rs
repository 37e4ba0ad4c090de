use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub severity: String,
    pub title: String,
    pub description: Option<String>,
    pub event_data: Option<String>,
    pub trigger_date: DateTimeUtc,
    pub trigger_day: Date,
    pub status: String,
    pub policy_id: Option<i64>,
    pub user_id: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_date: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
    pub source: Option<String>,
    pub model_name: Option<String>,
    pub prompt: Option<String>,
    pub completion: Option<String>,
    pub request_tokens: Option<i64>,
    pub response_tokens: Option<i64>,
    pub duration_ms: Option<f64>,
    /// JSON object text.
    pub metadata: Option<String>,
    pub decision: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
