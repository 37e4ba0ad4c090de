use chrono::{Duration, Utc};
use sentinel_api::dashboard::PerformanceMetrics;
use sentinel_api::policy::{PolicyCreate, PolicyResponse};
use sentinel_api::{
    PerformanceMode, PolicyCategory, PolicyStatus, Severity, ViolationStatus, ViolationType,
};
use serde_json::{Value, json};

use crate::client::{policy_create, policy_status, violation_triage};
use crate::helpers::{TestApp, id_of, new_event, new_violation, spawn_app};

/// The dashboard route `path` as JSON: its exact shape is what these tests check.
async fn get_json(app: &TestApp, path: &str) -> Value {
    app.get_ok(path).await
}

/// Moves each policy to its status; `None` deletes it.
async fn set_statuses(app: &TestApp, changes: &[(i64, Option<PolicyStatus>)]) {
    for (id, status) in changes {
        match status {
            Some(status) => {
                app.update_policy(*id, &policy_status(*status))
                    .await
                    .unwrap();
            }
            None => {
                app.delete_policy(*id).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn empty_store_answers_zeros() {
    let app = spawn_app().await;
    assert_eq!(
        get_json(&app, "/api/dashboard/stats").await,
        json!({"total_policies": 0, "active_policies": 0, "total_events": 0, "open_violations": 0,
               "events_last_24h": 0, "critical_violations": 0})
    );
    for path in [
        "events/timeline",
        "events/timeline?days=7",
        "recent-activity",
        "violations/by-category",
        "policies/by-status",
    ] {
        let body = get_json(&app, &format!("/api/dashboard/{path}")).await;
        assert_eq!(body, json!([]), "{path}");
    }
    let perf = get_json(&app, "/api/dashboard/performance-metrics").await;
    assert_eq!(perf["avg_event_duration_ms"].as_f64(), Some(0.0), "{perf}");
    assert_eq!(perf["policy_performance"], json!([]));
}

#[tokio::test]
async fn stats_with_data() {
    let app = spawn_app().await;
    let p_open = id_of(&app.create_policy("Open", "privacy").await);
    app.create_policy("Draft", "privacy").await;
    let p_deleted = id_of(&app.create_policy("Deleted", "privacy").await);
    let changes = [(p_open, Some(PolicyStatus::Open)), (p_deleted, None)];
    set_statuses(&app, &changes).await;

    let now = Utc::now();
    app.create_event_at("recent", "low", (now, Duration::hours(2)))
        .await;
    app.create_event_at("old", "low", (now, Duration::days(2)))
        .await;
    let (_, stored) = app
        .store
        .create_event(
            new_event("with-violations", now - Duration::days(5)),
            vec![
                new_violation(p_open, ViolationType::DataLeak, Severity::Critical),
                new_violation(p_open, ViolationType::DataLeak, Severity::Critical),
                new_violation(p_open, ViolationType::PromptInjection, Severity::High),
            ],
        )
        .await
        .unwrap();
    let resolved = violation_triage(ViolationStatus::Resolved, None);
    app.update_violation(stored[0].id, &resolved).await.unwrap();

    assert_eq!(
        get_json(&app, "/api/dashboard/stats").await,
        json!({"total_policies": 2, "active_policies": 1, "total_events": 3, "open_violations": 2,
               "events_last_24h": 1, "critical_violations": 2})
    );
}

#[tokio::test]
async fn timeline_groups_by_utc_date() {
    let app = spawn_app().await;
    let now = Utc::now();
    let offsets_and_severities = [
        (Duration::hours(1), "low"),
        (Duration::hours(1) + Duration::minutes(5), "critical"),
        (Duration::days(2), "high"),
        (Duration::days(2) + Duration::minutes(1), "high"),
        (Duration::days(4), "medium"),
        (Duration::days(10), "critical"), // outside a 7-day window
        (Duration::days(40), "low"),
    ];
    let mut expected: std::collections::BTreeMap<String, [u64; 4]> = Default::default();
    for (i, (offset, severity)) in offsets_and_severities.iter().enumerate() {
        let at = now - *offset;
        app.create_event_at(&format!("t{i}"), severity, (now, *offset))
            .await;
        if *offset <= Duration::days(6) {
            let slot = match *severity {
                "low" => 0,
                "medium" => 1,
                "high" => 2,
                _ => 3,
            };
            expected
                .entry(at.format("%Y-%m-%d").to_string())
                .or_default()[slot] += 1;
        }
    }
    let timeline = get_json(&app, "/api/dashboard/events/timeline?days=7").await;
    let items = timeline.as_array().expect("a list");
    let want: Vec<Value> = expected
        .iter()
        .map(|(date, [low, medium, high, critical])| {
            json!({"date": date, "total": low + medium + high + critical,
                   "severity_breakdown": {"low": low, "medium": medium, "high": high, "critical": critical}})
        })
        .collect();
    assert_eq!(items, &want, "{timeline}");
    // Dates ascend and every item has all four severity keys.
    let dates: Vec<&str> = items.iter().map(|i| i["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(dates, sorted);
    let total: u64 = items.iter().map(|i| i["total"].as_u64().unwrap()).sum();
    assert_eq!(total, 5);

    // The default window is 7 days as well; a wider one reaches further back.
    assert_eq!(
        get_json(&app, "/api/dashboard/events/timeline").await,
        timeline
    );
    let wide = get_json(&app, "/api/dashboard/events/timeline?days=60").await;
    let total: u64 = wide
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["total"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 7);
}

#[tokio::test]
async fn timeline_days_must_be_a_positive_integer() {
    let app = spawn_app().await;
    let invalid = [
        ("days=0", "days"),
        ("days=abc", "days"),
        ("days=-3", "days"),
    ];
    app.assert_invalid_queries("/api/dashboard/events/timeline", &invalid)
        .await;
}

#[tokio::test]
async fn recent_activity_merges_events_and_violations() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("P", "privacy").await);
    let now = Utc::now();
    let old = app
        .create_event_at("oldest", "medium", (now, Duration::hours(3)))
        .await;
    let newer = app
        .create_event_at("newer", "high", (now, Duration::hours(1)))
        .await;
    let (middle, stored) = app
        .store
        .create_event(
            new_event("middle", now - Duration::hours(2)),
            vec![new_violation(
                p,
                ViolationType::DataLeak,
                Severity::Critical,
            )],
        )
        .await
        .unwrap();
    let violation = &stored[0];

    let items = get_json(&app, "/api/dashboard/recent-activity").await;
    let items = items.as_array().unwrap();
    let kinds_and_ids: Vec<(&str, i64)> = items
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds_and_ids,
        vec![
            ("violation", violation.id),
            ("event", id_of(&newer)),
            ("event", middle.id),
            ("event", id_of(&old))
        ]
    );
    for item in items {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["id", "severity", "status", "timestamp", "title", "type"]
        );
    }
    assert_eq!(items[0]["severity"], "critical");
    assert_eq!(items[0]["status"], "detected");
    assert_eq!(items[0]["title"], violation.title.clone().unwrap());
    assert_eq!(items[1]["title"], "Event newer");
    assert_eq!(items[1]["severity"], "high");
    assert_eq!(items[1]["status"], "open");
    assert_eq!(items[1]["timestamp"], newer["trigger_date"]);

    let limited = get_json(&app, "/api/dashboard/recent-activity?limit=2").await;
    let limited: Vec<(&str, i64)> = limited
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        limited,
        vec![("violation", violation.id), ("event", id_of(&newer))]
    );

    let invalid = [("limit=0", "limit"), ("limit=x", "limit")];
    app.assert_invalid_queries("/api/dashboard/recent-activity", &invalid)
        .await;
}

#[tokio::test]
async fn performance_metrics_per_mode() {
    let app = spawn_app().await;
    let mut by_mode: std::collections::HashMap<PerformanceMode, Vec<PolicyResponse>> =
        Default::default();
    for (name, mode) in [
        ("f1", PerformanceMode::Fast),
        ("r1", PerformanceMode::Robust),
        ("f2", PerformanceMode::Fast),
    ] {
        let body = PolicyCreate {
            performance_mode: mode,
            ..policy_create(name, PolicyCategory::Privacy)
        };
        let created = app.post_policy(&body).await.unwrap();
        by_mode.entry(mode).or_default().push(created);
    }
    // A deleted policy does not count.
    let gone = app.create_policy("gone", "privacy").await;
    set_statuses(&app, &[(id_of(&gone), None)]).await;

    app.create_event("d1", json!({"duration_ms": 100.0})).await;
    app.create_event("d2", json!({"duration_ms": 250.5})).await;
    app.create_event("d3", json!({})).await;

    let perf: PerformanceMetrics = app.get_ok("/api/dashboard/performance-metrics").await;
    assert_eq!(perf.avg_event_duration_ms, 175.25, "{perf:?}");
    let modes = &perf.policy_performance;
    let names: Vec<PerformanceMode> = modes.iter().map(|m| m.mode).collect();
    assert_eq!(names, [PerformanceMode::Fast, PerformanceMode::Robust]);
    for m in modes {
        let policies = &by_mode[&m.mode];
        let n = policies.len() as f64;
        let lat = policies.iter().map(|p| p.estimated_latency_ms).sum::<f64>() / n;
        let cost = policies
            .iter()
            .map(|p| p.estimated_cost_per_event)
            .sum::<f64>()
            / n;
        assert_eq!(m.policy_count, policies.len() as u64, "{m:?}");
        assert!((m.avg_latency_ms - lat).abs() < 0.01, "{m:?} vs {lat}");
        assert!(
            (m.avg_cost_per_event - cost).abs() < 0.0001,
            "{m:?} vs {cost}"
        );
    }
    // Robust costs more than fast.
    assert!(modes[1].avg_latency_ms > modes[0].avg_latency_ms);
}

#[tokio::test]
async fn violations_by_category_and_policies_by_status() {
    let app = spawn_app().await;
    let a = id_of(&app.create_policy("A", "privacy").await);
    let b = id_of(&app.create_policy("B", "privacy").await);
    app.create_policy("C", "privacy").await;
    let d = id_of(&app.create_policy("D", "privacy").await);
    let e = id_of(&app.create_policy("E", "privacy").await);
    let changes = [
        (a, Some(PolicyStatus::Open)),
        (b, Some(PolicyStatus::Closed)),
        (d, Some(PolicyStatus::Acknowledged)),
        (e, None),
    ];
    set_statuses(&app, &changes).await;

    assert_eq!(
        get_json(&app, "/api/dashboard/policies/by-status").await,
        json!([{"status": "acknowledged", "count": 1}, {"status": "closed", "count": 1},
               {"status": "draft", "count": 1}, {"status": "open", "count": 1}])
    );

    app.store
        .create_event(
            new_event("v", Utc::now()),
            vec![
                new_violation(a, ViolationType::SecurityIncident, Severity::Low),
                new_violation(a, ViolationType::DataLeak, Severity::Low),
                new_violation(b, ViolationType::PromptInjection, Severity::Low),
                new_violation(b, ViolationType::DataLeak, Severity::Low),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        get_json(&app, "/api/dashboard/violations/by-category").await,
        json!([{"category": "data_leak", "count": 2}, {"category": "prompt_injection", "count": 1},
               {"category": "security_incident", "count": 1}])
    );
}
