use chrono::Utc;
use sentinel_api::Severity::{self, Critical, High, Low, Medium};
use sentinel_api::ViolationStatus;
use sentinel_api::ViolationType::{self, DataLeak, PolicyBreach, PromptInjection};
use sentinel_api::violation::FindingResponse;
use sentinel_store::NewViolation;
use serde_json::{Value, json};

use crate::client::{event_create, violation_triage};
use crate::helpers::{TestApp, id_of, new_event, new_violation, spawn_app, total_count};
use crate::triage::{check_null_acknowledged_by_stamps_the_date, check_triage_rules};

/// Stores an event with `violations` through the store, returns (event id, violation ids).
async fn seed(app: &TestApp, event_id: &str, violations: Vec<NewViolation>) -> (i64, Vec<i64>) {
    let (event, stored) = app
        .store
        .create_event(new_event(event_id, Utc::now()), violations)
        .await
        .unwrap();
    (event.id, stored.iter().map(|v| v.id).collect())
}

/// Stores an event with violations of (policy, type, severity); returns (event id, violation
/// ids).
async fn seed_of(
    app: &TestApp,
    event_id: &str,
    violations: &[(i64, ViolationType, Severity)],
) -> (i64, Vec<i64>) {
    let violations = violations
        .iter()
        .map(|&(policy, kind, severity)| new_violation(policy, kind, severity))
        .collect();
    seed(app, event_id, violations).await
}

/// A privacy policy `P` and an event `e` with one high `data_leak` violation of it: the policy,
/// event and violation ids.
async fn seed_one(app: &TestApp) -> (i64, i64, i64) {
    let p = id_of(&app.create_policy("P", "privacy").await);
    let (event, ids) = seed_of(app, "e", &[(p, DataLeak, High)]).await;
    (p, event, ids[0])
}

/// `GET /api/violations/{query}`: the total and the ids.
async fn list(app: &TestApp, query: &str) -> (u64, Vec<i64>) {
    let (total, page) = app.list_violations(query).await;
    (total, page.iter().map(|v| v.id).collect())
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
    let (e1, v1) = seed_of(&app, "e1", &[(p1, DataLeak, High)]).await;
    let (e2, v2) = seed_of(
        &app,
        "e2",
        &[(p1, PromptInjection, Critical), (p2, DataLeak, Low)],
    )
    .await;
    let (_, v3) = seed_of(&app, "e3", &[(p2, PolicyBreach, High)]).await;
    let (a, b, c, d) = (v1[0], v2[0], v2[1], v3[0]);

    let (total, ids) = list(&app, "").await;
    assert_eq!(total, 4);
    assert_eq!(ids, vec![d, c, b, a]);

    let resolved = violation_triage(ViolationStatus::Resolved, None);
    app.update_violation(b, &resolved).await.unwrap();

    for (query, expected) in [
        ("?status=resolved".to_owned(), (1, vec![b])),
        ("?status=detected".to_owned(), (3, vec![d, c, a])),
        ("?severity=high".to_owned(), (2, vec![d, a])),
        (format!("?policy_id={p1}"), (2, vec![b, a])),
        (format!("?policy_id={p2}"), (2, vec![d, c])),
        (format!("?event_id={e2}"), (2, vec![c, b])),
        (format!("?event_id={e1}"), (1, vec![a])),
        ("?violation_type=data_leak".to_owned(), (2, vec![c, a])),
        (
            format!("?violation_type=data_leak&policy_id={p2}"),
            (1, vec![c]),
        ),
        ("?violation_type=security_incident".to_owned(), (0, vec![])),
        ("?skip=1&limit=2".to_owned(), (4, vec![c, b])),
    ] {
        assert_eq!(list(&app, &query).await, expected, "{query}");
    }

    let invalid = [
        ("status=bogus", "status"),
        ("severity=bogus", "severity"),
        ("violation_type=bogus", "violation_type"),
        ("limit=1001", "limit"),
    ];
    app.assert_invalid_queries("/api/violations/", &invalid)
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

    let got: Value = app.get_ok(&format!("/api/violations/{}", ids[0])).await;
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
    let listed: Vec<Value> = app
        .get_ok(&format!("/api/events/{event_id}/violations"))
        .await;
    assert_eq!(listed, vec![got]);

    let err = app.get_violation(999).await.unwrap_err();
    err.assert_exactly(404, "violation_not_found", "Violation not found");
    app.get_err("/api/violations/abc")
        .await
        .assert_invalid_at(&["path", "violation_id"]);
}

