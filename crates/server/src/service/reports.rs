//! Compliance and usage reports: one plain-data model per report ([`ComplianceReport`],
//! [`UsageReport`]), built here from the store's aggregates; the JSON answer, the CSV tables
//! ([`csv`]), the PDF ([`pdf`]) and the CLI's evidence bundle are renderings of it.

pub mod csv;
pub mod frameworks;
pub mod pdf;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use sentinel_api::page::PageParams;
use sentinel_api::report::{
    ComplianceReport, ControlCoverage, ControlStatus, Coverage, DurationStats, EvidenceCheck,
    FalsePositiveRow, FrameworkRef, Incidents, Oversight, Period, PolicyRef, Retention,
    ReviewerActivity, TrendRow, TriagePerformance, UsageGroup, UsageReport, UsageRow,
};
use sentinel_api::{Enforcement, PolicyStatus, Timestamp};
use sentinel_store::reports::{UsageKey, ViolationGroup};
use sentinel_store::{PolicyRecord, Store, TemplateRecord};

use self::frameworks::{Control, Evidence, Framework};
use crate::service::{ServiceError, ServiceResult};
use crate::settings::Settings;

/// Six months, as the longest six consecutive calendar months (July to December): a retention
/// of 184 days keeps every log at least six months whatever the month.
pub const SIX_MONTHS_DAYS: u32 = 184;

/// The period of a report when none is given: the 30 days before `until`.
const DEFAULT_DAYS: i64 = 30;

/// The audit actions that are triage.
const TRIAGE_ACTIONS: [&str; 2] = ["violation.update", "event.update"];

/// The label of a missing application, model or user.
const NONE: &str = "(none)";

/// The period `[since, until)`: `until` defaults to `now`, `since` to 30 days before `until`;
/// `since` must come before `until`.
pub fn period(
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    now: DateTime<Utc>,
) -> ServiceResult<Period> {
    let until = until.map_or(now, |t| t.0);
    let since = since.map_or(until - Duration::days(DEFAULT_DAYS), |t| t.0);
    if since >= until {
        return Err(ServiceError::invalid(
            &["query", "since"],
            format!(
                "since ({}) must be before until ({})",
                Timestamp(since),
                Timestamp(until)
            ),
            "value_error",
        ));
    }
    Ok(Period {
        since: Timestamp(since),
        until: Timestamp(until),
    })
}

/// The period of equal length that ends where `p` starts.
pub fn previous(p: Period) -> Period {
    let len = p.until.0 - p.since.0;
    Period {
        since: Timestamp(p.since.0 - len),
        until: p.since,
    }
}

/// The framework `id` (default [`frameworks::DEFAULT_FRAMEWORK`]), or a 422 naming the known ones.
pub fn framework(settings: &Settings, id: Option<&str>) -> ServiceResult<Framework> {
    let id = id.unwrap_or(frameworks::DEFAULT_FRAMEWORK);
    frameworks::find(&settings.reports.frameworks, id).ok_or_else(|| {
        let known: Vec<String> = frameworks::frameworks(&settings.reports.frameworks)
            .into_iter()
            .map(|f| f.id)
            .collect();
        ServiceError::invalid(
            &["query", "framework"],
            format!(
                "unknown framework `{id}`; known frameworks: {}",
                known.join(", ")
            ),
            "enum",
        )
    })
}

/// Percentage change from `previous` to `count`, one decimal; `None` when `previous` is 0.
fn change_pct(count: u64, previous: u64) -> Option<f64> {
    (previous > 0)
        .then(|| ((count as f64 - previous as f64) / previous as f64 * 1000.0).round() / 10.0)
}

/// Nearest-rank percentile (`q` in 0..=1) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn duration_stats(mut seconds: Vec<f64>) -> DurationStats {
    seconds.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    DurationStats {
        count: seconds.len() as u64,
        median_seconds: percentile(&seconds, 0.5).map(round),
        p90_seconds: percentile(&seconds, 0.9).map(round),
    }
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_milliseconds().max(0)) as f64 / 1000.0
}

