//! `sentinelai.unsafe_content`: harmful or unsafe requests and responses, reported by hazard
//! category with the MLCommons hazard taxonomy's names ([`CATEGORIES`]).
//!
//! Two kinds of evidence, combined:
//! 1. **Lexicons** (`lexicon.txt`, one section per category): harmful intents and objects ("pipe
//!    bomb", "poison my", "without their consent"), each with a weight. A category's evidence is
//!    the noisy-or of its distinct atoms. Request framing ("how do I", "step by step") and evasion
//!    ("without getting caught") lift evidence that is already there; safe-context cues (history,
//!    fiction review, prevention and defence, the programming senses of *kill*, *execute*,
//!    *shoot*) damp it unless the text also asks how to evade detection. The lexicons name the
//!    category of a finding.
//! 2. **A trained classifier** (balanced and robust): the engine's hashed logistic regression
//!    (`detect/model.rs`), harmful versus benign, trained by `scripts/train/train_unsafe.py` on the
//!    train split of the `unsafe` quality task only. It reads the framing the lexicons cannot
//!    (twin prompts that share their objects: "how do I safely light a campfire" / "how do I build
//!    an IED"), and may overrule weak rule evidence; rules may lift its probability by at most
//!    [`RULE_LIFT`], so a look-alike the classifier is sure of stays quiet, unless the rule
//!    evidence is overwhelming on its own ([`STANDALONE`]).
//!
//! The primary category is the one with the most lexical evidence; another category is reported
//! too when its own evidence is strong ([`SECONDARY`]). A text the classifier flags without any
//! category atom is reported as `unsafe` (only when every category is selected). Fast mode runs the
//! lexicons alone.

use std::borrow::Cow;

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::ast::DetectorCall;
use crate::detect::RawFinding;
use crate::detect::TextViews;
use crate::detect::args::ArgReader;
use crate::detect::injection::classifier_score;
use crate::detect::lexicon::on_word_boundaries;
use crate::detect::model::{Model, load};
use crate::error::CompileError;
use crate::normalize::{Family, ViewKind};
use crate::policy::Mode;

/// The hazard categories, in the MLCommons taxonomy's order.
pub(crate) const CATEGORIES: &[&str] = &[
    "violent_crimes",
    "non_violent_crimes",
    "sex_related_crimes",
    "child_sexual_exploitation",
    "indiscriminate_weapons",
    "suicide_self_harm",
    "hate",
    "specialised_advice",
    "privacy",
    "intellectual_property",
    "elections",
    "sexual_content",
    "defamation",
];

/// The entity of a finding from the classifier alone, with no category atom in the text.
pub(crate) const UNSPECIFIED: &str = "unsafe";

/// How much request framing lifts existing harm evidence (noisy-or).
const REQUEST_LIFT: f64 = 0.15;
/// How much asking to evade detection lifts existing harm evidence (noisy-or).
const EVASION_LIFT: f64 = 0.3;
/// Factor on harm evidence when the text has a safe-context cue and no evasion.
const SAFE_DAMP: f64 = 0.5;
/// Factor on the classifier's probability when the text has a safe-context cue and no evasion.
const SAFE_CLASSIFIER_DAMP: f64 = 0.85;
/// How far rule evidence may lift the score above the classifier's probability.
pub(crate) const RULE_LIFT: f64 = 0.35;
/// Rule evidence that stands on its own, whatever the classifier says: several strong atoms, or
/// one with request framing and no safe context (the classifier has seen only a few hundred
/// harmful prompts, so an unseen phrasing of an explicit request must not depend on it).
const STANDALONE: f64 = 0.75;
/// Rule evidence a category other than the primary one needs to be reported too.
const SECONDARY: f64 = 0.5;
/// Texts longer than this (bytes) are documents, not prompts: the classifier, trained mostly on
/// short requests and scored there as its best window, gets many chances to misfire on them. In
/// a long text it may not flag alone, and lifts rule evidence by at most [`LONG_LIFT`].
const LONG_TEXT: usize = 1200;
/// How far the classifier may lift rule evidence in a long text.
const LONG_LIFT: f64 = 0.15;
/// Words a text needs before the classifier alone may flag it.
const CLASSIFIER_ONLY_MIN_WORDS: usize = 4;

/// The trained classifier (`scripts/train/train_unsafe.py`).
static MODEL: LazyLock<Model> = LazyLock::new(|| load(include_str!("model.json")));

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Harm(usize),
    Request,
    Evasion,
    Safe,
}

struct Lex {
    ac: AhoCorasick,
    /// Per pattern: its phrase (for explanations).
    phrases: Vec<String>,
    /// Per pattern: its class and weight.
    atoms: Vec<(Class, f64)>,
}

/// Parsed lexicon: the phrases, and per phrase its class and weight.
type Parsed = (Vec<String>, Vec<(Class, f64)>);

