//! Evaluation: an event's texts and scope against the compiled policies.
//!
//! One [`PolicySet::evaluate`] call builds each text's views at most once, runs each distinct
//! detector (name + arguments + mode) at most once per text however many policies use it, and
//! evaluates every policy's expression over those cached results. `and` short-circuits; `or`
//! does not, so that every satisfied branch contributes its findings (a policy that redacts
//! `prompt has pii or completion has pii` must redact both texts).

mod context;
mod dedup;
mod evaluate;
mod policy_set;
mod scores;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::policy::{Action, Decision, Severity, ViolationType};

pub use policy_set::{PolicySet, evaluate_spec};

/// Who and what an event is about; matched by `scope.*` clauses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The calling application (an event's `source`).
    pub app: Option<String>,
    pub user: Option<String>,
    pub user_role: Option<String>,
    pub model: Option<String>,
    pub environment: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// The texts of one event.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub prompt: Option<&'a str>,
    pub completion: Option<&'a str>,
    pub scope: &'a Scope,
}

/// The violation's score columns.
///
/// `legal_advice`, `controversial_topics` and `code_prompt` are advisory: they come from one
/// lexicon pass over the whole of every text, whatever the policies ask for. They are computed
/// when at least one policy of the evaluation runs in `balanced` or `robust` mode. When every
/// policy of the evaluation is in `fast` mode (one prefilter pass and cheap validators, DESIGN.md
/// §5) that pass is skipped and the three columns stay `0.0`; `safe_prompt` is then
/// `1 - confidence` (`1 - max(confidence)` at evaluation level, `1.0` when nothing breached).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Scores {
    pub legal_advice: f64,
    pub controversial_topics: f64,
    pub code_prompt: f64,
    /// `1 - max(risk)`, where risk is the legal and controversial scores and the confidence of
    /// the breach (or of every breach, at evaluation level).
    pub safe_prompt: f64,
}

/// One breached policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyHit {
    pub policy_id: i64,
    pub violation_type: ViolationType,
    pub severity: Severity,
    /// The strongest finding's score, or 1.0 when the breach rests on exact clauses only.
    pub confidence: f64,
    pub action: Action,
    pub findings: Vec<Finding>,
    pub scores: Scores,
    pub explanation: String,
}

/// The outcome for one event. Only enforced policies shape it: a shadow policy's hit is
/// reported beside it by [`PolicySet::evaluate_with_shadow`] and [`PolicySet::evaluate_shadow`],
/// never in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The strongest action among the breached policies.
    pub decision: Decision,
    pub hits: Vec<PolicyHit>,
    /// Every hit's findings, without duplicates.
    pub findings: Vec<Finding>,
    /// Present when a redacting policy found something in that text.
    pub redacted_prompt: Option<String>,
    pub redacted_completion: Option<String>,
    pub scores: Scores,
    /// The message of the first blocking policy that configured one.
    pub block_message: Option<String>,
}
