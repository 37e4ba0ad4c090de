//! Quotation handling for the attack detectors: a phrase quoted as a *mention* ("attackers write
//! 'ignore all previous instructions'") is no evidence of an attack.

/// Longest quotation, in words, that still reads as a mention rather than a quoted document.
const MENTION_MAX_WORDS: usize = 16;

/// Byte ranges of the contents of quoted *mentions* in `text`: a closed quotation on one line of
/// at most [`MENTION_MAX_WORDS`] words that follows a word (`… matches 'ignore previous
/// instructions'`), not a colon, bracket or `=` (`Summarise this review: "…"`, `{"note": "…"}`,
/// `a = '…'`), which introduce content to act on rather than talk about.
pub(crate) fn mention_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    // (quote char, content start, whether it is a mention)
    let mut open: Option<(char, usize, bool)> = None;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let after_word = prev.is_some_and(char::is_alphanumeric);
        let next_word = text
            .get(i + c.len_utf8()..)
            .and_then(|rest| rest.chars().next())
            .is_some_and(char::is_alphanumeric);
        prev = Some(c);
        if c == '\n' {
            open = None;
            continue;
        }
        match open {
            None => {
                let opens = matches!(c, '"' | '“' | '«')
                    || (matches!(c, '\'' | '‘') && !after_word && next_word);
                if opens {
                    let lead = text.get(..i).unwrap_or("").trim_end().chars().next_back();
                    let mention =
                        lead.is_some_and(|l| !matches!(l, ':' | '{' | '[' | '(' | '=' | ','));
                    open = Some((c, i + c.len_utf8(), mention));
                }
            }
            Some((q, start, mention)) => {
                let closes = match q {
                    '"' => c == '"',
                    '“' => c == '”',
                    '«' => c == '»',
                    _ => matches!(c, '\'' | '’') && after_word && !next_word,
                };
                if closes {
                    let body = text.get(start..i).unwrap_or("");
                    if mention && body.split_whitespace().count() <= MENTION_MAX_WORDS {
                        out.push((start, i));
                    }
                    open = None;
                }
            }
        }
    }
    out
}

/// `text` with the byte ranges `spans` (sorted, disjoint, on char boundaries) left out.
pub(super) fn without_spans(text: &str, spans: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for &(a, b) in spans {
        out.push_str(text.get(at..a).unwrap_or(""));
        at = b;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

/// Whether byte `at` of `text` lies inside a quotation on its line: after an unclosed `"`, `“`,
/// `«` or an opening `'`/`‘` (one not preceded by a letter or digit, so apostrophes in "don't"
/// do not count).
pub(crate) fn in_quotes(text: &str, at: usize) -> bool {
    let Some(before) = text.get(..at) else {
        return false;
    };
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let (mut double, mut curly, mut single) = (false, 0i32, 0i32);
    let mut prev: Option<char> = None;
    for (i, c) in before.get(line_start..).unwrap_or("").char_indices() {
        let after_word = prev.is_some_and(char::is_alphanumeric);
        let next_word = text
            .get(line_start + i + c.len_utf8()..)
            .and_then(|rest| rest.chars().next())
            .is_some_and(char::is_alphanumeric);
        match c {
            '"' => double = !double,
            '“' | '«' => curly += 1,
            '”' | '»' => curly -= 1,
            '\'' | '‘' if !after_word && next_word => single += 1,
            '\'' | '’' if after_word && !next_word => single -= 1,
            _ => {}
        }
        prev = Some(c);
    }
    double || curly > 0 || single > 0
}
