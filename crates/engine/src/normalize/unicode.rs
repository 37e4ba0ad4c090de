//! Unicode normalisation: NFKC per character, invisible characters removed, lowercased.

use unicode_normalization::UnicodeNormalization;

use super::Owned;

/// Characters removed by normalisation: zero-width, bidi controls, tags, soft hyphen, BOM.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

pub(super) fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// NFKC per character, invisible characters dropped, lowercased; with original spans.
pub(super) fn normalized_chars(text: &str) -> Vec<(char, usize, usize)> {
    let mut out = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if c.is_ascii() {
            out.push((c.to_ascii_lowercase(), i, end));
        } else if !is_invisible(c) {
            for n in std::iter::once(c).nfkc() {
                for l in n.to_lowercase() {
                    out.push((l, i, end));
                }
            }
        }
    }
    out
}

pub(super) fn build_normalized(text: &str) -> Option<Owned> {
    if text.is_ascii() {
        return None;
    }
    let mut o = Owned {
        text: String::with_capacity(text.len()),
        map: Vec::with_capacity(text.len()),
    };
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if c.is_ascii() {
            o.push(c, i, end);
        } else if !is_invisible(c) {
            for n in std::iter::once(c).nfkc() {
                for l in n.to_lowercase() {
                    o.push(l, i, end);
                }
            }
        }
    }
    (o.text != text).then_some(o)
}
