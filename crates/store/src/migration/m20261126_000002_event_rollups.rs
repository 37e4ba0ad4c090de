//! Daily event rollups, maintained in the same transaction as every insert, so the dashboard's
//! totals, timeline and average duration read a few hundred rows instead of every event.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum EventRollups {
    Table,
    Day,
    Severity,
    Events,
    DurationSum,
    DurationCount,
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    TriggerDay,
    Severity,
    DurationMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventRollups::Table)
                    .col(date(EventRollups::Day))
                    .col(string(EventRollups::Severity))
                    .col(big_integer(EventRollups::Events).default(0))
                    .col(double(EventRollups::DurationSum).default(0.0))
                    .col(big_integer(EventRollups::DurationCount).default(0))
                    .primary_key(
                        Index::create()
                            .col(EventRollups::Day)
                            .col(EventRollups::Severity),
                    )
                    .to_owned(),
            )
            .await?;
        // Backfill from the events already stored (both backends run the same statement).
        let select = Query::select()
            .column(Events::TriggerDay)
            .column(Events::Severity)
            .expr(Expr::col(Asterisk).count())
            .expr(Expr::cust("COALESCE(SUM(duration_ms), 0)"))
            .expr(Expr::col(Events::DurationMs).count())
            .from(Events::Table)
            .group_by_col(Events::TriggerDay)
            .group_by_col(Events::Severity)
            .to_owned();
        let insert = Query::insert()
            .into_table(EventRollups::Table)
            .columns([
                EventRollups::Day,
                EventRollups::Severity,
                EventRollups::Events,
                EventRollups::DurationSum,
                EventRollups::DurationCount,
            ])
            .select_from(select)
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        manager.exec_stmt(insert).await?;
        Ok(())
    }
}
