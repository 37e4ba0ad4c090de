use chrono::{Duration, Utc};
use sentinel_api::EventStatus;
use sentinel_api::event::EventResponse;
use serde_json::{Value, json};

use crate::client::{event_create, event_triage, expect_status, policy_status};
use crate::helpers::{TestApp, assert_422_at, id_of, spawn_app};
use crate::triage::{check_null_acknowledged_by_stamps_the_date, check_triage_rules};

fn event_body(event_id: &str) -> Value {
    json!({
        "event_id": event_id,
        "event_type": "llm_request",
        "title": format!("Event {event_id}"),
        "trigger_date": "2026-11-20T10:00:00Z",
    })
}

/// `GET /api/events/{query}`: the total and the page.
async fn list(app: &TestApp, query: &str) -> (u64, Vec<EventResponse>) {
    app.list_events(query).await
}

fn event_ids(list: &[EventResponse]) -> Vec<&str> {
    list.iter().map(|e| e.event_id.as_str()).collect()
}

/// Posts `body` to `/api/events/` and asserts a 422 located at `["body", field]`.
async fn assert_refused_at(app: &TestApp, body: &Value, field: &str) {
    assert_422_at(app.post("/api/events/", body).await, &["body", field]).await;
}

/// Posts a batch, asserts it is refused with `status` and `code`, and that the stored events
/// are still exactly `stored` (newest first). Returns the error body.
async fn assert_batch_refused(
    app: &TestApp,
    body: &Value,
    (status, code): (u16, &str),
    stored: &[&str],
) -> Value {
    let err = expect_status(app.post("/api/events/batch", body).await, status).await;
    assert_eq!(err["code"], code, "{err}");
    let (total, l) = list(app, "").await;
    assert_eq!(total, stored.len() as u64);
    assert_eq!(event_ids(&l), stored);
    err
}

#[tokio::test]
async fn create_answers_an_open_event_with_every_legacy_key() {
    let app = spawn_app().await;
    let e = expect_status(app.post("/api/events/", &event_body("evt-1")).await, 200).await;
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
    let e = expect_status(app.post("/api/events/", &body).await, 200).await;
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
    let stored: Value = app.get_ok(&format!("/api/events/{}", id_of(&e))).await;
    assert_eq!(stored, e);
}

#[tokio::test]
async fn naive_trigger_date_is_taken_as_utc() {
    let app = spawn_app().await;
    let mut body = event_body("naive");
    body["trigger_date"] = json!("2026-11-20T08:15:00");
    let e = expect_status(app.post("/api/events/", &body).await, 200).await;
    assert_eq!(e["trigger_date"], "2026-11-20T08:15:00Z");

    let mut body = event_body("bad-date");
    body["trigger_date"] = json!("yesterday");
    assert_refused_at(&app, &body, "trigger_date").await;
}

/// Events posted at the same moment share the ingest writer's transactions; a duplicate among
/// them fails that batch, which is then written event by event: each caller still gets its own
/// event back, or its own 409, and nothing else is lost.
#[tokio::test]
async fn events_posted_together_each_get_their_own_outcome() {
    let app = spawn_app().await;
    let bodies: Vec<_> = (0..20)
        .flat_map(|i| {
            ["first", "second"].map(|which| sentinel_api::event::EventCreate {
                title: format!("{which} {i}"),
                ..event_create(&format!("together-{i}"))
            })
        })
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|b| app.post_event(b))).await;
    let mut winners = std::collections::BTreeMap::new();
    for (body, answer) in bodies.iter().zip(answers) {
        match answer {
            Ok(stored) => {
                assert_eq!(stored.event_id, body.event_id);
                assert_eq!(
                    stored.title, body.title,
                    "a caller got another event's answer"
                );
                let earlier = winners.insert(body.event_id.clone(), (stored.id, stored.title));
                assert!(earlier.is_none(), "{} stored twice", body.event_id);
            }
            Err(err) => err.assert_is(409, "duplicate_event_id"),
        }
    }
    assert_eq!(winners.len(), 20, "one of each pair is stored");
    let (total, list) = list(&app, "?limit=100").await;
    assert_eq!(total, 20);
    for event in list {
        assert_eq!(winners[&event.event_id], (event.id, event.title));
    }
}

