//! Use cases that join the store, the engine and the live stream. Plain async functions, callable
//! from handlers, the CLI and tests.

pub mod auth;
pub mod backtest;
pub mod demo;
mod error;
pub mod evaluate;
pub mod events;
pub mod guard;
pub mod keys;
pub mod passwords;
pub mod policies;
pub mod reports;
pub mod retention;
pub mod templates;
pub mod users;
pub mod versions;
pub mod violations;
pub mod webhooks;
pub mod writer;

use sentinel_api::Patch;
use sentinel_store::Triage;

pub use error::{ServiceError, ServiceResult};

/// The triage change of a `PUT` on an event or a violation: `status` may not be `null`, and
/// `acknowledged_by` present (even `null`) stamps `acknowledged_date`.
pub fn triage<S>(status: Patch<S>, acknowledged_by: Patch<i64>) -> ServiceResult<Triage<S>> {
    if matches!(status, Patch::Null) {
        return Err(ServiceError::invalid(
            &["body", "status"],
            "Input should not be null",
            "null_not_allowed",
        ));
    }
    Ok(Triage {
        status: status.value(),
        acknowledged_by: acknowledged_by.into_update(),
    })
}
