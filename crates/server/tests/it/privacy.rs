//! `store_content` and retention.

use chrono::{Duration, Utc};
use sentinel_server::Settings;
use sentinel_server::settings::StoreContent;
use serde_json::{Value, json};

use sentinel_api::PolicyCategory;
use sentinel_api::audit::AuditVerification;
use sentinel_api::dashboard::TimelinePoint;
use sentinel_api::violation::ViolationResponse;

use crate::client::{guard_request, policy_create};
use crate::helpers::{TestApp, id_of, new_event, new_violation, spawn_app, spawn_app_with};

async fn app_storing(content: StoreContent) -> TestApp {
    let app = spawn_app_with(Settings {
        store_content: content,
        ..Settings::default()
    })
    .await;
    app.enforced_policy(&policy_create("emails", PolicyCategory::Privacy))
        .await;
    app
}

async fn violations_of(app: &TestApp, event: &Value) -> Vec<ViolationResponse> {
    app.event_violations(id_of(event)).await.unwrap()
}

#[tokio::test]
async fn store_content_none_keeps_no_text_but_keeps_the_findings() {
    let app = app_storing(StoreContent::None).await;
    let event = app
        .create_event(
            "n-1",
            json!({ "prompt": "mail jane@example.com", "event_data": "{\"prompt\":\"x\"}" }),
        )
        .await;
    assert!(event["prompt"].is_null());
    assert!(event["event_data"].is_null());
    let stored = app.get_event(id_of(&event)).await.unwrap();
    assert!(stored.prompt.is_none());
    let violations = violations_of(&app, &event).await;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].findings[0].entity, "email");
}

#[tokio::test]
async fn store_content_redacted_replaces_detected_values() {
    let app = app_storing(StoreContent::Redacted).await;
    let event = app
        .create_event("r-1", json!({ "prompt": "mail jane@example.com today" }))
        .await;
    assert_eq!(event["prompt"], "mail [EMAIL_1] today");
    // Texts inside `event_data` are redacted too.
    let event = app
        .create_event(
            "r-2",
            json!({ "event_data": "{\"prompt\":\"mail bob@example.org\",\"app\":\"crm\"}" }),
        )
        .await;
    let data: Value = serde_json::from_str(event["event_data"].as_str().unwrap()).unwrap();
    assert_eq!(data["prompt"], "mail [EMAIL_1]");
    assert_eq!(data["app"], "crm");
    assert_eq!(violations_of(&app, &event).await.len(), 1);
    // The guard's recorded events as well.
    let guard = app
        .guard(&guard_request("reach me at eve@example.net"))
        .await
        .unwrap();
    let stored = app.get_event(guard.event_id.unwrap()).await.unwrap();
    assert_eq!(stored.prompt.as_deref(), Some("reach me at [EMAIL_1]"));
}

#[tokio::test]
async fn store_content_full_is_the_default() {
    let app = spawn_app().await;
    let event = app
        .create_event("f-1", json!({ "prompt": "mail jane@example.com" }))
        .await;
    assert_eq!(event["prompt"], "mail jane@example.com");
}

#[tokio::test]
async fn retention_deletes_old_events_their_violations_and_rollups_and_is_audited() {
    let app = spawn_app().await;
    let policy = app.create_policy("p", "privacy").await;
    let now = Utc::now();
    for (i, age_days) in [45, 40, 31, 2, 0].into_iter().enumerate() {
        app.store
            .create_event(
                new_event(&format!("e-{i}"), now - Duration::days(age_days)),
                vec![new_violation(
                    id_of(&policy),
                    sentinel_api::ViolationType::DataLeak,
                    sentinel_api::Severity::High,
                )],
            )
            .await
            .unwrap();
    }
    let purged = sentinel_server::service::retention::run_once(&app.state, 30)
        .await
        .unwrap();
    assert_eq!((purged.events, purged.violations), (3, 3));
    let stats = app.dashboard_stats().await;
    assert_eq!(
        stats.total_events, 2,
        "the rollups lost the deleted events too"
    );
    let (_, violations) = app.list_violations("").await;
    assert_eq!(violations.len(), 2);
    let timeline: Vec<TimelinePoint> = app.get_ok("/api/dashboard/events/timeline?days=60").await;
    let total: u64 = timeline.iter().map(|d| d.total).sum();
    assert_eq!(total, 2);

    // A second run finds nothing and says so.
    let again = sentinel_server::service::retention::run_once(&app.state, 30)
        .await
        .unwrap();
    assert_eq!(again.events, 0);
    let runs = app.audit("?action=retention.purge").await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].after.as_ref().unwrap()["events_deleted"], 3);
    assert_eq!(runs[1].actor, "system:retention");
    assert_eq!(runs[0].after.as_ref().unwrap()["events_deleted"], 0);
    let report: AuditVerification = app.get_ok("/api/audit/verify").await;
    assert!(report.intact);
}
