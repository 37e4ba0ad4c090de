//! Scratch: raw unsafe_content scores for a jsonl split (tuning only).
use std::io::BufRead;

use sentinel_engine::{Action, Input, Mode, PolicySet, PolicySpec, Scope, Severity};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode: Mode = args[2].parse().unwrap_or(Mode::Balanced);
    let set = PolicySet::new(vec![PolicySpec {
        id: 1,
        name: "u".into(),
        definition: "any.text has sentinelai.unsafe_content(min_score=0)".into(),
        severity: Severity::Medium,
        mode,
        action: Action::Notification,
        intervention_config: None,
    }]);
    let scope = Scope::default();
    let f = std::fs::File::open(&args[1]).unwrap();
    for line in std::io::BufReader::new(f).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let text = v["text"].as_str().unwrap();
        let e = set.evaluate(&Input {
            prompt: Some(text),
            completion: None,
            scope: &scope,
        });
        let best = e.findings.iter().map(|f| f.score).fold(0.0, f64::max);
        let ents: Vec<&str> = e.findings.iter().map(|f| f.entity.as_str()).collect();
        println!(
            "{}\t{best:.4}\t{}",
            v["id"].as_str().unwrap(),
            ents.join(",")
        );
    }
}
