//! `sentinel policy test FILE...`: policies as code. A test file (TOML) declares policies and
//! examples with the decision, breached policies and finding entities each must produce; every
//! example runs through the engine and a failure is reported with what was expected and got.
//! The format is documented in docs/POLICY-LANGUAGE.md §8.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use sentinel_engine::{
    Action, Decision, Enforcement, Input, Mode, PolicySet, PolicySpec, Severity,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    policy: Vec<PolicyDecl>,
    #[serde(default)]
    test: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDecl {
    name: String,
    definition: String,
    #[serde(default = "default_action")]
    action: Action,
    #[serde(default = "default_mode")]
    mode: Mode,
    intervention_config: Option<String>,
}

/// The `[[policy]]` entries of a policy file (a policy test file; its `[[test]]` examples, if
/// any, are not read): what `sentinel backtest --policy-file` replays.
pub fn load_policies(
    path: &Path,
) -> Result<Vec<sentinel_server::service::backtest::CandidatePolicy>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: TestFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.policy.is_empty() {
        bail!("{}: no [[policy]]", path.display());
    }
    Ok(file
        .policy
        .into_iter()
        .map(|p| sentinel_server::service::backtest::CandidatePolicy {
            name: p.name,
            definition: p.definition,
            severity: Severity::Medium,
            performance_mode: p.mode,
            intervention_type: p.action,
            intervention_config: p.intervention_config,
        })
        .collect())
}

fn default_action() -> Action {
    Action::Notification
}

fn default_mode() -> Mode {
    Mode::Balanced
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    prompt: Option<String>,
    completion: Option<String>,
    #[serde(default)]
    scope: BTreeMap<String, String>,
    /// `allow`, `notify`, `redact` or `block`.
    expect: String,
    /// The names of the policies that must be breached, exactly (any order).
    policies: Option<Vec<String>>,
    /// Entities that must be among the findings.
    #[serde(default)]
    findings: Vec<String>,
    /// Entities that must not be among the findings.
    #[serde(default)]
    no_findings: Vec<String>,
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Notify => "notify",
        Decision::Redact => "redact",
        Decision::Block => "block",
    }
}

/// Counts of one run.
#[derive(Debug, Default)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
}

/// Runs every file; prints one line per example and a summary. Exit status 0 when every example
/// passed, 1 when one failed; a file that cannot be read or compiled is an error (status 4).
pub fn run(files: &[std::path::PathBuf]) -> Result<u8> {
    let mut tally = Tally::default();
    for file in files {
        run_file(file, &mut tally)?;
    }
    println!("\n{} passed, {} failed", tally.passed, tally.failed);
    Ok(u8::from(tally.failed > 0))
}

fn run_file(path: &Path, tally: &mut Tally) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: TestFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.policy.is_empty() {
        bail!("{}: no [[policy]]", path.display());
    }
    if file.test.is_empty() {
        bail!("{}: no [[test]]", path.display());
    }
    let specs: Vec<PolicySpec> = file
        .policy
        .iter()
        .zip(1..)
        .map(|(p, id)| PolicySpec {
            id,
            name: p.name.clone(),
            definition: p.definition.clone(),
            severity: Severity::Medium,
            mode: p.mode,
            action: p.action,
            intervention_config: p.intervention_config.clone(),
            enforcement: Enforcement::Enforce,
        })
        .collect();
    let set = PolicySet::new(specs);
    if !set.errors().is_empty() {
        let errors: Vec<String> = set
            .errors()
            .iter()
            .flat_map(|(id, errs)| {
                let name = usize::try_from(id - 1)
                    .ok()
                    .and_then(|i| file.policy.get(i))
                    .map_or("?", |p| p.name.as_str());
                errs.iter().map(move |e| format!("  policy `{name}`: {e}"))
            })
            .collect();
        bail!(
            "{}: policies do not compile:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
    println!("{}", path.display());
    for case in &file.test {
        let problems = check_case(&set, &file.policy, case)?;
        if problems.is_empty() {
            tally.passed += 1;
            println!("  ok    {}", case.name);
        } else {
            tally.failed += 1;
            println!("  FAIL  {}", case.name);
            for p in problems {
                println!("          {p}");
            }
        }
    }
    Ok(())
}

/// What is wrong with one example; empty when it passed.
fn check_case(set: &PolicySet, policies: &[PolicyDecl], case: &Case) -> Result<Vec<String>> {
    if !["allow", "notify", "redact", "block"].contains(&case.expect.as_str()) {
        bail!(
            "test `{}`: expect = {:?} is not allow, notify, redact or block",
            case.name,
            case.expect
        );
    }
    if case.prompt.is_none() && case.completion.is_none() {
        bail!("test `{}`: give a prompt, a completion or both", case.name);
    }
    let scope = crate::check::build_scope(
        &case
            .scope
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>(),
    );
    let eval = set.evaluate(&Input {
        prompt: case.prompt.as_deref(),
        completion: case.completion.as_deref(),
        scope: &scope,
    });
    let mut problems = Vec::new();
    let got = decision_name(eval.decision);
    if got != case.expect {
        problems.push(format!("decision: expected {}, got {got}", case.expect));
    }
    let name_of = |id: i64| {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| policies.get(i))
            .map_or("?", |p| p.name.as_str())
    };
    let mut breached: Vec<&str> = eval.hits.iter().map(|h| name_of(h.policy_id)).collect();
    breached.sort_unstable();
    if let Some(expected) = &case.policies {
        let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        expected.sort_unstable();
        if expected != breached {
            problems.push(format!("policies: expected {expected:?}, got {breached:?}"));
        }
    }
    let entities: Vec<&str> = eval.findings.iter().map(|f| &*f.entity).collect();
    for want in &case.findings {
        if !entities.contains(&want.as_str()) {
            problems.push(format!("findings: expected `{want}`, got {entities:?}"));
        }
    }
    for unwanted in &case.no_findings {
        if entities.contains(&unwanted.as_str()) {
            problems.push(format!(
                "findings: `{unwanted}` should not be found, got {entities:?}"
            ));
        }
    }
    Ok(problems)
}
