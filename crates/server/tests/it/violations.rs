use chrono::Utc;
use sentinel_api::violation::FindingResponse;
use sentinel_api::{Severity, ViolationType};
use sentinel_store::NewViolation;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_422_at, id_of, new_event, new_violation, spawn_app, total_count,
};

/// Stores an event with `violations` through the store, returns (event id, violation ids).
async fn seed(app: &TestApp, event_id: &str, violations: Vec<NewViolation>) -> (i64, Vec<i64>) {
    let (event, stored) = app
        .store
        .create_event(new_event(event_id, Utc::now()), violations)
        .await
        .unwrap();
    (event.id, stored.iter().map(|v| v.id).collect())
}

async fn list(app: &TestApp, query: &str) -> (u64, Vec<i64>) {
    let res = app.get(&format!("/api/violations/{query}")).await;
    assert_eq!(res.status(), 200, "GET /api/violations/{query}");
    let total = total_count(&res);
    let body: Vec<Value> = res.json().await.unwrap();
    (total, body.iter().map(id_of).collect())
}

#[tokio::test]
async fn empty_list_and_no_post() {
    let app = spawn_app().await;
    let (total, ids) = list(&app, "").await;
    assert_eq!(total, 0);
    assert!(ids.is_empty());
    let res = app
        .post("/api/violations/", &json!({"violation_type": "data_leak"}))
        .await;
    assert_eq!(res.status(), 405);
    assert_eq!(total_count(&app.get("/api/violations/").await), 0);
}

