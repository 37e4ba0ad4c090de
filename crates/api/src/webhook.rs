//! Webhook endpoints and their deliveries (`/api/webhooks/`, issue 14).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Severity, Timestamp};
use sentinel_engine::wire_enum;

wire_enum! {
    /// What an endpoint receives: the generic JSON envelope or a Slack-compatible message.
    #[derive(Default)]
    WebhookFormat, "webhook format" {
        #[default]
        Generic => "generic",
        Slack => "slack",
    }
}

wire_enum! {
    /// The kinds of message the outbox carries. `test` is only ever sent by "send test event".
    #[derive(PartialOrd, Ord)]
    MessageType, "message type" {
        NewViolation => "new_violation",
        ViolationUpdated => "violation_updated",
        PolicyChanged => "policy_changed",
        Audit => "audit",
        Test => "test",
    }
}

wire_enum! {
    /// `pending`: waiting for its first attempt; `failed`: the last attempt failed and another
    /// is scheduled; `succeeded`: the endpoint answered 2xx; `dead`: retries ran out (redeliver by
    /// hand).
    DeliveryStatus, "delivery status" {
        Pending => "pending",
        Failed => "failed",
        Succeeded => "succeeded",
        Dead => "dead",
    }
}

/// Body of `POST /api/webhooks/`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct WebhookCreate {
    /// `https://…` (or `http://…`). Private, loopback and link-local destinations are refused
    /// unless `webhooks.allow_private_hosts` names the host.
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub format: WebhookFormat,
    /// The message types to send; empty or absent: all but `test`.
    #[serde(default)]
    pub message_types: Vec<MessageType>,
    /// Violations below this severity are not sent (other messages carry no severity and pass).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Only messages about these policies; empty: any (messages about no policy always pass).
    #[serde(default)]
    pub policy_ids: Vec<i64>,
    /// Only violations of events from these apps (the event's `source`); empty: any.
    #[serde(default)]
    pub apps: Vec<String>,
    #[serde(default = "enabled_default")]
    #[schema(default = true)]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

/// Body of `PUT /api/webhooks/{webhook_id}`: every field optional; `enabled: true` re-enables an
/// endpoint the worker disabled.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct WebhookUpdate {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub format: Option<WebhookFormat>,
    #[serde(default)]
    pub message_types: Option<Vec<MessageType>>,
    /// `null` keeps it; to drop the floor send `"low"`.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub policy_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub apps: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An endpoint, never with its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookResponse {
    pub id: i64,
    pub url: String,
    pub description: Option<String>,
    pub format: WebhookFormat,
    pub message_types: Vec<MessageType>,
    pub min_severity: Option<Severity>,
    pub policy_ids: Vec<i64>,
    pub apps: Vec<String>,
    pub enabled: bool,
    /// Why the worker disabled it (sustained failure), or who did.
    pub disabled_reason: Option<String>,
    /// Until then the previous secret signs alongside the current one (after a rotation).
    pub previous_secret_expires_at: Option<Timestamp>,
    pub created_by: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

/// The answer of a create or a secret rotation: the only time the secret is shown.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// `whsec_` then base64 of 32 random bytes: the Standard Webhooks signing secret.
    pub secret: String,
}

impl std::fmt::Debug for WebhookCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreated")
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

/// One delivery of one message to one endpoint, with its last attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: i64,
    pub webhook_id: i64,
    /// The outbox message; `webhook-id` is `msg_<message_id>`.
    pub message_id: i64,
    pub message_type: MessageType,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    pub last_status_code: Option<i32>,
    pub latency_ms: Option<f64>,
    /// The first 1 KiB of the endpoint's last answer.
    pub response_excerpt: Option<String>,
    /// Why the last attempt failed (timeout, refused address, connection error, status).
    pub last_error: Option<String>,
}
