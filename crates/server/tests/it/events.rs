use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_422_at, id_of, spawn_app, total_count};

fn event_body(event_id: &str) -> Value {
    json!({
        "event_id": event_id,
        "event_type": "llm_request",
        "title": format!("Event {event_id}"),
        "trigger_date": "2026-11-20T10:00:00Z",
    })
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn list(app: &TestApp, query: &str) -> (u64, Vec<Value>) {
    let res = app.get(&format!("/api/events/{query}")).await;
    assert_eq!(res.status(), 200, "GET /api/events/{query}");
    let total = total_count(&res);
    (total, res.json().await.unwrap())
}

fn event_ids(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn create_answers_an_open_event_with_every_legacy_key() {
    let app = spawn_app().await;
    let res = app.post("/api/events/", &event_body("evt-1")).await;
    assert_eq!(res.status(), 200);
    let e: Value = res.json().await.unwrap();
    for key in [
        "id",
        "event_id",
        "event_type",
        "severity",
        "title",
        "description",
        "event_data",
        "trigger_date",
        "status",
        "policy_id",
        "user_id",
        "acknowledged_by",
        "acknowledged_date",
        "created_at",
        "updated_at",
    ] {
        assert!(e.get(key).is_some(), "missing key {key} in {e}");
    }
    assert!(e["id"].as_i64().unwrap() > 0);
    assert_eq!(e["event_id"], "evt-1");
    assert_eq!(e["event_type"], "llm_request");
    assert_eq!(e["severity"], "low");
    assert_eq!(e["status"], "open");
    assert_eq!(e["title"], "Event evt-1");
    assert_eq!(e["trigger_date"], "2026-11-20T10:00:00Z");
    assert_eq!(e["acknowledged_by"], Value::Null);
    assert_eq!(e["acknowledged_date"], Value::Null);
    assert_eq!(e["updated_at"], Value::Null);
    assert_eq!(e["policy_id"], Value::Null);
    assert!(e["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn create_ignores_a_requested_status_and_round_trips_optional_fields() {
    let app = spawn_app().await;
    let policy = app.create_policy("Linked", "privacy").await;
    let body = json!({
        "event_id": "evt-full",
        "event_type": "llm_response",
        "severity": "high",
        "title": "Full event",
        "description": "All the fields",
        "event_data": "{\"prompt\":\"hi\"}",
        "trigger_date": "2026-11-20T12:30:00+02:00",
        "status": "closed",
        "policy_id": policy["id"],
        "user_id": 7,
        "source": "support-bot",
        "model_name": "gpt-x",
        "prompt": "What is my balance?",
        "completion": "It is 42.",
        "request_tokens": 12,
        "response_tokens": 5,
        "duration_ms": 123.5,
        "metadata": {"team": "payments", "tags": ["a", "b"], "n": 3},
        "something_unknown": true,
    });
    let res = app.post("/api/events/", &body).await;
    assert_eq!(res.status(), 200);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["status"], "open");
    assert_eq!(e["severity"], "high");
    assert_eq!(e["event_type"], "llm_response");
    assert_eq!(e["trigger_date"], "2026-11-20T10:30:00Z");
    for key in [
        "description",
        "event_data",
        "policy_id",
        "user_id",
        "source",
        "model_name",
        "prompt",
        "completion",
        "request_tokens",
        "response_tokens",
        "duration_ms",
        "metadata",
    ] {
        assert_eq!(e[key], body[key], "{key}");
    }
    let stored: Value = app
        .get(&format!("/api/events/{}", id_of(&e)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, e);
}

#[tokio::test]
async fn naive_trigger_date_is_taken_as_utc() {
    let app = spawn_app().await;
    let mut body = event_body("naive");
    body["trigger_date"] = json!("2026-11-20T08:15:00");
    let res = app.post("/api/events/", &body).await;
    assert_eq!(res.status(), 200);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["trigger_date"], "2026-11-20T08:15:00Z");

    let mut body = event_body("bad-date");
    body["trigger_date"] = json!("yesterday");
    assert_422_at(
        app.post("/api/events/", &body).await,
        &["body", "trigger_date"],
    )
    .await;
}

#[tokio::test]
async fn duplicate_event_id_is_409() {
    let app = spawn_app().await;
    let first = app.create_event("dup", json!({})).await;
    let mut body = event_body("dup");
    body["title"] = json!("Second");
    let res = app.post("/api/events/", &body).await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "duplicate_event_id");
    assert!(err["detail"].is_string());
    let (total, list) = list(&app, "").await;
    assert_eq!(total, 1);
    assert_eq!(list[0]["id"], first["id"]);
    assert_eq!(list[0]["title"], "Event dup");
}

#[tokio::test]
async fn missing_required_fields_and_bad_enums_are_422() {
    let app = spawn_app().await;
    for field in ["event_id", "event_type", "title", "trigger_date"] {
        let mut body = event_body("missing");
        body.as_object_mut().unwrap().remove(field);
        assert_422_at(app.post("/api/events/", &body).await, &["body", field]).await;
    }
    let mut body = event_body("bad-type");
    body["event_type"] = json!("telepathy");
    assert_422_at(
        app.post("/api/events/", &body).await,
        &["body", "event_type"],
    )
    .await;
    let mut body = event_body("bad-sev");
    body["severity"] = json!("apocalyptic");
    assert_422_at(app.post("/api/events/", &body).await, &["body", "severity"]).await;
    let mut body = event_body("unknown-policy");
    body["policy_id"] = json!(999);
    assert_422_at(
        app.post("/api/events/", &body).await,
        &["body", "policy_id"],
    )
    .await;
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn get_by_numeric_id_and_404() {
    let app = spawn_app().await;
    let e = app.create_event("get-me", json!({})).await;
    let res = app.get(&format!("/api/events/{}", id_of(&e))).await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got, e);

    let res = app.get("/api/events/999").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Event not found", "code": "event_not_found"})
    );

    assert_422_at(app.get("/api/events/get-me").await, &["path", "event_id"]).await;
}

#[tokio::test]
async fn list_is_newest_trigger_date_first() {
    let app = spawn_app().await;
    app.create_event("middle", json!({"trigger_date": "2026-11-20T10:00:00Z"}))
        .await;
    app.create_event("oldest", json!({"trigger_date": "2026-11-01T10:00:00Z"}))
        .await;
    app.create_event("newest", json!({"trigger_date": "2026-11-25T10:00:00Z"}))
        .await;
    let (total, list) = list(&app, "").await;
    assert_eq!(total, 3);
    assert_eq!(event_ids(&list), vec!["newest", "middle", "oldest"]);
}

#[tokio::test]
async fn list_filters() {
    let app = spawn_app().await;
    let policy = app.create_policy("Filter policy", "privacy").await;
    app.create_event(
        "a",
        json!({"severity": "critical", "event_type": "llm_response", "source": "bot-a",
               "trigger_date": "2026-11-10T00:00:00Z", "policy_id": policy["id"]}),
    )
    .await;
    let b = app
        .create_event(
            "b",
            json!({"severity": "high", "source": "bot-b", "trigger_date": "2026-11-15T00:00:00Z"}),
        )
        .await;
    app.create_event(
        "c",
        json!({"severity": "critical", "trigger_date": "2026-11-20T00:00:00Z"}),
    )
    .await;
    let res = app
        .put(
            &format!("/api/events/{}", id_of(&b)),
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let (total, l) = list(&app, "?severity=critical").await;
    assert_eq!(total, 2);
    assert_eq!(event_ids(&l), vec!["c", "a"]);
    let (_, l) = list(&app, "?status=resolved").await;
    assert_eq!(event_ids(&l), vec!["b"]);
    let (_, l) = list(&app, "?status=open").await;
    assert_eq!(event_ids(&l), vec!["c", "a"]);
    let (_, l) = list(&app, "?event_type=llm_response").await;
    assert_eq!(event_ids(&l), vec!["a"]);
    let (_, l) = list(&app, &format!("?policy_id={}", id_of(&policy))).await;
    assert_eq!(event_ids(&l), vec!["a"]);
    let (_, l) = list(&app, "?source=bot-b").await;
    assert_eq!(event_ids(&l), vec!["b"]);
    let (_, l) = list(&app, "?since=2026-11-15T00:00:00Z").await;
    assert_eq!(event_ids(&l), vec!["c", "b"]);
    let (_, l) = list(&app, "?until=2026-11-15T00:00:00Z").await;
    assert_eq!(event_ids(&l), vec!["a"]);
    let (total, l) = list(
        &app,
        "?since=2026-11-12T00:00:00Z&until=2026-11-18T00:00:00Z",
    )
    .await;
    assert_eq!(total, 1);
    assert_eq!(event_ids(&l), vec!["b"]);
    let (total, l) = list(&app, "?severity=critical&status=open&source=bot-a").await;
    assert_eq!(total, 1);
    assert_eq!(event_ids(&l), vec!["a"]);
    let (total, _) = list(&app, "?severity=low").await;
    assert_eq!(total, 0);

    assert_422_at(
        app.get("/api/events/?severity=apocalyptic").await,
        &["query", "severity"],
    )
    .await;
    assert_422_at(
        app.get("/api/events/?status=bogus").await,
        &["query", "status"],
    )
    .await;
    assert_422_at(
        app.get("/api/events/?since=yesterday").await,
        &["query", "since"],
    )
    .await;
}

#[tokio::test]
async fn list_paginates_with_total_count() {
    let app = spawn_app().await;
    for day in 1..=5 {
        app.create_event(
            &format!("d{day}"),
            json!({"trigger_date": format!("2026-11-0{day}T00:00:00Z")}),
        )
        .await;
    }
    let (total, l) = list(&app, "?skip=1&limit=2").await;
    assert_eq!(total, 5);
    assert_eq!(event_ids(&l), vec!["d4", "d3"]);
    let (total, l) = list(&app, "?skip=4").await;
    assert_eq!(total, 5);
    assert_eq!(event_ids(&l), vec!["d1"]);
    let (total, l) = list(&app, "?severity=low&limit=1").await;
    assert_eq!(total, 5);
    assert_eq!(l.len(), 1);
    assert_422_at(
        app.get("/api/events/?limit=1001").await,
        &["query", "limit"],
    )
    .await;
}

#[tokio::test]
async fn put_triage_rules() {
    let app = spawn_app().await;
    let e = app.create_event("triage", json!({})).await;
    let id = id_of(&e);

    // Without acknowledged_by: status changes, acknowledged_date stays null.
    let res = app
        .put(&format!("/api/events/{id}"), &json!({"status": "resolved"}))
        .await;
    assert_eq!(res.status(), 200);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["status"], "resolved");
    assert_eq!(u["acknowledged_by"], Value::Null);
    assert_eq!(u["acknowledged_date"], Value::Null);
    assert!(u["updated_at"].is_string());

    // With acknowledged_by: both set.
    let res = app
        .put(
            &format!("/api/events/{id}"),
            &json!({"status": "acknowledged", "acknowledged_by": 5}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["status"], "acknowledged");
    assert_eq!(u["acknowledged_by"], 5);
    assert!(
        u["acknowledged_date"].as_str().unwrap().ends_with('Z'),
        "{u}"
    );
    let stored: Value = app
        .get(&format!("/api/events/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, u);

    // Other fields untouched.
    assert_eq!(u["title"], e["title"]);
    assert_eq!(u["trigger_date"], e["trigger_date"]);

    let res = app
        .put(&format!("/api/events/{id}"), &json!({"status": "nope"}))
        .await;
    assert_422_at(res, &["body", "status"]).await;
    let res = app
        .put(&format!("/api/events/{id}"), &json!({"status": null}))
        .await;
    assert_422_at(res, &["body", "status"]).await;

    let res = app
        .put("/api/events/999", &json!({"status": "closed"}))
        .await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Event not found");
}

#[tokio::test]
async fn put_with_null_acknowledged_by_still_stamps_the_date() {
    let app = spawn_app().await;
    let e = app.create_event("null-ack", json!({})).await;
    let id = id_of(&e);
    let res = app
        .put(
            &format!("/api/events/{id}"),
            &json!({"acknowledged_by": null}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["acknowledged_by"], Value::Null);
    assert!(u["acknowledged_date"].is_string(), "{u}");
    assert_eq!(u["status"], "open");
}

#[tokio::test]
async fn event_violations_route() {
    let app = spawn_app().await;
    let e = app.create_event("clean", json!({})).await;
    let res = app
        .get(&format!("/api/events/{}/violations", id_of(&e)))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!([]));

    let res = app.get("/api/events/999/violations").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Event not found");
}

#[tokio::test]
async fn stats_summary_counts() {
    let app = spawn_app().await;
    let empty: Value = app
        .get("/api/events/stats/summary")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        empty,
        json!({"total_events": 0, "open_events": 0, "events_last_24h": 0, "critical_events": 0})
    );

    let now = Utc::now();
    app.create_event(
        "recent-critical",
        json!({"severity": "critical", "trigger_date": rfc3339(now - Duration::hours(1))}),
    )
    .await;
    let resolved = app
        .create_event(
            "recent-low",
            json!({"trigger_date": rfc3339(now - Duration::hours(5))}),
        )
        .await;
    app.create_event(
        "old-critical",
        json!({"severity": "critical", "trigger_date": rfc3339(now - Duration::days(3))}),
    )
    .await;
    app.create_event(
        "old-high",
        json!({"severity": "high", "trigger_date": rfc3339(now - Duration::hours(30))}),
    )
    .await;
    let res = app
        .put(
            &format!("/api/events/{}", id_of(&resolved)),
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let res = app.get("/api/events/stats/summary").await;
    assert_eq!(res.status(), 200);
    let stats: Value = res.json().await.unwrap();
    assert_eq!(
        stats,
        json!({"total_events": 4, "open_events": 3, "events_last_24h": 2, "critical_events": 2})
    );
}

#[tokio::test]
async fn batch_stores_all() {
    let app = spawn_app().await;
    let body = json!([event_body("b1"), event_body("b2"), event_body("b3")]);
    let res = app.post("/api/events/batch", &body).await;
    assert_eq!(res.status(), 200);
    let created: Vec<Value> = res.json().await.unwrap();
    assert_eq!(created.len(), 3);
    assert_eq!(event_ids(&created), vec!["b1", "b2", "b3"]);
    assert!(
        created
            .iter()
            .all(|e| e["status"] == "open" && e["id"].as_i64().is_some())
    );
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 3);
    for e in &created {
        let got: Value = app
            .get(&format!("/api/events/{}", id_of(e)))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(&got, e);
    }
}

#[tokio::test]
async fn batch_with_a_stored_duplicate_stores_nothing() {
    let app = spawn_app().await;
    app.create_event("existing", json!({})).await;
    let body = json!([
        event_body("new-1"),
        event_body("existing"),
        event_body("new-2")
    ]);
    let res = app.post("/api/events/batch", &body).await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "duplicate_event_id");
    let (total, l) = list(&app, "").await;
    assert_eq!(total, 1);
    assert_eq!(event_ids(&l), vec!["existing"]);
}

#[tokio::test]
async fn batch_with_a_duplicate_inside_stores_nothing() {
    let app = spawn_app().await;
    let body = json!([
        event_body("twice"),
        event_body("other"),
        event_body("twice")
    ]);
    let res = app.post("/api/events/batch", &body).await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "duplicate_event_id");
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn batch_with_an_invalid_item_is_422_and_stores_nothing() {
    let app = spawn_app().await;
    let mut second = event_body("v2");
    second.as_object_mut().unwrap().remove("title");
    let body = json!([event_body("v1"), second, event_body("v3")]);
    let res = app.post("/api/events/batch", &body).await;
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "validation_error");
    let loc = err["detail"][0]["loc"].as_array().expect("a loc").clone();
    assert_eq!(loc, vec![json!("body"), json!(1), json!("title")], "{err}");
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 0);

    let res = app.post("/api/events/batch", &json!([])).await;
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["code"], "validation_error");

    let res = app
        .post("/api/events/batch", &json!({"event_id": "not-a-list"}))
        .await;
    assert_eq!(res.status(), 422);
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 0);
}

