//! Evaluation: an event's texts and scope against the compiled policies.
//!
//! One [`PolicySet::evaluate`] call builds each text's views at most once, runs each distinct
//! detector (name + arguments + mode) at most once per text however many policies use it, and
//! evaluates every policy's expression over those cached results. `and` short-circuits; `or`
//! does not, so that every satisfied branch contributes its findings (a policy that redacts
//! `prompt has pii or completion has pii` must redact both texts).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ast::{ScopeField, ScopeOp, TargetSel};
use crate::compile::{CExpr, CompiledPolicy, compile};
use crate::detect::code::code_score;
use crate::detect::topics::Topic;
use crate::detect::{Detector, SharedLexicons, lexical_score, violation_type_of};
use crate::error::CompileError;
use crate::normalize::{Family, TextViews};
use crate::policy::{Action, Decision, Mode, PolicySpec, Severity, ViolationType};
use crate::redact::{InterventionConfig, RedactStyle, redact};

/// Which text a finding is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Prompt,
    Completion,
}

impl Target {
    pub const fn as_str(self) -> &'static str {
        match self {
            Target::Prompt => "prompt",
            Target::Completion => "completion",
        }
    }

    fn index(self) -> usize {
        match self {
            Target::Prompt => 0,
            Target::Completion => 1,
        }
    }
}

/// Who and what an event is about; matched by `scope.*` clauses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The calling application (an event's `source`).
    pub app: Option<String>,
    pub user: Option<String>,
    pub user_role: Option<String>,
    pub model: Option<String>,
    pub environment: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// The texts of one event.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub prompt: Option<&'a str>,
    pub completion: Option<&'a str>,
    pub scope: &'a Scope,
}

/// One detected span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `pii`, `data_leakage`, … or `contains` / `matches` for those clauses.
    pub detector: String,
    /// What was found: `email`, `aws_access_key`, `instruction_override`, `python`, …
    pub entity: String,
    pub target: Target,
    /// Byte span in the original text.
    pub start: usize,
    pub end: usize,
    /// The same span in Unicode scalar values.
    pub char_start: usize,
    pub char_end: usize,
    /// 0..1.
    pub score: f64,
    pub explanation: String,
}

impl Finding {
    /// Build a finding, computing the char span from the byte span in `text`.
    #[expect(
        clippy::too_many_arguments,
        reason = "a plain constructor mirroring the fields"
    )]
    pub fn new(
        detector: &str,
        entity: &str,
        target: Target,
        text: &str,
        start: usize,
        end: usize,
        score: f64,
        explanation: String,
    ) -> Self {
        let char_start = text.get(..start).map_or(0, |t| t.chars().count());
        let char_end = char_start + text.get(start..end).map_or(0, |t| t.chars().count());
        Finding {
            detector: detector.to_owned(),
            entity: entity.to_owned(),
            target,
            start,
            end,
            char_start,
            char_end,
            score,
            explanation,
        }
    }

    fn same_span(&self, other: &Finding) -> bool {
        self.detector == other.detector
            && self.entity == other.entity
            && self.target == other.target
            && self.start == other.start
            && self.end == other.end
    }
}

/// The violation's score columns.
///
/// `legal_advice`, `controversial_topics` and `code_prompt` are advisory: they come from one
/// lexicon pass over the whole of every text, whatever the policies ask for. They are computed
/// when at least one policy of the evaluation runs in `balanced` or `robust` mode. When every
/// policy of the evaluation is in `fast` mode (one prefilter pass and cheap validators, DESIGN.md
/// §5) that pass is skipped and the three columns stay `0.0`; `safe_prompt` is then
/// `1 - confidence` (`1 - max(confidence)` at evaluation level, `1.0` when nothing breached).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Scores {
    pub legal_advice: f64,
    pub controversial_topics: f64,
    pub code_prompt: f64,
    /// `1 - max(risk)`, where risk is the legal and controversial scores and the confidence of
    /// the breach (or of every breach, at evaluation level).
    pub safe_prompt: f64,
}

/// One breached policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyHit {
    pub policy_id: i64,
    pub violation_type: ViolationType,
    pub severity: Severity,
    /// The strongest finding's score, or 1.0 when the breach rests on exact clauses only.
    pub confidence: f64,
    pub action: Action,
    pub findings: Vec<Finding>,
    pub scores: Scores,
    pub explanation: String,
}

