//! The permission matrix of `docs/SECURITY.md`, checked against every route of the OpenAPI
//! document with eight kinds of caller.

use std::collections::BTreeSet;

use reqwest::{Client, Method};
use sentinel_api::UserRole;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

const SECURITY_MD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/SECURITY.md"
));

/// (method, path, requirement) rows of the matrix table.
fn matrix() -> Vec<(String, String, String)> {
    SECURITY_MD
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | METHOD | `path` | requirement |
            if cells.len() != 5 || !["GET", "POST", "PUT", "DELETE"].contains(&cells[1]) {
                return None;
            }
            Some((
                cells[1].to_owned(),
                cells[2].trim_matches('`').to_owned(),
                cells[3].to_owned(),
            ))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Anonymous,
    Expired,
    Tampered,
    Viewer,
    Analyst,
    Admin,
    IngestKey,
    ReadKey,
}

/// Whether `caller` may call a route that needs `requirement`.
fn allowed(caller: Caller, requirement: &str) -> bool {
    use Caller::*;
    match requirement {
        "public" => true,
        "read" => matches!(caller, Viewer | Analyst | Admin | ReadKey),
        "ingest" => matches!(caller, Analyst | Admin | IngestKey),
        "analyst" => matches!(caller, Analyst | Admin),
        "admin" => caller == Admin,
        "user" => matches!(caller, Viewer | Analyst | Admin),
        other => panic!("unknown requirement {other} in docs/SECURITY.md"),
    }
}

#[tokio::test]
async fn every_route_follows_the_matrix() {
    let app = spawn_app().await;
    let rows = matrix();

    // The table lists exactly the documented routes (plus the documentation routes themselves).
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    let extra: BTreeSet<_> = ["/openapi.json", "/docs", "/redoc", "/metrics"]
        .into_iter()
        .map(|p| ("GET".to_owned(), p.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "routes missing from docs/SECURITY.md: {missing:?}"
    );
    let stale: Vec<_> = listed
        .difference(&documented)
        .filter(|r| !extra.contains(r))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/SECURITY.md lists routes that do not exist: {stale:?}"
    );

    // One credential of each kind.
    let (viewer, _) = app.client_as("v", UserRole::Viewer).await;
    let (analyst, _) = app.client_as("a", UserRole::Analyst).await;
    let key = |scope: &'static str| {
        let app = &app;
        async move {
            let created: Value = app
                .post("/api/keys/", &json!({ "name": scope, "scopes": [scope] }))
                .await
                .json()
                .await
                .unwrap();
            app.client_with_token(created["key"].as_str().unwrap())
        }
    };
    let ingest_key = key("ingest").await;
    let read_key = key("read").await;
    let expired = {
        use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
        let now = chrono::Utc::now().timestamp();
        let token = encode(
            &Header::new(Algorithm::HS256),
            &json!({ "sub": "1", "name": "root", "iat": now - 4000, "exp": now - 3600 }),
            &EncodingKey::from_secret(&app.secret),
        )
        .unwrap();
        app.client_with_token(&token)
    };
    let tampered = {
        let mut token = app.token.clone();
        let last = token.pop().unwrap();
        token.push(if last == 'A' { 'B' } else { 'A' });
        app.client_with_token(&token)
    };
    let callers: [(Caller, &Client); 8] = [
        (Caller::Anonymous, &app.anon),
        (Caller::Expired, &expired),
        (Caller::Tampered, &tampered),
        (Caller::Viewer, &viewer),
        (Caller::Analyst, &analyst),
        (Caller::Admin, &app.client),
        (Caller::IngestKey, &ingest_key),
        (Caller::ReadKey, &read_key),
    ];

    let mut failures = Vec::new();
    for (method, path, requirement) in &rows {
        // Unknown ids keep the allowed calls harmless (404s and 422s).
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "999999" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for (caller, client) in &callers {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = client.request(method.clone(), app.url(&concrete));
            if method == Method::POST || method == Method::PUT {
                req = req.json(&json!({}));
            }
            let status = req.send().await.unwrap().status().as_u16();
            let ok = if status >= 500 {
                false
            } else if allowed(*caller, requirement) {
                status != 401 && status != 403
            } else if matches!(
                caller,
                Caller::Anonymous | Caller::Expired | Caller::Tampered
            ) {
                status == 401
            } else {
                status == 403
            };
            if !ok {
                failures.push(format!(
                    "{method} {concrete} as {caller:?} ({requirement}): {status}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
