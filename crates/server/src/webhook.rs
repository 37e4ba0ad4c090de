//! Webhooks: Standard Webhooks signing, the wire formats, the destination guard and the
//! delivery worker. Signing and formatting are pure functions; the worker drains the store's
//! outbox (see `sentinel_store`'s `webhooks` module for the claim protocol).

pub mod address;
pub mod format;
pub mod sign;
pub mod worker;
