use sentinel_api::policy::{PolicyCreate, PolicyResponse, PolicyUpdate, TemplateInstantiate};
use sentinel_api::{
    InterventionType, Patch, PerformanceMode, PolicyCategory, PolicyStatus, Severity,
};
use serde_json::{Value, json};

use crate::client::{expect_status, policy_create, policy_status};
use crate::helpers::{TestApp, assert_422_at, id_of, spawn_app};

const DEFINITION: &str = "request.prompt has sentinelai.pii(email)";

fn policy_body(name: &str, category: &str) -> Value {
    json!({"name": name, "definition": DEFINITION, "category": category})
}

/// `GET /api/policies/{query}`: the total and the ids.
async fn list(app: &TestApp, query: &str) -> (u64, Vec<i64>) {
    let (total, page) = app.list_policies(query).await;
    (total, page.iter().map(|p| p.id).collect())
}

/// Creates a privacy policy named `name` through the typed client.
async fn add_policy(app: &TestApp, name: &str) -> PolicyResponse {
    let body = policy_create(name, PolicyCategory::Privacy);
    app.post_policy(&body).await.unwrap()
}

#[tokio::test]
async fn empty_store_lists_no_policies() {
    let app = spawn_app().await;
    let (total, page) = app.get_page::<Value>("/api/policies/").await;
    assert_eq!((total, page), (0, vec![]));
}

#[tokio::test]
async fn create_answers_a_draft_with_defaults() {
    let app = spawn_app().await;
    let res = app
        .post("/api/policies/", &policy_body("PII guard", "privacy"))
        .await;
    let p = expect_status(res, 200).await;
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
    let p = expect_status(app.post("/api/policies/", &body).await, 200).await;
    assert_eq!(p["status"], "draft");
}

/// Creates a privacy policy of `definition` in each mode, fast to robust, and asserts the
/// estimated cost and latency grow with the mode.
pub async fn assert_estimates_grow_with_the_mode(app: &TestApp, definition: &str) {
    let mut estimates = Vec::new();
    for mode in [
        PerformanceMode::Fast,
        PerformanceMode::Balanced,
        PerformanceMode::Robust,
    ] {
        let body = PolicyCreate {
            definition: definition.into(),
            performance_mode: mode,
            ..policy_create(&format!("mode {mode}"), PolicyCategory::Privacy)
        };
        let p = app.post_policy(&body).await.unwrap();
        assert_eq!(p.performance_mode, mode);
        estimates.push((p.estimated_cost_per_event, p.estimated_latency_ms));
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
async fn estimates_grow_from_fast_to_robust() {
    let app = spawn_app().await;
    assert_estimates_grow_with_the_mode(&app, DEFINITION).await;
}

#[tokio::test]
async fn get_by_id_and_404() {
    let app = spawn_app().await;
    let created = app.create_policy("Getter", "compliance").await;
    let got: Value = app
        .get_ok(&format!("/api/policies/{}", id_of(&created)))
        .await;
    assert_eq!(got, created);

    let err = app.get_policy(999).await.unwrap_err();
    err.assert_exactly(404, "policy_not_found", "Policy not found");
}

#[tokio::test]
async fn create_validation_errors_are_422() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({"definition": DEFINITION, "category": "privacy"}),
            "name",
        ),
        (
            json!({"name": "x", "definition": DEFINITION, "category": "bogus"}),
            "category",
        ),
        (
            json!({"name": null, "definition": DEFINITION, "category": "privacy"}),
            "name",
        ),
    ] {
        let res = app.post("/api/policies/", &body).await;
        assert_422_at(res, &["body", field]).await;
    }

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
    assert_eq!(list(&app, "").await, (0, vec![]));
}

#[tokio::test]
async fn put_updates_partially() {
    let app = spawn_app().await;
    let created = add_policy(&app, "Before").await;
    let update = PolicyUpdate {
        name: Patch::Value("After".into()),
        ..policy_status(PolicyStatus::Closed)
    };
    let p = app.update_policy(created.id, &update).await.unwrap();
    assert_eq!(p.name, "After");
    assert_eq!(p.status, PolicyStatus::Closed);
    assert_eq!(p.category, PolicyCategory::Privacy);
    assert_eq!(p.definition, DEFINITION);
    assert_eq!(p.severity, Severity::Medium);
    assert_eq!(p.created_at, created.created_at);
    assert!(p.updated_at.is_some(), "{p:?}");

    let stored = app.get_policy(p.id).await.unwrap();
    assert_eq!(
        serde_json::to_value(stored).unwrap(),
        serde_json::to_value(&p).unwrap()
    );

    let err = app.update_policy(999, &update).await.unwrap_err();
    assert_eq!((err.status, err.detail()), (404, "Policy not found"));
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
    let stored: Value = app.get_ok(&format!("/api/policies/{id}")).await;
    assert_eq!(stored, created);
}

