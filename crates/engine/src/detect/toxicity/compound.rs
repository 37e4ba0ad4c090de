//! Profanity a whole-word lexicon misses: profane words inside longer words ("dumbshit",
//! "whoreface", "fuckingcunt") and profane words written with digits, symbols or look-alike
//! letters inside ("d1ck", "c0ck"), or with asterisks standing for some of their letters
//! ("f***ing", "sh*t", "a**hole").
//!
//! The lists (`compounds.txt`) are derived by `scripts/train/export_profane_stems.py` from
//! rustrict's word list and the SCOWL English word lists Debian ships:
//! - `[stems]`: the single words of `words.txt` of four letters or more. A word holding a stem
//!   counts when what stands before and after the stem is something the engine knows: nothing,
//!   an inflection, another stem, or a word of three letters or more in the classifier's
//!   vocabulary. So "dumb|shit" and "whore|face" count, and "s|cunt|horpe" does not.
//! - `[allow]`: English words that hold a stem and are not profane ("bastardise", "commission").
//! - `[evasion]`: words that count when the original spelling has something other than plain
//!   letters inside: "d1ck" is not a name and "c0ck" is not a rooster. Scanned on the folded view
//!   only, which exists when the text shows signs of obfuscation.
//!
//! Stems are looked for only inside words the toxicity classifier does not know (ASCII words of
//! five letters or more outside its vocabulary; the classifier lists them as it reads an ASCII
//! text): a compound is never a vocabulary word, and walking every byte through the stems'
//! automaton (about 3,900 states, most likely out of cache) cost 3.4–3.8 µs per KiB in
//! criterion (BENCHMARKS.md).
//!
//! A masked word ("f***") counts when some stem or evasion word of the same length has its
//! visible letters in place (the class most such stems have names it). Only runs of letters
//! and asterisks that start with a letter and stand apart from digits count ("x**2" is a power,
//! "**Note**" bold), and asterisks after a word of three letters or more close a footnote or
//! bold text ("Terms*", "**Case Law**").
//!
//! A finding is filed as the word class's own rule (profanity, hate or sexual), so it weighs
//! what the whole word would.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use super::{model, spec};
use crate::detect::lexicon::{Dfa, SignalHit};
use crate::detect::{MemoKey, RawFinding, TextViews};
use crate::normalize::{Family, View, ViewKind};
use crate::policy::Mode;

/// A word class of `words.txt` and the lexicon rule that scores it.
#[derive(Clone, Copy)]
struct Class {
    rule: usize,
    signal: &'static str,
    weight: f64,
}

impl Class {
    /// A hit of this class's rule over `[start, end)` of the original, seen in `view`.
    fn hit(self, start: usize, end: usize, view: ViewKind) -> SignalHit {
        SignalHit {
            signal: self.signal,
            weight: self.weight,
            rule: self.rule,
            start,
            end,
            view,
        }
    }
}

/// The word classes a stem or an evasion word files under.
const CLASSES: [&str; 3] = ["profane_word", "slur_word", "sexual_word"];

/// How a stem may sit inside a longer word.
#[derive(Clone, Copy, PartialEq)]
enum Fit {
    /// Between parts the engine knows.
    Known,
    /// Between any letters, in a word not written as a name (`free`: swear words no harmless
    /// English word holds, "moterfucking").
    Any,
    /// Between parts the engine knows, in a word not written as a name (`inside`: words left out
    /// of the lexicon as harmless on their own, "dickbag" but not "Dickson").
    NotName,
}

struct Stem {
    class: Class,
    fit: Fit,
}

/// A stem or evasion word, as a masked spelling may stand for it.
struct Listed {
    word: &'static str,
    class: Class,
    /// A stem (a word of `words.txt`), not only a variant spelling of the evasion list.
    stem: bool,
}

struct Lists {
    /// The classes of [`CLASSES`], in order.
    classes: Vec<Class>,
    stems: Vec<Stem>,
    /// The stems as words.
    listed: HashSet<&'static str>,
    matcher: Dfa,
    allow: HashSet<&'static str>,
    evasion: HashMap<&'static str, Class>,
    /// The stems and evasion words by length, for masked spellings.
    by_len: Vec<Vec<Listed>>,
    /// What may follow a stem and still be the stem's own word form ("s", "ing"), in the
    /// order the export script writes them.
    inflections: Vec<&'static str>,
}

