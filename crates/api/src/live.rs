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
    /// The client fell behind; `missed` messages were dropped for it.
    Lagged {
        missed: u64,
    },
}