#[tokio::test]
async fn put_changes_estimates_with_the_mode() {
    let app = spawn_app().await;
    let created = add_policy(&app, "Mode").await;
    let robust = PolicyUpdate {
        performance_mode: Patch::Value(PerformanceMode::Robust),
        ..PolicyUpdate::default()
    };
    let p = app.update_policy(created.id, &robust).await.unwrap();
    assert_eq!(p.performance_mode, PerformanceMode::Robust);
    assert!(p.estimated_latency_ms > created.estimated_latency_ms);
}

#[tokio::test]
async fn delete_removes_the_policy_from_the_api() {
    let app = spawn_app().await;
    let keep = add_policy(&app, "Keep").await;
    let gone = add_policy(&app, "Gone").await.id;
    let body = app.delete_policy(gone).await.unwrap();
    assert_eq!(body, json!({"message": "Policy deleted successfully"}));

    assert_eq!(app.get_policy(gone).await.unwrap_err().status, 404);
    assert_eq!(list(&app, "").await, (1, vec![keep.id]));

    // A second delete and an unknown id are both 404.
    assert_eq!(app.delete_policy(gone).await.unwrap_err().status, 404);
    let err = app.delete_policy(999).await.unwrap_err();
    assert_eq!((err.status, err.detail()), (404, "Policy not found"));
}

#[tokio::test]
async fn list_filters_by_status_and_category() {
    let app = spawn_app().await;
    let a = add_policy(&app, "A").await.id;
    let b = id_of(&app.create_policy("B", "compliance").await);
    let c = add_policy(&app, "C").await.id;
    let closed = policy_status(PolicyStatus::Closed);
    app.update_policy(b, &closed).await.unwrap();

    assert_eq!(list(&app, "?status=draft").await, (2, vec![a, c]));
    assert_eq!(list(&app, "?status=closed").await, (1, vec![b]));
    let (total, page) = app.list_policies("?category=privacy").await;
    assert_eq!(total, 2);
    assert!(page.iter().all(|p| p.category == PolicyCategory::Privacy));
    assert_eq!(
        list(&app, "?category=privacy&status=closed").await,
        (0, vec![])
    );
    // `category` is a free string: an unknown value matches nothing rather than failing.
    assert_eq!(list(&app, "?category=nothing_like_it").await, (0, vec![]));

    let invalid = [("status=bogus", "status")];
    app.assert_invalid_queries("/api/policies/", &invalid).await;
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
    assert_eq!(list(&app, "?skip=1&limit=2").await, (5, ids[1..3].to_vec()));
    assert_eq!(list(&app, "?skip=4&limit=10").await, (5, vec![ids[4]]));
    assert_eq!(list(&app, "?skip=10").await, (5, vec![]));

    assert_eq!(app.get("/api/policies/?limit=1000").await.status(), 200);
    let invalid = [("limit=1001", "limit"), ("skip=-1", "skip")];
    app.assert_invalid_queries("/api/policies/", &invalid).await;
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
    // Every fresh store holds the template library.
    let library = sentinel_server::service::templates::LIBRARY.len();
    let (total, page) = app.get_page::<Value>("/api/policies/templates/").await;
    assert_eq!((total, page.len()), (library as u64, library));

    let code = "request.prompt has sentinelai.pii(phone)";
    let template = app
        .store
        .create_template(sentinel_store::NewTemplate {
            name: "Phone numbers".into(),
            description: Some("Flags phone numbers".into()),
            category: sentinel_api::PolicyCategory::DataSecurity,
            template_code: code.into(),
            default_severity: Severity::High,
            default_performance_mode: PerformanceMode::Fast,
            default_intervention_type: InterventionType::Redact,
            tags: Some("pii,phone".into()),
            owasp_llm: vec!["LLM02:2025".into()],
        })
        .await
        .unwrap();

    let (total, templates) = app.get_page::<Value>("/api/policies/templates/").await;
    assert_eq!((total, templates.len()), (library as u64 + 1, library + 1));
    let mine = &templates[library];
    assert_eq!(mine["id"], template.id);
    assert_eq!(mine["template_code"], code);
    assert_eq!(mine["category"], "data_security");
    assert_eq!(mine["is_active"], true);
    assert_eq!(mine["owasp_llm"], json!(["LLM02:2025"]));

    let instantiate = format!("/api/policies/templates/{}/instantiate", template.id);
    // An empty body takes every default.
    let p = expect_status(app.post_raw(&instantiate, "").await, 200).await;
    assert_eq!(p["status"], "draft");
    assert_eq!(p["definition"], code);
    assert_eq!(p["name"], "Phone numbers");
    assert_eq!(p["category"], "data_security");
    assert_eq!(p["severity"], "high");
    assert_eq!(p["performance_mode"], "fast");
    assert_eq!(p["intervention_type"], "redact");
    assert_eq!(
        p["enforcement"], "shadow",
        "a template starts in shadow mode"
    );
    let stored = app.get_policy(id_of(&p)).await.unwrap();
    assert_eq!(stored.definition, code);

    // Overrides.
    let overrides = TemplateInstantiate {
        name: Some("My phones".into()),
        severity: Some(Severity::Critical),
        ..TemplateInstantiate::default()
    };
    let p: PolicyResponse = app.post_as(&instantiate, &overrides).await.unwrap();
    assert_eq!(p.enforcement, sentinel_api::Enforcement::Shadow);
    assert_eq!(p.name, "My phones");
    assert_eq!(p.severity, Severity::Critical);
    assert_eq!(p.definition, code);
    assert_eq!(list(&app, "").await.0, 2);

    let err = app
        .post_as::<_, Value>("/api/policies/templates/999/instantiate", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status, 404);
    assert!(err.detail().contains("not found"), "{}", err.body);
    assert_eq!(list(&app, "").await.0, 2);
}

