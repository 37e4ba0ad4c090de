//! Evaluation cost: a 1 KiB prompt against ten typical policies, per mode.

use criterion::{Criterion, criterion_group, criterion_main};
use sentinel_engine::{Action, Input, Mode, PolicySet, PolicySpec, Scope, Severity};
use std::hint::black_box;

const DEFINITIONS: [&str; 10] = [
    "request.prompt has sentinelai.data_leakage or response.completion has sentinelai.data_leakage",
    "request.prompt has sentinelai.prompt_injection",
    "any.text has sentinelai.jailbreak",
    "any.text has sentinelai.toxicity(min_score=0.8)",
    "any.text has sentinelai.pii(email, credit_card) and scope.app in [SupportBot, \"Billing Assistant\"]",
    "any.text has sentinelai.secrets",
    "any.text has sentinelai.legal_compliance",
    "request.prompt contains \"internal only\" or response.completion matches /(?i)project\\s+falcon/",
    "any.text has sentinelai.keywords(acme, globex, initech) or any.text has sentinelai.invisible_text",
    "any.text has sentinelai.code(python, sql) and not scope.user.role is admin",
];

fn prompt() -> String {
    let base = "Hello team, please summarise the attached quarterly report for the board. \
                The customer jane.doe@example.com asked about invoice 4411 and the delivery schedule. \
                Keep it short, friendly and mention the new office in Lisbon. ";
    base.repeat(1024 / base.len() + 1)[..1024].to_owned()
}

fn bench(c: &mut Criterion) {
    let text = prompt();
    let scope = Scope {
        app: Some("SupportBot".into()),
        ..Scope::default()
    };
    for mode in Mode::ALL {
        let specs = DEFINITIONS
            .iter()
            .enumerate()
            .map(|(i, d)| PolicySpec {
                id: i as i64,
                name: format!("p{i}"),
                definition: (*d).to_owned(),
                severity: Severity::Medium,
                mode: *mode,
                action: Action::Notification,
                intervention_config: None,
            })
            .collect();
        let set = PolicySet::new(specs);
        assert!(set.errors().is_empty());
        c.bench_function(&format!("evaluate_1kib_10_policies_{mode}"), |b| {
            b.iter(|| {
                set.evaluate(black_box(&Input {
                    prompt: Some(&text),
                    completion: None,
                    scope: &scope,
                }))
            })
        });
    }
}

/// Each policy alone in balanced mode, to see where the time goes.
fn per_policy(c: &mut Criterion) {
    let text = prompt();
    let scope = Scope {
        app: Some("SupportBot".into()),
        ..Scope::default()
    };
    for (i, d) in DEFINITIONS.iter().enumerate() {
        let set = PolicySet::new(vec![PolicySpec {
            id: 1,
            name: "p".into(),
            definition: (*d).to_owned(),
            severity: Severity::Medium,
            mode: Mode::Balanced,
            action: Action::Notification,
            intervention_config: None,
        }]);
        c.bench_function(&format!("policy_{i}_balanced"), |b| {
            b.iter(|| {
                set.evaluate(black_box(&Input {
                    prompt: Some(&text),
                    completion: None,
                    scope: &scope,
                }))
            })
        });
    }
}

criterion_group!(benches, bench, per_policy);
criterion_main!(benches);
