//! What a detector found, as the engine reports it: [`Finding`] and the [`Target`] text it is in.
//!
//! A leaf of the crate: evaluation produces findings and redaction consumes them.

use std::borrow::Cow;

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
///
/// The detector, entity and explanation are borrowed when they are fixed strings (most are), so
/// that handing the same finding out in a hit and in the evaluation's list copies no text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `pii`, `data_leakage`, … or `contains` / `matches` for those clauses.
    pub detector: Cow<'static, str>,
    /// What was found: `email`, `aws_access_key`, `instruction_override`, `python`, …
    pub entity: Cow<'static, str>,
    pub target: Target,
    /// Byte span in the original text.
    pub start: usize,
    pub end: usize,
    /// The same span in Unicode scalar values.
    pub char_start: usize,
    pub char_end: usize,
    /// 0..1.
    pub score: f64,
    pub explanation: Cow<'static, str>,
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
            detector: Cow::Owned(detector.to_owned()),
            entity: Cow::Owned(entity.to_owned()),
            target,
            start,
            end,
            char_start,
            char_end,
            score,
            explanation: Cow::Owned(explanation),
        }
    }

    /// The same detector, entity, target and span.
    pub(crate) fn same_span(&self, other: &Finding) -> bool {
        // The integers first: most pairs differ in span, and then no string is compared.
        self.start == other.start
            && self.end == other.end
            && self.target == other.target
            && self.detector == other.detector
            && self.entity == other.entity
    }
}

/// Append `x` to `out` as `{x:.2}` writes it (two decimals, rounded from the exact value),
/// without the formatting machinery for the usual case: a score in an explanation.
pub(crate) fn push_two_decimals(out: &mut String, x: f64) {
    // `y` is within half an ulp of the exact `100 x` (under 2e-11 below 1000), so unless its
    // fraction is that close to a half, rounding `y` rounds the exact value the same way.
    if x.is_sign_positive() && x < 1000.0 {
        let y = x * 100.0;
        if (y - y.floor() - 0.5).abs() > 1e-9 {
            let n = y.round() as u32;
            let whole = n / 100;
            if whole < 10 {
                out.push(char::from(b'0' + whole as u8));
            } else {
                let _ = std::fmt::Write::write_fmt(out, format_args!("{whole}"));
            }
            out.push('.');
            out.push(char::from(b'0' + (n / 10 % 10) as u8));
            out.push(char::from(b'0' + (n % 10) as u8));
            return;
        }
    }
    let _ = std::fmt::Write::write_fmt(out, format_args!("{x:.2}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two(x: f64) -> String {
        let mut s = String::new();
        push_two_decimals(&mut s, x);
        s
    }

    #[test]
    fn two_decimals_as_format_writes_them() {
        let halves = [0.005, 0.015, 0.125, 0.375, 0.625, 0.995, 9.995, 99.125];
        let edges = [
            0.0, -0.0, 1.0, 0.999_999, 10.0, 999.999, 1000.0, 1e300, -0.5, 5e-324,
        ];
        for x in halves
            .into_iter()
            .chain(edges)
            .chain([f64::NAN, f64::INFINITY])
        {
            assert_eq!(two(x), format!("{x:.2}"), "{x:e}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]
        #[test]
        fn two_decimals_equal_format_on_scores(x in 0.0f64..1.0, k in 0u32..200_000) {
            proptest::prop_assert_eq!(two(x), format!("{x:.2}"));
            // Values at and next to the halfway points.
            let h = f64::from(k) / 200.0;
            for v in [h, h.next_up(), h.next_down()] {
                proptest::prop_assert_eq!(two(v), format!("{v:.2}"));
            }
        }
    }
}
