//! Backtests: "what would this policy have done over last week's traffic?"
//!
//! A candidate (a draft definition, or a stored policy at one of its versions) is compiled into
//! one engine [`PolicySet`] together with the policies enforced today, the candidate's entries
//! marked shadow. Each stored event of the window then goes through
//! [`PolicySet::evaluate_with_shadow`], the call the live path makes: the enforced hits say what
//! happens today, the shadow hits what the candidate would do, and the detectors run once for
//! both. There is no second evaluator.
//!
//! The window is split into consecutive time ranges of about as many events each, one per core;
//! each thread reads its range in keyset pages and evaluates every event where it was read
//! ([`Store::replay_blocking`]), so memory holds a page per thread (on SQLite, one row) whatever
//! the store's size, and no event crosses a thread. The ranges' counts are merged in time order,
//! so the result is the one a single reader would get. A job's row in the store is its
//! state: progress is written there and published on the live stream as `backtest_progress`
//! frames, and a cancellation is a status change the job sees at its next progress update.
//!
//! [`run`] is the job without the server: the CLI's `sentinel backtest` calls it directly.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sentinel_api::backtest::{
    BacktestComparison, BacktestCount, BacktestCreate, BacktestFinding, BacktestPrecision,
    BacktestResponse, BacktestResult, BacktestSample, LiveBacktestProgress,
};
use sentinel_api::error::ValidationIssue;
use sentinel_api::live::LiveMessage;
use sentinel_api::page::{Page, PageParams};
use sentinel_api::{
    BacktestStatus, Decision, Enforcement, InterventionType, PerformanceMode, PolicyStatus,
    Severity, Timestamp, ViolationStatus,
};
use sentinel_engine::{Input, PolicySet, PolicySpec, Scope, Target};
use sentinel_store::{BacktestRecord, ReplayEvent, ReplayWindow, Store};
use serde::{Deserialize, Serialize};

use crate::guard::spec_of;
use crate::service::evaluate::{finding, scope as event_scope};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Events per page read from the store.
pub const PAGE_SIZE: u64 = 4096;
/// Most examples a result keeps.
pub const MAX_SAMPLE: u32 = 100;
const DEFAULT_SAMPLE: u32 = 20;
/// Most keys of the app and model breakdowns.
const MAX_KEYS: usize = 50;
/// Shortest time between two progress updates (store row and live frame).
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// A queued or running job whose row was not touched for this long has lost its process.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// The candidate's policies get ids the store never gives (`0`, `-1`, …), so their hits cannot
/// be mistaken for those of a stored policy.
fn candidate_id(index: usize) -> i64 {
    -i64::try_from(index).unwrap_or(i64::MAX)
}

/// A validated backtest: what to replay, on which events. Serialised as the job's `request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The candidate's policies (one from the API; a policy file may hold several).
    pub candidate: Vec<CandidatePolicy>,
    /// The stored policy the candidate is a version of: left out of the candidate side of the
    /// comparison with the enforced set.
    pub replaces: Option<i64>,
    /// The version of `replaces` that is backtested, when it is a stored one.
    pub version: Option<i64>,
    pub since: Timestamp,
    pub until: Timestamp,
    pub app: Option<String>,
    pub model: Option<String>,
    pub environment: Option<String>,
    pub sample_size: u32,
}

/// One policy of a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidatePolicy {
    pub name: String,
    pub definition: String,
    pub severity: Severity,
    pub performance_mode: PerformanceMode,
    pub intervention_type: InterventionType,
    pub intervention_config: Option<String>,
}

impl CandidatePolicy {
    fn spec(&self, id: i64) -> PolicySpec {
        PolicySpec {
            id,
            name: self.name.clone(),
            definition: self.definition.clone(),
            severity: self.severity,
            mode: self.performance_mode,
            action: self.intervention_type,
            intervention_config: self.intervention_config.clone(),
            enforcement: Enforcement::Shadow,
        }
    }
}

/// An instant of a window: RFC 3339 (or the other forms [`Timestamp::parse`] reads), or a
/// duration back from `now`: a number and a unit, `s`, `m`, `h`, `d` or `w` (`7d`, `36h`).
pub fn parse_instant(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(unit) = text.chars().last().filter(char::is_ascii_alphabetic)
        && let Ok(n) = text[..text.len() - 1].trim().parse::<i64>()
        && n >= 0
    {
        let seconds = match unit.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let back = chrono::Duration::try_seconds(n.checked_mul(seconds)?)?;
        return now.checked_sub_signed(back);
    }
    Timestamp::parse(text).map(|t| t.0)
}