#[tokio::test]
async fn event_violations_lists_only_that_event() {
    let app = spawn_app().await;
    let p = id_of(&app.create_policy("P", "privacy").await);
    let (e1, v1) = seed_of(
        &app,
        "e1",
        &[(p, DataLeak, Low), (p, PromptInjection, High)],
    )
    .await;
    let (e2, v2) = seed_of(&app, "e2", &[(p, PolicyBreach, Low)]).await;
    let listed = app.event_violations(e1).await.unwrap();
    let mut ids: Vec<i64> = listed.iter().map(|v| v.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, v1);
    assert!(listed.iter().all(|v| v.event_id == Some(e1)));
    let listed = app.event_violations(e2).await.unwrap();
    assert_eq!(listed.iter().map(|v| v.id).collect::<Vec<_>>(), v2);
}

#[tokio::test]
async fn put_triage_rules() {
    let app = spawn_app().await;
    let (_, _, id) = seed_one(&app).await;
    check_triage_rules(
        &app,
        "violations",
        id,
        "investigating",
        "Violation not found",
    )
    .await;
}

#[tokio::test]
async fn put_with_null_acknowledged_by_still_stamps_the_date() {
    let app = spawn_app().await;
    let (_, _, id) = seed_one(&app).await;
    check_null_acknowledged_by_stamps_the_date(&app, "violations", id, "detected").await;
}

#[tokio::test]
async fn stats_summary_counts_open_as_detected_plus_investigating() {
    let app = spawn_app().await;
    let empty: Value = app.get_ok("/api/violations/stats/summary").await;
    assert_eq!(
        empty,
        json!({"total_violations": 0, "open_violations": 0, "critical_violations": 0, "high_violations": 0})
    );
    let p = id_of(&app.create_policy("P", "privacy").await);
    let (_, ids) = seed_of(
        &app,
        "e",
        &[
            (p, DataLeak, Critical),
            (p, DataLeak, High),
            (p, DataLeak, High),
            (p, DataLeak, Low),
            (p, DataLeak, Medium),
        ],
    )
    .await;
    // detected, investigating, resolved, false_positive, acknowledged.
    for (id, status) in ids[1..].iter().zip([
        ViolationStatus::Investigating,
        ViolationStatus::Resolved,
        ViolationStatus::FalsePositive,
        ViolationStatus::Acknowledged,
    ]) {
        let update = violation_triage(status, None);
        app.update_violation(*id, &update).await.unwrap();
    }
    let stats: Value = app.get_ok("/api/violations/stats/summary").await;
    assert_eq!(
        stats,
        json!({"total_violations": 5, "open_violations": 2, "critical_violations": 1, "high_violations": 2})
    );
}

#[tokio::test]
async fn deleting_a_policy_keeps_its_violations() {
    let app = spawn_app().await;
    let (p, event_id, id) = seed_one(&app).await;

    let body = app.delete_policy(p).await.unwrap();
    assert_eq!(body, json!({"message": "Policy deleted successfully"}));
    app.get_policy(p)
        .await
        .unwrap_err()
        .assert_is(404, "policy_not_found");

    let v = app.get_violation(id).await.unwrap();
    assert_eq!((v.policy_id, v.event_id), (Some(p), Some(event_id)));
    assert_eq!(list(&app, &format!("?policy_id={p}")).await, (1, vec![id]));
    let listed = app.event_violations(event_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].policy_id, Some(p));

    // A new event can no longer reference the deleted policy.
    let late = sentinel_api::event::EventCreate {
        policy_id: Some(p),
        ..event_create("late")
    };
    app.post_event(&late)
        .await
        .unwrap_err()
        .assert_invalid_at(&["body", "policy_id"]);
}
