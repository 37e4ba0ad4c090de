//! The registry: every `sentinelai.*` detector, one entry each.
//!
//! An entry states all there is to know about a detector outside its scanning code: its name, what
//! it finds and which arguments it takes (the table of docs/POLICY-LANGUAGE.md §2, kept equal by a
//! test), its cost units (see `estimate`), the violation type its findings file as, and how a call
//! is turned into a ready [`DetectorKind`]. [`crate::DETECTOR_NAMES`], the "did you mean" hint, the
//! CLI's default checks, cost estimates and violation types are all read from here.
//!
//! Adding a detector: an entry here, a [`DetectorKind`] variant, and its arms in
//! `Detector::{run, lexicons, pattern_scans}` (the compiler lists the missing ones).

use crate::ast::DetectorCall;
use crate::detect::DetectorKind;
use crate::detect::args::ArgReader;
use crate::detect::bundle::Bundle;
use crate::detect::code::CodeConfig;
use crate::detect::custom::{self, RegexList, TERM_LIST_UNITS, TermList};
use crate::detect::pii::PiiConfig;
use crate::detect::secrets::SecretsConfig;
use crate::detect::topics::Topic;
use crate::detect::toxicity::ToxicityConfig;
use crate::detect::unsafe_content::UnsafeConfig;
use crate::error::CompileError;
use crate::policy::ViolationType;

/// Which kind of detector an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorGroup {
    /// Reports a risk with its default arguments; `sentinel check` runs these when given no policy.
    Risk,
    /// Describes what a text holds (`code`); a risk only where a policy says so.
    Content,
    /// Operator-supplied terms, patterns or limits: needs arguments.
    Custom,
    /// A legacy name for a fixed combination of other detectors (§2 "Legacy bundles").
    Bundle,
}

/// A call's detector and the canonical text of its arguments (equal keys run once per event).
pub(crate) type Built = Result<(DetectorKind, String), Vec<CompileError>>;

/// One detector of the registry.
#[derive(Debug, Clone, Copy)]
pub struct DetectorSpec {
    /// The name after `sentinelai.`.
    pub name: &'static str,
    pub group: DetectorGroup,
    /// What it finds: the "Finds" column of the docs (the "Runs" column for bundles).
    pub finds: &'static str,
    /// The arguments it takes: the "Arguments" column of the docs.
    pub arguments: &'static str,
    /// Relative cost per KiB of text in fast mode (`estimate`); term lists and regexes add the
    /// units of their arguments (`DetectorKind::argument_units`).
    pub cost_units: f64,
    /// The violation type a breach resting on its findings files as (DESIGN §4).
    pub violation_type: ViolationType,
    /// Check a call's arguments and build the detector.
    pub(crate) build: fn(&DetectorCall) -> Built,
}

/// The arguments of the detectors whose only argument is a threshold.
const MIN_SCORE: &str = "`min_score`";

