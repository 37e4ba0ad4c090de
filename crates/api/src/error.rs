//! Error bodies: `{"detail": ..., "code": ...}` (CONTRACT.md §0).

use serde::Serialize;
use utoipa::ToSchema;

/// An error with a human `detail` and a stable machine-readable `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub detail: String,
    pub code: String,
}

/// One step of a `loc`: a part or field name, or an index into a list. (Schema only: `loc` is
/// built as JSON values.)
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum LocItem {
    Name(String),
    Index(u64),
}

/// One problem found while validating a request (FastAPI-compatible shape).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ValidationIssue {
    /// Where: `["body","name"]`, `["query","limit"]`, `["path","policy_id"]`.
    #[schema(value_type = Vec<LocItem>)]
    pub loc: Vec<serde_json::Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationIssue {
    pub fn new(
        loc: Vec<serde_json::Value>,
        msg: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    /// A problem with a named field of a part of the request (`body`, `query`, `path`).
    pub fn field(part: &str, field: &str, msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self::new(vec![part.into(), field.into()], msg, kind)
    }
}

/// The 422 body: a list of issues.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationErrorBody {
    pub detail: Vec<ValidationIssue>,
    pub code: String,
}

/// `{"message": "..."}` answers such as a deletion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}