fn issue(field: &str, msg: impl Into<String>, kind: &str) -> ServiceError {
    ServiceError::invalid(&["body", field], msg, kind)
}

/// The compile errors of a candidate, as 422 issues at `definition`.
fn check_compiles(definition: &str, what: &str) -> ServiceResult<()> {
    match sentinel_engine::compile(definition) {
        Ok(_) => Ok(()),
        Err(errors) => Err(ServiceError::Invalid(
            errors
                .iter()
                .map(|e| {
                    ValidationIssue::new(
                        vec!["body".into(), "definition".into()],
                        format!("{what} does not compile: {e}"),
                        "invalid_definition",
                    )
                })
                .collect(),
        )),
    }
}

/// Checks a request and resolves it into a [`Plan`]: 422 for a bad window, a bad definition or
/// contradictory fields, 404 for an unknown policy or version.
pub async fn plan(store: &Store, body: BacktestCreate, now: DateTime<Utc>) -> ServiceResult<Plan> {
    const FORMS: &str =
        "RFC 3339 (2026-12-01T00:00:00Z) or a duration back from now (7d, 24h, 30m)";
    let since = parse_instant(&body.since, now).ok_or_else(|| {
        issue(
            "since",
            format!("`{}` is not {FORMS}", body.since),
            "datetime",
        )
    })?;
    let until = match &body.until {
        None => now,
        Some(text) => parse_instant(text, now)
            .ok_or_else(|| issue("until", format!("`{text}` is not {FORMS}"), "datetime"))?,
    };
    if since >= until {
        return Err(issue(
            "until",
            format!(
                "the window is empty: until ({}) must be after since ({})",
                Timestamp(until),
                Timestamp(since)
            ),
            "window",
        ));
    }
    let sample_size = body.sample_size.unwrap_or(DEFAULT_SAMPLE);
    if sample_size > MAX_SAMPLE {
        return Err(issue(
            "sample_size",
            format!("sample_size is at most {MAX_SAMPLE}"),
            "less_than_equal",
        ));
    }
    for (field, value) in [
        ("app", &body.app),
        ("model", &body.model),
        ("environment", &body.environment),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(issue(
                field,
                format!("{field} must not be empty (leave it out to take every value)"),
                "too_short",
            ));
        }
    }
    let candidate = match (&body.definition, body.policy_id) {
        (None, None) => {
            return Err(issue(
                "definition",
                "give a draft `definition`, or the `policy_id` of a stored policy",
                "missing",
            ));
        }
        (Some(_), _) if body.version.is_some() => {
            return Err(issue(
                "version",
                "`version` picks a stored version of `policy_id`; a draft brings its own definition",
                "conflict",
            ));
        }
        (Some(definition), policy_id) => {
            if definition.trim().is_empty() {
                return Err(issue("definition", "the definition is empty", "too_short"));
            }
            let stored = match policy_id {
                Some(id) => Some(store.get_policy(id).await?),
                None => None,
            };
            let definition = match body.apps.as_deref() {
                None => definition.clone(),
                Some([]) => {
                    return Err(issue(
                        "apps",
                        "apps must name at least one application (leave it out to apply everywhere)",
                        "too_short",
                    ));
                }
                Some(apps) => {
                    if apps.iter().any(|a| a.trim().is_empty()) {
                        return Err(issue(
                            "apps",
                            "an application name must not be empty",
                            "too_short",
                        ));
                    }
                    crate::service::templates::scoped_to_apps(definition, apps)
                }
            };
            check_compiles(&definition, "the draft")?;
            CandidatePolicy {
                name: body
                    .name
                    .clone()
                    .or_else(|| stored.as_ref().map(|p| format!("{} (draft)", p.name)))
                    .unwrap_or_else(|| "draft".to_owned()),
                definition,
                severity: body
                    .severity
                    .or(stored.as_ref().map(|p| p.severity))
                    .unwrap_or_default(),
                performance_mode: body
                    .performance_mode
                    .or(stored.as_ref().map(|p| p.performance_mode))
                    .unwrap_or_default(),
                intervention_type: body
                    .intervention_type
                    .or(stored.as_ref().map(|p| p.intervention_type))
                    .unwrap_or_default(),
                intervention_config: body
                    .intervention_config
                    .clone()
                    .or_else(|| stored.as_ref().and_then(|p| p.intervention_config.clone())),
            }
        }
        (None, Some(policy_id)) => {
            let drafted = [
                ("name", body.name.is_some()),
                ("intervention_type", body.intervention_type.is_some()),
                ("performance_mode", body.performance_mode.is_some()),
                ("severity", body.severity.is_some()),
                ("intervention_config", body.intervention_config.is_some()),
                ("apps", body.apps.is_some()),
            ];
            if let Some((field, _)) = drafted.iter().find(|(_, given)| *given) {
                return Err(issue(
                    field,
                    format!(
                        "`{field}` belongs to a draft: send a `definition` with it, or leave it out to backtest the stored policy as it is"
                    ),
                    "conflict",
                ));
            }
            let c = match body.version {
                None => {
                    let p = store.get_policy(policy_id).await?;
                    CandidatePolicy {
                        name: p.name,
                        definition: p.definition,
                        severity: p.severity,
                        performance_mode: p.performance_mode,
                        intervention_type: p.intervention_type,
                        intervention_config: p.intervention_config,
                    }
                }
                Some(version) => {
                    let v = store.get_policy_version(policy_id, version).await?;
                    CandidatePolicy {
                        name: format!("{} v{}", v.name, v.version),
                        definition: v.definition,
                        severity: v.severity,
                        performance_mode: v.performance_mode,
                        intervention_type: v.intervention_type,
                        intervention_config: v.intervention_config,
                    }
                }
            };
            check_compiles(&c.definition, "the stored definition")?;
            c
        }
    };
    Ok(Plan {
        candidate: vec![candidate],
        replaces: body.policy_id,
        version: body.version,
        since: Timestamp(since),
        until: Timestamp(until),
        app: body.app,
        model: body.model,
        environment: body.environment,
        sample_size,
    })
}

