//! The workload shared by the criterion benches (`evaluate.rs`) and the callgrind driver
//! (`examples/profile.rs`): the demo policy sets and the texts they are measured on.

use sentinel_engine::{Action, Mode, PolicySet, PolicySpec, Severity};

/// The demo policies (crates/server/src/service/demo.rs): (app, detector).
pub const DEMO: [(&str, &str); 10] = [
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
pub fn realistic(len: usize) -> String {
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
pub fn document_1mib() -> String {
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
        enforcement: sentinel_engine::Enforcement::Enforce,
    }
}

pub fn set(definitions: impl IntoIterator<Item = String>, mode: Mode) -> PolicySet {
    let specs = definitions
        .into_iter()
        .enumerate()
        .map(|(i, d)| spec(i, d, mode))
        .collect();
    let set = PolicySet::new(specs);
    assert!(set.errors().is_empty(), "{:?}", set.errors());
    set
}

pub fn scoped_set(mode: Mode) -> PolicySet {
    set(
        DEMO.iter().map(|(app, det)| {
            format!("response.completion has sentinelai.{det} and scope.app is {app}")
        }),
        mode,
    )
}

pub fn all_match_set(mode: Mode) -> PolicySet {
    set(
        DEMO.iter()
            .map(|(_, det)| format!("any.text has sentinelai.{det}")),
        mode,
    )
}
