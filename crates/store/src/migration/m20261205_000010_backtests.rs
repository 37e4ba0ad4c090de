//! Backtests (issue 13): a job replays the stored events of a window through a candidate policy.
//! Each job is a row, so its status, progress and result survive a restart and two results can
//! be read side by side. `request` and `result` are JSON text; `status` is `queued`, `running`,
//! `done`, `cancelled` or `failed`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Backtests {
    Table,
    Id,
    Status,
    Request,
    PolicyId,
    Scanned,
    Total,
    Flagged,
    Result,
    Error,
    CreatedBy,
    CreatedAt,
    StartedAt,
    UpdatedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Backtests::Table)
                    .col(big_pk_auto(Backtests::Id))
                    .col(text(Backtests::Status))
                    .col(text(Backtests::Request))
                    // The policy the candidate is a version or a draft of; no foreign key, so that
                    // a deleted policy's backtests stay readable.
                    .col(big_integer_null(Backtests::PolicyId))
                    .col(big_integer(Backtests::Scanned).default(0).to_owned())
                    .col(big_integer_null(Backtests::Total))
                    .col(big_integer(Backtests::Flagged).default(0).to_owned())
                    .col(text_null(Backtests::Result))
                    .col(text_null(Backtests::Error))
                    .col(big_integer_null(Backtests::CreatedBy))
                    .col(timestamp_with_time_zone(Backtests::CreatedAt))
                    .col(timestamp_with_time_zone_null(Backtests::StartedAt))
                    // Touched by every progress update: a job not touched for long is one whose
                    // process stopped.
                    .col(timestamp_with_time_zone(Backtests::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Backtests::FinishedAt))
                    .to_owned(),
            )
            .await?;
        // The sweep of interrupted jobs.
        manager
            .create_index(
                Index::create()
                    .name("ix_backtests_status")
                    .table(Backtests::Table)
                    .col(Backtests::Status)
                    .to_owned(),
            )
            .await
    }
}