/// The outcome for one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The strongest action among the breached policies.
    pub decision: Decision,
    pub hits: Vec<PolicyHit>,
    /// Every hit's findings, without duplicates.
    pub findings: Vec<Finding>,
    /// Present when a redacting policy found something in that text.
    pub redacted_prompt: Option<String>,
    pub redacted_completion: Option<String>,
    pub scores: Scores,
    /// The message of the first blocking policy that configured one.
    pub block_message: Option<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    id: i64,
    severity: Severity,
    mode: Mode,
    action: Action,
    config: InterventionConfig,
    expr: CExpr,
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

    /// Ids of the policies in force, in the order given.
    pub fn policy_ids(&self) -> Vec<i64> {
        self.entries.iter().map(|e| e.id).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Evaluate every policy in the set.
    pub fn evaluate(&self, input: &Input<'_>) -> Evaluation {
        evaluate_entries(self.entries.iter(), &self.detectors, self.shared(), input)
    }

    fn shared(&self) -> Shared<'_> {
        Shared {
            lexicons: self.lexicons.as_deref(),
            uses: Some(&self.uses),
            repeated_scans: self.repeated_scans,
        }
    }

    /// Evaluate one policy of the set; `None` if it is not in the set.
    pub fn evaluate_one(&self, policy_id: i64, input: &Input<'_>) -> Option<Evaluation> {
        let entry = self.entries.iter().find(|e| e.id == policy_id)?;
        Some(evaluate_entries(
            std::iter::once(entry),
            &self.detectors,
            self.shared(),
            input,
        ))
    }
}

impl CompiledPolicy {
    /// Evaluate this policy with `spec`'s severity, mode, action and intervention config (its
    /// `definition` is ignored), whatever the policy's status: what `/test` runs.
    pub fn evaluate(&self, spec: &PolicySpec, input: &Input<'_>) -> Evaluation {
        let entry = Entry::new(spec, self.expr.clone());
        let shared = Shared {
            lexicons: None,
            uses: None,
            repeated_scans: true,
        };
        evaluate_entries(std::iter::once(&entry), &self.detectors, shared, input)
    }
}

/// Compile `spec.definition` and evaluate it alone, whatever its status.
pub fn evaluate_spec(
    spec: &PolicySpec,
    input: &Input<'_>,
) -> Result<Evaluation, Vec<CompileError>> {
    Ok(compile(&spec.definition)?.evaluate(spec, input))
}

const MODES: usize = 3;

fn mode_index(m: Mode) -> usize {
    match m {
        Mode::Fast => 0,
        Mode::Balanced => 1,
        Mode::Robust => 2,
    }
}

/// What a policy set shares with each of its evaluations.
#[derive(Clone, Copy)]
struct Shared<'s> {
    lexicons: Option<&'s SharedLexicons>,
    /// Per detector, how many text clauses read it (`None`: unknown).
    uses: Option<&'s [u32]>,
    repeated_scans: bool,
}

/// Count the text clauses reading each detector.
fn count_uses(expr: &CExpr, uses: &mut [u32]) {
    match expr {
        CExpr::Or(items) | CExpr::And(items) => items.iter().for_each(|i| count_uses(i, uses)),
        CExpr::Not(inner) => count_uses(inner, uses),
        CExpr::Text { detector, .. } => {
            if let Some(u) = uses.get_mut(*detector) {
                *u += 1;
            }
        }
        CExpr::Scope { .. } => {}
    }
}

struct Ctx<'i> {
    scope: &'i Scope,
    views: [Option<TextViews<'i>>; 2],
    detectors: &'i [Detector],
    cache: Vec<Option<Vec<Finding>>>,
    uses: Option<&'i [u32]>,
}

impl<'i> Ctx<'i> {
    fn findings(&mut self, detector: usize, target: Target, mode: Mode) -> &[Finding] {
        let slot = (detector * 2 + target.index()) * MODES + mode_index(mode);
        if self.cache.get(slot).is_some_and(Option::is_none) {
            let computed = match (&self.views[target.index()], self.detectors.get(detector)) {
                (Some(tv), Some(d)) => to_findings(d, target, tv, d.run(tv, mode)),
                _ => Vec::new(),
            };
            self.cache[slot] = Some(computed);
        }
        self.cache
            .get(slot)
            .and_then(Option::as_deref)
            .unwrap_or(&[])
    }

