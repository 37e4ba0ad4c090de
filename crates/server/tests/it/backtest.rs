//! Backtests (`/api/policies/backtest*`): counts checked against an independent count of the
//! seeded events, the comparison with the enforced set, events without text, triage precision,
//! cancellation, progress frames on the live stream, and bad input.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use sentinel_api::{PolicyCategory, ViolationStatus, ViolationType};
use sentinel_store::{SeedEvent, SeedViolation};

use crate::client::policy_create;
use crate::helpers::{TestApp, id_of, new_event, new_violation, spawn_app};
use crate::live::{connect, next_json};

const APPS: [&str; 3] = ["SupportBot", "DataApp", "HR"];
const MODELS: [&str; 2] = ["gpt-4o", "claude-3"];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("a date")
}

/// The seeded event `i` as the test knows it, independently of the engine.
struct Known {
    app: &'static str,
    model: &'static str,
    environment: &'static str,
    prompt: Option<String>,
}

fn known(i: usize) -> Known {
    Known {
        app: APPS[i % 3],
        model: MODELS[i % 2],
        environment: if i.is_multiple_of(2) {
            "prod"
        } else {
            "staging"
        },
        // Every tenth event was stored without its text (`store_content = none`).
        prompt: (i % 10 != 9).then(|| {
            if i.is_multiple_of(4) {
                format!("tell me about project falcon, item {i}")
            } else {
                format!("hello {i}, how are you")
            }
        }),
    }
}

/// Seeds `n` events one minute apart from [`base`], plus two with "falcon" outside the window
/// (a day before). Falcon events with `i % 8 == 0` carry an earlier violation triaged
/// `false_positive`, those with `i % 8 == 4` one `resolved`.
/// The `i`th known event, stored as `event_id` at `at`: its app, model, prompt and environment,
/// and for every eighth one with a prompt a violation of `policy_id` triaged `false_positive`
/// (or `resolved`, four events later).
fn known_event(event_id: &str, at: DateTime<Utc>, i: usize, policy_id: i64) -> SeedEvent {
    let k = known(i);
    let mut event = new_event(event_id, at);
    event.source = Some(k.app.to_owned());
    event.model_name = Some(k.model.to_owned());
    event.prompt = k.prompt.clone();
    event.metadata = Some(BTreeMap::from([(
        "environment".to_owned(),
        json!(k.environment),
    )]));
    let status = match i % 8 {
        0 => Some(ViolationStatus::FalsePositive),
        4 => Some(ViolationStatus::Resolved),
        _ => None,
    };
    let violations = status
        .filter(|_| k.prompt.is_some())
        .map(|status| SeedViolation {
            violation: new_violation(
                policy_id,
                ViolationType::PolicyBreach,
                sentinel_api::Severity::Medium,
            ),
            status,
        })
        .into_iter()
        .collect();
    SeedEvent { event, violations }
}

async fn seed(app: &TestApp, n: usize, policy_id: i64) {
    let mut batch = Vec::new();
    for i in 0..n {
        let at = base() + chrono::Duration::minutes(i as i64);
        batch.push(known_event(&format!("bt-{i}"), at, i, policy_id));
    }
    for j in 0..2 {
        let mut event = new_event(&format!("bt-early-{j}"), base() - chrono::Duration::days(1));
        event.prompt = Some("project falcon, before the window".into());
        batch.push(SeedEvent {
            event,
            violations: Vec::new(),
        });
    }
    app.store.seed_events(batch).await.expect("seed events");
}

fn window(n: usize) -> (String, String) {
    let until = base() + chrono::Duration::minutes(n as i64);
    (base().to_rfc3339(), until.to_rfc3339())
}

/// An enforced policy flagging prompts that contain "hello 1" (hello 1, 10–19, 100–199, …).
async fn enforce_hello_one(app: &TestApp) -> i64 {
    let mut body = policy_create("hello one", PolicyCategory::Governance);
    body.definition = "request.prompt contains \"hello 1\"".into();
    app.enforced_policy(&body).await.id
}

