//! Shared helpers for pattern detectors: context words near a match, entropy, char-boundary
//! windows.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Bytes before a match searched for context words.
pub(crate) const CONTEXT_BEFORE: usize = 48;
/// Bytes after a match searched for context words.
pub(crate) const CONTEXT_AFTER: usize = 24;

/// The largest char boundary `<= i`.
pub(crate) fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary `>= i`.
pub(crate) fn ceil_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A case-insensitive automaton over context words, each tagged with a group id.
pub(crate) struct ContextWords {
    ac: AhoCorasick,
    groups: Vec<u32>,
    /// Where a word can start (`None` when a word is shorter than two bytes): a window with no
    /// such place holds no word, and the automaton, which costs some 60 instructions a byte
    /// when searching for overlapping matches, is not run on it.
    starts: Option<Starts>,
}

/// The first two bytes of the words of a [`ContextWords`], as a filter.
struct Starts {
    /// Each distinct first byte `| 0x20` (the same for both cases of a letter), in each byte
    /// of a word.
    firsts: Vec<u64>,
    /// The first two bytes as a set of [`pair_bit`]s.
    pairs: [u64; 16],
}

/// A byte pair's bit in [`Starts::pairs`]: the low five bits of each byte, which an ASCII
/// letter shares with its other case (so equal pairs, ignoring case, have the same bit).
fn pair_bit(a: u8, b: u8) -> usize {
    usize::from(a & 0x1f) << 5 | usize::from(b & 0x1f)
}

/// At most this many distinct first bytes are looked for 8 bytes at a time; with more, each
/// byte pair of a window is tested.
const MAX_FIRSTS: usize = 8;

impl Starts {
    /// Whether a word may start at `p` of `b` (which has a byte after `p`): `b[p..p + 2]` is
    /// in [`Starts::pairs`].
    fn at(&self, b: &[u8], p: usize) -> bool {
        let i = pair_bit(b[p], b[p + 1]);
        self.pairs[i / 64] & (1 << (i % 64)) != 0
    }

    /// Whether `b` may hold the start of a word: true when it has a byte pair in
    /// [`Starts::pairs`] whose first byte is one of [`Starts::firsts`] (both hold where a word
    /// starts), false when it has no pair in [`Starts::pairs`].
    fn any(&self, b: &[u8]) -> bool {
        use crate::lanes::{H, L};
        // The places that have a byte after them.
        let Some(places) = b.len().checked_sub(1) else {
            return false;
        };
        if self.firsts.len() > MAX_FIRSTS {
            return (0..places).any(|p| self.at(b, p));
        }
        // 8 places at a time: the bytes equal to a first byte (ignoring case) are the zero
        // bytes of `v ^ f`, each flagged in `m` (a flag may be wrong above a zero byte, never
        // missing on one); only the flagged places are tested.
        let mut chunks = b[..places].chunks_exact(8);
        let mut base = 0;
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let v = u64::from_le_bytes(w) | (0x20 * L);
            let mut m = 0;
            for &f in &self.firsts {
                let z = v ^ f;
                m |= z.wrapping_sub(L) & !z & H;
            }
            while m != 0 {
                if self.at(b, base + (m.trailing_zeros() / 8) as usize) {
                    return true;
                }
                m &= m - 1;
            }
            base += 8;
        }
        (base..places).any(|p| self.at(b, p))
    }
}

