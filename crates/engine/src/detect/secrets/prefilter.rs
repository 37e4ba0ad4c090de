//! Which rules can match a text, and where: so that 100 rules do not cost 100 scans.
//!
//! Every rule names trigger literals, one of which each of its matches contains, and where they
//! are looked for ([`Seen`]). On ASCII text:
//! - `Anywhere` literals are found from their anchor bytes (`:` of `://`, `_` of `_eyJ`, `-`
//!   of `--`, `<` of `<password>`): one vectorised `memchr` pass per anchor byte, each
//!   occurrence compared with the literals anchored there, stopping once they are all found
//!   (one Aho-Corasick automaton over them fell back to stepping byte by byte over ordinary
//!   prose and cost more than the rest of the scan; one `memmem` pass per literal cost eight
//!   passes);
//! - `Token` literals are looked for with one automaton only inside the long runs of token bytes
//!   ([`long_tokens`], found 8 bytes at a time), which are rare in prose; those runs are also the
//!   windows of the rules whose matches lie inside one;
//! - `Key` literals are looked for with one ASCII-case-insensitive automaton only in the key
//!   before each `=` or `:`, found with `memchr`; the `generic_secret` rule runs only on the
//!   windows from those keys to the end of their values.
//!
//! Non-ASCII text is scanned whole: `(?i)` in Unicode mode also folds `K` (Kelvin) and `ſ` to
//! ASCII letters, so the ASCII-folding automaton would not be exact.

use crate::detect::secrets::generic::{is_space, key_byte, value_byte};
use crate::detect::secrets::rules::{GENERIC, RULES, Seen};
use crate::detect::windows::{merge, run_through};

/// A set of rules: bit `i` for `RULES[i]`.
pub(crate) type Mask = u128;

const _: () = assert!(RULES.len() <= 128, "a Mask holds 128 rules");

/// The shortest match of a windowed [`Seen::Token`] rule (a Slack token, `xoxb-` and ten more).
pub(crate) const MIN_TOKEN: usize = 15;

/// Bytes of a token run: every byte a windowed token rule's match can hold.
pub(crate) fn token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'~')
}

struct Automaton {
    ac: aho_corasick::AhoCorasick,
    rule: Vec<u32>,
}

impl Automaton {
    #[expect(
        clippy::expect_used,
        reason = "static literals written in this crate; built by the unit tests"
    )]
    fn new(kinds: &[Seen], folded: bool) -> Self {
        let mut words = Vec::new();
        let mut rule = Vec::new();
        for (i, r) in RULES.iter().enumerate() {
            if kinds.contains(&r.seen) {
                for t in r.triggers {
                    words.push(*t);
                    rule.push(i as u32);
                }
            }
        }
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(folded)
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&words)
            .expect("secret triggers build");
        Automaton { ac, rule }
    }

    /// The rules whose literals occur in `hay`, stopping once all of `stop_at` are found.
    fn mask(&self, hay: &[u8], stop_at: Mask) -> Mask {
        let mut mask: Mask = 0;
        for m in self.ac.find_overlapping_iter(hay) {
            mask |= 1 << self.rule[m.pattern().as_usize()];
            if mask & stop_at == stop_at {
                break;
            }
        }
        mask
    }
}

