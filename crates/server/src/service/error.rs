//! What a use case can fail with, in domain terms. The HTTP layer turns it into an `ApiError`
//! (in `crate::error`, the one place); the CLI prints it as it is.

use sentinel_api::error::ValidationIssue;
use sentinel_store::StoreError;

/// A use case's failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store refused or failed: not found, a clash, a missing reference, the last admin.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The input breaks a rule; each issue names the field it is about.
    #[error("{}", crate::error::sentence(.0))]
    Invalid(Vec<ValidationIssue>),
    /// A batch names the same `event_id` twice.
    #[error("event_id `{event_id}` appears twice in the batch (item {index})")]
    DuplicateInBatch { event_id: String, index: usize },
    /// A failed sign-in: unknown user, wrong password or disabled account (never said which).
    #[error("Incorrect username or password")]
    BadLogin,
    /// A refresh token that is unknown, expired, used or revoked.
    #[error("Could not validate credentials")]
    InvalidCredentials,
    /// A promotion of a policy that is not in shadow mode.
    #[error("Policy {policy_id} is already enforced: only a shadow policy can be promoted")]
    NotShadow { policy_id: i64 },
    /// Too many failed sign-ins from this user or address.
    #[error("Too many failed attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// Something that should not fail did (randomness, a worker thread, token signing).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    /// A single issue at `loc`.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        ServiceError::Invalid(vec![ValidationIssue::new(
            loc.iter().map(|s| serde_json::Value::from(*s)).collect(),
            msg,
            kind,
        )])
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