    /// Whether `expr` holds; when `collect`, push the findings that make it hold.
    fn eval(&mut self, expr: &CExpr, mode: Mode, collect: bool, out: &mut Vec<Finding>) -> bool {
        match expr {
            CExpr::Or(items) => {
                let mut any = false;
                for item in items {
                    if self.eval(item, mode, collect, out) {
                        any = true;
                        if !collect {
                            break;
                        }
                    }
                }
                any
            }
            CExpr::And(items) => {
                let mark = out.len();
                for item in items {
                    if !self.eval(item, mode, collect, out) {
                        out.truncate(mark);
                        return false;
                    }
                }
                true
            }
            CExpr::Not(inner) => !self.eval(inner, mode, false, out),
            CExpr::Text { target, detector } => {
                let targets: &[Target] = match target {
                    TargetSel::Prompt => &[Target::Prompt],
                    TargetSel::Completion => &[Target::Completion],
                    TargetSel::Any => &[Target::Prompt, Target::Completion],
                };
                // A detector read by this clause only hands its findings over instead of
                // copying them: no other clause will ask for them.
                let only_reader = self
                    .uses
                    .is_some_and(|u| u.get(*detector).is_some_and(|n| *n == 1));
                let mut found = false;
                for t in targets {
                    let f = self.findings(*detector, *t, mode);
                    if f.is_empty() {
                        continue;
                    }
                    found = true;
                    if !collect {
                        break;
                    }
                    if only_reader {
                        let slot = (*detector * 2 + t.index()) * MODES + mode_index(mode);
                        if let Some(Some(v)) = self.cache.get_mut(slot) {
                            if out.is_empty() {
                                // Same as `append`, without copying a long list.
                                std::mem::swap(out, v);
                            } else {
                                out.append(v);
                            }
                        }
                    } else {
                        out.extend_from_slice(f);
                    }
                }
                found
            }
            CExpr::Scope {
                field,
                op,
                negated,
                values,
            } => {
                let actual = match field {
                    ScopeField::App => self.scope.app.as_deref(),
                    ScopeField::User => self.scope.user.as_deref(),
                    ScopeField::UserRole => self.scope.user_role.as_deref(),
                    ScopeField::Model => self.scope.model.as_deref(),
                    ScopeField::Environment => self.scope.environment.as_deref(),
                    ScopeField::Metadata(key) => self
                        .scope
                        .metadata
                        .get(key)
                        .or_else(|| {
                            self.scope
                                .metadata
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                                .map(|(_, v)| v)
                        })
                        .map(String::as_str),
                };
                let candidates = match op {
                    ScopeOp::Is => values.get(..1).unwrap_or(&[]),
                    ScopeOp::In => values.as_slice(),
                };
                let hit = actual.is_some_and(|a| candidates.iter().any(|v| eq_folded(a, v)));
                hit != *negated
            }
        }
    }
}

/// Public findings from raw ones, with char spans computed in one pass over the text (the
/// text's bytes are its chars when it is ASCII).
fn to_findings(
    d: &Detector,
    target: Target,
    tv: &TextViews<'_>,
    raw: Vec<crate::detect::RawFinding>,
) -> Vec<Finding> {
    if raw.is_empty() {
        return Vec::new();
    }
    let text = tv.original;
    let ascii = tv.is_ascii();
    // Byte offset -> char offset, for every offset the findings use (non-ASCII text only).
    let mut offsets: Vec<(usize, usize)> = Vec::new();
    if !ascii {
        let mut bytes: Vec<usize> = raw
            .iter()
            .flat_map(|r| [r.start, r.end.max(r.start)])
            .collect();
        bytes.sort_unstable();
        bytes.dedup();
        let mut chars = 0;
        let mut at = 0;
        for b in bytes {
            // Same as counting the chars of `text[..b]`, which is empty when `b` is not a
            // boundary.
            let Some(seg) = text.get(at..b) else {
                offsets.push((b, usize::MAX));
                continue;
            };
            chars += seg.chars().count();
            at = b;
            offsets.push((b, chars));
        }
    }
    let char_at = |b: usize| -> Option<usize> {
        if ascii {
            return (b <= text.len()).then_some(b);
        }
        offsets
            .binary_search_by_key(&b, |o| o.0)
            .ok()
            .and_then(|i| offsets.get(i))
            .and_then(|o| (o.1 != usize::MAX).then_some(o.1))
    };
    raw.into_iter()
        .map(|r| {
            let char_start = char_at(r.start).unwrap_or(0);
            let char_end = char_start
                + match (char_at(r.start), char_at(r.end)) {
                    (Some(a), Some(b)) if b >= a => b - a,
                    _ => text.get(r.start..r.end).map_or(0, |t| t.chars().count()),
                };
            Finding {
                detector: d.name.clone(),
                entity: r.entity,
                target,
                start: r.start,
                end: r.end,
                char_start,
                char_end,
                score: r.score,
                explanation: r.explanation,
            }
        })
        .collect()
}

