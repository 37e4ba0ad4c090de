//! The maintained counters (daily rollups, event counts, event hours, violation counts) against a
//! real `COUNT(*)` after every kind of write: inserts, batches, failed writes, triage, bulk loads,
//! retention and policy deletion, and the backfill of migration 5. On both backends.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use sentinel_api::PolicyCategory;
use sentinel_api::event::EventCreate;
use sentinel_api::event::EventFilter;
use sentinel_api::page::PageParams;
use sentinel_api::violation::ViolationFilter;
use sentinel_api::{
    EventStatus, EventType, PolicyStatus, Severity, Timestamp, ViolationStatus, ViolationType,
};
use sentinel_store::{AuditContext, NewPolicy, SeedEvent, SeedViolation, Store, Triage};

use crate::client::{event_create, event_triage, policy_create, violation_triage};
use crate::helpers::{
    fresh_database_url, new_event, new_policy, new_violation, spawn_app, total_count,
};

async fn open() -> (Store, DatabaseConnection, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let store = Store::open(&url).await.expect("open store");
    let raw = Database::connect(url.as_str())
        .await
        .expect("raw connection");
    (store, raw, dir)
}

/// An enforced policy, stored directly.
fn policy(name: &str) -> NewPolicy {
    NewPolicy {
        status: PolicyStatus::Open,
        ..new_policy(name)
    }
}

/// A triage that only sets the status.
fn to_status<S>(status: S) -> Triage<S> {
    Triage {
        status: Some(status),
        acknowledged_by: None,
    }
}

/// A real `COUNT(*)`.
async fn count(raw: &DatabaseConnection, sql: &str) -> u64 {
    let row = raw
        .query_one_raw(Statement::from_string(
            raw.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {sql}"),
        ))
        .await
        .unwrap()
        .unwrap();
    u64::try_from(row.try_get::<i64>("", "n").unwrap()).unwrap()
}

fn page() -> PageParams {
    PageParams { skip: 0, limit: 1 }
}

fn sql_time(at: DateTime<Utc>, raw: &DatabaseConnection) -> String {
    match raw.get_database_backend() {
        // SQLite holds timestamps as RFC 3339 text, written the way sqlx encodes them.
        sea_orm::DbBackend::Sqlite => format!(
            "'{}'",
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
        ),
        _ => format!("'{}'::timestamptz", at.to_rfc3339()),
    }
}

