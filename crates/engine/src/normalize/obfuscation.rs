//! Whether a text shows a sign of obfuscation, so that building the folded view can pay off.

/// A cheap single pass: could folding change what a lexicon sees? True for non-ASCII text,
/// digits or leet symbols glued to letters, runs of single letters (`i d i o t`) and letters
/// repeated three times. Plain prose skips building the folded view in balanced mode.
///
/// The same decision as the straightforward form kept in the tests
/// (`may_be_obfuscated_reference`): a run of letters (most of a text) is read in one tight loop,
/// every other byte classified from one table, the previous byte's classes carried along.
pub(super) fn may_be_obfuscated(text: &str) -> bool {
    if !text.is_ascii() {
        return true;
    }
    let b = text.as_bytes();
    // The classes of the byte at `i`, none (a space's) outside the text.
    let class = |i: usize| b.get(i).map_or(0, |&c| CLASSES[usize::from(c)]);
    let mut single_run = 0;
    // The classes of the byte before `i`.
    let mut kp = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let k = CLASSES[usize::from(c)];
        if k & ALPHA != 0 {
            // The run of letters from `i`: three equal letters in a row (any case) are a
            // stretched word.
            // A doubled letter looks two bytes back; the byte before the run is no letter. The
            // run's end comes from what is left once a non-letter stops it.
            let run = b.get(i + 1..).unwrap_or(&[]);
            let mut rest = run.iter();
            let mut prev = LOWER_LETTER[usize::from(c)];
            let mut j = b.len();
            while let Some(&d) = rest.next() {
                let l = LOWER_LETTER[usize::from(d)];
                if l == 0 {
                    j = b.len() - rest.as_slice().len() - 1;
                    break;
                }
                if l == prev {
                    // `d` is at `p`, the letter two back at `p - 2`.
                    let p = b.len() - rest.as_slice().len() - 1;
                    if p.checked_sub(2)
                        .and_then(|q| b.get(q))
                        .is_some_and(|&e| LOWER_LETTER[usize::from(e)] == l)
                    {
                        return true;
                    }
                }
                prev = l;
            }
            // Every letter of a longer run has a letter beside it: a lone one may be spaced out.
            if j == i + 1 && (kp | class(j)) & ALNUM == 0 {
                single_run += 1;
                if single_run >= 3 {
                    return true;
                }
            } else {
                single_run = 0;
            }
            kp = ALPHA;
            i = j;
            continue;
        }
        if k != 0 {
            let kn = class(i + 1);
            if k & LEET_DIGIT != 0 && (kp | kn) & ALPHA != 0
                || k & LEET_SYMBOL != 0 && kp & ALNUM == 0 && kn & ALPHA != 0
            {
                return true;
            }
            if k & DIGIT != 0 {
                if (kp | kn) & ALNUM != 0 {
                    single_run = 0;
                } else {
                    single_run += 1;
                    if single_run >= 3 {
                        return true;
                    }
                }
            }
        }
        kp = k;
        i += 1;
    }
    false
}

/// Per byte: whether it is an ASCII word character (a letter, a digit or `_`).
pub(crate) const WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'_';
        i += 1;
    }
    t
};

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

const ALPHA: u8 = 1;
const DIGIT: u8 = 2;
const ALNUM: u8 = ALPHA | DIGIT;
/// Digits that stand for letters (`0` for `o`, `1` for `i` ...).
const LEET_DIGIT: u8 = 4;
/// Symbols that stand for letters (`@` for `a`, `$` for `s` ...).
const LEET_SYMBOL: u8 = 8;

/// The classes of each byte.
const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_alphabetic() {
            ALPHA
        } else if c.is_ascii_digit() {
            DIGIT
                | if c == b'2' || c == b'6' {
                    0
                } else {
                    LEET_DIGIT
                }
        } else if matches!(c, b'@' | b'$' | b'!' | b'|' | b'+' | b'*') {
            LEET_SYMBOL
        } else {
            0
        };
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
