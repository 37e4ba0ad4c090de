use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sentinel_api::{Severity, ViolationType};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_422_at, id_of, new_event, new_violation, spawn_app};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn empty_store_answers_zeros() {
    let app = spawn_app().await;
    assert_eq!(
        get_json(&app, "/api/dashboard/stats").await,
        json!({"total_policies": 0, "active_policies": 0, "total_events": 0, "open_violations": 0,
               "events_last_24h": 0, "critical_violations": 0})
    );
    assert_eq!(
        get_json(&app, "/api/dashboard/events/timeline").await,
        json!([])
    );
    assert_eq!(
        get_json(&app, "/api/dashboard/events/timeline?days=7").await,
        json!([])
    );
    assert_eq!(
        get_json(&app, "/api/dashboard/recent-activity").await,
        json!([])
    );
    let perf = get_json(&app, "/api/dashboard/performance-metrics").await;
    assert_eq!(perf["avg_event_duration_ms"].as_f64(), Some(0.0), "{perf}");
    assert_eq!(perf["policy_performance"], json!([]));
    assert_eq!(
        get_json(&app, "/api/dashboard/violations/by-category").await,
        json!([])
    );
    assert_eq!(
        get_json(&app, "/api/dashboard/policies/by-status").await,
        json!([])
    );
}

#[tokio::test]
async fn stats_with_data() {
    let app = spawn_app().await;
    let p_open = id_of(&app.create_policy("Open", "privacy").await);
    app.create_policy("Draft", "privacy").await;
    let p_deleted = id_of(&app.create_policy("Deleted", "privacy").await);
    let res = app
        .put(
            &format!("/api/policies/{p_open}"),
            &json!({"status": "open"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.delete(&format!("/api/policies/{p_deleted}"))
            .await
            .status(),
        200
    );

    let now = Utc::now();
    app.create_event(
        "recent",
        json!({"trigger_date": rfc3339(now - Duration::hours(2))}),
    )
    .await;
    app.create_event(
        "old",
        json!({"trigger_date": rfc3339(now - Duration::days(2))}),
    )
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
    let res = app
        .put(
            &format!("/api/violations/{}", stored[0].id),
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(res.status(), 200);

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
        app.create_event(
            &format!("t{i}"),
            json!({"severity": severity, "trigger_date": rfc3339(at)}),
        )
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
    assert_422_at(
        app.get("/api/dashboard/events/timeline?days=0").await,
        &["query", "days"],
    )
    .await;
    assert_422_at(
        app.get("/api/dashboard/events/timeline?days=abc").await,
        &["query", "days"],
    )
    .await;
    assert_422_at(
        app.get("/api/dashboard/events/timeline?days=-3").await,
        &["query", "days"],
    )
    .await;
}

#[tokio::test]
async fn recent_activity_merges_events_and_violations() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("P", "privacy").await);
    let now = Utc::now();
    let old = app
        .create_event(
            "oldest",
            json!({"severity": "medium", "trigger_date": rfc3339(now - Duration::hours(3))}),
        )
        .await;
    let newer = app
        .create_event(
            "newer",
            json!({"severity": "high", "trigger_date": rfc3339(now - Duration::hours(1))}),
        )
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

    assert_422_at(
        app.get("/api/dashboard/recent-activity?limit=0").await,
        &["query", "limit"],
    )
    .await;
    assert_422_at(
        app.get("/api/dashboard/recent-activity?limit=x").await,
        &["query", "limit"],
    )
    .await;
}

#[tokio::test]
async fn performance_metrics_per_mode() {
    let app = spawn_app().await;
    let mut by_mode: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
    for (name, mode) in [("f1", "fast"), ("r1", "robust"), ("f2", "fast")] {
        let res = app
            .post(
                "/api/policies/",
                &json!({"name": name, "definition": "request.prompt has sentinelai.pii(email)",
                        "category": "privacy", "performance_mode": mode}),
            )
            .await;
        assert_eq!(res.status(), 200);
        by_mode
            .entry(mode)
            .or_default()
            .push(res.json().await.unwrap());
    }
    // A deleted policy does not count.
    let gone = app.create_policy("gone", "privacy").await;
    assert_eq!(
        app.delete(&format!("/api/policies/{}", id_of(&gone)))
            .await
            .status(),
        200
    );

    app.create_event("d1", json!({"duration_ms": 100.0})).await;
    app.create_event("d2", json!({"duration_ms": 250.5})).await;
    app.create_event("d3", json!({})).await;

    let perf = get_json(&app, "/api/dashboard/performance-metrics").await;
    assert_eq!(
        perf["avg_event_duration_ms"].as_f64(),
        Some(175.25),
        "{perf}"
    );
    let modes = perf["policy_performance"].as_array().unwrap();
    let names: Vec<&str> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
    assert_eq!(names, ["fast", "robust"]);
    for m in modes {
        let policies = &by_mode[m["mode"].as_str().unwrap()];
        let n = policies.len() as f64;
        let lat = policies
            .iter()
            .map(|p| p["estimated_latency_ms"].as_f64().unwrap())
            .sum::<f64>()
            / n;
        let cost = policies
            .iter()
            .map(|p| p["estimated_cost_per_event"].as_f64().unwrap())
            .sum::<f64>()
            / n;
        assert_eq!(
            m["policy_count"].as_u64(),
            Some(policies.len() as u64),
            "{m}"
        );
        assert!(
            (m["avg_latency_ms"].as_f64().unwrap() - lat).abs() < 0.01,
            "{m} vs {lat}"
        );
        assert!(
            (m["avg_cost_per_event"].as_f64().unwrap() - cost).abs() < 0.0001,
            "{m} vs {cost}"
        );
    }
    // Robust costs more than fast.
    assert!(
        modes[1]["avg_latency_ms"].as_f64().unwrap() > modes[0]["avg_latency_ms"].as_f64().unwrap()
    );
}

#[tokio::test]
async fn violations_by_category_and_policies_by_status() {
    let app = spawn_app().await;
    let a = id_of(&app.create_policy("A", "privacy").await);
    let b = id_of(&app.create_policy("B", "privacy").await);
    app.create_policy("C", "privacy").await;
    let d = id_of(&app.create_policy("D", "privacy").await);
    let e = id_of(&app.create_policy("E", "privacy").await);
    assert_eq!(
        app.put(&format!("/api/policies/{a}"), &json!({"status": "open"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put(&format!("/api/policies/{b}"), &json!({"status": "closed"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put(
            &format!("/api/policies/{d}"),
            &json!({"status": "acknowledged"})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        app.delete(&format!("/api/policies/{e}")).await.status(),
        200
    );

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
