//! Framework mappings as data: which detectors, templates and policies address each control of
//! a framework, and which report sections evidence it.
//!
//! The mappings are TOML files embedded in the binary (`owasp-llm-2025.toml`, `eu-ai-act.toml`,
//! `nist-ai-rmf.toml`, beside this module). The configuration's `[[reports.frameworks]]` tables,
//! in the same shape, extend them with no rebuild: a table whose `id` names an embedded framework
//! adds to its controls (lists are merged, a new control id is appended), any other `id` adds a
//! framework.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The framework a report uses when none is named: the OWASP Top 10 for LLM Applications, 2025.
pub const DEFAULT_FRAMEWORK: &str = "owasp-llm-2025";

const EMBEDDED: [&str; 3] = [
    include_str!("owasp-llm-2025.toml"),
    include_str!("eu-ai-act.toml"),
    include_str!("nist-ai-rmf.toml"),
];

/// A report section that can evidence a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Interactions were recorded in the period.
    EventLog,
    /// The audit hash chain verifies.
    AuditIntegrity,
    /// People triaged the period's violations.
    HumanOversight,
    /// Triage outcomes measure the guard's accuracy (false-positive rates exist).
    TriageMetrics,
    /// Logs are kept at least six months.
    Retention,
    /// The applications in use are known.
    Inventory,
    /// At least one policy is enforced.
    PoliciesDefined,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::EventLog => "event_log",
            Evidence::AuditIntegrity => "audit_integrity",
            Evidence::HumanOversight => "human_oversight",
            Evidence::TriageMetrics => "triage_metrics",
            Evidence::Retention => "retention",
            Evidence::Inventory => "inventory",
            Evidence::PoliciesDefined => "policies_defined",
        }
    }
}

/// One control (an OWASP entry, an article, a function) and what addresses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// Detector names (`pii`, not `sentinelai.pii`); `*` is any detector.
    #[serde(default)]
    pub detectors: Vec<String>,
    /// Template names; templates whose OWASP ids include the control's id count too.
    #[serde(default)]
    pub templates: Vec<String>,
    /// Policy names.
    #[serde(default)]
    pub policies: Vec<String>,
    /// When not empty, only policies with one of these interventions count.
    #[serde(default)]
    pub interventions: Vec<String>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Why the control cannot be evidenced at run time, when it cannot.
    #[serde(default)]
    pub note: Option<String>,
}

impl Control {
    /// Whether policies can address the control at all.
    pub fn policy_addressable(&self, template_ids: impl Fn(&str) -> bool) -> bool {
        !self.detectors.is_empty()
            || !self.templates.is_empty()
            || !self.policies.is_empty()
            || template_ids(&self.id)
    }
}

/// A framework and its controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Framework {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub edition: String,
    #[serde(default)]
    pub controls: Vec<Control>,
}

static BUILT_IN: LazyLock<Vec<Framework>> = LazyLock::new(|| {
    EMBEDDED
        .iter()
        .filter_map(|text| match toml::from_str::<Framework>(text) {
            Ok(f) => Some(f),
            Err(e) => {
                // Cannot happen with the files shipped (a unit test parses each one).
                tracing::error!(error = %e, "an embedded framework mapping does not parse");
                None
            }
        })
        .collect()
});

/// The embedded frameworks extended by `extra` (the configuration's `reports.frameworks`).
pub fn frameworks(extra: &[Framework]) -> Vec<Framework> {
    let mut all = BUILT_IN.clone();
    for add in extra {
        match all.iter_mut().find(|f| f.id == add.id) {
            Some(base) => merge(base, add),
            None => all.push(add.clone()),
        }
    }
    all
}

/// The framework `id`, embedded or configured.
pub fn find(extra: &[Framework], id: &str) -> Option<Framework> {
    frameworks(extra).into_iter().find(|f| f.id == id)
}

