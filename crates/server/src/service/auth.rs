//! Sign-in, token rotation and sign-out.

use std::sync::LazyLock;

use sentinel_api::identity::{TokenResponse, UserResponse};
use sentinel_store::{AuditChange, AuditContext, NewRefreshToken, RefreshOutcome, Store};

use crate::auth::{random_token, secret_hash};
use crate::service::passwords;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Verified against when the username is unknown, so that both failures take as long.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| passwords::hash("not a password").unwrap_or_default());

/// Checks a password off the async workers (argon2id takes tens of milliseconds by design).
pub async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || passwords::verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// Hashes a password off the async workers.
pub async fn hash_password(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(ServiceError::Internal)
}

/// Password sign-in. Failures are throttled per username and per client address, and audited.
pub async fn login(
    state: &AppState,
    mut ctx: AuditContext,
    username: &str,
    password: String,
) -> ServiceResult<TokenResponse> {
    let user_key = format!("user:{}", username.to_lowercase());
    let keys = [
        user_key.clone(),
        format!("addr:{}", ctx.client_addr.as_deref().unwrap_or("unknown")),
    ];
    if let Some(retry_after) = state.throttle.retry_after(&keys) {
        return Err(ServiceError::TooManyAttempts { retry_after });
    }
    let record = state.store.find_user_by_username(username).await?;
    let phc = record
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |r| r.hashed_password.clone());
    let verified = verify_password(password, phc).await;
    let user = match record {
        Some(r) if verified && r.user.is_active => r.user,
        _ => {
            state.throttle.fail(&keys);
            state
                .store
                .record_audit(
                    &ctx,
                    AuditChange::new("auth.login_failed", "user")
                        .after(serde_json::json!({ "username": username })),
                )
                .await?;
            return Err(ServiceError::BadLogin);
        }
    };
    state.throttle.succeed(&user_key);
    let tokens = issue_tokens(state, &user, None).await?;
    ctx.actor = format!("user:{}", user.username);
    state
        .store
        .record_audit(&ctx, AuditChange::new("auth.login", "user").target(user.id))
        .await?;
    Ok(tokens)
}

/// A new access token and a refresh token, in a new family (`None`) or stored by the caller.
async fn issue_tokens(
    state: &AppState,
    user: &UserResponse,
    refresh: Option<String>,
) -> ServiceResult<TokenResponse> {
    let refresh_token = match refresh {
        Some(token) => token,
        None => {
            let token = random_token(32)?;
            state
                .store
                .create_refresh_token(NewRefreshToken {
                    user_id: user.id,
                    token_hash: secret_hash(&token),
                    family_id: random_token(16)?,
                    expires_at: expiry(state),
                })
                .await?;
            token
        }
    };
    Ok(TokenResponse {
        access_token: state.auth.issue(user.id, &user.username)?,
        token_type: "bearer".into(),
        expires_in: state.auth.access_ttl.as_secs(),
        refresh_token,
    })
}

fn expiry(state: &AppState) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        + chrono::Duration::from_std(state.auth.refresh_ttl).unwrap_or(chrono::Duration::days(14))
}

/// Exchanges a refresh token for new tokens. A token presented twice revokes its whole family.
pub async fn refresh(
    state: &AppState,
    ctx: &AuditContext,
    presented: &str,
) -> ServiceResult<TokenResponse> {
    let next = random_token(32)?;
    let outcome = state
        .store
        .rotate_refresh_token(
            ctx,
            &secret_hash(presented),
            NewRefreshToken {
                user_id: 0,
                token_hash: secret_hash(&next),
                family_id: String::new(),
                expires_at: expiry(state),
            },
        )
        .await?;
    let RefreshOutcome::Rotated { user_id } = outcome else {
        return Err(ServiceError::InvalidCredentials);
    };
    let user = state.store.get_user(user_id).await?.user;
    if !user.is_active {
        return Err(ServiceError::InvalidCredentials);
    }
    issue_tokens(state, &user, Some(next)).await
}

/// Revokes the refresh token's family. Unknown tokens change nothing.
pub async fn logout(store: &Store, ctx: &AuditContext, presented: &str) -> ServiceResult<()> {
    store
        .revoke_refresh_token(ctx, &secret_hash(presented))
        .await?;
    Ok(())
}
