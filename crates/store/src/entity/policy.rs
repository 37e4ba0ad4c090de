use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "policies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub definition: String,
    pub category: String,
    pub status: String,
    pub severity: String,
    pub performance_mode: String,
    pub intervention_type: String,
    pub intervention_config: Option<String>,
    pub estimated_cost_per_event: f64,
    pub estimated_latency_ms: f64,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
    /// Set when the policy is deleted: it leaves the API but stays referenced by its history.
    pub deleted_at: Option<DateTimeUtc>,
    /// `enforce` or `shadow` (migration 7).
    pub enforcement: String,
    /// The number of the current version in `policy_versions` (migration 7).
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
