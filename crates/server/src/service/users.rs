//! User management, shared by the API and the CLI.

use sentinel_api::identity::{UserCreate, UserResponse, UserUpdate};
use sentinel_api::{Patch, error::ValidationIssue};
use sentinel_api::{UserId, UserRole};
use sentinel_store::{AuditContext, NewUser, Store, UserChange};

use crate::service::auth::hash_password;
use crate::service::{ServiceError, ServiceResult};

/// The shortest password accepted through the API and the CLI.
pub const MIN_PASSWORD: usize = 8;

fn check_username(username: &str, issues: &mut Vec<ValidationIssue>) {
    let ok = !username.is_empty()
        && username.chars().count() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if !ok {
        issues.push(ValidationIssue::field(
            "body",
            "username",
            "Username must be 1 to 64 letters, digits or _ - . @",
            "value_error",
        ));
    }
}

fn check_email(email: &str, issues: &mut Vec<ValidationIssue>) {
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if !ok {
        issues.push(ValidationIssue::field(
            "body",
            "email",
            "Email must look like name@example.com",
            "value_error",
        ));
    }
}

fn check_password(password: &str, issues: &mut Vec<ValidationIssue>) {
    if password.chars().count() < MIN_PASSWORD || password.len() > 1024 {
        issues.push(ValidationIssue::field(
            "body",
            "password",
            format!("Password must be {MIN_PASSWORD} to 1024 characters"),
            "value_error",
        ));
    }
}

fn finish(issues: Vec<ValidationIssue>) -> ServiceResult<()> {
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(issues))
    }
}

pub async fn create(
    store: &Store,
    ctx: &AuditContext,
    body: UserCreate,
) -> ServiceResult<UserResponse> {
    let mut issues = Vec::new();
    check_username(&body.username, &mut issues);
    check_email(&body.email, &mut issues);
    check_password(&body.password, &mut issues);
    finish(issues)?;
    let hashed_password = hash_password(body.password).await?;
    Ok(store
        .create_user(
            ctx,
            NewUser {
                username: body.username,
                email: body.email,
                full_name: body.full_name,
                hashed_password,
                role: body.role,
            },
        )
        .await?)
}

pub async fn update(
    store: &Store,
    ctx: &AuditContext,
    id: UserId,
    body: UserUpdate,
) -> ServiceResult<UserResponse> {
    let mut issues = Vec::new();
    for (field, is_null) in [
        ("email", matches!(body.email, Patch::Null)),
        ("role", matches!(body.role, Patch::Null)),
        ("is_active", matches!(body.is_active, Patch::Null)),
        ("password", matches!(body.password, Patch::Null)),
    ] {
        if is_null {
            issues.push(ValidationIssue::field(
                "body",
                field,
                "Input should not be null",
                "null_not_allowed",
            ));
        }
    }
    if let Patch::Value(email) = &body.email {
        check_email(email, &mut issues);
    }
    if let Patch::Value(password) = &body.password {
        check_password(password, &mut issues);
    }
    finish(issues)?;
    let hashed_password = match body.password {
        Patch::Value(p) => Some(hash_password(p).await?),
        _ => None,
    };
    Ok(store
        .update_user(
            ctx,
            id.get(),
            UserChange {
                email: body.email.value(),
                full_name: body.full_name.into_update(),
                role: body.role.value(),
                is_active: body.is_active.value(),
                hashed_password,
            },
        )
        .await?)
}

/// Creates `admin` on an empty store from the `admin_password` setting (any length: the operator
/// chose it). Returns whether a user was created.
pub async fn bootstrap_admin(store: &Store, password: Option<&str>) -> ServiceResult<bool> {
    if store.count_users().await? > 0 {
        return Ok(false);
    }
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Ok(false);
    };
    if password.chars().count() < MIN_PASSWORD {
        tracing::warn!(
            "admin_password (SENTINEL_ADMIN_PASSWORD) is shorter than {MIN_PASSWORD} characters"
        );
    }
    let hashed_password = hash_password(password.to_owned()).await?;
    store
        .create_user(
            &AuditContext {
                actor: "system:bootstrap".into(),
                ..AuditContext::default()
            },
            NewUser {
                username: "admin".into(),
                email: "admin@localhost.localdomain".into(),
                full_name: Some("Administrator".into()),
                hashed_password,
                role: UserRole::Admin,
            },
        )
        .await?;
    Ok(true)
}
