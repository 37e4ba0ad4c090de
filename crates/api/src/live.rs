//! Messages of the live stream `GET /api/events/ws` (CONTRACT.md §6).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{EventStatus, Severity, Timestamp};

/// The summary of a new event pushed to live clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LiveEvent {
    pub id: i64,
    pub event_id: String,
    pub title: String,
    pub severity: Severity,
    pub status: EventStatus,
    pub trigger_date: Timestamp,
}

/// What changed on an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LiveEventUpdate {
    pub id: i64,
    pub status: EventStatus,
    pub acknowledged_by: Option<i64>,
}

/// The summary of a new violation pushed to live clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LiveViolation {
    pub id: i64,
    pub violation_type: crate::ViolationType,
    pub severity: Severity,
    pub status: crate::ViolationStatus,
    pub title: Option<String>,
    pub confidence_score: f64,
    pub event_id: i64,
    pub policy_id: i64,
    pub created_at: Timestamp,
}

/// What changed on a violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LiveViolationUpdate {
    pub id: i64,
    pub status: crate::ViolationStatus,
    pub acknowledged_by: Option<i64>,
}

/// A policy that was created, changed or deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LivePolicyChange {
    pub id: i64,
    /// `created`, `updated` or `deleted`.
    pub change: String,
    pub status: Option<crate::PolicyStatus>,
}

/// A server → client frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    NewEvent {
        event: LiveEvent,
    },
    EventUpdated {
        event: LiveEventUpdate,
    },
    NewViolation {
        violation: LiveViolation,
    },
    ViolationUpdated {
        violation: LiveViolationUpdate,
    },
    PolicyChanged {
        policy: LivePolicyChange,
    },
    /// The client fell behind; `missed` messages were dropped for it.
    Lagged {
        missed: u64,
    },
}