/// The distinct `Anywhere` literals that share an anchor byte (see [`anchor`]).
struct Anchored {
    byte: u8,
    /// Each literal, the anchor's offset in it, and the rules it triggers.
    literals: Vec<(&'static [u8], usize, Mask)>,
}

/// The byte of `literal` whose occurrences are visited to find it: its first punctuation byte
/// (`:`, `_`, `-`, `<` …), rare in prose, or else its first byte.
fn anchor(literal: &[u8]) -> usize {
    literal
        .iter()
        .position(|c| c.is_ascii_punctuation())
        .unwrap_or(0)
}

struct Prefilter {
    /// The `Anywhere` literals by anchor byte.
    anywhere: Vec<Anchored>,
    token: Automaton,
    key: Automaton,
    /// Every case-sensitive literal, for non-ASCII text (scanned whole).
    exact: Automaton,
    token_mask: Mask,
    key_mask: Mask,
    /// Whether every `Key` literal has an ASCII letter: then a key without one (`10` of
    /// `10:30`) holds none and is not searched.
    key_literals_have_letters: bool,
}

fn prefilter() -> &'static Prefilter {
    static P: std::sync::OnceLock<Prefilter> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let of = |kind: Seen| {
            RULES
                .iter()
                .enumerate()
                .filter(|(_, r)| r.seen == kind)
                .fold(0 as Mask, |m, (i, _)| m | 1 << i)
        };
        let mut anywhere: Vec<Anchored> = Vec::new();
        for (i, r) in RULES.iter().enumerate() {
            if r.seen != Seen::Anywhere {
                continue;
            }
            for l in r.triggers {
                let l = l.as_bytes();
                let at = anchor(l);
                let group = match anywhere.iter().position(|a| a.byte == l[at]) {
                    Some(g) => &mut anywhere[g],
                    None => {
                        anywhere.push(Anchored {
                            byte: l[at],
                            literals: Vec::new(),
                        });
                        let last = anywhere.len() - 1;
                        &mut anywhere[last]
                    }
                };
                match group.literals.iter_mut().find(|(m, _, _)| *m == l) {
                    Some((_, _, m)) => *m |= 1 << i,
                    None => group.literals.push((l, at, 1 << i)),
                }
            }
        }
        Prefilter {
            anywhere,
            token: Automaton::new(&[Seen::Token], false),
            key: Automaton::new(&[Seen::Key], true),
            exact: Automaton::new(&[Seen::Anywhere, Seen::Token], false),
            token_mask: of(Seen::Token),
            key_mask: of(Seen::Key),
            key_literals_have_letters: RULES
                .iter()
                .filter(|r| r.seen == Seen::Key)
                .flat_map(|r| r.triggers)
                .all(|t| t.bytes().any(|c| c.is_ascii_alphabetic())),
        }
    })
}

/// Which rules may match a text, and where some of them run.
pub(crate) struct Candidates {
    pub mask: Mask,
    /// Windows for `generic_secret` (`None`: the whole text).
    pub generic: Option<Vec<(usize, usize)>>,
    /// Windows for the windowed [`Seen::Token`] rules (`None`: the whole text).
    pub tokens: Option<Vec<(usize, usize)>>,
}