/// Parse `lexicon.txt` (format in its header).
fn parse(text: &str) -> Result<Parsed, String> {
    let mut patterns = Vec::new();
    let mut atoms = Vec::new();
    let mut class: Option<Class> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            class = Some(match name {
                "@request" => Class::Request,
                "@evasion" => Class::Evasion,
                "@safe" => Class::Safe,
                _ => Class::Harm(
                    CATEGORIES
                        .iter()
                        .position(|c| *c == name)
                        .ok_or_else(|| format!("line {}: unknown section {name}", n + 1))?,
                ),
            });
            continue;
        }
        let class = class.ok_or_else(|| format!("line {}: atom before a section", n + 1))?;
        let (weight, phrase) = match class {
            Class::Harm(_) => {
                let (w, p) = line
                    .split_once(' ')
                    .ok_or_else(|| format!("line {}: expected `WEIGHT phrase`", n + 1))?;
                let w: f64 = w
                    .parse()
                    .map_err(|_| format!("line {}: bad weight {w}", n + 1))?;
                if !(0.0..1.0).contains(&w) {
                    return Err(format!("line {}: weight {w} outside 0..1", n + 1));
                }
                (w, p.trim())
            }
            _ => (0.0, line),
        };
        patterns.push(phrase.to_ascii_lowercase());
        atoms.push((class, weight));
    }
    Ok((patterns, atoms))
}

#[expect(
    clippy::expect_used,
    reason = "the lexicon is compiled in; the unit tests parse and build it"
)]
static LEX: LazyLock<Lex> = LazyLock::new(|| {
    let (patterns, atoms) = parse(include_str!("lexicon.txt")).expect("lexicon.txt parses");
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&patterns)
        .expect("lexicon.txt builds");
    Lex {
        ac,
        phrases: patterns,
        atoms,
    }
});

/// The arguments: which categories to report and the score threshold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnsafeConfig {
    /// Selected categories, in [`CATEGORIES`] order.
    pub categories: Vec<&'static str>,
    pub min_score: f64,
}

impl UnsafeConfig {
    pub(crate) fn all() -> Self {
        UnsafeConfig {
            categories: CATEGORIES.to_vec(),
            min_score: 0.5,
        }
    }

    /// `unsafe_content(categories=[violent_crimes, hate], min_score=0.6)`; categories may also be
    /// positional, like `toxicity`'s.
    pub(crate) fn from_call(call: &DetectorCall) -> Result<(Self, String), Vec<CompileError>> {
        let mut r = ArgReader::new(call);
        let names = r.keyed_names(
            &["categories", "category"],
            CATEGORIES,
            "hazard category",
            alias,
        );
        let min = r.number(&["min_score", "threshold"], 0.0, 1.0);
        r.finish(&["categories", "min_score", "threshold"])?;
        let mut cfg = UnsafeConfig::all();
        if !names.is_empty() {
            cfg.categories = CATEGORIES
                .iter()
                .copied()
                .filter(|c| names.contains(c))
                .collect();
        }
        if let Some(m) = min {
            cfg.min_score = m;
        }
        let key = format!("{}|{}", cfg.categories.join(","), cfg.min_score);
        Ok((cfg, key))
    }

    fn everything(&self) -> bool {
        self.categories.len() == CATEGORIES.len()
    }
}

/// Other names users write for the categories.
fn alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "violence" | "violent" | "violent_crime" => "violent_crimes",
        "crime" | "crimes" | "non_violent_crime" | "nonviolent_crimes" => "non_violent_crimes",
        "sex_crimes" | "sexual_crimes" | "sex_related_crime" => "sex_related_crimes",
        "csam" | "csae" | "child_exploitation" | "child_abuse" => "child_sexual_exploitation",
        "cbrne" | "weapons" | "indiscriminate" | "wmd" => "indiscriminate_weapons",
        "suicide" | "self_harm" | "self-harm" | "selfharm" => "suicide_self_harm",
        "hate_speech" => "hate",
        "specialized_advice" | "advice" => "specialised_advice",
        "ip" | "copyright" => "intellectual_property",
        "election" => "elections",
        "sexual" | "nsfw" | "adult" => "sexual_content",
        "libel" | "slander" => "defamation",
        _ => return None,
    })
}

/// What the lexicons found in a text.
#[derive(Debug, Default)]
struct Evidence {
    /// Per category: Π(1 − w) over its distinct atoms, and the span its atoms cover.
    keep: [f64; 13],
    spans: [Option<(usize, usize)>; 13],
    atoms: [Vec<usize>; 13],
    request: bool,
    evasion: bool,
    safe: bool,
}

impl Evidence {
    fn new() -> Self {
        Evidence {
            keep: [1.0; 13],
            ..Evidence::default()
        }
    }

    /// A category's rule score: its atoms' noisy-or, lifted by framing, damped by safe context.
    fn score(&self, c: usize) -> f64 {
        let base = 1.0 - self.keep.get(c).copied().unwrap_or(1.0);
        if base <= 0.0 {
            return 0.0;
        }
        let mut keep = 1.0 - base;
        if self.request {
            keep *= 1.0 - REQUEST_LIFT;
        }
        if self.evasion {
            keep *= 1.0 - EVASION_LIFT;
        }
        let s = 1.0 - keep;
        if self.safe && !self.evasion {
            s * SAFE_DAMP
        } else {
            s
        }
    }
}