/// Issue 13 item 5: the library on every fresh store, mapped to OWASP (2025), each template
/// compiling; seeding again adds nothing.
#[tokio::test]
async fn the_template_library_is_seeded_once_with_owasp_ids() {
    let app = spawn_app().await;
    let (total, templates) = app.get_page::<Value>("/api/policies/templates/").await;
    assert!(total >= 20, "{total} templates");
    for t in &templates {
        let code = t["template_code"].as_str().unwrap();
        assert!(!code.trim().is_empty(), "{t}");
        let ids = t["owasp_llm"].as_array().unwrap();
        assert!(!ids.is_empty(), "{t}");
        assert!(
            ids.iter().all(|id| id.as_str().unwrap().ends_with(":2025")),
            "{t}"
        );
        let v: Value = app
            .post_as("/api/policies/validate", &json!({"definition": code}))
            .await
            .unwrap();
        assert_eq!(v["valid"], true, "{}: {v}", t["name"]);
    }
    // The legacy templates keep their names and their ids 1–7.
    assert_eq!(templates[0]["name"], "Prompt Injection Prevention");
    assert_eq!(templates[0]["id"], 1);
    assert_eq!(templates[6]["name"], "Unsafe Content");
    assert_eq!(templates[6]["id"], 7);

    let added = sentinel_server::service::templates::seed(&app.store)
        .await
        .unwrap();
    assert_eq!(added, 0);
    assert_eq!(
        app.get_page::<Value>("/api/policies/templates/").await.0,
        total
    );
}

fn template_id(templates: &[Value], name: &str) -> i64 {
    templates
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["id"].as_i64())
        .unwrap_or_else(|| panic!("no template {name}"))
}

/// Instantiating takes apps, action and mode; the policy starts in shadow mode unless asked to
/// enforce, and an enforced instance acts on the traffic of its apps only.
#[tokio::test]
async fn instantiating_a_template_with_apps_action_and_mode() {
    let app = spawn_app().await;
    let (_, templates) = app.get_page::<Value>("/api/policies/templates/").await;
    let id = template_id(&templates, "Secrets in Prompts");
    let url = format!("/api/policies/templates/{id}/instantiate");

    let p = expect_status(
        app.post(
            &url,
            &json!({"apps": ["SupportBot", "Billing \"EU\""], "action": "redact", "mode": "fast"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(p["enforcement"], "shadow");
    assert_eq!(p["intervention_type"], "redact");
    assert_eq!(p["performance_mode"], "fast");
    assert_eq!(
        p["definition"],
        "(request.prompt has sentinelai.secrets) and scope.app in [\"SupportBot\", \"Billing \\\"EU\\\"\"]"
    );
    assert_eq!(p["definition_errors"], json!([]));

    // Enforced and opened: blocks a key pasted in SupportBot, not in another app.
    let p = expect_status(
        app.post(
            &url,
            &json!({"apps": ["SupportBot"], "enforcement": "enforce"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(p["enforcement"], "enforce");
    assert_eq!(p["intervention_type"], "block");
    let policy_id = id_of(&p);
    expect_status(
        app.put(
            &format!("/api/policies/{policy_id}"),
            &json!({"status": "open"}),
        )
        .await,
        200,
    )
    .await;
    let key = "key=sk-ant-api03-NTGr1ZkoJfOWvLAaUNiBWWMObEjTrSc6FZeIrf6wXolnykHEeCtHhYPhWZu6IDAQjjmIGJqVbMpd8uH0jjMcf47dnx02hAA";
    let guard = |source: &'static str| json!({"text": key, "stage": "input", "source": source, "record": false});
    let r = expect_status(app.post("/api/guard", &guard("supportbot")).await, 200).await;
    assert_eq!(r["decision"], "block", "{r}");
    let r = expect_status(app.post("/api/guard", &guard("Other")).await, 200).await;
    assert_eq!(r["decision"], "allow", "{r}");

    // Bad parameters are 422s that say what is wrong.
    for (body, loc) in [
        (json!({"apps": []}), json!(["body", "apps"])),
        (json!({"apps": ["ok", " "]}), json!(["body", "apps", 1])),
    ] {
        let err = expect_status(app.post(&url, &body).await, 422).await;
        assert_eq!(err["detail"][0]["loc"], loc, "{body}: {err}");
        assert!(
            err["detail"][0]["msg"]
                .as_str()
                .unwrap()
                .contains("application"),
            "{err}"
        );
    }
    let err = expect_status(app.post(&url, &json!({"action": "explode"})).await, 422).await;
    assert!(err.to_string().contains("explode"), "{err}");
    assert_eq!(list(&app, "").await.0, 2);
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
