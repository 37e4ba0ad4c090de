//! Webhook endpoints: validated and guarded here, stored by the store, delivered by
//! `crate::webhook::worker`.

use sentinel_api::error::ValidationIssue;
use sentinel_api::webhook::{DeliveryResponse, WebhookCreate, WebhookCreated, WebhookUpdate};
use sentinel_store::{AuditContext, NewWebhook, WebhookChange};

use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::webhook::{address, sign};

fn issue(field: &str, msg: impl Into<String>) -> ValidationIssue {
    ValidationIssue::field("body", field, msg, "value_error")
}

/// Checks the URL (form, scheme and destination) and returns it trimmed.
async fn checked_url(state: &AppState, url: &str, issues: &mut Vec<ValidationIssue>) -> String {
    let url = url.trim().to_owned();
    if url.len() > 2048 {
        issues.push(issue("url", "The URL must be at most 2048 characters"));
    } else if let Err(why) =
        address::check(&url, &state.settings.webhooks.allow_private_hosts).await
    {
        issues.push(issue("url", format!("Refused URL: {why}")));
    }
    url
}

fn check_lists(
    description: Option<&str>,
    apps: Option<&[String]>,
    policy_ids: Option<&[i64]>,
    issues: &mut Vec<ValidationIssue>,
) {
    if description.is_some_and(|d| d.chars().count() > 500) {
        issues.push(issue("description", "At most 500 characters"));
    }
    if let Some(apps) = apps
        && (apps.len() > 100 || apps.iter().any(|a| a.trim().is_empty() || a.len() > 200))
    {
        issues.push(issue("apps", "At most 100 apps, each 1 to 200 characters"));
    }
    if policy_ids.is_some_and(|p| p.len() > 1000) {
        issues.push(issue("policy_ids", "At most 1000 policy ids"));
    }
}

pub async fn create(
    state: &AppState,
    ctx: &AuditContext,
    created_by: Option<i64>,
    body: WebhookCreate,
) -> ServiceResult<WebhookCreated> {
    let mut issues = Vec::new();
    let url = checked_url(state, &body.url, &mut issues).await;
    let description = body
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    check_lists(
        description.as_deref(),
        Some(&body.apps),
        Some(&body.policy_ids),
        &mut issues,
    );
    if !issues.is_empty() {
        return Err(ServiceError::Invalid(issues));
    }
    let mut message_types = body.message_types;
    message_types.sort();
    message_types.dedup();
    let secret = sign::new_secret().map_err(ServiceError::Internal)?;
    let record = state
        .store
        .create_webhook(
            ctx,
            NewWebhook {
                url,
                description,
                format: body.format,
                message_types,
                min_severity: body.min_severity,
                policy_ids: body.policy_ids,
                apps: body.apps.into_iter().map(|a| a.trim().to_owned()).collect(),
                enabled: body.enabled,
                secret: secret.clone(),
                created_by,
            },
        )
        .await?;
    Ok(WebhookCreated {
        webhook: record.info,
        secret,
    })
}

pub async fn update(
    state: &AppState,
    ctx: &AuditContext,
    id: i64,
    body: WebhookUpdate,
) -> ServiceResult<sentinel_api::webhook::WebhookResponse> {
    // 404 before 422: the endpoint must exist.
    state.store.get_webhook(id).await?;
    let mut issues = Vec::new();
    let url = match &body.url {
        Some(url) => Some(checked_url(state, url, &mut issues).await),
        None => None,
    };
    check_lists(
        body.description.as_deref(),
        body.apps.as_deref(),
        body.policy_ids.as_deref(),
        &mut issues,
    );
    if !issues.is_empty() {
        return Err(ServiceError::Invalid(issues));
    }
    let message_types = body.message_types.map(|mut t| {
        t.sort();
        t.dedup();
        t
    });
    let enabling = body.enabled == Some(true);
    let updated = state
        .store
        .update_webhook(
            ctx,
            id,
            WebhookChange {
                url,
                description: body.description.map(|d| d.trim().to_owned()),
                format: body.format,
                message_types,
                min_severity: body.min_severity,
                policy_ids: body.policy_ids,
                apps: body
                    .apps
                    .map(|a| a.into_iter().map(|x| x.trim().to_owned()).collect()),
                enabled: body.enabled,
            },
        )
        .await?;
    if enabling {
        state.webhook_wake.notify_one();
    }
    Ok(updated)
}

/// A new secret; the old one keeps signing beside it for `webhooks.rotation_overlap_hours`.
pub async fn rotate_secret(
    state: &AppState,
    ctx: &AuditContext,
    id: i64,
) -> ServiceResult<WebhookCreated> {
    let secret = sign::new_secret().map_err(ServiceError::Internal)?;
    let hours = state.settings.webhooks.rotation_overlap_hours;
    let until = chrono::Utc::now() + chrono::Duration::milliseconds((hours * 3.6e6) as i64);
    let record = state
        .store
        .rotate_webhook_secret(ctx, id, secret.clone(), until)
        .await?;
    Ok(WebhookCreated {
        webhook: record.info,
        secret,
    })
}

/// Queues a `test` message to the endpoint and wakes the worker.
pub async fn send_test(
    state: &AppState,
    ctx: &AuditContext,
    id: i64,
) -> ServiceResult<DeliveryResponse> {
    let payload = serde_json::json!({
        "message": "Sentinel test event",
        "webhook_id": id,
        "requested_by": ctx.actor,
        "sent_at": sentinel_api::Timestamp::now(),
    });
    let delivery = state.store.enqueue_test(id, payload).await?;
    state.webhook_wake.notify_one();
    Ok(delivery)
}

pub async fn redeliver(
    state: &AppState,
    ctx: &AuditContext,
    id: i64,
    delivery_id: i64,
) -> ServiceResult<DeliveryResponse> {
    let delivery = state.store.redeliver(ctx, id, delivery_id).await?;
    state.webhook_wake.notify_one();
    Ok(delivery)
}
