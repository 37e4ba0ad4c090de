use sea_orm::entity::prelude::*;

/// Violations per (status, severity, violation_type, policy_id).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "violation_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub severity: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub violation_type: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub policy_id: i64,
    pub violations: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