/// The policies enforced now (status `open`, enforcement `enforce`): the comparison's baseline,
/// the same set the live path enforces.
pub async fn enforced_specs(store: &Store) -> ServiceResult<Vec<PolicySpec>> {
    Ok(store
        .all_policies()
        .await?
        .iter()
        .filter(|p| p.status == PolicyStatus::Open && p.enforcement == Enforcement::Enforce)
        .map(spec_of)
        .collect())
}

/// Where a running backtest stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub read: u64,
    pub flagged: u64,
    pub total: u64,
}

/// Counts of part of the events; parts are added up with [`Tally::merge`].
#[derive(Debug, Default)]
struct Tally {
    read: u64,
    /// Rows of the window left out by the `environment` filter.
    skipped: u64,
    scanned: u64,
    not_replayable: u64,
    flagged: u64,
    by_decision: [u64; 4],
    by_app: HashMap<String, u64>,
    by_model: HashMap<String, u64>,
    by_detector: HashMap<String, u64>,
    currently: u64,
    with_candidate: u64,
    newly: u64,
    no_longer: u64,
    /// The flagged events of the page, for their triage labels.
    flagged_ids: Vec<i64>,
    sample: Vec<BacktestSample>,
}

fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

fn decision_index(d: Decision) -> usize {
    match d {
        Decision::Allow => 0,
        Decision::Notify => 1,
        Decision::Redact => 2,
        Decision::Block => 3,
    }
}

impl Tally {
    fn merge(&mut self, other: Tally, sample_size: usize) {
        self.read += other.read;
        self.skipped += other.skipped;
        self.scanned += other.scanned;
        self.not_replayable += other.not_replayable;
        self.flagged += other.flagged;
        for (a, b) in self.by_decision.iter_mut().zip(other.by_decision) {
            *a += b;
        }
        for (mine, theirs) in [
            (&mut self.by_app, other.by_app),
            (&mut self.by_model, other.by_model),
            (&mut self.by_detector, other.by_detector),
        ] {
            for (k, n) in theirs {
                *mine.entry(k).or_default() += n;
            }
        }
        self.currently += other.currently;
        self.with_candidate += other.with_candidate;
        self.newly += other.newly;
        self.no_longer += other.no_longer;
        self.flagged_ids.extend(other.flagged_ids);
        let room = sample_size.saturating_sub(self.sample.len());
        self.sample.extend(other.sample.into_iter().take(room));
    }
}

/// The texts of a stored event: its `prompt`/`completion`, or the same keys inside a JSON
/// `event_data` (as ingestion reads them).
fn texts<'r>(
    event: &ReplayEvent<'r>,
) -> (Option<&'r str>, Option<&'r str>, Option<serde_json::Value>) {
    if event.prompt.is_some() || event.completion.is_some() {
        return (event.prompt, event.completion, None);
    }
    let data = event
        .event_data
        .filter(|d| d.contains("prompt") || d.contains("completion"))
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok());
    (None, None, data)
}

