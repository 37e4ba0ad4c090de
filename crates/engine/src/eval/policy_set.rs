//! The compiled set of policies in force, and evaluating one policy alone.

use crate::compile::{CExpr, CompiledPolicy, compile};
use crate::detect::{Detector, SharedLexicons};
use crate::error::CompileError;
use crate::eval::context::{Shared, count_uses};
use crate::eval::evaluate::evaluate_entries;
use crate::eval::scores::topic_lexicons;
use crate::eval::{Evaluation, Input, PolicyHit};
use crate::policy::{Action, Enforcement, Mode, PolicySpec, Severity};
use crate::redact::InterventionConfig;

/// One policy of an evaluation: its expression and what a breach does.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub id: i64,
    pub severity: Severity,
    pub mode: Mode,
    pub action: Action,
    pub config: InterventionConfig,
    pub expr: CExpr,
    /// A shadow policy: its hit goes to `shadow_hits` and acts on nothing.
    pub shadow: bool,
}

impl Entry {
    fn new(spec: &PolicySpec, expr: CExpr) -> Self {
        Entry {
            id: spec.id,
            severity: spec.severity,
            mode: spec.mode,
            action: spec.action,
            config: InterventionConfig::parse_lenient(spec.intervention_config.as_deref()),
            expr: cheap_first(expr),
            shadow: spec.enforcement == Enforcement::Shadow,
        }
    }
}

/// Whether `expr` reads only the scope, never a text: cheap, and it adds no findings.
fn scope_only(expr: &CExpr) -> bool {
    match expr {
        CExpr::Or(items) | CExpr::And(items) => items.iter().all(scope_only),
        CExpr::Not(inner) => scope_only(inner),
        CExpr::Text { .. } => false,
        CExpr::Scope { .. } => true,
    }
}

/// Whether `expr` has a text clause whose target is the part `part` (`request.system` for
/// `system`).
fn names_part(expr: &CExpr, part: &str) -> bool {
    match expr {
        CExpr::Or(items) | CExpr::And(items) => items.iter().any(|i| names_part(i, part)),
        CExpr::Not(inner) => names_part(inner, part),
        CExpr::Text { target, .. } => target.part() == Some(part),
        CExpr::Scope { .. } => false,
    }
}

/// Move the scope-only operands of every `and` in front of the others, so that a false
/// `scope.app is X` skips the detectors. Clauses are pure and scope-only operands add no
/// findings, so neither the outcome nor the order of the findings changes.
fn cheap_first(expr: CExpr) -> CExpr {
    match expr {
        CExpr::And(items) => {
            let (mut cheap, rest): (Vec<CExpr>, Vec<CExpr>) =
                items.into_iter().map(cheap_first).partition(scope_only);
            cheap.extend(rest);
            CExpr::And(cheap)
        }
        CExpr::Or(items) => CExpr::Or(items.into_iter().map(cheap_first).collect()),
        CExpr::Not(inner) => CExpr::Not(Box::new(cheap_first(*inner))),
        other => other,
    }
}

/// The immutable, compiled set of policies in force. Build it once per policy change and share
/// it (e.g. behind an `ArcSwap`); evaluation takes `&self` and never fails.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    entries: Vec<Entry>,
    detectors: Vec<Detector>,
    errors: Vec<(i64, Vec<CompileError>)>,
    /// The lexicons of `detectors` plus those of the score columns, when there are more than
    /// the score columns' own: scanned together once per view list and evaluation.
    lexicons: Option<std::sync::Arc<SharedLexicons>>,
    /// Per detector, how many text clauses of all policies read it.
    uses: Vec<u32>,
    /// Whether two detectors run the same pattern scan (`pii` in `data_leakage` and
    /// `data_protection`, …), so that each text keeps its pattern findings for the next one.
    repeated_scans: bool,
}

impl PolicySet {
    /// Compile every policy. Those that do not compile are left out and listed in [`errors`].
    ///
    /// [`errors`]: PolicySet::errors
    pub fn new(specs: Vec<PolicySpec>) -> PolicySet {
        let mut set = PolicySet::default();
        for spec in specs {
            match compile(&spec.definition) {
                Ok(p) => set.push(&spec, p),
                Err(e) => set.errors.push((spec.id, e)),
            }
        }
        let mut lexicons = topic_lexicons().to_vec();
        for d in &set.detectors {
            d.lexicons(&mut lexicons);
        }
        set.uses = vec![0; set.detectors.len()];
        for e in &set.entries {
            count_uses(&e.expr, &mut set.uses);
        }
        let (pii, secrets) = set.detectors.iter().fold((0, 0), |(p, s), d| {
            let (dp, ds) = d.pattern_scans();
            (p + usize::from(dp), s + usize::from(ds))
        });
        set.repeated_scans = pii > 1 || secrets > 1;
        if lexicons.len() > topic_lexicons().len() {
            set.lexicons = Some(SharedLexicons::shared(lexicons));
        }
        set
    }

