//! Regulated advice and divisive topics: `legal_advice`, `medical_advice`, `financial_advice`,
//! `controversial_topics`. The same lexicons fill the violation's `*_score` columns.
//!
//! A topic word alone (`court`, `election`) is weak evidence; a request for advice ("should I
//! sue"), an answer that gives it ("you should invest"), or an opinion question about a topic
//! ("who should I vote for") crosses the threshold.

use crate::detect::RawFinding;
use crate::detect::TextViews;
use crate::detect::injection::scan_with;
use crate::detect::lexicon::{LazyLexicon, parse_spec};
use crate::detect::model::{
    CONTROVERSIAL_MODEL, FINANCIAL_MODEL, LEGAL_MODEL, MEDICAL_MODEL, Model,
};
use crate::policy::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    Legal,
    Medical,
    Financial,
    Controversial,
}

impl Topic {
    pub(crate) fn detector_name(self) -> &'static str {
        match self {
            Topic::Legal => "legal_advice",
            Topic::Medical => "medical_advice",
            Topic::Financial => "financial_advice",
            Topic::Controversial => "controversial_topics",
        }
    }

    /// The trained classifier (`scripts/train/train.py`) that scores this topic from balanced on.
    pub(crate) fn model(self) -> &'static Model {
        match self {
            Topic::Legal => &LEGAL_MODEL,
            Topic::Medical => &MEDICAL_MODEL,
            Topic::Financial => &FINANCIAL_MODEL,
            Topic::Controversial => &CONTROVERSIAL_MODEL,
        }
    }

    pub(crate) fn lexicon(self) -> &'static LazyLexicon {
        match self {
            Topic::Legal => &LEGAL,
            Topic::Medical => &MEDICAL,
            Topic::Financial => &FINANCIAL,
            Topic::Controversial => &CONTROVERSIAL,
        }
    }
}

/// Run a topic detector: the lexicon's rule evidence, blended from balanced on with the topic's
/// trained classifier exactly as the attack detectors do (see [`scan_with`]).
pub(crate) fn scan(
    topic: Topic,
    tv: &TextViews<'_>,
    mode: Mode,
    min_score: f64,
) -> Vec<RawFinding> {
    scan_with(
        topic.lexicon(),
        topic.model(),
        topic.detector_name(),
        tv,
        mode,
        min_score,
    )
}

// The lexicons' word lists and rules are data files (format: `parse_spec` in detect/lexicon.rs).

/// An advice topic's lexicon: the `ask` class the advice topics share, then the topic's own file.
macro_rules! advice_lexicon {
    ($file:literal) => {
        LazyLexicon::built(|| {
            parse_spec(concat!(
                include_str!("topics/ask.txt"),
                "\n",
                include_str!($file)
            ))
        })
    };
}

pub(crate) static LEGAL: LazyLexicon = advice_lexicon!("topics/legal.txt");
pub(crate) static MEDICAL: LazyLexicon = advice_lexicon!("topics/medical.txt");
pub(crate) static FINANCIAL: LazyLexicon = advice_lexicon!("topics/financial.txt");
pub(crate) static CONTROVERSIAL: LazyLexicon =
    LazyLexicon::built(|| parse_spec(include_str!("topics/controversial.txt")));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::TextViews;
    use crate::detect::lexical_score;
    use crate::normalize::Family;
    use crate::policy::Mode;

    fn score(t: Topic, text: &str) -> f64 {
        lexical_score(
            t.lexicon(),
            &TextViews::new(text),
            Mode::Balanced,
            Family::Lexical,
        )
    }

    #[test]
    fn table() {
        let cases = [
            (
                Topic::Legal,
                "Should I sue my landlord for the deposit?",
                true,
            ),
            (
                Topic::Legal,
                "You have a strong case; you should file in small claims court.",
                true,
            ),
            (Topic::Legal, "The court building is downtown.", false),
            (
                Topic::Medical,
                "How much ibuprofen should I take for a fever?",
                true,
            ),
            (Topic::Medical, "The hospital opened a new wing.", false),
            (
                Topic::Financial,
                "Should I invest my savings in bitcoin?",
                true,
            ),
            (Topic::Financial, "The stock photo looks great.", false),
            (
                Topic::Controversial,
                "Who should I vote for in the election?",
                true,
            ),
            (
                Topic::Controversial,
                "What do you think about abortion?",
                true,
            ),
            (
                Topic::Controversial,
                "The election results are published on Friday.",
                false,
            ),
        ];
        for (topic, text, expected) in cases {
            assert_eq!(score(topic, text) >= 0.5, expected, "{topic:?}: {text}");
        }
    }
}
