//! The one error type of the HTTP layer, and the one place lower errors become it.
//!
//! Every [`ApiError`] carries an [`ErrorCode`] from the table in `sentinel_api::error`, which
//! holds each code's HTTP status and description; this module only adds the body and the
//! headers. Services fail with [`ServiceError`] and the store with [`StoreError`]; both convert
//! here, so a new error code goes in the table and, if a lower error produces it, in one `From`
//! below.

use std::fmt;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_api::error::{ErrorBody, ErrorCode, ValidationErrorBody, ValidationIssue};
use sentinel_store::constraint::{self, Kind};
use sentinel_store::{Entity, StoreError};

use crate::service::ServiceError;

/// What a handler can fail with: a code from the table and what the caller is told.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Detail,
    /// Seconds to send in `Retry-After`.
    retry_after: Option<u64>,
}

#[derive(Debug)]
enum Detail {
    /// A sentence; for a 5xx it is logged, and the caller gets an opaque one.
    Message(String),
    /// The issues of a 422.
    Issues(Vec<ValidationIssue>),
}

impl ApiError {
    /// An error with `code` and a human `detail`.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: Detail::Message(detail.into()),
            retry_after: None,
        }
    }

    /// A 422 listing `issues`.
    pub fn validation(issues: Vec<ValidationIssue>) -> Self {
        Self {
            code: ErrorCode::ValidationError,
            detail: Detail::Issues(issues),
            retry_after: None,
        }
    }

    /// A single 422 issue.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self::validation(vec![issue(loc, msg, kind)])
    }

    /// A 500: `cause` is logged, never sent.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::new(ErrorCode::InternalError, cause.to_string())
    }

    /// A 400 for a request that cannot be read at all.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, detail)
    }

    /// 401: no credentials at all.
    pub fn not_authenticated() -> Self {
        Self::new(ErrorCode::NotAuthenticated, "Not authenticated")
    }

    /// 401: a token or key that does not verify, has expired, or belongs to a disabled user.
    pub fn invalid_credentials() -> Self {
        Self::new(
            ErrorCode::InvalidCredentials,
            "Could not validate credentials",
        )
    }

    /// 403.
    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "Not enough permissions")
    }

    /// 404 for a path no route serves.
    pub fn route_not_found() -> Self {
        Self::new(ErrorCode::RouteNotFound, "Not Found")
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(ErrorCode::MethodNotAllowed, "Method Not Allowed")
    }

    /// 413.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {limit} bytes"),
        )
    }

    /// The code from the table.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status of the code.
    pub fn status(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.code.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// What the caller is told, as one sentence (a 5xx says nothing of its cause).
    pub fn message(&self) -> String {
        match &self.detail {
            _ if self.code.status() >= 500 => "Internal server error".to_owned(),
            Detail::Message(m) => m.clone(),
            Detail::Issues(issues) => sentence(issues),
        }
    }

    /// The issues of a 422, or the error itself.
    pub fn into_issues(self) -> Result<Vec<ValidationIssue>, Self> {
        match self.detail {
            Detail::Issues(issues) => Ok(issues),
            Detail::Message(_) => Err(self),
        }
    }
}

fn issue(loc: &[&str], msg: impl Into<String>, kind: &str) -> ValidationIssue {
    ValidationIssue::new(
        loc.iter().map(|s| serde_json::Value::from(*s)).collect(),
        msg,
        kind,
    )
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Detail::Message(m) => write!(f, "{}: {m}", self.code),
            Detail::Issues(issues) => write!(f, "{}: {}", self.code, sentence(issues)),
        }
    }
}

impl std::error::Error for ApiError {}