#[tokio::test]
async fn list_newest_first_with_filters() {
    let app = spawn_app().await;
    let p1 = id_of(&app.create_policy("P1", "privacy").await);
    let p2 = id_of(&app.create_policy("P2", "data_security").await);
    let (e1, v1) = seed(
        &app,
        "e1",
        vec![new_violation(p1, ViolationType::DataLeak, Severity::High)],
    )
    .await;
    let (e2, v2) = seed(
        &app,
        "e2",
        vec![
            new_violation(p1, ViolationType::PromptInjection, Severity::Critical),
            new_violation(p2, ViolationType::DataLeak, Severity::Low),
        ],
    )
    .await;
    let (_, v3) = seed(
        &app,
        "e3",
        vec![new_violation(
            p2,
            ViolationType::PolicyBreach,
            Severity::High,
        )],
    )
    .await;
    let (a, b, c, d) = (v1[0], v2[0], v2[1], v3[0]);

    let (total, ids) = list(&app, "").await;
    assert_eq!(total, 4);
    assert_eq!(ids, vec![d, c, b, a]);

    let res = app
        .put(
            &format!("/api/violations/{b}"),
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    assert_eq!(list(&app, "?status=resolved").await, (1, vec![b]));
    assert_eq!(list(&app, "?status=detected").await, (3, vec![d, c, a]));
    assert_eq!(list(&app, "?severity=high").await, (2, vec![d, a]));
    assert_eq!(
        list(&app, &format!("?policy_id={p1}")).await,
        (2, vec![b, a])
    );
    assert_eq!(
        list(&app, &format!("?policy_id={p2}")).await,
        (2, vec![d, c])
    );
    assert_eq!(
        list(&app, &format!("?event_id={e2}")).await,
        (2, vec![c, b])
    );
    assert_eq!(list(&app, &format!("?event_id={e1}")).await, (1, vec![a]));
    assert_eq!(
        list(&app, "?violation_type=data_leak").await,
        (2, vec![c, a])
    );
    assert_eq!(
        list(&app, &format!("?violation_type=data_leak&policy_id={p2}")).await,
        (1, vec![c])
    );
    assert_eq!(
        list(&app, "?violation_type=security_incident").await,
        (0, vec![])
    );
    assert_eq!(list(&app, "?skip=1&limit=2").await, (4, vec![c, b]));

    assert_422_at(
        app.get("/api/violations/?status=bogus").await,
        &["query", "status"],
    )
    .await;
    assert_422_at(
        app.get("/api/violations/?severity=bogus").await,
        &["query", "severity"],
    )
    .await;
    assert_422_at(
        app.get("/api/violations/?violation_type=bogus").await,
        &["query", "violation_type"],
    )
    .await;
    assert_422_at(
        app.get("/api/violations/?limit=1001").await,
        &["query", "limit"],
    )
    .await;
}

#[tokio::test]
async fn get_round_trips_findings_and_scores() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("P", "privacy").await);
    let finding = FindingResponse {
        detector: "pii".into(),
        entity: "email".into(),
        target: "prompt".into(),
        start: 11,
        end: 24,
        char_start: 11,
        char_end: 24,
        score: 0.97,
        explanation: "looks like an e-mail address".into(),
    };
    let mut v = new_violation(p, ViolationType::DataLeak, Severity::Critical);
    v.description = Some("An e-mail address in the prompt".into());
    v.details = Some("{\"k\":1}".into());
    v.confidence_score = 0.97;
    v.legal_advice_score = Some(0.1);
    v.controversial_topics_score = Some(0.2);
    v.code_prompt_score = Some(0.3);
    v.safe_prompt_score = Some(0.4);
    v.findings = vec![finding];
    let (event_id, ids) = seed(&app, "with-findings", vec![v]).await;

    let res = app.get(&format!("/api/violations/{}", ids[0])).await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    for key in [
        "id",
        "violation_type",
        "severity",
        "status",
        "title",
        "description",
        "details",
        "confidence_score",
        "event_id",
        "policy_id",
        "acknowledged_by",
        "acknowledged_date",
        "created_at",
        "updated_at",
        "legal_advice_score",
        "controversial_topics_score",
        "code_prompt_score",
        "safe_prompt_score",
        "findings",
    ] {
        assert!(got.get(key).is_some(), "missing key {key} in {got}");
    }
    assert_eq!(got["id"], ids[0]);
    assert_eq!(got["violation_type"], "data_leak");
    assert_eq!(got["severity"], "critical");
    assert_eq!(got["status"], "detected");
    assert_eq!(got["description"], "An e-mail address in the prompt");
    assert_eq!(got["details"], "{\"k\":1}");
    assert_eq!(got["confidence_score"], 0.97);
    assert_eq!(got["event_id"], event_id);
    assert_eq!(got["policy_id"], p);
    assert_eq!(got["acknowledged_date"], Value::Null);
    assert_eq!(got["updated_at"], Value::Null);
    assert_eq!(got["legal_advice_score"], 0.1);
    assert_eq!(got["controversial_topics_score"], 0.2);
    assert_eq!(got["code_prompt_score"], 0.3);
    assert_eq!(got["safe_prompt_score"], 0.4);
    assert_eq!(
        got["findings"],
        json!([{
            "detector": "pii", "entity": "email", "target": "prompt", "start": 11, "end": 24,
            "char_start": 11, "char_end": 24, "score": 0.97,
            "explanation": "looks like an e-mail address",
        }])
    );

    // The event's violations route lists the same record.
    let res = app.get(&format!("/api/events/{event_id}/violations")).await;
    assert_eq!(res.status(), 200);
    let listed: Vec<Value> = res.json().await.unwrap();
    assert_eq!(listed, vec![got]);

    let res = app.get("/api/violations/999").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Violation not found", "code": "violation_not_found"})
    );
    assert_422_at(
        app.get("/api/violations/abc").await,
        &["path", "violation_id"],
    )
    .await;
}

#[tokio::test]
async fn event_violations_lists_only_that_event() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("P", "privacy").await);
    let (e1, v1) = seed(
        &app,
        "e1",
        vec![
            new_violation(p, ViolationType::DataLeak, Severity::Low),
            new_violation(p, ViolationType::PromptInjection, Severity::High),
        ],
    )
    .await;
    let (e2, v2) = seed(
        &app,
        "e2",
        vec![new_violation(p, ViolationType::PolicyBreach, Severity::Low)],
    )
    .await;
    let listed: Vec<Value> = app
        .get(&format!("/api/events/{e1}/violations"))
        .await
        .json()
        .await
        .unwrap();
    let mut ids: Vec<i64> = listed.iter().map(id_of).collect();
    ids.sort_unstable();
    assert_eq!(ids, v1);
    assert!(listed.iter().all(|v| v["event_id"] == e1));
    let listed: Vec<Value> = app
        .get(&format!("/api/events/{e2}/violations"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.iter().map(id_of).collect::<Vec<_>>(), v2);
}