fn class_of(name: &str) -> Option<Class> {
    spec()
        .rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.seq == [name])
        .map(|(rule, r)| Class {
            rule,
            signal: r.signal,
            weight: r.weight,
        })
}

#[expect(
    clippy::panic,
    reason = "a static list written by a committed script and checked by the unit tests"
)]
fn load() -> Lists {
    let mut stems = Vec::new();
    let mut words = Vec::new();
    let mut allow = HashSet::new();
    let mut evasion = HashMap::new();
    let mut inflections = Vec::new();
    let mut section = "";
    for line in include_str!("compounds.txt").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let mut parts = line.split(' ');
        let word = parts.next().unwrap_or("");
        let class = parts.next().and_then(class_of);
        match (section, class) {
            ("[stems]", Some(class)) => {
                words.push(word);
                let fit = match parts.next() {
                    Some("free") => Fit::Any,
                    Some("inside") => Fit::NotName,
                    _ => Fit::Known,
                };
                stems.push(Stem { class, fit });
            }
            ("[allow]", _) => {
                allow.insert(word);
            }
            ("[evasion]", Some(class)) => {
                evasion.insert(word, class);
            }
            // One ending a line, nothing after it.
            ("[inflections]", _) if word == line => inflections.push(word),
            _ => panic!("compounds.txt: unexpected line {line:?} in {section}"),
        }
    }
    let matcher = Dfa::new(&words);
    let listed = words.iter().copied().collect();
    let mut sorted: Vec<Listed> = words
        .iter()
        .zip(&stems)
        .map(|(&word, s)| Listed {
            word,
            class: s.class,
            stem: true,
        })
        .chain(evasion.iter().map(|(&word, &class)| Listed {
            word,
            class,
            stem: false,
        }))
        .collect();
    // In a fixed order (the map's is not), once each, as a stem where a word is both.
    sorted.sort_by_key(|l| (l.word, !l.stem));
    sorted.dedup_by_key(|l| l.word);
    let mut by_len: Vec<Vec<Listed>> = Vec::new();
    for l in sorted {
        if by_len.len() <= l.word.len() {
            by_len.resize_with(l.word.len() + 1, Vec::new);
        }
        if let Some(slot) = by_len.get_mut(l.word.len()) {
            slot.push(l);
        }
    }
    Lists {
        classes: CLASSES.iter().filter_map(|c| class_of(c)).collect(),
        stems,
        listed,
        matcher,
        allow,
        evasion,
        by_len,
        inflections,
    }
}

static LISTS: LazyLock<Lists> = LazyLock::new(load);

