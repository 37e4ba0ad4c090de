//! Detection quality on the labelled corpus: precision, recall, F1 and the false-positive rate on
//! benign texts, per detector and per performance mode.
//!
//! ```text
//! cargo run -p sentinel-engine --release --example eval -- [FILES.jsonl ...] [--errors] [--entities] [--cost]
//! ```
//!
//! `--cost` also prints the median time per KiB of `prompt_injection` and `jailbreak` together
//! (balanced mode, two policies, one realistic 1 KiB prompt), a quick figure beside the criterion
//! benches.
//!
//! Without files it reads `crates/engine/testdata/corpus/test/*.jsonl` (the held-out split; the
//! classifiers never train on it). Each record is `{"id", "kind", "text", "labels"}`; see
//! `scripts/train/make_corpus.py`. Every detector runs through the public API as its own policy,
//! `any.text has sentinelai.NAME`, so what is measured is exactly what a user of that policy gets.
//!
//! Definitions, per detector row: a record is *gold-positive* when it carries one of the row's
//! labels, *predicted-positive* when the policy fires (for entity rows: when a finding of that
//! entity is reported). Precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic
//! mean, and `benign FPR` = the share of records with no labels at all on which the policy fired.
//!
//! `tests/corpus.rs` includes this file to assert quality floors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sentinel_engine::{Action, Input, Mode, PolicySet, PolicySpec, Scope, Severity};

/// One labelled text.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub completion: bool,
    pub text: String,
    pub labels: Vec<String>,
}

/// A detector measured as one policy.
pub struct Row {
    /// Row name as printed.
    pub name: &'static str,
    /// The policy definition.
    pub definition: &'static str,
    /// Label prefix (`pii:`) or exact label (`toxicity`) that makes a record gold-positive.
    pub gold: fn(&str) -> bool,
}

pub const ROWS: &[Row] = &[
    Row {
        name: "pii",
        // The structured entities, `url` included: the corpus does not label names, places or
        // organisations (its benign texts are full of them), which the names task of
        // scripts/quality measures.
        definition: "any.text has sentinelai.pii(email, phone, credit_card, ssn, iban, ip_address, mac_address, url, crypto_wallet, date_of_birth, passport, uk_nino)",
        gold: |l| l.starts_with("pii:"),
    },
    Row {
        name: "pii(url)",
        definition: "any.text has sentinelai.pii(url)",
        gold: |l| l == "pii:url",
    },
    Row {
        name: "secrets",
        definition: "any.text has sentinelai.secrets",
        gold: |l| l.starts_with("secrets:"),
    },
    Row {
        name: "prompt_injection",
        definition: "any.text has sentinelai.prompt_injection",
        gold: |l| l == "prompt_injection",
    },
    Row {
        name: "jailbreak",
        definition: "any.text has sentinelai.jailbreak",
        gold: |l| l == "jailbreak",
    },
    Row {
        name: "toxicity",
        definition: "any.text has sentinelai.toxicity",
        gold: |l| l == "toxicity",
    },
    Row {
        name: "legal_advice",
        definition: "any.text has sentinelai.legal_advice",
        gold: |l| l == "legal_advice",
    },
    Row {
        name: "medical_advice",
        definition: "any.text has sentinelai.medical_advice",
        gold: |l| l == "medical_advice",
    },
    Row {
        name: "financial_advice",
        definition: "any.text has sentinelai.financial_advice",
        gold: |l| l == "financial_advice",
    },
    Row {
        name: "controversial_topics",
        definition: "any.text has sentinelai.controversial_topics",
        gold: |l| l == "controversial_topics",
    },
];

