//! Policy lifecycle (issue 13): every policy carries its `enforcement` (`enforce` or `shadow`) and
//! the number of its current version; `policy_versions` keeps each version, immutable; every
//! violation records the version that raised it and whether it was raised in shadow.
//!
//! Policies that exist when the migration runs get their current state as version 1 (no author,
//! nothing listed as changed: their earlier history was never recorded).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::constraint;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Policies {
    Table,
    Id,
    Enforcement,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum Violations {
    Table,
    PolicyId,
    PolicyVersion,
    Shadow,
}

#[derive(DeriveIden, Clone, Copy)]
enum PolicyVersions {
    Table,
    Id,
    PolicyId,
    Version,
    Author,
    AuthorId,
    CreatedAt,
    Changed,
    RollbackOf,
    Name,
    Definition,
    Category,
    Status,
    Severity,
    PerformanceMode,
    InterventionType,
    InterventionConfig,
    Enforcement,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            (
                Policies::Table.into_iden(),
                text(Policies::Enforcement).default("enforce").to_owned(),
            ),
            (
                Policies::Table.into_iden(),
                big_integer(Policies::Version).default(1).to_owned(),
            ),
            (
                Violations::Table.into_iden(),
                big_integer_null(Violations::PolicyVersion).to_owned(),
            ),
            (
                Violations::Table.into_iden(),
                boolean(Violations::Shadow).default(false).to_owned(),
            ),
        ];
        for (table, mut column) in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PolicyVersions::Table)
                    .col(big_pk_auto(PolicyVersions::Id))
                    .col(big_integer(PolicyVersions::PolicyId))
                    .col(big_integer(PolicyVersions::Version))
                    .col(text_null(PolicyVersions::Author))
                    .col(big_integer_null(PolicyVersions::AuthorId))
                    .col(timestamp_with_time_zone(PolicyVersions::CreatedAt))
                    // JSON array text of the changed field names.
                    .col(text(PolicyVersions::Changed))
                    .col(big_integer_null(PolicyVersions::RollbackOf))
                    .col(text(PolicyVersions::Name))
                    .col(text(PolicyVersions::Definition))
                    .col(text(PolicyVersions::Category))
                    .col(text(PolicyVersions::Status))
                    .col(text(PolicyVersions::Severity))
                    .col(text(PolicyVersions::PerformanceMode))
                    .col(text(PolicyVersions::InterventionType))
                    .col(text_null(PolicyVersions::InterventionConfig))
                    .col(text(PolicyVersions::Enforcement))
                    .foreign_key(
                        ForeignKey::create()
                            .name(constraint::FK_POLICY_VERSIONS_POLICY_ID.name)
                            .from(PolicyVersions::Table, PolicyVersions::PolicyId)
                            .to(Policies::Table, Policies::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Composite, so not in `constraint::ALL`: versions are numbered inside the audited
        // transaction (one writer at a time), and this index only guards that rule.
        manager
            .create_index(
                Index::create()
                    .name("uq_policy_versions_policy_version")
                    .table(PolicyVersions::Table)
                    .col(PolicyVersions::PolicyId)
                    .col(PolicyVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The dashboard's shadow counts and the `shadow` filter of the violation lists.
        manager
            .create_index(
                Index::create()
                    .name("ix_violations_shadow_policy")
                    .table(Violations::Table)
                    .col(Violations::Shadow)
                    .col(Violations::PolicyId)
                    .to_owned(),
            )
            .await?;
        // Version 1 of every existing policy: its state now. Plain SQL that both backends read.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO policy_versions (policy_id, version, author, author_id, created_at, \
                 changed, rollback_of, name, definition, category, status, severity, \
                 performance_mode, intervention_type, intervention_config, enforcement) \
                 SELECT id, 1, NULL, created_by, COALESCE(updated_at, created_at), '[]', NULL, \
                 name, definition, category, status, severity, performance_mode, \
                 intervention_type, intervention_config, enforcement FROM policies",
            )
            .await?;
        Ok(())
    }
}
