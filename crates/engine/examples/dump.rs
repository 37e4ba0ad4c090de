//! A differential check for speed work: evaluates every text of the labelled corpus (train, test
//! and holdout), the benchmark's texts and the 1 MiB document with the detectors one by one and
//! with the benchmark's policy sets, in every mode, and prints each `Evaluation` in full (`{:?}`,
//! which prints every score exactly). A change meant to make the engine faster and nothing else
//! must leave the output byte for byte as it was:
//!
//! ```text
//! cargo run --release -p sentinel-engine --example dump | md5sum     # before and after
//! ```

#[path = "eval.rs"]
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
mod eval;
#[path = "../benches/workload/mod.rs"]
#[allow(dead_code)]
mod workload;

use std::io::Write;

use sentinel_engine::{Input, Mode, PolicySet, Scope};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut texts: Vec<(String, bool, String)> = Vec::new();
    for split in ["train", "test", "holdout"] {
        for r in eval::load(&eval::files_in(&eval::corpus_dir(split)))? {
            texts.push((format!("{split}/{}", r.id), r.completion, r.text));
        }
    }
    for len in [64, 1024] {
        for completion in [false, true] {
            texts.push((
                format!("realistic({len})"),
                completion,
                workload::realistic(len),
            ));
        }
    }
    let single = [
        "sentinelai.pii",
        "sentinelai.secrets",
        "sentinelai.toxicity",
        "sentinelai.prompt_injection",
        "sentinelai.jailbreak",
        "sentinelai.unsafe_content",
    ];
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let scope = Scope::default();
    let app = Scope {
        app: Some("SecureBot".into()),
        ..Scope::default()
    };
    for mode in [Mode::Fast, Mode::Balanced, Mode::Robust] {
        let mut sets: Vec<(String, PolicySet)> = single
            .iter()
            .map(|d| {
                (
                    d.to_string(),
                    workload::set([format!("any.text has {d}")], mode),
                )
            })
            .collect();
        sets.push((
            "pii+secrets".into(),
            workload::set(
                [
                    "any.text has sentinelai.pii".to_owned(),
                    "any.text has sentinelai.secrets".to_owned(),
                ],
                mode,
            ),
        ));
        sets.push(("ten bundles".into(), workload::all_match_set(mode)));
        sets.push(("scoped".into(), workload::scoped_set(mode)));
        for (name, set) in &sets {
            let scope = if name == "scoped" { &app } else { &scope };
            for (id, completion, text) in &texts {
                let input = if *completion {
                    Input {
                        prompt: None,
                        completion: Some(text),
                        scope,
                    }
                } else {
                    Input {
                        prompt: Some(text),
                        completion: None,
                        scope,
                    }
                };
                writeln!(out, "{mode} {name} {id}: {:?}", set.evaluate(&input))?;
            }
        }
        // The 1 MiB document, with the fast scan's pair of detectors and with the ten bundles.
        let document = workload::document_1mib();
        for (name, set) in sets
            .iter()
            .filter(|(n, _)| n == "pii+secrets" || n == "ten bundles")
        {
            let input = Input {
                prompt: Some(&document),
                completion: None,
                scope: &scope,
            };
            writeln!(
                out,
                "{mode} {name} document_1mib: {:?}",
                set.evaluate(&input)
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