/// The candidate rules of `text` among `wanted` (see the module comment).
///
/// Every `Key` rule (`aws…secret = …`, `AccountKey=`, `sig=`, `api_key: …`) has a `=` or `:` in
/// each match with its trigger word in the key just before it, so those triggers are looked for
/// only there: from each separator back over spaces, one `]`, one quote and the key's
/// `[A-Za-z0-9_-]` run. That same key start and the end of the value after the separator (`=>`,
/// spaces, one quote, the value's run) bound every `generic_secret` match using the separator,
/// so the generic rule runs only on those windows (see `detect::windows`; a window whose key has
/// no trigger word cannot hold a match and is left out).
pub(crate) fn candidates(text: &str, wanted: Mask) -> Candidates {
    let p = prefilter();
    let b = text.as_bytes();
    if !text.is_ascii() {
        let mut mask = wanted & p.key_mask;
        let exact = wanted & !p.key_mask;
        if exact != 0 {
            mask |= p.exact.mask(b, exact);
        }
        return Candidates {
            mask: mask & wanted,
            generic: None,
            tokens: None,
        };
    }
    let mut mask: Mask = 0;
    let anywhere = wanted & !p.key_mask & !p.token_mask;
    for group in &p.anywhere {
        let open = |mask: Mask| {
            group
                .literals
                .iter()
                .any(|(_, _, rules)| anywhere & rules & !mask != 0)
        };
        if !open(mask) {
            continue;
        }
        for i in memchr::memchr_iter(group.byte, b) {
            for &(literal, at, rules) in &group.literals {
                if anywhere & rules & !mask != 0 && i >= at && b[i - at..].starts_with(literal) {
                    mask |= anywhere & rules;
                }
            }
            if !open(mask) {
                break;
            }
        }
    }
    let mut tokens = Vec::new();
    if wanted & p.token_mask != 0 {
        tokens = long_tokens(b);
        for &(s, e) in &tokens {
            mask |= p.token.mask(&b[s..e], wanted & p.token_mask);
        }
    }
    let mut generic = Vec::new();
    if wanted & p.key_mask != 0 {
        for sep in memchr::memchr2_iter(b'=', b':', b) {
            let mut start = sep;
            while start > 0 && is_space(b[start - 1]) {
                start -= 1;
            }
            if start > 0 && b[start - 1] == b']' {
                start -= 1;
            }
            if start > 0 && matches!(b[start - 1], b'"' | b'\'') {
                start -= 1;
            }
            while start > 0 && key_byte(b[start - 1]) {
                start -= 1;
            }
            let key = &b[start..=sep];
            if p.key_literals_have_letters && !key.iter().any(u8::is_ascii_alphabetic) {
                continue;
            }
            let found = p.key.mask(key, Mask::MAX);
            if found & (1 << GENERIC) != 0 {
                let mut end = sep + 1;
                if b[sep] == b'=' && b.get(end) == Some(&b'>') {
                    end += 1;
                }
                while end < b.len() && is_space(b[end]) {
                    end += 1;
                }
                if end < b.len() && matches!(b[end], b'"' | b'\'') {
                    end += 1;
                }
                while end < b.len() && value_byte(b[end]) {
                    end += 1;
                }
                generic.push((start, end));
            }
            mask |= found;
        }
    }
    Candidates {
        mask: mask & wanted,
        generic: Some(merge(generic)),
        tokens: Some(tokens),
    }
}

