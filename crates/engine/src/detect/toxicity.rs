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
//! - Profane words inside longer words, obfuscated and masked spellings (`compound`):
//!   "dumbshit", "d1ck", "f***ing". They count as lexicon evidence of the word's class. The
//!   stems are looked for inside the words the classifier does not know, so they come with the
//!   classifier's reading; masked words are looked for in every mode.
//!
//! The score of a text is the larger of the lexicon's and the classifier's. The classifier reads
//! the original and the normalised view in balanced mode; robust mode adds the de-obfuscated
//! (folded) and decoded views. A classifier finding is filed under the lexicon category it
//! overlaps, else `profanity`.

mod compound;
mod model;

use std::borrow::Cow;

use crate::ast::DetectorCall;
use crate::detect::args::ArgReader;
use crate::detect::lexicon::{LazyLexicon, LexiconSpec, SignalHit, parse_spec};
use crate::detect::{MemoKey, TextViews};
use crate::detect::{RawFinding, hits_to_findings, lexical_hits, lexicon, push_finding};
use crate::error::CompileError;
use crate::normalize::{Family, ViewKind};
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

/// The team's phrase lists and rules (`lexicon.txt`) and the classes derived from rustrict's word
/// list: swear words, slurs and sexual words (`words.txt`), insults and wishes of harm
/// (`mean.txt`); see scripts/train/export_rustrict_words.py.
fn spec() -> &'static LexiconSpec {
    static SPEC: std::sync::OnceLock<&'static LexiconSpec> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        parse_spec(concat!(
            include_str!("toxicity/words.txt"),
            "\n",
            include_str!("toxicity/mean.txt"),
            "\n",
            include_str!("toxicity/lexicon.txt")
        ))
    })
}

/// Word classes that count only on word boundaries: in robust mode's letters-only view a slur or
/// swear word turns up inside ordinary words run together ("...classic unto...").
const BOUNDED_CLASSES: &[&str] = &["profane_word", "slur_word", "sexual_word", "mean_word"];

/// Whether a hit is a single bounded word seen only in the letters-only view.
fn unbounded_word_hit(h: &SignalHit) -> bool {
    h.view == ViewKind::Squashed
        && spec()
            .rules
            .get(h.rule)
            .is_some_and(|r| r.seq.len() == 1 && r.seq.iter().all(|c| BOUNDED_CLASSES.contains(c)))
}

pub(crate) static TOXICITY: LazyLexicon = LazyLexicon::built(spec);

/// The highest score the classifier alone gives. Scores also carry severity (DESIGN §4): the
/// lexicon's threats, hate and self-harm weigh 0.85–0.9, an insult 0.65, so
/// `toxicity(min_score=0.8)` means "only the severe categories". Profanity and insults, which
/// is what the classifier finds, stay below that however sure it is.
const MODEL_MAX_SCORE: f64 = 0.75;

/// Map a probability onto the detector's score: `threshold` becomes 0.5, the rest piecewise
/// linear (up to [`MODEL_MAX_SCORE`]), so the order of texts is the model's and `min_score`
/// keeps its meaning.
fn calibrated(p: f64, threshold: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    if p < threshold {
        0.5 * p / threshold
    } else {
        0.5 + (MODEL_MAX_SCORE - 0.5) * (p - threshold) / (1.0 - threshold)
    }
}

/// A stretch of text the classifier scored, in original bytes, with its detector score.
struct ModelSpan {
    /// The whole text (else one sentence of it).
    whole: bool,
    start: usize,
    end: usize,
    p: f64,
    score: f64,
}

/// The model's view of a text: the classifier's spans, and the profane words inside longer
/// words that the classifier's tokens led to ([`compound`]).
#[derive(Default)]
struct ModelRead {
    spans: Vec<ModelSpan>,
    inside: Vec<SignalHit>,
}