/// No counter differs from a recount, and every list total, summary and dashboard figure the
/// counters serve equals a real `COUNT(*)`.
async fn assert_exact(store: &Store, raw: &DatabaseConnection, step: &str) {
    let drift = store.counter_drift().await.unwrap();
    assert!(drift.is_empty(), "{step}: counters drifted: {drift:#?}");
    assert_reports_read_like_scans(store, step).await;

    let now = Utc::now();
    let mut event_filters: Vec<(EventFilter, String)> =
        vec![(EventFilter::default(), "1=1".into())];
    for s in [
        EventStatus::Open,
        EventStatus::Acknowledged,
        EventStatus::Closed,
    ] {
        event_filters.push((
            EventFilter {
                status: Some(s),
                ..Default::default()
            },
            format!("status = '{s}'"),
        ));
    }
    for &s in Severity::ALL {
        event_filters.push((
            EventFilter {
                severity: Some(s),
                ..Default::default()
            },
            format!("severity = '{s}'"),
        ));
    }
    event_filters.push((
        EventFilter {
            event_type: Some(EventType::PolicyViolation),
            ..Default::default()
        },
        "event_type = 'policy_violation'".into(),
    ));
    event_filters.push((
        EventFilter {
            policy_id: Some(1),
            ..Default::default()
        },
        "policy_id = 1".into(),
    ));
    for (source, sql) in [("ChatBot", "source = 'ChatBot'"), ("", "source = ''")] {
        event_filters.push((
            EventFilter {
                source: Some(source.into()),
                ..Default::default()
            },
            sql.into(),
        ));
    }
    event_filters.push((
        EventFilter {
            status: Some(EventStatus::Open),
            source: Some("ChatBot".into()),
            ..Default::default()
        },
        "status = 'open' AND source = 'ChatBot'".into(),
    ));
    // Windows: aligned and unaligned edges, one hour, open ends, empty, and with another filter.
    let windows = [
        (Some(now - Duration::hours(24)), None),
        (None, Some(now - Duration::minutes(90))),
        (
            Some(now - Duration::days(2) - Duration::minutes(7)),
            Some(now - Duration::minutes(13)),
        ),
        (
            Some(now - Duration::minutes(50)),
            Some(now - Duration::minutes(10)),
        ),
        (
            Some(Utc.with_ymd_and_hms(1969, 12, 31, 23, 0, 0).unwrap()),
            None,
        ),
        (
            None,
            Some(Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap()),
        ),
        (Some(now), Some(now - Duration::hours(1))),
    ];
    for (since, until) in windows {
        let mut sql = vec!["1=1".to_owned()];
        if let Some(s) = since {
            sql.push(format!("trigger_date >= {}", sql_time(s, raw)));
        }
        if let Some(u) = until {
            sql.push(format!("trigger_date < {}", sql_time(u, raw)));
        }
        event_filters.push((
            EventFilter {
                since: since.map(Timestamp),
                until: until.map(Timestamp),
                ..Default::default()
            },
            sql.join(" AND "),
        ));
        event_filters.push((
            EventFilter {
                since: since.map(Timestamp),
                until: until.map(Timestamp),
                severity: Some(Severity::High),
                ..Default::default()
            },
            format!("{} AND severity = 'high'", sql.join(" AND ")),
        ));
    }
    for (filter, sql) in event_filters {
        let listed = store.list_events(&filter, page()).await.unwrap().total;
        let counted = count(raw, &format!("events WHERE {sql}")).await;
        assert_eq!(listed, counted, "{step}: events where {sql}");
    }

    let mut violation_filters: Vec<(ViolationFilter, String)> =
        vec![(ViolationFilter::default(), "1=1".into())];
    for s in [
        ViolationStatus::Detected,
        ViolationStatus::Investigating,
        ViolationStatus::Resolved,
    ] {
        violation_filters.push((
            ViolationFilter {
                status: Some(s),
                ..Default::default()
            },
            format!("status = '{s}'"),
        ));
    }
    violation_filters.push((
        ViolationFilter {
            severity: Some(Severity::High),
            violation_type: Some(ViolationType::DataLeak),
            ..Default::default()
        },
        "severity = 'high' AND violation_type = 'data_leak'".into(),
    ));
    violation_filters.push((
        ViolationFilter {
            policy_id: Some(2),
            ..Default::default()
        },
        "policy_id = 2".into(),
    ));
    violation_filters.push((
        ViolationFilter {
            event_id: Some(1),
            ..Default::default()
        },
        "event_id = 1".into(),
    ));
    for (filter, sql) in violation_filters {
        let listed = store.list_violations(&filter, page()).await.unwrap().total;
        let counted = count(raw, &format!("violations WHERE {sql}")).await;
        assert_eq!(listed, counted, "{step}: violations where {sql}");
    }

    let day_ago = sql_time(now - Duration::hours(24), raw);
    let stats = store.event_stats().await.unwrap();
    assert_eq!(stats.total_events, count(raw, "events").await, "{step}");
    assert_eq!(
        stats.open_events,
        count(raw, "events WHERE status = 'open'").await,
        "{step}"
    );
    assert_eq!(
        stats.critical_events,
        count(raw, "events WHERE severity = 'critical'").await,
        "{step}"
    );
    // No test event lies within seconds of the 24-hour edge, so the two clocks agree.
    assert_eq!(
        stats.events_last_24h,
        count(raw, &format!("events WHERE trigger_date >= {day_ago}")).await,
        "{step}: last 24h"
    );
    let v = store.violation_stats().await.unwrap();
    assert_eq!(v.total_violations, count(raw, "violations").await, "{step}");
    assert_eq!(
        v.open_violations,
        count(
            raw,
            "violations WHERE status IN ('detected', 'investigating')"
        )
        .await,
        "{step}"
    );
    assert_eq!(
        v.critical_violations,
        count(raw, "violations WHERE severity = 'critical'").await,
        "{step}"
    );
    assert_eq!(
        v.high_violations,
        count(raw, "violations WHERE severity = 'high'").await,
        "{step}"
    );
    let d = store.dashboard_stats().await.unwrap();
    assert_eq!(d.total_events, stats.total_events, "{step}");
    assert_eq!(d.open_violations, v.open_violations, "{step}");
    assert_eq!(d.critical_violations, v.critical_violations, "{step}");
    for c in store.violations_by_category().await.unwrap() {
        assert_eq!(
            c.count,
            count(
                raw,
                &format!("violations WHERE violation_type = '{}'", c.category)
            )
            .await,
            "{step}: by category"
        );
        assert!(c.count > 0, "{step}: empty categories are not listed");
    }
    let listed: u64 = store
        .violations_by_category()
        .await
        .unwrap()
        .iter()
        .map(|c| c.count)
        .sum();
    assert_eq!(listed, v.total_violations, "{step}");
    for days in [1, 7, 30] {
        let start = now - Duration::days(days);
        let points = store.events_timeline(days as u32, now).await.unwrap();
        let total: u64 = points.iter().map(|p| p.total).sum();
        let counted = count(
            raw,
            &format!("events WHERE trigger_date >= {}", sql_time(start, raw)),
        )
        .await;
        assert_eq!(total, counted, "{step}: timeline of {days} days");
    }
}

