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
    /// A backtest job moved on: sent as it reads pages of events, and once when it ends.
    BacktestProgress {
        backtest: crate::backtest::LiveBacktestProgress,
    },
    /// The client fell behind; `missed` messages were dropped for it.
    Lagged {
        missed: u64,
    },
}

impl LiveMessage {
    /// The `type` of the frame, its severity and its policy, where it has them: what
    /// subscription filters look at.
    pub fn meta(&self) -> (&'static str, Option<Severity>, Option<i64>) {
        match self {
            LiveMessage::NewEvent { event } => ("new_event", Some(event.severity), None),
            LiveMessage::EventUpdated { .. } => ("event_updated", None, None),
            LiveMessage::NewViolation { violation } => (
                "new_violation",
                Some(violation.severity),
                Some(violation.policy_id),
            ),
            LiveMessage::ViolationUpdated { .. } => ("violation_updated", None, None),
            LiveMessage::PolicyChanged { policy } => ("policy_changed", None, Some(policy.id)),
            LiveMessage::BacktestProgress { .. } => ("backtest_progress", None, None),
            LiveMessage::Lagged { .. } => ("lagged", None, None),
        }
    }
}

/// A client → server message on the live stream: narrows what the client receives, replacing
/// any earlier filter. Every field is optional; an empty filter receives everything.
/// `{"type":"subscribe","types":["new_violation"],"min_severity":"high","policy_ids":[3]}`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveSubscribe {
    /// Always `subscribe`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Frame types to receive (`new_event`, `event_updated`, `new_violation`,
    /// `violation_updated`, `policy_changed`, `backtest_progress`); `lagged` is always sent.
    #[serde(default)]
    pub types: Option<Vec<String>>,
    /// Frames that carry a severity (`new_event`, `new_violation`) must have at least this one.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Frames that carry a policy (`new_violation`, `policy_changed`) must be about one of these.
    #[serde(default)]
    pub policy_ids: Option<Vec<i64>>,
}

/// The frame types a subscription may name.
pub const LIVE_TYPES: [&str; 6] = [
    "new_event",
    "event_updated",
    "new_violation",
    "violation_updated",
    "policy_changed",
    "backtest_progress",
];
