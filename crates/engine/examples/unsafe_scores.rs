//! Raw `sentinelai.unsafe_content` scores for a JSONL split, through the public API (the same
//! `PolicySet` the CLI runs), for tuning and for a figure while the CLI is not built:
//!
//! ```text
//! cargo run -p sentinel-engine --release --example unsafe_scores -- FILE.jsonl [fast|balanced|robust]
//! ```
//!
//! Prints `id<TAB>best score<TAB>entities` per row (policy with `min_score=0`). The product
//! figure is `python3 scripts/quality/eval.py unsafe`, which runs `sentinel check --jsonl`.

use std::error::Error;
use std::io::BufRead;

use sentinel_engine::{Action, Input, Mode, PolicySet, PolicySpec, Scope, Severity};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: unsafe_scores FILE.jsonl [mode]")?;
    let mode: Mode = args
        .get(2)
        .map_or(Ok(Mode::Balanced), |m| m.parse())
        .map_err(|e| format!("{e:?}"))?;
    let set = PolicySet::new(vec![PolicySpec {
        id: 1,
        name: "unsafe".into(),
        definition: "any.text has sentinelai.unsafe_content(min_score=0)".into(),
        severity: Severity::Medium,
        mode,
        action: Action::Notification,
        intervention_config: None,
        enforcement: sentinel_engine::Enforcement::Enforce,
    }]);
    let scope = Scope::default();
    for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let text = v["text"].as_str().unwrap_or_default();
        let e = set.evaluate(&Input {
            prompt: Some(text),
            completion: None,
            scope: &scope,
        });
        let best = e.findings.iter().map(|f| f.score).fold(0.0, f64::max);
        let ents: Vec<&str> = e.findings.iter().map(|f| &*f.entity).collect();
        println!(
            "{}\t{best:.4}\t{}",
            v["id"].as_str().unwrap_or_default(),
            ents.join(",")
        );
    }
    Ok(())
}
