//! Sign-in, tokens, API keys, users and login throttling, through the HTTP API.

use reqwest::{Client, Method};
use sentinel_api::UserRole;
use sentinel_api::identity::{ApiKeyCreated, ApiKeyResponse, UserResponse};
use serde_json::{Value, json};

use crate::client::{event_create, expect_status};
use crate::helpers::{PASSWORD, TestApp, header, spawn_app};

/// The status of `method path` sent by `client` (with a JSON body when one is given).
async fn status_of(
    app: &TestApp,
    client: &Client,
    (method, path): (Method, &str),
    body: Option<&Value>,
) -> u16 {
    let mut req = client.request(method, app.url(path));
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("request").status().as_u16()
}

/// The status of `GET /api/policies/` sent by `client`.
async fn policies_status(app: &TestApp, client: &Client) -> u16 {
    status_of(app, client, (Method::GET, "/api/policies/"), None).await
}

/// The status of a guard call with `token` as the bearer credential.
async fn guard_status(app: &TestApp, token: &str) -> u16 {
    let client = app.client_with_token(token);
    let hello = json!({ "text": "hello", "stage": "input" });
    status_of(app, &client, (Method::POST, "/api/guard"), Some(&hello)).await
}

/// The status of a sign-in.
async fn login_status(app: &TestApp, username: &str, password: &str) -> u16 {
    match app.login(username, password).await {
        Ok(_) => 200,
        Err(err) => err.status,
    }
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
    assert_eq!(header(&res, "www-authenticate"), "Bearer");
    let body = expect_status(res, 401).await;
    assert_eq!(body["detail"], "Not authenticated");
    // The public routes stay public.
    for path in ["/", "/health", "/ready", "/openapi.json", "/docs", "/redoc"] {
        let status = status_of(&app, &app.anon, (Method::GET, path), None).await;
        assert_eq!(status, 200, "{path}");
    }
}

#[tokio::test]
async fn login_me_refresh_rotation_and_logout() {
    let app = spawn_app().await;
    let err = app.login("root", "wrong password").await.unwrap_err();
    assert_eq!(
        (err.status, err.detail()),
        (401, "Incorrect username or password")
    );
    assert_eq!(login_status(&app, "nobody", PASSWORD).await, 401);

    let tokens = app.login("root", PASSWORD).await.unwrap();
    assert_eq!(tokens.token_type, "bearer");
    assert_eq!(tokens.expires_in, 900);
    let refresh = tokens.refresh_token;

    // The answer is read raw: it must not carry the password hash under any name.
    let access = tokens.access_token.as_str();
    let me: Value = app.get_with(access, "/api/auth/me").await.unwrap();
    assert_eq!(me["username"], "root");
    assert_eq!(me["role"], "admin");
    assert!(me.get("hashed_password").is_none());
    assert_eq!(app.me(access).await.unwrap().role, UserRole::Admin);

    // Rotation: the refresh token works once and yields a new one.
    let second = app.refresh("refresh", &refresh).await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, refresh);
    // Reusing the rotated token revokes the whole family, including the new token.
    for token in [&refresh, &second_refresh] {
        let err = app.refresh("refresh", token).await.unwrap_err();
        assert_eq!(err.status, 401);
    }

    // Logout revokes the family of a fresh sign-in.
    let third = app.login("root", PASSWORD).await.unwrap().refresh_token;
    app.refresh("logout", &third).await.unwrap();
    assert_eq!(
        app.refresh("refresh", &third).await.unwrap_err().status,
        401
    );

    let actions: Vec<String> = app
        .audit("?limit=1000")
        .await
        .into_iter()
        .map(|e| e.action)
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
    let form = format!(
        "grant_type=password&username=root&password={}",
        PASSWORD.replace(' ', "+")
    );
    let body = expect_status(app.token_form(&form).await, 200).await;
    assert!(body["access_token"].as_str().is_some());
    assert_eq!(app.token_form("username=root").await.status(), 422);
    // A NUL character is refused before it reaches the database (PostgreSQL rejects it in text).
    let res = app.token_form("username=ro%00ot&password=x").await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn expired_tampered_and_foreign_tokens_are_refused() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({ "sub": "1", "name": "root", "iat": now - 7200, "exp": exp });
    let sign = |algorithm: Algorithm, exp: i64, secret: &[u8]| {
        encode(
            &Header::new(algorithm),
            &claims(exp),
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    let expired = sign(Algorithm::HS256, now - 3600, &app.secret[..]);
    let foreign = sign(
        Algorithm::HS256,
        now + 3600,
        &b"some-other-secret-some-other-secret"[..],
    );
    let hs384 = sign(Algorithm::HS384, now + 3600, &app.secret[..]);
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
        let body = expect_status(res, 401).await;
        assert_eq!(body["detail"], "Could not validate credentials", "{token}");
    }
}

#[tokio::test]
async fn disabled_users_lose_access_and_cannot_sign_in() {
    let app = spawn_app().await;
    let (client, _) = app.client_as("vera", UserRole::Viewer).await;
    assert_eq!(policies_status(&app, &client).await, 200);
    let id = user_id(&app, "vera").await;
    let disabled: UserResponse = app
        .put_as(&format!("/api/users/{id}"), &json!({ "is_active": false }))
        .await
        .unwrap();
    assert!(!disabled.is_active);
    assert_eq!(policies_status(&app, &client).await, 401);
    assert_eq!(login_status(&app, "vera", PASSWORD).await, 401);
}

/// The id of the stored user `username`.
async fn user_id(app: &TestApp, username: &str) -> i64 {
    let found = app.store.find_user_by_username(username).await.unwrap();
    found.expect("the user exists").user.id
}

