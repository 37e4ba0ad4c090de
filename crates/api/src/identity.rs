//! Authentication, users and API keys (CONTRACT.md §9).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{KeyScope, Patch, Timestamp, UserRole};

/// Body of `POST /api/auth/login`. The OAuth2 form of `POST /api/auth/token` has the same fields.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A bearer access token and the refresh token that renews it.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Body of `POST /api/auth/refresh` and `POST /api/auth/logout`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { .. }")
    }
}

/// `GET /api/auth/me`, and each user of `/api/users/`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub role: UserRole,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

/// Body of `POST /api/users/`.
#[derive(Clone, Deserialize, ToSchema)]
pub struct UserCreate {
    pub username: String,
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
    #[serde(default = "default_role")]
    #[schema(default = "viewer")]
    pub role: UserRole,
    #[serde(default)]
    pub full_name: Option<String>,
}

fn default_role() -> UserRole {
    UserRole::Viewer
}

impl std::fmt::Debug for UserCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCreate")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Body of `PUT /api/users/{user_id}`: every field optional. `password` sets a new password and
/// signs the user out everywhere.
#[derive(Clone, Default, Deserialize, ToSchema)]
pub struct UserUpdate {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub full_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<UserRole>)]
    pub role: Patch<UserRole>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub is_active: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Patch<String>,
}

impl std::fmt::Debug for UserUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpdate")
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

/// Body of `POST /api/keys/`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ApiKeyCreate {
    pub name: String,
    /// At least one of `ingest`, `read`, `proxy`.
    pub scopes: Vec<KeyScope>,
    /// When the key stops working; never when absent.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// The application the key's gateway calls are recorded for (`scope.app`).
    #[serde(default)]
    pub app: Option<String>,
    /// The environment of the key's gateway calls (`scope.environment`).
    #[serde(default)]
    pub environment: Option<String>,
}

/// An API key as listed: never the key itself, only its visible prefix.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: i64,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// The application the key is bound to, if any.
    pub app: Option<String>,
    /// The environment the key is bound to, if any.
    pub environment: Option<String>,
}

/// The answer of `POST /api/keys/`: the only time the key is shown.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub info: ApiKeyResponse,
    /// The secret key. Store it now: it cannot be shown again.
    pub key: String,
}

impl std::fmt::Debug for ApiKeyCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCreated")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}