/// CONTRACT §0: no input reachable from the API may produce a 500.
#[tokio::test]
async fn odd_inputs_never_produce_a_500() {
    let app = spawn_app().await;
    for query in [
        "?skip=9223372036854775807&limit=1000",
        "?policy_id=9223372036854775807",
        "?since=0001-01-01T00:00:00Z",
        "?until=9999-12-31T23:59:59Z",
    ] {
        let res = app.get(&format!("/api/events/{query}")).await;
        let status = res.status().as_u16();
        assert!(status == 200 || status == 422, "{query}: {status}");
    }
    for path in [
        "/api/events/9223372036854775807",
        "/api/events/-1",
        "/api/policies/-5",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    assert_eq!(
        app.get("/api/events/99999999999999999999").await.status(),
        422
    );
}

/// CONTRACT §0: a `skip` beyond i64::MAX must answer 200 (empty page) or 422, not crash the
/// handler (sea-query-sqlx panics converting the u64 offset to i64; the connection is dropped).
#[tokio::test]
async fn skip_beyond_i64_is_not_a_crash() {
    let app = spawn_app().await;
    for path in [
        "/api/events/?skip=18446744073709551615",
        "/api/policies/?skip=18446744073709551615",
        "/api/violations/?skip=9223372036854775808",
    ] {
        let res = app.client.get(app.url(path)).send().await;
        let status = res.map(|r| r.status().as_u16()).unwrap_or(0);
        assert!(
            status == 200 || status == 422,
            "{path}: {status} (0 = no response)"
        );
    }
}

#[tokio::test]
async fn empty_event_id_is_422() {
    let app = spawn_app().await;
    let mut body = event_body("");
    body["event_id"] = json!("  ");
    assert_422_at(app.post("/api/events/", &body).await, &["body", "event_id"]).await;
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 0);
}

