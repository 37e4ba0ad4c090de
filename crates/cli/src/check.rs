//! `sentinel check` and `sentinel policy validate`: the engine offline, for pipelines.
//!
//! Exit status of `check`: 0 allow, 1 notify, 2 redact, 3 block (the strongest decision over all
//! inputs). Invalid definitions or unreadable input exit with 4.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use sentinel_engine::{
    Action, Decision, DetectorGroup, Evaluation, Finding, Input, Mode, PolicySet, PolicySpec,
    Scope, Severity,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageArg {
    /// The text is a prompt (`request.prompt`).
    #[default]
    Input,
    /// The text is a completion (`response.completion`).
    Output,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A policy definition (repeatable). Without any, every core detector is checked.
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// A file holding one policy definition (repeatable).
    #[arg(long = "policy-file")]
    policy_files: Vec<PathBuf>,
    /// Performance mode of every policy.
    #[arg(long, value_enum, default_value = "balanced")]
    mode: Mode,
    /// What a breached policy does.
    #[arg(long, value_enum, default_value = "notification")]
    action: Action,
    /// `intervention_config` JSON for every policy, e.g. '{"redact": "mask"}'.
    #[arg(long)]
    intervention_config: Option<String>,
    /// Which side of the model the text is on.
    #[arg(long, value_enum, default_value = "input")]
    stage: StageArg,
    /// Scope values, e.g. --scope app=SupportBot --scope user.role=admin (repeatable).
    #[arg(long = "scope", value_parser = parse_key_value)]
    scope: Vec<(String, String)>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Read JSON lines `{"id": ..., "text": ...}` from FILE (`-` for stdin) and write one result per line.
    #[arg(long, conflicts_with = "text")]
    jsonl: Option<PathBuf>,
    /// The text to check, or `-` to read it from stdin.
    text: Option<String>,
}

fn parse_key_value(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got `{raw}`"))
}

/// The exit status of a decision.
pub fn exit_code(d: Decision) -> u8 {
    match d {
        Decision::Allow => 0,
        Decision::Notify => 1,
        Decision::Redact => 2,
        Decision::Block => 3,
    }
}

pub(crate) fn build_scope(pairs: &[(String, String)]) -> Scope {
    let mut scope = Scope::default();
    for (k, v) in pairs {
        match k.as_str() {
            "app" => scope.app = Some(v.clone()),
            "user" => scope.user = Some(v.clone()),
            "user.role" | "user_role" => scope.user_role = Some(v.clone()),
            "model" => scope.model = Some(v.clone()),
            "environment" => scope.environment = Some(v.clone()),
            _ => {
                scope.metadata.insert(k.clone(), v.clone());
            }
        }
    }
    scope
}

/// Compiles the policies of the command line, failing with every compile error. Returns the set
/// and the name of each policy (policy `id` is at index `id - 1`).
fn policy_set(args: &CheckArgs) -> Result<(PolicySet, Vec<String>)> {
    let mut definitions: Vec<(String, String)> = args
        .policies
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("--policy #{}", i + 1), d.clone()))
        .collect();
    for file in &args.policy_files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        definitions.push((file.display().to_string(), text));
    }
    if definitions.is_empty() {
        // Every detector that reports a risk with its default arguments, one policy each.
        definitions = sentinel_engine::detectors()
            .iter()
            .filter(|d| d.group == DetectorGroup::Risk)
            .map(|d| d.name)
            .map(|d| {
                (
                    format!("sentinelai.{d}"),
                    format!("any.text has sentinelai.{d}"),
                )
            })
            .collect();
    }
    let specs: Vec<PolicySpec> = definitions
        .iter()
        .enumerate()
        .map(|(i, (name, definition))| PolicySpec {
            id: i as i64 + 1,
            name: name.clone(),
            definition: definition.clone(),
            severity: Severity::Medium,
            mode: args.mode,
            action: args.action,
            intervention_config: args.intervention_config.clone(),
            enforcement: sentinel_engine::Enforcement::Enforce,
        })
        .collect();
    let set = PolicySet::new(specs);
    if !set.errors().is_empty() {
        let mut message = String::new();
        for (id, errors) in set.errors() {
            let name = &definitions[(*id - 1) as usize].0;
            for e in errors {
                message.push_str(&format!("{name}: {e}\n"));
            }
        }
        bail!("invalid policy definition:\n{}", message.trim_end());
    }
    Ok((set, definitions.into_iter().map(|(name, _)| name).collect()))
}