fn excerpt(text: Option<&str>, start: usize, end: usize) -> String {
    text.and_then(|t| t.get(start..end))
        .map(|s| s.chars().take(200).collect())
        .unwrap_or_default()
}

/// The scopes of the events a thread has read, by what they are built from. A store's events
/// share few of them (apps × models × users × metadata), and building one parses the metadata
/// JSON and copies every string; a hit costs a hash of the same texts. Bounded: emptied when full.
#[derive(Default)]
struct Scopes {
    by_hash: HashMap<u64, Vec<(ScopeKey, Scope)>>,
    len: usize,
    hasher: std::hash::RandomState,
}

/// What a scope is built from.
struct ScopeKey {
    source: Option<String>,
    user_id: Option<i64>,
    model: Option<String>,
    metadata: Option<String>,
}

impl ScopeKey {
    fn is(&self, row: &ReplayEvent<'_>) -> bool {
        self.source.as_deref() == row.source
            && self.user_id == row.user_id
            && self.model.as_deref() == row.model_name
            && self.metadata.as_deref() == row.metadata
    }
}

impl Scopes {
    const MAX: usize = 4096;

    fn get(&mut self, row: &ReplayEvent<'_>) -> &Scope {
        use std::hash::BuildHasher;
        let hash = self
            .hasher
            .hash_one((row.source, row.user_id, row.model_name, row.metadata));
        if self.len >= Self::MAX
            && !self
                .by_hash
                .get(&hash)
                .is_some_and(|bucket| bucket.iter().any(|(k, _)| k.is(row)))
        {
            self.by_hash.clear();
            self.len = 0;
        }
        let bucket = self.by_hash.entry(hash).or_default();
        let at = match bucket.iter().position(|(k, _)| k.is(row)) {
            Some(at) => at,
            None => {
                let metadata: Option<BTreeMap<String, serde_json::Value>> =
                    row.metadata.and_then(|m| serde_json::from_str(m).ok());
                let scope = event_scope(
                    row.source,
                    row.user_id.map(|u| u.to_string()),
                    row.model_name,
                    metadata.as_ref(),
                );
                let key = ScopeKey {
                    source: row.source.map(str::to_owned),
                    user_id: row.user_id,
                    model: row.model_name.map(str::to_owned),
                    metadata: row.metadata.map(str::to_owned),
                };
                bucket.push((key, scope));
                self.len += 1;
                bucket.len() - 1
            }
        };
        &bucket[at].1
    }
}

/// What every event of a run is evaluated with.
struct Evaluator<'a> {
    set: &'a PolicySet,
    replaces: Option<i64>,
    environment: Option<&'a str>,
    sample_size: usize,
}

impl Evaluator<'_> {
    /// Evaluates one stored event into `t`.
    fn event(&self, row: &ReplayEvent<'_>, t: &mut Tally, scopes: &mut Scopes) {
        let scope = scopes.get(row);
        if let Some(env) = self.environment
            && scope.environment.as_deref() != Some(env)
        {
            t.skipped += 1;
            return;
        }
        t.read += 1;
        let (prompt, completion, data) = texts(row);
        let (prompt, completion) = match &data {
            Some(d) => (
                d.get("prompt").and_then(|v| v.as_str()),
                d.get("completion").and_then(|v| v.as_str()),
            ),
            None => (prompt, completion),
        };
        if prompt.is_none() && completion.is_none() {
            t.not_replayable += 1;
            return;
        }
        t.scanned += 1;
        let input = Input {
            prompt,
            completion,
            scope,
        };
        let (enforced, candidate) = self.set.evaluate_with_shadow(&input);
        let currently = !enforced.hits.is_empty();
        let flagged = !candidate.is_empty();
        let with_candidate = flagged
            || enforced
                .hits
                .iter()
                .any(|h| Some(h.policy_id) != self.replaces);
        t.currently += u64::from(currently);
        t.with_candidate += u64::from(with_candidate);
        t.newly += u64::from(with_candidate && !currently);
        t.no_longer += u64::from(currently && !with_candidate);
        if !flagged {
            return;
        }
        t.flagged += 1;
        t.flagged_ids.push(row.id);
        let decision = candidate
            .iter()
            .map(|h| Decision::from(h.action))
            .max()
            .unwrap_or(Decision::Notify);
        t.by_decision[decision_index(decision)] += 1;
        bump(&mut t.by_app, row.source.unwrap_or("(none)"));
        bump(&mut t.by_model, row.model_name.unwrap_or("(none)"));
        let mut detectors: Vec<&str> = candidate
            .iter()
            .flat_map(|h| h.findings.iter().map(|f| &*f.detector))
            .collect();
        detectors.sort_unstable();
        detectors.dedup();
        for d in detectors {
            bump(&mut t.by_detector, d);
        }
        if t.sample.len() < self.sample_size {
            t.sample.push(BacktestSample {
                id: row.id,
                trigger_date: Timestamp(row.trigger_date),
                app: row.source.map(str::to_owned),
                model: row.model_name.map(str::to_owned),
                decision,
                currently_flagged: currently,
                findings: candidate
                    .iter()
                    .flat_map(|h| h.findings.iter())
                    .map(|f| BacktestFinding {
                        finding: finding(f),
                        text: excerpt(
                            match f.target {
                                Target::Prompt => prompt,
                                Target::Completion => completion,
                            },
                            f.start,
                            f.end,
                        ),
                    })
                    .collect(),
            });
        }
    }
}

