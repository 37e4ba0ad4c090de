//! The one error type of the HTTP layer and its mapping to status codes and bodies.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_api::error::{ErrorBody, ValidationErrorBody, ValidationIssue};
use sentinel_store::StoreError;

/// Why a request is refused with 401; each reason has its contract wording and stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorized {
    /// No credentials at all.
    NotAuthenticated,
    /// A token or key that does not verify, has expired, or belongs to a disabled user.
    InvalidCredentials,
    /// A failed sign-in.
    BadLogin,
}

impl Unauthorized {
    pub fn detail(self) -> &'static str {
        match self {
            Unauthorized::NotAuthenticated => "Not authenticated",
            Unauthorized::InvalidCredentials => "Could not validate credentials",
            Unauthorized::BadLogin => "Incorrect username or password",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Unauthorized::NotAuthenticated => "not_authenticated",
            Unauthorized::InvalidCredentials => "invalid_credentials",
            Unauthorized::BadLogin => "bad_credentials",
        }
    }
}

/// What a handler can fail with. 5xx bodies are opaque; their cause is logged once, here.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("validation failed")]
    Validation(Vec<ValidationIssue>),
    #[error("{detail}")]
    Conflict { detail: String, code: &'static str },
    #[error("{0}")]
    BadRequest(String),
    /// 401 with `WWW-Authenticate: Bearer`.
    #[error("{}", .0.detail())]
    Unauthorized(Unauthorized),
    #[error("Not enough permissions")]
    Forbidden,
    #[error("Too many failed attempts; retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    NotImplemented(&'static str),
    #[error("database unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A single 422 issue.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        ApiError::Validation(vec![ValidationIssue::new(
            loc.iter().map(|s| serde_json::Value::from(*s)).collect(),
            msg,
            kind,
        )])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of this error.
    fn code(&self) -> String {
        match self {
            ApiError::NotFound { entity } => format!("{}_not_found", entity.to_lowercase()),
            ApiError::Validation(_) => "validation_error".into(),
            ApiError::Conflict { code, .. } => (*code).into(),
            ApiError::BadRequest(_) => "bad_request".into(),
            ApiError::Unauthorized(why) => why.code().into(),
            ApiError::Forbidden => "forbidden".into(),
            ApiError::TooManyRequests { .. } => "too_many_attempts".into(),
            ApiError::PayloadTooLarge { .. } => "payload_too_large".into(),
            ApiError::MethodNotAllowed => "method_not_allowed".into(),
            ApiError::NotImplemented(_) => "not_implemented".into(),
            ApiError::Unavailable => "unavailable".into(),
            ApiError::Internal(_) => "internal_error".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        match self {
            ApiError::Validation(detail) => {
                (status, Json(ValidationErrorBody { detail, code })).into_response()
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                let body = ErrorBody {
                    detail: "Internal server error".into(),
                    code,
                };
                (status, Json(body)).into_response()
            }
            ApiError::MethodNotAllowed => {
                let body = ErrorBody {
                    detail: "Method Not Allowed".into(),
                    code,
                };
                (status, Json(body)).into_response()
            }
            ApiError::Unavailable => {
                let body = ErrorBody {
                    detail: "Database unavailable".into(),
                    code,
                };
                (status, [(header::RETRY_AFTER, "5")], Json(body)).into_response()
            }
            ApiError::Unauthorized(why) => {
                let body = ErrorBody {
                    detail: why.detail().into(),
                    code,
                };
                (status, [(header::WWW_AUTHENTICATE, "Bearer")], Json(body)).into_response()
            }
            ApiError::TooManyRequests { retry_after } => {
                let body = ErrorBody {
                    detail: format!("Too many failed attempts; retry in {retry_after} s"),
                    code,
                };
                let retry = retry_after.to_string();
                (status, [(header::RETRY_AFTER, retry)], Json(body)).into_response()
            }
            other => {
                let body = ErrorBody {
                    detail: other.to_string(),
                    code,
                };
                (status, Json(body)).into_response()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity } => ApiError::NotFound { entity },
            StoreError::Conflict { field } => ApiError::Conflict {
                detail: format!("A record with this {field} already exists"),
                code: match field {
                    "event_id" => "duplicate_event_id",
                    "username" => "duplicate_username",
                    "email" => "duplicate_email",
                    _ => "conflict",
                },
            },
            StoreError::MissingReference { field, entity } => ApiError::invalid(
                &["body", field],
                format!("{field} refers to a {entity} that does not exist"),
                "foreign_key",
            ),
            StoreError::LastAdmin => ApiError::Conflict {
                detail: "The last active admin cannot be deleted, disabled or demoted".into(),
                code: "last_admin",
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
