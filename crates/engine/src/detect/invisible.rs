//! `sentinelai.invisible_text`: characters a reader cannot see but a model reads.
//!
//! Unicode tag characters (U+E0000 block) can spell out whole hidden instructions and are
//! decoded into the explanation; bidi overrides reorder what is displayed; zero-width
//! characters split words to dodge filters. A zero-width joiner between two emoji is ordinary
//! emoji composition and is ignored. Consecutive invisible characters form one finding.

use std::borrow::Cow;

use crate::detect::RawFinding;
use crate::normalize::tag_ascii;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ZeroWidth,
    Bidi,
    Tag,
}

fn kind(c: char) -> Option<Kind> {
    match c {
        '\u{200B}'
        | '\u{200C}'
        | '\u{200D}'
        | '\u{2060}'
        | '\u{2061}'..='\u{2064}'
        | '\u{FEFF}'
        | '\u{180E}'
        | '\u{00AD}' => Some(Kind::ZeroWidth),
        '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some(Kind::Bidi)
        }
        '\u{E0000}'..='\u{E007F}' => Some(Kind::Tag),
        _ => None,
    }
}

fn is_emoji(c: Option<char>) -> bool {
    c.is_some_and(|c| matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F))
}

pub(crate) fn scan(text: &str) -> Vec<RawFinding> {
    let mut out = Vec::new();
    let mut run: Option<(usize, usize, Kind, String, usize)> = None; // start, end, strongest kind, tag text, count
    let mut prev: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|(_, n)| *n);
        let k = kind(c).filter(|k| {
            !(c == '\u{200D}' && *k == Kind::ZeroWidth && is_emoji(prev) && is_emoji(next))
        });
        match k {
            Some(k) => {
                let end = i + c.len_utf8();
                let r = run.get_or_insert((i, end, k, String::new(), 0));
                r.1 = end;
                r.2 = r.2.max(k);
                r.4 += 1;
                if let Some(a) = tag_ascii(c) {
                    r.3.push(a);
                }
            }
            None => {
                if let Some(r) = run.take() {
                    out.push(finding(r));
                }
            }
        }
        prev = Some(c);
    }
    if let Some(r) = run.take() {
        out.push(finding(r));
    }
    out
}

fn finding((start, end, kind, tags, count): (usize, usize, Kind, String, usize)) -> RawFinding {
    let (entity, score, explanation) = match kind {
        Kind::Tag => (
            "unicode_tags",
            0.95,
            format!(
                "{count} Unicode tag characters spelling hidden text \"{}\"",
                tags.chars().take(80).collect::<String>()
            ),
        ),
        Kind::Bidi => (
            "bidi_override",
            0.8,
            format!("{count} bidirectional control characters"),
        ),
        Kind::ZeroWidth => (
            "zero_width",
            if count > 1 { 0.75 } else { 0.6 },
            format!("{count} zero-width characters"),
        ),
    };
    RawFinding {
        entity: Cow::Borrowed(entity),
        start,
        end,
        score,
        explanation: explanation.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let tags: String = "ignore"
            .chars()
            .filter_map(|c| char::from_u32(c as u32 + 0xE0000))
            .collect();
        let cases: Vec<(String, Vec<&str>)> = vec![
            ("pass\u{200B}word".into(), vec!["zero_width"]),
            ("abc\u{202E}fed".into(), vec!["bidi_override"]),
            (format!("hi{tags} there"), vec!["unicode_tags"]),
            ("family 👨\u{200D}👩\u{200D}👧".into(), vec![]),
            ("plain text".into(), vec![]),
            (
                "a\u{200B}b\u{200B}c".into(),
                vec!["zero_width", "zero_width"],
            ),
        ];
        for (text, entities) in cases {
            let got: Vec<String> = scan(&text)
                .into_iter()
                .map(|f| f.entity.into_owned())
                .collect();
            assert_eq!(got, entities, "{text:?}");
        }
        let f = scan(&format!("hi{tags}"));
        assert!(f[0].explanation.contains("\"ignore\""));
        assert_eq!(f[0].start, 2);
    }
}
