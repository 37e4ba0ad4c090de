//! Alerts (issue 14): the transactional `outbox`, the `webhooks` endpoints and one
//! `webhook_deliveries` row per endpoint per message.
//!
//! A change that alerts (a new violation, a violation's triage, a policy change, any audit entry)
//! writes one `outbox` row in the transaction that records it, so a crash between the commit and
//! the send loses nothing. The delivery worker fans each row out to the matching endpoints
//! (`dispatched` marks the rows it has done) and sends the deliveries with retries. Other readers
//! of the outbox (SIEM sinks) keep their own cursor and ignore `dispatched`.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    Table,
    Id,
    MessageType,
    Payload,
    CreatedAt,
    Severity,
    PolicyId,
    App,
    Dispatched,
}

#[derive(DeriveIden, Clone, Copy)]
enum Webhooks {
    Table,
    Id,
    Url,
    Description,
    Format,
    MessageTypes,
    MinSeverity,
    PolicyIds,
    Apps,
    Enabled,
    DisabledReason,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    FailingSince,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    MessageId,
    MessageType,
    Status,
    Attempts,
    NextAttemptAt,
    CreatedAt,
    LastAttemptAt,
    LastStatusCode,
    LastLatencyMs,
    ResponseExcerpt,
    LastError,
    LeaseOwner,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(text(Outbox::MessageType))
                    // The message as JSON text, exactly as every reader renders it.
                    .col(text(Outbox::Payload))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    // What the endpoints filter on, so the fan-out never parses a payload.
                    .col(text_null(Outbox::Severity))
                    .col(big_integer_null(Outbox::PolicyId))
                    .col(text_null(Outbox::App))
                    .col(boolean(Outbox::Dispatched).default(false))
                    .to_owned(),
            )
            .await?;
        // Backend-specific on purpose: on PostgreSQL every row records the id of the transaction
        // that wrote it, so a reader with a cursor (a SIEM sink) can read in (txid, id) order up
        // to `pg_snapshot_xmin(pg_current_snapshot())` and never skip a row whose transaction
        // committed after a later id. SQLite has one writer at a time, so ids already commit in
        // order there and the column stays NULL.
        let txid = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "ALTER TABLE outbox ADD COLUMN txid BIGINT DEFAULT (pg_current_xact_id()::text::bigint)"
            }
            _ => "ALTER TABLE outbox ADD COLUMN txid BIGINT",
        };
        manager.get_connection().execute_unprepared(txid).await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_dispatched_id")
                    .table(Outbox::Table)
                    .col(Outbox::Dispatched)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(big_pk_auto(Webhooks::Id))
                    .col(text(Webhooks::Url))
                    .col(text_null(Webhooks::Description))
                    .col(text(Webhooks::Format))
                    // JSON arrays; an empty one matches everything.
                    .col(text(Webhooks::MessageTypes))
                    .col(text_null(Webhooks::MinSeverity))
                    .col(text(Webhooks::PolicyIds))
                    .col(text(Webhooks::Apps))
                    .col(boolean(Webhooks::Enabled).default(true))
                    .col(text_null(Webhooks::DisabledReason))
                    // `whsec_…`: the signing key has to be read back, so it cannot be hashed.
                    .col(text(Webhooks::Secret))
                    .col(text_null(Webhooks::PreviousSecret))
                    .col(timestamp_with_time_zone_null(
                        Webhooks::PreviousSecretExpiresAt,
                    ))
                    .col(timestamp_with_time_zone_null(Webhooks::FailingSince))
                    .col(big_integer_null(Webhooks::CreatedBy))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .col(timestamp_with_time_zone_null(Webhooks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(big_pk_auto(WebhookDeliveries::Id))
                    .col(big_integer(WebhookDeliveries::WebhookId))
                    .col(big_integer(WebhookDeliveries::MessageId))
                    .col(text(WebhookDeliveries::MessageType))
                    .col(text(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(double_null(WebhookDeliveries::LastLatencyMs))
                    .col(text_null(WebhookDeliveries::ResponseExcerpt))
                    .col(text_null(WebhookDeliveries::LastError))
                    // The node sending it, and until when no other node may take it.
                    .col(text_null(WebhookDeliveries::LeaseOwner))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                    .to_owned(),
            )
            .await?;
        // The worker's claim: an endpoint's due deliveries.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // The history of an endpoint, newest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_webhook_id")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
