//! Forward-only migrations, one file per migration, serving SQLite and PostgreSQL alike.
//! A landed migration is never edited: add a new file instead.

use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_event_rollups;
mod m20261126_000003_event_filter_pairs;
mod m20261126_000004_identity_audit;
mod m20261126_000005_counters;
mod m20261204_000006_key_binding;
mod m20261204_000007_policy_lifecycle;
mod m20261204_000008_template_owasp;
mod m20261205_000009_webhooks;
mod m20261205_000010_backtests;
mod m20261205_000011_siem_cursors;
mod m20261205_000012_report_rollups;
mod m20261205_000013_siem_leases;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_event_rollups::Migration),
            Box::new(m20261126_000003_event_filter_pairs::Migration),
            Box::new(m20261126_000004_identity_audit::Migration),
            Box::new(m20261126_000005_counters::Migration),
            Box::new(m20261204_000006_key_binding::Migration),
            Box::new(m20261204_000007_policy_lifecycle::Migration),
            Box::new(m20261204_000008_template_owasp::Migration),
            Box::new(m20261205_000009_webhooks::Migration),
            Box::new(m20261205_000010_backtests::Migration),
            Box::new(m20261205_000011_siem_cursors::Migration),
            Box::new(m20261205_000012_report_rollups::Migration),
            Box::new(m20261205_000013_siem_leases::Migration),
        ]
    }
}
