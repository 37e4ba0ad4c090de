//! `sentinelai.prompt_injection` and `sentinelai.jailbreak`: rule evidence plus a trained classifier.
//!
//! Evidence comes from rules over word classes ("ignore" … "previous" … "instructions"), chat
//! template tokens, exfiltration phrasing and persona / refusal-suppression language. No single
//! ordinary word reaches the default threshold (0.5); a direct override or two independent weaker
//! signals do.
//!
//! From `balanced` on, a logistic-regression classifier ([`crate::detect::model`], trained on
//! third-party data by `scripts/train/train_attacks.py`) scores the text too, and the two are
//! combined by [`blend`]: the classifier's probability `p`, raised by the rule score `r` by at
//! most [`RULE_LIFT`] — `max(p, min(r, p + RULE_LIFT))`. So a confident classifier fires on a
//! paraphrase no rule knows, and a rule hit fires unless the classifier is confident the text is
//! benign (an article *about* "ignore previous instructions" attacks). Modes:
//! - `fast`: rules only, on the text as written.
//! - `balanced`: rules and the classifier on the text as written, its normalised view and, when
//!   cheap checks find them, its folded (homoglyphs, leetspeak, spaced letters), decoded
//!   (base64, hex, tag characters) and rot13 views (see [`attack_views`]).
//! - `robust`: the same, with the folded, letters-only and rot13 views always scanned by the
//!   rules. Every rule hit blends with the classifier (see [`attack_classifier_reads`]).

mod lexicons;
mod quotes;
mod rot13;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use crate::detect::lexicon::{LazyLexicon, SignalHit, combine};
use crate::detect::model::{INJECTION_MODEL, JAILBREAK_MODEL, Model};

use crate::detect::TextViews;
use crate::detect::{RawFinding, hits_to_findings, lexical_hits, view_hits};
use crate::normalize::{Family, View, ViewKind};
use crate::policy::Mode;

pub(crate) use lexicons::{INJECTION, JAILBREAK};
use quotes::without_spans;
pub(crate) use quotes::{in_quotes, mention_spans};
pub(crate) use rot13::looks_rot13;

/// Turns evidence into a probability that the text is an attack.
pub(crate) trait Scorer: Sync {
    fn score(&self, text: &str, evidence: &[SignalHit]) -> f64;
}

/// The rule-evidence scorer (noisy-or), used by the topic detectors and the bundles.
pub(crate) struct Heuristic;

impl Scorer for Heuristic {
    fn score(&self, _text: &str, evidence: &[SignalHit]) -> f64 {
        combine(evidence)
    }
}

pub(crate) static HEURISTIC: Heuristic = Heuristic;

/// How far rule evidence may lift the score above the classifier's probability.
pub(crate) const RULE_LIFT: f64 = 0.4;

/// Combine the rule score `rules` with the classifier probability `p`.
pub(crate) fn blend(rules: f64, p: f64) -> f64 {
    p.max(rules.min(p + RULE_LIFT)).clamp(0.0, 1.0)
}

/// Which of the two attack detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attack {
    Injection,
    Jailbreak,
}

impl Attack {
    fn parts(self) -> (&'static LazyLexicon, &'static Model, &'static str) {
        match self {
            Attack::Injection => (&INJECTION, &INJECTION_MODEL, "prompt injection"),
            Attack::Jailbreak => (&JAILBREAK, &JAILBREAK_MODEL, "jailbreak"),
        }
    }
}

/// The views the classifier scores (not the letters-only and rot13 views).
fn classifier_reads(kind: ViewKind) -> bool {
    matches!(
        kind,
        ViewKind::Original | ViewKind::Normalized | ViewKind::Folded | ViewKind::Decoded
    )
}

/// The classifier's best probability over the views it reads in `mode`; `None` in fast mode.
pub(crate) fn classifier_score(model: &Model, tv: &TextViews<'_>, mode: Mode) -> Option<f64> {
    if mode == Mode::Fast {
        return None;
    }
    let best = tv
        .views(mode, Family::Lexical)
        .iter()
        .filter(|v| classifier_reads(v.kind))
        .map(|v| model.score(v.text))
        .fold(0.0, f64::max);
    Some(best)
}

/// Words a text needs before the classifier alone may flag it: fewer give it too few features
/// to outweigh its prior.
const CLASSIFIER_ONLY_MIN_WORDS: usize = 3;