/// Load the lists (while a toxicity policy compiles, not on the first text).
pub(super) fn preload() {
    LazyLock::force(&LISTS);
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

/// The run of ASCII letters around `[s, e)` in `bytes`.
fn token_around(bytes: &[u8], s: usize, e: usize) -> (usize, usize) {
    let start = bytes
        .get(..s)
        .unwrap_or(&[])
        .iter()
        .rposition(|&b| !is_letter(b))
        .map_or(0, |i| i + 1);
    let end = bytes
        .get(e..)
        .unwrap_or(&[])
        .iter()
        .position(|&b| !is_letter(b))
        .map_or(bytes.len(), |i| e + i);
    (start, end)
}

impl Lists {
    /// The class whose rule files under `signal` (one per signal).
    fn class_by_signal(&self, signal: &str) -> Option<Class> {
        self.classes.iter().copied().find(|c| c.signal == signal)
    }

    /// Whether a part of a word around a stem is one the engine knows.
    fn known(&self, part: &str) -> bool {
        part.is_empty()
            || self.inflections.contains(&part)
            || (part.len() >= 3 && (self.listed.contains(part) || model::MODEL.knows(part)))
    }

    /// Profane words inside longer words of `view`, looked for within the byte spans `within`.
    fn compounds(&self, view: View<'_>, within: &[(usize, usize)], out: &mut Vec<SignalHit>) {
        let bytes = view.text.as_bytes();
        // The end of the last word found or allowed: its other stems are not looked at.
        let mut done = 0;
        let mut word = String::new();
        for &(from, to) in within {
            let Some(piece) = view.text.get(from..to) else {
                continue;
            };
            self.matcher.overlapping(piece, |pattern, ms, me| {
                let (ms, me) = (from + ms, from + me);
                let (ts, te) = token_around(bytes, ms, me);
                if ts < done || (ts == ms && te == me) {
                    return;
                }
                lowercase_into(&mut word, bytes.get(ts..te).unwrap_or(&[]));
                // A harmless English word, or a listed word itself (the word lexicon's to judge).
                if self.allow.contains(word.as_str()) || self.listed.contains(word.as_str()) {
                    done = te;
                    return;
                }
                let Some(stem) = self.stems.get(pattern) else {
                    return;
                };
                let pre = word.get(..ms - ts).unwrap_or("");
                let post = word.get(me - ts..).unwrap_or("");
                // A stem merely inflected is a word form ("Fuchs" is a name): the word lexicon
                // lists the forms that count.
                if pre.is_empty() && self.inflections.contains(&post) {
                    return;
                }
                let parts_known = || self.known(pre) && self.known(post);
                let name = || written_as_name(bytes.get(ts..te).unwrap_or(&[]));
                let fits = match stem.fit {
                    Fit::Known => parts_known(),
                    Fit::Any => !name(),
                    Fit::NotName => parts_known() && !name(),
                };
                if fits {
                    done = te;
                    let (start, end) = view.original_span(ts, te);
                    out.push(stem.class.hit(start, end, view.kind));
                }
            });
        }
    }

    /// Profane words of the folded view whose original spelling is obfuscated.
    fn evasions(&self, view: View<'_>, original: &str, out: &mut Vec<SignalHit>) {
        let bytes = view.text.as_bytes();
        let mut word = String::new();
        for (ts, te) in ascii_words(bytes, 3) {
            lowercase_into(&mut word, bytes.get(ts..te).unwrap_or(&[]));
            // The word, or the word inflected ("w4nkers").
            let listed = self.evasion.get(word.as_str()).or_else(|| {
                self.inflections.iter().find_map(|f| {
                    word.strip_suffix(f)
                        .filter(|w| w.len() >= 3)
                        .and_then(|w| self.evasion.get(w))
                })
            });
            let Some(&class) = listed else {
                continue;
            };
            let (s, e) = view.original_span(ts, te);
            let spelled = original.get(s..e).unwrap_or("");
            // Obfuscated: a digit, a symbol or a look-alike from another script among Latin
            // letters ("d1ck", "a$$", "сock" with a Cyrillic "с"). Accents alone are not: they
            // are how Vietnamese or French spell ("dòng" is not "dong"), and a number like "717"
            // or a word in another script is no spelling of an English word.
            let obfuscated = spelled.bytes().any(is_letter)
                && spelled
                    .chars()
                    .any(|c| !c.is_alphabetic() || !(c.is_ascii() || is_latin(c)))
                && !spelled.eq_ignore_ascii_case(&word);
            if obfuscated {
                out.push(class.hit(s, e, view.kind));
            }
        }
    }

    /// The class a masked word ("f***", "sh*t", lowercased) stands for, if any listed word fits
    /// it: same length, its visible letters in place, also after taking a visible inflection
    /// off ("f***ing"). Stems that fit are preferred to variant spellings; among those, the
    /// class most of them have names it ("n****r" fits 23 stems filed as slurs and 6 filed as
    /// profane), the mildest at a tie.
    fn unmask(&self, word: &[u8]) -> Option<Class> {
        // `by_len` gives words of the form's own length.
        let fits = |w: &[u8], listed: &str| {
            w.iter()
                .zip(listed.as_bytes())
                .all(|(&m, &l)| m == MASK || m == l)
        };
        let forms = std::iter::once(word).chain(self.inflections.iter().filter_map(|f| {
            word.strip_suffix(f.as_bytes())
                .filter(|w| w.len() >= 3 && w.contains(&MASK))
        }));
        let fitting: Vec<&Listed> = forms
            .flat_map(|w| {
                self.by_len
                    .get(w.len())
                    .into_iter()
                    .flatten()
                    .filter(move |l| fits(w, l.word))
            })
            .collect();
        let stems_fit = fitting.iter().any(|l| l.stem);
        let mut votes = [0usize; CLASSES.len()];
        for l in fitting.iter().filter(|l| l.stem || !stems_fit) {
            if let Some(i) = self.classes.iter().position(|c| c.rule == l.class.rule)
                && let Some(v) = votes.get_mut(i)
            {
                *v += 1;
            }
        }
        self.classes
            .iter()
            .zip(votes)
            .filter(|(_, n)| *n > 0)
            .max_by(|(a, m), (b, n)| m.cmp(n).then(b.weight.total_cmp(&a.weight)))
            .map(|(c, _)| *c)
    }

    /// Masked spellings of listed words in `text` ("you f***ing idiot").
    fn masked(&self, text: &str, out: &mut Vec<SignalHit>) {
        let bytes = text.as_bytes();
        if memchr::memchr(MASK, bytes).is_none() {
            return;
        }
        let mut word = String::new();
        for (s, e) in masked_words(bytes) {
            lowercase_into(&mut word, bytes.get(s..e).unwrap_or(&[]));
            if let Some(class) = self.unmask(word.as_bytes()) {
                out.push(class.hit(s, e, ViewKind::Original));
            }
        }
    }
}

/// The byte that stands for a hidden letter in a masked word.
const MASK: u8 = b'*';

/// The runs of ASCII letters and asterisks in `bytes` that may be masked words: three bytes or
/// more, a letter first, an asterisk among the letters or after at most two of them, and no
/// digit or letter-like neighbour ("x**2", "2*x").
fn masked_words(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let apart = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_');
    runs(bytes, |b| is_letter(b) || b == MASK).filter(move |&(start, end)| {
        let run = bytes.get(start..end).unwrap_or(&[]);
        let masks = run.iter().filter(|&&b| b == MASK).count();
        let trailing = run.iter().rev().take_while(|&&b| b == MASK).count();
        // Asterisks only after the letters: a masked word shows one or two ("f***", "sh**"); after
        // a longer word they close a footnote or bold text ("Terms*", "**Case Law**").
        let closing = masks == trailing && run.len() - trailing > 2;
        run.len() >= 3
            && run.first().copied().is_some_and(is_letter)
            && masks > 0
            && !closing
            && apart(start.checked_sub(1).and_then(|p| bytes.get(p)))
            && apart(bytes.get(end))
    })
}

/// `word` := the ASCII bytes `bytes` (letters, and a masked word's asterisks), lowercased.
fn lowercase_into(word: &mut String, bytes: &[u8]) {
    word.clear();
    word.extend(bytes.iter().map(|b| char::from(b.to_ascii_lowercase())));
}

/// A letter of the Latin blocks beyond ASCII (accented letters).
fn is_latin(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}

/// A capital first and small letters after ("Dickson", "Scunthorpe"): a name, most likely.
fn written_as_name(word: &[u8]) -> bool {
    word.first().is_some_and(u8::is_ascii_uppercase)
        && word
            .get(1..)
            .is_some_and(|r| r.iter().all(u8::is_ascii_lowercase))
}

/// Profane words inside longer words of `view`, which the classifier read: within its tokens
/// of five bytes or more that are not vocabulary words (`unknown`, where it tracked them: ASCII
/// views), else within the view's ASCII words of five letters or more it does not know.
pub(super) fn in_unknown(
    view: View<'_>,
    unknown: Option<&[(usize, usize)]>,
    out: &mut Vec<SignalHit>,
) {
    let lists = &*LISTS;
    match unknown {
        Some(spans) => lists.compounds(view, spans, out),
        None => lists.compounds(view, &unknown_words(view.text), out),
    }
}

/// The ASCII words (letter runs) of `text` of [`model::UNKNOWN_MIN`] letters or more that are
/// not in the classifier's vocabulary, as byte spans.
fn unknown_words(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut word = String::new();
    ascii_words(bytes, model::UNKNOWN_MIN)
        .filter(|&(s, e)| {
            lowercase_into(&mut word, bytes.get(s..e).unwrap_or(&[]));
            !model::MODEL.knows(&word)
        })
        .collect()
}

/// The runs of ASCII letters of `bytes` at least `min` long, as byte spans.
fn ascii_words(bytes: &[u8], min: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    runs(bytes, is_letter).filter(move |&(s, e)| e - s >= min)
}

/// The longest runs of bytes that `part` accepts, as byte spans.
fn runs(bytes: &[u8], part: fn(u8) -> bool) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let start = i + bytes.get(i..)?.iter().position(|&b| part(b))?;
        let end = bytes
            .get(start..)?
            .iter()
            .position(|&b| !part(b))
            .map_or(bytes.len(), |p| start + p);
        i = end;
        Some((start, end))
    })
}