/// Every detector, in the order of the docs.
pub(crate) const REGISTRY: &[DetectorSpec] = &[
    DetectorSpec {
        name: "pii",
        group: DetectorGroup::Risk,
        finds: "personal data, validated (below)",
        arguments: "entity names; `min_score`",
        cost_units: 3.0,
        violation_type: ViolationType::DataLeak,
        build: |call| PiiConfig::from_call(call).map(|(c, k)| (DetectorKind::Pii(c), k)),
    },
    DetectorSpec {
        name: "secrets",
        group: DetectorGroup::Risk,
        finds: "credentials and keys (below)",
        arguments: "provider names; `min_score`",
        cost_units: 3.0,
        violation_type: ViolationType::DataLeak,
        build: |call| SecretsConfig::from_call(call).map(|(c, k)| (DetectorKind::Secrets(c), k)),
    },
    DetectorSpec {
        name: "prompt_injection",
        group: DetectorGroup::Risk,
        finds: "instruction override, system-prompt extraction, chat-template/role injection, delimiter tricks, indirect injection in documents, exfiltration requests",
        arguments: MIN_SCORE,
        cost_units: 1.5,
        violation_type: ViolationType::PromptInjection,
        build: |call| {
            min_score(call).map(|(min_score, k)| (DetectorKind::PromptInjection { min_score }, k))
        },
    },
    DetectorSpec {
        name: "jailbreak",
        group: DetectorGroup::Risk,
        finds: "persona jailbreaks (DAN, \"developer mode\"), role-play + \"no restrictions\", hypothetical framing, refusal suppression, \"ignore your ethical guidelines\"",
        arguments: MIN_SCORE,
        cost_units: 1.5,
        violation_type: ViolationType::PromptInjection,
        build: |call| {
            min_score(call).map(|(min_score, k)| (DetectorKind::Jailbreak { min_score }, k))
        },
    },
    DetectorSpec {
        name: "toxicity",
        group: DetectorGroup::Risk,
        finds: "insults, threats, harassment, hate (identity attacks), profanity, sexual content, self-harm: a sentence classifier (exported from `alt-profanity-check`, see docs/QUALITY.md) plus a phrase lexicon that names the category",
        arguments: "categories `insult threat harassment hate profanity sexual self_harm` (aliases `identity_attack`, `profane`, `obscene`, …); `min_score`",
        cost_units: 1.5,
        violation_type: ViolationType::ContentViolation,
        build: |call| ToxicityConfig::from_call(call).map(|(c, k)| (DetectorKind::Toxicity(c), k)),
    },
    DetectorSpec {
        name: "legal_advice",
        group: DetectorGroup::Risk,
        finds: "requests for or answers giving legal advice",
        arguments: MIN_SCORE,
        cost_units: 1.0,
        violation_type: ViolationType::ComplianceViolation,
        build: |call| topic(call, Topic::Legal),
    },
    DetectorSpec {
        name: "medical_advice",
        group: DetectorGroup::Risk,
        finds: "requests for or answers giving medical advice (doses, diagnosis)",
        arguments: MIN_SCORE,
        cost_units: 1.0,
        violation_type: ViolationType::ComplianceViolation,
        build: |call| topic(call, Topic::Medical),
    },
    DetectorSpec {
        name: "financial_advice",
        group: DetectorGroup::Risk,
        finds: "requests for or answers giving investment or tax advice",
        arguments: MIN_SCORE,
        cost_units: 1.0,
        violation_type: ViolationType::ComplianceViolation,
        build: |call| topic(call, Topic::Financial),
    },
    DetectorSpec {
        name: "controversial_topics",
        group: DetectorGroup::Risk,
        finds: "opinion questions on politics, religion and other divisive topics",
        arguments: MIN_SCORE,
        cost_units: 1.0,
        violation_type: ViolationType::ContentViolation,
        build: |call| topic(call, Topic::Controversial),
    },
    DetectorSpec {
        name: "unsafe_content",
        group: DetectorGroup::Risk,
        finds: "harmful or unsafe requests and answers, by MLCommons hazard category; safe look-alikes (\"how do I kill a Python process\", \"the history of the atomic bomb\") stay quiet. Lexicons of harmful intents and objects per category, request framing, evasion and safe-context cues, plus a trained classifier from balanced on; a finding's entity is the category (`unsafe` when only the classifier fired)",
        arguments: "categories `violent_crimes non_violent_crimes sex_related_crimes child_sexual_exploitation indiscriminate_weapons suicide_self_harm hate specialised_advice privacy intellectual_property elections sexual_content defamation` (aliases `cbrne weapons self_harm suicide csam specialized_advice ip sexual violence`), positional or `categories=[a, b]`; `min_score`",
        // Its own automaton plus the classifier over each view it reads.
        cost_units: 1.5,
        violation_type: ViolationType::ContentViolation,
        build: |call| {
            UnsafeConfig::from_call(call).map(|(c, k)| (DetectorKind::UnsafeContent(c), k))
        },
    },
    DetectorSpec {
        name: "code",
        group: DetectorGroup::Content,
        finds: "source code and its language",
        arguments: "languages `python javascript typescript rust go java c cpp csharp sql shell html php ruby` (aliases `js ts py rs golang c++ c# bash sh`); `min_score`",
        cost_units: 1.0,
        violation_type: ViolationType::PolicyBreach,
        build: |call| CodeConfig::from_call(call).map(|(c, k)| (DetectorKind::Code(c), k)),
    },
    DetectorSpec {
        name: "invisible_text",
        group: DetectorGroup::Risk,
        finds: "zero-width characters, bidi overrides, Unicode tag characters (the hidden text is decoded into the explanation)",
        arguments: MIN_SCORE,
        cost_units: 0.3,
        violation_type: ViolationType::PolicyBreach,
        build: |call| {
            min_score(call).map(|(min_score, k)| (DetectorKind::InvisibleText { min_score }, k))
        },
    },
    DetectorSpec {
        name: "keywords",
        group: DetectorGroup::Custom,
        finds: "any of the given words or phrases, whole words, ignoring case",
        arguments: "one or more terms",
        cost_units: TERM_LIST_UNITS,
        violation_type: ViolationType::PolicyBreach,
        build: |call| terms(call, "keyword", 1.0),
    },
    DetectorSpec {
        name: "competitors",
        group: DetectorGroup::Custom,
        finds: "as `keywords`, reported as `competitor` (score 0.9)",
        arguments: "one or more names",
        cost_units: TERM_LIST_UNITS,
        violation_type: ViolationType::PolicyBreach,
        build: |call| terms(call, "competitor", 0.9),
    },
    DetectorSpec {
        name: "regex",
        group: DetectorGroup::Custom,
        finds: "any of the given regexes",
        arguments: "one or more patterns; `flags=\"imsx\"`",
        // Each pattern's units are its arguments' (`DetectorKind::argument_units`).
        cost_units: 0.0,
        violation_type: ViolationType::PolicyBreach,
        build: regex,
    },
    DetectorSpec {
        name: "length",
        group: DetectorGroup::Custom,
        finds: "texts longer than N characters; the finding covers the excess",
        arguments: "`max` (required)",
        cost_units: 0.1,
        violation_type: ViolationType::PolicyBreach,
        build: length,
    },
    DetectorSpec {
        name: "data_leakage",
        group: DetectorGroup::Bundle,
        finds: "`pii` + `secrets`",
        arguments: MIN_SCORE,
        cost_units: 6.0,
        violation_type: ViolationType::DataLeak,
        build: |call| bundle(call, Bundle::DataLeakage),
    },
    DetectorSpec {
        name: "data_protection",
        group: DetectorGroup::Bundle,
        finds: "`pii`",
        arguments: MIN_SCORE,
        cost_units: 3.0,
        violation_type: ViolationType::DataLeak,
        build: |call| bundle(call, Bundle::DataProtection),
    },
    DetectorSpec {
        name: "data_minimization",
        group: DetectorGroup::Bundle,
        finds: "`pii`; fires only when more than `max` distinct values are present",
        arguments: "`max` (default 3); `min_score`",
        cost_units: 3.0,
        violation_type: ViolationType::DataLeak,
        build: |call| bundle(call, Bundle::DataMinimization),
    },
    DetectorSpec {
        name: "governance_policy",
        group: DetectorGroup::Bundle,
        finds: "`jailbreak` + policy-evasion phrases (\"bypass the content filter\", \"without being detected\", \"don't log this\")",
        arguments: MIN_SCORE,
        cost_units: 3.0,
        violation_type: ViolationType::PromptInjection,
        build: |call| bundle(call, Bundle::GovernancePolicy),
    },
    DetectorSpec {
        name: "incident_detection",
        group: DetectorGroup::Bundle,
        finds: "`secrets` + exploit/malware/breach phrases (\"write ransomware\", `bash -i >& /dev/tcp`, \"we were hacked\") + `prompt_injection`",
        arguments: MIN_SCORE,
        cost_units: 6.5,
        violation_type: ViolationType::SecurityIncident,
        build: |call| bundle(call, Bundle::IncidentDetection),
    },
    DetectorSpec {
        name: "legal_compliance",
        group: DetectorGroup::Bundle,
        finds: "`legal_advice` + `medical_advice` + `financial_advice`",
        arguments: MIN_SCORE,
        cost_units: 3.0,
        violation_type: ViolationType::ComplianceViolation,
        build: |call| bundle(call, Bundle::LegalCompliance),
    },
    DetectorSpec {
        name: "ip_protection",
        group: DetectorGroup::Bundle,
        finds: "`code` + confidentiality markers (\"strictly confidential\", \"internal use only\", \"trade secret\") + licence headers (SPDX, \"All rights reserved\", GPL/Apache/MIT text)",
        arguments: MIN_SCORE,
        cost_units: 2.5,
        violation_type: ViolationType::PolicyBreach,
        build: |call| bundle(call, Bundle::IpProtection),
    },
    DetectorSpec {
        name: "csr_compliance",
        group: DetectorGroup::Bundle,
        finds: "`toxicity(hate)` + discrimination (\"don't hire women\", \"… are too emotional\") + `controversial_topics`",
        arguments: MIN_SCORE,
        cost_units: 3.5,
        violation_type: ViolationType::ContentViolation,
        build: |call| bundle(call, Bundle::CsrCompliance),
    },
    DetectorSpec {
        name: "sunshine_acceptable_use_violation",
        group: DetectorGroup::Bundle,
        finds: "`toxicity` (all seven categories)",
        arguments: MIN_SCORE,
        cost_units: 2.0,
        violation_type: ViolationType::ContentViolation,
        build: |call| bundle(call, Bundle::SunshineAcceptableUse),
    },
];

