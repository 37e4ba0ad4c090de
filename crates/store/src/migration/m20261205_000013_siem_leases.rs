//! One sender per SIEM sink (issue 14): a lease on each `siem_cursors` row. The node that holds
//! it (`lease_owner`, unique per process) is the only one that sends for the sink until
//! `lease_until`; it renews the lease while it runs, moves the cursor only while it still holds
//! it (one `UPDATE … WHERE lease_owner = me`), and clears it when it stops. Another node takes
//! the lease once it is free or expired, so a dead holder is replaced after one lease period.
//!
//! Two `ALTER TABLE`s, one column each: SQLite takes one change per statement.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum SiemCursors {
    Table,
    LeaseOwner,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SiemCursors::Table)
                    .add_column(text_null(SiemCursors::LeaseOwner))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SiemCursors::Table)
                    .add_column(timestamp_with_time_zone_null(SiemCursors::LeaseUntil))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
