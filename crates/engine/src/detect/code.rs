//! `sentinelai.code`: source code in the text, and which language.
//!
//! Each language has strong markers (`def …:`/`fn main()`/`#include <`) and weak ones (`return `,
//! `let `). Unlike the other lexical detectors every occurrence counts, since code is dense with
//! markers and prose is not: a language's score is `1 - Π(1 - wᵢ)` over its (at most eight) hits,
//! plus a small bonus for a Markdown code fence. The best language's score is the event's
//! `code_prompt_score`.

use std::borrow::Cow;

use crate::ast::DetectorCall;
use crate::detect::RawFinding;
use crate::detect::TextViews;
use crate::detect::args::ArgReader;
use crate::detect::lexicon::{LazyLexicon, SignalHit, parse_spec};
use crate::error::CompileError;
use crate::normalize::Family;
use crate::policy::Mode;

pub(crate) const LANGUAGES: &[&str] = &[
    "python",
    "javascript",
    "typescript",
    "rust",
    "go",
    "java",
    "c",
    "cpp",
    "csharp",
    "sql",
    "shell",
    "html",
    "php",
    "ruby",
];

/// The markers per language, with their rules: `code/markers.txt`.
pub(crate) static CODE: LazyLexicon =
    LazyLexicon::built(|| parse_spec(include_str!("code/markers.txt")));

const MAX_HITS_PER_LANGUAGE: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CodeConfig {
    pub languages: Vec<&'static str>,
    pub min_score: f64,
}

impl CodeConfig {
    pub(crate) fn all() -> Self {
        CodeConfig {
            languages: LANGUAGES.to_vec(),
            min_score: 0.5,
        }
    }

    pub(crate) fn from_call(call: &DetectorCall) -> Result<(Self, String), Vec<CompileError>> {
        let mut r = ArgReader::new(call);
        let names = r.names(LANGUAGES, "language", |n| match n {
            "js" | "node" => Some("javascript"),
            "ts" => Some("typescript"),
            "py" => Some("python"),
            "rs" => Some("rust"),
            "golang" => Some("go"),
            "c++" => Some("cpp"),
            "c#" | "cs" => Some("csharp"),
            "bash" | "sh" | "zsh" | "powershell" => Some("shell"),
            _ => None,
        });
        let min = r.number(&["min_score", "threshold"], 0.0, 1.0);
        r.finish(&["min_score", "threshold"])?;
        let mut cfg = CodeConfig::all();
        if !names.is_empty() {
            cfg.languages = names;
            cfg.languages.sort_unstable();
        }
        if let Some(m) = min {
            cfg.min_score = m;
        }
        let key = format!("{}|{}", cfg.languages.join(","), cfg.min_score);
        Ok((cfg, key))
    }
}

/// Per language score, best first, and the hits behind it.
pub(crate) fn language_scores(hits: &[SignalHit]) -> Vec<(&'static str, f64)> {
    let bonus: f64 = hits
        .iter()
        .filter(|h| matches!(h.signal, "fence" | "generic"))
        .take(4)
        .fold(1.0, |acc, h| acc * (1.0 - h.weight));
    let mut out: Vec<(&'static str, f64)> = Vec::new();
    for lang in LANGUAGES {
        let keep = 1.0
            - hits
                .iter()
                .filter(|h| h.signal == *lang)
                .take(MAX_HITS_PER_LANGUAGE)
                .fold(1.0, |acc, h| acc * (1.0 - h.weight));
        if keep > 0.0 {
            out.push((lang, 1.0 - (1.0 - keep) * bonus));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn hits(tv: &TextViews<'_>, mode: Mode) -> Vec<SignalHit> {
    // Code is literal: folding or decoding it would only invent markers.
    let views: Vec<_> = tv
        .views(mode, Family::Pattern)
        .into_iter()
        .filter(|v| v.kind != crate::normalize::ViewKind::Decoded)
        .collect();
    crate::detect::view_hits(&CODE, tv, &views)
}

/// The best language's score, for `code_prompt_score`.
pub(crate) fn code_score(tv: &TextViews<'_>, mode: Mode) -> f64 {
    language_scores(&hits(tv, mode))
        .first()
        .map_or(0.0, |l| l.1)
}

pub(crate) fn scan(cfg: &CodeConfig, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
    let hits = hits(tv, mode);
    let mut out = Vec::new();
    for (lang, score) in language_scores(&hits) {
        if score < cfg.min_score || !cfg.languages.contains(&lang) {
            continue;
        }
        let related = hits
            .iter()
            .filter(|h| h.signal == lang || h.signal == "fence");
        let (s, e) = related.fold((usize::MAX, 0), |(s, e), h| (s.min(h.start), e.max(h.end)));
        if s >= e {
            continue;
        }
        // Extend to whole lines: the markers sit inside the code, the code is the lines.
        let text = tv.original;
        let s = text
            .get(..s)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |p| p + 1);
        let e = text
            .get(e..)
            .and_then(|t| t.find('\n'))
            .map_or(text.len(), |p| e + p);
        out.push(RawFinding {
            entity: Cow::Borrowed(lang),
            start: s,
            end: e,
            score,
            explanation: format!("{lang} source code (score {score:.2})").into(),
        });
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(text: &str) -> Option<String> {
        scan(&CodeConfig::all(), &TextViews::new(text), Mode::Balanced)
            .first()
            .map(|f| f.entity.to_string())
    }

    #[test]
    fn table() {
        let cases = [
            (
                "def add(a, b):\n    return a + b\n\nprint(add(1, 2))",
                Some("python"),
            ),
            (
                "```rust\nfn main() {\n    let mut v = Vec::new();\n    println!(\"{v:?}\");\n}\n```",
                Some("rust"),
            ),
            (
                "SELECT * FROM users WHERE id = 1; DROP TABLE users;",
                Some("sql"),
            ),
            (
                "#include <stdio.h>\nint main() { printf(\"hi\"); }",
                Some("c"),
            ),
            (
                "const x = require('fs');\nconsole.log(x === 1);",
                Some("javascript"),
            ),
            ("Let me know what you think about the plan.", None),
            (
                "Please select the best option from the list and return it.",
                None,
            ),
        ];
        for (text, lang) in cases {
            assert_eq!(best(text).as_deref(), lang, "{text}");
        }
    }
}