#[tokio::test]
async fn duplicate_event_id_is_409() {
    let app = spawn_app().await;
    let first = app.post_event(&event_create("dup")).await.unwrap();
    let second = sentinel_api::event::EventCreate {
        title: "Second".into(),
        ..event_create("dup")
    };
    let err = app.post_event(&second).await.unwrap_err();
    err.assert_is(409, "duplicate_event_id");
    assert!(err.body["detail"].is_string());
    let (total, list) = list(&app, "").await;
    assert_eq!(total, 1);
    assert_eq!(list[0].id, first.id);
    assert_eq!(list[0].title, "Event dup");
}

#[tokio::test]
async fn missing_required_fields_and_bad_enums_are_422() {
    let app = spawn_app().await;
    for field in ["event_id", "event_type", "title", "trigger_date"] {
        let mut body = event_body("missing");
        body.as_object_mut().unwrap().remove(field);
        assert_refused_at(&app, &body, field).await;
    }
    for (event_id, field, value) in [
        ("bad-type", "event_type", json!("telepathy")),
        ("bad-sev", "severity", json!("apocalyptic")),
        ("unknown-policy", "policy_id", json!(999)),
    ] {
        let mut body = event_body(event_id);
        body[field] = value;
        assert_refused_at(&app, &body, field).await;
    }
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn get_by_numeric_id_and_404() {
    let app = spawn_app().await;
    let e = app.create_event("get-me", json!({})).await;
    let got: Value = app.get_ok(&format!("/api/events/{}", id_of(&e))).await;
    assert_eq!(got, e);

    let err = app.get_event(999).await.unwrap_err();
    err.assert_exactly(404, "event_not_found", "Event not found");

    app.get_err("/api/events/get-me")
        .await
        .assert_invalid_at(&["path", "event_id"]);
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
    let resolved = event_triage(EventStatus::Resolved, None);
    app.update_event(id_of(&b), &resolved).await.unwrap();

    // Each filter: the events it keeps, newest first (the total is the page's length).
    for (query, expected) in [
        ("?severity=critical".to_owned(), vec!["c", "a"]),
        ("?status=resolved".to_owned(), vec!["b"]),
        ("?status=open".to_owned(), vec!["c", "a"]),
        ("?event_type=llm_response".to_owned(), vec!["a"]),
        (format!("?policy_id={}", id_of(&policy)), vec!["a"]),
        ("?source=bot-b".to_owned(), vec!["b"]),
        ("?since=2026-11-15T00:00:00Z".to_owned(), vec!["c", "b"]),
        ("?until=2026-11-15T00:00:00Z".to_owned(), vec!["a"]),
        (
            "?since=2026-11-12T00:00:00Z&until=2026-11-18T00:00:00Z".to_owned(),
            vec!["b"],
        ),
        (
            "?severity=critical&status=open&source=bot-a".to_owned(),
            vec!["a"],
        ),
        ("?severity=low".to_owned(), vec![]),
    ] {
        let (total, l) = list(&app, &query).await;
        assert_eq!(event_ids(&l), expected, "{query}");
        assert_eq!(total, expected.len() as u64, "{query}");
    }

    let invalid = [
        ("severity=apocalyptic", "severity"),
        ("status=bogus", "status"),
        ("since=yesterday", "since"),
    ];
    app.assert_invalid_queries("/api/events/", &invalid).await;
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
    for (query, expected) in [
        ("?skip=1&limit=2", vec!["d4", "d3"]),
        ("?skip=4", vec!["d1"]),
        ("?severity=low&limit=1", vec!["d5"]),
    ] {
        let (total, l) = list(&app, query).await;
        assert_eq!((total, event_ids(&l)), (5, expected), "{query}");
    }
    let too_many = [("limit=1001", "limit")];
    app.assert_invalid_queries("/api/events/", &too_many).await;
}

#[tokio::test]
async fn put_triage_rules() {
    let app = spawn_app().await;
    let e = app.post_event(&event_create("triage")).await.unwrap();
    let u = check_triage_rules(&app, "events", e.id, "resolved", "Event not found").await;
    // Other fields untouched.
    assert_eq!(u["title"], e.title);
    assert_eq!(u["trigger_date"], e.trigger_date.to_string());
}

#[tokio::test]
async fn put_with_null_acknowledged_by_still_stamps_the_date() {
    let app = spawn_app().await;
    let e = app.post_event(&event_create("null-ack")).await.unwrap();
    check_null_acknowledged_by_stamps_the_date(&app, "events", e.id, "open").await;
}

#[tokio::test]
async fn event_violations_route() {
    let app = spawn_app().await;
    let e = app.create_event("clean", json!({})).await;
    let body: Value = app
        .get_ok(&format!("/api/events/{}/violations", id_of(&e)))
        .await;
    assert_eq!(body, json!([]));

    let err = app.event_violations(999).await.unwrap_err();
    assert_eq!((err.status, err.detail()), (404, "Event not found"));
}

#[tokio::test]
async fn stats_summary_counts() {
    let app = spawn_app().await;
    let empty: Value = app.get_ok("/api/events/stats/summary").await;
    assert_eq!(
        empty,
        json!({"total_events": 0, "open_events": 0, "events_last_24h": 0, "critical_events": 0})
    );

    let now = Utc::now();
    let mut ids = Vec::new();
    for (event_id, severity, ago) in [
        ("recent-critical", "critical", Duration::hours(1)),
        ("recent-low", "low", Duration::hours(5)),
        ("old-critical", "critical", Duration::days(3)),
        ("old-high", "high", Duration::hours(30)),
    ] {
        let e = app.create_event_at(event_id, severity, (now, ago)).await;
        ids.push(id_of(&e));
    }
    // "recent-low" is resolved.
    let update = event_triage(EventStatus::Resolved, None);
    app.update_event(ids[1], &update).await.unwrap();

    let stats: Value = app.get_ok("/api/events/stats/summary").await;
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
    let created: Vec<Value> = expect_status(res, 200).await.as_array().unwrap().clone();
    assert_eq!(created.len(), 3);
    let ids: Vec<&str> = created
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b1", "b2", "b3"]);
    assert!(
        created
            .iter()
            .all(|e| e["status"] == "open" && e["id"].as_i64().is_some())
    );
    let (total, _) = list(&app, "").await;
    assert_eq!(total, 3);
    for e in &created {
        let got: Value = app.get_ok(&format!("/api/events/{}", id_of(e))).await;
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
    assert_batch_refused(&app, &body, (409, "duplicate_event_id"), &["existing"]).await;
}

#[tokio::test]
async fn batch_with_a_duplicate_inside_stores_nothing() {
    let app = spawn_app().await;
    let body = json!([
        event_body("twice"),
        event_body("other"),
        event_body("twice")
    ]);
    assert_batch_refused(&app, &body, (409, "duplicate_event_id"), &[]).await;
}

#[tokio::test]
async fn batch_with_an_invalid_item_is_422_and_stores_nothing() {
    let app = spawn_app().await;
    let mut second = event_body("v2");
    second.as_object_mut().unwrap().remove("title");
    let body = json!([event_body("v1"), second, event_body("v3")]);
    let invalid = (422, "validation_error");
    let err = assert_batch_refused(&app, &body, invalid, &[]).await;
    let loc = err["detail"][0]["loc"].as_array().expect("a loc").clone();
    assert_eq!(loc, vec![json!("body"), json!(1), json!("title")], "{err}");

    assert_batch_refused(&app, &json!([]), invalid, &[]).await;
    let not_a_list = json!({"event_id": "not-a-list"});
    assert_batch_refused(&app, &not_a_list, invalid, &[]).await;
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
    assert_refused_at(&app, &body, "event_id").await;
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
        assert_refused_at(&app, &body, field).await;
    }
    let _: Value = app.get_ok("/api/dashboard/performance-metrics").await;
}

#[tokio::test]
async fn batch_rows_and_their_violations_stay_with_their_events() {
    let app = spawn_app().await;
    let policy = app.create_policy("Emails", "privacy").await;
    let open = policy_status(sentinel_api::PolicyStatus::Open);
    app.update_policy(id_of(&policy), &open).await.unwrap();
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
    let created: Vec<EventResponse> =
        serde_json::from_value(expect_status(res, 200).await).unwrap();
    let expected: Vec<String> = (0..60).map(|i| format!("m{i:02}")).collect();
    assert_eq!(event_ids(&created), expected, "answered in input order");
    for (i, e) in created.iter().enumerate() {
        let found: Vec<Value> = app
            .get_ok(&format!("/api/events/{}/violations", e.id))
            .await;
        if i % 3 == 0 {
            assert_eq!(found.len(), 1, "event {i}: {found:?}");
            assert_eq!(found[0]["event_id"], e.id);
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
