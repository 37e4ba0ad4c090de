//! The enums of CONTRACT.md §7, with their lowercase wire values.
//!
//! The vocabulary the engine shares with every layer (severities, modes, actions, decisions,
//! violation types) is defined once, in `sentinel_engine`, and re-exported here under its wire
//! names; the enums only the API knows (statuses, categories, roles) are defined below.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use sentinel_engine::{
    Action as InterventionType, Decision, Mode as PerformanceMode, Severity, ViolationType,
};

/// A wire value that is not one of an enum's variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    pub value: String,
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Input should be {}",
            self.expected
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl std::error::Error for UnknownVariant {}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        // Every wire value is the variant's name in snake_case. The container attribute is what
        // the OpenAPI schema reads (utoipa does not see the per-variant renames made through this
        // macro); the per-variant renames keep serde tied to `$wire`. A test checks they agree.
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every wire value, in declaration order.
            pub const WIRE: &'static [&'static str] = &[$($wire),+];

            /// The lowercase value used on the wire and in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownVariant { value: s.to_owned(), expected: Self::WIRE }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// What a policy protects.
    PolicyCategory {
        DataSecurity => "data_security",
        Privacy => "privacy",
        Compliance => "compliance",
        Governance => "governance",
        IncidentDetection => "incident_detection",
        ContentFiltering => "content_filtering",
    }
);

wire_enum!(
    /// `open` is enforced, `acknowledged` paused, `draft` testable only, `closed` retired.
    PolicyStatus {
        Draft => "draft",
        Open => "open",
        Acknowledged => "acknowledged",
        Closed => "closed",
    }
);

wire_enum!(
    /// Kind of interaction an event records.
    EventType {
        LlmRequest => "llm_request",
        LlmResponse => "llm_response",
        PolicyViolation => "policy_violation",
        Intervention => "intervention",
        SystemEvent => "system_event",
    }
);

wire_enum!(
    /// Triage state of an event.
    EventStatus {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
        Closed => "closed",
    }
);

wire_enum!(
    /// Triage state of a violation.
    ViolationStatus {
        Detected => "detected",
        Acknowledged => "acknowledged",
        Investigating => "investigating",
        Resolved => "resolved",
        FalsePositive => "false_positive",
    }
);

wire_enum!(
    /// What a user may do.
    UserRole {
        Admin => "admin",
        Analyst => "analyst",
        Viewer => "viewer",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip() {
        for v in ViolationStatus::ALL {
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<ViolationStatus>(&json).unwrap(), *v);
            assert_eq!(v.as_str().parse::<ViolationStatus>().unwrap(), *v);
        }
        assert!("bogus".parse::<PolicyStatus>().is_err());
        assert_eq!(Severity::WIRE, ["low", "medium", "high", "critical"]);
    }
}

wire_enum!(
    /// What an API key may do: `ingest` (guard and event ingestion) or `read` (every read route).
    KeyScope {
        Ingest => "ingest",
        Read => "read",
    }
);
