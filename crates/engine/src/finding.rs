//! What a detector found, as the engine reports it: [`Finding`] and the [`Target`] text it is in.
//!
//! A leaf of the crate: evaluation produces findings and redaction consumes them.

use serde::{Deserialize, Serialize};

/// Which text a finding is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Prompt,
    Completion,
}

impl Target {
    pub const fn as_str(self) -> &'static str {
        match self {
            Target::Prompt => "prompt",
            Target::Completion => "completion",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Target::Prompt => 0,
            Target::Completion => 1,
        }
    }
}

/// One detected span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `pii`, `data_leakage`, … or `contains` / `matches` for those clauses.
    pub detector: String,
    /// What was found: `email`, `aws_access_key`, `instruction_override`, `python`, …
    pub entity: String,
    pub target: Target,
    /// Byte span in the original text.
    pub start: usize,
    pub end: usize,
    /// The same span in Unicode scalar values.
    pub char_start: usize,
    pub char_end: usize,
    /// 0..1.
    pub score: f64,
    pub explanation: String,
}

impl Finding {
    /// Build a finding, computing the char span from the byte span in `text`.
    #[expect(
        clippy::too_many_arguments,
        reason = "a plain constructor mirroring the fields"
    )]
    pub fn new(
        detector: &str,
        entity: &str,
        target: Target,
        text: &str,
        start: usize,
        end: usize,
        score: f64,
        explanation: String,
    ) -> Self {
        let char_start = text.get(..start).map_or(0, |t| t.chars().count());
        let char_end = char_start + text.get(start..end).map_or(0, |t| t.chars().count());
        Finding {
            detector: detector.to_owned(),
            entity: entity.to_owned(),
            target,
            start,
            end,
            char_start,
            char_end,
            score,
            explanation,
        }
    }

    /// The same detector, entity, target and span.
    pub(crate) fn same_span(&self, other: &Finding) -> bool {
        self.detector == other.detector
            && self.entity == other.entity
            && self.target == other.target
            && self.start == other.start
            && self.end == other.end
    }
}