/// CONTRACT §0: PostgreSQL refuses U+0000 in text columns; the API must answer 422 (or store
/// the text), never 500. Passes on SQLite.
#[tokio::test]
async fn nul_characters_in_text_never_produce_a_500() {
    let app = spawn_app().await;
    let mut body = event_body("nul-\u{0}-id");
    body["title"] = json!("before\u{0}after");
    body["metadata"] = json!({"k\u{0}": "v\u{0}"});
    let res = app.post("/api/events/", &body).await;
    let status = res.status().as_u16();
    assert!(
        status == 200 || status == 422,
        "status {status}: {}",
        res.text().await.unwrap()
    );
    if status == 200 {
        let (total, _) = list(&app, "").await;
        assert_eq!(total, 1);
    }
}

#[tokio::test]
async fn extreme_trigger_dates_never_produce_a_500() {
    let app = spawn_app().await;
    for (i, date) in [
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "1969-12-31T23:59:59Z",
    ]
    .iter()
    .enumerate()
    {
        let mut body = event_body(&format!("extreme-{i}"));
        body["trigger_date"] = json!(date);
        let res = app.post("/api/events/", &body).await;
        let status = res.status().as_u16();
        assert!(
            status == 200 || status == 422,
            "{date}: {status} {}",
            res.text().await.unwrap()
        );
    }
    assert_eq!(app.get("/api/events/").await.status(), 200);
    assert_eq!(
        app.get("/api/dashboard/events/timeline?days=365")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get("/api/dashboard/recent-activity").await.status(),
        200
    );
}

