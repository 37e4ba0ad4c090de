//! Sentinel's wire types: what travels over HTTP and WebSocket, and their OpenAPI schemas.
//!
//! This crate owns field names, enum wire values and datetime formats of CONTRACT.md. It holds no
//! behaviour beyond parsing and formatting: no database, no HTTP framework, no policy evaluation.

pub mod audit;
pub mod backtest;
pub mod dashboard;
pub mod enums;
pub mod error;
pub mod event;
pub mod guard;
pub mod id;
pub mod identity;
pub mod live;
pub mod page;
pub mod patch;
pub mod policy;
pub mod report;
pub mod system;
pub mod time;
pub mod violation;
pub mod webhook;

pub use enums::*;
pub use id::{EventId, PolicyId, UserId, ViolationId};
pub use patch::Patch;
pub use time::Timestamp;