/// Which of `findings` to keep so that no span repeats: the first occurrence of each
/// (detector, entity, target, start, end). Few findings are compared pairwise; more are sorted
/// by span (integers first), so a long document's thousands of findings cost `n log n`
/// comparisons and no hashing.
fn first_of_each_span(findings: &[&Finding]) -> Vec<bool> {
    let n = findings.len();
    let mut keep = vec![true; n];
    if n <= 16 {
        for i in 1..n {
            keep[i] = !findings[..i].iter().any(|x| x.same_span(findings[i]));
        }
        return keep;
    }
    if spans_rise_per_kind(findings) {
        return keep;
    }
    // Sort plain integer keys (span, target, index); only findings with the same span and
    // target (a handful at most) are compared by detector and entity, lower index first. The
    // key is packed into one `u128` (offsets below 2^48, ordered as the tuple would be) when
    // the offsets allow, which sorts faster than the tuple.
    let packed = findings
        .iter()
        .all(|f| f.start < 1 << 48 && f.end < 1 << 48);
    if !packed || n >= 1 << 31 {
        let mut order: Vec<(usize, usize, usize, usize)> = findings
            .iter()
            .enumerate()
            .map(|(i, f)| (f.start, f.end, f.target.index(), i))
            .collect();
        order.sort_unstable();
        mark_repeats(findings, &order, |o| (o.0, o.1, o.2), |o| o.3, &mut keep);
        return keep;
    }
    let mut order: Vec<u128> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (f.start as u128) << 80
                | (f.end as u128) << 32
                | (f.target.index() as u128) << 31
                | i as u128
        })
        .collect();
    order.sort_unstable();
    mark_repeats(
        findings,
        &order,
        |o| *o >> 31,
        |o| (*o & 0x7FFF_FFFF) as usize,
        &mut keep,
    );
    keep
}

/// Whether, for each (detector, entity, target), the spans of `findings` rise strictly in list
/// order: then no span repeats (a repeat is the same span for the same three), and nothing
/// needs sorting. A detector's findings of one entity usually come in text order; with more
/// than a few kinds, or any span that does not rise, the answer is `false` and the caller
/// sorts.
fn spans_rise_per_kind(findings: &[&Finding]) -> bool {
    let mut last: Vec<(&Finding, (usize, usize))> = Vec::new();
    // The kind of the previous finding, tried first: findings of a kind come in runs.
    let mut recent = 0;
    for f in findings {
        let span = (f.start, f.end);
        let same =
            |k: &Finding| k.target == f.target && k.detector == f.detector && k.entity == f.entity;
        let kind = if last.get(recent).is_some_and(|(k, _)| same(k)) {
            Some(recent)
        } else {
            last.iter().position(|(k, _)| same(k))
        };
        recent = kind.unwrap_or(last.len());
        match kind {
            Some(k) if last[k].1 < span => last[k].1 = span,
            Some(_) => return false,
            None if last.len() < 32 => last.push((f, span)),
            None => return false,
        }
    }
    true
}

