//! Composite indexes for the filter pairs dashboards use most (status with severity, status with
//! source): a list filtered on both, and its `X-Total-Count`, read one index range instead of
//! checking the second column row by row. The (trigger_day, severity, trigger_date) index goes:
//! since the rollups, the timeline reads only its first, partial day from the events, through
//! the (severity, trigger_date) index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    Status,
    Severity,
    Source,
    TriggerDate,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, second) in [
            ("ix_events_status_severity", Events::Severity),
            ("ix_events_status_source", Events::Source),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Events::Table)
                        .col(Events::Status)
                        .col(second)
                        .col(Events::TriggerDate)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("ix_events_trigger_day")
                    .table(Events::Table)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