/// The hits of disguised spellings, in every mode: masked words in the original ("f***"); and
/// on the folded view toxicity reads in `mode` (there is one when the text shows signs of
/// obfuscation), obfuscated spellings, and in balanced mode, where the classifier does not read
/// that view, profane words inside longer words too ("wh0reface"). Computed once per text and
/// mode.
pub(super) fn disguised_hits(tv: &TextViews<'_>, mode: Mode) -> Vec<SignalHit> {
    let found = tv.memo(MemoKey::ToxicityDisguised(mode), || {
        let lists = &*LISTS;
        let mut out = Vec::new();
        lists.masked(tv.original, &mut out);
        let views = tv.views(mode, Family::FoldingLexical);
        let Some(&folded) = views.iter().find(|v| v.kind == ViewKind::Folded) else {
            return out.iter().map(to_finding).collect();
        };
        if mode != Mode::Robust {
            lists.compounds(folded, &unknown_words(folded.text), &mut out);
        }
        lists.evasions(folded, tv.original, &mut out);
        out.iter().map(to_finding).collect()
    });
    found.iter().filter_map(from_finding).collect()
}

/// The view kinds a memo entry names (in its explanation).
const KINDS: [(ViewKind, &str); 4] = [
    (ViewKind::Original, "original"),
    (ViewKind::Normalized, "normalized"),
    (ViewKind::Folded, "folded"),
    (ViewKind::Decoded, "decoded"),
];

