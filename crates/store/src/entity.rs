//! ORM entities. They stay private to the store: callers see `sentinel_api` records.

pub(crate) mod api_key;
pub(crate) mod audit_head;
pub(crate) mod audit_log;
pub(crate) mod backtest;
pub(crate) mod event;
pub(crate) mod event_count;
pub(crate) mod event_hour;
pub(crate) mod event_rollup;
pub(crate) mod outbox;
pub(crate) mod policy;
pub(crate) mod policy_template;
pub(crate) mod policy_version;
pub(crate) mod refresh_token;
pub(crate) mod siem_cursor;
pub(crate) mod user;
pub(crate) mod violation;
pub(crate) mod violation_count;
pub(crate) mod webhook;
pub(crate) mod webhook_delivery;
