//! Regulated advice and divisive topics: `legal_advice`, `medical_advice`, `financial_advice`,
//! `controversial_topics`. The same lexicons fill the violation's `*_score` columns.
//!
//! A topic word alone (`court`, `election`) is weak evidence; a request for advice ("should I
//! sue"), an answer that gives it ("you should invest"), or an opinion question about a topic
//! ("who should I vote for") crosses the threshold.

use crate::detect::RawFinding;
use crate::detect::TextViews;
use crate::detect::injection::scan_with;
use crate::detect::lexicon::{LazyLexicon, LexiconSpec, rule};
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

const ASK: &[&str] = &[
    "should i",
    "can i",
    "what should i do",
    "how do i",
    "how can i",
    "am i allowed",
    "is it ok to",
    "do i need",
    "what are my",
    "could i",
    "help me",
    "advise me",
    "what would you recommend",
    "is it safe",
];

static LEGAL_SPEC: LexiconSpec = LexiconSpec {
    classes: &[
        (
            "request",
            &[
                "legal advice",
                "should i sue",
                "can i sue",
                "how do i sue",
                "file a lawsuit",
                "is it legal to",
                "is it illegal to",
                "can i be sued",
                "my legal rights",
                "what are my rights",
                "do i need a lawyer",
                "how to get custody",
                "how do i get divorced",
                "draft a contract",
                "write my will",
                "break my lease",
                "am i liable",
                "press charges",
                "plead guilty",
                "sue my employer",
                "sue my landlord",
                "legal options",
            ],
        ),
        ("ask", ASK),
        (
            "term",
            &[
                "lawsuit",
                "sue",
                "attorney",
                "lawyer",
                "court",
                "custody",
                "divorce",
                "tenant",
                "landlord",
                "eviction",
                "contract",
                "liability",
                "liable",
                "plaintiff",
                "defendant",
                "litigation",
                "copyright infringement",
                "patent",
                "trademark",
                "statute",
                "indemnify",
                "breach of contract",
                "settlement",
                "probate",
                "visa",
                "immigration",
                "felony",
                "misdemeanor",
                "arrested",
                "legal",
            ],
        ),
        (
            "answer",
            &[
                "you should file",
                "you should sue",
                "you have a strong case",
                "under the law you",
                "you are entitled to",
                "you can sue",
                "i recommend you file",
                "the statute of limitations",
                "you are legally",
                "legally you",
                "you could be held liable",
                "you have grounds",
            ],
        ),
    ],
    rules: &[
        rule("legal_request", 0.6, &["request"]),
        rule("legal_answer", 0.55, &["answer"]),
        rule("legal_question", 0.55, &["ask", "term"]),
        rule("legal_term", 0.2, &["term"]),
    ],
};

static MEDICAL_SPEC: LexiconSpec = LexiconSpec {
    classes: &[
        (
            "request",
            &[
                "medical advice",
                "should i take",
                "how much should i take",
                "what dose",
                "what dosage",
                "is it safe to take",
                "can i take",
                "diagnose me",
                "what's wrong with me",
                "what is wrong with me",
                "do i have cancer",
                "should i stop taking",
                "side effects of",
                "treatment for my",
                "how to treat my",
                "should i see a doctor",
                "can you prescribe",
            ],
        ),
        ("ask", ASK),
        (
            "term",
            &[
                "symptoms",
                "medication",
                "mg",
                "milligrams",
                "prescription",
                "antibiotics",
                "ibuprofen",
                "paracetamol",
                "acetaminophen",
                "insulin",
                "chemotherapy",
                "diagnosis",
                "fever",
                "rash",
                "tumor",
                "infection",
                "pregnant",
                "dose",
                "dosage",
                "blood pressure",
                "depression",
                "anxiety",
                "pills",
                "vaccine",
                "surgery",
            ],
        ),
        (
            "answer",
            &[
                "you should take",
                "take two tablets",
                "i recommend taking",
                "you likely have",
                "you probably have",
                "increase your dose",
                "stop taking your",
                "you should double",
                "it sounds like you have",
            ],
        ),
    ],
    rules: &[
        rule("medical_request", 0.6, &["request"]),
        rule("medical_answer", 0.55, &["answer"]),
        rule("medical_question", 0.55, &["ask", "term"]),
        rule("medical_term", 0.2, &["term"]),
    ],
};

