use sea_orm::entity::prelude::*;

/// One backtest job (migration 9).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backtests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `queued`, `running`, `done`, `cancelled` or `failed`.
    pub status: String,
    /// JSON text of the request as the service validated it.
    pub request: String,
    pub policy_id: Option<i64>,
    pub scanned: i64,
    pub total: Option<i64>,
    pub flagged: i64,
    /// JSON text of the result, once done.
    pub result: Option<String>,
    pub error: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