/// How a run reads the store: the window is split into `ranges` consecutive time ranges of
/// about as many events each, read and evaluated by `threads` threads (each takes the next
/// range when done with one), in keyset pages of `page_size` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub ranges: usize,
    pub threads: usize,
    pub page_size: u64,
}

impl Default for Reading {
    /// One range per core, as many threads.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Reading {
            ranges: cores,
            threads: cores,
            page_size: PAGE_SIZE,
        }
    }
}

/// What a reading thread tells the run.
enum Report {
    /// A page's worth of events was evaluated: how many were read (or skipped by the
    /// environment filter) and flagged since the last report, and the ids of the flagged ones.
    Page {
        read: u64,
        flagged: u64,
        flagged_ids: Vec<i64>,
    },
    /// Range `range` was read to its end; its counts.
    Done {
        range: usize,
        tally: Box<Tally>,
    },
    Failed(ServiceError),
}

/// A reading thread: takes the next range until none is left, evaluating every event of it
/// where it was read, and reports after each page. Stops at its next page once `stop` is set or
/// the run stopped listening.
fn read_ranges(
    store: &Store,
    evaluator: &Evaluator<'_>,
    ranges: &[ReplayWindow],
    next: &AtomicUsize,
    stop: &AtomicBool,
    page_size: u64,
    reports: &tokio::sync::mpsc::Sender<Report>,
) {
    loop {
        let range = next.fetch_add(1, Ordering::Relaxed);
        let Some(window) = ranges.get(range) else {
            return;
        };
        let mut tally = Tally::default();
        let mut in_page = 0u64;
        let (mut reported_read, mut reported_flagged) = (0u64, 0u64);
        let mut scopes = Scopes::default();
        let mut report = |t: &mut Tally| {
            let read = t.read + t.skipped;
            let page = Report::Page {
                read: read - reported_read,
                flagged: t.flagged - reported_flagged,
                flagged_ids: std::mem::take(&mut t.flagged_ids),
            };
            (reported_read, reported_flagged) = (read, t.flagged);
            !stop.load(Ordering::Relaxed) && reports.blocking_send(page).is_ok()
        };
        let outcome = store.replay_blocking(window, page_size, |event| {
            evaluator.event(&event, &mut tally, &mut scopes);
            in_page += 1;
            if in_page == page_size {
                in_page = 0;
                if !report(&mut tally) {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        match outcome {
            Ok(true) => {
                if !report(&mut tally)
                    || reports
                        .blocking_send(Report::Done {
                            range,
                            tally: Box::new(tally),
                        })
                        .is_err()
                {
                    return;
                }
            }
            Ok(false) => return,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                let _ = reports.blocking_send(Report::Failed(e.into()));
                return;
            }
        }
    }
}

fn top(map: HashMap<String, u64>, limit: usize) -> Vec<BacktestCount> {
    let mut counts: Vec<BacktestCount> = map
        .into_iter()
        .map(|(key, count)| BacktestCount { key, count })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    counts.truncate(limit);
    counts
}

/// Runs a backtest over the store: reads the window page by page, evaluates each event with
/// the candidate beside the `enforced` policies, and calls `on_progress` after a page (at most
/// every 200 ms); when it answers `false` the run stops and answers `None` (cancelled).
/// `total` is the number of events of the window ([`Store::count_replay`]).
pub async fn run<F, Fut>(
    store: &Store,
    plan: &Plan,
    enforced: Vec<PolicySpec>,
    total: u64,
    on_progress: F,
) -> ServiceResult<Option<BacktestResult>>
where
    F: FnMut(Progress) -> Fut,
    Fut: Future<Output = bool>,
{
    run_with(
        store,
        plan,
        enforced,
        total,
        Reading::default(),
        on_progress,
    )
    .await
}

/// [`run`], reading the store as `reading` says. The result does not depend on `reading`: the
/// ranges' counts are added up and their samples taken in time order, so it is the result of
/// one thread reading the window from start to end.
pub async fn run_with<F, Fut>(
    store: &Store,
    plan: &Plan,
    enforced: Vec<PolicySpec>,
    total: u64,
    reading: Reading,
    mut on_progress: F,
) -> ServiceResult<Option<BacktestResult>>
where
    F: FnMut(Progress) -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    let enforced_count = enforced.len() as u64;
    let mut specs = enforced;
    specs.extend(
        plan.candidate
            .iter()
            .enumerate()
            .map(|(i, c)| c.spec(candidate_id(i))),
    );
    let set = PolicySet::new(specs);
    if let Some((id, errors)) = set.errors().iter().find(|(id, _)| *id <= 0) {
        let index = usize::try_from(-id).unwrap_or(0);
        let name = plan.candidate.get(index).map_or("", |c| c.name.as_str());
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(ServiceError::invalid(
            &["body", "definition"],
            format!("`{name}` does not compile: {}", errors.join("; ")),
            "invalid_definition",
        ));
    }
    let window = ReplayWindow {
        since: plan.since.0,
        until: plan.until.0,
        app: plan.app.clone(),
        model: plan.model.clone(),
    };
    let ranges = Arc::new(store.split_replay(&window, reading.ranges, total).await?);
    let set = Arc::new(set);
    let plan_shared = Arc::new(plan.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads = reading.threads.clamp(1, ranges.len());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Report>(2 * threads);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (store, set, plan) = (store.clone(), set.clone(), plan_shared.clone());
            let (ranges, next, stop, tx) = (ranges.clone(), next.clone(), stop.clone(), tx.clone());
            tokio::task::spawn_blocking(move || {
                let evaluator = Evaluator {
                    set: &set,
                    replaces: plan.replaces,
                    environment: plan.environment.as_deref(),
                    sample_size: plan.sample_size as usize,
                };
                read_ranges(
                    &store,
                    &evaluator,
                    &ranges,
                    &next,
                    &stop,
                    reading.page_size,
                    &tx,
                );
            })
        })
        .collect();
    drop(tx);

    let outcome = async {
        let mut tallies: Vec<Option<Tally>> = Vec::new();
        tallies.resize_with(ranges.len(), || None);
        let (mut read, mut flagged) = (0u64, 0u64);
        let mut confirmed = 0u64;
        let mut false_positive = 0u64;
        let mut last_progress = Instant::now();
        while let Some(report) = rx.recv().await {
            let flagged_ids = match report {
                Report::Page {
                    read: r,
                    flagged: f,
                    flagged_ids,
                } => {
                    read += r;
                    flagged += f;
                    flagged_ids
                }
                Report::Done { range, tally } => {
                    if let Some(slot) = tallies.get_mut(range) {
                        *slot = Some(*tally);
                    }
                    continue;
                }
                Report::Failed(e) => return Err(e),
            };
            let mut labels = store.triage_labels(&flagged_ids).await?;
            labels.sort_unstable_by_key(|l| l.event_id);
            for group in labels.chunk_by(|a, b| a.event_id == b.event_id) {
                if group
                    .iter()
                    .any(|l| l.status == ViolationStatus::FalsePositive)
                {
                    false_positive += 1;
                } else {
                    confirmed += 1;
                }
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                if !on_progress(Progress {
                    read,
                    flagged,
                    total,
                })
                .await
                {
                    return Ok(None);
                }
            }
        }
        // Every range reports its end; one missing means its thread stopped without saying why.
        let mut tally = Tally::default();
        for t in tallies {
            let t = t.ok_or_else(|| {
                ServiceError::Internal("a backtest reading thread stopped early".to_owned())
            })?;
            tally.merge(t, plan.sample_size as usize);
        }
        Ok(Some((tally, confirmed, false_positive)))
    }
    .await;
    // However the run ended, its threads stop at their next page; wait for them, so that
    // nothing reads the store once the run has answered.
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    for w in workers {
        if let Err(e) = w.await {
            tracing::error!(error = %e, "a backtest reading thread panicked");
        }
    }
    let Some((tally, confirmed, false_positive)) = outcome? else {
        return Ok(None);
    };
    let labelled = confirmed + false_positive;
    let mut by_decision = BTreeMap::new();
    for d in [Decision::Notify, Decision::Redact, Decision::Block] {
        by_decision.insert(d.as_str().to_owned(), tally.by_decision[decision_index(d)]);
    }
    Ok(Some(BacktestResult {
        events_read: tally.read,
        events_scanned: tally.scanned,
        not_replayable: tally.not_replayable,
        events_flagged: tally.flagged,
        by_decision,
        by_app: top(tally.by_app, MAX_KEYS),
        by_model: top(tally.by_model, MAX_KEYS),
        by_detector: top(tally.by_detector, usize::MAX),
        versus_enforced: BacktestComparison {
            enforced_policies: enforced_count,
            currently_flagged: tally.currently,
            flagged_with_candidate: tally.with_candidate,
            newly_flagged: tally.newly,
            no_longer_flagged: tally.no_longer,
        },
        precision: BacktestPrecision {
            labelled,
            confirmed,
            false_positive,
            estimate: (labelled > 0).then(|| {
                let p = confirmed as f64 / labelled as f64;
                (p * 1000.0).round() / 1000.0
            }),
        },
        sample: tally.sample,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }))
}

fn progress_of(scanned: u64, total: Option<u64>, status: BacktestStatus) -> f64 {
    if status == BacktestStatus::Done {
        return 1.0;
    }
    match total {
        Some(0) | None => 0.0,
        Some(t) => ((scanned as f64 / t as f64).min(1.0) * 1000.0).round() / 1000.0,
    }
}

/// The job as the API returns it.
pub fn response(r: BacktestRecord) -> BacktestResponse {
    let result = r
        .result
        .and_then(|v| serde_json::from_value::<BacktestResult>(v).ok());
    BacktestResponse {
        id: r.id,
        status: r.status,
        policy_id: r.policy_id,
        request: r.request,
        scanned: r.scanned,
        total: r.total,
        progress: progress_of(r.scanned, r.total, r.status),
        flagged: r.flagged,
        result,
        error: r.error,
        created_by: r.created_by,
        created_at: r.created_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
    }
}

fn publish(state: &AppState, id: i64, status: BacktestStatus, p: Progress) {
    let total = Some(p.total);
    state.live.publish(&LiveMessage::BacktestProgress {
        backtest: LiveBacktestProgress {
            id,
            status,
            scanned: p.read,
            total,
            flagged: p.flagged,
            progress: progress_of(p.read, total, status),
        },
    });
}

/// `POST /api/policies/backtest`: validates the request, records the job and starts it in the
/// background. Answers the queued job.
pub async fn create(
    state: &AppState,
    body: BacktestCreate,
    created_by: Option<i64>,
) -> ServiceResult<BacktestResponse> {
    let plan = plan(&state.store, body, Utc::now()).await?;
    let request = serde_json::to_value(&plan)
        .map_err(|e| ServiceError::Internal(format!("backtest request: {e}")))?;
    let record = state
        .store
        .create_backtest(&request, plan.replaces, created_by)
        .await?;
    let id = record.id;
    let job_state = state.clone();
    tokio::spawn(async move {
        run_job(job_state, id, plan).await;
    });
    Ok(response(record))
}

/// Runs a recorded job to its end and records how it ended.
async fn run_job(state: AppState, id: i64, plan: Plan) {
    let outcome = run_recorded(&state, id, &plan).await;
    let store = &state.store;
    let ended = match outcome {
        Ok(Some(result)) => {
            let json = serde_json::to_value(&result).ok();
            let p = Progress {
                read: result.events_read,
                flagged: result.events_flagged,
                total: result.events_read,
            };
            match store
                .finish_backtest(id, BacktestStatus::Done, json.as_ref(), None)
                .await
            {
                Ok(true) => Some((BacktestStatus::Done, p)),
                Ok(false) => None,
                Err(e) => {
                    tracing::error!(backtest.id = id, error = %e, "recording a backtest result");
                    None
                }
            }
        }
        Ok(None) => None,
        Err(e) => {
            let message = match &e {
                ServiceError::Invalid(issues) => crate::error::sentence(issues),
                other => {
                    tracing::error!(backtest.id = id, error = %other, "backtest failed");
                    "the backtest failed; the server log has the details".to_owned()
                }
            };
            match store
                .finish_backtest(id, BacktestStatus::Failed, None, Some(&message))
                .await
            {
                Ok(_) => None,
                Err(e) => {
                    tracing::error!(backtest.id = id, error = %e, "recording a backtest failure");
                    None
                }
            }
        }
    };
    // The last frame says how it ended, whatever that was.
    match ended {
        Some((status, p)) => publish(&state, id, status, p),
        None => {
            if let Ok(r) = store.get_backtest(id).await {
                let p = Progress {
                    read: r.scanned,
                    flagged: r.flagged,
                    total: r.total.unwrap_or(0),
                };
                publish(&state, id, r.status, p);
            }
        }
    }
}

/// Starts a recorded job and runs it; `None` when it was cancelled.
async fn run_recorded(
    state: &AppState,
    id: i64,
    plan: &Plan,
) -> ServiceResult<Option<BacktestResult>> {
    let store = &state.store;
    let window = ReplayWindow {
        since: plan.since.0,
        until: plan.until.0,
        app: plan.app.clone(),
        model: plan.model.clone(),
    };
    let total = store.count_replay(&window).await?;
    if !store.start_backtest(id, total).await? {
        return Ok(None);
    }
    let enforced = enforced_specs(store).await?;
    publish(
        state,
        id,
        BacktestStatus::Running,
        Progress {
            read: 0,
            flagged: 0,
            total,
        },
    );
    run(store, plan, enforced, total, |p| async move {
        let running = store
            .backtest_progress(id, p.read, p.flagged)
            .await
            .unwrap_or(false);
        if running {
            publish(state, id, BacktestStatus::Running, p);
        }
        running
    })
    .await
}

/// Runs a backtest to its end, without the live stream, and records it as a finished job: the
/// example result `serve --demo` stores.
pub async fn run_and_store(
    store: &Store,
    plan: Plan,
    created_by: Option<i64>,
) -> ServiceResult<BacktestRecord> {
    let request = serde_json::to_value(&plan)
        .map_err(|e| ServiceError::Internal(format!("backtest request: {e}")))?;
    let record = store
        .create_backtest(&request, plan.replaces, created_by)
        .await?;
    let window = ReplayWindow {
        since: plan.since.0,
        until: plan.until.0,
        app: plan.app.clone(),
        model: plan.model.clone(),
    };
    let total = store.count_replay(&window).await?;
    store.start_backtest(record.id, total).await?;
    let enforced = enforced_specs(store).await?;
    let result = run(store, &plan, enforced, total, |_| async { true }).await?;
    let json = result
        .map(|r| serde_json::to_value(&r))
        .transpose()
        .map_err(|e| ServiceError::Internal(format!("backtest result: {e}")))?;
    store
        .finish_backtest(record.id, BacktestStatus::Done, json.as_ref(), None)
        .await?;
    Ok(store.get_backtest(record.id).await?)
}

/// Fails the jobs whose process stopped (see [`STALE_AFTER`]).
pub async fn sweep_stale(store: &Store) -> ServiceResult<u64> {
    let before = Utc::now() - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
    Ok(store.fail_stale_backtests(before).await?)
}

pub async fn get(state: &AppState, id: i64) -> ServiceResult<BacktestResponse> {
    sweep_stale(&state.store).await?;
    Ok(response(state.store.get_backtest(id).await?))
}

pub async fn list(state: &AppState, page: PageParams) -> ServiceResult<Page<BacktestResponse>> {
    sweep_stale(&state.store).await?;
    Ok(state.store.list_backtests(page).await?.map(response))
}

/// Cancels a queued or running job (the job stops at its next page); a finished one is
/// answered as it is.
pub async fn cancel(state: &AppState, id: i64) -> ServiceResult<BacktestResponse> {
    let record = state.store.cancel_backtest(id).await?;
    Ok(response(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_absolute_or_back_from_now() {
        let now = Timestamp::parse("2026-12-05T12:00:00Z").map(|t| t.0);
        let now = now.unwrap_or_default();
        let at = |s: &str| parse_instant(s, now).map(|t| Timestamp(t).to_string());
        assert_eq!(at("7d").as_deref(), Some("2026-11-28T12:00:00Z"));
        assert_eq!(at("36h").as_deref(), Some("2026-12-04T00:00:00Z"));
        assert_eq!(at("30m").as_deref(), Some("2026-12-05T11:30:00Z"));
        assert_eq!(at("1w").as_deref(), Some("2026-11-28T12:00:00Z"));
        assert_eq!(at("2026-12-01").as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(at("7x"), None);
        assert_eq!(at("-3d"), None);
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("99999999999999d"), None);
    }
}
