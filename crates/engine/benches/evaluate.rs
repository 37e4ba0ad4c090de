//! Evaluation cost. See docs/ENGINE-BENCHMARKS.md for the figures and how to run them.
//!
//! - `balanced_1k_ten_policies_scoped`: the ten demo policies
//!   (`response.completion has sentinelai.<bundle> and scope.app is <App>`), a 1 KiB completion,
//!   scope matching one policy (the most expensive one, data_leakage).
//! - `balanced_1k_ten_bundles_all_match`: the same ten detectors as `any.text has
//!   sentinelai.<bundle>`, so every one of them must run over a 1 KiB prompt.
//! - `fast_1k`, `balanced_1k`, `robust_1k`: the all-match policy set in each mode.
//! - `fast_pii_secrets_1mib`: `pii` + `secrets` in fast mode over a 1 MiB document (throughput).
//! - `bundle_<name>_balanced`: each all-match policy alone, to see where the time goes.
//! - `balanced_1k_without_injection_model`, `robust_1k_without_injection_model`: the all-match
//!   set less `prompt_injection`, the one bundle that runs the trained classifier: what the rest
//!   of the engine costs.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sentinel_engine::{Action, Input, Mode, PolicySet, PolicySpec, Scope, Severity};
use std::hint::black_box;

/// The demo policies (crates/server/src/service/demo.rs): (app, detector).
const DEMO: [(&str, &str); 10] = [
    ("Sunshine", "sunshine_acceptable_use_violation"),
    ("LegalBot", "legal_compliance"),
    ("SecurityBot", "incident_detection"),
    ("ChatBot", "prompt_injection"),
    ("PolicyBot", "governance_policy"),
    ("ContentBot", "ip_protection"),
    ("DataBot", "data_protection"),
    ("SecureBot", "data_leakage"),
    ("CSRBot", "csr_compliance"),
    ("MinimalBot", "data_minimization"),
];

/// A realistic support-assistant text with a little personal data in it, cut to `len` bytes.
fn realistic(len: usize) -> String {
    let base = "Thanks for reaching out about your account. I have reviewed the ticket you opened \
        on Monday and the invoice for March (INV-2024-0412). The customer, Jane Doe, can be \
        reached at jane.doe@example.com or on (415) 555-2671 if the finance team needs more \
        detail. The payment of $1,250.00 was received on 14 March and applied to the balance, \
        so nothing is outstanding. For the delivery schedule, the warehouse in Lisbon will \
        ship the remaining items next week; tracking numbers follow once the carrier confirms \
        the pickup. Please summarise this for the board in three short bullet points, keep the \
        tone friendly, and mention that the new office opens in June. If anything looks wrong, \
        reply to this message and we will correct it before the quarterly report goes out. \
        Our records show the shipment left the depot at 10:30 and arrives on Thursday.\n";
    let mut s = base.repeat(len / base.len() + 1);
    s.truncate(len);
    s
}

/// A 1 MiB document: prose with an e-mail, a phone number, a card number and an API key every
/// few KiB, as a long pasted log or contract would have.
fn document_1mib() -> String {
    let filler = realistic(4000);
    let extras = [
        "Card on file: 4111 1111 1111 1111 (exp 12/29).\n",
        "config: api_key = \"q8Zr2Lx9Vb4Nm7Kp1Ws6Td3\"\n",
        "Server 192.168.10.24 restarted; contact ops@example.org.\n",
        "Note: deploy token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 rotated.\n",
    ];
    let mut s = String::with_capacity(1 << 20);
    let mut i = 0;
    while s.len() < (1 << 20) {
        s.push_str(&filler);
        s.push_str(extras[i % extras.len()]);
        i += 1;
    }
    s.truncate(1 << 20);
    s
}

fn spec(i: usize, definition: String, mode: Mode) -> PolicySpec {
    PolicySpec {
        id: i as i64,
        name: format!("p{i}"),
        definition,
        severity: Severity::Medium,
        mode,
        action: Action::Notification,
        intervention_config: None,
    }
}

fn set(definitions: impl IntoIterator<Item = String>, mode: Mode) -> PolicySet {
    let specs = definitions
        .into_iter()
        .enumerate()
        .map(|(i, d)| spec(i, d, mode))
        .collect();
    let set = PolicySet::new(specs);
    assert!(set.errors().is_empty(), "{:?}", set.errors());
    set
}

fn scoped_set(mode: Mode) -> PolicySet {
    set(
        DEMO.iter().map(|(app, det)| {
            format!("response.completion has sentinelai.{det} and scope.app is {app}")
        }),
        mode,
    )
}

fn all_match_set(mode: Mode) -> PolicySet {
    set(
        DEMO.iter()
            .map(|(_, det)| format!("any.text has sentinelai.{det}")),
        mode,
    )
}

fn headline(c: &mut Criterion) {
    let text = realistic(1024);
    let scope = Scope {
        app: Some("SecureBot".into()),
        ..Scope::default()
    };
    let empty = Scope::default();

    let scoped = scoped_set(Mode::Balanced);
    let completion = Input {
        prompt: None,
        completion: Some(&text),
        scope: &scope,
    };
    // The data_leakage policy fires on the e-mail and phone number; no other is in scope.
    assert_eq!(scoped.evaluate(&completion).hits.len(), 1);
    c.bench_function("balanced_1k_ten_policies_scoped", |b| {
        b.iter(|| scoped.evaluate(black_box(&completion)))
    });

    let prompt = Input {
        prompt: Some(&text),
        completion: None,
        scope: &empty,
    };
    for mode in [Mode::Balanced, Mode::Fast, Mode::Robust] {
        let all = all_match_set(mode);
        if mode == Mode::Balanced {
            c.bench_function("balanced_1k_ten_bundles_all_match", |b| {
                b.iter(|| all.evaluate(black_box(&prompt)))
            });
        }
        c.bench_function(&format!("{mode}_1k"), |b| {
            b.iter(|| all.evaluate(black_box(&prompt)))
        });
    }

    let doc = document_1mib();
    let pii_secrets = set(
        [
            "any.text has sentinelai.pii".to_owned(),
            "any.text has sentinelai.secrets".to_owned(),
        ],
        Mode::Fast,
    );
    let input = Input {
        prompt: Some(&doc),
        completion: None,
        scope: &empty,
    };
    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("fast_pii_secrets_1mib", |b| {
        b.iter(|| pii_secrets.evaluate(black_box(&input)))
    });
    g.finish();
}

/// Each all-match policy alone in balanced mode, to see where the time goes.
fn per_bundle(c: &mut Criterion) {
    let text = realistic(1024);
    let scope = Scope::default();
    let input = Input {
        prompt: Some(&text),
        completion: None,
        scope: &scope,
    };
    for mode in [Mode::Balanced, Mode::Robust] {
        let rest = set(
            DEMO.iter()
                .filter(|(_, det)| *det != "prompt_injection")
                .map(|(_, det)| format!("any.text has sentinelai.{det}")),
            mode,
        );
        c.bench_function(&format!("{mode}_1k_without_injection_model"), |b| {
            b.iter(|| rest.evaluate(black_box(&input)))
        });
    }
    for (_, det) in DEMO {
        let one = set([format!("any.text has sentinelai.{det}")], Mode::Balanced);
        c.bench_function(&format!("bundle_{det}_balanced"), |b| {
            b.iter(|| one.evaluate(black_box(&input)))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = headline, per_bundle
}
criterion_main!(benches);
