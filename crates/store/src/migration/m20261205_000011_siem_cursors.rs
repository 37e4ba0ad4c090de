//! SIEM sinks (issue 14, item 3): `siem_cursors` holds, per configured sink, the outbox position
//! it has delivered up to, written after each successful send, so a restart resumes there.
//!
//! A position is `(txid, outbox_id)`: on PostgreSQL sinks read the outbox in `(txid, id)` order
//! (see `m20261205_000009_webhooks`), on SQLite in id order with `txid` NULL. The index on the
//! outbox serves that read and the pruning that follows the slowest cursor.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum SiemCursors {
    Table,
    Sink,
    Txid,
    OutboxId,
    Sent,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    Table,
    Txid,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SiemCursors::Table)
                    // The sink's configured name.
                    .col(text(SiemCursors::Sink).primary_key())
                    .col(big_integer_null(SiemCursors::Txid))
                    .col(big_integer(SiemCursors::OutboxId))
                    // Messages delivered by this sink since it first ran.
                    .col(big_integer(SiemCursors::Sent).default(0))
                    .col(timestamp_with_time_zone(SiemCursors::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_txid_id")
                    .table(Outbox::Table)
                    .col(Outbox::Txid)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
