//! The folded view: accents stripped, homoglyphs and leetspeak mapped to Latin letters,
//! spaced-out letters joined, runs of a repeated letter collapsed.

use unicode_normalization::UnicodeNormalization;

use super::Owned;
use super::unicode::{is_combining_mark, is_invisible};

/// Cyrillic and Greek letters that look like Latin ones, already lowercased.
fn homoglyph(c: char) -> char {
    match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ε' | 'ё' => 'e',
        'һ' => 'h',
        'і' | 'ι' | 'ı' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'η' | 'п' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'μ' => 'u',
        'ν' => 'v',
        'ѡ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        'ᴢ' => 'z',
        other => other,
    }
}

fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        '9' => 'g',
        '|' => 'l',
        _ => return None,
    })
}

/// The folded view: [`build_folded`], or the same computed on bytes for ASCII text.
pub(super) fn fold(text: &str) -> Owned {
    if text.is_ascii() {
        fold_ascii(text.as_bytes())
    } else {
        build_folded(text)
    }
}

/// `leet` on bytes: the letter a byte stands for, or 0.
const LEET: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'0' as usize] = b'o';
    t[b'1' as usize] = b'i';
    t[b'!' as usize] = b'i';
    t[b'3' as usize] = b'e';
    t[b'4' as usize] = b'a';
    t[b'@' as usize] = b'a';
    t[b'5' as usize] = b's';
    t[b'$' as usize] = b's';
    t[b'7' as usize] = b't';
    t[b'+' as usize] = b't';
    t[b'8' as usize] = b'b';
    t[b'9' as usize] = b'g';
    t[b'|' as usize] = b'l';
    t
};