fn trend(current: &BTreeMap<String, u64>, previous: &BTreeMap<String, u64>) -> Vec<TrendRow> {
    let keys: BTreeSet<&String> = current.keys().chain(previous.keys()).collect();
    let mut rows: Vec<TrendRow> = keys
        .into_iter()
        .map(|k| {
            let count = current.get(k).copied().unwrap_or(0);
            let prev = previous.get(k).copied().unwrap_or(0);
            TrendRow {
                key: k.clone(),
                count,
                previous: prev,
                change_pct: change_pct(count, prev),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    rows
}

/// Enforced (non-shadow) violation counts keyed by `key`.
fn tally(
    groups: &[ViolationGroup],
    key: impl Fn(&ViolationGroup) -> String,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for g in groups.iter().filter(|g| !g.shadow) {
        *out.entry(key(g)).or_default() += u64::try_from(g.n).unwrap_or(0);
    }
    out
}

/// What the coverage section knows about a policy.
struct PolicyFacts<'a> {
    record: &'a PolicyRecord,
    detectors: Vec<String>,
    templates: Vec<&'a TemplateRecord>,
}

fn policy_facts<'a>(
    policies: &'a [PolicyRecord],
    templates: &'a [TemplateRecord],
) -> Vec<PolicyFacts<'a>> {
    policies
        .iter()
        .map(|p| {
            let definition = p.definition.trim();
            let from = |t: &TemplateRecord| {
                let code = t.template_code.trim();
                t.name == p.name
                    || definition == code
                    // `scoped_to_apps` wraps a template's definition.
                    || definition.starts_with(&format!("({code}) and scope.app in"))
            };
            PolicyFacts {
                record: p,
                detectors: sentinel_engine::validate(definition).detectors,
                templates: templates.iter().filter(|t| from(t)).collect(),
            }
        })
        .collect()
}

fn addresses(control: &Control, p: &PolicyFacts<'_>) -> bool {
    let by_name = control.policies.contains(&p.record.name);
    let by_detector = control
        .detectors
        .iter()
        .any(|d| d == "*" || p.detectors.contains(d));
    let by_template = p
        .templates
        .iter()
        .any(|t| control.templates.contains(&t.name) || t.owasp_llm.contains(&control.id));
    let acts = control.interventions.is_empty()
        || control
            .interventions
            .iter()
            .any(|i| i == p.record.intervention_type.as_str());
    (by_name || by_detector || by_template) && acts
}

/// The facts the evidence checks read, gathered once per report.
struct EvidenceFacts {
    events: u64,
    integrity_intact: bool,
    integrity_reason: Option<String>,
    violations: u64,
    triage_actions: u64,
    triaged_outcomes: u64,
    retention: Retention,
    sources: Vec<String>,
    enforced_policies: usize,
}

fn check(kind: Evidence, f: &EvidenceFacts) -> EvidenceCheck {
    let (passed, detail) = match kind {
        Evidence::EventLog => (
            f.events > 0,
            format!("{} events recorded in the period", f.events),
        ),
        Evidence::AuditIntegrity => (
            f.integrity_intact,
            if f.integrity_intact {
                "the audit hash chain verifies".to_owned()
            } else {
                format!(
                    "the audit hash chain is broken: {}",
                    f.integrity_reason.as_deref().unwrap_or("unknown reason")
                )
            },
        ),
        Evidence::HumanOversight => (
            f.violations == 0 || f.triage_actions > 0,
            format!(
                "{} triage changes by people for {} violations in the period",
                f.triage_actions, f.violations
            ),
        ),
        Evidence::TriageMetrics => (
            f.triaged_outcomes > 0,
            format!(
                "{} violations closed as resolved or false positive measure the guard's accuracy",
                f.triaged_outcomes
            ),
        ),
        Evidence::Retention => (
            f.retention.compliant,
            f.retention
                .warning
                .clone()
                .unwrap_or_else(|| match f.retention.retention_days {
                    Some(d) => format!("events are kept {d} days (at least {SIX_MONTHS_DAYS})"),
                    None => "events are kept until deleted by hand (no retention_days)".to_owned(),
                }),
        ),
        Evidence::Inventory => (
            !f.sources.is_empty(),
            format!("applications with recorded events: {}", f.sources.len()),
        ),
        Evidence::PoliciesDefined => (
            f.enforced_policies > 0,
            format!("{} policies enforced", f.enforced_policies),
        ),
    };
    EvidenceCheck {
        kind: kind.as_str().to_owned(),
        passed,
        detail,
    }
}

