use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn openapi_is_generated_with_every_route() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "SentinelAI AI Governance Platform");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/policies/",
        "/api/policies/{policy_id}",
        "/api/policies/{policy_id}/test",
        "/api/policies/templates/",
        "/api/events/",
        "/api/events/batch",
        "/api/events/{event_id}/violations",
        "/api/events/stats/summary",
        "/api/violations/",
        "/api/violations/stats/summary",
        "/api/dashboard/events/timeline",
        "/ready",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
}

#[tokio::test]
async fn swagger_and_redoc_are_served_from_the_binary() {
    let app = spawn_app().await;
    let res = app.get("/docs").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<base href=\"/docs/\">"));
    assert!(
        !html.contains("https://"),
        "the Swagger page must not load anything remote"
    );
    let res = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("/openapi.json"));
    let res = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/redoc").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("/redoc/redoc.standalone.js") && !html.contains("cdn"));
    let res = app.get("/redoc/redoc.standalone.js").await;
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().len() > 500_000);
}

/// The enums of the OpenAPI document list the wire values clients must send (CONTRACT.md §7).
#[tokio::test]
async fn openapi_enums_are_the_wire_values() {
    use sentinel_api::*;
    let app = crate::helpers::spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    for (name, wire) in [
        ("PolicyCategory", PolicyCategory::WIRE),
        ("PolicyStatus", PolicyStatus::WIRE),
        ("Severity", Severity::WIRE),
        ("PerformanceMode", PerformanceMode::WIRE),
        ("InterventionType", InterventionType::WIRE),
        ("EventType", EventType::WIRE),
        ("EventStatus", EventStatus::WIRE),
        ("ViolationType", ViolationType::WIRE),
        ("ViolationStatus", ViolationStatus::WIRE),
        ("UserRole", UserRole::WIRE),
        ("Decision", Decision::WIRE),
        ("KeyScope", KeyScope::WIRE),
    ] {
        let listed: Vec<&str> = schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, wire, "{name}");
    }
}

/// The dashboard's `<select>`s offer the wire values of the enums, in their declaration order.
#[tokio::test]
async fn dashboard_selects_offer_the_wire_values() {
    use sentinel_api::*;
    let app = spawn_app().await;
    for (page, wire) in [
        ("/policies/new", PolicyCategory::WIRE),
        ("/policies/new", Severity::WIRE),
        ("/policies/new", PerformanceMode::WIRE),
        ("/policies/new", InterventionType::WIRE),
        ("/policies", PolicyStatus::WIRE),
        ("/events", EventStatus::WIRE),
        ("/events", EventType::WIRE),
        ("/violations", ViolationStatus::WIRE),
        ("/violations", ViolationType::WIRE),
        ("/users", UserRole::WIRE),
    ] {
        let html = app.anon.get(app.url(page)).send().await.unwrap();
        let html = html.text().await.unwrap();
        let options: String = wire
            .iter()
            .map(|v| format!("<option value=\"{v}\""))
            .collect::<Vec<_>>()
            .join("|");
        let listed: String = html
            .match_indices("<option value=\"")
            .map(|(at, _)| &html[at..])
            .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag))
            .map(|tag| tag.trim_end_matches(" selected"))
            .filter(|tag| {
                wire.iter()
                    .any(|v| *tag == format!("<option value=\"{v}\""))
            })
            .collect::<Vec<_>>()
            .join("|");
        assert!(listed.contains(&options), "{page}: {listed}");
    }
}

#[tokio::test]
async fn favicon_and_redoc_stay_on_our_origin() {
    let app = spawn_app().await;
    let res = app.anon.get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/x-icon");
    let icon = res.bytes().await.unwrap();
    assert_eq!(&icon[..4], &[0, 0, 1, 0], "an ICO header");

    let html = app.anon.get(app.url("/redoc")).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("rel=\"icon\""));
    let js = app
        .anon
        .get(app.url("/redoc/redoc.standalone.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !js.contains("cdn.redoc.ly"),
        "the footer logo is served by us"
    );
    assert!(js.contains("src:\"/assets/logo.svg\""));
}
