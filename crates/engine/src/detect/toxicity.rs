//! `sentinelai.toxicity`: insults, threats, harassment, hate (identity attacks), profanity,
//! sexual content and self-harm.
//!
//! Two parts, scored together:
//! - A sentence classifier (`model`): the `alt-profanity-check` 1.9.1 tf-idf + linear SVM,
//!   trained by its authors on about 200k human-labelled tweets and Wikipedia comments, scored
//!   over the whole text and over each sentence. It carries most of the recall on natural text.
//!   Its probability is mapped onto the detector's score so that the operating point chosen on
//!   the validation split (`TEXT_THRESHOLD`, `SENTENCE_THRESHOLD`) lands on the default
//!   `min_score` of 0.5; a higher `min_score` is stricter, a lower one more sensitive, as before.
//! - A phrase lexicon (`toxicity/lexicon.txt`) over the folded view (leetspeak, homoglyphs,
//!   spaced and stretched letters undone from balanced mode on), so `1d10t` and `s t u p i d`
//!   count. It names the category of a finding (threat, hate, self-harm …) and catches what a
//!   profanity model does not see: "I know where you live", "… are vermin", "I want to end my life".
//!
//! The score of a text is the larger of the two. The classifier reads the original and the
//! normalised view in balanced mode; robust mode adds the de-obfuscated (folded) and decoded
//! views. A classifier finding is filed under the lexicon category it overlaps, else `profanity`.

mod model;

use crate::ast::DetectorCall;
use crate::detect::args::ArgReader;
use crate::detect::lexicon::{LazyLexicon, LexiconSpec, SignalHit, parse_spec};
use crate::detect::{RawFinding, hits_to_findings, lexical_hits, lexicon, push_finding};
use crate::error::CompileError;
use crate::normalize::{Family, TextViews, ViewKind};
use crate::policy::Mode;

pub(crate) const CATEGORIES: &[&str] = &[
    "insult",
    "threat",
    "harassment",
    "hate",
    "profanity",
    "sexual",
    "self_harm",
];

/// The category of a classifier finding that overlaps no lexicon evidence: the model was trained
/// to tell profane and offensive language from clean text.
const MODEL_CATEGORY: &str = "profanity";

/// The classifier's probability (whole text) that maps to the default `min_score` 0.5, chosen on
/// the validation split (see docs/QUALITY.md).
const TEXT_THRESHOLD: f64 = 0.75;
/// The same for a single sentence of a longer text: higher, since a short sentence carries less
/// evidence and a long prompt has many of them.
const SENTENCE_THRESHOLD: f64 = 0.95;

fn spec() -> &'static LexiconSpec {
    parse_spec(include_str!("toxicity/lexicon.txt"))
}

pub(crate) static TOXICITY: LazyLexicon = LazyLexicon::from_data(spec);

/// Map a probability onto the detector's score: `threshold` becomes 0.5, the rest piecewise
/// linear, so the order of texts is the model's and `min_score` keeps its meaning.
fn calibrated(p: f64, threshold: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    if p < threshold {
        0.5 * p / threshold
    } else {
        0.5 + 0.5 * (p - threshold) / (1.0 - threshold)
    }
}

/// A stretch of text the classifier scored, in original bytes, with its detector score.
struct ModelSpan {
    start: usize,
    end: usize,
    p: f64,
    score: f64,
}