    fn push(&mut self, spec: &PolicySpec, policy: CompiledPolicy) {
        let CompiledPolicy {
            mut expr,
            detectors,
        } = policy;
        let map: Vec<usize> = detectors
            .into_iter()
            .map(
                |d| match self.detectors.iter().position(|x| x.key == d.key) {
                    Some(i) => i,
                    None => {
                        self.detectors.push(d);
                        self.detectors.len() - 1
                    }
                },
            )
            .collect();
        expr.remap(&map);
        self.entries.push(Entry::new(spec, expr));
    }

    /// Policies that did not compile, with their errors.
    pub fn errors(&self) -> &[(i64, Vec<CompileError>)] {
        &self.errors
    }

    /// Ids of the policies in force (enforced and shadow), in the order given.
    pub fn policy_ids(&self) -> Vec<i64> {
        self.entries.iter().map(|e| e.id).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Evaluate every enforced policy of the set; shadow policies are not evaluated.
    pub fn evaluate(&self, input: &Input<'_>) -> Evaluation {
        let enforced = self.entries.iter().filter(|e| !e.shadow);
        evaluate_entries(enforced, &self.detectors, self.shared(), input).0
    }

    /// Evaluate every policy of the set: the evaluation of the enforced ones (exactly what
    /// [`evaluate`](PolicySet::evaluate) answers) and, beside it, the hits of the shadow ones,
    /// each with the action it would have taken. Detectors run once for both.
    pub fn evaluate_with_shadow(&self, input: &Input<'_>) -> (Evaluation, Vec<PolicyHit>) {
        evaluate_entries(self.entries.iter(), &self.detectors, self.shared(), input)
    }

    /// The hits of the shadow policies alone, for a caller that took its decision with
    /// [`evaluate`](PolicySet::evaluate) already.
    pub fn evaluate_shadow(&self, input: &Input<'_>) -> Vec<PolicyHit> {
        let shadow = self.entries.iter().filter(|e| e.shadow);
        evaluate_entries(shadow, &self.detectors, self.shared(), input).1
    }

    /// Whether the set holds a shadow policy.
    pub fn has_shadow(&self) -> bool {
        self.entries.iter().any(|e| e.shadow)
    }

    fn shared(&self) -> Shared<'_> {
        Shared {
            lexicons: self.lexicons.as_deref(),
            uses: Some(&self.uses),
            repeated_scans: self.repeated_scans,
        }
    }

    /// Whether the policy names a part of a call as its target (`request.system`,
    /// `tool.arguments`, `tool.result` for `system`, `tool_arguments`, `tool_result`): it was
    /// written for that part, so a gateway must not discount its findings there.
    pub fn names_part(&self, policy_id: i64, part: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.id == policy_id && names_part(&e.expr, part))
    }

    /// The redaction style of a policy of the set (the default style if it is not in the set).
    pub fn redact_style(&self, policy_id: i64) -> crate::redact::RedactStyle {
        self.entries
            .iter()
            .find(|e| e.id == policy_id)
            .map(|e| e.config.redact)
            .unwrap_or_default()
    }

    /// What redaction `eval` (an evaluation by this set) asks for in `target`: the findings of
    /// its breached `redact` policies there, and the style of the most severe of those
    /// policies. `None` when nothing is to be redacted.
    pub fn redaction<'e>(
        &self,
        eval: &'e Evaluation,
        target: crate::finding::Target,
    ) -> Option<(crate::redact::RedactStyle, Vec<&'e crate::finding::Finding>)> {
        let redacting = || eval.hits.iter().filter(|h| h.action == Action::Redact);
        let strongest = redacting().max_by_key(|h| h.severity)?;
        let findings: Vec<&crate::finding::Finding> = redacting()
            .flat_map(|h| h.findings.iter())
            .filter(|f| f.target == target)
            .collect();
        (!findings.is_empty()).then(|| (self.redact_style(strongest.policy_id), findings))
    }

    /// Evaluate one policy of the set, as if enforced; `None` if it is not in the set.
    pub fn evaluate_one(&self, policy_id: i64, input: &Input<'_>) -> Option<Evaluation> {
        let mut entry = self.entries.iter().find(|e| e.id == policy_id)?.clone();
        entry.shadow = false;
        Some(
            evaluate_entries(
                std::iter::once(&entry),
                &self.detectors,
                self.shared(),
                input,
            )
            .0,
        )
    }
}

impl CompiledPolicy {
    /// Evaluate this policy with `spec`'s severity, mode, action and intervention config (its
    /// `definition` is ignored), whatever the policy's status and enforcement: what `/test`
    /// runs, showing what the policy does when enforced.
    pub fn evaluate(&self, spec: &PolicySpec, input: &Input<'_>) -> Evaluation {
        let mut entry = Entry::new(spec, self.expr.clone());
        entry.shadow = false;
        let shared = Shared {
            lexicons: None,
            uses: None,
            repeated_scans: true,
        };
        evaluate_entries(std::iter::once(&entry), &self.detectors, shared, input).0
    }
}

