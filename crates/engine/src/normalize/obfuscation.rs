//! Whether a text shows a sign of obfuscation, so that building the folded view can pay off.

/// A cheap single pass: could folding change what a lexicon sees? True for non-ASCII text,
/// digits or leet symbols glued to letters, runs of single letters (`i d i o t`) and letters
/// repeated three times. Plain prose skips building the folded view in balanced mode.
///
/// The same decision as the straightforward form kept in the tests
/// (`may_be_obfuscated_reference`), with a letter (the common byte) handled first.
pub(super) fn may_be_obfuscated(text: &str) -> bool {
    if !text.is_ascii() {
        return true;
    }
    let b = text.as_bytes();
    let n = b.len();
    let alnum = |i: usize| i < n && b[i].is_ascii_alphanumeric();
    let mut single_run = 0;
    for i in 0..n {
        let c = b[i];
        let prev_alnum = i > 0 && b[i - 1].is_ascii_alphanumeric();
        if c.is_ascii_alphabetic() {
            if i >= 2 && b[i - 1].eq_ignore_ascii_case(&c) && b[i - 2].eq_ignore_ascii_case(&c) {
                return true;
            }
            if prev_alnum || alnum(i + 1) {
                single_run = 0;
                continue;
            }
            single_run += 1;
            if single_run >= 3 {
                return true;
            }
            continue;
        }
        let prev = if i > 0 { b[i - 1] } else { b' ' };
        let next = if i + 1 < n { b[i + 1] } else { b' ' };
        let glued_leet = match c {
            b'0' | b'1' | b'3' | b'4' | b'5' | b'7' | b'8' | b'9' => {
                prev.is_ascii_alphabetic() || next.is_ascii_alphabetic()
            }
            b'@' | b'$' | b'!' | b'|' | b'+' | b'*' => {
                !prev.is_ascii_alphanumeric() && next.is_ascii_alphabetic()
            }
            _ => false,
        };
        if glued_leet {
            return true;
        }
        if c.is_ascii_digit() {
            if prev_alnum || alnum(i + 1) {
                single_run = 0;
            } else {
                single_run += 1;
                if single_run >= 3 {
                    return true;
                }
            }
        }
    }
    false
}

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
