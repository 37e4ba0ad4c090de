//! Names, places and organisations (`person`, `location`, `organization` in `sentinelai.pii`):
//! a small learned sequence tagger over gazetteer and context features.
//!
//! An averaged perceptron with BIO tags, trained by `scripts/train/ner.py` on the train split
//! of the `names` quality task only (real annotated tweets and real sentences with placed
//! gazetteer values), tags tokens greedily left to right. Its features are the word, its shape,
//! prefix and suffix, the two words either side, the gazetteer flags of the token and its
//! neighbours (first and last names, common words, cities, countries and states, titles such
//! as `Dr`, organisation suffixes such as `GmbH`, street types) and the previous tag. The lists
//! and the weights are data files; `data/golden.json`, written by the training script, pins
//! this file to the script's scoring in the tests.
//!
//! Cost: in balanced mode only candidates are scored: capitalised tokens, digits next to them
//! (house numbers, postcodes) and connectors between them (`of`, `de`, `,`); everything else is
//! `O` without a lookup, so ordinary prose costs little more than its tokenisation. Robust
//! mode scores every token and so also finds lower-case names (`I met jenny in london`);
//! balanced mode does so too in a text written without any capital (`i met jenny in london`),
//! where case tells nothing.
//!
//! The scheme (keep in lock-step with `scripts/train/ner.py`):
//! 1. Tokens are maximal runs of alphanumeric characters, where an apostrophe or hyphen between
//!    two alphanumerics stays inside (`O'Neill`, `Winston-Salem`) except a final `'s`; every
//!    other non-space character is a token of its own.
//! 2. A feature is a string hashed with FNV-1a 64; its bucket is the top `bits` bits of the hash
//!    times [`MUL`]; a bucket holds one `i16` per tag, and a tag's score is the sum over the
//!    token's features.

mod candidates;
mod edges;
mod fnv;
pub(crate) mod gazetteer;
mod model;
mod score;
#[cfg(test)]
mod tests;
mod tokens;

use crate::policy::Mode;
use edges::{initial_before, trim_periods};
use gazetteer::GAZETTEER;
use model::MODEL;
use score::decode_each;
use tokens::tokenize;

const MUL: u64 = 0x9E37_79B9_7F4A_7C15;
const MAX_TOKENS: usize = 4096;
const MAX_PHRASE: usize = 4;
const NTAGS: usize = 7;
const TAGS: [&str; NTAGS] = [
    "O",
    "B-person",
    "I-person",
    "B-location",
    "I-location",
    "B-organization",
    "I-organization",
];

/// What the tagger reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Person,
    Location,
    Organization,
}

/// One entity: byte offsets into the scanned text and a confidence in [0.5, 0.99].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entity {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub score: f64,
}

fn kind_of(tag: usize) -> Kind {
    match (tag - 1) / 2 {
        0 => Kind::Person,
        1 => Kind::Location,
        _ => Kind::Organization,
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The least confidence of an entity in a text written without capitals. Below it the tagger
/// all but ties with `O`: on the val split's texts without capitals, 40 of the 41 entities under
/// 0.55 were wrong (`floor` in `the meeting is at 10:30 on floor 4`), and dropping them raised
/// their strict F1 from 0.639 to 0.701; 0.6 to 0.9 scored the same or less.
const CASELESS_MIN_CONFIDENCE: f64 = 0.55;

/// Whether `text` is written without capitals: no upper-case letter in any script, ASCII
/// lower-case letters, and at most one letter in ten outside the Latin alphabet (`a`–`z`,
/// U+00C0–U+024F). Text mostly in scripts without case (Chinese) or in other scripts stays
/// with balanced mode's candidates: the tagger learnt English lower-case names only.
fn written_without_capitals(text: &str) -> bool {
    // Prose has a capital within its first few bytes, where this stops.
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    if text.is_ascii() {
        return text.bytes().any(|b| b.is_ascii_lowercase());
    }
    let (mut ascii, mut latin, mut other) = (false, 0usize, 0usize);
    for c in text.chars() {
        if c.is_uppercase() {
            return false;
        }
        if c.is_ascii_lowercase() {
            ascii = true;
            latin += 1;
        } else if ('\u{c0}'..='\u{24f}').contains(&c) {
            latin += 1;
        } else if c.is_alphabetic() {
            other += 1;
        }
    }
    ascii && other * 10 <= latin
}

/// The names, places and organisations in `text`. Fast mode has no tagger: callers skip it.
pub(crate) fn scan(text: &str, mode: Mode) -> Vec<Entity> {
    if !text.chars().any(char::is_alphabetic) {
        return Vec::new();
    }
    let t = tokenize(text, mode == Mode::Robust);
    // A text written without capitals (chat style: `i met jenny in london`) leaves balanced
    // mode's candidates nothing to start from, and its casing tells nothing: every token is
    // scored, as in robust mode.
    let robust = mode == Mode::Robust || t.caseless;
    if !robust && !t.list.iter().any(|x| x.upper_start) {
        return Vec::new();
    }
    let m = &*MODEL;
    let mut out: Vec<Entity> = Vec::new();
    // Running (kind, start token, sum of token confidences).
    let mut cur: Option<(usize, usize, f64)> = None;
    // The last scored token: a token that was not scored is `O`, which ends the running entity.
    let mut last = 0;
    let close = |cur: &mut Option<(usize, usize, f64)>, end_tok: usize, out: &mut Vec<Entity>| {
        if let Some((tag, s, sum)) = cur.take() {
            // The confidence is the tagger's, over the tokens it tagged (before the edges
            // below are cleaned up).
            let n = (end_tok - s + 1) as f64;
            if t.caseless && sum / n < CASELESS_MIN_CONFIDENCE {
                return;
            }
            let Some((mut first, last)) = trim_periods(&t, s, end_tok) else {
                return;
            };
            let kind = kind_of(tag);
            // A person's initials belong to the name (`J. R. Smith`), even one the tagger made
            // an entity of its own; one that ends a longer entity stays there.
            while kind == Kind::Person
                && let Some(letter) = initial_before(&t, first)
            {
                let l = &t.list[letter];
                if let Some(prev) = out.last()
                    && prev.end > l.start
                {
                    if (prev.start, prev.end) != (l.start, l.end) {
                        break;
                    }
                    out.pop();
                }
                first = letter;
            }
            out.push(Entity {
                kind,
                start: t.list[first].start,
                end: t.list[last].end,
                score: (sum / n).clamp(0.5, 0.99),
            });
        }
    };
    decode_each(&t, robust, m, &GAZETTEER, |i, tag, sc| {
        if i > last + 1 {
            close(&mut cur, last, &mut out);
        }
        last = i;
        let conf = if tag == 0 {
            0.0
        } else {
            sigmoid(f64::from(sc[tag] - sc[0]) / m.scale)
        };
        let continues = tag != 0 && tag.is_multiple_of(2) && cur.is_some_and(|c| c.0 == tag - 1);
        if continues {
            if let Some(c) = cur.as_mut() {
                c.2 += conf;
            }
            return;
        }
        close(&mut cur, i.saturating_sub(1), &mut out);
        if tag != 0 {
            cur = Some((if tag.is_multiple_of(2) { tag - 1 } else { tag }, i, conf));
        }
    });
    close(&mut cur, last, &mut out);
    out
}
