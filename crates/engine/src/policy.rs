//! The vocabulary shared by every layer: severities, modes, actions, decisions and violation
//! types, each with the lowercase wire value the HTTP contract uses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that is not one of an enum's wire values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct ParseEnumError {
    /// The enum being parsed, for the message.
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: &'static str,
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal, $serde_case:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = $serde_case)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, weakest or first first.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lowercase wire value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(ParseEnumError {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: concat!($($wire, " "),+),
                    }),
                }
            }
        }
    };
}

wire_enum! {
    /// How bad a breach of a policy is. Ordered from `Low` to `Critical`.
    #[derive(Default)]
    Severity, "severity", "lowercase" {
        Low => "low",
        #[default]
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

wire_enum! {
    /// How much work the engine spends per event on a policy (DESIGN §5).
    /// Ordered by cost: `Fast < Balanced < Robust`.
    #[derive(Default)]
    Mode, "performance mode", "lowercase" {
        /// Prefilter and cheap validators on the text as written.
        Fast => "fast",
        #[default]
        /// Adds NFKC / zero-width normalisation, context scoring and thresholds.
        Balanced => "balanced",
        /// Adds de-obfuscation: homoglyphs, leetspeak, spaced letters, base64/hex/rot13.
        Robust => "robust",
    }
}

wire_enum! {
    /// What a breached policy does to the event.
    #[derive(Default)]
    Action, "intervention type", "lowercase" {
        #[default]
        Notification => "notification",
        Redact => "redact",
        Block => "block",
    }
}

wire_enum! {
    /// The outcome for one event. Ordered so that the strongest wins with `max`:
    /// `Allow < Notify < Redact < Block`.
    Decision, "decision", "lowercase" {
        Allow => "allow",
        Notify => "notify",
        Redact => "redact",
        Block => "block",
    }
}

wire_enum! {
    /// The kind of violation a breach is filed as.
    ViolationType, "violation type", "snake_case" {
        DataLeak => "data_leak",
        PromptInjection => "prompt_injection",
        PolicyBreach => "policy_breach",
        ContentViolation => "content_violation",
        SecurityIncident => "security_incident",
        ComplianceViolation => "compliance_violation",
    }
}

impl From<Action> for Decision {
    fn from(action: Action) -> Self {
        match action {
            Action::Notification => Decision::Notify,
            Action::Redact => Decision::Redact,
            Action::Block => Decision::Block,
        }
    }
}

/// One policy as the store keeps it; the input to [`crate::PolicySet::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySpec {
    pub id: i64,
    pub name: String,
    pub definition: String,
    pub severity: Severity,
    pub mode: Mode,
    pub action: Action,
    /// JSON text such as `{"redact": "placeholder"}`; see [`crate::InterventionConfig`].
    pub intervention_config: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(*s));
        }
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>(), Ok(*m));
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(*a));
        }
        for d in Decision::ALL {
            assert_eq!(d.as_str().parse::<Decision>(), Ok(*d));
        }
        for v in ViolationType::ALL {
            assert_eq!(v.as_str().parse::<ViolationType>(), Ok(*v));
            let json = serde_json::to_string(v).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
        }
        assert!("Medium".parse::<Severity>().is_err());
    }

    #[test]
    fn strongest_decision_wins() {
        assert!(Decision::Block > Decision::Redact);
        assert!(Decision::Redact > Decision::Notify);
        assert!(Decision::Notify > Decision::Allow);
        assert_eq!(Decision::from(Action::Redact), Decision::Redact);
    }
}