/// The classifier over the views of `mode`: the whole text and each sentence, in the order the
/// views and sentences come (unsorted: a scan mostly needs only the best, see [`scan`]), and
/// the stems inside the words it does not know. Computed once per text and mode:
/// `sunshine_acceptable_use_violation` and `csr_compliance` run toxicity with other categories
/// over the same text (the memo keeps the spans as findings: entity `whole` or `sentence`,
/// score the probability; and the hits as [`compound::to_finding`] writes them).
fn model_read(tv: &TextViews<'_>, mode: Mode) -> ModelRead {
    let found = tv.memo(MemoKey::ToxicityModel(mode), || {
        let read = model_read_uncached(tv, mode);
        read.spans
            .into_iter()
            .map(|m| RawFinding {
                entity: Cow::Borrowed(if m.whole { "whole" } else { "sentence" }),
                start: m.start,
                end: m.end,
                score: m.p,
                explanation: Cow::Borrowed(""),
            })
            .chain(read.inside.iter().map(compound::to_finding))
            .collect()
    });
    let mut read = ModelRead {
        spans: Vec::with_capacity(found.len()),
        inside: Vec::new(),
    };
    for f in found {
        let whole = f.entity == "whole";
        if !whole && f.entity != "sentence" {
            read.inside.extend(compound::from_finding(&f));
            continue;
        }
        let threshold = if whole {
            TEXT_THRESHOLD
        } else {
            SENTENCE_THRESHOLD
        };
        read.spans.push(ModelSpan {
            whole,
            start: f.start,
            end: f.end,
            p: f.score,
            score: calibrated(f.score, threshold),
        });
    }
    read
}