#[derive(Serialize)]
struct LineFinding<'a> {
    detector: &'a str,
    entity: &'a str,
    /// Unicode scalar offsets.
    start: usize,
    end: usize,
    score: f64,
}

#[derive(Serialize)]
struct LineResult<'a> {
    id: &'a serde_json::Value,
    decision: &'static str,
    findings: Vec<LineFinding<'a>>,
    evaluation_time_us: u64,
}

#[derive(Deserialize)]
struct LineInput {
    #[serde(default)]
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    stage: Option<StageArg>,
}

fn evaluate(set: &PolicySet, text: &str, stage: StageArg, scope: &Scope) -> (Evaluation, u64) {
    let input = match stage {
        StageArg::Input => Input {
            prompt: Some(text),
            completion: None,
            scope,
        },
        StageArg::Output => Input {
            prompt: None,
            completion: Some(text),
            scope,
        },
    };
    let started = Instant::now();
    let evaluation = set.evaluate(&input);
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    (evaluation, micros)
}

/// Findings of the same span from several policies are reported once.
fn unique_findings(findings: &[Finding]) -> Vec<&Finding> {
    let mut seen = std::collections::HashSet::new();
    findings
        .iter()
        .filter(|f| seen.insert((&*f.detector, &*f.entity, f.start, f.end, f.target as u8)))
        .collect()
}

pub fn run_check(args: CheckArgs) -> Result<u8> {
    let (set, names) = policy_set(&args)?;
    let scope = build_scope(&args.scope);
    if let Some(path) = &args.jsonl {
        return run_jsonl(&set, path, args.stage, &scope);
    }
    let text = match args.text.as_deref() {
        None => bail!("give a TEXT to check, `-` to read it from stdin, or --jsonl FILE"),
        Some("-") => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .context("reading stdin")?;
            buf
        }
        Some(t) => t.to_owned(),
    };
    let (eval, micros) = evaluate(&set, &text, args.stage, &scope);
    let findings = unique_findings(&eval.findings);
    let redacted = match args.stage {
        StageArg::Input => eval.redacted_prompt.as_deref(),
        StageArg::Output => eval.redacted_completion.as_deref(),
    }
    .filter(|_| eval.decision == Decision::Redact);
    let mut out = std::io::stdout().lock();
    if args.json {
        let body = serde_json::json!({
            "decision": eval.decision.as_str(),
            "findings": findings,
            "violations": eval.hits.iter().map(|h| serde_json::json!({
                "policy": usize::try_from(h.policy_id - 1).ok().and_then(|i| names.get(i)),
                "violation_type": h.violation_type.as_str(),
                "confidence": h.confidence,
                "explanation": h.explanation,
            })).collect::<Vec<_>>(),
            "redacted": redacted,
            "block_message": eval.block_message,
            "scores": eval.scores,
            "evaluation_time_us": micros,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&body)?)?;
    } else {
        writeln!(out, "decision: {} ({micros} µs)", eval.decision.as_str())?;
        for f in &findings {
            writeln!(
                out,
                "  {:<22} {:<24} chars {}..{}  score {:.2}  {}",
                f.detector, f.entity, f.char_start, f.char_end, f.score, f.explanation
            )?;
        }
        if let Some(r) = redacted {
            writeln!(out, "redacted: {r}")?;
        }
        if let Some(m) = eval
            .block_message
            .as_deref()
            .filter(|_| eval.decision == Decision::Block)
        {
            writeln!(out, "block message: {m}")?;
        }
    }
    Ok(exit_code(eval.decision))
}

