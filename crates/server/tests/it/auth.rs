//! Sign-in, tokens, API keys, users and login throttling, through the HTTP API.

use sentinel_api::UserRole;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app};

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.anon
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn anonymous_requests_get_401_with_www_authenticate() {
    let app = spawn_app().await;
    let res = app
        .anon
        .get(app.url("/api/policies/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Not authenticated");
    // The public routes stay public.
    for path in ["/", "/health", "/ready", "/openapi.json", "/docs", "/redoc"] {
        let res = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn login_me_refresh_rotation_and_logout() {
    let app = spawn_app().await;
    let res = login(&app, "root", "wrong password").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Incorrect username or password");
    assert_eq!(login(&app, "nobody", PASSWORD).await.status(), 401);

    let res = login(&app, "root", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let me: Value = app
        .client_with_token(access)
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "root");
    assert_eq!(me["role"], "admin");
    assert!(me.get("hashed_password").is_none());

    // Rotation: the refresh token works once and yields a new one.
    let refresh_with = |token: String| {
        let app = &app;
        async move {
            app.anon
                .post(app.url("/api/auth/refresh"))
                .json(&json!({ "refresh_token": token }))
                .send()
                .await
                .unwrap()
        }
    };
    let res = refresh_with(refresh.clone()).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, refresh);
    // Reusing the rotated token revokes the whole family, including the new token.
    assert_eq!(refresh_with(refresh.clone()).await.status(), 401);
    assert_eq!(refresh_with(second_refresh).await.status(), 401);

    // Logout revokes the family of a fresh sign-in.
    let third: Value = login(&app, "root", PASSWORD).await.json().await.unwrap();
    let third_refresh = third["refresh_token"].as_str().unwrap().to_owned();
    let res = app
        .anon
        .post(app.url("/api/auth/logout"))
        .json(&json!({ "refresh_token": third_refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(refresh_with(third_refresh).await.status(), 401);

    let actions: Vec<String> = app
        .get("/api/audit/?limit=1000")
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for action in [
        "auth.login_failed",
        "auth.login",
        "auth.refresh_reuse",
        "auth.logout",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn oauth2_password_form_issues_tokens() {
    let app = spawn_app().await;
    let res = app
        .anon
        .post(app.url("/api/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&username=root&password={}",
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some());
    let res = app
        .anon
        .post(app.url("/api/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=root")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // A NUL character is refused before it reaches the database (PostgreSQL rejects it in text).
    let res = app
        .anon
        .post(app.url("/api/auth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ro%00ot&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn expired_tampered_and_foreign_tokens_are_refused() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({ "sub": "1", "name": "root", "iat": now - 7200, "exp": exp });
    let expired = encode(
        &Header::new(Algorithm::HS256),
        &claims(now - 3600),
        &EncodingKey::from_secret(&app.secret),
    )
    .unwrap();
    let foreign = encode(
        &Header::new(Algorithm::HS256),
        &claims(now + 3600),
        &EncodingKey::from_secret(b"some-other-secret-some-other-secret"),
    )
    .unwrap();
    let hs384 = encode(
        &Header::new(Algorithm::HS384),
        &claims(now + 3600),
        &EncodingKey::from_secret(&app.secret),
    )
    .unwrap();
    // Change the payload of a valid token (role escalation attempt) and keep its signature.
    let parts: Vec<&str> = app.token.split('.').collect();
    let forged_payload = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        engine.encode(claims(now + 99_999).to_string())
    };
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{forged_payload}.");
    for token in [expired, foreign, hs384, tampered, none, "garbage".into()] {
        let res = app
            .client_with_token(&token)
            .get(app.url("/api/policies/"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{token}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["detail"], "Could not validate credentials");
    }
}

#[tokio::test]
async fn disabled_users_lose_access_and_cannot_sign_in() {
    let app = spawn_app().await;
    let (client, _) = app.client_as("vera", UserRole::Viewer).await;
    assert_eq!(
        client
            .get(app.url("/api/policies/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let id = app
        .store
        .find_user_by_username("vera")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let res = app
        .put(&format!("/api/users/{id}"), &json!({ "is_active": false }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        client
            .get(app.url("/api/policies/"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(login(&app, "vera", PASSWORD).await.status(), 401);
}

#[tokio::test]
async fn login_is_throttled_after_five_failures() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(login(&app, "root", "nope").await.status(), 401);
    }
    let res = login(&app, "root", PASSWORD).await;
    assert_eq!(res.status(), 429, "even the right password waits");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry));
    // Another user from the same address is throttled too (per client address).
    add_and_login_is_throttled(&app).await;
}

async fn add_and_login_is_throttled(app: &TestApp) {
    crate::helpers::add_user(&app.store, "other", UserRole::Viewer).await;
    assert_eq!(login(app, "other", PASSWORD).await.status(), 429);
}

#[tokio::test]
async fn api_keys_are_shown_once_scoped_revocable_and_expire() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/keys/",
            &json!({ "name": "ingest-bot", "scopes": ["ingest"] }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let prefix = created["prefix"].as_str().unwrap();
    assert!(key.starts_with(prefix) && key.starts_with("snl_"));
    let id = created["id"].as_i64().unwrap();

    // Listed and fetched without the key.
    let listed = app.get("/api/keys/").await.text().await.unwrap();
    assert!(listed.contains(prefix) && !listed.contains(&key[prefix.len() + 1..]));
    let one: Value = app
        .get(&format!("/api/keys/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(one.get("key").is_none());
    assert!(one["last_used_at"].is_null());

    // Ingest works with either header; reading does not.
    let event = json!({
        "event_id": "k-1", "event_type": "llm_request", "title": "t",
        "trigger_date": "2026-11-20T10:00:00Z"
    });
    let res = app
        .anon
        .post(app.url("/api/events/"))
        .header("x-api-key", &key)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let guard = app
        .client_with_token(&key)
        .post(app.url("/api/guard"))
        .json(&json!({ "text": "hello", "stage": "input" }))
        .send()
        .await
        .unwrap();
    assert_eq!(guard.status(), 200);
    let read = app
        .client_with_token(&key)
        .get(app.url("/api/events/"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 403);
    // A wrong secret behind a real prefix is refused.
    let forged = format!("{prefix}_{}", "A".repeat(43));
    let res = app
        .client_with_token(&forged)
        .post(app.url("/api/guard"))
        .json(&json!({ "text": "hello", "stage": "input" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The last use is recorded (asynchronously).
    let mut used = Value::Null;
    for _ in 0..50 {
        let one: Value = app
            .get(&format!("/api/keys/{id}"))
            .await
            .json()
            .await
            .unwrap();
        used = one["last_used_at"].clone();
        if !used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(used.is_string(), "last_used_at is recorded");

    // Revoked: refused at once.
    let res = app.delete(&format!("/api/keys/{id}")).await;
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert!(revoked["revoked_at"].is_string());
    let res = app
        .client_with_token(&key)
        .post(app.url("/api/guard"))
        .json(&json!({ "text": "hello", "stage": "input" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Validation: no scopes, unknown scope, past expiry.
    for body in [
        json!({ "name": "x", "scopes": [] }),
        json!({ "name": "x", "scopes": ["write"] }),
        json!({ "name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z" }),
        json!({ "name": "  ", "scopes": ["read"] }),
    ] {
        assert_eq!(app.post("/api/keys/", &body).await.status(), 422, "{body}");
    }
    assert_eq!(app.delete("/api/keys/999999").await.status(), 404);
}

#[tokio::test]
async fn read_keys_read_and_the_websocket_takes_a_query_token() {
    let app = spawn_app().await;
    let created: Value = app
        .post(
            "/api/keys/",
            &json!({ "name": "reader", "scopes": ["read"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let res = app
        .client_with_token(key)
        .get(app.url("/api/dashboard/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client_with_token(key)
        .post(app.url("/api/guard"))
        .json(&json!({ "text": "hello", "stage": "input" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (_, response) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/events/ws?token={key}", app.addr))
            .await
            .expect("a read key opens the live stream");
    assert_eq!(response.status(), 101);
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/api/events/ws", app.addr)).await;
    assert!(refused.is_err(), "no credentials, no stream");
}

#[tokio::test]
async fn users_crud_and_the_last_admin_is_protected() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/users/",
            &json!({ "username": "ann", "email": "ann@example.com", "password": "ann-password", "role": "analyst" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let ann: Value = res.json().await.unwrap();
    assert_eq!(ann["role"], "analyst");
    assert!(ann.get("password").is_none() && ann.get("hashed_password").is_none());
    let id = ann["id"].as_i64().unwrap();
    assert_eq!(login(&app, "ann", "ann-password").await.status(), 200);

    // Duplicates and bad input.
    let dup = app
        .post(
            "/api/users/",
            &json!({ "username": "ann", "email": "x@example.com", "password": "ann-password" }),
        )
        .await;
    assert_eq!(dup.status(), 409);
    for body in [
        json!({ "username": "b", "email": "not-an-email", "password": "long-enough" }),
        json!({ "username": "b", "email": "b@example.com", "password": "short" }),
        json!({ "username": "", "email": "b@example.com", "password": "long-enough" }),
        json!({ "username": "b", "email": "b@example.com", "password": "long-enough", "role": "root" }),
    ] {
        assert_eq!(app.post("/api/users/", &body).await.status(), 422, "{body}");
    }

    let res = app
        .put(
            &format!("/api/users/{id}"),
            &json!({ "role": "viewer", "full_name": "Ann" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "viewer");
    assert_eq!(app.get(&format!("/api/users/{id}")).await.status(), 200);
    assert_eq!(
        app.put(&format!("/api/users/{id}"), &json!({ "role": null }))
            .await
            .status(),
        422
    );

    // root is the only admin: it cannot be demoted, disabled or deleted.
    let root = app
        .store
        .find_user_by_username("root")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    for res in [
        app.put(&format!("/api/users/{root}"), &json!({ "role": "analyst" }))
            .await,
        app.put(
            &format!("/api/users/{root}"),
            &json!({ "is_active": false }),
        )
        .await,
        app.delete(&format!("/api/users/{root}")).await,
    ] {
        assert_eq!(res.status(), 409);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "last_admin");
    }
    // With a second admin, the first can step down.
    app.put(&format!("/api/users/{id}"), &json!({ "role": "admin" }))
        .await;
    let res = app
        .put(&format!("/api/users/{root}"), &json!({ "role": "analyst" }))
        .await;
    assert_eq!(res.status(), 200);

    let res = app.delete(&format!("/api/users/{id}")).await;
    assert_eq!(res.status(), 403, "root is no longer an admin");
    let list = app.anon.get(app.url("/api/users/")).send().await.unwrap();
    assert_eq!(list.status(), 401);
    let users: Vec<Value> = app
        .client_with_token(&login_token(&app, "ann", "ann-password").await)
        .get(app.url("/api/users/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
}

async fn login_token(app: &TestApp, username: &str, password: &str) -> String {
    let body: Value = login(app, username, password).await.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn anonymous_role_is_opt_in() {
    let app = crate::helpers::spawn_app_with(sentinel_server::Settings {
        anonymous_role: Some(UserRole::Viewer),
        ..Default::default()
    })
    .await;
    let res = app
        .anon
        .get(app.url("/api/policies/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .anon
        .post(app.url("/api/policies/validate"))
        .json(&json!({ "definition": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A bad token is still refused, not downgraded to anonymous.
    let res = app
        .client_with_token("garbage")
        .get(app.url("/api/policies/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let _ = &app.state;
}