/// Starts a backtest and waits until it has ended; returns the job.
async fn backtest(app: &TestApp, body: &Value) -> Value {
    let res = app.post("/api/policies/backtest", body).await;
    assert_eq!(
        res.status(),
        202,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let job: Value = res.json().await.expect("json");
    assert_eq!(job["status"], "queued");
    wait_for_end(app, id_of(&job)).await
}

async fn wait_for_end(app: &TestApp, id: i64) -> Value {
    for _ in 0..600 {
        let job: Value = app
            .get(&format!("/api/policies/backtests/{id}"))
            .await
            .json()
            .await
            .expect("json");
        if ["done", "cancelled", "failed"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("backtest {id} did not end within 60 s");
}

fn count_of(list: &Value, key: &str) -> u64 {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|c| c["key"] == key)
        .map_or(0, |c| c["count"].as_u64().unwrap_or(0))
}

const N: usize = 240;

#[tokio::test]
async fn a_draft_backtest_counts_what_an_independent_count_finds() {
    let app = spawn_app().await;
    let hello = enforce_hello_one(&app).await;
    seed(&app, N, hello).await;
    let (since, until) = window(N);
    let job = backtest(
        &app,
        &json!({
            "definition": "request.prompt contains \"falcon\"",
            "action": "block",
            "since": since,
            "until": until,
        }),
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    let r = &job["result"];

    // The independent count, from what the test seeded.
    let all: Vec<Known> = (0..N).map(known).collect();
    let replayable: Vec<(usize, &Known)> = all
        .iter()
        .enumerate()
        .filter(|(_, k)| k.prompt.is_some())
        .collect();
    let falcon = |k: &Known| k.prompt.as_deref().is_some_and(|p| p.contains("falcon"));
    let hello_one = |k: &Known| k.prompt.as_deref().is_some_and(|p| p.contains("hello 1"));
    let flagged: Vec<(usize, &Known)> = replayable
        .iter()
        .copied()
        .filter(|(_, k)| falcon(k))
        .collect();
    let currently = replayable.iter().filter(|(_, k)| hello_one(k)).count() as u64;

    assert_eq!(r["events_read"], N as u64);
    assert_eq!(r["not_replayable"], (N - replayable.len()) as u64);
    assert_eq!(r["events_scanned"], replayable.len() as u64);
    assert_eq!(r["events_flagged"], flagged.len() as u64);
    assert!(!flagged.is_empty() && currently > 0);
    assert_eq!(r["by_decision"]["block"], flagged.len() as u64);
    assert_eq!(r["by_decision"]["notify"], 0);
    for a in APPS {
        let expected = flagged.iter().filter(|(_, k)| k.app == a).count() as u64;
        assert_eq!(count_of(&r["by_app"], a), expected, "{a}");
    }
    for m in MODELS {
        let expected = flagged.iter().filter(|(_, k)| k.model == m).count() as u64;
        assert_eq!(count_of(&r["by_model"], m), expected, "{m}");
    }
    assert_eq!(
        count_of(&r["by_detector"], "contains"),
        flagged.len() as u64
    );

    // Against the enforced set: the draft adds its events, takes none away.
    let v = &r["versus_enforced"];
    assert_eq!(v["enforced_policies"], 1);
    assert_eq!(v["currently_flagged"], currently);
    assert_eq!(v["newly_flagged"], flagged.len() as u64);
    assert_eq!(v["no_longer_flagged"], 0);

    // Triage: false positives on i % 8 == 0, resolved on i % 8 == 4 (all falcon events).
    let fp = flagged.iter().filter(|(i, _)| i.is_multiple_of(8)).count() as u64;
    let ok = flagged.iter().filter(|(i, _)| i % 8 == 4).count() as u64;
    let p = &r["precision"];
    assert_eq!(p["false_positive"], fp);
    assert_eq!(p["confirmed"], ok);
    assert_eq!(p["labelled"], fp + ok);
    let estimate = p["estimate"].as_f64().expect("an estimate");
    assert!((estimate - ok as f64 / (fp + ok) as f64).abs() < 0.001);

    // The sample: the first 20 flagged events in time order, each finding covering "falcon".
    let sample = r["sample"].as_array().expect("a sample");
    assert_eq!(sample.len(), 20);
    for (s, (i, k)) in sample.iter().zip(&flagged) {
        assert_eq!(s["app"], k.app, "event {i}");
        assert_eq!(s["decision"], "block");
        assert_eq!(s["findings"][0]["text"], "falcon");
        assert_eq!(s["findings"][0]["target"], "prompt");
    }
    assert_eq!(job["progress"], 1.0);
    assert_eq!(job["scanned"], N as u64);
    assert_eq!(job["flagged"], flagged.len() as u64);
}

#[tokio::test]
async fn versions_and_replacements_compare_with_the_enforced_set() {
    let app = spawn_app().await;
    let hello = enforce_hello_one(&app).await;
    seed(&app, N, hello).await;
    let (since, until) = window(N);
    let replayable: Vec<Known> = (0..N).map(known).filter(|k| k.prompt.is_some()).collect();
    let hello_one = replayable
        .iter()
        .filter(|k| k.prompt.as_deref().is_some_and(|p| p.contains("hello 1")))
        .count() as u64;
    let falcon = replayable
        .iter()
        .filter(|k| k.prompt.as_deref().is_some_and(|p| p.contains("falcon")))
        .count() as u64;

    // A draft of the enforced policy's next version replaces it: what it caught is no longer
    // flagged, what the draft catches is new.
    let job = backtest(
        &app,
        &json!({
            "policy_id": hello,
            "definition": "request.prompt contains \"falcon\"",
            "since": since,
            "until": until,
        }),
    )
    .await;
    let v = &job["result"]["versus_enforced"];
    assert_eq!(v["currently_flagged"], hello_one, "{job}");
    assert_eq!(v["no_longer_flagged"], hello_one);
    assert_eq!(v["newly_flagged"], falcon);
    assert_eq!(v["flagged_with_candidate"], falcon);
    assert_eq!(job["policy_id"], hello);

    // The stored policy as it is: the same events as today.
    let job = backtest(
        &app,
        &json!({"policy_id": hello, "since": since, "until": until}),
    )
    .await;
    let r = &job["result"];
    assert_eq!(r["events_flagged"], hello_one, "{job}");
    assert_eq!(r["by_decision"]["notify"], hello_one);
    assert_eq!(r["versus_enforced"]["newly_flagged"], 0);
    assert_eq!(r["versus_enforced"]["no_longer_flagged"], 0);

    // Version 1 of a policy whose definition changed since: the old definition is replayed.
    let res = app
        .put(
            &format!("/api/policies/{hello}"),
            &json!({"definition": "request.prompt contains \"nothing matches this\""}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let job = backtest(
        &app,
        &json!({"policy_id": hello, "version": 1, "since": since, "until": until}),
    )
    .await;
    assert_eq!(job["result"]["events_flagged"], hello_one, "{job}");

    // Filters: one app, one model, one environment.
    let job = backtest(
        &app,
        &json!({
            "definition": "request.prompt contains \"falcon\"",
            "since": since, "until": until,
            "app": "DataApp", "environment": "prod",
        }),
    )
    .await;
    let expected = (0..N)
        .map(known)
        .filter(|k| k.app == "DataApp" && k.environment == "prod")
        .count() as u64;
    assert_eq!(job["result"]["events_read"], expected, "{job}");
    let expected_flagged = (0..N)
        .map(known)
        .filter(|k| {
            k.app == "DataApp"
                && k.environment == "prod"
                && k.prompt.as_deref().is_some_and(|p| p.contains("falcon"))
        })
        .count() as u64;
    assert_eq!(job["result"]["events_flagged"], expected_flagged);

    // Both results are kept, newest first, side by side.
    let res = app.get("/api/policies/backtests").await;
    assert_eq!(res.status(), 200);
    assert_eq!(crate::helpers::total_count(&res), 4);
    let list: Vec<Value> = res.json().await.expect("json");
    assert!(
        list.iter()
            .all(|j| j["status"] == "done" && j["result"].is_object())
    );
    assert!(id_of(&list[0]) > id_of(&list[3]));
}

#[tokio::test]
async fn events_without_text_are_not_replayable_never_clean() {
    let app = spawn_app().await;
    let hello = enforce_hello_one(&app).await;
    seed(&app, 30, hello).await;
    let (since, until) = window(30);
    // A definition that flags every text: all replayable events are flagged, and the three
    // without text are neither flagged nor scanned.
    let job = backtest(
        &app,
        &json!({"definition": "not request.prompt contains \"zzzz\"", "since": since, "until": until}),
    )
    .await;
    let r = &job["result"];
    assert_eq!(r["events_read"], 30, "{job}");
    assert_eq!(r["not_replayable"], 3);
    assert_eq!(r["events_scanned"], 27);
    assert_eq!(r["events_flagged"], 27);
}

#[tokio::test]
async fn a_cancelled_backtest_stops_and_keeps_no_result() {
    let app = spawn_app().await;
    // Enough work for a debug build to take seconds: long texts through the PII detector.
    let filler =
        "Please review the quarterly figures for the north region and send a summary. ".repeat(12);
    let mut batch = Vec::new();
    for i in 0..20_000 {
        let mut event = new_event(&format!("c-{i}"), base() + chrono::Duration::seconds(i));
        event.prompt = Some(format!("{filler} mail user{i}@example.com"));
        batch.push(SeedEvent {
            event,
            violations: Vec::new(),
        });
    }
    app.store.seed_events(batch).await.expect("seed");
    let res = app
        .post(
            "/api/policies/backtest",
            &json!({
                "definition": "any.text has sentinelai.pii",
                "since": base().to_rfc3339(),
                "until": (base() + chrono::Duration::days(1)).to_rfc3339(),
            }),
        )
        .await;
    assert_eq!(res.status(), 202);
    let id = id_of(&res.json::<Value>().await.expect("json"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app
        .post(&format!("/api/policies/backtests/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let job: Value = res.json().await.expect("json");
    assert_eq!(job["status"], "cancelled", "{job}");
    // The job saw the cancellation and stopped: it never overwrites it with a result.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let job: Value = app
        .get(&format!("/api/policies/backtests/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(job["status"], "cancelled", "{job}");
    assert!(job["result"].is_null());
    assert!(job["scanned"].as_u64() < Some(20_000), "{job}");
    // Cancelling again answers the job as it is; DELETE does the same; unknown ids are 404.
    let res = app.delete(&format!("/api/policies/backtests/{id}")).await;
    assert_eq!(res.status(), 200);
    let res = app.delete("/api/policies/backtests/999999").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "backtest_not_found");
}

#[tokio::test]
async fn progress_frames_reach_the_live_stream() {
    let app = spawn_app().await;
    let hello = enforce_hello_one(&app).await;
    seed(&app, 50, hello).await;
    let mut ws = connect(&app).await;
    let subscribe = json!({"type": "subscribe", "types": ["backtest_progress"]});
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    // Let the subscription land before the job starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (since, until) = window(50);
    let res = app
        .post(
            "/api/policies/backtest",
            &json!({"definition": "request.prompt contains \"falcon\"", "since": since, "until": until}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let id = id_of(&res.json::<Value>().await.expect("json"));
    let mut statuses = Vec::new();
    loop {
        let frame = next_json(&mut ws).await;
        if frame["type"] == "subscribed" {
            continue;
        }
        assert_eq!(frame["type"], "backtest_progress", "{frame}");
        let b = &frame["backtest"];
        assert_eq!(b["id"], id);
        statuses.push(b["status"].as_str().unwrap_or_default().to_owned());
        if b["status"] == "done" {
            assert_eq!(b["scanned"], 50);
            assert_eq!(b["progress"], 1.0);
            break;
        }
    }
    assert_eq!(statuses.first().map(String::as_str), Some("running"));
}

#[tokio::test]
async fn bad_backtests_are_4xx_with_a_useful_detail() {
    let app = spawn_app().await;
    let hello = enforce_hello_one(&app).await;
    let post = |body: Value| {
        let app = &app;
        async move {
            let res = app.post("/api/policies/backtest", &body).await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("json"))
        }
    };
    let detail_at = |body: &Value, field: &str| -> String {
        body["detail"]
            .as_array()
            .and_then(|issues| {
                issues
                    .iter()
                    .find(|i| i["loc"] == json!(["body", field]))
                    .map(|i| i["msg"].as_str().unwrap_or_default().to_owned())
            })
            .unwrap_or_else(|| panic!("no issue at {field}: {body}"))
    };

    let (status, body) = post(json!({"policy_id": 4242, "since": "7d"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("policy_not_found"))
    );
    let (status, body) = post(json!({"policy_id": hello, "version": 9, "since": "7d"})).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "policy_version_not_found");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("has no version 9"),
        "{body}"
    );

    let (status, body) = post(json!({"definition": "x has y", "since": "last tuesday"})).await;
    assert_eq!(status, 422);
    assert!(detail_at(&body, "since").contains("7d"), "{body}");
    let (status, body) = post(json!({
        "definition": "request.prompt contains \"a\"",
        "since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z",
    }))
    .await;
    assert_eq!(status, 422);
    assert!(
        detail_at(&body, "until").contains("must be after"),
        "{body}"
    );
    let (status, body) = post(json!({
        "definition": "request.prompt has sentinelai.pi", "since": "7d",
    }))
    .await;
    assert_eq!(status, 422);
    assert!(
        detail_at(&body, "definition").contains("sentinelai.pii"),
        "{body}"
    );
    let (status, body) = post(json!({"since": "7d"})).await;
    assert_eq!(status, 422);
    assert!(
        detail_at(&body, "definition").contains("policy_id"),
        "{body}"
    );
    let (status, body) = post(json!({
        "definition": "request.prompt contains \"a\"", "version": 1, "since": "7d",
    }))
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(json!({"policy_id": hello, "action": "block", "since": "7d"})).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = post(json!({"definition": "request.prompt contains \"a\""})).await;
    assert_eq!(status, 422);
    let (status, _) = post(json!({
        "definition": "request.prompt contains \"a\"", "since": "7d", "sample_size": 1000,
    }))
    .await;
    assert_eq!(status, 422);
    let res = app.get("/api/policies/backtests/77").await;
    assert_eq!(res.status(), 404);
    // Nothing was recorded for the refused requests.
    let res = app.get("/api/policies/backtests").await;
    assert_eq!(crate::helpers::total_count(&res), 0);
}

/// The time ranges a backtest is split into, and their pages, must neither drop nor repeat an
/// event: 300 events in groups of 40 sharing one `trigger_date` (so that range boundaries and
/// page ends fall inside a group), read as one range by one thread and in 2 to 300 ranges by
/// several threads with pages of 1 to 13 events, give the same result, which is also the
/// independent count of what was seeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_readings_give_the_sequential_result() {
    use sentinel_api::backtest::BacktestCreate;
    use sentinel_server::service::backtest::{self as service, Reading};

    let app = spawn_app().await;
    let hello = enforce_hello_one(&app).await;
    const EVENTS: usize = 300;
    let at = |i: usize| {
        if i < 240 {
            base() + chrono::Duration::minutes((i / 40) as i64)
        } else {
            base() + chrono::Duration::hours(1) + chrono::Duration::milliseconds(i as i64 * 1500)
        }
    };
    let mut batch = Vec::new();
    for i in 0..EVENTS {
        batch.push(known_event(&format!("g-{i}"), at(i), i, hello));
    }
    app.store.seed_events(batch).await.expect("seed events");

    let body = BacktestCreate {
        definition: Some(
            "request.prompt contains \"falcon\" or request.prompt contains \"how\"".into(),
        ),
        since: base().to_rfc3339(),
        until: Some((base() + chrono::Duration::days(1)).to_rfc3339()),
        sample_size: Some(100),
        ..Default::default()
    };
    let plan = service::plan(&app.store, body, Utc::now())
        .await
        .expect("a plan");
    let enforced = service::enforced_specs(&app.store).await.expect("enforced");
    let window = sentinel_store::ReplayWindow {
        since: plan.since.0,
        until: plan.until.0,
        app: None,
        model: None,
    };
    let total = app.store.count_replay(&window).await.expect("count");
    assert_eq!(total, EVENTS as u64);
    let run = |reading: Reading| {
        let (store, plan, enforced) = (app.store.clone(), plan.clone(), enforced.clone());
        async move {
            let mut result =
                service::run_with(&store, &plan, enforced, total, reading, |_| async { true })
                    .await
                    .expect("a run")
                    .expect("not cancelled");
            result.duration_ms = 0;
            result
        }
    };
    let sequential = run(Reading {
        ranges: 1,
        threads: 1,
        page_size: 4096,
    })
    .await;

    // The independent count: every replayable event is flagged (its prompt has "falcon" or
    // "how"), the sample is the first 100 of them in time order.
    let replayable: Vec<usize> = (0..EVENTS).filter(|i| known(*i).prompt.is_some()).collect();
    assert_eq!(sequential.events_read, EVENTS as u64);
    assert_eq!(sequential.events_flagged, replayable.len() as u64);
    assert_eq!(sequential.sample.len(), 100);
    let seen: Vec<String> = sequential
        .sample
        .iter()
        .map(|s| s.trigger_date.to_string())
        .collect();
    let expected_times: Vec<String> = replayable
        .iter()
        .take(100)
        .map(|i| sentinel_api::Timestamp(at(*i)).to_string())
        .collect();
    assert_eq!(seen, expected_times);
    assert!(sequential.sample.windows(2).all(|w| w[0].id < w[1].id));
    let fp = replayable.iter().filter(|i| *i % 8 == 0).count() as u64;
    let ok = replayable.iter().filter(|i| *i % 8 == 4).count() as u64;
    assert_eq!(sequential.precision.false_positive, fp);
    assert_eq!(sequential.precision.confirmed, ok);

    for (ranges, threads, page_size) in [
        (2, 2, 7),
        (3, 2, 5),
        (4, 3, 40),
        (7, 2, 1),
        (16, 4, 13),
        (300, 2, 3),
    ] {
        let reading = Reading {
            ranges,
            threads,
            page_size,
        };
        let split = run(reading).await;
        // Counts first, for a short message; then everything, sample included.
        let counts = |r: &sentinel_api::backtest::BacktestResult| {
            (
                r.events_read,
                r.events_scanned,
                r.events_flagged,
                r.precision.labelled,
            )
        };
        assert_eq!(counts(&split), counts(&sequential), "{reading:?}");
        assert_eq!(split, sequential, "{reading:?}");
    }
}