/// Durations are bounded: a huge one would overflow the rollup sums on PostgreSQL and skew every
/// average on both backends.
#[tokio::test]
async fn out_of_range_durations_and_token_counts_are_422() {
    let app = crate::helpers::spawn_app().await;
    for (field, value) in [
        ("duration_ms", serde_json::json!(1e308)),
        ("duration_ms", serde_json::json!(-1.0)),
        ("request_tokens", serde_json::json!(-5)),
    ] {
        let mut body = serde_json::json!({
            "event_id": format!("bad-{field}-{value}"), "event_type": "llm_request", "title": "t",
            "trigger_date": "2026-11-20T10:00:00Z"
        });
        body[field] = value;
        crate::helpers::assert_422_at(app.post("/api/events/", &body).await, &["body", field])
            .await;
    }
    let stats = app.get("/api/dashboard/performance-metrics").await;
    assert_eq!(stats.status(), 200);
}

#[tokio::test]
async fn batch_rows_and_their_violations_stay_with_their_events() {
    let app = spawn_app().await;
    let policy = app.create_policy("Emails", "privacy").await;
    let id = policy["id"].as_i64().unwrap();
    let res = app
        .put(&format!("/api/policies/{id}"), &json!({"status": "open"}))
        .await;
    assert_eq!(res.status(), 200);
    // Every third event leaks an address; the others are clean.
    let body: Vec<Value> = (0..60)
        .map(|i| {
            let mut e = event_body(&format!("m{i:02}"));
            let text = if i % 3 == 0 {
                // The address starts at a different place in each event.
                format!("{}write to user{i}@example.com", "x ".repeat(i))
            } else {
                format!("nothing to see {i}")
            };
            e["prompt"] = json!(text);
            e["completion"] = json!(text);
            e
        })
        .collect();
    let res = app.post("/api/events/batch", &json!(body)).await;
    assert_eq!(res.status(), 200);
    let created: Vec<Value> = res.json().await.unwrap();
    let expected: Vec<String> = (0..60).map(|i| format!("m{i:02}")).collect();
    assert_eq!(event_ids(&created), expected, "answered in input order");
    for (i, e) in created.iter().enumerate() {
        let found: Vec<Value> = app
            .get(&format!("/api/events/{}/violations", id_of(e)))
            .await
            .json()
            .await
            .unwrap();
        if i % 3 == 0 {
            assert_eq!(found.len(), 1, "event {i}: {found:?}");
            assert_eq!(found[0]["event_id"], e["id"]);
            assert_eq!(
                found[0]["findings"][0]["start"],
                json!(9 + 2 * i),
                "event {i}'s own finding: {found:?}"
            );
        } else {
            assert!(found.is_empty(), "event {i}: {found:?}");
        }
    }

    // A reference to a policy that does not exist fails the whole batch.
    let mut bad = event_body("n2");
    bad["policy_id"] = json!(99_999);
    let res = app
        .post("/api/events/batch", &json!([event_body("n1"), bad]))
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 60, "nothing of the failed batch was stored");
}
