//! Operator-supplied detectors: `keywords(...)`, `competitors(...)`, `regex(...)`,
//! `length(max=N)`, and the `contains "…"` / `matches /…/` clauses, which run as detectors too so
//! they produce findings (and can be redacted).
//!
//! Terms are matched case-insensitively; from balanced mode on they are also matched against the
//! NFKC-normalised, lowercased text, and in robust mode against the de-obfuscated text.
//! Operator regexes are compiled once, with a size cap, by the `regex` crate (linear time).

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder};
use unicode_normalization::UnicodeNormalization;

use crate::detect::TextViews;
use crate::detect::lexicon::on_word_boundaries;
use crate::detect::{RawFinding, push_finding};
use crate::normalize::{Family, ViewKind};
use crate::policy::Mode;

/// Compiled program size limit for one operator regex.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy DFA cache limit for one operator regex.
pub(crate) const REGEX_DFA_LIMIT: usize = 2 << 20;
/// Maximum nesting in an operator regex.
pub(crate) const REGEX_NEST_LIMIT: u32 = 64;

/// The cost units of a term list (`keywords`, `competitors`, `contains`) before its terms.
pub(crate) const TERM_LIST_UNITS: f64 = 0.5;

/// A list of literal terms in one automaton.
#[derive(Debug, Clone)]
pub(crate) struct TermList {
    ac: AhoCorasick,
    terms: Vec<String>,
    whole_words: bool,
    entity: &'static str,
    score: f64,
}

/// Lowercased NFKC form a term is matched in.
pub(crate) fn fold_term(term: &str) -> String {
    term.nfkc().flat_map(char::to_lowercase).collect()
}

impl TermList {
    /// `whole_words`: keywords and competitors match whole words; `contains` matches anywhere.
    pub(crate) fn new(
        terms: &[String],
        whole_words: bool,
        entity: &'static str,
        score: f64,
    ) -> Result<Self, String> {
        let terms: Vec<String> = terms
            .iter()
            .map(|t| fold_term(t))
            .filter(|t| !t.trim().is_empty())
            .collect();
        if terms.is_empty() {
            return Err("needs at least one non-empty term".to_owned());
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&terms)
            .map_err(|e| e.to_string())?;
        Ok(TermList {
            ac,
            terms,
            whole_words,
            entity,
            score,
        })
    }

    pub(crate) fn terms(&self) -> &[String] {
        &self.terms
    }

    pub(crate) fn scan(&self, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
        let mut out = Vec::new();
        for view in tv.views(mode, Family::Lexical) {
            if matches!(view.kind, ViewKind::Squashed | ViewKind::Rot13) {
                continue;
            }
            for m in self.ac.find_iter(view.text) {
                if self.whole_words && !on_word_boundaries(view.text, m.start(), m.end()) {
                    continue;
                }
                let term = self
                    .terms
                    .get(m.pattern().as_usize())
                    .map_or("", String::as_str);
                let (s, e) = view.original_span(m.start(), m.end());
                push_finding(
                    &mut out,
                    RawFinding {
                        entity: Cow::Borrowed(self.entity),
                        start: s,
                        end: e,
                        score: self.score,
                        explanation: format!("matched \"{term}\"").into(),
                    },
                );
            }
        }
        out
    }
}

impl PartialEq for TermList {
    fn eq(&self, other: &Self) -> bool {
        self.terms == other.terms
            && self.whole_words == other.whole_words
            && self.entity == other.entity
    }
}

/// Operator regexes.
#[derive(Debug, Clone)]
pub(crate) struct RegexList {
    regexes: Vec<Regex>,
    entity: &'static str,
}

/// Compile one operator regex with the engine's limits. `flags` is a subset of `imsx`.
pub(crate) fn build_regex(pattern: &str, flags: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .ignore_whitespace(flags.contains('x'))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("regex is too large (compiled size over {limit} bytes)")
            }
            other => {
                let text = other.to_string();
                let last = text.lines().last().unwrap_or("invalid regex").trim();
                last.strip_prefix("error: ").unwrap_or(last).to_owned()
            }
        })
}

impl RegexList {
    pub(crate) fn new(regexes: Vec<Regex>, entity: &'static str) -> Self {
        RegexList { regexes, entity }
    }

    pub(crate) fn patterns(&self) -> impl Iterator<Item = &str> {
        self.regexes.iter().map(Regex::as_str)
    }

    pub(crate) fn scan(&self, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
        let mut out = Vec::new();
        for view in tv.views(mode, Family::Pattern) {
            for re in &self.regexes {
                for m in re.find_iter(view.text) {
                    if m.start() == m.end() {
                        continue;
                    }
                    let (s, e) = view.original_span(m.start(), m.end());
                    push_finding(
                        &mut out,
                        RawFinding {
                            entity: Cow::Borrowed(self.entity),
                            start: s,
                            end: e,
                            score: 1.0,
                            explanation: format!("matched /{}/", re.as_str()).into(),
                        },
                    );
                }
            }
        }
        out
    }
}

impl PartialEq for RegexList {
    fn eq(&self, other: &Self) -> bool {
        self.entity == other.entity && self.patterns().eq(other.patterns())
    }
}

/// `length(max=N)`: texts longer than N characters. The finding covers the excess.
pub(crate) fn scan_length(text: &str, max_chars: usize) -> Vec<RawFinding> {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => {
            let total = text.chars().count();
            vec![RawFinding {
                entity: Cow::Borrowed("length_exceeded"),
                start: cut,
                end: text.len(),
                score: 1.0,
                explanation: format!("{total} characters; the limit is {max_chars}").into(),
            }]
        }
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(f: &[RawFinding], text: &str) -> Vec<String> {
        f.iter()
            .map(|f| text.get(f.start..f.end).unwrap_or("").to_owned())
            .collect()
    }

    #[test]
    fn keywords_fold_case_and_unicode() {
        let kw = TermList::new(
            &["Project Falcon".into(), "Über".into()],
            true,
            "keyword",
            1.0,
        )
        .ok();
        let Some(kw) = kw else { panic!("builds") };
        let text = "the PROJECT FALCON plan and ÜBER";
        assert_eq!(
            spans(&kw.scan(&TextViews::new(text), Mode::Balanced), text),
            vec!["PROJECT FALCON", "ÜBER"]
        );
        let spaced = "pro\u{200B}ject falcon";
        assert!(kw.scan(&TextViews::new(spaced), Mode::Fast).is_empty());
        assert_eq!(
            spans(&kw.scan(&TextViews::new(spaced), Mode::Balanced), spaced),
            vec![spaced]
        );
        assert!(
            kw.scan(&TextViews::new("projectfalconry"), Mode::Balanced)
                .is_empty()
        );
        assert!(TermList::new(&[" ".into()], true, "keyword", 1.0).is_err());
    }

    #[test]
    fn regex_limits() {
        assert!(build_regex(r"(?i)project\s+falcon", "").is_ok());
        assert!(build_regex(r"(", "").is_err());
        assert!(build_regex(r"\w{1000}\w{1000}\w{1000}", "").is_err());
        let re = build_regex("falcon", "i").ok();
        let list = RegexList::new(re.into_iter().collect(), "regex");
        let text = "FALCON";
        assert_eq!(
            spans(&list.scan(&TextViews::new(text), Mode::Fast), text),
            vec!["FALCON"]
        );
    }

    #[test]
    fn length_excess() {
        assert!(scan_length("abc", 3).is_empty());
        let f = scan_length("héllo", 2);
        assert_eq!(f[0].start, 3);
        assert_eq!(f[0].end, 6);
    }
}