/// The report aggregates (rollups for whole buckets, rows for the edges) equal a count of the
/// rows, over periods aligned to buckets, cut mid-bucket, inside one bucket, and reaching
/// before 1970.
async fn assert_reports_read_like_scans(store: &Store, step: &str) {
    use sentinel_store::reports::UsageKey;
    let now = Utc::now();
    let day = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
    let today = day(now.year(), now.month(), now.day());
    let periods = [
        (now - Duration::days(1), now),
        (now - Duration::days(40), now + Duration::minutes(1)),
        (today - Duration::days(3), today + Duration::days(1)),
        (
            now - Duration::hours(37) + Duration::minutes(13),
            now - Duration::minutes(5),
        ),
        (now - Duration::minutes(50), now - Duration::minutes(1)),
        (day(1969, 12, 30), now + Duration::days(1)),
    ];
    for (since, until) in periods {
        let mut rolled = store.violation_groups(since, until).await.unwrap();
        let mut scanned = store.violation_groups_scan(since, until).await.unwrap();
        rolled.sort_by(|a, b| a.key().cmp(&b.key()));
        scanned.sort_by(|a, b| a.key().cmp(&b.key()));
        assert_eq!(rolled, scanned, "{step}: violation groups {since}..{until}");
        for key in [
            UsageKey::App,
            UsageKey::Model,
            UsageKey::User,
            UsageKey::Day,
        ] {
            let norm = |rows: Vec<sentinel_store::reports::UsageGroupRow>| {
                let mut rows: Vec<_> = rows
                    .into_iter()
                    .map(|r| {
                        (
                            r.key,
                            r.model_name,
                            r.blocked,
                            r.events,
                            r.request_tokens.unwrap_or(0),
                            r.response_tokens.unwrap_or(0),
                        )
                    })
                    .collect();
                rows.sort();
                rows
            };
            let rolled = norm(store.usage_groups(since, until, key).await.unwrap());
            let scanned = norm(store.usage_groups_scan(since, until, key).await.unwrap());
            assert_eq!(rolled, scanned, "{step}: usage by {key:?} {since}..{until}");
        }
    }
}

fn event(
    id: &str,
    at: DateTime<Utc>,
    severity: Severity,
    status: EventStatus,
    policy_id: Option<i64>,
    source: Option<&str>,
) -> sentinel_store::NewEvent {
    let mut e = new_event(id, at);
    e.severity = severity;
    e.status = status;
    e.policy_id = policy_id;
    e.source = source.map(str::to_owned);
    e.duration_ms = policy_id.map(|p| p as f64 * 10.0);
    if policy_id.is_some() {
        e.event_type = EventType::PolicyViolation;
    }
    // What the report rollups group by: a model, a user, a decision and token counts that
    // vary (and are sometimes missing) with the other fields.
    let n = id.bytes().map(i64::from).sum::<i64>();
    e.model_name = match n % 3 {
        0 => None,
        1 => Some("gpt-4o".into()),
        _ => Some("claude|3".into()),
    };
    e.user_id = (n % 4 != 0).then_some(n % 5);
    e.decision = match severity {
        Severity::Critical => Some(sentinel_api::Decision::Block),
        Severity::High => Some(sentinel_api::Decision::Redact),
        _ => None,
    };
    e.request_tokens = (n % 2 == 0).then_some(n * 3);
    e.response_tokens = (n % 3 != 1).then_some(n * 7);
    e
}

