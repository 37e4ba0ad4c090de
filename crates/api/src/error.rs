//! Error bodies, `{"detail": ..., "code": ...}` (CONTRACT.md §0), and the one table of their
//! stable codes.

use std::fmt;

use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// Declares the error table: each code once, with its wire value, its HTTP status and a one-line
/// description. `docs/API-DESIGN.md` lists the same codes, and a test keeps the two equal.
macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident => ($wire:literal, $status:literal, $description:literal)),+ $(,)?) => {
        /// A stable, machine-readable error code: the `code` of every error body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$meta])* $variant),+
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The snake_case value sent on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire),+
                }
            }

            /// The HTTP status every answer with this code carries.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status),+
                }
            }

            /// What the code means, in one line (the documentation's wording).
            pub const fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $description),+
                }
            }
        }
    };
}

error_codes! {
    PolicyNotFound => ("policy_not_found", 404, "No live policy has that id."),
    EventNotFound => ("event_not_found", 404, "No event has that id."),
    ViolationNotFound => ("violation_not_found", 404, "No violation has that id."),
    TemplateNotFound => ("template_not_found", 404, "No active policy template has that id."),
    PolicyVersionNotFound => ("policy_version_not_found", 404, "The policy exists but has no version with that number; `detail` names the versions it has."),
    BacktestNotFound => ("backtest_not_found", 404, "No backtest job has that id."),
    UserNotFound => ("user_not_found", 404, "No user has that id."),
    ApiKeyNotFound => ("api_key_not_found", 404, "No API key has that id."),
    WebhookNotFound => ("webhook_not_found", 404, "No webhook endpoint has that id."),
    DeliveryNotFound => ("delivery_not_found", 404, "That webhook endpoint has no delivery with that id."),
    RouteNotFound => ("route_not_found", 404, "No route has that path."),
    MethodNotAllowed => ("method_not_allowed", 405, "The route exists but does not take that method."),
    BadRequest => ("bad_request", 400, "The request cannot be read at all (unreadable body, missing upgrade)."),
    ValidationError => ("validation_error", 422, "A body, query or path value is invalid; `detail` lists each issue with its `loc`."),
    NotAuthenticated => ("not_authenticated", 401, "No credentials were sent."),
    InvalidCredentials => ("invalid_credentials", 401, "The token or API key does not verify, has expired, or its user is disabled."),
    BadCredentials => ("bad_credentials", 401, "Sign-in failed: unknown username or wrong password."),
    Forbidden => ("forbidden", 403, "The caller's role or key scope does not allow this."),
    TooManyAttempts => ("too_many_attempts", 429, "Too many failed sign-ins; retry after `Retry-After` seconds."),
    DuplicateEventId => ("duplicate_event_id", 409, "An event with that `event_id` exists, or the batch repeats it."),
    DuplicateUsername => ("duplicate_username", 409, "A user with that username exists."),
    DuplicateEmail => ("duplicate_email", 409, "A user with that email exists."),
    Conflict => ("conflict", 409, "Another unique value clashes with an existing record."),
    LastAdmin => ("last_admin", 409, "The change would leave no active admin."),
    PolicyNotShadow => ("policy_not_shadow", 409, "Only a policy in shadow mode can be promoted; this one is enforced already."),
    PayloadTooLarge => ("payload_too_large", 413, "The body is larger than the configured limit."),
    InternalError => ("internal_error", 500, "An unexpected failure; the details are in the server log, never in the answer."),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An error with a human `detail` and a stable machine-readable `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub detail: String,
    #[schema(value_type = String)]
    pub code: ErrorCode,
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
    #[schema(value_type = String)]
    pub code: ErrorCode,
}

/// `{"message": "..."}` answers such as a deletion.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}