/// `build_folded` for ASCII text, step for step on bytes (ASCII has no marks, invisibles or
/// homoglyphs, and `char::is_whitespace` / `is_alphanumeric` are their ASCII versions there).
fn fold_ascii(text: &[u8]) -> Owned {
    let ws = |c: u8| matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    // 1. Lowercase.
    let mut chars: Vec<u8> = text.iter().map(u8::to_ascii_lowercase).collect();
    let n = chars.len();
    // 2. Leetspeak inside tokens that contain a letter (only tokens with a leet byte change).
    let mut i = 0;
    while i < n {
        if ws(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let (mut letter, mut leet) = (false, false);
        while i < n && !ws(chars[i]) {
            letter |= chars[i].is_ascii_alphabetic();
            leet |= LEET[usize::from(chars[i])] != 0;
            i += 1;
        }
        if !(letter && leet) {
            continue;
        }
        let token = &mut chars[start..i];
        for k in 0..token.len() {
            let l = LEET[usize::from(token[k])];
            if l == 0 {
                continue;
            }
            let next_is_letter = token
                .get(k + 1)
                .is_some_and(|t| t.is_ascii_alphabetic() || LEET[usize::from(*t)] != 0);
            let prev_is_letter = k > 0 && token[k - 1].is_ascii_alphabetic();
            let edge_punct =
                matches!(token[k], b'!' | b'$' | b'+' | b'|' | b'@') && !next_is_letter;
            if (next_is_letter || prev_is_letter) && !edge_punct {
                token[k] = l;
            }
        }
    }
    // 3. Join spaced-out letters: three or more single letters separated by one separator.
    let is_sep = |c: u8| matches!(c, b' ' | b'.' | b'-' | b'_' | b'*' | b'/' | b',');
    let alnum = |j: usize| j < n && chars[j].is_ascii_alphanumeric();
    let single_at = |j: usize| alnum(j) && (j == 0 || !alnum(j - 1)) && !alnum(j + 1);
    let mut keep = vec![true; n];
    let mut dropped = false;
    let mut k = 0;
    while k < n {
        if !single_at(k) {
            k += 1;
            continue;
        }
        let mut count = 1;
        let mut j = k;
        while j + 2 < n && is_sep(chars[j + 1]) && single_at(j + 2) {
            j += 2;
            count += 1;
        }
        if count >= 3 {
            let mut x = k;
            while x < j {
                keep[x + 1] = false;
                x += 2;
            }
            dropped = true;
        }
        k = j + 1;
    }
    // 4. Collapse runs of three or more of the same letter.
    let kept: Vec<(u8, usize)> = if dropped {
        chars
            .iter()
            .enumerate()
            .filter(|(i, _)| keep[*i])
            .map(|(i, c)| (*c, i))
            .collect()
    } else {
        chars.iter().enumerate().map(|(i, c)| (*c, i)).collect()
    };
    let mut text = Vec::with_capacity(kept.len());
    let mut map = Vec::with_capacity(kept.len());
    let mut i = 0;
    while i < kept.len() {
        let c = kept[i].0;
        let mut j = i + 1;
        while j < kept.len() && kept[j].0 == c {
            j += 1;
        }
        if j - i >= 3 && c.is_ascii_alphabetic() {
            text.push(c);
            map.push((kept[i].1, kept[j - 1].1 + 1));
        } else {
            for &(c, at) in &kept[i..j] {
                text.push(c);
                map.push((at, at + 1));
            }
        }
        i = j;
    }
    Owned {
        text: text.into_iter().map(char::from).collect(),
        map,
    }
}

fn build_folded(text: &str) -> Owned {
    // 1. Decompose, drop marks and invisibles, lowercase, map homoglyphs.
    let mut chars: Vec<(char, usize, usize)> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if c.is_ascii() {
            chars.push((c.to_ascii_lowercase(), i, end));
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        for d in std::iter::once(c).nfkd() {
            if is_combining_mark(d) {
                continue;
            }
            for l in d.to_lowercase() {
                chars.push((homoglyph(l), i, end));
            }
        }
    }
    // 2. Leetspeak inside tokens that contain a letter.
    let mut i = 0;
    while i < chars.len() {
        if chars[i].0.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].0.is_whitespace() {
            i += 1;
        }
        let token = &mut chars[start..i];
        if token.iter().any(|t| t.0.is_alphabetic()) {
            let n = token.len();
            for k in 0..n {
                let next_is_letter = token
                    .get(k + 1)
                    .is_some_and(|t| t.0.is_alphabetic() || leet(t.0).is_some());
                let prev_is_letter = k > 0 && token[k - 1].0.is_alphabetic();
                if let Some(l) = leet(token[k].0) {
                    let edge_punct =
                        matches!(token[k].0, '!' | '$' | '+' | '|' | '@') && !next_is_letter;
                    if (next_is_letter || prev_is_letter) && !edge_punct {
                        token[k].0 = l;
                    }
                }
            }
        }
    }
    // 3. Join spaced-out letters: three or more single letters separated by one separator.
    let is_sep = |c: char| matches!(c, ' ' | '.' | '-' | '_' | '*' | '/' | ',');
    let mut keep = vec![true; chars.len()];
    let mut k = 0;
    while k < chars.len() {
        let single_at = |j: usize| {
            chars.get(j).is_some_and(|c| c.0.is_alphanumeric())
                && (j == 0 || !chars[j - 1].0.is_alphanumeric())
                && chars.get(j + 1).is_none_or(|c| !c.0.is_alphanumeric())
        };
        if !single_at(k) {
            k += 1;
            continue;
        }
        let mut letters = vec![k];
        let mut j = k;
        while chars.get(j + 1).is_some_and(|c| is_sep(c.0)) && single_at(j + 2) {
            j += 2;
            letters.push(j);
        }
        if letters.len() >= 3 {
            for w in letters.windows(2) {
                keep[w[0] + 1] = false;
            }
        }
        k = j + 1;
    }
    // 4. Collapse runs of three or more of the same letter ("stuuupid" -> "stupid").
    let kept: Vec<(char, usize, usize)> = chars
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| *c)
        .collect();
    let mut out = Owned {
        text: String::with_capacity(text.len()),
        map: Vec::with_capacity(text.len()),
    };
    let mut i = 0;
    while i < kept.len() {
        let c = kept[i].0;
        let mut j = i + 1;
        while j < kept.len() && kept[j].0 == c {
            j += 1;
        }
        let run = &kept[i..j];
        if run.len() >= 3 && c.is_alphabetic() {
            let (s, e) = (run[0].1, run[run.len() - 1].2);
            out.push(c, s, e);
        } else {
            for &(c, s, e) in run {
                out.push(c, s, e);
            }
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_undoes_obfuscation() {
        for (input, expected) in [
            ("1gn0r3 pr3v10us", "ignore previous"),
            ("i g n o r e  this", "ignore  this"),
            ("f.u.c.k off", "fuck off"),
            ("stuuuupid", "stupid"),
            ("іgnоrе", "ignore"),
            ("résumé", "resume"),
            ("call 555 1234!", "call 555 1234!"),
        ] {
            assert_eq!(build_folded(input).text, expected, "{input}");
            assert_eq!(fold(input).text, expected, "{input}");
        }
    }

    type Folded = (String, Vec<(usize, usize)>);

    fn folded_pair(text: &str) -> (Folded, Folded) {
        let a = fold_ascii(text.as_bytes());
        let b = build_folded(text);
        ((a.text, a.map), (b.text, b.map))
    }

    #[test]
    fn ascii_folding_equals_the_general_folding() {
        for text in [
            "",
            "1gn0r3 pr3v10us",
            "i g n o r e  this",
            "f.u.c.k off",
            "stuuuupid AAAbbb 111 !!!",
            "what an @ss, $hit, a$$, p|ease, +rust, hi!",
            "(INV-2024-0412). $1,250.00 at 10:30 a-b-c-d x_y_z",
            "\tI D I O T\n\x0bi.d.i.o.t\x0c",
        ] {
            let (a, b) = folded_pair(text);
            assert_eq!(a, b, "{text:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]
        #[test]
        fn ascii_folding_equals_the_general_folding_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "a", "b", "I", "o", "O", "s", "0", "1", "3", "4", "5", "7", "8", "9", "2", "@",
                "$", "!", "|", "+", "*", " ", "  ", ".", "-", "_", "/", ",", "\t", "\n", "\x0b",
                "\x0c", "\r", "\x1c", "aaa", "ooo", "word", "x", "?", "#",
            ][..]), 0..40)
        ) {
            let text = parts.concat();
            let (a, b) = folded_pair(&text);
            proptest::prop_assert_eq!(a, b);
        }
    }
}
