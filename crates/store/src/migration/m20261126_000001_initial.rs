//! The initial schema: users, policies, policy templates, events and violations.
//!
//! Enums are stored as their lowercase wire values in text columns, so both backends read them the
//! same way. Every filter and sort the API offers has an index; lists sort by a column that leads
//! (or follows an equality filter in) a composite index, so the first page never sorts the table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::constraint;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    FullName,
    HashedPassword,
    Role,
    IsActive,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Policies {
    Table,
    Id,
    Name,
    Definition,
    Category,
    Status,
    Severity,
    PerformanceMode,
    InterventionType,
    InterventionConfig,
    EstimatedCostPerEvent,
    EstimatedLatencyMs,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PolicyTemplates {
    Table,
    Id,
    Name,
    Description,
    Category,
    TemplateCode,
    Tags,
    DefaultSeverity,
    DefaultPerformanceMode,
    DefaultInterventionType,
    IsActive,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    Id,
    EventId,
    EventType,
    Severity,
    Title,
    Description,
    EventData,
    TriggerDate,
    TriggerDay,
    Status,
    PolicyId,
    UserId,
    AcknowledgedBy,
    AcknowledgedDate,
    CreatedAt,
    UpdatedAt,
    Source,
    ModelName,
    Prompt,
    Completion,
    RequestTokens,
    ResponseTokens,
    DurationMs,
    Metadata,
    Decision,
}

#[derive(DeriveIden, Clone, Copy)]
enum Violations {
    Table,
    Id,
    ViolationType,
    Severity,
    Status,
    Title,
    Description,
    Details,
    ConfidenceScore,
    EventId,
    PolicyId,
    AcknowledgedBy,
    AcknowledgedDate,
    CreatedAt,
    UpdatedAt,
    LegalAdviceScore,
    ControversialTopicsScore,
    CodePromptScore,
    SafePromptScore,
    Findings,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::Username))
                    .col(string_uniq(Users::Email))
                    .col(string_null(Users::FullName))
                    .col(string(Users::HashedPassword))
                    .col(string(Users::Role).default("viewer"))
                    .col(boolean(Users::IsActive).default(true))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone_null(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // User references (created_by, acknowledged_by, user_id) carry no foreign key on purpose:
        // the id of a removed user must stay in the history it wrote.
        manager
            .create_table(
                Table::create()
                    .table(Policies::Table)
                    .col(big_pk_auto(Policies::Id))
                    .col(string(Policies::Name))
                    .col(text(Policies::Definition))
                    .col(string(Policies::Category))
                    .col(string(Policies::Status).default("draft"))
                    .col(string(Policies::Severity).default("medium"))
                    .col(string(Policies::PerformanceMode).default("balanced"))
                    .col(string(Policies::InterventionType).default("notification"))
                    .col(text_null(Policies::InterventionConfig))
                    .col(double(Policies::EstimatedCostPerEvent).default(0.0))
                    .col(double(Policies::EstimatedLatencyMs).default(0.0))
                    .col(big_integer_null(Policies::CreatedBy))
                    .col(timestamp_with_time_zone(Policies::CreatedAt))
                    .col(timestamp_with_time_zone_null(Policies::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Policies::DeletedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PolicyTemplates::Table)
                    .col(big_pk_auto(PolicyTemplates::Id))
                    .col(string_uniq(PolicyTemplates::Name))
                    .col(text_null(PolicyTemplates::Description))
                    .col(string(PolicyTemplates::Category))
                    .col(text(PolicyTemplates::TemplateCode))
                    .col(string_null(PolicyTemplates::Tags))
                    .col(string(PolicyTemplates::DefaultSeverity).default("medium"))
                    .col(string(PolicyTemplates::DefaultPerformanceMode).default("balanced"))
                    .col(string(PolicyTemplates::DefaultInterventionType).default("notification"))
                    .col(boolean(PolicyTemplates::IsActive).default(true))
                    .col(timestamp_with_time_zone(PolicyTemplates::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(big_pk_auto(Events::Id))
                    .col(string(Events::EventId))
                    .col(string(Events::EventType))
                    .col(string(Events::Severity).default("low"))
                    .col(text(Events::Title))
                    .col(text_null(Events::Description))
                    .col(text_null(Events::EventData))
                    .col(timestamp_with_time_zone(Events::TriggerDate))
                    // The UTC date of trigger_date, kept so the timeline groups by a plain column
                    // on both backends instead of a dialect-specific date function.
                    .col(date(Events::TriggerDay))
                    .col(string(Events::Status).default("open"))
                    .col(big_integer_null(Events::PolicyId))
                    .col(big_integer_null(Events::UserId))
                    .col(big_integer_null(Events::AcknowledgedBy))
                    .col(timestamp_with_time_zone_null(Events::AcknowledgedDate))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone_null(Events::UpdatedAt))
                    .col(string_null(Events::Source))
                    .col(string_null(Events::ModelName))
                    .col(text_null(Events::Prompt))
                    .col(text_null(Events::Completion))
                    .col(big_integer_null(Events::RequestTokens))
                    .col(big_integer_null(Events::ResponseTokens))
                    .col(double_null(Events::DurationMs))
                    .col(text_null(Events::Metadata))
                    .col(string_null(Events::Decision))
                    .foreign_key(
                        ForeignKey::create()
                            .name(constraint::FK_EVENTS_POLICY_ID.name)
                            .from(Events::Table, Events::PolicyId)
                            .to(Policies::Table, Policies::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Violations::Table)
                    .col(big_pk_auto(Violations::Id))
                    .col(string(Violations::ViolationType))
                    .col(string(Violations::Severity))
                    .col(string(Violations::Status).default("detected"))
                    .col(text_null(Violations::Title))
                    .col(text_null(Violations::Description))
                    .col(text_null(Violations::Details))
                    .col(double(Violations::ConfidenceScore).default(0.0))
                    .col(big_integer(Violations::EventId))
                    .col(big_integer(Violations::PolicyId))
                    .col(big_integer_null(Violations::AcknowledgedBy))
                    .col(timestamp_with_time_zone_null(Violations::AcknowledgedDate))
                    .col(timestamp_with_time_zone(Violations::CreatedAt))
                    .col(timestamp_with_time_zone_null(Violations::UpdatedAt))
                    .col(double_null(Violations::LegalAdviceScore))
                    .col(double_null(Violations::ControversialTopicsScore))
                    .col(double_null(Violations::CodePromptScore))
                    .col(double_null(Violations::SafePromptScore))
                    .col(text_null(Violations::Findings))
                    .foreign_key(
                        ForeignKey::create()
                            .name(constraint::FK_VIOLATIONS_EVENT_ID.name)
                            .from(Violations::Table, Violations::EventId)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name(constraint::FK_VIOLATIONS_POLICY_ID.name)
                            .from(Violations::Table, Violations::PolicyId)
                            .to(Policies::Table, Policies::Id),
                    )
                    .to_owned(),
            )
            .await?;

        let indexes = [
            Index::create()
                .name(constraint::EVENTS_EVENT_ID.name)
                .table(Events::Table)
                .col(Events::EventId)
                .unique()
                .to_owned(),
            idx(
                "ix_policies_status",
                Policies::Table,
                &[Policies::Status, Policies::Id],
            ),
            idx(
                "ix_policies_category",
                Policies::Table,
                &[Policies::Category, Policies::Id],
            ),
            idx(
                "ix_events_trigger_date",
                Events::Table,
                &[Events::TriggerDate],
            ),
            idx(
                "ix_events_trigger_day",
                Events::Table,
                &[Events::TriggerDay, Events::Severity, Events::TriggerDate],
            ),
            idx(
                "ix_events_status",
                Events::Table,
                &[Events::Status, Events::TriggerDate],
            ),
            idx(
                "ix_events_severity",
                Events::Table,
                &[Events::Severity, Events::TriggerDate],
            ),
            idx(
                "ix_events_event_type",
                Events::Table,
                &[Events::EventType, Events::TriggerDate],
            ),
            idx(
                "ix_events_policy_id",
                Events::Table,
                &[Events::PolicyId, Events::TriggerDate],
            ),
            idx(
                "ix_events_source",
                Events::Table,
                &[Events::Source, Events::TriggerDate],
            ),
            idx(
                "ix_violations_created_at",
                Violations::Table,
                &[Violations::CreatedAt],
            ),
            idx(
                "ix_violations_status",
                Violations::Table,
                &[Violations::Status, Violations::CreatedAt],
            ),
            idx(
                "ix_violations_severity",
                Violations::Table,
                &[Violations::Severity, Violations::CreatedAt],
            ),
            idx(
                "ix_violations_type",
                Violations::Table,
                &[Violations::ViolationType, Violations::CreatedAt],
            ),
            idx(
                "ix_violations_policy_id",
                Violations::Table,
                &[Violations::PolicyId, Violations::CreatedAt],
            ),
            idx(
                "ix_violations_event_id",
                Violations::Table,
                &[Violations::EventId, Violations::CreatedAt],
            ),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}

fn idx<T, C>(name: &str, table: T, cols: &[C]) -> IndexCreateStatement
where
    T: IntoIden + Clone + 'static,
    C: IntoIden + Clone + 'static,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col.clone());
    }
    index.to_owned()
}
