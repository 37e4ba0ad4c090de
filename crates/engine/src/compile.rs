//! Syntax tree → [`CompiledPolicy`]: detector names and arguments resolved, regexes and term
//! automata built, scope values folded. Every semantic error is reported, not just the first.

use serde::Serialize;

use crate::ast::{Clause, Expr, ScopeField, ScopeOp, TargetSel};
use crate::detect::custom::{RegexList, TERM_LIST_UNITS, TermList, build_regex};
use crate::detect::{self, DETECTOR_NAMES, Detector, DetectorKind};
use crate::error::CompileError;
use crate::parser::parse;

/// The compiled boolean expression. Detector indices point into the owner's detector table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CExpr {
    Or(Vec<CExpr>),
    And(Vec<CExpr>),
    Not(Box<CExpr>),
    Text {
        target: TargetSel,
        detector: usize,
    },
    /// Values are lowercased: scope comparisons ignore case.
    Scope {
        field: ScopeField,
        op: ScopeOp,
        negated: bool,
        values: Vec<String>,
    },
}

impl CExpr {
    /// Point detector indices at another table.
    pub(crate) fn remap(&mut self, map: &[usize]) {
        match self {
            CExpr::Or(items) | CExpr::And(items) => items.iter_mut().for_each(|i| i.remap(map)),
            CExpr::Not(inner) => inner.remap(map),
            CExpr::Text { detector, .. } => {
                *detector = map.get(*detector).copied().unwrap_or(*detector)
            }
            CExpr::Scope { .. } => {}
        }
    }

    pub(crate) fn scope_clauses(&self) -> usize {
        match self {
            CExpr::Or(items) | CExpr::And(items) => items.iter().map(CExpr::scope_clauses).sum(),
            CExpr::Not(inner) => inner.scope_clauses(),
            CExpr::Text { .. } => 0,
            CExpr::Scope { .. } => 1,
        }
    }
}

/// A policy definition that compiled: evaluation cannot fail on it.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub(crate) expr: CExpr,
    pub(crate) detectors: Vec<Detector>,
}

impl CompiledPolicy {
    /// The `sentinelai.*` detectors the definition uses, in order of first use, without
    /// duplicates (`contains` / `matches` clauses are not detectors and are not listed).
    pub fn detectors(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in &self.detectors {
            if !matches!(d.name, "contains" | "matches") && !out.iter().any(|n| n == d.name) {
                out.push(d.name.to_owned());
            }
        }
        out
    }
}

/// Compile a definition, or explain everything that is wrong with it.
pub fn compile(definition: &str) -> Result<CompiledPolicy, Vec<CompileError>> {
    let ast = parse(definition).map_err(|e| vec![e])?;
    let mut c = Compiler {
        detectors: Vec::new(),
        errors: Vec::new(),
    };
    let expr = c.expr(&ast);
    if c.errors.is_empty() {
        Ok(CompiledPolicy {
            expr,
            detectors: c.detectors,
        })
    } else {
        c.errors.sort_by_key(|e| (e.line, e.column));
        Err(c.errors)
    }
}

struct Compiler {
    detectors: Vec<Detector>,
    errors: Vec<CompileError>,
}

impl Compiler {
    fn add(&mut self, d: Detector) -> usize {
        if let Some(i) = self.detectors.iter().position(|x| x.key == d.key) {
            return i;
        }
        self.detectors.push(d);
        self.detectors.len() - 1
    }

    fn expr(&mut self, e: &Expr) -> CExpr {
        match e {
            Expr::Or(items) => CExpr::Or(items.iter().map(|i| self.expr(i)).collect()),
            Expr::And(items) => CExpr::And(items.iter().map(|i| self.expr(i)).collect()),
            Expr::Not(inner) => CExpr::Not(Box::new(self.expr(inner))),
            Expr::Clause(c) => self.clause(c),
        }
    }

