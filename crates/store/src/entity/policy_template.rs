use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "policy_templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub category: String,
    pub template_code: String,
    /// Comma-separated.
    pub tags: Option<String>,
    pub default_severity: String,
    pub default_performance_mode: String,
    pub default_intervention_type: String,
    /// OWASP Top 10 for LLM Applications ids, comma-separated (`LLM01:2025`).
    pub owasp_llm: Option<String>,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