/// A hit kept in a memo as a finding: entity the signal, score the weight, explanation the
/// view's kind.
pub(super) fn to_finding(h: &SignalHit) -> RawFinding {
    RawFinding {
        entity: Cow::Borrowed(h.signal),
        start: h.start,
        end: h.end,
        score: h.weight,
        explanation: Cow::Borrowed(
            KINDS
                .iter()
                .find(|(k, _)| *k == h.view)
                .map_or("original", |(_, n)| n),
        ),
    }
}

/// The hit [`to_finding`] kept (the signal names its rule again).
pub(super) fn from_finding(f: &RawFinding) -> Option<SignalHit> {
    let class = LISTS.class_by_signal(&f.entity)?;
    let view = KINDS
        .iter()
        .find(|(_, n)| *n == f.explanation)
        .map_or(ViewKind::Original, |(k, _)| *k);
    Some(class.hit(f.start, f.end, view))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What toxicity's scan adds: the stems inside the words of every view the classifier reads
    /// (unknown tokens only where it tracks them) and the folded view's hits.
    fn found(text: &str, mode: Mode) -> Vec<(&'static str, String)> {
        let tv = TextViews::new(text);
        let mut out = Vec::new();
        if mode != Mode::Fast {
            for view in tv.views(mode, Family::FoldingLexical) {
                if matches!(view.kind, ViewKind::Original | ViewKind::Normalized) {
                    let scored = super::super::model::MODEL.score(view.text);
                    in_unknown(view, scored.unknown.as_deref(), &mut out);
                }
            }
        }
        out.extend(disguised_hits(&tv, mode));
        out.into_iter()
            .map(|h| (h.signal, text.get(h.start..h.end).unwrap_or("").to_owned()))
            .collect()
    }

    #[test]
    fn the_lists_load_and_name_lexicon_rules() {
        let l = &*LISTS;
        assert!(l.stems.len() > 500, "{} stems", l.stems.len());
        assert!(l.allow.contains("commission") && l.allow.contains("bastardise"));
        assert!(l.evasion.contains_key("dick") && !l.evasion.contains_key("gay"));
        assert_eq!(l.classes.len(), CLASSES.len());
        for s in &l.stems {
            assert!(matches!(s.class.signal, "profanity" | "hate" | "sexual"));
        }
        assert!(l.stems.iter().any(|s| s.fit == Fit::Any));
        assert!(l.stems.iter().any(|s| s.fit == Fit::NotName));
        // The script's order, which `evasions` and `unmask` try the endings in.
        assert_eq!(l.inflections.first(), Some(&"s"));
        assert!(l.inflections.contains(&"ing") && l.inflections.contains(&"iness"));
        assert!(!l.inflections.contains(&""));
    }

    #[test]
    fn profane_words_inside_longer_words() {
        for (text, signal) in [
            ("what a dumbshit move", "profanity"),
            ("you whoreface", "hate"),
            ("HEADFUCK of a film", "profanity"),
            ("go away fuckingcunt", "profanity"),
            ("a moterfucking mess", "profanity"), // any letters around a swear word
            ("shut it dickbag", "profanity"),     // a word harmless alone, inside a longer one
            ("what an assclown", "profanity"),
        ] {
            let f = found(text, Mode::Balanced);
            assert!(f.iter().any(|(s, _)| *s == signal), "{text}: {f:?}");
        }
        // The span is the whole word, in the original's bytes.
        assert_eq!(
            found("what a Dumbshit move", Mode::Balanced),
            [("profanity", "Dumbshit".to_owned())]
        );
    }

    #[test]
    fn harmless_words_holding_a_stem_do_not_count() {
        for text in [
            "I live in Scunthorpe and work in Penistone.",
            "The commission will bastardise the plan.",
            "The basement flickered; pull the trigger on the advertisement.",
            "Fuchs and Whores", // inflections are the word lexicon's to judge
            "The cocktail bar near the peacock enclosure; the Nutcracker suite.",
            "That is bullshit.", // an English word: the classifier's to judge
            "Dickson met Cockburn in the classroom to pass the assignment.", // names, words
            "Scunthorpe United", // a name, even around a swear word
        ] {
            assert_eq!(found(text, Mode::Balanced), [], "{text}");
        }
    }

    #[test]
    fn texts_beyond_ascii_are_looked_at_in_their_unknown_words() {
        let text = "Ça alors, quel dumbshit — «whoreface»! The commission’s report.";
        let f = found(text, Mode::Balanced);
        let mut words: Vec<&str> = f.iter().map(|(_, w)| w.as_str()).collect();
        words.sort_unstable();
        words.dedup(); // the original and the normalised view
        assert_eq!(words, ["dumbshit", "whoreface"], "{f:?}");
        let spans = unknown_words(text);
        let unknown: Vec<&str> = spans.iter().filter_map(|&(s, e)| text.get(s..e)).collect();
        assert!(
            unknown.contains(&"dumbshit") && !unknown.contains(&"report"),
            "{unknown:?}"
        );
    }

    #[test]
    fn masked_words_stand_for_listed_words() {
        for (text, word) in [
            ("you f***ing idiot", "f***ing"),
            ("what a sh*t show", "sh*t"),
            ("F*** this", "F***"),
            ("shut up, a**hole.", "a**hole"),
            ("stupid b*tch", "b*tch"),
        ] {
            let f = found(text, Mode::Balanced);
            assert_eq!(f, [("profanity", word.to_owned())], "{text}");
            assert_eq!(found(text, Mode::Fast), f, "{text}: every mode");
        }
        // The class most of the fitting stems have names it: hate for "n****r".
        assert_eq!(found("those n****rs", Mode::Balanced)[0].0, "hate");
        // Stems before variant spellings: "s***" fits 3 profane stems and 5 sexual variants.
        assert_eq!(found("oh s***", Mode::Balanced)[0].0, "profanity");
        for text in [
            "**Note**: run `ls *.txt` and compute x**2 + 2*y",
            "Terms* apply; see footnote*",
            "**Sex Education** and **Case Law**: Tits**, Cock** and Fag**", // bold, closed
            "a*b*c and p*q",
            "h***o there", // no listed word fits
            "the **best** and *italic* words",
        ] {
            assert_eq!(found(text, Mode::Balanced), [], "{text}");
        }
    }

    #[test]
    fn obfuscated_spellings_of_profane_words() {
        let f = found("shut up you d1ck", Mode::Balanced);
        assert_eq!(f, [("profanity", "d1ck".to_owned())], "{f:?}");
        assert!(!found("what a c0ck", Mode::Balanced).is_empty());
        assert!(!found("stupid w4nkers", Mode::Balanced).is_empty()); // inflected
        // A compound seen only once de-obfuscated, on the folded view balanced mode adds.
        assert_eq!(
            found("you wh0reface", Mode::Balanced),
            [("hate", "wh0reface".to_owned())]
        );
        // Plain spellings of the same words are the word lexicon's (which leaves out the
        // ambiguous ones), numbers are not words, and fast mode has no folded view.
        assert_eq!(found("Dick Cheney fed the cock", Mode::Balanced), []);
        assert_eq!(found("it cost 717 dollars", Mode::Balanced), []);
        assert_eq!(found("Tiếng Việt: dòng sông", Mode::Balanced), []);
        assert!(!found("what a \u{0441}ock", Mode::Balanced).is_empty()); // Cyrillic с
        assert_eq!(found("shut up you d1ck", Mode::Fast), []);
    }
}
