//! Turns a definition into tokens. Words may contain dots (`request.prompt`, `sentinelai.pii`,
//! `scope.user.role`) so that paths arrive as one token; the parser splits them. A `/regex/flags`
//! literal is only recognised right after the `matches` keyword, so `/` is never ambiguous.

use crate::error::{CompileError, Pos};

/// Definitions longer than this are rejected before lexing.
pub(crate) const MAX_DEFINITION_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokKind {
    /// A bare word: identifiers, dotted paths, bare values and numbers.
    Word(String),
    /// A quoted string, escapes resolved.
    Str(String),
    /// `/pattern/flags`.
    Regex {
        pattern: String,
        flags: String,
    },
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    Eof,
}

impl TokKind {
    pub(crate) fn describe(&self) -> String {
        match self {
            TokKind::Word(w) => format!("`{w}`"),
            TokKind::Str(s) => format!("string \"{s}\""),
            TokKind::Regex { .. } => "a regex".to_owned(),
            TokKind::LParen => "`(`".to_owned(),
            TokKind::RParen => "`)`".to_owned(),
            TokKind::LBracket => "`[`".to_owned(),
            TokKind::RBracket => "`]`".to_owned(),
            TokKind::Comma => "`,`".to_owned(),
            TokKind::Eq => "`=`".to_owned(),
            TokKind::Eof => "end of definition".to_owned(),
        }
    }

    /// Whether this is the keyword `kw` (keywords are case-insensitive).
    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        matches!(self, TokKind::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokKind,
    pub pos: Pos,
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    pos: Pos,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// Lex the whole definition, stopping at the first error.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, CompileError> {
    if src.len() > MAX_DEFINITION_BYTES {
        return Err(CompileError::new(
            Pos::START,
            format!(
                "definition is {} bytes; the limit is {MAX_DEFINITION_BYTES}",
                src.len()
            ),
        ));
    }
    let mut cur = Cursor {
        chars: src.chars().peekable(),
        pos: Pos::START,
    };
    let mut out: Vec<Token> = Vec::new();
    while let Some(c) = cur.peek() {
        let pos = cur.pos;
        if c.is_whitespace() {
            cur.bump();
            continue;
        }
        if c == '#' {
            while let Some(c) = cur.peek() {
                if c == '\n' {
                    break;
                }
                cur.bump();
            }
            continue;
        }
        let after_matches = out.last().is_some_and(|t| t.kind.is_kw("matches"));
        let kind = match c {
            '(' => single(&mut cur, TokKind::LParen),
            ')' => single(&mut cur, TokKind::RParen),
            '[' => single(&mut cur, TokKind::LBracket),
            ']' => single(&mut cur, TokKind::RBracket),
            ',' => single(&mut cur, TokKind::Comma),
            '"' | '\'' => lex_string(&mut cur, c)?,
            '/' if after_matches => lex_regex(&mut cur)?,
            '=' => {
                cur.bump();
                if cur.peek() == Some('=') {
                    return Err(CompileError::new(pos, "`==` is not an operator").with_hint(
                        "compare scope fields with `is`, e.g. `scope.app is SupportBot`",
                    ));
                }
                TokKind::Eq
            }
            '&' => {
                return Err(
                    CompileError::new(pos, "unexpected `&`").with_hint("use the keyword `and`")
                );
            }
            '|' => {
                return Err(
                    CompileError::new(pos, "unexpected `|`").with_hint("use the keyword `or`")
                );
            }
            '!' => {
                return Err(
                    CompileError::new(pos, "unexpected `!`").with_hint("use the keyword `not`")
                );
            }
            '/' => {
                return Err(CompileError::new(pos, "unexpected `/`").with_hint(
                    "regex literals follow `matches`, e.g. `request.prompt matches /secret/i`",
                ));
            }
            c if is_word_char(c) => {
                let mut w = String::new();
                while let Some(c) = cur.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    w.push(c);
                    cur.bump();
                }
                TokKind::Word(w)
            }
            other => {
                return Err(CompileError::new(
                    pos,
                    format!("unexpected character `{}`", other.escape_debug()),
                ));
            }
        };
        out.push(Token { kind, pos });
    }
    out.push(Token {
        kind: TokKind::Eof,
        pos: cur.pos,
    });
    Ok(out)
}

fn single(cur: &mut Cursor<'_>, kind: TokKind) -> TokKind {
    cur.bump();
    kind
}

