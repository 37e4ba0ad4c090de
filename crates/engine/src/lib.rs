//! Sentinel's policy engine: the policy language, the `sentinelai.*` detectors, evaluation of an
//! event against a compiled set of policies, redaction, and cost estimates.
//!
//! This crate owns the meaning of a policy. It must stay pure: no IO, no async runtime, no clock,
//! no database or HTTP types, no global mutable state. Everything it needs (definitions, texts,
//! scope, configuration) arrives as arguments, and the same inputs always give the same outputs.
//! Policies are compiled once into an immutable [`PolicySet`]; evaluation takes `&self`, never
//! parses and cannot fail on syntax.
//!
//! ```
//! use sentinel_engine::{Action, Enforcement, Input, Mode, PolicySet, PolicySpec, Scope, Severity, Decision};
//!
//! let set = PolicySet::new(vec![PolicySpec {
//!     id: 1,
//!     name: "no card numbers".into(),
//!     definition: "request.prompt has sentinelai.pii(credit_card)".into(),
//!     severity: Severity::High,
//!     mode: Mode::Balanced,
//!     action: Action::Redact,
//!     intervention_config: Some(r#"{"redact": "partial"}"#.into()),
//!     enforcement: Enforcement::Enforce,
//! }]);
//! let scope = Scope::default();
//! let eval = set.evaluate(&Input { prompt: Some("charge 4242 4242 4242 4242"), completion: None, scope: &scope });
//! assert_eq!(eval.decision, Decision::Redact);
//! assert_eq!(eval.redacted_prompt.as_deref(), Some("charge **** **** **** 4242"));
//! ```
//!
//! The language is documented for users in `docs/POLICY-LANGUAGE.md`.

mod ast;
mod compile;
mod detect;
mod error;
mod estimate;
mod eval;
mod finding;
mod lanes;
mod lexer;
mod normalize;
mod parser;
mod policy;
mod redact;
mod static_regex;
mod stream;

#[cfg(test)]
mod tests_support;

pub use compile::{CompiledPolicy, Validation, compile, validate};
pub use detect::{DETECTOR_NAMES, DetectorGroup, DetectorSpec, detectors};
pub use error::CompileError;
pub use estimate::{Estimable, Estimate, estimate};
pub use eval::{Evaluation, Input, PolicyHit, PolicySet, Scope, Scores, evaluate_spec};
pub use finding::{Finding, Target};
pub use policy::{
    Action, Decision, Enforcement, Mode, ParseEnumError, PolicySpec, Severity, ViolationType,
};
pub use redact::{InterventionConfig, RedactStyle, Redactor, Restorer, redact};
pub use stream::{Release, StreamOptions, StreamScanner};

/// What [`wire_enum!`] expands to in other crates refers to through `$crate`.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "clap")]
    pub use clap;
}
