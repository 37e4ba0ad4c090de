//! Built-in patterns, compiled once per process on first use.
//!
//! Operator-supplied patterns are compiled with the policy instead (see `compile`); these are the
//! engine's own, fixed at build time and exercised by the tests, which is why building them is
//! treated as infallible.

use std::sync::OnceLock;

use regex::Regex;

/// A regex compiled on first use.
pub(crate) struct Lazy {
    pattern: &'static str,
    cell: OnceLock<Regex>,
}

impl Lazy {
    pub(crate) const fn new(pattern: &'static str) -> Self {
        Lazy {
            pattern,
            cell: OnceLock::new(),
        }
    }

    #[expect(
        clippy::expect_used,
        reason = "static pattern written in this crate; every one is compiled by the unit tests"
    )]
    pub(crate) fn get(&self) -> &Regex {
        self.cell
            .get_or_init(|| Regex::new(self.pattern).expect("built-in regex compiles"))
    }
}
