//! Sentinel's persistence: one [`Store`] with domain-typed async methods over SQLite or PostgreSQL.
//!
//! The store owns the schema (forward-only migrations), the ORM entities (private) and every query.
//! It returns records (`sentinel_api` ones, and its own where the wire form holds more than the store
//! knows, such as [`PolicyRecord`]) and its own [`StoreError`]; it knows nothing about HTTP, the
//! policy engine or the live stream. Both backends run the same code; the few places that differ
//! are explicit and commented.

// The store tests' shared set-up (`tests/common`: a fresh SQLite file, or a PostgreSQL schema
// when `SENTINEL_TEST_DATABASE_URL` names a server, and minimal rows), for the unit tests too. It
// names this crate as the integration tests see it.
#[cfg(test)]
extern crate self as sentinel_store;
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod test_common;

pub mod audit;
mod backtests;
mod connect;
pub mod constraint;
mod convert;
mod counters;
mod dashboard;
mod entity;
mod error;
mod events;
mod keys;
pub mod migration;
pub mod notify;
mod outbox;
mod policies;
mod replay;
mod report_rollups;
pub mod reports;
mod retention;
mod rollups;
mod seed;
mod siem;
mod templates;
mod tokens;
mod users;
mod versions;
mod violations;
mod webhooks;
mod writes;

pub use audit::{AuditChange, AuditContext};
pub use backtests::{BacktestRecord, ReplayCursor, ReplayRow, ReplayWindow, TriageLabel};
pub use connect::{Backend, Store, redact_url};
pub use error::{Entity, StoreError};
pub use events::{EventRecord, NewEvent, NewViolation};
pub use keys::{ApiKeyRecord, NewApiKey};
pub use outbox::{DECISION, OutboxMessage};
pub use policies::{ChangeKind, NewPolicy, PolicyChange, PolicyRecord};
pub use replay::ReplayEvent;
pub use retention::Purged;
pub use seed::{SeedEvent, SeedViolation};
pub use siem::{OutboxPosition, SiemCursor, SiemLease, SiemMessage};
pub use templates::{NewTemplate, TemplateRecord};
pub use tokens::{NewRefreshToken, RefreshOutcome};
pub use users::{NewUser, UserChange, UserRecord};
pub use versions::{PolicyVersionRecord, ShadowCounts, VERSIONED_FIELDS};
pub use violations::ViolationRecord;
pub use webhooks::{
    Attempt, ClaimedDelivery, EXCERPT_CHARS, Finished, NewWebhook, NextStep, WebhookChange,
    WebhookRecord,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A triage update of an event or a violation (`PUT .../{id}`).
#[derive(Debug, Clone)]
pub struct Triage<S> {
    pub status: Option<S>,
    /// `Some(x)`: set `acknowledged_by = x` and `acknowledged_date = now`, even when `x` is `None`.
    pub acknowledged_by: Option<Option<i64>>,
}