#[tokio::test]
async fn counters_match_real_counts_after_every_kind_of_write() {
    let (store, raw, _dir) = open().await;
    let ctx = AuditContext::system();
    let p1 = store.create_policy(&ctx, policy("p1")).await.unwrap().id;
    let p2 = store.create_policy(&ctx, policy("p2")).await.unwrap().id;
    assert_exact(&store, &raw, "empty").await;

    let now = Utc::now();
    // One event at a time, with and without violations, a policy and a source (also "").
    let (first, first_violations) = store
        .create_event(
            event(
                "e1",
                now - Duration::minutes(3),
                Severity::High,
                EventStatus::Open,
                Some(p1),
                Some("ChatBot"),
            ),
            vec![
                new_violation(p1, ViolationType::DataLeak, Severity::High),
                new_violation(p2, ViolationType::PromptInjection, Severity::Critical),
            ],
        )
        .await
        .unwrap();
    store
        .create_event(
            event(
                "e2",
                now - Duration::hours(30),
                Severity::Low,
                EventStatus::Open,
                None,
                Some(""),
            ),
            Vec::new(),
        )
        .await
        .unwrap();
    store
        .create_event(
            event(
                "e3",
                Utc.with_ymd_and_hms(1969, 12, 31, 23, 30, 0).unwrap(),
                Severity::Critical,
                EventStatus::Open,
                None,
                None,
            ),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_exact(&store, &raw, "single inserts").await;

    // A batch: all stored, counted once.
    let batch = (0..40)
        .map(|i| {
            let severity = Severity::ALL[i % 4];
            let at = now - Duration::minutes(i as i64 * 37) + Duration::milliseconds(i as i64);
            let (policy_id, violations) = if i % 3 == 0 {
                (
                    Some(p2),
                    vec![new_violation(p2, ViolationType::DataLeak, severity)],
                )
            } else {
                (None, Vec::new())
            };
            (
                event(
                    &format!("b{i}"),
                    at,
                    severity,
                    EventStatus::Open,
                    policy_id,
                    Some(if i % 2 == 0 { "ChatBot" } else { "DataBot" }),
                ),
                violations,
            )
        })
        .collect::<Vec<_>>();
    store.create_events(batch).await.unwrap();
    assert_exact(&store, &raw, "batch").await;

    // Failed writes change nothing: a batch with a duplicate event_id, an event whose violation
    // names a missing policy, an event of a deleted policy.
    let before = store.counter_drift().await.unwrap();
    assert!(before.is_empty());
    let totals = (
        store.event_stats().await.unwrap().total_events,
        store.violation_stats().await.unwrap().total_violations,
    );
    let failing = vec![
        (
            event("f1", now, Severity::High, EventStatus::Open, Some(p1), None),
            vec![new_violation(p1, ViolationType::DataLeak, Severity::High)],
        ),
        (
            event("e1", now, Severity::Low, EventStatus::Open, None, None),
            Vec::new(),
        ),
    ];
    assert!(store.create_events(failing).await.is_err());
    assert!(
        store
            .create_event(
                event("f2", now, Severity::Low, EventStatus::Open, None, None),
                vec![new_violation(9999, ViolationType::DataLeak, Severity::Low)],
            )
            .await
            .is_err()
    );
    assert_eq!(
        (
            store.event_stats().await.unwrap().total_events,
            store.violation_stats().await.unwrap().total_violations,
        ),
        totals,
        "failed writes left no trace"
    );
    assert_exact(&store, &raw, "failed writes").await;

    // Triage: status changes (and a repeat, and an acknowledgement without a status).
    for status in [
        EventStatus::Acknowledged,
        EventStatus::Acknowledged,
        EventStatus::Closed,
    ] {
        let triage = to_status(status);
        store.update_event(&ctx, first.id, triage).await.unwrap();
    }
    store
        .update_event(
            &ctx,
            first.id,
            Triage {
                status: None,
                acknowledged_by: Some(Some(1)),
            },
        )
        .await
        .unwrap();
    for (v, status) in [
        (&first_violations[0], ViolationStatus::Investigating),
        (&first_violations[0], ViolationStatus::Resolved),
        (&first_violations[1], ViolationStatus::FalsePositive),
        (&first_violations[1], ViolationStatus::FalsePositive),
    ] {
        let triage = to_status(status);
        store.update_violation(&ctx, v.id, triage).await.unwrap();
    }
    let closed = to_status(EventStatus::Closed);
    assert!(store.update_event(&ctx, 987_654, closed).await.is_err());
    assert_exact(&store, &raw, "triage").await;

    // A bulk load of historical traffic, with triaged violations.
    let seeded = (0..300)
        .map(|i| {
            let at = now - Duration::days(40) + Duration::minutes(i * 211);
            let severity = Severity::ALL[(i % 4) as usize];
            let with_violation = i % 5 == 0;
            SeedEvent {
                event: event(
                    &format!("s{i}"),
                    at,
                    severity,
                    if i % 2 == 0 {
                        EventStatus::Open
                    } else {
                        EventStatus::Resolved
                    },
                    with_violation.then_some(p1),
                    Some("ChatBot"),
                ),
                violations: if with_violation {
                    vec![SeedViolation {
                        violation: new_violation(p1, ViolationType::ContentViolation, severity),
                        status: ViolationStatus::Acknowledged,
                    }]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    store.seed_events(seeded).await.unwrap();
    assert_exact(&store, &raw, "bulk load").await;

    // A deleted policy keeps its events and violations, and their counts.
    store.delete_policy(&ctx, p2).await.unwrap();
    assert_exact(&store, &raw, "policy deleted").await;

    // Retention, in small batches, then everything older than a day.
    let cutoff = now - Duration::days(20);
    let purged = store.purge_events_before(&ctx, cutoff, 7).await.unwrap();
    assert_eq!(purged.events, 7);
    assert_exact(&store, &raw, "one retention batch").await;
    while store
        .purge_events_before(&ctx, cutoff, 50)
        .await
        .unwrap()
        .events
        > 0
    {}
    assert_exact(&store, &raw, "retention to 20 days").await;
    while store
        .purge_events_before(&ctx, now - Duration::days(1), 1000)
        .await
        .unwrap()
        .events
        > 0
    {}
    assert_exact(&store, &raw, "retention to a day").await;
    assert_eq!(
        count(&raw, "event_hours WHERE events <= 0").await,
        0,
        "emptied hours are removed"
    );
}

/// Four events spread from now back to 1969, each with a violation of `p`; their violations' ids.
async fn store_four_events(store: &Store, p: i64) -> Vec<i64> {
    let now = Utc::now();
    let mut ids = Vec::new();
    for (i, at) in [
        now,
        now - Duration::minutes(61),
        now - Duration::days(3),
        Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap(),
    ]
    .into_iter()
    .enumerate()
    {
        let (_, violations) = store
            .create_event(
                event(
                    &format!("m{i}"),
                    at,
                    Severity::ALL[i],
                    EventStatus::Open,
                    (i % 2 == 0).then_some(p),
                    (i % 3 != 0).then_some("Src"),
                ),
                vec![new_violation(p, ViolationType::DataLeak, Severity::ALL[i])],
            )
            .await
            .unwrap();
        ids.extend(violations.iter().map(|v| v.id));
    }
    ids
}

#[tokio::test]
async fn migration_5_backfills_the_counters_from_stored_rows() {
    let (store, raw, _dir) = open().await;
    let ctx = AuditContext::system();
    let p = store.create_policy(&ctx, policy("p")).await.unwrap().id;
    store_four_events(&store, p).await;
    // Forget the counters and the migration that made them, then migrate again.
    for sql in [
        "DROP TABLE event_counts",
        "DROP TABLE event_hours",
        "DROP TABLE violation_counts",
        "DELETE FROM seaql_migrations WHERE version = 'm20261126_000005_counters'",
    ] {
        raw.execute_unprepared(sql).await.unwrap();
    }
    store.migrate().await.unwrap();
    assert_eq!(count(&raw, "event_counts").await, 4);
    assert_exact(&store, &raw, "backfilled").await;
}

#[tokio::test]
async fn migration_12_backfills_the_report_rollups_from_stored_rows() {
    let (store, raw, _dir) = open().await;
    let ctx = AuditContext::system();
    let p = store.create_policy(&ctx, policy("p")).await.unwrap().id;
    let violations = store_four_events(&store, p).await;
    // A reviewed, closed violation: its own rollup row.
    let triage = Triage {
        status: Some(ViolationStatus::Resolved),
        acknowledged_by: Some(Some(1)),
    };
    store
        .update_violation(&ctx, violations[1], triage)
        .await
        .unwrap();
    for sql in [
        "DROP TABLE usage_hours",
        "DROP TABLE usage_user_days",
        "DROP TABLE violation_days",
        "DELETE FROM seaql_migrations WHERE version = 'm20261205_000012_report_rollups'",
    ] {
        raw.execute_unprepared(sql).await.unwrap();
    }
    store.migrate().await.unwrap();
    assert_eq!(count(&raw, "violation_days").await, 4);
    assert_exact(&store, &raw, "backfilled").await;
}

#[tokio::test]
async fn api_totals_and_summaries_stay_exact_through_api_writes() {
    let app = spawn_app().await;
    app.enforced_policy(&policy_create("Emails", PolicyCategory::Privacy))
        .await;
    let text = "mail me at jane.doe@example.com";
    let leak = |event_id: &str| EventCreate {
        event_type: EventType::LlmResponse,
        severity: Severity::High,
        trigger_date: Timestamp::now(),
        source: Some("ChatBot".into()),
        completion: Some(text.into()),
        prompt: Some(text.into()),
        ..event_create(event_id)
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.post_event(&leak(&format!("a{i}"))).await.unwrap().id);
    }
    let err = app
        .post_events(&[leak("b1"), leak("a0")])
        .await
        .unwrap_err();
    assert_eq!(err.status, 409, "a duplicate fails the whole batch");
    let raw = Database::connect(app.url.as_str()).await.unwrap();
    let events = count(&raw, "events").await;
    let violations = count(&raw, "violations").await;
    assert_eq!(events, 3);
    assert!(violations >= 3, "each event breaches the policy");

    let first = app.list_violations("?limit=1").await.1[0].id;
    let resolved = violation_triage(ViolationStatus::Resolved, None);
    app.update_violation(first, &resolved).await.unwrap();
    let closed = event_triage(EventStatus::Closed, None);
    app.update_event(ids[0], &closed).await.unwrap();

    for (path, sql) in [
        ("/api/events/", "events"),
        ("/api/events/?status=open", "events WHERE status = 'open'"),
        (
            "/api/events/?severity=high",
            "events WHERE severity = 'high'",
        ),
        (
            "/api/events/?source=ChatBot",
            "events WHERE source = 'ChatBot'",
        ),
        (
            "/api/violations/?status=detected",
            "violations WHERE status = 'detected'",
        ),
        ("/api/violations/", "violations"),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200);
        assert_eq!(total_count(&res), count(&raw, sql).await, "{path}");
    }
    let summary = app.violation_stats().await;
    let open = "violations WHERE status IN ('detected', 'investigating')";
    assert_eq!(summary.open_violations, count(&raw, open).await);
    let summary = app.event_stats().await;
    assert_eq!(summary.total_events, 3);
    assert_eq!(summary.open_events, 2);
    assert_eq!(summary.events_last_24h, 3);
    assert!(app.store.counter_drift().await.unwrap().is_empty());
}

/// `sentinel seed --purge-demo`: every event carrying the demo mark goes, with its violations and
/// its share of every counter; an event without the mark stays.
#[tokio::test]
async fn purging_demo_events_keeps_the_counters_exact() {
    use sentinel_server::service::demo::{DEMO_MARK, DemoTraffic, seed_catalogue};
    let (store, raw, _dir) = open().await;
    let ids = seed_catalogue(&store, false).await.unwrap();
    let mut traffic = DemoTraffic::new(5, 120, ids, Utc::now());
    store.seed_events(traffic.batch(120)).await.unwrap();
    let mut real = event(
        "real-1",
        Utc::now(),
        Severity::High,
        EventStatus::Open,
        None,
        Some("billing"),
    );
    // Another key that merely contains the mark's name is not the mark.
    real.metadata = Some(
        [(format!("{DEMO_MARK}_note"), serde_json::Value::Bool(true))]
            .into_iter()
            .collect(),
    );
    store.create_event(real, Vec::new()).await.unwrap();
    assert!(
        count(&raw, "violations").await > 0,
        "the demo traffic has violations"
    );
    assert_exact(&store, &raw, "before the purge").await;

    let ctx = AuditContext::system();
    let mut batches = 0;
    let mut events = 0;
    loop {
        let purged = store
            .purge_marked_events(&ctx, DEMO_MARK, 50)
            .await
            .unwrap();
        if purged.events == 0 {
            break;
        }
        batches += 1;
        events += purged.events;
    }
    assert_eq!((batches, events), (3, 120), "batches of at most 50");
    assert_eq!(count(&raw, "events").await, 1);
    assert_eq!(count(&raw, "events WHERE event_id = 'real-1'").await, 1);
    assert_eq!(count(&raw, "violations").await, 0);
    assert_exact(&store, &raw, "after the purge").await;
    assert_eq!(
        count(&raw, "audit_log WHERE action = 'events.purge_marked'").await,
        3,
        "each batch is audited"
    );
}