/// The names of [`REGISTRY`], in its order.
const fn names<const N: usize>() -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = REGISTRY[i].name;
        i += 1;
    }
    out
}

/// Every detector name accepted after `sentinelai.`, in the registry's order.
pub const DETECTOR_NAMES: &[&str] = &names::<{ REGISTRY.len() }>();

/// Every detector of the registry, in the order of the docs.
pub fn detectors() -> &'static [DetectorSpec] {
    REGISTRY
}

/// The registry's entry for `name`.
pub(crate) fn spec(name: &str) -> Option<&'static DetectorSpec> {
    REGISTRY.iter().find(|s| s.name == name)
}

/// The violation type a finding of `detector` files as: its entry's, and `policy_breach` for
/// anything else (`contains`, `matches`).
pub(crate) fn violation_type_of(detector: &str) -> ViolationType {
    spec(detector).map_or(ViolationType::PolicyBreach, |s| s.violation_type)
}

/// A detector whose only argument is `min_score` (alias `threshold`, default 0.5).
fn min_score(call: &DetectorCall) -> Result<(f64, String), Vec<CompileError>> {
    let mut r = ArgReader::new(call);
    let m = r
        .number(&["min_score", "threshold"], 0.0, 1.0)
        .unwrap_or(0.5);
    r.finish(&["min_score", "threshold"])?;
    Ok((m, format!("{m}")))
}