/// In `order` (sorted by span, target, then index), clear `keep` for every finding whose
/// detector and entity an earlier one of the same span and target already has.
fn mark_repeats<T, K: PartialEq>(
    findings: &[&Finding],
    order: &[T],
    key: impl Fn(&T) -> K,
    index: impl Fn(&T) -> usize,
    keep: &mut [bool],
) {
    let mut g = 0;
    while g < order.len() {
        let k = key(&order[g]);
        let mut h = g + 1;
        while h < order.len() && key(&order[h]) == k {
            h += 1;
        }
        for j in g + 1..h {
            let fj = findings[index(&order[j])];
            if order[g..j].iter().any(|o| findings[index(o)].same_span(fj)) {
                keep[index(&order[j])] = false;
            }
        }
        g = h;
    }
}

/// Whether no detector has findings in two of `hits` (each hit's own findings are already
/// without repeated spans, see `evaluate_entries`). A hit's detectors are a handful, listed by
/// walking its findings and comparing each name with the last one seen.
fn detectors_disjoint(hits: &[PolicyHit]) -> bool {
    let mut seen: Vec<(usize, &str)> = Vec::new();
    for (h, hit) in hits.iter().enumerate() {
        let mut last: Option<&str> = None;
        for f in &hit.findings {
            let name = f.detector.as_str();
            if last == Some(name) {
                continue;
            }
            last = Some(name);
            match seen.iter().find(|(_, d)| *d == name) {
                Some((other, _)) if *other != h => return false,
                Some(_) => {}
                None => seen.push((h, name)),
            }
        }
    }
    true
}

/// `findings` without repeated spans, first occurrence kept.
fn dedup_spans<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Vec<&'f Finding> {
    let all: Vec<&Finding> = findings.into_iter().collect();
    let keep = first_of_each_span(&all);
    all.into_iter()
        .zip(keep)
        .filter_map(|(f, k)| k.then_some(f))
        .collect()
}

/// `findings` without repeated spans, first occurrence kept, in place.
fn dedup_spans_owned(findings: &mut Vec<Finding>) {
    let keep = first_of_each_span(&findings.iter().collect::<Vec<_>>());
    let mut k = keep.into_iter();
    findings.retain(|_| k.next().unwrap_or(true));
}

/// `a` equals the already-lowercased `lower`, ignoring case.
fn eq_folded(a: &str, lower: &str) -> bool {
    if a.is_ascii() {
        a.eq_ignore_ascii_case(lower)
    } else {
        a.chars().flat_map(char::to_lowercase).eq(lower.chars())
    }
}

/// The lexicons of the score columns: legal, controversial, code (in that order).
fn topic_lexicons() -> &'static [&'static crate::detect::lexicon::LazyLexicon; 3] {
    static L: [&crate::detect::lexicon::LazyLexicon; 3] = [
        &crate::detect::topics::LEGAL,
        &crate::detect::topics::CONTROVERSIAL,
        &crate::detect::code::CODE,
    ];
    &L
}

