use serde_json::{Value, json};

use crate::helpers::{assert_422_at, id_of, spawn_app, total_count};

const DEFINITION: &str = "request.prompt has sentinelai.pii(email)";

fn policy_body(name: &str, category: &str) -> Value {
    json!({"name": name, "definition": DEFINITION, "category": category})
}

#[tokio::test]
async fn empty_store_lists_no_policies() {
    let app = spawn_app().await;
    let res = app.get("/api/policies/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(total_count(&res), 0);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!([]));
}

#[tokio::test]
async fn create_answers_a_draft_with_defaults() {
    let app = spawn_app().await;
    let res = app
        .post("/api/policies/", &policy_body("PII guard", "privacy"))
        .await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    for key in [
        "id",
        "name",
        "definition",
        "category",
        "status",
        "severity",
        "performance_mode",
        "intervention_type",
        "intervention_config",
        "estimated_cost_per_event",
        "estimated_latency_ms",
        "created_by",
        "created_at",
        "updated_at",
        "definition_errors",
        "metrics",
    ] {
        assert!(p.get(key).is_some(), "missing key {key} in {p}");
    }
    assert!(p["id"].as_i64().unwrap() > 0);
    assert_eq!(p["name"], "PII guard");
    assert_eq!(p["definition"], DEFINITION);
    assert_eq!(p["category"], "privacy");
    assert_eq!(p["status"], "draft");
    assert_eq!(p["severity"], "medium");
    assert_eq!(p["performance_mode"], "balanced");
    assert_eq!(p["intervention_type"], "notification");
    assert_eq!(p["intervention_config"], Value::Null);
    assert_eq!(p["updated_at"], Value::Null);
    assert!(p["created_at"].as_str().unwrap().ends_with('Z'), "{p}");
    assert!(p["estimated_cost_per_event"].as_f64().unwrap() > 0.0);
    assert!(p["estimated_latency_ms"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn create_ignores_a_requested_status() {
    let app = spawn_app().await;
    let mut body = policy_body("Sneaky", "privacy");
    body["status"] = json!("open");
    body["unknown_field"] = json!(42);
    let res = app.post("/api/policies/", &body).await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["status"], "draft");
}

#[tokio::test]
async fn estimates_grow_from_fast_to_robust() {
    let app = spawn_app().await;
    let mut estimates = Vec::new();
    for mode in ["fast", "balanced", "robust"] {
        let mut body = policy_body(&format!("mode {mode}"), "privacy");
        body["performance_mode"] = json!(mode);
        let res = app.post("/api/policies/", &body).await;
        assert_eq!(res.status(), 200);
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["performance_mode"], mode);
        estimates.push((
            p["estimated_cost_per_event"].as_f64().unwrap(),
            p["estimated_latency_ms"].as_f64().unwrap(),
        ));
    }
    let (fast, balanced, robust) = (estimates[0], estimates[1], estimates[2]);
    assert!(
        robust.0 > balanced.0 && balanced.0 > fast.0,
        "cost {estimates:?}"
    );
    assert!(
        robust.1 > balanced.1 && balanced.1 > fast.1,
        "latency {estimates:?}"
    );
}

#[tokio::test]
async fn get_by_id_and_404() {
    let app = spawn_app().await;
    let created = app.create_policy("Getter", "compliance").await;
    let id = id_of(&created);
    let res = app.get(&format!("/api/policies/{id}")).await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got, created);

    let res = app.get("/api/policies/999").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Policy not found", "code": "policy_not_found"})
    );
}

#[tokio::test]
async fn create_validation_errors_are_422() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/policies/",
            &json!({"definition": DEFINITION, "category": "privacy"}),
        )
        .await;
    assert_422_at(res, &["body", "name"]).await;

    let res = app
        .post(
            "/api/policies/",
            &json!({"name": "x", "definition": DEFINITION, "category": "bogus"}),
        )
        .await;
    assert_422_at(res, &["body", "category"]).await;

    let res = app
        .post(
            "/api/policies/",
            &json!({"name": null, "definition": DEFINITION, "category": "privacy"}),
        )
        .await;
    assert_422_at(res, &["body", "name"]).await;

    for raw in [
        b"{not json".to_vec(),
        b"[1, 2]".to_vec(),
        b"\"a string\"".to_vec(),
        vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
    ] {
        let res = app.post_raw("/api/policies/", raw.clone()).await;
        assert_eq!(res.status(), 422, "{:?}", String::from_utf8_lossy(&raw));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "validation_error");
        let issues = body["detail"].as_array().expect("detail is a list");
        assert!(!issues.is_empty());
        assert_eq!(issues[0]["loc"][0], "body", "{body}");
    }

    // Nothing was stored.
    let res = app.get("/api/policies/").await;
    assert_eq!(total_count(&res), 0);
}