/// The maximal runs of [`token_byte`]s at least [`MIN_TOKEN`] long, in an ASCII text.
///
/// Such a run covers a whole aligned 8-byte word; take the first one it covers: fewer than 8 of
/// its bytes are before that word and at least 7 lie outside it, so the top bytes of the word
/// before and the low bytes of the word after that pass the test below are 7 or more. A token
/// byte is at least `-` (0x2D), which a SWAR test checks 8 bytes at a time (exactly per byte);
/// prose fails it at almost every word, and at its neighbours for nearly all the rest, so only
/// the rare long tokens are looked at byte by byte.
pub(crate) fn long_tokens(b: &[u8]) -> Vec<(usize, usize)> {
    use crate::lanes::{H, L};
    let words = b.len() / 8;
    // The high bit of each byte below 0x2D or above 0x7F (no borrow crosses a byte: each has
    // its high bit set before the subtraction). A missing word passes (a run may reach into
    // the last partial word).
    let low = |k: usize| -> u64 {
        let Some(chunk) = b.get(k * 8..k * 8 + 8) else {
            return 0;
        };
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        (!((x | H) - 0x2D * L) & !x & H) | (x & H)
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    // Whether the bytes that pass the test next to a passing word, the top ones of the word
    // before (`prev`'s mask) and the low ones of the word after (`next`'s), are 7 or more.
    let reach = |prev: u64, next: u64| prev.leading_zeros() / 8 + next.trailing_zeros() / 8 >= 7;
    let look = |k: usize, out: &mut Vec<(usize, usize)>| {
        let at = k * 8;
        if out.last().is_some_and(|r| at + 8 <= r.1)
            || !b[at..at + 8].iter().all(|c| token_byte(*c))
        {
            return;
        }
        let (s, e) = run_through(b, (at, at + 8), &token_byte);
        if e - s >= MIN_TOKEN {
            out.push((s, e));
        }
    };
    // Four words at a time: in prose each has a byte below `-` (a space), and the block is
    // passed after one test; `prev` carries the last word's mask to the next block.
    let mut prev = 0;
    let mut k = 0;
    while k + 4 <= words {
        let l = [low(k), low(k + 1), low(k + 2), low(k + 3)];
        if l[0] != 0 && l[1] != 0 && l[2] != 0 && l[3] != 0 {
            prev = l[3];
            k += 4;
            continue;
        }
        for j in 0..4 {
            let next = if j < 3 { l[j + 1] } else { low(k + 4) };
            if l[j] == 0 && reach(prev, next) {
                look(k + j, &mut out);
            }
            prev = l[j];
        }
        k += 4;
    }
    while k < words {
        let cur = low(k);
        if cur == 0 && reach(prev, low(k + 1)) {
            look(k, &mut out);
        }
        prev = cur;
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_long_tokens(b: &[u8]) -> Vec<(usize, usize)> {
        let mut plain = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if token_byte(b[i]) {
                let s = i;
                while i < b.len() && token_byte(b[i]) {
                    i += 1;
                }
                if i - s >= MIN_TOKEN {
                    plain.push((s, i));
                }
            } else {
                i += 1;
            }
        }
        plain
    }

    #[test]
    fn long_tokens_are_the_long_token_runs() {
        let text = "short words only, then ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 and \
                    abcdefghijklmn abcdefghijklmno x-y_z-0123456789ab hvs.abc~def.ghijklmn";
        let b = text.as_bytes();
        assert_eq!(long_tokens(b), plain_long_tokens(b));
        assert_eq!(plain_long_tokens(b).len(), 4);
        for pad in 0..17 {
            for len in 12..20 {
                let token = "aZ9_-.~".repeat(4)[..len].to_owned();
                for text in [
                    format!("{}{token}", " ".repeat(pad)),
                    format!("{}{token} is it.", "x ".repeat(pad)),
                    format!("{}{token}", "x,".repeat(pad)),
                ] {
                    let b = text.as_bytes();
                    assert_eq!(long_tokens(b), plain_long_tokens(b), "{text:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn long_tokens_are_the_long_token_runs_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "a", "Z", "9", "_", "-", " ", ".", "/", ",", "~", "abcdefg", "0123456789", "\n",
            ][..]), 0..80)
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(long_tokens(text.as_bytes()), plain_long_tokens(text.as_bytes()));
        }
    }

    #[test]
    fn anywhere_literals_are_found_from_their_anchors() {
        let p = prefilter();
        let anywhere = RULES
            .iter()
            .enumerate()
            .filter(|(_, r)| r.seen == Seen::Anywhere)
            .fold(0 as Mask, |m, (i, _)| m | 1 << i);
        let texts = [
            "plain prose, no literal at all",
            "see https://example.org/x and --verbose",
            "<password>hunter2</password> x_eyJ fm2_ fm1r_ fm1a_",
            "-----BEGIN RSA PRIVATE KEY----- ://",
            "_eyJ",
            "--",
            "-",
            "a:/ /b fm2 _eyj <passwor",
        ];
        for text in texts {
            let b = text.as_bytes();
            let expected = RULES
                .iter()
                .enumerate()
                .filter(|(_, r)| r.seen == Seen::Anywhere)
                .filter(|(_, r)| {
                    r.triggers
                        .iter()
                        .any(|t| b.windows(t.len()).any(|w| w == t.as_bytes()))
                })
                .fold(0 as Mask, |m, (i, _)| m | 1 << i);
            let found = candidates(text, anywhere).mask & !p.key_mask & !p.token_mask;
            assert_eq!(found, expected, "{text:?}");
        }
    }

    #[test]
    fn every_rule_has_a_trigger_and_the_automata_build() {
        for r in &RULES {
            assert!(!r.triggers.is_empty(), "{}", r.id);
            if r.seen == Seen::Token {
                // A token trigger must be findable inside a token run.
                assert!(
                    r.triggers.iter().all(|t| t.bytes().all(token_byte)),
                    "{}",
                    r.id
                );
            }
        }
        // Keys without a letter are skipped: every key literal has one.
        assert!(prefilter().key_literals_have_letters);
    }
}