    fn clause(&mut self, c: &Clause) -> CExpr {
        match c {
            Clause::Has { target, detector } => match detect::build(detector) {
                Ok(d) => CExpr::Text {
                    target: *target,
                    detector: self.add(d),
                },
                Err(errs) => {
                    self.errors.extend(errs);
                    CExpr::Or(Vec::new())
                }
            },
            Clause::Contains { target, text, pos } => {
                match TermList::new(std::slice::from_ref(text), false, "contains", 1.0) {
                    Ok(list) => {
                        let key = format!("contains({})", list.terms().join(""));
                        let d = Detector::new(
                            "contains",
                            key,
                            DetectorKind::Terms(list),
                            TERM_LIST_UNITS,
                        );
                        CExpr::Text {
                            target: *target,
                            detector: self.add(d),
                        }
                    }
                    Err(_) => {
                        self.errors.push(
                            CompileError::new(*pos, "`contains` needs a non-empty string")
                                .with_hint("e.g. `contains \"internal only\"`"),
                        );
                        CExpr::Or(Vec::new())
                    }
                }
            }
            Clause::Matches {
                target,
                pattern,
                flags,
                pos,
            } => match build_regex(pattern, flags) {
                Ok(re) => {
                    let key = format!("matches({pattern}/{flags})");
                    let d = Detector::new(
                        "matches",
                        key,
                        DetectorKind::Regex(RegexList::new(vec![re], "regex_match")),
                        0.0,
                    );
                    CExpr::Text {
                        target: *target,
                        detector: self.add(d),
                    }
                }
                Err(e) => {
                    self.errors
                        .push(CompileError::new(*pos, format!("invalid regex: {e}")));
                    CExpr::Or(Vec::new())
                }
            },
            Clause::Scope {
                field,
                op,
                negated,
                values,
            } => {
                let values = values.iter().map(|v| v.to_lowercase()).collect();
                CExpr::Scope {
                    field: field.clone(),
                    op: *op,
                    negated: *negated,
                    values,
                }
            }
        }
    }
}

/// The answer to "is this definition valid?", for `/api/policies/validate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    pub valid: bool,
    pub errors: Vec<CompileError>,
    /// Known detectors the definition names, even when it has errors elsewhere.
    pub detectors: Vec<String>,
}

/// Check a definition without keeping the compiled form.
pub fn validate(definition: &str) -> Validation {
    match compile(definition) {
        Ok(p) => Validation {
            valid: true,
            errors: Vec::new(),
            detectors: p.detectors(),
        },
        Err(errors) => Validation {
            valid: false,
            errors,
            detectors: named_detectors(definition),
        },
    }
}

/// Known detector names in a definition that parses (whatever its other errors).
pub(crate) fn named_detectors(definition: &str) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Or(items) | Expr::And(items) => items.iter().for_each(|i| walk(i, out)),
            Expr::Not(inner) => walk(inner, out),
            Expr::Clause(Clause::Has { detector, .. }) => {
                if DETECTOR_NAMES.contains(&detector.name.as_str()) && !out.contains(&detector.name)
                {
                    out.push(detector.name.clone());
                }
            }
            Expr::Clause(_) => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(ast) = parse(definition) {
        walk(&ast, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_examples_compile() {
        for def in crate::tests_support::DESIGN_EXAMPLES {
            if let Err(e) = compile(def) {
                panic!("{def}: {e:?}");
            }
        }
    }

    #[test]
    fn detectors_are_listed_once() {
        let p = compile("request.prompt has sentinelai.pii or response.completion has sentinelai.pii(email) or any.text contains \"x\" or any.text has sentinelai.secrets").ok();
        assert_eq!(
            p.map(|p| p.detectors()),
            Some(vec!["pii".to_owned(), "secrets".to_owned()])
        );
    }

    #[test]
    fn identical_detectors_are_shared() {
        let p = compile("request.prompt has sentinelai.pii(email, ssn) or response.completion has sentinelai.pii(ssn, email)").ok();
        assert_eq!(p.map(|p| p.detectors.len()), Some(1));
    }

    #[test]
    fn all_semantic_errors_are_reported() {
        let errs = compile("request.prompt has sentinelai.pi or\n  response.completion matches /(/ or any.text has sentinelai.toxicity(min_score=3)").err().unwrap_or_default();
        let got: Vec<(usize, usize)> = errs.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(got, vec![(1, 20), (2, 31), (2, 71)], "{errs:?}");
        assert_eq!(
            errs[0].to_string(),
            "line 1, column 20: unknown detector `sentinelai.pi` (hint: did you mean `sentinelai.pii`?)"
        );
    }

    #[test]
    fn validate_reports_detectors_even_with_errors() {
        let v = validate(
            "request.prompt has sentinelai.pii and response.completion has sentinelai.toxcity",
        );
        assert!(!v.valid);
        assert_eq!(v.detectors, vec!["pii".to_owned()]);
        assert_eq!(v.errors.len(), 1);
        let v = validate("any.text has sentinelai.secrets");
        assert!(v.valid && v.errors.is_empty());
        assert_eq!(v.detectors, vec!["secrets".to_owned()]);
    }
}