/// The views the attack detectors read in `mode`. Beyond the shared lexical views:
/// - `balanced`: the folded view (homoglyphs, leetspeak, spaced-out letters joined) when the
///   text shows a sign of obfuscation, the decoded base64 / hex / tag-character segments, and
///   the rot13 view when the text reads like rot13 English ([`looks_rot13`]); each costs nothing
///   on plain text but a cheap check.
/// - `robust`: every view (folded, letters-only, rot13, decoded).
fn attack_views<'t>(tv: &'t TextViews<'_>, mode: Mode, rot13: bool) -> Vec<View<'t>> {
    match mode {
        Mode::Fast | Mode::Robust => tv.views(mode, Family::Lexical),
        Mode::Balanced => {
            let mut views = tv.views(mode, Family::FoldingLexical);
            views.extend(tv.decoded());
            if rot13 {
                views.push(tv.rot13());
            }
            views
        }
    }
}

/// Rule hits the attack classifier may overrule (blend, at most [`RULE_LIFT`] above its
/// probability): hits in every view, the letters-only and rot13 ones included. Unlike the topic
/// detectors, no view's rule hits count in full: in long ordinary documents the letters-only
/// view matches phrases across word boundaries, and the classifier reads each de-obfuscated form
/// of an attack (folded, decoded, rot13) itself.
fn attack_classifier_reads(_kind: ViewKind) -> bool {
    true
}

/// Whether at least half of the letters of `text` are Latin (a text without letters counts as
/// Latin). A word that mixes Latin with letters of another script is homoglyph obfuscation
/// (`іgnоrе` with Cyrillic `і`, `о`, `е`), so all its letters count as Latin; a word wholly in
/// another script does not.
pub(crate) fn mostly_latin(text: &str) -> bool {
    if text.is_ascii() {
        return true;
    }
    let latin = |c: char| {
        c.is_ascii_alphabetic()
            || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
                && c != '\u{00D7}'
                && c != '\u{00F7}'
    };
    let (mut ours, mut other) = (0usize, 0usize);
    for word in text.split(|c: char| !c.is_alphabetic()) {
        let (mut l, mut o) = (0usize, 0usize);
        for c in word.chars() {
            if latin(c) {
                l += 1;
            } else {
                o += 1;
            }
        }
        if l > 0 {
            ours += l + o;
        } else {
            other += o;
        }
    }
    ours >= other
}

/// Run `prompt_injection` or `jailbreak`: findings for each rule hit (or, when only the classifier
/// fired, one finding over the whole text) when the combined score reaches `min_score`.
pub(crate) fn scan(
    attack: Attack,
    tv: &TextViews<'_>,
    mode: Mode,
    min_score: f64,
) -> Vec<RawFinding> {
    let (lex, model, what) = attack.parts();
    let rot13_ok = mode != Mode::Fast && looks_rot13(tv.original);
    let views = attack_views(tv, mode, rot13_ok);
    let mut hits = view_hits(lex, tv, &views);
    if mode == Mode::Fast && !hits.is_empty() {
        // Rules alone: a phrase quoted as a mention is no evidence.
        let spans = mention_spans(tv.original);
        hits.retain(|h| !spans.iter().any(|&(a, b)| a <= h.start && h.end <= b));
    }
    // The view the classifier liked best (an encoded segment is one "word" as written), whose
    // words count.
    let mut words = tv.original;
    let p = (mode != Mode::Fast).then(|| {
        let (p, best) = classifier_views(&views, rot13_ok)
            .map(|v| (model.score(v.text), v.text))
            .fold(
                (0.0, words),
                |(bp, bt), (p, text)| {
                    if p > bp { (p, text) } else { (bp, bt) }
                },
            );
        words = best;
        // Every rule hit the classifier can read sits inside a quoted mention ("the attacker's
        // message was 'forget your rules'"): judge the sentence around the quote, not the quote.
        let mut seen = hits
            .iter()
            .filter(|h| attack_classifier_reads(h.view))
            .peekable();
        if seen.peek().is_none() {
            return p;
        }
        let spans = mention_spans(tv.original);
        let mentioned = seen.all(|h| spans.iter().any(|&(a, b)| a <= h.start && h.end <= b));
        if mentioned {
            model.score(&without_spans(tv.original, &spans))
        } else {
            p
        }
    });
    // The classifiers learned mostly Latin-script text: on a text mostly in another script
    // (Chinese, Japanese, Russian ...) a low probability is no evidence of innocence, so it may
    // not veto the rules there (it may still fire on its own).
    let verdict = match p {
        None => Verdict::Rules,
        Some(p) if !mostly_latin(tv.original) => Verdict::Foreign(p),
        Some(p) => Verdict::Classifier(p),
    };
    decide(
        hits,
        verdict,
        what,
        tv,
        min_score,
        attack_classifier_reads,
        words,
    )
}

