//! API keys: generated here, shown once, stored as a hash and a visible prefix.

use sentinel_api::error::ValidationIssue;
use sentinel_api::identity::{ApiKeyCreate, ApiKeyCreated, ApiKeyResponse};
use sentinel_store::{AuditContext, NewApiKey};

use crate::auth::{new_api_key, secret_hash};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;

pub async fn create(
    state: &AppState,
    ctx: &AuditContext,
    created_by: Option<i64>,
    body: ApiKeyCreate,
) -> ServiceResult<ApiKeyCreated> {
    let mut issues = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        issues.push(ValidationIssue::field(
            "body",
            "name",
            "Name must be 1 to 100 characters",
            "value_error",
        ));
    }
    if body.scopes.is_empty() {
        issues.push(ValidationIssue::field(
            "body",
            "scopes",
            "Give at least one scope: ingest, read, proxy",
            "value_error",
        ));
    }
    if body.expires_at.is_some_and(|t| t.0 <= chrono::Utc::now()) {
        issues.push(ValidationIssue::field(
            "body",
            "expires_at",
            "Expiry must be in the future",
            "value_error",
        ));
    }
    let bound = |field: &'static str, value: Option<String>, issues: &mut Vec<ValidationIssue>| {
        let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if value.as_ref().is_some_and(|v| v.chars().count() > 200) {
            issues.push(ValidationIssue::field(
                "body",
                field,
                "At most 200 characters",
                "value_error",
            ));
        }
        value
    };
    let app = bound("app", body.app, &mut issues);
    let environment = bound("environment", body.environment, &mut issues);
    if !issues.is_empty() {
        return Err(ServiceError::Invalid(issues));
    }
    let mut scopes = body.scopes;
    scopes.sort();
    scopes.dedup();
    let (key, prefix) = new_api_key()?;
    let info = state
        .store
        .create_api_key(
            ctx,
            NewApiKey {
                name: name.to_owned(),
                prefix,
                key_hash: secret_hash(&key),
                scopes,
                created_by,
                expires_at: body.expires_at.map(|t| t.0),
                app,
                environment,
            },
        )
        .await?;
    Ok(ApiKeyCreated { info, key })
}

pub async fn revoke(
    state: &AppState,
    ctx: &AuditContext,
    id: i64,
) -> ServiceResult<ApiKeyResponse> {
    let key = state.store.revoke_api_key(ctx, id).await?;
    state.auth.forget_key(&key.prefix);
    Ok(key)
}