fn extend_unique<T: PartialEq + Clone>(into: &mut Vec<T>, from: &[T]) {
    for item in from {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

fn merge(base: &mut Framework, add: &Framework) {
    if !add.name.is_empty() {
        base.name.clone_from(&add.name);
    }
    if !add.edition.is_empty() {
        base.edition.clone_from(&add.edition);
    }
    for control in &add.controls {
        match base.controls.iter_mut().find(|c| c.id == control.id) {
            Some(c) => {
                if !control.title.is_empty() {
                    c.title.clone_from(&control.title);
                }
                extend_unique(&mut c.detectors, &control.detectors);
                extend_unique(&mut c.templates, &control.templates);
                extend_unique(&mut c.policies, &control.policies);
                extend_unique(&mut c.interventions, &control.interventions);
                extend_unique(&mut c.evidence, &control.evidence);
                if control.note.is_some() {
                    c.note.clone_from(&control.note);
                }
            }
            None => base.controls.push(control.clone()),
        }
    }
}

/// What is wrong with configured mappings, if anything: every framework and control needs an
/// id, and detectors must exist.
pub fn check(extra: &[Framework]) -> Result<(), String> {
    for f in extra {
        if f.id.trim().is_empty() {
            return Err("reports.frameworks: every framework needs an id".into());
        }
        for c in &f.controls {
            if c.id.trim().is_empty() {
                return Err(format!(
                    "reports.frameworks: a control of `{}` has no id",
                    f.id
                ));
            }
            for d in &c.detectors {
                if d != "*" && !sentinel_engine::DETECTOR_NAMES.contains(&d.as_str()) {
                    return Err(format!(
                        "reports.frameworks: control `{}` of `{}` names the unknown detector `{d}`",
                        c.id, f.id
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_parse_and_name_known_detectors() {
        assert_eq!(BUILT_IN.len(), EMBEDDED.len());
        check(&BUILT_IN).unwrap();
        let ids: Vec<&str> = BUILT_IN.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["owasp-llm-2025", "eu-ai-act", "nist-ai-rmf"]);
        assert_eq!(ids[0], DEFAULT_FRAMEWORK);
    }

    #[test]
    fn owasp_lists_the_ten_2025_entries() {
        let owasp = find(&[], "owasp-llm-2025").unwrap();
        let ids: Vec<String> = owasp.controls.iter().map(|c| c.id.clone()).collect();
        let expected: Vec<String> = (1..=10).map(|n| format!("LLM{n:02}:2025")).collect();
        assert_eq!(ids, expected);
        assert_eq!(owasp.edition, "2025");
    }

    #[test]
    fn eu_ai_act_has_the_log_articles() {
        let eu = find(&[], "eu-ai-act").unwrap();
        let ids: Vec<&str> = eu.controls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["Art. 12", "Art. 14", "Art. 15", "Art. 19", "Art. 26(6)"]
        );
        let nist = find(&[], "nist-ai-rmf").unwrap();
        let ids: Vec<&str> = nist.controls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["GOVERN", "MAP", "MEASURE", "MANAGE"]);
    }

    #[test]
    fn configuration_extends_and_adds() {
        let extra: Vec<Framework> = toml::from_str::<toml::Table>(
            r#"
            [[f]]
            id = "owasp-llm-2025"
            [[f.controls]]
            id = "LLM03:2025"
            detectors = ["keywords"]
            [[f.controls]]
            id = "LLM99:2025"
            title = "In-house risk"
            [[f]]
            id = "iso-42001"
            name = "ISO/IEC 42001"
            [[f.controls]]
            id = "A.6.2.8"
            evidence = ["event_log"]
            "#,
        )
        .unwrap()["f"]
            .clone()
            .try_into()
            .unwrap();
        check(&extra).unwrap();
        let owasp = find(&extra, "owasp-llm-2025").unwrap();
        let llm03 = owasp
            .controls
            .iter()
            .find(|c| c.id == "LLM03:2025")
            .unwrap();
        assert_eq!(llm03.detectors, ["keywords"]);
        assert_eq!(llm03.title, "Supply Chain");
        assert_eq!(owasp.controls.len(), 11);
        let iso = find(&extra, "iso-42001").unwrap();
        assert_eq!(iso.controls[0].evidence, [Evidence::EventLog]);
        // The built-in table is not changed by an extension.
        assert_eq!(find(&[], "owasp-llm-2025").unwrap().controls.len(), 10);
    }

    #[test]
    fn unknown_detectors_are_refused() {
        let bad = Framework {
            id: "x".into(),
            name: String::new(),
            edition: String::new(),
            controls: vec![Control {
                id: "c".into(),
                title: String::new(),
                detectors: vec!["pi".into()],
                templates: vec![],
                policies: vec![],
                interventions: vec![],
                evidence: vec![],
                note: None,
            }],
        };
        assert!(check(&[bad]).unwrap_err().contains("unknown detector `pi`"));
    }
}