fn model_read_uncached(tv: &TextViews<'_>, mode: Mode) -> ModelRead {
    let mut out: Vec<ModelSpan> = Vec::new();
    let mut inside = Vec::new();
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
        compound::in_unknown(view, scored.unknown.as_deref(), &mut inside);
        out.reserve(1 + scored.sentences.len());
        let (s, e) = view.original_span(0, view.text.len());
        out.push(ModelSpan {
            whole: true,
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
                    whole: false,
                    start: s,
                    end: e,
                    p: sent.p,
                    score: calibrated(sent.p, SENTENCE_THRESHOLD),
                });
            }
        }
    }
    ModelRead { spans: out, inside }
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
    let mut hits: Vec<SignalHit> = lexical_hits(lex, tv, mode, Family::FoldingLexical)
        .into_iter()
        .filter(|h| cfg.categories.contains(&h.signal) && !unbounded_word_hit(h))
        .collect();
    // The classifier only runs when a finding could follow from it: its spans file under
    // `profanity` unless they overlap lexicon evidence (`csr_compliance` asks for hate only).
    let read =
        if mode == Mode::Fast || (hits.is_empty() && !cfg.categories.contains(&MODEL_CATEGORY)) {
            ModelRead::default()
        } else {
            model_read(tv, mode)
        };
    // Profane words inside longer words (found through the classifier's unknown tokens), masked
    // words, and obfuscated spellings on the folded view (`compound`).
    hits.extend(
        read.inside
            .into_iter()
            .chain(compound::disguised_hits(tv, mode))
            .filter(|h| cfg.categories.contains(&h.signal)),
    );
    let lex_score = lexicon::combine(&hits);
    let model = read.spans;
    let category_of = |s: usize, e: usize| {
        hits.iter()
            .filter(|h| h.start < e && s < h.end)
            .max_by(|a, b| a.weight.total_cmp(&b.weight))
            .map_or(MODEL_CATEGORY, |h| h.signal)
    };
    // The best score of a span filed under one of the categories asked for. The spans are not
    // sorted by score: the findings below come from the few that reach `min_score`, sorted then.
    let model_best = model
        .iter()
        .filter(|m| cfg.categories.contains(&category_of(m.start, m.end)))
        .map(|m| m.score)
        .max_by(f64::total_cmp)
        .unwrap_or(0.0);
    let score = lex_score.max(model_best);
    if score < cfg.min_score || (hits.is_empty() && model_best <= 0.0) {
        return Vec::new();
    }
    let mut out = hits_to_findings(&hits, score, "toxicity");
    // The classifier's spans that reach `min_score` on their own: the sentences that do, or else
    // the whole text.
    let sentences_reach = model.iter().any(|m| !m.whole && m.score >= cfg.min_score);
    // Best first, as a stable sort of all the spans would have them.
    let mut reaching: Vec<&ModelSpan> = model.iter().filter(|m| m.score >= cfg.min_score).collect();
    reaching.sort_by(|a, b| b.score.total_cmp(&a.score));
    for m in reaching {
        if m.whole && sentences_reach {
            continue;
        }
        let entity = category_of(m.start, m.end);
        if !cfg.categories.contains(&entity) {
            continue;
        }
        let (s, e) = trimmed(tv.original, m.start, m.end);
        push_finding(
            &mut out,
            RawFinding {
                entity: Cow::Borrowed(entity),
                start: s,
                end: e,
                score,
                explanation: format!(
                    "toxicity: sentence classifier probability {:.2}; combined score {score:.2}",
                    m.p
                )
                .into(),
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
        // Load the classifier while the policy compiles, not on the first text it scores.
        std::sync::LazyLock::force(&model::MODEL);
        compound::preload();
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

    fn lexicon_score(text: &str, mode: Mode) -> f64 {
        lexical_score(
            &TOXICITY,
            &TextViews::new(text),
            mode,
            Family::FoldingLexical,
        )
    }

    fn run(text: &str, mode: Mode, cfg: &ToxicityConfig) -> Vec<RawFinding> {
        scan(&TOXICITY, cfg, &TextViews::new(text), mode)
    }

    fn flagged(text: &str, mode: Mode) -> bool {
        !run(text, mode, &ToxicityConfig::all()).is_empty()
    }

    #[test]
    fn lexicon_table() {
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
            assert!(lexicon_score(p, Mode::Balanced) >= 0.5, "{p}");
        }
        for n in [
            "This stupid bug took all day.",
            "The suicide prevention hotline is open.",
            "Kill the process with SIGTERM.",
            "Thank you for your help!",
        ] {
            assert!(lexicon_score(n, Mode::Balanced) < 0.5, "{n}");
        }
    }

    /// rustrict's insults that are not swear words count next to "you" (`mean.txt`); its
    /// phrases and wishes of harm count alone; the entries left out as harmless do not.
    #[test]
    fn mean_words_insult_when_aimed_at_you() {
        for p in [
            "You crybaby.",
            "you are a liar and everyone knows it",
            "Go away, you lowlife.",
            "hope u die",
            "shut your face",
        ] {
            assert!(lexicon_score(p, Mode::Fast) >= 0.5, "{p}");
        }
        for n in [
            "He is a liar.",
            "Your punk band played well last night.",
            "You can shut it down with the power button.",
            "They can die of thirst out there, so bring water.",
        ] {
            assert!(lexicon_score(n, Mode::Fast) < 0.5, "{n}");
        }
    }

    #[test]
    fn lexicon_data_file_parses() {
        let spec = spec();
        assert!(spec.classes.len() >= 10 && spec.rules.len() >= 10);
        for r in spec.rules {
            assert!(CATEGORIES.contains(&r.signal), "{}", r.signal);
        }
        assert!(
            spec.classes
                .iter()
                .any(|(n, atoms)| *n == "threat" && atoms.contains(&"i know where you live"))
        );
        // The word classes derived from rustrict's list are there and used by a rule.
        assert!(
            spec.classes
                .iter()
                .any(|(n, atoms)| *n == "profane_word" && atoms.contains(&"motherfucker"))
        );
        assert!(spec.rules.iter().any(|r| r.seq == ["slur_word"]));
    }

    #[test]
    fn insults_threats_and_profanity_are_flagged() {
        for p in [
            "You are a stupid idiot.",
            "you're such a worthless piece of shit",
            "Shut the fuck up, nobody cares what you think.",
            "I know where you live and I will hurt you.",
            "Go back to your country, you filthy animal.",
            "fuck this shit",
        ] {
            assert!(flagged(p, Mode::Balanced), "{p}");
        }
    }

    #[test]
    fn safe_look_alikes_pass() {
        for n in [
            "How do I kill a Python process that hangs?",
            "I live in Scunthorpe.",
            "This bug is killing me.",
            "Kill the process with SIGTERM.",
            "The suicide prevention hotline is open.",
            "Thank you for your help!",
            "What is the history of the atomic bomb?",
            "Please summarise this report in three bullet points.",
        ] {
            for mode in [Mode::Balanced, Mode::Robust] {
                assert!(!flagged(n, mode), "{n} {mode:?}");
            }
        }
    }

    /// Profanity with no phrase in the lexicon is the classifier's alone: it is found, filed as
    /// `profanity`, and `categories=` without profanity leaves it out.
    #[test]
    fn classifier_findings_and_categories() {
        let text = "Thanks for the notes on the release. This is crap and it sucks ass.";
        let f = run(text, Mode::Balanced, &ToxicityConfig::all());
        let model_finding = f
            .iter()
            .find(|f| f.explanation.contains("classifier"))
            .unwrap_or_else(|| panic!("{f:?}"));
        // The toxic sentence, not the whole text.
        assert_eq!(
            &text[model_finding.start..model_finding.end],
            "This is crap and it sucks ass."
        );
        assert_eq!(model_finding.entity, "profanity");
        let threats_only = ToxicityConfig {
            categories: vec!["threat"],
            min_score: 0.5,
        };
        assert!(run(text, Mode::Balanced, &threats_only).is_empty());
        // Without `profanity`, the classifier still reports under the lexicon's category.
        let insults_only = ToxicityConfig {
            categories: vec!["insult"],
            min_score: 0.5,
        };
        let f = run(
            "Thanks. You are a stupid idiot, fuck off.",
            Mode::Balanced,
            &insults_only,
        );
        assert!(
            !f.is_empty() && f.iter().all(|f| f.entity == "insult"),
            "{f:?}"
        );
    }

    /// `min_score` keeps its meaning: a stricter threshold drops a text the default keeps, and
    /// `min_score=0` reports every text with its score (for operating points).
    #[test]
    fn min_score_orders_texts() {
        let mild = "this is crap";
        let at = |m: f64| {
            run(
                mild,
                Mode::Balanced,
                &ToxicityConfig {
                    categories: CATEGORIES.to_vec(),
                    min_score: m,
                },
            )
        };
        let all = at(0.0);
        assert_eq!(all.len(), 1);
        let s = all[0].score;
        assert!(s > 0.0 && s < 1.0);
        assert_eq!(at(s).len(), 1);
        assert!(at((s + 0.01).min(1.0)).is_empty());
        assert!((calibrated(TEXT_THRESHOLD, TEXT_THRESHOLD) - 0.5).abs() < 1e-12);
        assert!(calibrated(0.2, 0.75) < calibrated(0.3, 0.75));
        assert!((calibrated(1.0, 0.75) - MODEL_MAX_SCORE).abs() < 1e-12);
        // Only the severe categories reach 0.8: a sure insult does not, a threat does.
        let strict = ToxicityConfig {
            categories: CATEGORIES.to_vec(),
            min_score: 0.8,
        };
        assert!(run("you idiot", Mode::Balanced, &strict).is_empty());
        assert!(run("what a load of shit", Mode::Balanced, &strict).is_empty());
        assert!(
            !run(
                "what a load of shit",
                Mode::Balanced,
                &ToxicityConfig::all()
            )
            .is_empty()
        );
        assert!(!run("I will kill you", Mode::Balanced, &strict).is_empty());
    }

    /// Robust mode runs the classifier on the de-obfuscated view as well.
    /// A profane word inside a longer one is a finding of the scan, at the whole word, in the
    /// modes that run the classifier (whose unknown words it is looked for in).
    #[test]
    fn profane_words_inside_words_are_findings() {
        let text = "what a dumbshit move";
        let f = run(text, Mode::Balanced, &ToxicityConfig::all());
        assert!(
            f.iter()
                .any(|f| f.entity == "profanity" && text.get(f.start..f.end) == Some("dumbshit")),
            "{f:?}"
        );
        assert_eq!(run(text, Mode::Fast, &ToxicityConfig::all()), []);
    }

    #[test]
    fn robust_reads_obfuscated_profanity() {
        let best = |text: &str, mode: Mode| {
            let mut spans = model_read(&TextViews::new(text), mode).spans;
            spans.sort_by(|a, b| b.score.total_cmp(&a.score));
            spans.first().map_or(0.0, |m| m.p)
        };
        let text = "this is sh1t, total bu11sh1t";
        assert!(
            best(text, Mode::Balanced) < 0.5,
            "{}",
            best(text, Mode::Balanced)
        );
        assert!(
            best(text, Mode::Robust) > 0.9,
            "{}",
            best(text, Mode::Robust)
        );
    }

    /// A swear word hidden across word boundaries in the letters-only view does not count.
    #[test]
    fn robust_words_keep_word_boundaries() {
        assert!(!flagged(
            "The bigger commission came from triggering the assistant wats.",
            Mode::Robust
        ));
        assert!(flagged("what a m o t h e r f u c k e r", Mode::Robust));
    }

    #[test]
    fn fast_mode_uses_the_lexicon_only() {
        assert!(!flagged("This is crap and it sucks ass.", Mode::Fast));
        assert!(flagged("This is crap and it sucks ass.", Mode::Balanced));
        assert!(flagged("I will kill you tomorrow.", Mode::Fast));
    }
}