fn lex_string(cur: &mut Cursor<'_>, quote: char) -> Result<TokKind, CompileError> {
    let start = cur.pos;
    cur.bump();
    let mut s = String::new();
    loop {
        let Some(c) = cur.bump() else {
            return Err(CompileError::new(start, "unterminated string")
                .with_hint(format!("close it with `{quote}`")));
        };
        match c {
            c if c == quote => return Ok(TokKind::Str(s)),
            '\\' => match cur.bump() {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some(c @ ('\\' | '"' | '\'')) => s.push(c),
                Some(other) => {
                    s.push('\\');
                    s.push(other);
                }
                None => {
                    return Err(CompileError::new(start, "unterminated string")
                        .with_hint(format!("close it with `{quote}`")));
                }
            },
            '\n' => {
                return Err(CompileError::new(start, "unterminated string")
                    .with_hint("strings cannot span lines; use `\\n`"));
            }
            c => s.push(c),
        }
    }
}

fn lex_regex(cur: &mut Cursor<'_>) -> Result<TokKind, CompileError> {
    let start = cur.pos;
    cur.bump();
    let mut pattern = String::new();
    loop {
        let Some(c) = cur.bump() else {
            return Err(
                CompileError::new(start, "unterminated regex").with_hint("close it with `/`")
            );
        };
        match c {
            '/' => break,
            '\\' => match cur.bump() {
                Some('/') => pattern.push('/'),
                Some(other) => {
                    pattern.push('\\');
                    pattern.push(other);
                }
                None => {
                    return Err(CompileError::new(start, "unterminated regex")
                        .with_hint("close it with `/`"));
                }
            },
            '\n' => {
                return Err(CompileError::new(start, "unterminated regex")
                    .with_hint("a regex literal must end on the line it starts"));
            }
            c => pattern.push(c),
        }
    }
    let mut flags = String::new();
    while let Some(c) = cur.peek() {
        if !c.is_alphanumeric() {
            break;
        }
        let at = cur.pos;
        if !matches!(c, 'i' | 'm' | 's' | 'x') {
            return Err(CompileError::new(at, format!("unknown regex flag `{c}`"))
                .with_hint("supported flags are i (case-insensitive), m (multi-line), s (dot matches newline), x (verbose)"));
        }
        if !flags.contains(c) {
            flags.push(c);
        }
        cur.bump();
    }
    Ok(TokKind::Regex { pattern, flags })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokKind> {
        lex(src)
            .map(|t| t.into_iter().map(|t| t.kind).collect())
            .unwrap_or_default()
    }

    #[test]
    fn lexes_paths_strings_and_regexes() {
        assert_eq!(
            kinds(r#"request.prompt contains "a \"b\"" OR x MATCHES /a\/b/is"#),
            vec![
                TokKind::Word("request.prompt".into()),
                TokKind::Word("contains".into()),
                TokKind::Str("a \"b\"".into()),
                TokKind::Word("OR".into()),
                TokKind::Word("x".into()),
                TokKind::Word("MATCHES".into()),
                TokKind::Regex {
                    pattern: "a/b".into(),
                    flags: "is".into()
                },
                TokKind::Eof,
            ]
        );
    }

    #[test]
    fn positions_are_one_based_chars() {
        let toks = lex("é and\n  (x)").unwrap_or_default();
        let pos: Vec<(usize, usize)> = toks.iter().map(|t| (t.pos.line, t.pos.column)).collect();
        assert_eq!(pos, vec![(1, 1), (1, 3), (2, 3), (2, 4), (2, 5), (2, 6)]);
    }

    #[test]
    fn errors_carry_hints() {
        let cases = [
            ("a == b", 1, 3, "`==`"),
            ("a && b", 1, 3, "`&`"),
            ("x contains \"abc", 1, 12, "unterminated string"),
            ("x matches /abc", 1, 11, "unterminated regex"),
            ("x matches /abc/q", 1, 16, "unknown regex flag"),
            ("a / b", 1, 3, "unexpected `/`"),
        ];
        for (src, line, col, msg) in cases {
            let err = lex(src).err();
            let err = err.as_ref();
            assert_eq!(err.map(|e| (e.line, e.column)), Some((line, col)), "{src}");
            assert!(
                err.is_some_and(|e| e.message.contains(msg)),
                "{src}: {err:?}"
            );
        }
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("# note\nx # trailing"),
            vec![TokKind::Word("x".into()), TokKind::Eof]
        );
    }
}