fn topic_scores(views: &[Option<TextViews<'_>>; 2]) -> (f64, f64, f64) {
    use crate::detect::lexicon::Combined;
    use crate::normalize::ViewKind;
    // Legal, controversial and code lexicons scan the same views in balanced mode: one pass of
    // a combined automaton per view instead of three.
    static TOPICS: std::sync::OnceLock<Combined> = std::sync::OnceLock::new();
    let lexical: Vec<Vec<_>> = views
        .iter()
        .flatten()
        .map(|tv| tv.views(Mode::Balanced, Family::Lexical))
        .collect();
    let same_views = views.iter().flatten().zip(&lexical).all(|(tv, l)| {
        let code: Vec<ViewKind> = tv
            .views(Mode::Balanced, Family::Pattern)
            .iter()
            .map(|v| v.kind)
            .filter(|k| *k != ViewKind::Decoded)
            .collect();
        l.iter().map(|v| v.kind).eq(code)
    });
    if same_views {
        let topics = TOPICS.get_or_init(|| Combined::new(topic_lexicons()));
        let mut legal: f64 = 0.0;
        let mut controversial: f64 = 0.0;
        let mut code = None;
        for (tv, l) in views.iter().flatten().zip(&lexical) {
            // The detectors' shared pass may already hold these views' hits (all-match sets);
            // otherwise one pass of the three score lexicons.
            let cached = topic_lexicons()
                .iter()
                .map(|lex| tv.cached_hits(lex, l))
                .collect::<Option<Vec<_>>>();
            let out = match cached {
                Some(hits) => hits,
                None => {
                    let mut out = vec![Vec::new(), Vec::new(), Vec::new()];
                    topics.scan(l, &mut out);
                    out
                }
            };
            legal = legal.max(crate::detect::lexicon::combine(&out[0]));
            controversial = controversial.max(crate::detect::lexicon::combine(&out[1]));
            if code.is_none() {
                code = Some(
                    crate::detect::code::language_scores(&out[2])
                        .first()
                        .map_or(0.0, |l| l.1),
                );
            }
        }
        return (legal, controversial, code.unwrap_or(0.0));
    }
    let mut legal: f64 = 0.0;
    let mut controversial: f64 = 0.0;
    for tv in views.iter().flatten() {
        legal = legal.max(lexical_score(
            Topic::Legal.lexicon(),
            tv,
            Mode::Balanced,
            Family::Lexical,
        ));
        controversial = controversial.max(lexical_score(
            Topic::Controversial.lexicon(),
            tv,
            Mode::Balanced,
            Family::Lexical,
        ));
    }
    let code = views[0]
        .as_ref()
        .or(views[1].as_ref())
        .map_or(0.0, |tv| code_score(tv, Mode::Balanced));
    (legal, controversial, code)
}

fn explain(id: i64, findings: &[Finding]) -> String {
    if findings.is_empty() {
        return format!("policy {id}: conditions met");
    }
    let mut parts: Vec<String> = Vec::new();
    for f in findings.iter().take(3) {
        parts.push(format!(
            "{} found {} in the {} ({:.2})",
            f.detector,
            f.entity,
            f.target.as_str(),
            f.score
        ));
    }
    if findings.len() > 3 {
        parts.push(format!("and {} more", findings.len() - 3));
    }
    format!("policy {id}: {}", parts.join("; "))
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn evaluate_entries<'e>(
    entries: impl Iterator<Item = &'e Entry>,
    detectors: &[Detector],
    shared: Shared<'_>,
    input: &Input<'_>,
) -> Evaluation {
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
        cache: vec![None; detectors.len() * 2 * MODES],
    };
    let mut hits: Vec<PolicyHit> = Vec::new();
    let mut styles: Vec<(Severity, RedactStyle)> = Vec::new();
    let mut block_message = None;
    // Whether every policy of this evaluation is in fast mode (and there is one): then the
    // advisory score columns are not computed (see [`Scores`]).
    let mut all_fast = true;
    let mut any_entry = false;
    for entry in entries {
        any_entry = true;
        all_fast &= entry.mode == Mode::Fast;
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
        if entry.action == Action::Redact {
            styles.push((entry.severity, entry.config.redact));
        }
        if entry.action == Action::Block && block_message.is_none() {
            block_message = entry.config.block_message.clone();
        }
        hits.push(PolicyHit {
            policy_id: entry.id,
            violation_type,
            severity: entry.severity,
            confidence: round4(confidence),
            action: entry.action,
            explanation: explain(entry.id, &findings),
            findings,
            scores: Scores::default(),
        });
    }

    let (legal, controversial, code) = if any_entry && all_fast {
        (0.0, 0.0, 0.0)
    } else {
        topic_scores(&ctx.views)
    };
    let base_risk = legal.max(controversial);
    let mut max_conf: f64 = 0.0;
    for h in &mut hits {
        max_conf = max_conf.max(h.confidence);
        h.scores = Scores {
            legal_advice: round4(legal),
            controversial_topics: round4(controversial),
            code_prompt: round4(code),
            safe_prompt: round4(1.0 - base_risk.max(h.confidence)),
        };
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
    Evaluation {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(detector: &str, entity: &str, target: Target, start: usize, end: usize) -> Finding {
        Finding {
            detector: detector.to_owned(),
            entity: entity.to_owned(),
            target,
            start,
            end,
            char_start: start,
            char_end: end,
            score: 0.5,
            explanation: format!("{start}"),
        }
    }

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
    fn dedup_keeps_the_first_of_each_span_in_order() {
        // Enough findings for the sorting path, with repeats of every kind of key.
        let mut all = Vec::new();
        for i in 0..60usize {
            let target = if i % 3 == 0 {
                Target::Prompt
            } else {
                Target::Completion
            };
            let detector = ["pii", "secrets"][i % 2];
            let entity = ["email", "phone", "email"][i % 3];
            all.push(finding(detector, entity, target, i % 7, i % 7 + i % 5));
        }
        let naive: Vec<&Finding> = all
            .iter()
            .enumerate()
            .filter(|(i, f)| !all[..*i].iter().any(|x| x.same_span(f)))
            .map(|(_, f)| f)
            .collect();
        assert_eq!(dedup_spans(&all), naive);
        assert_eq!(dedup_spans(&all[..10]), {
            let small: Vec<&Finding> = all[..10]
                .iter()
                .enumerate()
                .filter(|(i, f)| !all[..*i].iter().any(|x| x.same_span(f)))
                .map(|(_, f)| f)
                .collect();
            small
        });
        let mut owned = all.clone();
        dedup_spans_owned(&mut owned);
        assert_eq!(owned.iter().collect::<Vec<_>>(), naive);
    }

    #[test]
    fn dedup_of_rising_spans_keeps_all_and_still_finds_a_late_repeat() {
        let naive = |all: &[Finding]| -> Vec<Finding> {
            all.iter()
                .enumerate()
                .filter(|(i, f)| !all[..*i].iter().any(|x| x.same_span(f)))
                .map(|(_, f)| f.clone())
                .collect()
        };
        // Interleaved kinds, each with rising spans (some spans shared across kinds).
        let mut all = Vec::new();
        for i in 0..80usize {
            let target = [Target::Prompt, Target::Completion][i % 2];
            let entity = ["email", "phone", "card"][i % 3];
            all.push(finding("pii", entity, target, i / 3, i / 3 + 1 + i % 2));
        }
        assert!(spans_rise_per_kind(&all.iter().collect::<Vec<_>>()));
        let kept: Vec<Finding> = dedup_spans(&all).into_iter().cloned().collect();
        assert_eq!(kept, naive(&all));
        assert_eq!(kept.len(), all.len());
        // A repeat, or a span that falls back, sends it to the sort.
        for extra in [
            all[5].clone(),
            finding("pii", "email", Target::Prompt, 0, 1),
        ] {
            let mut more = all.clone();
            more.push(extra);
            assert!(!spans_rise_per_kind(&more.iter().collect::<Vec<_>>()));
            let kept: Vec<Finding> = dedup_spans(&more).into_iter().cloned().collect();
            assert_eq!(kept, naive(&more));
            let mut owned = more.clone();
            dedup_spans_owned(&mut owned);
            assert_eq!(owned, naive(&more));
        }
    }

    #[test]
    fn findings_of_hits_with_disjoint_detectors_have_no_repeats() {
        let hit = |findings: Vec<Finding>| {
            let mut findings = findings;
            dedup_spans_owned(&mut findings);
            PolicyHit {
                policy_id: 1,
                violation_type: ViolationType::DataLeak,
                severity: Severity::Medium,
                confidence: 0.5,
                action: Action::Notification,
                findings,
                scores: Scores::default(),
                explanation: String::new(),
            }
        };
        let many = |detector: &str, k: usize| -> Vec<Finding> {
            (0..40)
                .map(|i| {
                    let target = [Target::Prompt, Target::Completion][(i + k) % 2];
                    finding(
                        detector,
                        ["email", "phone"][i % 2],
                        target,
                        i % 6,
                        i % 6 + 2,
                    )
                })
                .collect()
        };
        let naive = |hits: &[PolicyHit]| -> usize {
            let all: Vec<&Finding> = hits.iter().flat_map(|h| h.findings.iter()).collect();
            dedup_spans(all.iter().copied()).len()
        };
        let disjoint = [
            hit(many("pii", 0)),
            hit(many("secrets", 1)),
            hit(many("code", 0)),
        ];
        assert!(detectors_disjoint(&disjoint));
        let flat = disjoint.iter().map(|h| h.findings.len()).sum::<usize>();
        assert_eq!(naive(&disjoint), flat);
        let mut mixed = many("pii", 0);
        mixed.extend(many("secrets", 0));
        let shared = [hit(many("pii", 0)), hit(mixed)];
        assert!(!detectors_disjoint(&shared));
        assert!(naive(&shared) < shared.iter().map(|h| h.findings.len()).sum::<usize>());
    }
}