#[tokio::test]
async fn put_updates_partially() {
    let app = spawn_app().await;
    let created = app.create_policy("Before", "privacy").await;
    let id = id_of(&created);
    let res = app
        .put(
            &format!("/api/policies/{id}"),
            &json!({"name": "After", "status": "closed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["name"], "After");
    assert_eq!(p["status"], "closed");
    assert_eq!(p["category"], "privacy");
    assert_eq!(p["definition"], DEFINITION);
    assert_eq!(p["severity"], "medium");
    assert_eq!(p["created_at"], created["created_at"]);
    assert!(p["updated_at"].is_string(), "{p}");

    let stored: Value = app
        .get(&format!("/api/policies/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, p);

    let res = app.put("/api/policies/999", &json!({"name": "x"})).await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Policy not found");
}

#[tokio::test]
async fn put_with_null_required_field_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_policy("Keep me", "privacy").await;
    let id = id_of(&created);
    let res = app
        .put(
            &format!("/api/policies/{id}"),
            &json!({"name": null, "severity": "high"}),
        )
        .await;
    assert_422_at(res, &["body", "name"]).await;
    let stored: Value = app
        .get(&format!("/api/policies/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, created);
}

#[tokio::test]
async fn put_changes_estimates_with_the_mode() {
    let app = spawn_app().await;
    let created = app.create_policy("Mode", "privacy").await;
    let id = id_of(&created);
    let res = app
        .put(
            &format!("/api/policies/{id}"),
            &json!({"performance_mode": "robust"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["performance_mode"], "robust");
    assert!(
        p["estimated_latency_ms"].as_f64().unwrap()
            > created["estimated_latency_ms"].as_f64().unwrap()
    );
}

#[tokio::test]
async fn delete_removes_the_policy_from_the_api() {
    let app = spawn_app().await;
    let keep = app.create_policy("Keep", "privacy").await;
    let gone = app.create_policy("Gone", "privacy").await;
    let gone_id = id_of(&gone);
    let res = app.delete(&format!("/api/policies/{gone_id}")).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"message": "Policy deleted successfully"}));

    let res = app.get(&format!("/api/policies/{gone_id}")).await;
    assert_eq!(res.status(), 404);
    let res = app.get("/api/policies/").await;
    assert_eq!(total_count(&res), 1);
    let list: Vec<Value> = res.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], keep["id"]);

    // A second delete and an unknown id are both 404.
    assert_eq!(
        app.delete(&format!("/api/policies/{gone_id}"))
            .await
            .status(),
        404
    );
    let res = app.delete("/api/policies/999").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Policy not found");
}

#[tokio::test]
async fn list_filters_by_status_and_category() {
    let app = spawn_app().await;
    let a = app.create_policy("A", "privacy").await;
    let b = app.create_policy("B", "compliance").await;
    let c = app.create_policy("C", "privacy").await;
    let res = app
        .put(
            &format!("/api/policies/{}", id_of(&b)),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let res = app.get("/api/policies/?status=draft").await;
    assert_eq!(res.status(), 200);
    assert_eq!(total_count(&res), 2);
    let list: Vec<Value> = res.json().await.unwrap();
    let ids: Vec<&Value> = list.iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, vec![&a["id"], &c["id"]]);

    let list: Vec<Value> = app
        .get("/api/policies/?status=closed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], b["id"]);

    let res = app.get("/api/policies/?category=privacy").await;
    assert_eq!(total_count(&res), 2);
    let list: Vec<Value> = res.json().await.unwrap();
    assert!(list.iter().all(|p| p["category"] == "privacy"));

    let list: Vec<Value> = app
        .get("/api/policies/?category=privacy&status=closed")
        .await
        .json()
        .await
        .unwrap();
    assert!(list.is_empty());

    // `category` is a free string: an unknown value matches nothing rather than failing.
    let res = app.get("/api/policies/?category=nothing_like_it").await;
    assert_eq!(res.status(), 200);
    assert_eq!(total_count(&res), 0);

    assert_422_at(
        app.get("/api/policies/?status=bogus").await,
        &["query", "status"],
    )
    .await;
}

#[tokio::test]
async fn list_paginates_with_total_count() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(id_of(
            &app.create_policy(&format!("P{i}"), "governance").await,
        ));
    }
    let res = app.get("/api/policies/?skip=1&limit=2").await;
    assert_eq!(res.status(), 200);
    assert_eq!(total_count(&res), 5);
    let list: Vec<Value> = res.json().await.unwrap();
    let got: Vec<i64> = list.iter().map(id_of).collect();
    assert_eq!(got, ids[1..3]);

    let res = app.get("/api/policies/?skip=4&limit=10").await;
    assert_eq!(total_count(&res), 5);
    let list: Vec<Value> = res.json().await.unwrap();
    assert_eq!(list.iter().map(id_of).collect::<Vec<_>>(), vec![ids[4]]);

    let res = app.get("/api/policies/?skip=10").await;
    assert_eq!(total_count(&res), 5);
    let list: Vec<Value> = res.json().await.unwrap();
    assert!(list.is_empty());

    assert_eq!(app.get("/api/policies/?limit=1000").await.status(), 200);
    assert_422_at(
        app.get("/api/policies/?limit=1001").await,
        &["query", "limit"],
    )
    .await;
    assert_422_at(app.get("/api/policies/?skip=-1").await, &["query", "skip"]).await;
}

#[tokio::test]
async fn non_numeric_path_id_is_422() {
    let app = spawn_app().await;
    assert_422_at(app.get("/api/policies/abc").await, &["path", "policy_id"]).await;
    assert_422_at(
        app.put("/api/policies/abc", &json!({"name": "x"})).await,
        &["path", "policy_id"],
    )
    .await;
    assert_422_at(
        app.delete("/api/policies/abc").await,
        &["path", "policy_id"],
    )
    .await;
}

#[tokio::test]
async fn templates_list_and_instantiate() {
    let app = spawn_app().await;
    let res = app.get("/api/policies/templates/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(total_count(&res), 0);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!([]));

    let code = "request.prompt has sentinelai.pii(phone)";
    let template = app
        .store
        .create_template(sentinel_store::NewTemplate {
            name: "Phone numbers".into(),
            description: Some("Flags phone numbers".into()),
            category: sentinel_api::PolicyCategory::DataSecurity,
            template_code: code.into(),
            default_severity: sentinel_api::Severity::High,
            default_performance_mode: sentinel_api::PerformanceMode::Fast,
            default_intervention_type: sentinel_api::InterventionType::Redact,
            tags: Some("pii,phone".into()),
        })
        .await
        .unwrap();

    let res = app.get("/api/policies/templates/").await;
    assert_eq!(total_count(&res), 1);
    let list: Vec<Value> = res.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], template.id);
    assert_eq!(list[0]["template_code"], code);
    assert_eq!(list[0]["category"], "data_security");
    assert_eq!(list[0]["is_active"], true);

    let res = app
        .post_raw(
            &format!("/api/policies/templates/{}/instantiate", template.id),
            "",
        )
        .await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["status"], "draft");
    assert_eq!(p["definition"], code);
    assert_eq!(p["name"], "Phone numbers");
    assert_eq!(p["category"], "data_security");
    assert_eq!(p["severity"], "high");
    assert_eq!(p["performance_mode"], "fast");
    assert_eq!(p["intervention_type"], "redact");
    let stored: Value = app
        .get(&format!("/api/policies/{}", id_of(&p)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["definition"], code);

    // Overrides.
    let res = app
        .post(
            &format!("/api/policies/templates/{}/instantiate", template.id),
            &json!({"name": "My phones", "severity": "critical"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["name"], "My phones");
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["definition"], code);
    assert_eq!(total_count(&app.get("/api/policies/").await), 2);

    let res = app
        .post("/api/policies/templates/999/instantiate", &json!({}))
        .await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("not found"),
        "{body}"
    );
    assert_eq!(total_count(&app.get("/api/policies/").await), 2);
}

/// CONTRACT §0: PostgreSQL refuses U+0000 in text columns; the API must answer 422 (or store
/// the text), never 500. Passes on SQLite.
#[tokio::test]
async fn nul_characters_in_a_policy_never_produce_a_500() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/policies/",
            &json!({"name": "a\u{0}b", "definition": DEFINITION, "category": "privacy"}),
        )
        .await;
    let status = res.status().as_u16();
    assert!(
        status == 200 || status == 422,
        "status {status}: {}",
        res.text().await.unwrap()
    );
}

/// Passes on SQLite.
#[tokio::test]
async fn nul_characters_in_a_query_filter_never_produce_a_500() {
    let app = spawn_app().await;
    for path in [
        "/api/policies/?category=priv%00acy",
        "/api/events/?source=a%00b",
    ] {
        let res = app.get(path).await;
        let status = res.status().as_u16();
        assert!(status == 200 || status == 422, "{path}: {status}");
    }
}