static FINANCIAL_SPEC: LexiconSpec = LexiconSpec {
    classes: &[
        (
            "request",
            &[
                "financial advice",
                "investment advice",
                "should i invest",
                "should i buy",
                "should i sell",
                "which stock",
                "which stocks",
                "what should i invest",
                "how should i invest",
                "best stock",
                "is it a good time to buy",
                "tax advice",
                "how to avoid taxes",
                "should i refinance",
                "where should i put my savings",
            ],
        ),
        ("ask", ASK),
        (
            "term",
            &[
                "stock",
                "stocks",
                "shares",
                "portfolio",
                "crypto",
                "bitcoin",
                "etf",
                "index fund",
                "401k",
                "ira",
                "mortgage",
                "dividend",
                "options trading",
                "forex",
                "bonds",
                "hedge fund",
                "invest",
                "investment",
                "savings",
                "retirement",
                "taxes",
                "loan",
            ],
        ),
        (
            "answer",
            &[
                "you should invest",
                "i recommend buying",
                "buy now",
                "guaranteed return",
                "you should buy",
                "you should sell",
                "put your savings",
                "this stock will",
                "can't lose",
                "sure thing investment",
            ],
        ),
    ],
    rules: &[
        rule("financial_request", 0.6, &["request"]),
        rule("financial_answer", 0.55, &["answer"]),
        rule("financial_question", 0.55, &["ask", "term"]),
        rule("financial_term", 0.2, &["term"]),
    ],
};

static CONTROVERSIAL_SPEC: LexiconSpec = LexiconSpec {
    classes: &[
        (
            "topic",
            &[
                "election",
                "vote for",
                "voting",
                "democrat",
                "democrats",
                "republican",
                "republicans",
                "liberals",
                "conservatives",
                "left-wing",
                "right-wing",
                "abortion",
                "gun control",
                "immigration policy",
                "political party",
                "socialism",
                "communism",
                "fascism",
                "brexit",
                "death penalty",
                "capital punishment",
                "israel",
                "palestine",
                "gaza",
                "lgbt",
                "transgender",
                "same-sex marriage",
                "affirmative action",
                "police brutality",
                "vaccine mandate",
                "religion",
                "god",
                "islam",
                "christianity",
                "atheism",
                "atheist",
                "bible",
                "quran",
                "religious",
                "politics",
                "political",
            ],
        ),
        (
            "opinion",
            &[
                "what do you think about",
                "your opinion on",
                "your view on",
                "is it right",
                "who is right",
                "which side",
                "are you for or against",
                "do you support",
                "do you believe",
                "which is better",
                "who should i",
                "tell me why",
                "argue that",
                "convince me",
                "is it wrong",
            ],
        ),
        (
            "strong",
            &[
                "who should i vote for",
                "is abortion murder",
                "does god exist",
                "which religion is true",
                "which party should",
                "is religion",
                "is islam",
                "is christianity",
            ],
        ),
    ],
    rules: &[
        rule("opinion_on_divisive_topic", 0.6, &["opinion", "topic"]),
        rule("divisive_question", 0.6, &["strong"]),
        rule("divisive_topic", 0.3, &["topic"]),
    ],
};

pub(crate) static LEGAL: LazyLexicon = LazyLexicon::new(&LEGAL_SPEC);
pub(crate) static MEDICAL: LazyLexicon = LazyLexicon::new(&MEDICAL_SPEC);
pub(crate) static FINANCIAL: LazyLexicon = LazyLexicon::new(&FINANCIAL_SPEC);
pub(crate) static CONTROVERSIAL: LazyLexicon = LazyLexicon::new(&CONTROVERSIAL_SPEC);

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
