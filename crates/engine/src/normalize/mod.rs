//! Views of a text that detectors scan, each with a map back to the original.
//!
//! Every view keeps, for each of its bytes, the byte range of the original character it came
//! from. A match `[s, e)` in a view therefore maps back to `[map[s].0, map[e-1].1)`, which always
//! lies on character boundaries of the original: findings and redaction refer to what the user
//! actually sent, never to a normalised copy.
//!
//! Views are built lazily and at most once per text and evaluation:
//! - `normalized` (balanced, robust): NFKC per character, invisible characters removed, non-ASCII
//!   lowercased. For pure ASCII text it is the original itself, so it costs nothing.
//! - `folded` (robust; toxicity from balanced): accents stripped (NFKD minus combining marks),
//!   homoglyphs and leetspeak mapped to Latin letters, spaced-out letters joined, runs of a
//!   repeated letter collapsed.
//! - `squashed` (robust): `folded` with everything but letters and digits removed, scanned with
//!   squashed phrase lists so `i.g.n.o.r.e all` style spacing cannot hide a phrase.
//! - `rot13` (robust): the normalised text rotated by 13.
//! - `decoded` (robust): base64, hex and Unicode-tag segments decoded; each decoded byte maps to
//!   the whole encoded segment.
//!
//! The module is a leaf of the crate: detectors read these views through `detect::TextViews`,
//! which adds what one evaluation shares across detectors.

mod decode;
mod fold;
mod obfuscation;
pub(crate) use obfuscation::{LOWER_LETTER, WORD_BYTE};
mod unicode;

use std::cell::OnceCell;

use crate::policy::Mode;
use decode::{build_decoded, rot13, rot13_byte};
use fold::fold;
use obfuscation::may_be_obfuscated;
use unicode::{build_normalized, normalized_chars};

pub(crate) use decode::tag_ascii;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewKind {
    Original,
    Normalized,
    Folded,
    Squashed,
    Rot13,
    Decoded,
}

/// One text a detector scans, plus the way back to the original.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub kind: ViewKind,
    pub text: &'a str,
    /// `None` means the view is the original.
    map: Option<&'a [(usize, usize)]>,
}

impl View<'_> {
    /// Map a byte span of this view to a byte span of the original text.
    pub(crate) fn original_span(self, start: usize, end: usize) -> (usize, usize) {
        match self.map {
            None => (start, end),
            Some(map) => {
                let s = map.get(start).or(map.last()).map_or(0, |m| m.0);
                let e = map
                    .get(end.saturating_sub(1).max(start))
                    .or(map.last())
                    .map_or(s, |m| m.1);
                (s, e.max(s))
            }
        }
    }
}

#[derive(Debug, Default)]
struct Owned {
    text: String,
    map: Vec<(usize, usize)>,
}

impl Owned {
    fn from_chars(chars: &[(char, usize, usize)]) -> Self {
        let mut o = Owned {
            text: String::with_capacity(chars.len()),
            map: Vec::with_capacity(chars.len()),
        };
        for &(c, s, e) in chars {
            o.push(c, s, e);
        }
        o
    }

    fn push(&mut self, c: char, s: usize, e: usize) {
        self.text.push(c);
        if c.is_ascii() {
            self.map.push((s, e));
            return;
        }
        for _ in 0..c.len_utf8() {
            self.map.push((s, e));
        }
    }

    fn view(&self, kind: ViewKind) -> View<'_> {
        View {
            kind,
            text: &self.text,
            map: Some(&self.map),
        }
    }
}

/// Which views a detector family wants in a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Structured patterns (PII, secrets, operator regexes): original, normalised, decoded.
    Pattern,
    /// Phrase scoring (injection, topics): everything in robust.
    Lexical,
    /// Lexicons that fold obfuscation (toxicity, keywords): like `Lexical`, with the folded
    /// view from balanced on.
    FoldingLexical,
}

/// All views of one text, built on demand.
pub(crate) struct Views<'a> {
    pub original: &'a str,
    ascii: OnceCell<bool>,
    obfuscated: OnceCell<bool>,
    normalized: OnceCell<Option<Owned>>,
    folded: OnceCell<Owned>,
    squashed: OnceCell<Owned>,
    rot13: OnceCell<Owned>,
    decoded: OnceCell<Vec<Owned>>,
}

impl<'a> Views<'a> {
    pub(crate) fn new(original: &'a str) -> Self {
        Views {
            original,
            ascii: OnceCell::new(),
            obfuscated: OnceCell::new(),
            normalized: OnceCell::new(),
            folded: OnceCell::new(),
            squashed: OnceCell::new(),
            rot13: OnceCell::new(),
            decoded: OnceCell::new(),
        }
    }

    /// Whether the original is pure ASCII (checked once).
    pub(crate) fn is_ascii(&self) -> bool {
        *self.ascii.get_or_init(|| self.original.is_ascii())
    }