#[tokio::test]
async fn put_triage_rules() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("P", "privacy").await);
    let (_, ids) = seed(
        &app,
        "e",
        vec![new_violation(p, ViolationType::DataLeak, Severity::High)],
    )
    .await;
    let id = ids[0];

    let res = app
        .put(
            &format!("/api/violations/{id}"),
            &json!({"status": "investigating"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["status"], "investigating");
    assert_eq!(u["acknowledged_by"], Value::Null);
    assert_eq!(u["acknowledged_date"], Value::Null);
    assert!(u["updated_at"].is_string());

    let res = app
        .put(
            &format!("/api/violations/{id}"),
            &json!({"status": "acknowledged", "acknowledged_by": 3}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["status"], "acknowledged");
    assert_eq!(u["acknowledged_by"], 3);
    assert!(u["acknowledged_date"].as_str().unwrap().ends_with('Z'));
    let stored: Value = app
        .get(&format!("/api/violations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, u);

    let res = app
        .put(
            &format!("/api/violations/{id}"),
            &json!({"status": "bogus"}),
        )
        .await;
    assert_422_at(res, &["body", "status"]).await;
    let res = app
        .put(&format!("/api/violations/{id}"), &json!({"status": null}))
        .await;
    assert_422_at(res, &["body", "status"]).await;
    let res = app
        .put("/api/violations/999", &json!({"status": "resolved"}))
        .await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Violation not found");
}

#[tokio::test]
async fn put_with_null_acknowledged_by_still_stamps_the_date() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("P", "privacy").await);
    let (_, ids) = seed(
        &app,
        "e",
        vec![new_violation(p, ViolationType::DataLeak, Severity::High)],
    )
    .await;
    let res = app
        .put(
            &format!("/api/violations/{}", ids[0]),
            &json!({"acknowledged_by": null}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["acknowledged_by"], Value::Null);
    assert!(u["acknowledged_date"].is_string(), "{u}");
    assert_eq!(u["status"], "detected");
}

#[tokio::test]
async fn stats_summary_counts_open_as_detected_plus_investigating() {
    let app = spawn_app().await;
    let empty: Value = app
        .get("/api/violations/stats/summary")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        empty,
        json!({"total_violations": 0, "open_violations": 0, "critical_violations": 0, "high_violations": 0})
    );
    let p = id_of(&app.create_policy("P", "privacy").await);
    let (_, ids) = seed(
        &app,
        "e",
        vec![
            new_violation(p, ViolationType::DataLeak, Severity::Critical),
            new_violation(p, ViolationType::DataLeak, Severity::High),
            new_violation(p, ViolationType::DataLeak, Severity::High),
            new_violation(p, ViolationType::DataLeak, Severity::Low),
            new_violation(p, ViolationType::DataLeak, Severity::Medium),
        ],
    )
    .await;
    // detected, investigating, resolved, false_positive, acknowledged.
    for (id, status) in ids[1..].iter().zip([
        "investigating",
        "resolved",
        "false_positive",
        "acknowledged",
    ]) {
        let res = app
            .put(&format!("/api/violations/{id}"), &json!({"status": status}))
            .await;
        assert_eq!(res.status(), 200);
    }
    let res = app.get("/api/violations/stats/summary").await;
    assert_eq!(res.status(), 200);
    let stats: Value = res.json().await.unwrap();
    assert_eq!(
        stats,
        json!({"total_violations": 5, "open_violations": 2, "critical_violations": 1, "high_violations": 2})
    );
}

#[tokio::test]
async fn deleting_a_policy_keeps_its_violations() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("Doomed", "privacy").await);
    let (event_id, ids) = seed(
        &app,
        "e",
        vec![new_violation(p, ViolationType::DataLeak, Severity::High)],
    )
    .await;

    let res = app.delete(&format!("/api/policies/{p}")).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"message": "Policy deleted successfully"}));
    assert_eq!(app.get(&format!("/api/policies/{p}")).await.status(), 404);

    let res = app.get(&format!("/api/violations/{}", ids[0])).await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["policy_id"], p);
    assert_eq!(v["event_id"], event_id);
    assert_eq!(
        list(&app, &format!("?policy_id={p}")).await,
        (1, vec![ids[0]])
    );
    let listed: Vec<Value> = app
        .get(&format!("/api/events/{event_id}/violations"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["policy_id"], p);

    // A new event can no longer reference the deleted policy.
    let res = app
        .post(
            "/api/events/",
            &json!({"event_id": "late", "event_type": "llm_request", "title": "t",
                    "trigger_date": "2026-11-20T10:00:00Z", "policy_id": p}),
        )
        .await;
    assert_422_at(res, &["body", "policy_id"]).await;
}