fn run_jsonl(set: &PolicySet, path: &Path, stage: StageArg, scope: &Scope) -> Result<u8> {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        ))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut strongest = Decision::Allow;
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let input: LineInput = serde_json::from_str(&line).with_context(|| {
            format!(
                "line {}: expected {{\"id\": ..., \"text\": \"...\"}}",
                n + 1
            )
        })?;
        let (eval, micros) = evaluate(set, &input.text, input.stage.unwrap_or(stage), scope);
        strongest = strongest.max(eval.decision);
        let result = LineResult {
            id: &input.id,
            decision: eval.decision.as_str(),
            findings: unique_findings(&eval.findings)
                .into_iter()
                .map(|f| LineFinding {
                    detector: &f.detector,
                    entity: &f.entity,
                    start: f.char_start,
                    end: f.char_end,
                    score: f.score,
                })
                .collect(),
            evaluation_time_us: micros,
        };
        serde_json::to_writer(&mut out, &result)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(exit_code(strongest))
}

/// `sentinel policy validate FILE`: a file of definitions separated by lines holding `---`, or a
/// JSON array of strings or of objects with a `definition` (and optional `name`).
pub fn run_validate(file: &Path) -> Result<u8> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let definitions: Vec<(String, String)> = if text.trim_start().starts_with('[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(&text).context("parsing the JSON array")?;
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                serde_json::Value::String(d) => Ok((format!("#{}", i + 1), d)),
                serde_json::Value::Object(map) => {
                    let definition = map
                        .get("definition")
                        .and_then(|d| d.as_str())
                        .with_context(|| format!("item {} has no `definition`", i + 1))?;
                    let name = map.get("name").and_then(|n| n.as_str()).map(str::to_owned);
                    Ok((
                        name.unwrap_or_else(|| format!("#{}", i + 1)),
                        definition.to_owned(),
                    ))
                }
                _ => bail!("item {} is neither a string nor an object", i + 1),
            })
            .collect::<Result<_>>()?
    } else {
        let mut blocks = vec![String::new()];
        for line in text.lines() {
            if line.trim() == "---" {
                blocks.push(String::new());
            } else if let Some(last) = blocks.last_mut() {
                last.push_str(line);
                last.push('\n');
            }
        }
        blocks
            .into_iter()
            .filter(|b| !b.trim().is_empty())
            .enumerate()
            .map(|(i, b)| (format!("#{}", i + 1), b))
            .collect()
    };
    if definitions.is_empty() {
        bail!("{} holds no policy definition", file.display());
    }
    let mut invalid = 0;
    let mut out = std::io::stdout().lock();
    for (name, definition) in &definitions {
        let v = sentinel_engine::validate(definition);
        if v.valid {
            writeln!(
                out,
                "ok      {name}  (detectors: {})",
                v.detectors.join(", ")
            )?;
        } else {
            invalid += 1;
            for e in &v.errors {
                writeln!(out, "error   {name}  {e}")?;
            }
        }
    }
    writeln!(
        out,
        "{} of {} definitions valid",
        definitions.len() - invalid,
        definitions.len()
    )?;
    Ok(u8::from(invalid > 0))
}

/// Scope pairs for tests.
#[cfg(test)]
fn scope_of(pairs: &[(&str, &str)]) -> Scope {
    build_scope(
        &pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_pairs_fill_the_named_fields_and_metadata() {
        let s = scope_of(&[("app", "Bot"), ("user.role", "admin"), ("tenant", "acme")]);
        assert_eq!(s.app.as_deref(), Some("Bot"));
        assert_eq!(s.user_role.as_deref(), Some("admin"));
        assert_eq!(s.metadata.get("tenant").map(String::as_str), Some("acme"));
    }

    #[test]
    fn exit_codes_follow_the_decision() {
        assert_eq!(
            [
                Decision::Allow,
                Decision::Notify,
                Decision::Redact,
                Decision::Block
            ]
            .map(exit_code),
            [0, 1, 2, 3]
        );
    }
}