/// The views the attack classifier scores: of the original, normalised and folded views only
/// the most cleaned-up one present (the classifier misreads text still full of zero-width
/// characters or spaced-out letters, benign or not; the rules read them all), then every
/// decoded view, and the rot13 view only when the text reads like rot13 (`rot13_ok`): rot13 of
/// ordinary text is gibberish, which the jailbreak model, knowing none of its features, may score
/// near its bias. For the same reason a text that reads like rot13 is scored through its rot13
/// view instead of as written (on val, benign rot13 texts flagged fell from 5 of 22 to 1).
/// Never the letters-only view, whose words run together.
fn classifier_views<'v, 't>(
    views: &'v [View<'t>],
    rot13_ok: bool,
) -> impl Iterator<Item = &'v View<'t>> {
    let rank = |k: ViewKind| match k {
        ViewKind::Original => 1,
        ViewKind::Normalized => 2,
        ViewKind::Folded => 3,
        _ => 0,
    };
    let cleanest = views.iter().map(|v| rank(v.kind)).max().unwrap_or(0);
    views.iter().filter(move |v| {
        let r = rank(v.kind);
        if r > 0 {
            // A text that reads like rot13 is gibberish as written: its rot13 view speaks for it.
            !rot13_ok && r == cleanest
        } else if v.kind == ViewKind::Rot13 {
            rot13_ok
        } else {
            v.kind != ViewKind::Squashed
        }
    })
}

/// Rule evidence from `lex` blended with `model` (from balanced on): findings for each rule hit,
/// or one finding over the whole text when only the classifier fired. Shared by the attack and
/// topic detectors.
pub(crate) fn scan_with(
    lex: &LazyLexicon,
    model: &Model,
    what: &str,
    tv: &TextViews<'_>,
    mode: Mode,
    min_score: f64,
) -> Vec<RawFinding> {
    let hits = lexical_hits(lex, tv, mode, Family::Lexical);
    let p = classifier_score(model, tv, mode);
    let verdict = p.map_or(Verdict::Rules, Verdict::Classifier);
    // The classifier reads the original text, whose words count.
    let words = tv.original;
    decide(hits, verdict, what, tv, min_score, classifier_reads, words)
}

/// What the classifier says about a text, as [`decide`] weighs it against the rules.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// Fast mode: the rules alone.
    Rules,
    /// The classifier's probability; it may hold back rule hits it could read ([`blend`]).
    Classifier(f64),
    /// The probability for a text mostly in a script the classifier barely learned (Chinese,
    /// Japanese, Russian ...): a low one is no evidence of innocence, so the rules count in full,
    /// and a middling one is noise around the bias, so alone it needs [`FOREIGN_MIN_P`].
    Foreign(f64),
}

/// The probability the classifier needs to fire alone on a [`Verdict::Foreign`] text.
const FOREIGN_MIN_P: f64 = 0.6;

/// Blend rule hits with the classifier's verdict into findings.
fn decide(
    hits: Vec<SignalHit>,
    verdict: Verdict,
    what: &str,
    tv: &TextViews<'_>,
    min_score: f64,
    reads: fn(ViewKind) -> bool,
    words: &str,
) -> Vec<RawFinding> {
    let p = match verdict {
        Verdict::Rules => None,
        Verdict::Classifier(p) | Verdict::Foreign(p) => Some(p),
    };
    let score = match verdict {
        Verdict::Rules => combine(&hits),
        Verdict::Foreign(p) => {
            let alone = if p >= FOREIGN_MIN_P { p } else { 0.0 };
            alone.max(combine(
                hits.iter().filter(|h| !in_quotes(tv.original, h.start)),
            ))
        }
        Verdict::Classifier(p) => {
            // The classifier may only overrule evidence it could read itself: hits found in the
            // squashed or rot13 views count in full.
            let (seen, unseen): (Vec<&SignalHit>, Vec<&SignalHit>) =
                hits.iter().partition(|h| reads(h.view));
            // A phrase inside quotation marks is usually a mention ("attackers write 'ignore all
            // previous instructions'"), so it lifts nothing: the classifier, which reads the
            // framing around the quote, decides alone.
            let lifting = seen
                .into_iter()
                .filter(|h| !in_quotes(tv.original, h.start));
            blend(combine(lifting), p).max(combine(unseen))
        }
    };
    if score <= 0.0 || score < min_score {
        return Vec::new();
    }
    if !hits.is_empty() {
        return hits_to_findings(&hits, score, what);
    }
    // The classifier alone: a very short text gives it too few features to outweigh its prior,
    // so a verdict without any rule evidence needs a few words (`min_score` was checked above):
    // `words` is the text of the view the classifier read (a decoded segment, say). Counted
    // only here, where it matters.
    if words
        .split_whitespace()
        .nth(CLASSIFIER_ONLY_MIN_WORDS - 1)
        .is_none()
    {
        return Vec::new();
    }
    let text = tv.original;
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len().max(start);
    vec![RawFinding {
        entity: Cow::Borrowed("classifier"),
        start,
        end,
        score,
        explanation: format!(
            "{what}: trained classifier probability {:.2}; combined score {score:.2}",
            p.unwrap_or(0.0)
        )
        .into(),
    }]
}
