//! Events: one AI interaction or system occurrence (CONTRACT.md §3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Decision, EventStatus, EventType, Patch, Severity, Timestamp};

/// Body of `POST /api/events/` (and each item of `/batch`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventCreate {
    /// The caller's unique id for the event; a duplicate is a 409.
    pub event_id: String,
    pub event_type: EventType,
    #[serde(default = "default_event_severity")]
    #[schema(default = "low")]
    pub severity: Severity,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Usually JSON text; `prompt` / `completion` keys inside are evaluated too.
    #[serde(default)]
    pub event_data: Option<String>,
    pub trigger_date: Timestamp,
    #[serde(default)]
    pub policy_id: Option<i64>,
    #[serde(default)]
    pub user_id: Option<i64>,
    /// The AI application, matched by `scope.app`.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub model_name: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub completion: Option<String>,
    #[serde(default)]
    pub request_tokens: Option<i64>,
    #[serde(default)]
    pub response_tokens: Option<i64>,
    #[serde(default)]
    pub duration_ms: Option<f64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
}

fn default_event_severity() -> Severity {
    Severity::Low
}

/// Body of `PUT /api/events/{event_id}`. If `acknowledged_by` is present (even `null`),
/// `acknowledged_date` is set to now.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct EventUpdate {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<EventStatus>)]
    pub status: Patch<EventStatus>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[schema(value_type = Option<i64>)]
    pub acknowledged_by: Patch<i64>,
}

/// An event as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventResponse {
    pub id: i64,
    pub event_id: String,
    pub event_type: EventType,
    pub severity: Severity,
    pub title: String,
    pub description: Option<String>,
    pub event_data: Option<String>,
    pub trigger_date: Timestamp,
    pub status: EventStatus,
    pub policy_id: Option<i64>,
    pub user_id: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_date: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub source: Option<String>,
    pub model_name: Option<String>,
    pub prompt: Option<String>,
    pub completion: Option<String>,
    pub request_tokens: Option<i64>,
    pub response_tokens: Option<i64>,
    pub duration_ms: Option<f64>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
    /// The engine's decision for this event; `allow` when no policy was breached.
    pub decision: Option<Decision>,
}

/// Filters of `GET /api/events/`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    pub status: Option<EventStatus>,
    pub severity: Option<Severity>,
    pub event_type: Option<EventType>,
    pub policy_id: Option<i64>,
    pub source: Option<String>,
    /// Only events triggered at or after this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// Only events triggered before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
}

impl EventFilter {
    /// True when no filter is set: every event matches.
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.severity.is_none()
            && self.event_type.is_none()
            && self.policy_id.is_none()
            && self.source.is_none()
            && self.since.is_none()
            && self.until.is_none()
    }
}

/// `GET /api/events/stats/summary`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventStats {
    pub total_events: u64,
    pub open_events: u64,
    pub events_last_24h: u64,
    pub critical_events: u64,
}
