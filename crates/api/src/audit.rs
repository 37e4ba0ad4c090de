//! The audit trail (CONTRACT.md §9): who changed what, when and from where, hash-chained.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::Timestamp;

/// One audit entry. `hash` = SHA-256(`prev_hash` ‖ canonical entry), hex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub id: i64,
    pub created_at: Timestamp,
    /// `user:<name>`, `key:<prefix>`, `cli:<os user>`, `system` or `anonymous`.
    pub actor: String,
    /// For example `policy.update`, `auth.login_failed`, `retention.purge`.
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Filters of `GET /api/audit/`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
}

/// `GET /api/audit/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    pub intact: bool,
    /// Entries checked.
    pub entries: u64,
    /// The last sequence number and hash the store records as the chain's head.
    pub head_id: i64,
    pub head_hash: String,
    /// The first entry that does not verify, when the chain is broken.
    pub first_bad_id: Option<i64>,
    pub reason: Option<String>,
}