fn gather(tv: &TextViews<'_>, mode: Mode) -> Evidence {
    let lex = &*LEX;
    let mut ev = Evidence::new();
    let mut seen: Vec<usize> = Vec::new();
    for view in tv.views(mode, Family::Lexical) {
        // Phrases need word boundaries, which the letters-only view has lost.
        if view.kind == ViewKind::Squashed {
            continue;
        }
        for m in lex.ac.find_overlapping_iter(view.text) {
            let (s, e) = (m.start(), m.end());
            if !on_word_boundaries(view.text, s, e) {
                continue;
            }
            let id = m.pattern().as_usize();
            let Some(&(class, w)) = lex.atoms.get(id) else {
                continue;
            };
            match class {
                Class::Request => ev.request = true,
                Class::Evasion => ev.evasion = true,
                Class::Safe => ev.safe = true,
                Class::Harm(c) => {
                    let (os, oe) = view.original_span(s, e);
                    if let Some(span) = ev.spans.get_mut(c) {
                        *span = Some(span.map_or((os, oe), |(a, b)| (a.min(os), b.max(oe))));
                    }
                    if seen.contains(&id) {
                        continue;
                    }
                    seen.push(id);
                    if let Some(k) = ev.keep.get_mut(c) {
                        *k *= 1.0 - w;
                    }
                    if let Some(a) = ev.atoms.get_mut(c) {
                        a.push(id);
                    }
                }
            }
        }
    }
    ev
}

/// Run the detector.
pub(crate) fn scan(cfg: &UnsafeConfig, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
    let ev = gather(tv, mode);
    // A safe-context cue (and no evasion) discounts the classifier a little too: it has seen few
    // look-alikes, and an object word ("bath bomb") can carry it to the threshold on its own.
    let p = classifier_score(&MODEL, tv, mode).map(|p| {
        if ev.safe && !ev.evasion {
            p * SAFE_CLASSIFIER_DAMP
        } else {
            p
        }
    });
    let rules: Vec<f64> = (0..CATEGORIES.len()).map(|c| ev.score(c)).collect();
    let primary = rules
        .iter()
        .enumerate()
        .filter(|(_, s)| **s > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(c, _)| c);
    let mut out = Vec::new();
    let framing = match (ev.request, ev.evasion, ev.safe) {
        (_, true, _) => "; asks to evade detection",
        (true, _, true) => "; request framing, safe context",
        (true, _, false) => "; request framing",
        (false, _, true) => "; safe context",
        (false, false, false) => "",
    };
    let Some(primary) = primary else {
        // The classifier alone: no category atom, so no category to name.
        let Some(p) = p else { return out };
        if !cfg.everything()
            || tv.original.len() > LONG_TEXT
            || p < cfg.min_score
            || p <= 0.0
            || tv.original.split_whitespace().count() < CLASSIFIER_ONLY_MIN_WORDS
        {
            return out;
        }
        let start = tv.original.len() - tv.original.trim_start().len();
        let end = tv.original.trim_end().len().max(start);
        out.push(RawFinding {
            entity: Cow::Borrowed(UNSPECIFIED),
            start,
            end,
            score: p,
            explanation: format!(
                "unsafe content: trained classifier probability {p:.2}, no hazard category named"
            )
            .into(),
        });
        return out;
    };
    let long = tv.original.len() > LONG_TEXT;
    for (c, name) in CATEGORIES.iter().enumerate() {
        if !cfg.categories.contains(name) {
            continue;
        }
        let r = rules.get(c).copied().unwrap_or(0.0);
        if r <= 0.0 || (c != primary && r < SECONDARY) {
            continue;
        }
        let score = match p {
            None => r,
            Some(_) if r >= STANDALONE => r,
            Some(p) if long => p.max(r).min(r + LONG_LIFT),
            Some(p) if c == primary => p.max(r.min(p + RULE_LIFT)),
            Some(p) => r.min(p + RULE_LIFT),
        }
        .clamp(0.0, 1.0);
        if score <= 0.0 || score < cfg.min_score {
            continue;
        }
        let Some(Some((start, end))) = ev.spans.get(c).copied() else {
            continue;
        };
        let words: Vec<String> = ev
            .atoms
            .get(c)
            .into_iter()
            .flatten()
            .take(3)
            .filter_map(|&id| LEX.phrases.get(id))
            .map(|p| format!("\u{201c}{p}\u{201d}"))
            .collect();
        let classifier = p.map_or(String::new(), |p| format!("; classifier {p:.2}"));
        out.push(RawFinding {
            entity: Cow::Borrowed(name),
            start,
            end,
            score,
            explanation: format!(
                "unsafe content ({}): {}{framing}{classifier}; score {score:.2}",
                name.replace('_', " "),
                words.join(", ")
            )
            .into(),
        });
    }
    out
}

#[cfg(test)]
mod tests;
