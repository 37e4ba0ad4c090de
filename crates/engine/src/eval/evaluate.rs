//! Evaluating policies: from each policy's findings to the decision, hits, score columns and
//! redacted texts of an [`Evaluation`].

use crate::detect::TextViews;
use crate::detect::{Detector, violation_type_of};
use crate::eval::context::{Cache, Ctx, MODES, Shared};
use crate::eval::dedup::{dedup_spans, dedup_spans_owned, detectors_disjoint};
use crate::eval::policy_set::Entry;
use crate::eval::scores::topic_scores;
use crate::eval::{Evaluation, Input, PolicyHit, Scores};
use crate::finding::{Finding, Target, push_two_decimals};
use crate::policy::{Action, Decision, Mode, Severity, ViolationType};
use crate::redact::{RedactStyle, redact};

fn explain(id: i64, findings: &[Finding]) -> String {
    if findings.is_empty() {
        let mut out = String::with_capacity(48);
        out.push_str("policy ");
        out.push_str(itoa::Buffer::new().format(id));
        out.push_str(": conditions met");
        return out;
    }
    // Written into one string sized once: the same text as formatting each part and joining
    // them.
    let shown = &findings[..findings.len().min(3)];
    let words: usize = shown
        .iter()
        .map(|f| f.detector.len() + f.entity.len() + 40)
        .sum();
    let mut out = String::with_capacity(words + 48);
    out.push_str("policy ");
    out.push_str(itoa::Buffer::new().format(id));
    out.push_str(": ");
    for (i, f) in shown.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&f.detector);
        out.push_str(" found ");
        out.push_str(&f.entity);
        out.push_str(" in the ");
        out.push_str(f.target.as_str());
        out.push_str(" (");
        push_two_decimals(&mut out, f.score);
        out.push(')');
    }
    if findings.len() > 3 {
        out.push_str("; and ");
        out.push_str(itoa::Buffer::new().format(findings.len() - 3));
        out.push_str(" more");
    }
    out
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Evaluate `entries` over `input`, each detector running at most once per text and mode.
/// Returns the evaluation of the enforced entries and, beside it, the hits of the shadow ones,
/// which shape nothing of the evaluation (decision, findings, redaction, scores, block message).
pub(super) fn evaluate_entries<'e>(
    entries: impl Iterator<Item = &'e Entry>,
    detectors: &[Detector],
    shared: Shared<'_>,
    input: &Input<'_>,
) -> (Evaluation, Vec<PolicyHit>) {
    let views = |t| {
        let tv = TextViews::with_lexicons(t, shared.lexicons);
        if shared.repeated_scans {
            tv
        } else {
            tv.without_memo()
        }
    };
    let mut ctx = Ctx {
        scope: input.scope,
        views: [input.prompt.map(views), input.completion.map(views)],
        uses: shared.uses,
        detectors,
        cache: Cache::new(detectors.len() * 2 * MODES),
    };
    let mut hits: Vec<PolicyHit> = Vec::new();
    let mut shadow_hits: Vec<PolicyHit> = Vec::new();
    let mut styles: Vec<(Severity, RedactStyle)> = Vec::new();
    let mut block_message = None;
    // Whether every enforced policy of this evaluation is in fast mode (and there is one): then
    // the advisory score columns are not computed (see [`Scores`]). Shadow policies are left out,
    // so that adding one changes nothing of what the enforced policies report.
    let mut all_fast = true;
    let mut any_entry = false;
    for entry in entries {
        if !entry.shadow {
            any_entry = true;
            all_fast &= entry.mode == Mode::Fast;
        }
        let mut found = Vec::new();
        if !ctx.eval(&entry.expr, entry.mode, true, &mut found) {
            continue;
        }
        let mut findings = found;
        if findings.len() > 1 {
            dedup_spans_owned(&mut findings);
        }
        let top = findings.iter().max_by(|a, b| a.score.total_cmp(&b.score));
        let confidence = top.map_or(1.0, |f| f.score);
        let violation_type = top.map_or(ViolationType::PolicyBreach, |f| {
            violation_type_of(&f.detector)
        });
        let hit = PolicyHit {
            policy_id: entry.id,
            violation_type,
            severity: entry.severity,
            confidence: round4(confidence),
            action: entry.action,
            explanation: explain(entry.id, &findings),
            findings,
            scores: Scores::default(),
        };
        if entry.shadow {
            // Recorded for what it would have done; it redacts and blocks nothing.
            shadow_hits.push(hit);
            continue;
        }
        if entry.action == Action::Redact {
            styles.push((entry.severity, entry.config.redact));
        }
        if entry.action == Action::Block && block_message.is_none() {
            block_message = entry.config.block_message.clone();
        }
        hits.push(hit);
    }

    let (legal, controversial, code) = if any_entry && all_fast {
        (0.0, 0.0, 0.0)
    } else {
        topic_scores(&ctx.views)
    };
    let base_risk = legal.max(controversial);
    let hit_scores = |confidence: f64| Scores {
        legal_advice: round4(legal),
        controversial_topics: round4(controversial),
        code_prompt: round4(code),
        safe_prompt: round4(1.0 - base_risk.max(confidence)),
    };
    let mut max_conf: f64 = 0.0;
    for h in &mut hits {
        max_conf = max_conf.max(h.confidence);
        h.scores = hit_scores(h.confidence);
    }
    for h in &mut shadow_hits {
        h.scores = hit_scores(h.confidence);
    }
    let scores = Scores {
        legal_advice: round4(legal),
        controversial_topics: round4(controversial),
        code_prompt: round4(code),
        safe_prompt: round4(1.0 - base_risk.max(max_conf)),
    };

    let findings: Vec<Finding> = if detectors_disjoint(&hits) {
        // Each hit's findings are already without repeats, and findings of different
        // detectors are never the same span: nothing to remove.
        let mut all = Vec::with_capacity(hits.iter().map(|h| h.findings.len()).sum());
        for h in &hits {
            all.extend_from_slice(&h.findings);
        }
        all
    } else {
        dedup_spans(hits.iter().flat_map(|h| h.findings.iter()))
            .into_iter()
            .cloned()
            .collect()
    };
    // The strongest redacting policy picks the style.
    let style = styles
        .iter()
        .max_by_key(|(sev, _)| *sev)
        .map(|(_, s)| *s)
        .unwrap_or_default();
    let redacted = |target: Target, text: Option<&str>| -> Option<String> {
        let text = text?;
        let spans: Vec<Finding> = hits
            .iter()
            .filter(|h| h.action == Action::Redact)
            .flat_map(|h| h.findings.iter())
            .filter(|f| f.target == target)
            .cloned()
            .collect();
        (!spans.is_empty()).then(|| redact(text, &spans, style))
    };
    let evaluation = Evaluation {
        decision: hits
            .iter()
            .map(|h| Decision::from(h.action))
            .max()
            .unwrap_or(Decision::Allow),
        redacted_prompt: redacted(Target::Prompt, input.prompt),
        redacted_completion: redacted(Target::Completion, input.completion),
        hits,
        findings,
        scores,
        block_message,
    };
    (evaluation, shadow_hits)
}
