//! Whether a text shows a sign of obfuscation, so that building the folded view can pay off.

/// A cheap single pass: could folding change what a lexicon sees? True for non-ASCII text,
/// digits or leet symbols glued to letters, runs of single letters (`i d i o t`) and letters
/// repeated three times. Plain prose skips building the folded view in balanced mode.
///
/// The same decision as the straightforward form kept in the tests
/// (`may_be_obfuscated_reference`), taken by a DFA ([`STEP`]): one class lookup and one
/// transition per byte, instead of a branch on each byte's neighbours. The state remembers what
/// a later byte can still decide about the earlier ones (see [`Prev`]); the text's end is read
/// as one more separator ([`ends_obfuscated`]).
pub(super) fn may_be_obfuscated(text: &str) -> bool {
    // The state times 32, so that state and class index the table by a bitwise or.
    let mut s = 0u16;
    for chunk in text.as_bytes().chunks(64) {
        for &c in chunk {
            s = STEP[usize::from(s | u16::from(CLASS[usize::from(c)])) % STEP.len()];
        }
        if s == u16::from(ACCEPT) * 32 {
            return true;
        }
    }
    ends_obfuscated(s / 32)
}

/// Byte classes of [`STEP`]: `0..26` a letter (its index in the alphabet), then these.
const LEET_DIGIT: u8 = 26;
/// `2` and `6`, digits that stand for no letter.
const PLAIN_DIGIT: u8 = 27;
/// Symbols that stand for letters (`@` for `a`, `$` for `s` ...).
const LEET_SYMBOL: u8 = 28;
const SEPARATOR: u8 = 29;
const NON_ASCII: u8 = 30;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_alphabetic() {
            c.to_ascii_lowercase() - b'a'
        } else if c == b'2' || c == b'6' {
            PLAIN_DIGIT
        } else if c.is_ascii_digit() {
            LEET_DIGIT
        } else if matches!(c, b'@' | b'$' | b'!' | b'|' | b'+' | b'*') {
            LEET_SYMBOL
        } else if c.is_ascii() {
            SEPARATOR
        } else {
            NON_ASCII
        };
        i += 1;
    }
    t
};

/// States: after a separator (the start of the text is one) `SEP + single`; after a leet
/// symbol `SYM + 3 * armed + single`; after a digit `DIGIT + 4 * leet + v`; after a letter
/// `LETTER + 5 * letter + v`. `single` counts the single-character words in a row so far
/// (0..3); `v` is `single` (0..3) while the digit or letter may still be a word of its own,
/// 3 when it is not (an alphanumeric byte before it) and, for a letter, 4 when it is the second
/// of two equal letters.
const SEP: u8 = 0;
const SYM: u8 = 3;
const DIGIT: u8 = 9;
const LETTER: u8 = 17;
/// The text is found obfuscated, whatever follows.
const ACCEPT: u8 = LETTER + 5 * 26;

/// What a state says of the byte read last.
#[derive(Clone, Copy)]
struct Prev {
    alnum: bool,
    alpha: bool,
    /// Its letter's index, 26 for none.
    letter: u8,
    /// How many equal letters end there (1 or 2).
    run: u8,
    /// An alphanumeric byte after a non-alphanumeric one: a word of its own unless the next
    /// byte is alphanumeric.
    lone: bool,
    /// Single-character words in a row before it.
    single: u8,
    leet_digit: bool,
    /// A leet symbol after a non-alphanumeric byte: obfuscation if a letter follows.
    armed: bool,
}

const fn prev(s: u8) -> Prev {
    let mut p = Prev {
        alnum: false,
        alpha: false,
        letter: 26,
        run: 0,
        lone: false,
        single: 0,
        leet_digit: false,
        armed: false,
    };
    if s < SYM {
        p.single = s - SEP;
    } else if s < DIGIT {
        p.armed = (s - SYM) / 3 == 1;
        p.single = (s - SYM) % 3;
    } else if s < LETTER {
        let v = (s - DIGIT) % 4;
        p.alnum = true;
        p.leet_digit = (s - DIGIT) / 4 == 1;
        p.lone = v < 3;
        p.single = if v < 3 { v } else { 0 };
    } else {
        let v = (s - LETTER) % 5;
        p.alnum = true;
        p.alpha = true;
        p.letter = (s - LETTER) / 5;
        p.run = if v == 4 { 2 } else { 1 };
        p.lone = v < 3;
        p.single = if v < 3 { v } else { 0 };
    }
    p
}

