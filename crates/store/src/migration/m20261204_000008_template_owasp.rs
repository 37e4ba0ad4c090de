//! Templates name the OWASP Top 10 for LLM Applications entries they address, as comma-separated
//! ids with their edition (`LLM01:2025,LLM07:2025`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PolicyTemplates {
    Table,
    OwaspLlm,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PolicyTemplates::Table)
                    .add_column(ColumnDef::new(PolicyTemplates::OwaspLlm).text().null())
                    .to_owned(),
            )
            .await
    }
}
