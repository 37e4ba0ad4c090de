//! The vocabulary shared by every layer: severities, modes, actions, decisions and violation
//! types, each with the lowercase wire value the HTTP contract uses. They are defined here once:
//! the `api` crate re-exports them (the `schema` feature adds their OpenAPI schemas), the store
//! keeps their wire values in text columns, and the CLI parses them (the `clap` feature).

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

/// Defines an enum that travels as lowercase wire values: serde, `ALL`, `WIRE`, `as_str`,
/// `Display` and `FromStr` (failing with [`ParseEnumError`]), plus `utoipa::ToSchema` with the
/// `schema` feature and `clap::ValueEnum` with the `clap` feature. The shared vocabulary below
/// uses it, and so do the enums only the API knows (`sentinel_api::enums`); a crate that calls it
/// needs `serde`, and `utoipa` when the `schema` feature is on.
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident $(as $schema:ident)?, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)?
        }
    ) => {
        $crate::__wire_enum_schema! {
            [$($schema)?]
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
            // Every wire value is the variant's name in snake_case. The container attribute is
            // what serde and the OpenAPI schema both read; tests check that it agrees with `$wire`.
            #[serde(rename_all = "snake_case")]
            pub enum $name {
                $( $(#[$vmeta])* $variant ),+
            }
        }

        impl $name {
            /// Every value, in declaration (wire) order.
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

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::ParseEnumError {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: concat!($($wire, " "),+),
                    }),
                }
            }
        }

        $crate::__wire_enum_clap!($name);
    };
}

/// With the `schema` feature: the OpenAPI schema of a [`wire_enum!`], named `$schema` if given.
#[cfg(feature = "schema")]
#[doc(hidden)]
#[macro_export]
macro_rules! __wire_enum_schema {
    ([$($schema:ident)?] $($item:tt)*) => {
        #[derive(utoipa::ToSchema)]
        $(#[schema(as = $schema)])?
        $($item)*
    };
}

#[cfg(not(feature = "schema"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __wire_enum_schema {
    ([$($schema:ident)?] $($item:tt)*) => {
        $($item)*
    };
}

/// With the `clap` feature: command-line flags take a [`wire_enum!`]'s wire values.
#[cfg(feature = "clap")]
#[doc(hidden)]
#[macro_export]
macro_rules! __wire_enum_clap {
    ($name:ident) => {
        impl $crate::__private::clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                Self::ALL
            }

            fn to_possible_value(&self) -> Option<$crate::__private::clap::builder::PossibleValue> {
                Some($crate::__private::clap::builder::PossibleValue::new(
                    self.as_str(),
                ))
            }
        }
    };
}

#[cfg(not(feature = "clap"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __wire_enum_clap {
    ($name:ident) => {};
}

// Each enum's doc comment is also its description in the OpenAPI document, and its declaration
// order is the order of the values there (CONTRACT.md §7): change either and `openapi.json`
// changes. Variant docs do not reach the document. `Name as WireName` names the schema (and the
// api crate's re-export) after the contract when the engine's name is shorter.