/// The state after reading a byte of `class` in state `s`: first what the byte decides about
/// the one before it, then what it decides itself given the one before it.
const fn step(s: u8, class: u8) -> u8 {
    if s >= ACCEPT || class == NON_ASCII {
        return ACCEPT;
    }
    let p = prev(s);
    let alpha = class < 26;
    let alnum = class < LEET_SYMBOL;
    // A leet digit or an armed symbol before a letter.
    if alpha && (p.leet_digit || p.armed) {
        return ACCEPT;
    }
    let mut single = p.single;
    if p.lone && !alnum {
        single += 1;
        if single >= 3 {
            return ACCEPT;
        }
    } else if p.alnum {
        single = 0;
    }
    if alpha {
        let run = if p.letter == class { p.run + 1 } else { 1 };
        if run >= 3 {
            return ACCEPT;
        }
        LETTER
            + 5 * class
            + if run == 2 {
                4
            } else if p.alnum {
                3
            } else {
                single
            }
    } else if class == LEET_DIGIT || class == PLAIN_DIGIT {
        let leet = class == LEET_DIGIT;
        if leet && p.alpha {
            return ACCEPT;
        }
        DIGIT + if leet { 4 } else { 0 } + if p.alnum { 3 } else { single }
    } else if class == LEET_SYMBOL {
        SYM + if p.alnum { 0 } else { 3 } + single
    } else {
        SEP + single
    }
}

/// The transitions of [`may_be_obfuscated`]'s DFA: at `32 * state + class`, the next state
/// times 32 (states past [`ACCEPT`] are never reached; every class is below 32).
static STEP: [u16; 256 * 32] = {
    let mut t = [0u16; 256 * 32];
    let mut i = 0;
    while i < t.len() {
        t[i] = step((i / 32) as u8, (i % 32) as u8) as u16 * 32;
        i += 1;
    }
    t
};

/// Whether the text is obfuscated once it ends in state `s`: the end is a separator.
fn ends_obfuscated(s: u16) -> bool {
    u8::try_from(s).is_ok_and(|s| step(s, SEPARATOR) == ACCEPT)
}

/// Per byte: a letter's lower case, 0 for any other byte.
pub(crate) const LOWER_LETTER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        if (i as u8).is_ascii_alphabetic() {
            t[i] = (i as u8).to_ascii_lowercase();
        }
        i += 1;
    }
    t
};

/// The original, straightforward form of [`may_be_obfuscated`], kept to test it against.
#[cfg(test)]
fn may_be_obfuscated_reference(text: &str) -> bool {
    if !text.is_ascii() {
        return true;
    }
    let b = text.as_bytes();
    let leet = |c: u8| {
        matches!(
            c,
            b'0' | b'1'
                | b'3'
                | b'4'
                | b'5'
                | b'7'
                | b'8'
                | b'9'
                | b'@'
                | b'$'
                | b'!'
                | b'|'
                | b'+'
                | b'*'
        )
    };
    let mut single_run = 0;
    for i in 0..b.len() {
        let c = b[i];
        let prev = if i > 0 { b[i - 1] } else { b' ' };
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        let glued = if matches!(c, b'@' | b'$' | b'!' | b'|' | b'+' | b'*') {
            // Symbols count only at the start of a word (`@ss`, `$hit`), not inside e-mails or code.
            !prev.is_ascii_alphanumeric() && next.is_ascii_alphabetic()
        } else {
            prev.is_ascii_alphabetic() || next.is_ascii_alphabetic()
        };
        if leet(c) && glued {
            return true;
        }
        if c.is_ascii_alphabetic()
            && i >= 2
            && b[i - 1].eq_ignore_ascii_case(&c)
            && b[i - 2].eq_ignore_ascii_case(&c)
        {
            return true;
        }
        if c.is_ascii_alphanumeric()
            && !prev.is_ascii_alphanumeric()
            && !next.is_ascii_alphanumeric()
        {
            single_run += 1;
            if single_run >= 3 {
                return true;
            }
        } else if c.is_ascii_alphanumeric() {
            single_run = 0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obfuscation_check() {
        for (text, expected) in [
            (
                "Plain prose about invoice 4411 for jane.doe@example.com.",
                false,
            ),
            ("you 1d10t", true),
            ("i d i o t", true),
            ("stuuupid", true),
            ("what an @ss", true),
            ("naïve", true),
        ] {
            assert_eq!(may_be_obfuscated(text), expected, "{text}");
        }
    }

    /// Every text of up to five bytes over an alphabet with a byte of each class (and two
    /// letters of either case, so runs, words and their neighbours take every shape) decides
    /// as the reference does: the DFA's transitions are each taken in every context.
    #[test]
    fn obfuscation_check_equals_the_reference_on_every_short_text() {
        let alphabet = ["a", "A", "b", "0", "2", "@", " ", ".", "é"];
        assert!(!may_be_obfuscated(""));
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            texts = texts
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            for t in &texts {
                assert_eq!(
                    may_be_obfuscated(t),
                    may_be_obfuscated_reference(t),
                    "{t:?}"
                );
            }
        }
        // Past a chunk of the DFA's loop.
        let long = format!("{} x y z", "word ".repeat(20));
        assert!(may_be_obfuscated(&long));
        assert!(!may_be_obfuscated(&"word ".repeat(40)));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 1024, ..Default::default() })]
        #[test]
        fn obfuscation_check_equals_the_reference(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "a", "b", "B", "c", "i", "d", "o", "t", "0", "1", "2", "3", "6", "@", "$", "!",
                "|", "+", "*", "#", " ", ".", "-", "\n", "aa", "AA", "word", "é",
            ][..]), 0..30)
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(may_be_obfuscated(&text), may_be_obfuscated_reference(&text));
        }
    }
}
