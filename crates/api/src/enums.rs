//! The enums of CONTRACT.md §7, with their lowercase wire values.
//!
//! The vocabulary the engine shares with every layer (severities, modes, actions, decisions,
//! violation types) is defined once, in `sentinel_engine`, and re-exported here under its wire
//! names; the enums only the API knows (statuses, categories, roles) are defined below, with the
//! engine's `wire_enum!`, so every wire enum has the same shape.

use sentinel_engine::wire_enum;

pub use sentinel_engine::{
    Action as InterventionType, Decision, Enforcement, Mode as PerformanceMode, ParseEnumError,
    Severity, ViolationType,
};

wire_enum! {
    /// What a policy protects.
    #[derive(PartialOrd, Ord)]
    PolicyCategory, "policy category" {
        DataSecurity => "data_security",
        Privacy => "privacy",
        Compliance => "compliance",
        Governance => "governance",
        IncidentDetection => "incident_detection",
        ContentFiltering => "content_filtering",
    }
}

wire_enum! {
    /// Which violations a list or count includes: those of enforced policies only (`exclude`,
    /// the default, what legacy clients see), every violation (`include`), or only those raised
    /// by shadow policies (`only`).
    #[derive(Default)]
    ShadowFilter, "shadow filter" {
        #[default]
        Exclude => "exclude",
        Include => "include",
        Only => "only",
    }
}

wire_enum! {
    /// `open` is enforced, `acknowledged` paused, `draft` testable only, `closed` retired.
    #[derive(PartialOrd, Ord)]
    PolicyStatus, "policy status" {
        Draft => "draft",
        Open => "open",
        Acknowledged => "acknowledged",
        Closed => "closed",
    }
}

wire_enum! {
    /// Kind of interaction an event records.
    #[derive(PartialOrd, Ord)]
    EventType, "event type" {
        LlmRequest => "llm_request",
        LlmResponse => "llm_response",
        PolicyViolation => "policy_violation",
        Intervention => "intervention",
        SystemEvent => "system_event",
    }
}

wire_enum! {
    /// Triage state of an event.
    #[derive(PartialOrd, Ord)]
    EventStatus, "event status" {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
        Closed => "closed",
    }
}

wire_enum! {
    /// Triage state of a violation.
    #[derive(PartialOrd, Ord)]
    ViolationStatus, "violation status" {
        Detected => "detected",
        Acknowledged => "acknowledged",
        Investigating => "investigating",
        Resolved => "resolved",
        FalsePositive => "false_positive",
    }
}

wire_enum! {
    /// What a user may do.
    #[derive(PartialOrd, Ord)]
    UserRole, "user role" {
        Admin => "admin",
        Analyst => "analyst",
        Viewer => "viewer",
    }
}

wire_enum! {
    /// What an API key may do: `ingest` (guard and event ingestion) or `read` (every read route).
    #[derive(PartialOrd, Ord)]
    KeyScope, "key scope" {
        Ingest => "ingest",
        Read => "read",
        /// Calls the model gateway (`/v1/*`).
        Proxy => "proxy",
    }
}

wire_enum! {
    /// Where a backtest job stands: `queued`, `running`, then `done`, `cancelled` or `failed`.
    BacktestStatus, "backtest status" {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Cancelled => "cancelled",
        Failed => "failed",
    }
}

impl BacktestStatus {
    /// Whether the job is over (nothing will change it any more).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            BacktestStatus::Done | BacktestStatus::Cancelled | BacktestStatus::Failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde (which the OpenAPI schema follows) writes and reads exactly the wire values.
    fn serde_agrees<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + serde::Serialize,
        T: for<'de> serde::Deserialize<'de> + std::str::FromStr,
    {
        for v in all {
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{v}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
            assert!(v.to_string().parse::<T>().is_ok_and(|p| p == *v));
        }
    }

    #[test]
    fn wire_values_round_trip() {
        serde_agrees(PolicyCategory::ALL);
        serde_agrees(PolicyStatus::ALL);
        serde_agrees(EventType::ALL);
        serde_agrees(EventStatus::ALL);
        serde_agrees(ViolationStatus::ALL);
        serde_agrees(UserRole::ALL);
        serde_agrees(KeyScope::ALL);
        serde_agrees(BacktestStatus::ALL);
        assert!("bogus".parse::<PolicyStatus>().is_err());
        assert_eq!(Severity::WIRE, ["low", "medium", "high", "critical"]);
    }
}