wire_enum! {
    /// Severity of policies, events and violations.
    // Ordered from `Low` to `Critical`.
    #[derive(Default, PartialOrd, Ord)]
    Severity, "severity" {
        Low => "low",
        #[default]
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

wire_enum! {
    /// How much work the engine spends on a policy.
    // DESIGN §5. Declared in the contract's order, most work first, so it has no `Ord`: nothing
    // may compare modes by their declaration order.
    #[derive(Default)]
    Mode as PerformanceMode, "performance mode" {
        /// Adds de-obfuscation: homoglyphs, leetspeak, spaced letters, base64/hex/rot13.
        Robust => "robust",
        /// Adds NFKC / zero-width normalisation, context scoring and thresholds.
        #[default]
        Balanced => "balanced",
        /// Prefilter and cheap validators on the text as written.
        Fast => "fast",
    }
}

wire_enum! {
    /// What a breached policy does to the text.
    // Declared in the contract's order, which is not the order of strength, so it has no `Ord`:
    // compare the `Decision`s it gives instead.
    #[derive(Default)]
    Action as InterventionType, "intervention type" {
        #[default]
        Notification => "notification",
        Block => "block",
        Redact => "redact",
    }
}

wire_enum! {
    /// The outcome of evaluating an interaction: the strongest intervention of the breached policies.
    // Ordered so that the strongest wins with `max`: `Allow < Notify < Redact < Block`.
    #[derive(PartialOrd, Ord)]
    Decision, "decision" {
        Allow => "allow",
        Notify => "notify",
        Redact => "redact",
        Block => "block",
    }
}

wire_enum! {
    /// Class of a violation, mapped from the detector that found it.
    #[derive(PartialOrd, Ord)]
    ViolationType, "violation type" {
        DataLeak => "data_leak",
        PromptInjection => "prompt_injection",
        PolicyBreach => "policy_breach",
        ContentViolation => "content_violation",
        SecurityIncident => "security_incident",
        ComplianceViolation => "compliance_violation",
    }
}

wire_enum! {
    /// Whether a breached policy acts on the traffic (`enforce`) or only records what it would
    /// have done (`shadow`): a shadow policy never changes a decision, never redacts, never blocks.
    #[derive(Default)]
    Enforcement, "enforcement" {
        #[default]
        Enforce => "enforce",
        Shadow => "shadow",
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
    /// A `shadow` policy's hits are reported in [`crate::Evaluation::shadow_hits`] only.
    #[serde(default)]
    pub enforcement: Enforcement,
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::str::FromStr;

    use super::*;

    /// `as_str`, `FromStr` and serde (which the OpenAPI schema follows) agree on every value.
    fn round_trips<T>(all: &[T], wire: &[&str])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr + Serialize,
        T: for<'de> Deserialize<'de>,
        <T as FromStr>::Err: fmt::Debug,
    {
        assert_eq!(all.len(), wire.len());
        for (v, w) in all.iter().zip(wire) {
            assert_eq!(v.to_string(), *w);
            assert_eq!(w.parse::<T>().ok(), Some(*v));
            let json = serde_json::to_string(v).unwrap_or_default();
            assert_eq!(json, format!("\"{w}\""));
            assert_eq!(serde_json::from_str::<T>(&json).ok(), Some(*v));
        }
    }

    #[test]
    fn wire_values_round_trip() {
        round_trips(Severity::ALL, Severity::WIRE);
        round_trips(Mode::ALL, Mode::WIRE);
        round_trips(Action::ALL, Action::WIRE);
        round_trips(Decision::ALL, Decision::WIRE);
        round_trips(ViolationType::ALL, ViolationType::WIRE);
        round_trips(Enforcement::ALL, Enforcement::WIRE);
        assert!("Medium".parse::<Severity>().is_err());
    }

    /// The contract's order (CONTRACT.md §7), which the OpenAPI document lists.
    #[test]
    fn declared_in_the_contract_order() {
        assert_eq!(Severity::WIRE, ["low", "medium", "high", "critical"]);
        assert_eq!(Mode::WIRE, ["robust", "balanced", "fast"]);
        assert_eq!(Action::WIRE, ["notification", "block", "redact"]);
        assert_eq!(
            ViolationType::WIRE,
            [
                "data_leak",
                "prompt_injection",
                "policy_breach",
                "content_violation",
                "security_incident",
                "compliance_violation"
            ]
        );
    }

    #[test]
    fn strongest_decision_wins() {
        assert!(Decision::Block > Decision::Redact);
        assert!(Decision::Redact > Decision::Notify);
        assert!(Decision::Notify > Decision::Allow);
        assert_eq!(Decision::from(Action::Redact), Decision::Redact);
    }
}