    pub(crate) fn original(&self) -> View<'a> {
        View {
            kind: ViewKind::Original,
            text: self.original,
            map: None,
        }
    }

    /// The normalised view, or `None` when it equals the original.
    fn normalized(&self) -> Option<View<'_>> {
        self.normalized
            .get_or_init(|| {
                if self.is_ascii() {
                    None
                } else {
                    build_normalized(self.original)
                }
            })
            .as_ref()
            .map(|o| o.view(ViewKind::Normalized))
    }

    fn folded(&self) -> View<'_> {
        self.folded
            .get_or_init(|| fold(self.original))
            .view(ViewKind::Folded)
    }

    fn squashed(&self) -> View<'_> {
        self.squashed
            .get_or_init(|| {
                let f = self.folded.get_or_init(|| fold(self.original));
                let mut o = Owned {
                    text: String::with_capacity(f.text.len()),
                    map: Vec::with_capacity(f.text.len()),
                };
                for (i, c) in f.text.char_indices() {
                    if c.is_alphanumeric() {
                        let (s, e) = f.map.get(i).copied().unwrap_or((0, 0));
                        o.push(c, s, e);
                    }
                }
                o
            })
            .view(ViewKind::Squashed)
    }

    pub(crate) fn rot13(&self) -> View<'_> {
        self.rot13
            .get_or_init(|| {
                if self.is_ascii() {
                    // Normalising ASCII only lowercases it; one byte per char.
                    let text: String = self
                        .original
                        .bytes()
                        .map(|b| char::from(rot13_byte(b.to_ascii_lowercase())))
                        .collect();
                    let map = (0..text.len()).map(|i| (i, i + 1)).collect();
                    return Owned { text, map };
                }
                let chars = normalized_chars(self.original);
                let rotated: Vec<(char, usize, usize)> = chars
                    .into_iter()
                    .map(|(c, s, e)| (rot13(c), s, e))
                    .collect();
                Owned::from_chars(&rotated)
            })
            .view(ViewKind::Rot13)
    }

    pub(crate) fn decoded(&self) -> impl Iterator<Item = View<'_>> {
        self.decoded
            .get_or_init(|| build_decoded(self.original))
            .iter()
            .map(|o| o.view(ViewKind::Decoded))
    }

    /// The views `family` scans in `mode`, original first. Views identical to an earlier one are
    /// left out.
    pub(crate) fn views(&self, mode: Mode, family: Family) -> Vec<View<'_>> {
        let mut out = vec![self.original()];
        if mode == Mode::Fast {
            return out;
        }
        if let Some(n) = self.normalized() {
            out.push(n);
        }
        // Folding only changes what a lexicon or the classifier sees when the text shows a sign
        // of obfuscation (`may_be_obfuscated`): toxicity-style lexicons look from balanced on,
        // everything lexical in robust. Plain text skips the view (and the classifier's second
        // run over it); the letters-only and rot13 views below are still scanned in robust.
        let folded_now = family != Family::Pattern
            && (family == Family::FoldingLexical || mode == Mode::Robust)
            && *self
                .obfuscated
                .get_or_init(|| may_be_obfuscated(self.original));
        if folded_now {
            let f = self.folded();
            if out.iter().all(|v| v.text != f.text) {
                out.push(f);
            }
        }
        if mode == Mode::Robust {
            if family != Family::Pattern {
                out.push(self.squashed());
                out.push(self.rot13());
            }
            out.extend(self.decoded());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn mapped(view: &View<'_>, needle: &str, original: &str) -> Option<String> {
        let s = view.text.find(needle)?;
        let (a, b) = view.original_span(s, s + needle.len());
        original.get(a..b).map(str::to_owned)
    }

    #[test]
    fn ascii_text_has_no_normalized_copy() {
        let tv = Views::new("Plain ASCII text");
        assert_eq!(tv.views(Mode::Balanced, Family::Pattern).len(), 1);
    }

    #[test]
    fn normalized_maps_back() {
        let original = "ﬁle Ｐａｓｓ\u{200B}word";
        let tv = Views::new(original);
        let views = tv.views(Mode::Balanced, Family::Pattern);
        let n = views[1];
        assert_eq!(n.text, "file password");
        assert_eq!(
            mapped(&n, "password", original).as_deref(),
            Some("Ｐａｓｓ\u{200B}word")
        );
        assert_eq!(mapped(&n, "fi", original).as_deref(), Some("ﬁ"));
    }

    #[test]
    fn ascii_rot13_view_equals_the_general_one() {
        let text = "Uryyb, Jbeyq! 123 ABC xyz";
        let tv = Views::new(text);
        let fast = tv.rot13();
        let chars = normalized_chars(text);
        let rotated: Vec<(char, usize, usize)> = chars
            .into_iter()
            .map(|(c, s, e)| (rot13(c), s, e))
            .collect();
        let general = Owned::from_chars(&rotated);
        assert_eq!(fast.text, general.text);
        assert_eq!(fast.map, Some(&general.map[..]));
    }
}