/// Confusion counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub benign: usize,
    pub benign_fp: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    pub fn benign_fpr(&self) -> f64 {
        ratio(self.benign_fp, self.benign)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Results of one mode: detector rows, then per-entity rows (`pii:email`, `secrets:jwt` …).
pub struct Report {
    pub mode: Mode,
    pub rows: BTreeMap<String, Counts>,
    pub order: Vec<String>,
    /// (row, record id, "FP" | "FN") for `--errors`.
    pub errors: Vec<(String, String, &'static str)>,
}

pub fn corpus_dir(split: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join("corpus")
        .join(split)
}

/// All `*.jsonl` files of a directory, sorted.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn load(files: &[PathBuf]) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", f.display(), n + 1))?;
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
            out.push(Record {
                id: s("id"),
                completion: s("kind") == "completion",
                text: s("text"),
                labels: v
                    .get("labels")
                    .and_then(|l| l.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// Run every row's policy over every record in `mode`.
pub fn measure(records: &[Record], mode: Mode) -> Report {
    let specs = ROWS
        .iter()
        .enumerate()
        .map(|(i, r)| PolicySpec {
            id: i as i64,
            name: r.name.to_owned(),
            definition: r.definition.to_owned(),
            severity: Severity::Medium,
            mode,
            action: Action::Notification,
            intervention_config: None,
            enforcement: sentinel_engine::Enforcement::Enforce,
        })
        .collect();
    let set = PolicySet::new(specs);
    assert!(set.errors().is_empty(), "{:?}", set.errors());
    let scope = Scope::default();
    let mut rows: BTreeMap<String, Counts> = BTreeMap::new();
    let mut order: Vec<String> = ROWS.iter().map(|r| r.name.to_owned()).collect();
    let mut entity_rows: Vec<String> = Vec::new();
    for r in records {
        for l in &r.labels {
            if (l.starts_with("pii:") || l.starts_with("secrets:")) && !entity_rows.contains(l) {
                entity_rows.push(l.clone());
            }
        }
    }
    entity_rows.sort();
    order.extend(entity_rows.iter().cloned());
    let mut errors = Vec::new();
    for rec in records {
        let input = Input {
            prompt: (!rec.completion).then_some(rec.text.as_str()),
            completion: rec.completion.then_some(rec.text.as_str()),
            scope: &scope,
        };
        let eval = set.evaluate(&input);
        let benign = rec.labels.is_empty();
        let mut tally = |name: &str, gold: bool, pred: bool| {
            let c = rows.entry(name.to_owned()).or_default();
            match (gold, pred) {
                (true, true) => c.tp += 1,
                (false, true) => {
                    c.fp += 1;
                    errors.push((name.to_owned(), rec.id.clone(), "FP"));
                }
                (true, false) => {
                    c.fn_ += 1;
                    errors.push((name.to_owned(), rec.id.clone(), "FN"));
                }
                (false, false) => {}
            }
            if benign {
                c.benign += 1;
                if pred {
                    c.benign_fp += 1;
                }
            }
        };
        for (i, row) in ROWS.iter().enumerate() {
            let gold = rec.labels.iter().any(|l| (row.gold)(l));
            let pred = eval.hits.iter().any(|h| h.policy_id == i as i64);
            tally(row.name, gold, pred);
        }
        for er in &entity_rows {
            let (det, entity) = er.split_once(':').unwrap_or(("", ""));
            let policy = if er == "pii:url" { "pii(url)" } else { det };
            let pid = ROWS.iter().position(|r| r.name == policy).unwrap_or(0) as i64;
            let pred = eval
                .hits
                .iter()
                .filter(|h| h.policy_id == pid)
                .flat_map(|h| &h.findings)
                .any(|f| f.entity == entity);
            tally(er, rec.labels.contains(er), pred);
        }
    }
    Report {
        mode,
        rows,
        order,
        errors,
    }
}

/// The table `main` prints, as Markdown.
pub fn table(reports: &[Report], entities: bool) -> String {
    let mut s = String::from(
        "| mode | detector | positives | TP | FP | FN | precision | recall | F1 | benign FPR |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for rep in reports {
        for name in &rep.order {
            if !entities && name.contains(':') {
                continue;
            }
            let c = rep.rows.get(name).copied().unwrap_or_default();
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.2}% ({}/{}) |\n",
                rep.mode,
                name,
                c.tp + c.fn_,
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall(),
                c.f1(),
                100.0 * c.benign_fpr(),
                c.benign_fp,
                c.benign,
            ));
        }
    }
    s
}

/// Median µs per KiB of the `prompt_injection` + `jailbreak` policies in balanced mode.
pub fn attack_cost_per_kib() -> f64 {
    let para = "Hi team, please review the attached quarterly report before Thursday. Revenue grew \
        in every region, churn fell slightly and the new onboarding flow is live. Let me know if the \
        numbers for the Lisbon office look right to you, and whether we should move the review call. ";
    let mut text = String::new();
    while text.len() < 1024 {
        text.push_str(para);
    }
    text.truncate(1024);
    let spec = |id: i64, det: &str| PolicySpec {
        id,
        name: det.to_owned(),
        definition: format!("any.text has sentinelai.{det}"),
        severity: Severity::Medium,
        mode: Mode::Balanced,
        action: Action::Notification,
        intervention_config: None,
        enforcement: sentinel_engine::Enforcement::Enforce,
    };
    let set = PolicySet::new(vec![spec(0, "prompt_injection"), spec(1, "jailbreak")]);
    let scope = Scope::default();
    let input = Input {
        prompt: Some(&text),
        completion: None,
        scope: &scope,
    };
    let mut samples = Vec::new();
    for _ in 0..41 {
        let started = std::time::Instant::now();
        for _ in 0..200 {
            std::hint::black_box(set.evaluate(std::hint::black_box(&input)));
        }
        samples.push(started.elapsed().as_secs_f64() * 1e6 / 200.0);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[allow(dead_code)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_errors = args.iter().any(|a| a == "--errors");
    let entities = args.iter().any(|a| a == "--entities");
    let mut files: Vec<PathBuf> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        files = files_in(&corpus_dir("test"));
    }
    let records = match load(&files) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eval: {e}");
            std::process::exit(2);
        }
    };
    let benign = records.iter().filter(|r| r.labels.is_empty()).count();
    println!(
        "{} records ({} benign) from {} file(s)\n",
        records.len(),
        benign,
        files.len()
    );
    let by_id: BTreeMap<&str, &Record> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut reports = Vec::new();
    for mode in [Mode::Fast, Mode::Balanced, Mode::Robust] {
        let started = std::time::Instant::now();
        let rep = measure(&records, mode);
        let per_call = started.elapsed().as_secs_f64() * 1e6 / records.len().max(1) as f64;
        eprintln!(
            "{mode}: {per_call:.0} µs per record for all {} policies",
            ROWS.len()
        );
        if show_errors {
            for (row, id, kind) in &rep.errors {
                let text = by_id.get(id.as_str()).map_or("", |r| r.text.as_str());
                let short: String = text.chars().take(140).collect();
                println!("{mode} {row} {kind} {id}: {}", short.replace('\n', "⏎"));
            }
        }
        reports.push(rep);
    }
    print!("{}", table(&reports, entities));
    if args.iter().any(|a| a == "--cost") {
        println!(
            "\nprompt_injection + jailbreak, balanced, 1 KiB prompt: {:.1} µs per KiB (median)",
            attack_cost_per_kib()
        );
    }
}
