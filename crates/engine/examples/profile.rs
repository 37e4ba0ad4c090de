//! A driver for `valgrind --tool=callgrind` (see docs/ENGINE-BENCHMARKS.md): builds the
//! benchmark's policy sets and texts, evaluates once to warm up, then evaluates one case N times
//! inside `measured`; `--toggle-collect=profile::measured` counts only those N evaluations.
//!
//! `cargo run -p sentinel-engine --release --example profile -- <case> <N>`, with case one of
//! `fast_1mib` (pii + secrets, fast, the 1 MiB document), `fast_1k`, `balanced_1k`, `robust_1k`
//! (the ten all-match bundles on the 1 KiB text), `scoped_1k` (the ten demo policies, one in
//! scope, on the 1 KiB completion).

use std::hint::black_box;

use sentinel_engine::{Action, Input, Mode, PolicySet, PolicySpec, Scope, Severity};

/// The bench's 1 KiB support reply (benches/evaluate.rs), cut to `len` bytes.
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

/// The bench's 1 MiB document (benches/evaluate.rs).
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

const BUNDLES: [&str; 10] = [
    "sunshine_acceptable_use_violation",
    "legal_compliance",
    "incident_detection",
    "prompt_injection",
    "governance_policy",
    "ip_protection",
    "data_protection",
    "data_leakage",
    "csr_compliance",
    "data_minimization",
];

fn set(definitions: &[String], mode: Mode) -> PolicySet {
    let specs = definitions
        .iter()
        .enumerate()
        .map(|(i, d)| PolicySpec {
            id: i as i64,
            name: format!("p{i}"),
            definition: d.clone(),
            severity: Severity::Medium,
            mode,
            action: Action::Notification,
            intervention_config: None,
        })
        .collect();
    PolicySet::new(specs)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("fast_1mib", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut scope = Scope::default();
    let (set, text) = match case {
        "scoped_1k" => {
            // The bench's `balanced_1k_ten_policies_scoped`: the ten demo policies, one in scope.
            const APPS: [&str; 10] = [
                "Sunshine",
                "LegalBot",
                "SecurityBot",
                "ChatBot",
                "PolicyBot",
                "ContentBot",
                "DataBot",
                "SecureBot",
                "CSRBot",
                "MinimalBot",
            ];
            scope.app = Some("SecureBot".into());
            let defs: Vec<String> = BUNDLES
                .iter()
                .zip(APPS)
                .map(|(b, app)| {
                    format!("response.completion has sentinelai.{b} and scope.app is {app}")
                })
                .collect();
            (set(&defs, Mode::Balanced), realistic(1024))
        }
        "fast_1mib" => (
            set(
                &[
                    "any.text has sentinelai.pii".to_owned(),
                    "any.text has sentinelai.secrets".to_owned(),
                ],
                Mode::Fast,
            ),
            document_1mib(),
        ),
        other => {
            let mode = match other {
                "fast_1k" => Mode::Fast,
                "balanced_1k" => Mode::Balanced,
                _ => Mode::Robust,
            };
            let defs: Vec<String> = BUNDLES
                .iter()
                .map(|b| format!("any.text has sentinelai.{b}"))
                .collect();
            (set(&defs, mode), realistic(1024))
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
