//! Raw `prompt_injection` / `jailbreak` scores for JSON lines, for tuning on a validation split
//! without building the CLI (the reported figures come from `sentinel check --jsonl`, see
//! `scripts/quality/task_injection.py`).
//!
//! ```text
//! cargo run -p sentinel-engine --release --example attack_scores -- balanced < val.jsonl
//! ```
//!
//! Reads `{"id", "text", ...}` per line; writes `{"id", "raw", "injection", "jailbreak",
//! "fired"}`: the best score of the two detectors at `min_score=0` (and of each), and whether
//! either fires at its default threshold.

use std::io::{BufRead, Write};

use sentinel_engine::{Input, Mode, PolicySet, Scope};

#[allow(
    dead_code,
    reason = "the benches' workload module; this example uses only its `set`"
)]
#[path = "../benches/workload/mod.rs"]
mod workload;

/// The benches' policy-set builder (one spec per definition, medium severity, notification).
fn set(mode: Mode, defs: &[&str]) -> PolicySet {
    workload::set(defs.iter().map(|d| (*d).to_owned()), mode)
}

fn main() {
    let mode = match std::env::args().nth(1).as_deref() {
        Some("fast") => Mode::Fast,
        Some("robust") => Mode::Robust,
        _ => Mode::Balanced,
    };
    let raw = set(
        mode,
        &[
            "any.text has sentinelai.prompt_injection(min_score=0)",
            "any.text has sentinelai.jailbreak(min_score=0)",
        ],
    );
    let default = set(
        mode,
        &[
            "any.text has sentinelai.prompt_injection",
            "any.text has sentinelai.jailbreak",
        ],
    );
    let scope = Scope::default();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(row) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let text = row["text"].as_str().unwrap_or("");
        let input = Input {
            prompt: Some(text),
            completion: None,
            scope: &scope,
        };
        let findings = raw.evaluate(&input).findings;
        let best_of = |detector: Option<&str>| {
            findings
                .iter()
                .filter(|f| detector.is_none_or(|d| f.detector == d))
                .map(|f| f.score)
                .fold(0.0, f64::max)
        };
        let fired = !default.evaluate(&input).findings.is_empty();
        let result = serde_json::json!({
            "id": row["id"],
            "raw": best_of(None),
            "injection": best_of(Some("prompt_injection")),
            "jailbreak": best_of(Some("jailbreak")),
            "fired": fired,
        });
        if writeln!(out, "{result}").is_err() {
            break;
        }
    }
}
