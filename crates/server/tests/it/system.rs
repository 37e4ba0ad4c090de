use serde_json::Value;

use sentinel_api::PolicyCategory;
use sentinel_api::guard::GuardRequest;

use crate::client::{guard_request, policy_create};
use crate::helpers::{header, spawn_app};

#[tokio::test]
async fn root_answers_the_legacy_json() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["message"], "SentinelAI AI Governance Platform API");
    assert_eq!(body["version"], "1.0.0");
    assert_eq!(body["docs"], "/docs");
}

#[tokio::test]
async fn health_and_ready() {
    let app = spawn_app().await;
    let body: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let res = app.get("/nope").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Not Found");
    let res = app.post("/api/violations/", &serde_json::json!({})).await;
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    assert_eq!(app.delete("/api/violations/1").await.status(), 405);
    assert_eq!(app.delete("/api/events/1").await.status(), 405);
}

#[tokio::test]
async fn slash_forms_redirect_with_the_query_kept() {
    let app = spawn_app().await;
    for (from, to) in [
        ("/api/policies?limit=2", "/api/policies/?limit=2"),
        ("/api/events", "/api/events/"),
        (
            "/api/violations?status=detected",
            "/api/violations/?status=detected",
        ),
        ("/api/policies/templates", "/api/policies/templates/"),
        ("/api/policies/1/", "/api/policies/1"),
        ("/api/dashboard/stats/", "/api/dashboard/stats"),
        ("/api/events/stats/summary/", "/api/events/stats/summary"),
        ("/health/", "/health"),
    ] {
        let res = app.get(from).await;
        assert_eq!(res.status(), 307, "{from}");
        assert_eq!(res.headers()["location"], to, "{from}");
    }
    // POST keeps its method and body through a 307.
    let res = app.post("/api/policies", &serde_json::json!({})).await;
    assert_eq!(res.status(), 307);
}

#[tokio::test]
async fn oversized_bodies_are_413_and_security_headers_are_set() {
    let app = spawn_app().await;
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let res = app.post_raw("/api/policies/", big).await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
    let res = app.get("/health").await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("x-request-id"));
    // CORS is closed by default.
    let res = app
        .client
        .get(app.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn metrics_expose_requests_policies_streams_and_the_pool() {
    let app = spawn_app().await;
    let emails = policy_create("emails", PolicyCategory::Privacy);
    let id = app.enforced_policy(&emails).await.id;
    let text = GuardRequest {
        record: false,
        ..guard_request("mail jane@example.com")
    };
    app.guard(&text).await.unwrap();
    app.get_policy(id).await.unwrap();
    assert_eq!(
        app.anon
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").contains("openmetrics"));
    let text = res.text().await.unwrap();
    for needle in [
        r#"sentinel_http_requests_total{method="GET",route="/api/policies/{policy_id}",status="200"} 1"#,
        r#"sentinel_http_request_duration_seconds_count{method="POST",route="/api/guard"} 1"#,
        &format!(r#"sentinel_policy_evaluations_total{{policy_id="{id}",policy="emails"}} 1"#),
        &format!(r#"sentinel_policy_violations_total{{policy_id="{id}",policy="emails"}} 1"#),
        "sentinel_policies_enforced 1",
        "sentinel_websocket_clients 0",
        "sentinel_websocket_lagged_messages_total 0",
        "sentinel_db_pool_connections ",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}