fn topic(call: &DetectorCall, topic: Topic) -> Built {
    min_score(call).map(|(min_score, k)| (DetectorKind::Topic { topic, min_score }, k))
}

/// `keywords` and `competitors`: findings of `entity` at `score`.
fn terms(call: &DetectorCall, entity: &'static str, score: f64) -> Built {
    let name = &call.name;
    let mut r = ArgReader::new(call);
    let terms = r.texts();
    r.finish(&[])?;
    let list = TermList::new(&terms, true, entity, score).map_err(|e| {
        vec![
            CompileError::new(call.pos, format!("`sentinelai.{name}` {e}"))
                .with_hint(format!("e.g. `sentinelai.{name}(\"acme\", globex)`")),
        ]
    })?;
    let key = list.terms().join("\u{1f}");
    Ok((DetectorKind::Terms(list), key))
}

fn regex(call: &DetectorCall) -> Built {
    let mut r = ArgReader::new(call);
    let patterns = r.texts();
    let positions = r.positional_positions();
    let flags = r.flags();
    r.finish(&["flags"])?;
    if patterns.is_empty() {
        return Err(vec![
            CompileError::new(call.pos, "`sentinelai.regex` needs at least one pattern")
                .with_hint("e.g. `sentinelai.regex(\"project\\\\s+falcon\")`"),
        ]);
    }
    let mut errors = Vec::new();
    let mut regexes = Vec::new();
    for (p, pos) in patterns.iter().zip(positions) {
        match custom::build_regex(p, &flags) {
            Ok(re) => regexes.push(re),
            Err(e) => errors.push(CompileError::new(pos, format!("invalid regex: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let key = format!("{}|{flags}", patterns.join("\u{1f}"));
    Ok((DetectorKind::Regex(RegexList::new(regexes, "regex")), key))
}

fn length(call: &DetectorCall) -> Built {
    let mut r = ArgReader::new(call);
    let max = r.count(&["max", "max_chars"], 0, usize::MAX >> 12);
    r.finish(&["max"])?;
    let Some(max) = max else {
        return Err(vec![
            CompileError::new(call.pos, "`sentinelai.length` needs `max`")
                .with_hint("e.g. `sentinelai.length(max=4000)`"),
        ]);
    };
    Ok((DetectorKind::Length { max }, max.to_string()))
}

/// A legacy bundle: `min_score` overrides its components' thresholds; `data_minimization` also
/// takes `max`.
fn bundle(call: &DetectorCall, bundle: Bundle) -> Built {
    let mut r = ArgReader::new(call);
    let min = r.number(&["min_score", "threshold"], 0.0, 1.0);
    let max = if bundle == Bundle::DataMinimization {
        r.count(&["max"], 0, 100_000).unwrap_or(3)
    } else {
        3
    };
    let keys: &[&str] = if bundle == Bundle::DataMinimization {
        &["max", "min_score", "threshold"]
    } else {
        &["min_score", "threshold"]
    };
    r.finish(keys)?;
    let key = format!(
        "{}|{max}",
        min.map_or("default".to_owned(), |m| m.to_string())
    );
    Ok((
        DetectorKind::Bundle {
            bundle,
            min_score: min,
            max,
        },
        key,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = include_str!("../../../../docs/POLICY-LANGUAGE.md");

    /// The rows of the docs' markdown table whose header line is `header`, as trimmed cells.
    fn docs_table(header: &str) -> Vec<Vec<String>> {
        let mut lines = DOCS.lines().skip_while(|l| l.trim() != header);
        assert!(lines.next().is_some(), "no table `{header}` in the docs");
        lines.next();
        lines
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim()
                    .trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().to_owned())
                    .collect()
            })
            .collect()
    }

    /// `keywords` of the docs' name cell `` `keywords(...)` ``.
    fn name_cell(cell: &str) -> String {
        let name = cell.trim_matches('`');
        name.split('(').next().unwrap_or(name).to_owned()
    }

    /// A table's rows as the registry states them, for the failure message.
    fn rows(rows: &[Vec<String>]) -> String {
        rows.iter()
            .map(|r| format!("| `{}` | {} |\n", r[0], r[1..].join(" | ")))
            .collect()
    }

    fn check_table(header: &str, expected: &[Vec<String>]) {
        let found: Vec<Vec<String>> = docs_table(header)
            .into_iter()
            .map(|mut r| {
                r[0] = name_cell(&r[0]);
                r
            })
            .collect();
        assert!(
            found == expected,
            "docs/POLICY-LANGUAGE.md's table `{header}` differs from detect/registry.rs; \
             the registry's rows are:\n{}",
            rows(expected)
        );
    }

    #[test]
    fn docs_detector_table_is_the_registry() {
        let expected: Vec<Vec<String>> = REGISTRY
            .iter()
            .filter(|s| s.group != DetectorGroup::Bundle)
            .map(|s| vec![s.name.into(), s.finds.into(), s.arguments.into()])
            .collect();
        check_table("| Detector | Finds | Arguments |", &expected);
    }

    #[test]
    fn docs_bundle_table_is_the_registry() {
        let expected: Vec<Vec<String>> = REGISTRY
            .iter()
            .filter(|s| s.group == DetectorGroup::Bundle)
            .map(|s| {
                vec![
                    s.name.into(),
                    s.finds.into(),
                    format!("`{}`", s.violation_type.as_str()),
                ]
            })
            .collect();
        check_table("| Bundle | Runs | Violation type |", &expected);
    }

    /// The docs' "Violation types" paragraph lists every detector that files as something other
    /// than `policy_breach`, under the registry's type.
    #[test]
    fn docs_violation_types_are_the_registry() {
        let text: String = DOCS
            .lines()
            .skip_while(|l| l.trim() != "### Violation types")
            .skip(1)
            .take_while(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ");
        let mut listed = Vec::new();
        for part in text.split(';') {
            let Some((names, ty)) = part.split_once('→') else {
                continue;
            };
            if names.contains("anything else") {
                continue;
            }
            let ty = ty
                .trim()
                .trim_start_matches("and ")
                .trim_matches(['`', '.', ' ']);
            for name in names.split('`').skip(1).step_by(2) {
                let spec = spec(name);
                assert!(spec.is_some(), "the docs list an unknown detector `{name}`");
                assert_eq!(
                    spec.map(|s| s.violation_type.as_str()),
                    Some(ty),
                    "`{name}`"
                );
                listed.push(name);
            }
        }
        for s in REGISTRY {
            if s.violation_type != ViolationType::PolicyBreach {
                assert!(listed.contains(&s.name), "the docs leave out `{}`", s.name);
            }
        }
    }

    #[test]
    fn names_are_distinct_and_derived() {
        assert_eq!(DETECTOR_NAMES.len(), REGISTRY.len());
        for (i, s) in REGISTRY.iter().enumerate() {
            assert_eq!(DETECTOR_NAMES[i], s.name);
            assert_eq!(spec(s.name).map(|x| x.name), Some(s.name));
            assert!(
                s.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                s.name
            );
            assert!(s.cost_units >= 0.0 && s.cost_units < 10.0, "{}", s.name);
        }
        assert_eq!(violation_type_of("contains"), ViolationType::PolicyBreach);
        assert_eq!(violation_type_of("data_leakage"), ViolationType::DataLeak);
    }
}