fn coverage(
    framework: &Framework,
    facts: &[PolicyFacts<'_>],
    templates: &[TemplateRecord],
    evidence: &EvidenceFacts,
) -> Coverage {
    let active = |e: Enforcement| {
        facts
            .iter()
            .filter(move |p| p.record.status == PolicyStatus::Open && p.record.enforcement == e)
    };
    let mut controls = Vec::with_capacity(framework.controls.len());
    for control in &framework.controls {
        let refs = |e| {
            active(e)
                .filter(|p| addresses(control, p))
                .map(|p| PolicyRef {
                    id: p.record.id,
                    name: p.record.name.clone(),
                })
                .collect::<Vec<_>>()
        };
        let enforced = refs(Enforcement::Enforce);
        let shadow = refs(Enforcement::Shadow);
        let addressable = control.policy_addressable(|id| {
            templates
                .iter()
                .any(|t| t.owasp_llm.iter().any(|o| o == id))
        });
        let checks: Vec<EvidenceCheck> = control
            .evidence
            .iter()
            .map(|k| check(*k, evidence))
            .collect();
        let evidence_ok = checks.iter().all(|c| c.passed);
        // Nothing can address it, or its evidence fails: a gap.
        let status = if (!addressable && checks.is_empty()) || !evidence_ok {
            ControlStatus::Gap
        } else if !addressable || !enforced.is_empty() {
            ControlStatus::Covered
        } else if !shadow.is_empty() {
            ControlStatus::ShadowOnly
        } else {
            ControlStatus::Gap
        };
        controls.push(ControlCoverage {
            id: control.id.clone(),
            title: control.title.clone(),
            status,
            enforced_policies: enforced,
            shadow_policies: shadow,
            evidence: checks,
            note: control.note.clone(),
        });
    }
    let covered = controls
        .iter()
        .filter(|c| c.status == ControlStatus::Covered)
        .count() as u64;
    let gaps = controls
        .iter()
        .filter(|c| c.status != ControlStatus::Covered)
        .map(|c| c.id.clone())
        .collect();
    Coverage {
        controls,
        covered,
        gaps,
    }
}

fn retention(settings: &Settings, oldest: Option<DateTime<Utc>>) -> Retention {
    let days = settings.retention_days;
    let compliant = days.is_none_or(|d| d >= SIX_MONTHS_DAYS);
    Retention {
        retention_days: days,
        required_days: SIX_MONTHS_DAYS,
        compliant,
        warning: (!compliant).then(|| {
            format!(
                "retention_days = {} deletes logs before six months: the EU AI Act (Art. 19 and \
                 26(6)) asks deployers to keep them at least six months; set it to {SIX_MONTHS_DAYS} \
                 or more, or unset it",
                days.unwrap_or(0)
            )
        }),
        oldest_event: oldest.map(Timestamp),
    }
}

fn false_positive_row(key: String, name: String, c: &StatusCounts) -> FalsePositiveRow {
    let triaged = c.resolved + c.false_positives;
    FalsePositiveRow {
        key,
        name,
        violations: c.total,
        triaged,
        false_positives: c.false_positives,
        false_positive_rate: (triaged > 0)
            .then(|| (c.false_positives as f64 / triaged as f64 * 10_000.0).round() / 10_000.0),
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct StatusCounts {
    total: u64,
    resolved: u64,
    false_positives: u64,
}

impl StatusCounts {
    fn add(&mut self, status: &str, n: u64) {
        self.total += n;
        match status {
            "resolved" => self.resolved += n,
            "false_positive" => self.false_positives += n,
            _ => {}
        }
    }

    fn merge(&mut self, other: &StatusCounts) {
        self.total += other.total;
        self.resolved += other.resolved;
        self.false_positives += other.false_positives;
    }
}

/// The compliance report a request asks for: the framework by id (default OWASP LLM 2025) and
/// the period, both checked (422 naming the parameter), then [`compliance`].
pub async fn compliance_report(
    store: &Store,
    settings: &Settings,
    framework_id: Option<&str>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> ServiceResult<ComplianceReport> {
    let framework = framework(settings, framework_id)?;
    let period = period(since, until, Utc::now())?;
    compliance(store, settings, &framework, period).await
}

/// The report as a PDF ([`pdf::compliance_pdf`]), laid out and subset on a blocking thread:
/// a long report takes tens of milliseconds of CPU.
pub async fn compliance_pdf(report: ComplianceReport) -> ServiceResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || pdf::compliance_pdf(&report))
        .await
        .map_err(|e| ServiceError::Internal(format!("the PDF worker stopped: {e}")))?
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The usage report a request asks for, priced with the gateway's table.
pub async fn usage_report(
    state: &crate::AppState,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    group: UsageGroup,
) -> ServiceResult<UsageReport> {
    let period = period(since, until, Utc::now())?;
    usage(&state.store, period, group, |model, input, output| {
        state.gateway.cost(model, input, output)
    })
    .await
}

/// Builds the compliance report of `framework` over `period`.
pub async fn compliance(
    store: &Store,
    settings: &Settings,
    framework: &Framework,
    period: Period,
) -> ServiceResult<ComplianceReport> {
    let generated_at = Timestamp::now();
    let prev = previous(period);
    let (since, until) = (period.since.0, period.until.0);
    let policies = store.all_policies().await?;
    let templates = store
        .list_templates(PageParams {
            skip: 0,
            limit: 1000,
        })
        .await?
        .items;
    let groups = store.violation_groups(since, until).await?;
    let prev_groups = store.violation_groups(prev.since.0, prev.until.0).await?;
    let events = store.events_between(since, until).await?;
    let prev_events = store.events_between(prev.since.0, prev.until.0).await?;
    let triaged = store.triaged_violations(since, until).await?;
    let audit = store
        .audit_between(since, until, Some(&TRIAGE_ACTIONS))
        .await?;
    let integrity = store.verify_audit().await?;
    let oldest = store.oldest_event().await?;
    let sources = store.known_sources().await?;

    // Incidents.
    let n = |g: &ViolationGroup| u64::try_from(g.n).unwrap_or(0);
    let total: u64 = groups.iter().filter(|g| !g.shadow).map(n).sum();
    let previous_total: u64 = prev_groups.iter().filter(|g| !g.shadow).map(n).sum();
    let shadow_hits: u64 = groups.iter().filter(|g| g.shadow).map(n).sum();
    let by =
        |f: &dyn Fn(&ViolationGroup) -> String| trend(&tally(&groups, f), &tally(&prev_groups, f));
    let incidents = Incidents {
        total,
        previous_total,
        change_pct: change_pct(total, previous_total),
        events,
        previous_events: prev_events,
        shadow_hits,
        by_category: by(&|g| g.violation_type.clone()),
        by_severity: by(&|g| g.severity.clone()),
        by_app: by(&|g| g.source.clone().unwrap_or_else(|| NONE.to_owned())),
        by_model: by(&|g| g.model_name.clone().unwrap_or_else(|| NONE.to_owned())),
    };

    // Triage performance.
    let mut per_status: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_policy: BTreeMap<i64, StatusCounts> = BTreeMap::new();
    for g in groups.iter().filter(|g| !g.shadow) {
        *per_status.entry(g.status.as_str()).or_default() += n(g);
        per_policy
            .entry(g.policy_id)
            .or_default()
            .add(&g.status, n(g));
    }
    let status = |s: &str| per_status.get(s).copied().unwrap_or(0);
    let facts = policy_facts(&policies, &templates);
    let name_of = |id: i64| {
        policies
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("(deleted policy {id})"), |p| p.name.clone())
    };
    let mut per_detector: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for (policy_id, counts) in &per_policy {
        if let Some(p) = facts.iter().find(|f| f.record.id == *policy_id) {
            for d in &p.detectors {
                per_detector.entry(d.clone()).or_default().merge(counts);
            }
        }
    }
    let mut ack = Vec::new();
    let mut resolve = Vec::new();
    for t in &triaged {
        if let Some(at) = t.acknowledged_date {
            ack.push(seconds_between(t.created_at, at));
        }
        if matches!(t.status.as_str(), "resolved" | "false_positive")
            && let Some(at) = t.updated_at
        {
            resolve.push(seconds_between(t.created_at, at));
        }
    }
    let triage = TriagePerformance {
        violations: total,
        open: status("detected") + status("investigating"),
        acknowledged: status("acknowledged"),
        resolved: status("resolved"),
        false_positives: status("false_positive"),
        time_to_acknowledge: duration_stats(ack),
        time_to_resolve: duration_stats(resolve),
        by_policy: per_policy
            .iter()
            .map(|(id, c)| false_positive_row(id.to_string(), name_of(*id), c))
            .collect(),
        by_detector: per_detector
            .iter()
            .map(|(d, c)| false_positive_row(d.clone(), format!("sentinelai.{d}"), c))
            .collect(),
    };

    // Human oversight, from the audit trail.
    let violation_ids: Vec<i64> = audit
        .iter()
        .filter(|e| e.target_type == "violation")
        .filter_map(|e| e.target_id.as_deref()?.parse().ok())
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .collect();
    let created: HashMap<i64, DateTime<Utc>> = store.violation_created(&violation_ids).await?;
    let mut reviewers: BTreeMap<String, (ReviewerActivity, Vec<f64>)> = BTreeMap::new();
    for e in &audit {
        let (r, times) = reviewers.entry(e.actor.clone()).or_insert_with(|| {
            (
                ReviewerActivity {
                    actor: e.actor.clone(),
                    actions: 0,
                    violations: 0,
                    events: 0,
                    acknowledged: 0,
                    resolved: 0,
                    false_positives: 0,
                    median_response_seconds: None,
                },
                Vec::new(),
            )
        });
        r.actions += 1;
        let after = e
            .after
            .as_ref()
            .and_then(|a| a.get("status"))
            .and_then(|s| s.as_str());
        let before = e
            .before
            .as_ref()
            .and_then(|a| a.get("status"))
            .and_then(|s| s.as_str());
        if after != before {
            match after {
                Some("acknowledged") => r.acknowledged += 1,
                Some("resolved") => r.resolved += 1,
                Some("false_positive") => r.false_positives += 1,
                _ => {}
            }
        }
        if e.target_type == "violation" {
            r.violations += 1;
            let at = e
                .target_id
                .as_deref()
                .and_then(|id| id.parse::<i64>().ok())
                .and_then(|id| created.get(&id));
            if let Some(at) = at {
                times.push(seconds_between(*at, e.created_at.0));
            }
        } else {
            r.events += 1;
        }
    }
    let reviewers: Vec<ReviewerActivity> = reviewers
        .into_values()
        .map(|(mut r, times)| {
            r.median_response_seconds = duration_stats(times).median_seconds;
            r
        })
        .collect();
    let oversight = Oversight {
        actions: audit.len() as u64,
        reviewers,
        violations_with_reviewer: groups
            .iter()
            .filter(|g| !g.shadow && g.reviewed != 0)
            .map(n)
            .sum(),
        violations: total,
    };

    let retention = retention(settings, oldest);
    let evidence = EvidenceFacts {
        events,
        integrity_intact: integrity.intact,
        integrity_reason: integrity.reason.clone(),
        violations: total,
        triage_actions: oversight.actions,
        triaged_outcomes: triage.resolved + triage.false_positives,
        retention: retention.clone(),
        sources,
        enforced_policies: facts
            .iter()
            .filter(|p| {
                p.record.status == PolicyStatus::Open
                    && p.record.enforcement == Enforcement::Enforce
            })
            .count(),
    };
    Ok(ComplianceReport {
        framework: FrameworkRef {
            id: framework.id.clone(),
            name: framework.name.clone(),
            edition: framework.edition.clone(),
        },
        period,
        previous_period: prev,
        generated_at,
        coverage: coverage(framework, &facts, &templates, &evidence),
        incidents,
        triage,
        oversight,
        retention,
        integrity,
    })
}

/// Builds the usage report over `period`, grouped by `group`; `cost` prices a model's tokens
/// (the gateway's table), `None` for a model it does not know.
pub async fn usage(
    store: &Store,
    period: Period,
    group: UsageGroup,
    cost: impl Fn(&str, i64, i64) -> Option<f64>,
) -> ServiceResult<UsageReport> {
    let key = match group {
        UsageGroup::App => UsageKey::App,
        UsageGroup::Model => UsageKey::Model,
        UsageGroup::User => UsageKey::User,
        UsageGroup::Day => UsageKey::Day,
    };
    let rows = store
        .usage_groups(period.since.0, period.until.0, key)
        .await?;
    let guard_cost_per_event: f64 = store
        .all_policies()
        .await?
        .iter()
        .filter(|p| p.status == PolicyStatus::Open && p.enforcement == Enforcement::Enforce)
        .map(|p| p.estimated_cost_per_event)
        .sum();
    // The mean cost of an event of each model that was not blocked (over the whole period).
    let mut per_model: HashMap<Option<&str>, (f64, u64)> = HashMap::new();
    for r in rows.iter().filter(|r| r.blocked == 0) {
        if let Some(c) = r.model_name.as_deref().and_then(|m| {
            cost(
                m,
                r.request_tokens.unwrap_or(0),
                r.response_tokens.unwrap_or(0),
            )
        }) {
            let e = per_model.entry(r.model_name.as_deref()).or_default();
            e.0 += c;
            e.1 += u64::try_from(r.events).unwrap_or(0);
        }
    }
    let empty = |key: String| UsageRow {
        key,
        events: 0,
        request_tokens: 0,
        response_tokens: 0,
        cost_usd: 0.0,
        unpriced_events: 0,
        blocked: 0,
        cost_avoided_usd: 0.0,
        guard_cost_usd: 0.0,
    };
    let mut out: BTreeMap<String, UsageRow> = BTreeMap::new();
    let mut total = empty("total".to_owned());
    for r in &rows {
        let key = r.key.clone().unwrap_or_else(|| NONE.to_owned());
        let row = out.entry(key.clone()).or_insert_with(|| empty(key));
        let events = u64::try_from(r.events).unwrap_or(0);
        let (input, output) = (
            r.request_tokens.unwrap_or(0),
            r.response_tokens.unwrap_or(0),
        );
        let priced = r.model_name.as_deref().and_then(|m| cost(m, input, output));
        for target in [&mut *row, &mut total] {
            target.events += events;
            target.request_tokens += u64::try_from(input).unwrap_or(0);
            target.response_tokens += u64::try_from(output).unwrap_or(0);
            match priced {
                Some(c) => target.cost_usd += c,
                None => target.unpriced_events += events,
            }
            if r.blocked != 0 {
                target.blocked += events;
                if let Some((sum, n)) = per_model.get(&r.model_name.as_deref())
                    && *n > 0
                {
                    target.cost_avoided_usd += sum / *n as f64 * events as f64;
                }
            }
            target.guard_cost_usd += guard_cost_per_event * events as f64;
        }
    }
    let round = |x: f64| (x * 1e6).round() / 1e6;
    let finish = |mut r: UsageRow| {
        r.cost_usd = round(r.cost_usd);
        r.cost_avoided_usd = round(r.cost_avoided_usd);
        r.guard_cost_usd = round(r.guard_cost_usd);
        r
    };
    Ok(UsageReport {
        period,
        group_by: group,
        generated_at: Timestamp::now(),
        guard_cost_per_event_usd: guard_cost_per_event,
        rows: out.into_values().map(finish).collect(),
        total: finish(total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn periods_default_and_refuse_reversed_ends() {
        let now = Timestamp::parse("2026-12-05T00:00:00Z").unwrap().0;
        let p = period(None, None, now).unwrap();
        assert_eq!(p.until.0, now);
        assert_eq!((p.until.0 - p.since.0).num_days(), 30);
        let prev = previous(p);
        assert_eq!(prev.until, p.since);
        assert_eq!(prev.until.0 - prev.since.0, p.until.0 - p.since.0);
        let err = period(Some(Timestamp(now)), Some(Timestamp(now)), now).unwrap_err();
        assert!(err.to_string().contains("must be before until"), "{err}");
    }

    #[test]
    fn trends_compare_with_the_previous_period() {
        let cur = BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 1)]);
        let prev = BTreeMap::from([("a".to_owned(), 2), ("c".to_owned(), 4)]);
        let rows = trend(&cur, &prev);
        assert_eq!(rows[0].key, "a");
        assert_eq!(rows[0].change_pct, Some(50.0));
        let c = rows.iter().find(|r| r.key == "c").unwrap();
        assert_eq!((c.count, c.previous, c.change_pct), (0, 4, Some(-100.0)));
        let b = rows.iter().find(|r| r.key == "b").unwrap();
        assert_eq!(b.change_pct, None);
    }

    #[test]
    fn retention_under_six_months_warns() {
        let mut settings = Settings::default();
        assert!(retention(&settings, None).compliant);
        settings.retention_days = Some(90);
        let r = retention(&settings, None);
        assert!(!r.compliant);
        assert!(r.warning.unwrap().contains("six months"));
        settings.retention_days = Some(SIX_MONTHS_DAYS);
        assert!(retention(&settings, None).compliant);
    }
}
