//! The audit trail: what is recorded, that it rolls back with a failed change, and that every
//! kind of tampering is caught.

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use sentinel_api::policy::{PolicyResponse, PolicyUpdate};
use sentinel_api::{EventStatus, Patch, PolicyStatus, ViolationStatus};

use crate::client::{event_triage, policy_status, violation_triage};
use crate::helpers::{TestApp, id_of, spawn_app};

async fn sql(app: &TestApp, statement: &str) {
    let db = Database::connect(app.url.as_str()).await.unwrap();
    db.execute_unprepared(statement).await.unwrap();
    db.close().await.unwrap();
}

/// `GET /api/audit/verify`, raw: the tests compare its exact shape.
async fn verify(app: &TestApp) -> Value {
    app.get_ok("/api/audit/verify").await
}

/// Up to 1,000 audit entries, raw, newest first; `query` adds filters (`&action=...`).
async fn entries(app: &TestApp, query: &str) -> Vec<Value> {
    app.get_ok(&format!("/api/audit/?limit=1000{query}")).await
}

/// A few audited changes of different kinds; returns the policy id.
async fn some_history(app: &TestApp) -> i64 {
    let id = id_of(&app.create_policy("audited", "privacy").await);
    let open = policy_status(PolicyStatus::Open);
    app.update_policy(id, &open).await.unwrap();
    let event = app
        .create_event("a-1", json!({ "prompt": "write to jane@example.com" }))
        .await;
    let event = id_of(&event);
    let acknowledged = event_triage(EventStatus::Acknowledged, Some(1));
    app.update_event(event, &acknowledged).await.unwrap();
    let violations = app.event_violations(event).await.unwrap();
    let resolved = violation_triage(ViolationStatus::Resolved, None);
    app.update_violation(violations[0].id, &resolved)
        .await
        .unwrap();
    let key = json!({ "name": "k", "scopes": ["read"] });
    app.post_as::<_, Value>("/api/keys/", &key).await.unwrap();
    id
}

#[tokio::test]
async fn every_mutation_is_recorded_with_actor_address_and_request_id() {
    let app = spawn_app().await;
    let policy_id = some_history(&app).await;
    let all = entries(&app, "").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Newest first; the root user was created directly in the store by the test set-up.
    assert_eq!(
        actions,
        [
            "key.create",
            "violation.update",
            "event.update",
            "policy.version.create",
            "policy.update",
            "policy.version.create",
            "policy.create",
            "user.create"
        ]
    );
    let update = &all[4];
    assert_eq!(update["actor"], "user:root");
    assert_eq!(update["target_type"], "policy");
    assert_eq!(update["target_id"], policy_id.to_string());
    assert_eq!(update["before"]["status"], "draft");
    assert_eq!(update["after"]["status"], "open");
    assert_eq!(update["client_addr"], "127.0.0.1");
    assert!(update["request_id"].as_str().is_some_and(|r| r.len() >= 32));
    // Triage entries hold the status, never the event's text.
    let triage = &all[2];
    assert_eq!(triage["after"]["status"], "acknowledged");
    assert!(!triage.to_string().contains("jane@example.com"));
    // The key entry never holds the key.
    assert!(all[0]["after"].get("key").is_none());
    // Chain links.
    for pair in all.windows(2) {
        assert_eq!(pair[0]["prev_hash"], pair[1]["hash"]);
    }
    // Filters.
    let only = entries(&app, "&action=policy.update").await;
    assert_eq!(only.len(), 1);
    // The policy's creation and update, each with the version it wrote.
    let by_target = entries(&app, &format!("&target_type=policy&target_id={policy_id}")).await;
    assert_eq!(by_target.len(), 4);
    assert_eq!(entries(&app, "&since=2999-01-01T00:00:00Z").await.len(), 0);
    let res = app.get("/api/audit/?since=yesterday").await;
    assert_eq!(res.status(), 422);

    let report = verify(&app).await;
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["entries"], 8);
}

#[tokio::test]
async fn edited_rows_are_caught() {
    let app = spawn_app().await;
    some_history(&app).await;
    sql(
        &app,
        "UPDATE audit_log SET after = '{\"status\":\"closed\"}' WHERE id = 3",
    )
    .await;
    let report = verify(&app).await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_bad_id"], 3);
    assert!(
        report["reason"].as_str().unwrap().contains("altered"),
        "{report}"
    );
}

#[tokio::test]
async fn deleted_rows_are_caught_in_the_middle_and_at_the_end() {
    let app = spawn_app().await;
    some_history(&app).await;
    sql(&app, "DELETE FROM audit_log WHERE id = 4").await;
    let report = verify(&app).await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_bad_id"], 4);
    assert!(
        report["reason"].as_str().unwrap().contains("missing"),
        "{report}"
    );

    let app = spawn_app().await;
    some_history(&app).await;
    // The last entry (the history has eight: see `every_mutation_is_recorded_…`).
    sql(&app, "DELETE FROM audit_log WHERE id = 8").await;
    let report = verify(&app).await;
    assert_eq!(report["intact"], false);
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("removed from the end"),
        "{report}"
    );
}

#[tokio::test]
async fn reordered_rows_are_caught() {
    let app = spawn_app().await;
    some_history(&app).await;
    sql(&app, "UPDATE audit_log SET id = -1 WHERE id = 2").await;
    sql(&app, "UPDATE audit_log SET id = 2 WHERE id = 3").await;
    sql(&app, "UPDATE audit_log SET id = 3 WHERE id = -1").await;
    let report = verify(&app).await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["first_bad_id"], 2);
}

#[tokio::test]
async fn a_failed_audit_write_fails_the_change_and_leaves_the_data_alone() {
    let app = spawn_app().await;
    let id = id_of(&app.create_policy("guarded", "privacy").await);
    let before: Vec<Value> = entries(&app, "").await;
    sql(&app, "DELETE FROM audit_head").await;
    let rename = PolicyUpdate {
        name: Patch::Value("renamed".into()),
        ..PolicyUpdate::default()
    };
    let err = app.update_policy(id, &rename).await.unwrap_err();
    assert_eq!((err.status, err.detail()), (500, "Internal server error"));
    let now: PolicyResponse = app.get_policy(id).await.unwrap();
    assert_eq!(now.name, "guarded", "the change was rolled back");
    let key = json!({ "name": "k", "scopes": ["read"] });
    let err = app
        .post_as::<_, Value>("/api/keys/", &key)
        .await
        .unwrap_err();
    assert_eq!(err.status, 500);
    let keys: Vec<Value> = app.get_ok("/api/keys/").await;
    assert!(keys.is_empty(), "no key without its audit entry");
    assert_eq!(entries(&app, "").await, before);
}
