//! The syntax tree the parser produces. Names are still strings here; `compile` resolves them.

use crate::error::Pos;
use crate::finding::Target;

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
    /// The system prompt: the prompt, when the text is one whose `scope.part` is `system` (the
    /// gateway judges each message on its own and says which part it is).
    System,
    /// Arguments the model gave a tool: a text whose `scope.part` is `tool_arguments`, in the
    /// request (an earlier turn) or in the answer.
    ToolArguments,
    /// What a tool returned: a prompt text whose `scope.part` is `tool_result`.
    ToolResult,
}

impl TargetSel {
    pub(crate) const NAMES: [&'static str; 6] = [
        "request.prompt",
        "response.completion",
        "any.text",
        "request.system",
        "tool.arguments",
        "tool.result",
    ];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "request.prompt" => Some(TargetSel::Prompt),
            "response.completion" => Some(TargetSel::Completion),
            "any.text" => Some(TargetSel::Any),
            "request.system" => Some(TargetSel::System),
            "tool.arguments" => Some(TargetSel::ToolArguments),
            "tool.result" => Some(TargetSel::ToolResult),
            _ => None,
        }
    }

    /// The `scope.part` a text must have for this target to read it, if any.
    pub(crate) const fn part(self) -> Option<&'static str> {
        match self {
            TargetSel::Prompt | TargetSel::Completion | TargetSel::Any => None,
            TargetSel::System => Some("system"),
            TargetSel::ToolArguments => Some("tool_arguments"),
            TargetSel::ToolResult => Some("tool_result"),
        }
    }

    /// The texts this target reads (before its part is checked).
    pub(crate) const fn texts(self) -> &'static [Target] {
        match self {
            TargetSel::Prompt | TargetSel::System | TargetSel::ToolResult => &[Target::Prompt],
            TargetSel::Completion => &[Target::Completion],
            TargetSel::Any | TargetSel::ToolArguments => &[Target::Prompt, Target::Completion],
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