#[tokio::test]
async fn login_is_throttled_after_five_failures() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(login_status(&app, "root", "nope").await, 401);
    }
    let res = app
        .anon
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "root", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "even the right password waits");
    let retry: u64 = header(&res, "retry-after").parse().unwrap();
    assert!((1..=900).contains(&retry));
    // Another user from the same address is throttled too (per client address).
    add_and_login_is_throttled(&app).await;
}

async fn add_and_login_is_throttled(app: &TestApp) {
    crate::helpers::add_user(&app.store, "other", UserRole::Viewer).await;
    assert_eq!(login_status(app, "other", PASSWORD).await, 429);
}

#[tokio::test]
async fn api_keys_are_shown_once_scoped_revocable_and_expire() {
    let app = spawn_app().await;
    let body = json!({ "name": "ingest-bot", "scopes": ["ingest"] });
    let created: ApiKeyCreated = app.post_as("/api/keys/", &body).await.unwrap();
    let key = created.key;
    let prefix = created.info.prefix.as_str();
    assert!(key.starts_with(prefix) && key.starts_with("snl_"));
    let id = created.info.id;

    // Listed and fetched without the key (read raw: no `key` field under any form).
    let listed = app.get("/api/keys/").await.text().await.unwrap();
    assert!(listed.contains(prefix) && !listed.contains(&key[prefix.len() + 1..]));
    let one: Value = app.get_ok(&format!("/api/keys/{id}")).await;
    assert!(one.get("key").is_none());
    assert!(one["last_used_at"].is_null());

    // Ingest works with either header; reading does not.
    let res = app
        .anon
        .post(app.url("/api/events/"))
        .header("x-api-key", &key)
        .json(&event_create("k-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(guard_status(&app, &key).await, 200);
    let reader = app.client_with_token(&key);
    let read = status_of(&app, &reader, (Method::GET, "/api/events/"), None).await;
    assert_eq!(read, 403);
    // A wrong secret behind a real prefix is refused.
    let forged = format!("{prefix}_{}", "A".repeat(43));
    assert_eq!(guard_status(&app, &forged).await, 401);

    // The last use is recorded (asynchronously).
    let mut used = None;
    for _ in 0..50 {
        let one: ApiKeyResponse = app.get_ok(&format!("/api/keys/{id}")).await;
        used = one.last_used_at;
        if used.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(used.is_some(), "last_used_at is recorded");

    // Revoked: refused at once.
    let revoked = expect_status(app.delete(&format!("/api/keys/{id}")).await, 200).await;
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(guard_status(&app, &key).await, 401);

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
    let body = json!({ "name": "reader", "scopes": ["read"] });
    let created: ApiKeyCreated = app.post_as("/api/keys/", &body).await.unwrap();
    let key = created.key.as_str();
    let reader = app.client_with_token(key);
    let stats = status_of(&app, &reader, (Method::GET, "/api/dashboard/stats"), None).await;
    assert_eq!(stats, 200);
    assert_eq!(guard_status(&app, key).await, 403);
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
    // Read raw: the answer must carry no password under any name.
    let ann = expect_status(res, 200).await;
    assert_eq!(ann["role"], "analyst");
    assert!(ann.get("password").is_none() && ann.get("hashed_password").is_none());
    let id = ann["id"].as_i64().unwrap();
    assert_eq!(login_status(&app, "ann", "ann-password").await, 200);

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

    let ann_path = format!("/api/users/{id}");
    let body = json!({ "role": "viewer", "full_name": "Ann" });
    let updated: UserResponse = app.put_as(&ann_path, &body).await.unwrap();
    assert_eq!(updated.role, UserRole::Viewer);
    let _: UserResponse = app.get_ok(&ann_path).await;
    let err = app
        .put_as::<_, Value>(&ann_path, &json!({ "role": null }))
        .await
        .unwrap_err();
    assert_eq!(err.status, 422);

    // root is the only admin: it cannot be demoted, disabled or deleted.
    let root = user_id(&app, "root").await;
    let root_path = format!("/api/users/{root}");
    for res in [
        app.put(&root_path, &json!({ "role": "analyst" })).await,
        app.put(&root_path, &json!({ "is_active": false })).await,
        app.delete(&root_path).await,
    ] {
        let body = expect_status(res, 409).await;
        assert_eq!(body["code"], "last_admin");
    }
    // With a second admin, the first can step down.
    app.put(&ann_path, &json!({ "role": "admin" })).await;
    let res = app.put(&root_path, &json!({ "role": "analyst" })).await;
    assert_eq!(res.status(), 200);

    let res = app.delete(&ann_path).await;
    assert_eq!(res.status(), 403, "root is no longer an admin");
    let list = status_of(&app, &app.anon, (Method::GET, "/api/users/"), None).await;
    assert_eq!(list, 401);
    let ann_token = app.login("ann", "ann-password").await.unwrap().access_token;
    let users: Vec<UserResponse> = app.get_with(&ann_token, "/api/users/").await.unwrap();
    assert_eq!(users.len(), 2);
}

#[tokio::test]
async fn anonymous_role_is_opt_in() {
    let app = crate::helpers::spawn_app_with(sentinel_server::Settings {
        anonymous_role: Some(UserRole::Viewer),
        ..Default::default()
    })
    .await;
    assert_eq!(policies_status(&app, &app.anon).await, 200);
    let validate = (Method::POST, "/api/policies/validate");
    let status = status_of(
        &app,
        &app.anon,
        validate,
        Some(&json!({ "definition": "x" })),
    )
    .await;
    assert_eq!(status, 403);
    // A bad token is still refused, not downgraded to anonymous.
    let garbage = app.client_with_token("garbage");
    assert_eq!(policies_status(&app, &garbage).await, 401);
    let _ = &app.state;
}
