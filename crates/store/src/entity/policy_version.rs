use sea_orm::entity::prelude::*;

/// One immutable version of a policy (migration 7).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub policy_id: i64,
    pub version: i64,
    /// The audit actor of the change (`user:<name>`, `key:<prefix>`, …).
    pub author: Option<String>,
    pub author_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// JSON array text of the changed field names.
    pub changed: String,
    /// The version this one restored, for a rollback.
    pub rollback_of: Option<i64>,
    pub name: String,
    pub definition: String,
    pub category: String,
    pub status: String,
    pub severity: String,
    pub performance_mode: String,
    pub intervention_type: String,
    pub intervention_config: Option<String>,
    pub enforcement: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
