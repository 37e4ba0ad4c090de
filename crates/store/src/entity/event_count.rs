use sea_orm::entity::prelude::*;

/// Events per (status, severity, event_type, policy_id, source); `dims` encodes all five.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "event_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub dims: String,
    pub status: String,
    pub severity: String,
    pub event_type: String,
    pub policy_id: Option<i64>,
    pub source: Option<String>,
    pub events: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