impl ContextWords {
    #[expect(
        clippy::expect_used,
        reason = "static word lists written in this crate; built by the unit tests"
    )]
    pub(crate) fn new(lists: &[(u32, &[&str])]) -> Self {
        let mut words = Vec::new();
        let mut groups = Vec::new();
        let mut starts = Some(Starts {
            firsts: Vec::new(),
            pairs: [0; 16],
        });
        for (g, list) in lists {
            for w in *list {
                words.push(*w);
                groups.push(*g);
                match (w.as_bytes(), starts.as_mut()) {
                    ([a, b, ..], Some(st)) => {
                        let i = pair_bit(*a, *b);
                        st.pairs[i / 64] |= 1 << (i % 64);
                        let f = u64::from(a | 0x20) * crate::lanes::L;
                        if !st.firsts.contains(&f) {
                            st.firsts.push(f);
                        }
                    }
                    _ => starts = None,
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(words)
            .expect("context words build");
        ContextWords { ac, groups, starts }
    }

    /// Whether `window` may hold a word: a word may start somewhere in it.
    fn may_hold_word(&self, window: &str) -> bool {
        self.starts
            .as_ref()
            .is_none_or(|st| st.any(window.as_bytes()))
    }

    /// Whether a word of `group` occurs within the context window around `[s, e)`.
    pub(crate) fn near(&self, text: &str, s: usize, e: usize, group: u32) -> bool {
        let from = floor_boundary(text, s.saturating_sub(CONTEXT_BEFORE));
        let to = ceil_boundary(text, e.saturating_add(CONTEXT_AFTER));
        let Some(window) = text.get(from..to) else {
            return false;
        };
        if !self.may_hold_word(window) {
            return false;
        }
        // Boundaries are judged in the whole text: a word cut by the window's edge (`dl` of
        // `handled` when the window starts at the `d`) is no context word.
        self.ac.find_overlapping_iter(window).any(|m| {
            self.groups.get(m.pattern().as_usize()) == Some(&group)
                && crate::detect::lexicon::on_word_boundaries(
                    text,
                    from + m.start(),
                    from + m.end(),
                )
        })
    }
}

impl ContextWords {
    /// Whether a word of `group` occurs anywhere (word boundaries not checked) within the
    /// context window around `[s, e)`. Implied by [`near`](ContextWords::near) for every match
    /// inside `[s, e)`: their context windows lie inside this one.
    pub(crate) fn may_be_near(&self, text: &str, s: usize, e: usize, group: u32) -> bool {
        let from = floor_boundary(text, s.saturating_sub(CONTEXT_BEFORE));
        let to = ceil_boundary(text, e.saturating_add(CONTEXT_AFTER));
        let Some(window) = text.get(from..to) else {
            return false;
        };
        if !self.may_hold_word(window) {
            return false;
        }
        self.ac
            .find_overlapping_iter(window)
            .any(|m| self.groups.get(m.pattern().as_usize()) == Some(&group))
    }
}

/// Shannon entropy in bits per character.
pub(crate) fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether the characters just outside `[s, e)` are not letters or digits (so the match is a
/// whole token), also rejecting matches glued to `.`/`-` digit runs such as versions.
pub(crate) fn standalone(text: &str, s: usize, e: usize) -> bool {
    // The usual case, two ASCII bytes on each side: they are the characters.
    let b = text.as_bytes();
    if s >= 2 && e + 2 <= b.len() && b[s - 2..s].is_ascii() && b[e..e + 2].is_ascii() {
        let glued = |c: u8, next: u8| {
            c.is_ascii_alphanumeric()
                || c == b'_'
                || (matches!(c, b'.' | b'-' | b'/') && next.is_ascii_digit())
        };
        return !glued(b[s - 1], b[s - 2]) && !glued(b[e], b[e + 1]);
    }
    standalone_by_chars(text, s, e)
}

/// [`standalone`]'s definition, on characters: no letter, digit or `_` on either side, and no
/// `.`, `-` or `/` followed by a digit.
fn standalone_by_chars(text: &str, s: usize, e: usize) -> bool {
    let before = text.get(..s).and_then(|t| t.chars().next_back());
    let after = text.get(e..).and_then(|t| t.chars().next());
    let before2 = text.get(..s).and_then(|t| t.chars().rev().nth(1));
    let after2 = text.get(e..).and_then(|t| t.chars().nth(1));
    let glued = |c: Option<char>, next: Option<char>| {
        c.is_some_and(|c| c.is_alphanumeric() || c == '_')
            || (c.is_some_and(|c| matches!(c, '.' | '-' | '/'))
                && next.is_some_and(|n| n.is_ascii_digit()))
    };
    !glued(before, before2) && !glued(after, after2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_table() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0);
    }

    #[test]
    fn context_window() {
        let cw = ContextWords::new(&[(1, &["card"]), (2, &["ssn"])]);
        let text = "my card number is 4111111111111111";
        assert!(cw.near(text, 18, text.len(), 1));
        assert!(!cw.near(text, 18, text.len(), 2));
        assert!(!cw.near("é".repeat(40).as_str(), 3, 5, 1));
    }

    proptest::proptest! {
        /// The 8-bytes-at-a-time filter is true wherever a word may start, and false where no
        /// byte pair is in the set.
        #[test]
        fn word_starts_are_found_as_by_a_plain_scan(
            bytes in proptest::collection::vec(proptest::sample::select(&[
                b'd', b'D', b'l', b'r', b'i', b'x', b' ', b'$', b'L', b',', 0x84, 0xC4,
            ][..]), 0..40)
        ) {
            let cw = ContextWords::new(&[(1, &["driver", "licence", "dl", "DL#"])]);
            let Some(st) = &cw.starts else {
                panic!("every word has two bytes");
            };
            let pair = |w: &[u8]| {
                let i = pair_bit(w[0], w[1]);
                st.pairs[i / 64] & (1 << (i % 64)) != 0
            };
            let start = bytes
                .windows(2)
                .any(|w| pair(w) && st.firsts.contains(&(u64::from(w[0] | 0x20) * crate::lanes::L)));
            let any = st.any(&bytes);
            proptest::prop_assert!(any || !start, "a start is missed");
            proptest::prop_assert!(!any || bytes.windows(2).any(pair), "no pair, yet true");
        }
    }

    #[test]
    fn standalone_reads_ascii_neighbours_as_characters() {
        for text in [
            "é10.0.0.1",
            "x1.0é",
            "1é.10.0.0.1_",
            "9.10-0/0.1.é",
            "ñ1 2",
            "a_b 3",
        ] {
            for s in 0..=text.len() + 1 {
                for e in s..=text.len() + 1 {
                    assert_eq!(
                        standalone(text, s, e),
                        standalone_by_chars(text, s, e),
                        "{text:?} {s} {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn standalone_rejects_versions() {
        assert!(standalone("ip 10.0.0.1 here", 3, 11));
        assert!(!standalone("v1.10.0.0.1", 3, 11));
        assert!(!standalone("x10.0.0.1", 1, 9));
    }
}
