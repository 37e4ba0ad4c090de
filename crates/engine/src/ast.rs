//! The syntax tree the parser produces. Names are still strings here; `compile` resolves them.

use crate::error::Pos;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Clause(Clause),
}

/// Which text a clause looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetSel {
    Prompt,
    Completion,
    /// Either text: the clause holds when it holds for the prompt or the completion.
    Any,
}

impl TargetSel {
    pub(crate) const NAMES: [&'static str; 3] =
        ["request.prompt", "response.completion", "any.text"];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "request.prompt" => Some(TargetSel::Prompt),
            "response.completion" => Some(TargetSel::Completion),
            "any.text" => Some(TargetSel::Any),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Clause {
    Has {
        target: TargetSel,
        detector: DetectorCall,
    },
    Contains {
        target: TargetSel,
        text: String,
        pos: Pos,
    },
    Matches {
        target: TargetSel,
        pattern: String,
        flags: String,
        pos: Pos,
    },
    Scope {
        field: ScopeField,
        op: ScopeOp,
        negated: bool,
        values: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeOp {
    Is,
    In,
}

/// A `scope.FIELD`. Anything that is not a named field is a metadata key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScopeField {
    App,
    User,
    UserRole,
    Model,
    Environment,
    Metadata(String),
}

impl ScopeField {
    pub(crate) fn from_path(path: &str) -> Self {
        match path.to_ascii_lowercase().as_str() {
            "app" | "source" => ScopeField::App,
            "user" => ScopeField::User,
            "user.role" | "role" => ScopeField::UserRole,
            "model" | "model_name" => ScopeField::Model,
            "environment" | "env" => ScopeField::Environment,
            _ => ScopeField::Metadata(path.strip_prefix("metadata.").unwrap_or(path).to_owned()),
        }
    }
}

/// `sentinelai.NAME(args)` as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DetectorCall {
    /// Name without the `sentinelai.` prefix, lowercased.
    pub name: String,
    pub pos: Pos,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Arg {
    pub key: Option<String>,
    pub value: ArgValue,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ArgValue {
    Word(String),
    Str(String),
    Number(f64),
}

impl ArgValue {
    /// The value as text, whatever its kind.
    pub(crate) fn text(&self) -> String {
        match self {
            ArgValue::Word(w) | ArgValue::Str(w) => w.clone(),
            ArgValue::Number(n) => n.to_string(),
        }
    }
}