/// Compile `spec.definition` and evaluate it alone, whatever its status.
pub fn evaluate_spec(
    spec: &PolicySpec,
    input: &Input<'_>,
) -> Result<Evaluation, Vec<CompileError>> {
    Ok(compile(&spec.definition)?.evaluate(spec, input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Scope;

    #[test]
    fn policy_sets_are_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<PolicySet>();
        send_sync::<CompiledPolicy>();
    }

    #[test]
    fn findings_handed_over_or_copied_are_the_same() {
        let spec = |id: i64, definition: &str| PolicySpec {
            id,
            name: format!("p{id}"),
            definition: definition.to_owned(),
            severity: Severity::Medium,
            mode: Mode::Balanced,
            action: Action::Notification,
            intervention_config: None,
            enforcement: Enforcement::Enforce,
        };
        let defs = [
            "any.text has sentinelai.pii",
            "request.prompt has sentinelai.secrets or request.prompt has sentinelai.data_leakage",
            "any.text has sentinelai.data_leakage and not request.prompt has sentinelai.toxicity",
            "response.completion has sentinelai.data_protection",
        ];
        let scope = Scope::default();
        let input = Input {
            prompt: Some(
                "mail jane.doe@example.com, key AKIAZ3MSJV4WWNKWW5FG, call (415) 555-2671",
            ),
            completion: Some("card 4111 1111 1111 1111 and ops@example.org"),
            scope: &scope,
        };
        let set = PolicySet::new(
            defs.iter()
                .enumerate()
                .map(|(i, d)| spec(i as i64, d))
                .collect(),
        );
        assert!(set.errors().is_empty(), "{:?}", set.errors());
        let all = set.evaluate(&input);
        assert_eq!(all.hits.len(), defs.len());
        for (i, d) in defs.iter().enumerate() {
            let alone =
                evaluate_spec(&spec(i as i64, d), &input).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(alone.hits, all.hits[i..=i], "{d}");
            let one = set.evaluate_one(i as i64, &input);
            assert_eq!(one.map(|e| e.hits), Some(alone.hits), "{d}");
        }
    }

    #[test]
    fn part_targets_read_only_their_part() {
        let defs = [
            (1, "request.system contains \"secret plan\""),
            (2, "tool.arguments contains \"secret plan\""),
            (3, "tool.result contains \"secret plan\""),
            (4, "not tool.result contains \"secret plan\""),
            (
                5,
                "tool.arguments contains \"secret plan\" and scope.tool is run_shell",
            ),
        ];
        let set = PolicySet::new(
            defs.iter()
                .map(|&(id, d)| PolicySpec {
                    id,
                    name: format!("p{id}"),
                    definition: d.to_owned(),
                    severity: Severity::Medium,
                    mode: Mode::Balanced,
                    action: Action::Notification,
                    intervention_config: None,
                    enforcement: Enforcement::Enforce,
                })
                .collect(),
        );
        assert!(set.errors().is_empty(), "{:?}", set.errors());
        let fired = |part: Option<&str>, tool: Option<&str>, in_completion: bool| -> Vec<i64> {
            let mut scope = Scope::default();
            if let Some(part) = part {
                scope.metadata.insert("part".into(), part.into());
            }
            if let Some(tool) = tool {
                scope.metadata.insert("tool".into(), tool.into());
            }
            let text = Some("the secret plan is here");
            let input = Input {
                prompt: if in_completion { None } else { text },
                completion: if in_completion { text } else { None },
                scope: &scope,
            };
            set.evaluate(&input)
                .hits
                .iter()
                .map(|h| h.policy_id)
                .collect()
        };
        // No part named (an `/api/guard` call): only the negated clause holds.
        assert_eq!(fired(None, None, false), [4]);
        assert_eq!(fired(Some("user"), None, false), [4]);
        assert_eq!(fired(Some("SYSTEM"), None, false), [1, 4]);
        assert_eq!(fired(Some("tool_result"), Some("fetch"), false), [3]);
        assert_eq!(fired(Some("tool_arguments"), Some("fetch"), false), [2, 4]);
        // Arguments in the answer, to the one tool policy 5 names.
        assert_eq!(
            fired(Some("tool_arguments"), Some("run_shell"), true),
            [2, 4, 5]
        );
        // `request.system` reads the prompt only, never an answer.
        assert_eq!(fired(Some("system"), None, true), [4]);
        assert!(set.names_part(1, "system") && !set.names_part(2, "system"));
        assert!(set.names_part(4, "tool_result") && !set.names_part(9, "tool_result"));
    }
}
