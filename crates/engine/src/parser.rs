//! Recursive-descent parser: tokens → [`Expr`]. Precedence is `not` > `and` > `or`.
//!
//! The parser stops at the first syntax error (later errors are usually noise caused by the
//! first); name resolution in `compile` then reports every semantic error it finds. Nesting is
//! capped so that no input can exhaust the stack.

use crate::ast::{Arg, ArgValue, Clause, DetectorCall, Expr, ScopeField, ScopeOp, TargetSel};
use crate::error::{CompileError, Pos, closest};
use crate::lexer::{TokKind, Token, lex};

/// Deepest nesting of parentheses and `not` accepted.
pub(crate) const MAX_DEPTH: usize = 64;

const KEYWORDS: [&str; 8] = ["and", "or", "not", "has", "contains", "matches", "is", "in"];
const DETECTOR_PREFIX: &str = "sentinelai.";

pub(crate) fn parse(src: &str) -> Result<Expr, CompileError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    if p.peek().kind == TokKind::Eof {
        return Err(CompileError::new(p.peek().pos, "empty definition")
            .with_hint("write a condition such as `request.prompt has sentinelai.pii`"));
    }
    let expr = p.parse_or()?;
    let tok = p.peek();
    if tok.kind != TokKind::Eof {
        let hint = match &tok.kind {
            TokKind::Word(w) => closest(w, ["and", "or"]).map(|k| format!("did you mean `{k}`?")),
            TokKind::RParen => Some("this `)` has no matching `(`".to_owned()),
            _ => None,
        }
        .or_else(|| Some("join conditions with `and` or `or`".to_owned()));
        return Err(
            CompileError::new(tok.pos, format!("unexpected {}", tok.kind.describe()))
                .with_hint_opt(hint),
        );
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The lexer always ends the stream with Eof, and `bump` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    /// The token `n` ahead of the next one (Eof past the end).
    fn peek_at(&self, n: usize) -> &Token {
        &self.tokens[(self.at + n).min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let tok = self.peek().clone();
        if tok.kind != TokKind::Eof {
            self.at += 1;
        }
        tok
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().kind.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn enter(&mut self, pos: Pos) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::new(
                pos,
                format!("expression nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Expr, CompileError> {
        let mut items = vec![self.parse_and()?];
        while self.eat_kw("or") {
            items.push(self.parse_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn parse_and(&mut self) -> Result<Expr, CompileError> {
        let mut items = vec![self.parse_not()?];
        while self.eat_kw("and") {
            items.push(self.parse_not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn parse_not(&mut self) -> Result<Expr, CompileError> {
        let pos = self.peek().pos;
        if self.eat_kw("not") {
            self.enter(pos)?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Expr, CompileError> {
        let tok = self.bump();
        match &tok.kind {
            TokKind::LParen => {
                self.enter(tok.pos)?;
                let inner = self.parse_or()?;
                self.depth -= 1;
                let close = self.bump();
                if close.kind != TokKind::RParen {
                    return Err(CompileError::new(
                        close.pos,
                        format!("expected `)`, found {}", close.kind.describe()),
                    )
                    .with_hint(format!(
                        "the `(` at line {}, column {} is not closed",
                        tok.pos.line, tok.pos.column
                    )));
                }
                Ok(inner)
            }
            TokKind::Word(w) => {
                let lower = w.to_ascii_lowercase();
                if let Some(target) = TargetSel::from_name(&lower) {
                    return self.parse_text_clause(target, &tok);
                }
                if let Some(path) = w.get(6..).filter(|_| lower.starts_with("scope."))
                    && !path.is_empty()
                    && !path.starts_with('.')
                    && !path.ends_with('.')
                {
                    return self.parse_scope_clause(ScopeField::from_path(path), &tok);
                }
                Err(self.expected_clause(&tok))
            }
            _ => Err(self.expected_clause(&tok)),
        }
    }

    fn expected_clause(&self, tok: &Token) -> CompileError {
        let err = CompileError::new(
            tok.pos,
            format!("expected a condition, found {}", tok.kind.describe()),
        );
        let hint = match &tok.kind {
            TokKind::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                format!("`{}` must follow a condition", w.to_ascii_lowercase())
            }
            TokKind::Word(w) if w.eq_ignore_ascii_case("scope") || w.to_ascii_lowercase().starts_with("scope.") => {
                "name a scope field: scope.app, scope.user, scope.user.role, scope.model, scope.environment or a metadata key".to_owned()
            }
            TokKind::Word(w) => match closest(w, TargetSel::NAMES) {
                Some(t) => format!("did you mean `{t}`?"),
                None => "a condition starts with request.prompt, response.completion, any.text, request.system, tool.arguments, tool.result or scope.FIELD".to_owned(),
            },
            TokKind::Str(_) => "a quoted string goes after `contains`, e.g. `request.prompt contains \"text\"`".to_owned(),
            _ => "a condition starts with request.prompt, response.completion, any.text, request.system, tool.arguments, tool.result or scope.FIELD".to_owned(),
        };
        err.with_hint(hint)
    }

    fn parse_text_clause(
        &mut self,
        target: TargetSel,
        target_tok: &Token,
    ) -> Result<Expr, CompileError> {
        let verb = self.bump();
        if verb.kind.is_kw("has") {
            let detector = self.parse_detector()?;
            return Ok(Expr::Clause(Clause::Has { target, detector }));
        }
        if verb.kind.is_kw("contains") {
            let tok = self.bump();
            return match tok.kind {
                TokKind::Str(text) => Ok(Expr::Clause(Clause::Contains {
                    target,
                    text,
                    pos: tok.pos,
                })),
                other => Err(CompileError::new(
                    tok.pos,
                    format!("expected a quoted string, found {}", other.describe()),
                )
                .with_hint("quote the text: `contains \"internal only\"`")),
            };
        }
        if verb.kind.is_kw("matches") {
            let tok = self.bump();
            return match tok.kind {
                TokKind::Regex { pattern, flags } => Ok(Expr::Clause(Clause::Matches {
                    target,
                    pattern,
                    flags,
                    pos: tok.pos,
                })),
                TokKind::Str(pattern) => Ok(Expr::Clause(Clause::Matches {
                    target,
                    pattern,
                    flags: String::new(),
                    pos: tok.pos,
                })),
                other => Err(CompileError::new(
                    tok.pos,
                    format!("expected a regex, found {}", other.describe()),
                )
                .with_hint("write the regex between slashes: `matches /project\\s+falcon/i`")),
            };
        }
        let name = match &target_tok.kind {
            TokKind::Word(w) => w.to_ascii_lowercase(),
            _ => String::new(),
        };
        let hint = match &verb.kind {
            TokKind::Word(w) if w.eq_ignore_ascii_case("not") => {
                format!("negate the whole condition: `not {name} has ...`")
            }
            TokKind::Word(w) if w.eq_ignore_ascii_case("is") || w.eq_ignore_ascii_case("in") => {
                "`is` and `in` compare scope fields; texts use `has`, `contains` or `matches`"
                    .to_owned()
            }
            TokKind::Word(w) => match closest(w, ["has", "contains", "matches"]) {
                Some(k) => format!("did you mean `{k}`?"),
                None => {
                    "e.g. `has sentinelai.pii`, `contains \"text\"` or `matches /regex/`".to_owned()
                }
            },
            _ => "e.g. `has sentinelai.pii`, `contains \"text\"` or `matches /regex/`".to_owned(),
        };
        Err(CompileError::new(
            verb.pos,
            format!(
                "expected `has`, `contains` or `matches` after `{name}`, found {}",
                verb.kind.describe()
            ),
        )
        .with_hint(hint))
    }

    fn parse_detector(&mut self) -> Result<DetectorCall, CompileError> {
        let tok = self.bump();
        let TokKind::Word(w) = &tok.kind else {
            return Err(CompileError::new(
                tok.pos,
                format!("expected a detector, found {}", tok.kind.describe()),
            )
            .with_hint("detectors are written `sentinelai.NAME`, e.g. `sentinelai.pii`"));
        };
        let lower = w.to_ascii_lowercase();
        let Some(name) = lower.strip_prefix(DETECTOR_PREFIX) else {
            return Err(
                CompileError::new(tok.pos, format!("expected a detector, found `{w}`")).with_hint(
                    format!("detectors are written `sentinelai.NAME`, e.g. `sentinelai.{lower}`"),
                ),
            );
        };
        let mut call = DetectorCall {
            name: name.to_owned(),
            pos: tok.pos,
            args: Vec::new(),
        };
        if self.peek().kind != TokKind::LParen {
            return Ok(call);
        }
        let open = self.bump();
        loop {
            if self.peek().kind == TokKind::RParen {
                self.bump();
                return Ok(call);
            }
            call.args.extend(self.parse_args()?);
            let sep = self.bump();
            match sep.kind {
                TokKind::Comma => {}
                TokKind::RParen => return Ok(call),
                other => {
                    return Err(CompileError::new(
                        sep.pos,
                        format!("expected `,` or `)`, found {}", other.describe()),
                    )
                    .with_hint(format!(
                        "the argument list opened at line {}, column {} is not closed",
                        open.pos.line, open.pos.column
                    )));
                }
            }
        }
    }

    /// One argument, or several for `key=[a, b]` (one per list item, all with the key).
    fn parse_args(&mut self) -> Result<Vec<Arg>, CompileError> {
        let is_list = matches!(self.peek().kind, TokKind::Word(_))
            && self.peek_at(1).kind == TokKind::Eq
            && self.peek_at(2).kind == TokKind::LBracket;
        if !is_list {
            return Ok(vec![self.parse_arg()?]);
        }
        let tok = self.bump();
        self.bump();
        let key = match tok.kind {
            TokKind::Word(w) => w.to_ascii_lowercase(),
            _ => String::new(),
        };
        let values = self.parse_list()?;
        if values.is_empty() {
            return Err(
                CompileError::new(tok.pos, format!("`{key}=[]` lists nothing"))
                    .with_hint(format!("e.g. `{key}=[a, b]`, or leave the argument out")),
            );
        }
        Ok(values
            .into_iter()
            .map(|v| Arg {
                key: Some(key.clone()),
                value: ArgValue::Word(v),
                pos: tok.pos,
            })
            .collect())
    }

    fn parse_arg(&mut self) -> Result<Arg, CompileError> {
        let tok = self.bump();
        match tok.kind {
            TokKind::Word(w) if self.peek().kind == TokKind::Eq => {
                self.bump();
                let vtok = self.bump();
                let value = match vtok.kind {
                    TokKind::Word(v) => word_value(v),
                    TokKind::Str(s) => ArgValue::Str(s),
                    other => {
                        return Err(CompileError::new(
                            vtok.pos,
                            format!("expected a value after `=`, found {}", other.describe()),
                        ));
                    }
                };
                Ok(Arg {
                    key: Some(w.to_ascii_lowercase()),
                    value,
                    pos: tok.pos,
                })
            }
            TokKind::Word(w) => Ok(Arg {
                key: None,
                value: word_value(w),
                pos: tok.pos,
            }),
            TokKind::Str(s) => Ok(Arg {
                key: None,
                value: ArgValue::Str(s),
                pos: tok.pos,
            }),
            TokKind::Regex { pattern, .. } => Ok(Arg {
                key: None,
                value: ArgValue::Str(pattern),
                pos: tok.pos,
            }),
            other => Err(CompileError::new(
                tok.pos,
                format!("expected an argument, found {}", other.describe()),
            )
            .with_hint("arguments are names, \"strings\", numbers or key=value")),
        }
    }

    fn parse_scope_clause(
        &mut self,
        field: ScopeField,
        field_tok: &Token,
    ) -> Result<Expr, CompileError> {
        let op_tok = self.bump();
        let (op, negated) = if op_tok.kind.is_kw("is") {
            (ScopeOp::Is, self.eat_kw("not"))
        } else if op_tok.kind.is_kw("in") {
            (ScopeOp::In, false)
        } else if op_tok.kind.is_kw("not") && self.eat_kw("in") {
            (ScopeOp::In, true)
        } else {
            let name = match &field_tok.kind {
                TokKind::Word(w) => w.clone(),
                _ => String::new(),
            };
            let hint = match &op_tok.kind {
                TokKind::Word(w)
                    if w.eq_ignore_ascii_case("has") || w.eq_ignore_ascii_case("contains") =>
                {
                    "scope fields are compared with `is` or `in`".to_owned()
                }
                TokKind::Eq => "use `is` instead of `=`".to_owned(),
                _ => format!("e.g. `{name} is SupportBot` or `{name} in [a, b]`"),
            };
            return Err(CompileError::new(
                op_tok.pos,
                format!(
                    "expected `is`, `is not`, `in` or `not in` after `{name}`, found {}",
                    op_tok.kind.describe()
                ),
            )
            .with_hint(hint));
        };
        let values = match op {
            ScopeOp::Is => vec![self.parse_value()?],
            ScopeOp::In => self.parse_list()?,
        };
        Ok(Expr::Clause(Clause::Scope {
            field,
            op,
            negated,
            values,
        }))
    }

    fn parse_value(&mut self) -> Result<String, CompileError> {
        let tok = self.bump();
        match tok.kind {
            TokKind::Word(w) => Ok(w),
            TokKind::Str(s) => Ok(s),
            other => Err(CompileError::new(
                tok.pos,
                format!("expected a value, found {}", other.describe()),
            )
            .with_hint("values are bare words or \"quoted strings\"")),
        }
    }

    fn parse_list(&mut self) -> Result<Vec<String>, CompileError> {
        let open = self.bump();
        if open.kind != TokKind::LBracket {
            return Err(CompileError::new(
                open.pos,
                format!("expected `[`, found {}", open.kind.describe()),
            )
            .with_hint("write a list: `in [SupportBot, \"Billing Assistant\"]`"));
        }
        let mut values = Vec::new();
        loop {
            if self.peek().kind == TokKind::RBracket {
                self.bump();
                return Ok(values);
            }
            values.push(self.parse_value()?);
            let sep = self.bump();
            match sep.kind {
                TokKind::Comma => {}
                TokKind::RBracket => return Ok(values),
                other => {
                    return Err(CompileError::new(
                        sep.pos,
                        format!("expected `,` or `]`, found {}", other.describe()),
                    )
                    .with_hint(format!(
                        "the list opened at line {}, column {} is not closed",
                        open.pos.line, open.pos.column
                    )));
                }
            }
        }
    }
}

fn word_value(w: String) -> ArgValue {
    let numeric_start = w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
    match w.parse::<f64>() {
        Ok(n) if numeric_start && n.is_finite() => ArgValue::Number(n),
        _ => ArgValue::Word(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Expr {
        match parse(src) {
            Ok(e) => e,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let e = ok("not scope.app is a and scope.app is b or scope.app is c");
        let Expr::Or(items) = e else {
            panic!("expected or")
        };
        assert_eq!(items.len(), 2);
        let Expr::And(and) = &items[0] else {
            panic!("expected and")
        };
        assert!(matches!(and[0], Expr::Not(_)));
    }

    #[test]
    fn keywords_are_case_insensitive() {
        ok("REQUEST.PROMPT HAS SENTINELAI.PII AND NOT scope.app IS x OR any.text Contains \"y\"");
    }

    #[test]
    fn detector_args() {
        let e = ok(r#"any.text has sentinelai.pii(email, "credit_card", min_score=0.8, max=3,)"#);
        let Expr::Clause(Clause::Has { detector, .. }) = e else {
            panic!("expected has")
        };
        assert_eq!(detector.name, "pii");
        assert_eq!(detector.args.len(), 4);
        assert_eq!(detector.args[2].key.as_deref(), Some("min_score"));
        assert_eq!(detector.args[2].value, ArgValue::Number(0.8));
        assert_eq!(detector.args[1].value, ArgValue::Str("credit_card".into()));
    }

    #[test]
    fn scope_forms() {
        for (src, op, neg, n) in [
            ("scope.app is x", ScopeOp::Is, false, 1),
            ("scope.app is not x", ScopeOp::Is, true, 1),
            ("scope.app in [a, \"b c\"]", ScopeOp::In, false, 2),
            ("scope.app not in [a]", ScopeOp::In, true, 1),
            ("scope.app in []", ScopeOp::In, false, 0),
        ] {
            let Expr::Clause(Clause::Scope {
                op: o,
                negated,
                values,
                ..
            }) = ok(src)
            else {
                panic!("{src}")
            };
            assert_eq!((o, negated, values.len()), (op, neg, n), "{src}");
        }
        let Expr::Clause(Clause::Scope { field, .. }) = ok("scope.user.role is admin") else {
            panic!()
        };
        assert_eq!(field, ScopeField::UserRole);
        let Expr::Clause(Clause::Scope { field, .. }) = ok("scope.Team is red") else {
            panic!()
        };
        assert_eq!(field, ScopeField::Metadata("Team".into()));
    }

    #[test]
    fn syntax_errors_table() {
        let cases: &[(&str, usize, usize, &str, Option<&str>)] = &[
            ("", 1, 1, "empty definition", None),
            ("request.prompt", 1, 15, "expected `has`", None),
            (
                "request.prompt hass sentinelai.pii",
                1,
                16,
                "expected `has`",
                Some("did you mean `has`?"),
            ),
            (
                "request.promt has sentinelai.pii",
                1,
                1,
                "expected a condition",
                Some("did you mean `request.prompt`?"),
            ),
            (
                "request.prompt has pii",
                1,
                20,
                "expected a detector",
                Some("`sentinelai.pii`"),
            ),
            (
                "(request.prompt has sentinelai.pii",
                1,
                35,
                "expected `)`",
                None,
            ),
            (
                "request.prompt has sentinelai.pii adn scope.app is x",
                1,
                35,
                "unexpected",
                Some("did you mean `and`?"),
            ),
            ("scope.app == x", 1, 11, "`==`", None),
            (
                "scope.app = x",
                1,
                11,
                "expected `is`",
                Some("use `is` instead of `=`"),
            ),
            (
                "request.prompt contains internal",
                1,
                25,
                "expected a quoted string",
                None,
            ),
            (
                "and request.prompt has sentinelai.pii",
                1,
                1,
                "expected a condition",
                Some("`and` must follow a condition"),
            ),
            (
                "request.prompt has sentinelai.pii(email",
                1,
                40,
                "expected `,` or `)`",
                None,
            ),
            ("scope.app in [a b]", 1, 17, "expected `,` or `]`", None),
            (
                "request.prompt not has sentinelai.pii",
                1,
                16,
                "expected `has`",
                Some("negate the whole condition"),
            ),
            ("scope.app is", 1, 13, "expected a value", None),
            ("x\n  and", 1, 1, "expected a condition", None),
        ];
        for (src, line, col, msg, hint) in cases {
            let err = parse(src).err();
            let Some(err) = err else {
                panic!("{src:?} parsed")
            };
            assert_eq!((err.line, err.column), (*line, *col), "{src:?}: {err}");
            assert!(err.message.contains(msg), "{src:?}: {err}");
            if let Some(h) = hint {
                assert!(
                    err.hint.as_deref().is_some_and(|x| x.contains(h)),
                    "{src:?}: {err}"
                );
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("{}scope.app is x{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&src).is_err());
        let src = format!("{}scope.app is x", "not ".repeat(10_000));
        assert!(parse(&src).is_err());
        let src = format!("{}scope.app is x{}", "(".repeat(20), ")".repeat(20));
        assert!(parse(&src).is_ok());
    }
}
