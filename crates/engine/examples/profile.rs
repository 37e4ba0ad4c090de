//! A driver for `valgrind --tool=callgrind` (see docs/ENGINE-BENCHMARKS.md): builds the
//! benchmark's policy sets and texts, evaluates once to warm up, then evaluates one case N times
//! inside `measured`; `--toggle-collect=profile::measured` counts only those N evaluations.
//!
//! `cargo run -p sentinel-engine --release --example profile -- <case> <N>`, with case one of
//! `fast_1mib` (pii + secrets, fast, the 1 MiB document), `fast_1k`, `balanced_1k`, `robust_1k`
//! (the ten all-match bundles on the 1 KiB text), `balanced_1k_lower` (the same, balanced, on
//! that text lower-cased: a text written without capitals, which the names tagger reads word
//! by word), `scoped_1k` (the ten demo policies, one in scope, on the 1 KiB completion).

/// The allocator of the `sentinel` binary (crates/cli/src/main.rs), so that the figures are the
/// product's: findings, views and explanations are many small allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use sentinel_engine::{Input, Mode, PolicySet, Scope};

#[path = "../benches/workload/mod.rs"]
mod workload;
use workload::{all_match_set, document_1mib, realistic, scoped_set, set};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("fast_1mib", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut scope = Scope::default();
    let (set, text) = match case {
        "scoped_1k" => {
            // The bench's `balanced_1k_ten_policies_scoped`: the ten demo policies, one in scope.
            scope.app = Some("SecureBot".into());
            (scoped_set(Mode::Balanced), realistic(1024))
        }
        "fast_1mib" => (
            set(
                [
                    "any.text has sentinelai.pii".to_owned(),
                    "any.text has sentinelai.secrets".to_owned(),
                ],
                Mode::Fast,
            ),
            document_1mib(),
        ),
        "balanced_1k_lower" => (
            all_match_set(Mode::Balanced),
            realistic(1024).to_lowercase(),
        ),
        "balanced_64" | "balanced_384" => {
            let len = if case == "balanced_64" { 64 } else { 384 };
            (all_match_set(Mode::Balanced), realistic(len))
        }
        other => {
            let mode = match other {
                "fast_1k" => Mode::Fast,
                "balanced_1k" => Mode::Balanced,
                _ => Mode::Robust,
            };
            (all_match_set(mode), realistic(1024))
        }
    };
    let input = if case == "scoped_1k" {
        Input {
            prompt: None,
            completion: Some(&text),
            scope: &scope,
        }
    } else {
        Input {
            prompt: Some(&text),
            completion: None,
            scope: &scope,
        }
    };
    // One evaluation outside the measured function builds the lazily compiled regexes and
    // automata, so `--toggle-collect=profile::measured` counts evaluations only.
    let first = set.evaluate(&input).findings.len();
    let findings = measured(&set, &input, n);
    println!("{case} x{n}: {first} findings, {findings} in all");
}

#[inline(never)]
fn measured(set: &PolicySet, input: &Input<'_>, n: usize) -> usize {
    let mut findings = 0;
    for _ in 0..n {
        findings += black_box(set.evaluate(black_box(input))).findings.len();
    }
    findings
}