/// The messages of `issues`, as one line.
pub fn sentence(issues: &[ValidationIssue]) -> String {
    issues
        .iter()
        .map(|i| i.msg.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code;
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.detail {
            Detail::Issues(detail) => {
                (status, Json(ValidationErrorBody { detail, code })).into_response()
            }
            Detail::Message(detail) => {
                let detail = if status.is_server_error() {
                    tracing::error!(error = %detail, code = %code, "request failed");
                    "Internal server error".to_owned()
                } else {
                    detail
                };
                (status, Json(ErrorBody { detail, code })).into_response()
            }
        };
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The code of "no such `entity`".
fn not_found(entity: Entity) -> ErrorCode {
    match entity {
        Entity::Policy => ErrorCode::PolicyNotFound,
        Entity::Event => ErrorCode::EventNotFound,
        Entity::Violation => ErrorCode::ViolationNotFound,
        Entity::Template => ErrorCode::TemplateNotFound,
        Entity::User => ErrorCode::UserNotFound,
        Entity::ApiKey => ErrorCode::ApiKeyNotFound,
        Entity::Webhook => ErrorCode::WebhookNotFound,
        Entity::Delivery => ErrorCode::DeliveryNotFound,
        Entity::Backtest => ErrorCode::BacktestNotFound,
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity } => {
                ApiError::new(not_found(entity), format!("{entity} not found"))
            }
            StoreError::Conflict { field } => {
                // `field` names the unique constraint that refused the write (one per column).
                let code = match field {
                    f if f == constraint::EVENTS_EVENT_ID.column => ErrorCode::DuplicateEventId,
                    f if f == constraint::USERS_USERNAME.column => ErrorCode::DuplicateUsername,
                    f if f == constraint::USERS_EMAIL.column => ErrorCode::DuplicateEmail,
                    _ => ErrorCode::Conflict,
                };
                ApiError::new(code, format!("A record with this {field} already exists"))
            }
            StoreError::MissingReference {
                constraint:
                    Some(&constraint::Constraint {
                        column,
                        kind: Kind::ForeignKey { references },
                        ..
                    }),
            } => ApiError::invalid(
                &["body", column],
                format!("{column} refers to a {references} that does not exist"),
                "foreign_key",
            ),
            StoreError::MissingReference { .. } => ApiError::invalid(
                &["body"],
                "The body refers to a record that does not exist",
                "foreign_key",
            ),
            e @ StoreError::NoSuchVersion { .. } => {
                ApiError::new(ErrorCode::PolicyVersionNotFound, e.to_string())
            }
            StoreError::LastAdmin => ApiError::new(
                ErrorCode::LastAdmin,
                "The last active admin cannot be deleted, disabled or demoted",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Store(e) => e.into(),
            ServiceError::Invalid(issues) => ApiError::validation(issues),
            e @ ServiceError::DuplicateInBatch { .. } => {
                ApiError::new(ErrorCode::DuplicateEventId, e.to_string())
            }
            e @ ServiceError::BadLogin => ApiError::new(ErrorCode::BadCredentials, e.to_string()),
            ServiceError::InvalidCredentials => ApiError::invalid_credentials(),
            e @ ServiceError::NotShadow { .. } => {
                ApiError::new(ErrorCode::PolicyNotShadow, e.to_string())
            }
            e @ ServiceError::TooManyAttempts { retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(ErrorCode::TooManyAttempts, e.to_string())
            },
            ServiceError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/API-DESIGN.md` lists exactly the table's codes, so the documentation cannot drift.
    #[test]
    fn the_api_design_lists_exactly_the_table() {
        let doc = include_str!("../../../docs/API-DESIGN.md");
        let start = doc
            .find("<!-- error-codes -->")
            .expect("the table's start marker");
        let end = doc
            .find("<!-- /error-codes -->")
            .expect("the table's end marker");
        let documented: Vec<(String, u16, String)> = doc[start..end]
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let status = cells.get(2)?.parse().ok()?;
                Some((code.to_owned(), status, (*cells.get(3)?).to_owned()))
            })
            .collect();
        let table: Vec<(String, u16, String)> = ErrorCode::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str().to_owned(),
                    c.status(),
                    c.description().to_owned(),
                )
            })
            .collect();
        assert_eq!(documented, table);
    }

    #[test]
    fn every_status_in_the_table_is_an_error_status() {
        for code in ErrorCode::ALL {
            let status = StatusCode::from_u16(code.status()).expect("a status");
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}"
            );
            assert!(!code.description().is_empty(), "{code}");
        }
    }

    #[test]
    fn store_errors_map_by_constraint() {
        let conflict = |c: constraint::Constraint| {
            ApiError::from(StoreError::Conflict { field: c.column }).code()
        };
        assert_eq!(
            conflict(constraint::EVENTS_EVENT_ID),
            ErrorCode::DuplicateEventId
        );
        assert_eq!(
            conflict(constraint::USERS_USERNAME),
            ErrorCode::DuplicateUsername
        );
        assert_eq!(conflict(constraint::USERS_EMAIL), ErrorCode::DuplicateEmail);
        assert_eq!(conflict(constraint::API_KEYS_PREFIX), ErrorCode::Conflict);
        let missing = ApiError::from(StoreError::MissingReference {
            constraint: Some(&constraint::FK_EVENTS_POLICY_ID),
        });
        let issues = missing.into_issues().expect("a 422");
        assert_eq!(issues[0].loc, vec!["body", "policy_id"]);
        assert_eq!(
            ApiError::from(StoreError::NotFound {
                entity: Entity::ApiKey
            })
            .code(),
            ErrorCode::ApiKeyNotFound
        );
    }
}