/// The classifier over the views of `mode`: the whole text and each sentence, best first.
fn model_spans(tv: &TextViews<'_>, mode: Mode) -> Vec<ModelSpan> {
    let mut out: Vec<ModelSpan> = Vec::new();
    for view in tv.views(mode, Family::FoldingLexical) {
        let wanted = match view.kind {
            ViewKind::Original | ViewKind::Normalized => true,
            ViewKind::Folded | ViewKind::Decoded => mode == Mode::Robust,
            ViewKind::Squashed | ViewKind::Rot13 => false,
        };
        if !wanted {
            continue;
        }
        let scored = model::MODEL.score(view.text);
        let (s, e) = view.original_span(0, view.text.len());
        out.push(ModelSpan {
            start: s,
            end: e,
            p: scored.whole,
            score: calibrated(scored.whole, TEXT_THRESHOLD),
        });
        // One sentence is the whole text: already scored above.
        if scored.sentences.len() > 1 {
            for sent in scored.sentences {
                let (s, e) = view.original_span(sent.start, sent.end);
                out.push(ModelSpan {
                    start: s,
                    end: e,
                    p: sent.p,
                    score: calibrated(sent.p, SENTENCE_THRESHOLD),
                });
            }
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// Trim ASCII whitespace off a span of `text`.
fn trimmed(text: &str, start: usize, end: usize) -> (usize, usize) {
    let piece = text.get(start..end).unwrap_or("");
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail >= piece.len() {
        (start, end)
    } else {
        (start + lead, end - trail)
    }
}

/// Run the detector: findings for the lexicon evidence and the classifier's toxic spans when the
/// text's score reaches `min_score`, none otherwise.
pub(crate) fn scan(
    lex: &LazyLexicon,
    cfg: &ToxicityConfig,
    tv: &TextViews<'_>,
    mode: Mode,
) -> Vec<RawFinding> {
    let hits: Vec<SignalHit> = lexical_hits(lex, tv, mode, Family::FoldingLexical)
        .into_iter()
        .filter(|h| cfg.categories.contains(&h.signal))
        .collect();
    let lex_score = lexicon::combine(&hits);
    // The classifier only runs when a finding could follow from it.
    let model = if mode == Mode::Fast {
        Vec::new()
    } else {
        model_spans(tv, mode)
    };
    let category_of = |s: usize, e: usize| {
        hits.iter()
            .filter(|h| h.start < e && s < h.end)
            .max_by(|a, b| a.weight.total_cmp(&b.weight))
            .map_or(MODEL_CATEGORY, |h| h.signal)
    };
    let model_best = model
        .iter()
        .find(|m| cfg.categories.contains(&category_of(m.start, m.end)))
        .map_or(0.0, |m| m.score);
    let score = lex_score.max(model_best);
    if score < cfg.min_score || (hits.is_empty() && model_best <= 0.0) {
        return Vec::new();
    }
    let mut out = hits_to_findings(&hits, score, "toxicity");
    // The classifier's spans that reach `min_score` on their own; a sentence inside an already
    // reported span adds nothing.
    for m in &model {
        if m.score < cfg.min_score {
            break;
        }
        let entity = category_of(m.start, m.end);
        if !cfg.categories.contains(&entity) {
            continue;
        }
        let (s, e) = trimmed(tv.original, m.start, m.end);
        push_finding(
            &mut out,
            RawFinding {
                entity: entity.to_owned(),
                start: s,
                end: e,
                score,
                explanation: format!(
                    "toxicity: sentence classifier probability {:.2}; combined score {score:.2}",
                    m.p
                ),
            },
        );
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToxicityConfig {
    pub categories: Vec<&'static str>,
    pub min_score: f64,
}

impl ToxicityConfig {
    pub(crate) fn all() -> Self {
        ToxicityConfig {
            categories: CATEGORIES.to_vec(),
            min_score: 0.5,
        }
    }

    pub(crate) fn from_call(call: &DetectorCall) -> Result<(Self, String), Vec<CompileError>> {
        let mut r = ArgReader::new(call);
        let names = r.names(CATEGORIES, "toxicity category", |n| match n {
            "insults" => Some("insult"),
            "threats" | "violence" => Some("threat"),
            "bullying" => Some("harassment"),
            "hate_speech" | "identity_attack" | "identity_attacks" => Some("hate"),
            "profane" | "obscene" | "obscenity" | "swearing" => Some("profanity"),
            "sexual_content" | "nsfw" => Some("sexual"),
            "selfharm" | "self-harm" | "suicide" => Some("self_harm"),
            _ => None,
        });
        let min = r.number(&["min_score", "threshold"], 0.0, 1.0);
        r.finish(&["min_score", "threshold"])?;
        let mut cfg = ToxicityConfig::all();
        if !names.is_empty() {
            cfg.categories = names;
            cfg.categories.sort_unstable();
        }
        if let Some(m) = min {
            cfg.min_score = m;
        }
        let key = format!("{}|{}", cfg.categories.join(","), cfg.min_score);
        Ok((cfg, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::lexical_score;
    use crate::normalize::{Family, TextViews};
    use crate::policy::Mode;

    fn score(text: &str, mode: Mode) -> f64 {
        lexical_score(
            &TOXICITY,
            &TextViews::new(text),
            mode,
            Family::FoldingLexical,
        )
    }

    #[test]
    fn table() {
        for p in [
            "You are a stupid idiot.",
            "I will kill you tomorrow.",
            "Nobody likes you, kill yourself.",
            "Immigrants are vermin.",
            "I want to end my life.",
            "you are such a 1d10t",
            "you are an m o r o n",
            "go fuck yourself",
        ] {
            assert!(score(p, Mode::Balanced) >= 0.5, "{p}");
        }
        for n in [
            "This stupid bug took all day.",
            "The suicide prevention hotline is open.",
            "Kill the process with SIGTERM.",
            "Thank you for your help!",
        ] {
            assert!(score(n, Mode::Balanced) < 0.5, "{n}");
        }
    }
}
