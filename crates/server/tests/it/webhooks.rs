//! Webhooks end to end: the real server and database, stand-in receivers on 127.0.0.1.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use sentinel_server::Settings;
use sentinel_server::settings::WebhookSettings;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{
    TestApp, fresh_database_url, id_of, spawn_app, spawn_app_with, spawn_second_node_with,
    total_count,
};

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// How a receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// 200 `ok`.
    Ok,
    /// 500 to the first `n` requests, then 200.
    FailFirst(usize),
    /// 500 always.
    Fail,
    /// Waits this long before answering 200.
    Slow(Duration),
}

/// A stand-in webhook endpoint.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    seen: Arc<Mutex<usize>>,
    /// Requests being answered now, and the most at once.
    in_flight: Arc<Mutex<(usize, usize)>>,
}

impl Receiver {
    pub async fn start(mode: Mode) -> Self {
        Self::start_on("127.0.0.1:0", mode).await
    }

    pub async fn start_on(bind: &str, mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen: Arc<Mutex<usize>> = Arc::default();
        let in_flight: Arc<Mutex<(usize, usize)>> = Arc::default();
        let (g, s, f) = (got.clone(), seen.clone(), in_flight.clone());
        let handler = move |headers: HeaderMap, body: Bytes| {
            let (got, seen, flight) = (g.clone(), s.clone(), f.clone());
            async move {
                {
                    let mut f = flight.lock().unwrap();
                    f.0 += 1;
                    f.1 = f.1.max(f.0);
                }
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let n = {
                    let mut seen = seen.lock().unwrap();
                    *seen += 1;
                    *seen
                };
                let fail = match mode {
                    Mode::Ok => false,
                    Mode::Fail => true,
                    Mode::FailFirst(k) => n <= k,
                    Mode::Slow(d) => {
                        tokio::time::sleep(d).await;
                        false
                    }
                };
                flight.lock().unwrap().0 -= 1;
                if fail {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "receiver down");
                }
                got.lock().unwrap().push(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body,
                });
                (StatusCode::OK, "ok")
            }
        };
        let app = axum::Router::new().route("/hook", axum::routing::post(handler));
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self {
            addr,
            got,
            seen,
            in_flight,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The requests answered 200, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The most requests it was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    /// Every request, answered 200 or not.
    pub fn requests(&self) -> usize {
        *self.seen.lock().unwrap()
    }

    /// Waits until `n` requests were answered 200.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        self.wait_until(&format!("{n} deliveries"), within, |got| got.len() >= n)
            .await
    }

    /// Waits until the requests answered 200 satisfy `done`; `what` names it
    /// in the failure.
    pub async fn wait_until(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "not {what} within {within:?}: {} arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Settings for fast tests: 127.0.0.1 allowed, quick polls and retries.
pub fn fast(tune: impl FnOnce(&mut WebhookSettings)) -> Settings {
    let mut webhooks = WebhookSettings {
        allow_private_hosts: vec!["127.0.0.1".into()],
        poll_ms: 50,
        retry_first_seconds: 0.1,
        retry_max_seconds: 0.4,
        timeout_seconds: 5.0,
        ..WebhookSettings::default()
    };
    tune(&mut webhooks);
    Settings {
        webhooks,
        ..Settings::default()
    }
}

/// Creates an endpoint; returns its JSON (with the secret).
pub async fn create_webhook(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/webhooks/", &body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// An enforced policy that flags e-mail addresses in prompts; returns its id.
pub async fn email_policy(app: &TestApp) -> i64 {
    let id = id_of(&app.create_policy("No e-mail", "privacy").await);
    let res = app
        .put(&format!("/api/policies/{id}"), &json!({"status": "open"}))
        .await;
    assert_eq!(res.status(), 200);
    id
}

/// Ingests an event whose prompt breaks the e-mail policy (one violation).
pub async fn violate(app: &TestApp, event_id: &str) {
    app.create_event(
        event_id,
        json!({"prompt": "write to alice@example.com now", "source": "chatbot"}),
    )
    .await;
}

/// Checks one `v1,` signature of `r` with `secret`, independently of the server's code.
pub fn verifies(r: &Received, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    r.signature.split(' ').any(|sig| {
        let Some(b64) = sig.strip_prefix("v1,") else {
            return false;
        };
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
        mac.update(&r.body);
        mac.verify_slice(&given).is_ok()
    })
}

/// The deliveries of endpoint `id`, newest first.
async fn deliveries(app: &TestApp, id: i64) -> Vec<Value> {
    let res = app.get(&format!("/api/webhooks/{id}/deliveries")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Waits until every delivery of endpoint `id` is finished (`succeeded` or `dead`), and at
/// least `n` exist.
async fn settled(app: &TestApp, id: i64, n: usize, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let list = deliveries(app, id).await;
        if list.len() >= n
            && list
                .iter()
                .all(|d| d["status"] == "succeeded" || d["status"] == "dead")
        {
            return list;
        }
        assert!(Instant::now() < deadline, "not settled: {list:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_new_violation_arrives_signed_and_is_logged() {
    let app = spawn_app_with(fast(|_| {})).await;
    let receiver = Receiver::start(Mode::Ok).await;
    let created = create_webhook(
        &app,
        json!({"url": receiver.url(), "description": "SOC", "message_types": ["new_violation"]}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    let id = id_of(&created);
    let policy = email_policy(&app).await;
    violate(&app, "e1").await;

    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let r = &got[0];
    assert!(verifies(r, &secret), "the signature verifies: {r:?}");
    assert!(!verifies(r, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert!(r.id.starts_with("msg_"), "{}", r.id);
    let ts: i64 = r.timestamp.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let body = r.json();
    assert_eq!(body["type"], "new_violation");
    assert_eq!(body["data"]["violation"]["policy_id"], policy);
    assert_eq!(body["data"]["violation"]["findings"][0]["entity"], "email");
    assert_eq!(body["data"]["event"]["source"], "chatbot");
    assert_eq!(body["data"]["event"]["event_id"], "e1");
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        !text.contains("alice@example.com"),
        "no prompt text: {text}"
    );

    let log = settled(&app, id, 1, Duration::from_secs(5)).await;
    assert_eq!(
        log.len(),
        1,
        "only new violations, not the policy's changes"
    );
    let d = &log[0];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status_code"], 200);
    assert_eq!(d["response_excerpt"], "ok");
    assert_eq!(d["message_type"], "new_violation");
    assert!(d["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(format!("msg_{}", d["message_id"]), r.id);

    // The secret is never shown again.
    let shown = app
        .get(&format!("/api/webhooks/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !shown.contains(&secret) && !shown.contains("whsec_"),
        "{shown}"
    );
    let listed = app.get("/api/webhooks/").await;
    assert_eq!(total_count(&listed), 1);
    assert!(!listed.text().await.unwrap().contains("whsec_"));
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_everything() {
    let app = spawn_app_with(fast(|_| {})).await;
    let receiver = Receiver::start(Mode::FailFirst(4)).await;
    let created = create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let id = id_of(&created);
    email_policy(&app).await;
    for i in 0..5 {
        violate(&app, &format!("e{i}")).await;
    }
    let got = receiver.wait_for(5, Duration::from_secs(20)).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "five distinct messages: {ids:?}");
    assert!(receiver.requests() >= 9, "four 500s, then five 200s");
    let log = settled(&app, id, 5, Duration::from_secs(5)).await;
    assert!(log.iter().all(|d| d["status"] == "succeeded"), "{log:#?}");
    let retried = log
        .iter()
        .filter(|d| d["attempts"].as_i64().unwrap() > 1)
        .count();
    assert!(retried >= 1, "{log:#?}");
    // The failures ended with a success, so the endpoint stays on.
    let w: Value = app
        .get(&format!("/api/webhooks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(w["enabled"], true);
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_stall_another() {
    let app = spawn_app_with(fast(|w| w.timeout_seconds = 20.0)).await;
    let hanging = Receiver::start(Mode::Slow(Duration::from_secs(30))).await;
    let healthy = Receiver::start(Mode::Ok).await;
    for r in [&hanging, &healthy] {
        create_webhook(
            &app,
            json!({"url": r.url(), "message_types": ["new_violation"]}),
        )
        .await;
    }
    email_policy(&app).await;
    let started = Instant::now();
    for i in 0..12 {
        violate(&app, &format!("e{i}")).await;
    }
    // All twelve reach the healthy endpoint while the hanging one still holds its slots.
    healthy.wait_for(12, Duration::from_secs(8)).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(hanging.received().is_empty());
    assert!(hanging.requests() >= 1, "the hanging endpoint was tried");
}

#[tokio::test]
async fn private_destinations_are_refused_without_the_allowlist() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Mode::Ok).await;
    for url in [
        receiver.url(),
        "http://localhost:9/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
        "http://[::1]:9/hook".to_owned(),
        "ftp://example.com/hook".to_owned(),
        "not a url".to_owned(),
    ] {
        let res = app.post("/api/webhooks/", &json!({"url": url})).await;
        assert_eq!(res.status(), 422, "{url}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "validation_error");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "url"]), "{body}");
    }
    let res = app
        .post("/api/webhooks/", &json!({"url": receiver.url()}))
        .await;
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("webhooks.allow_private_hosts"),
        "{body}"
    );
    // Bad input is a 4xx, never a 500.
    for bad in [
        json!({}),
        json!({"url": 5}),
        json!({"url": "https://93.184.215.14/", "format": "xml"}),
        json!({"url": "https://93.184.215.14/", "message_types": ["nope"]}),
        json!({"url": "https://93.184.215.14/", "min_severity": "huge"}),
    ] {
        let res = app.post("/api/webhooks/", &bad).await;
        assert_eq!(res.status(), 422, "{bad}");
    }
    assert_eq!(
        app.get("/api/webhooks/")
            .await
            .json::<Value>()
            .await
            .unwrap(),
        json!([])
    );
    assert_eq!(receiver.requests(), 0);
}

/// An endpoint edited behind the server's back to a loopback address that is not allowlisted is
/// refused when sending (the check runs again on the resolved address before every attempt).
#[tokio::test]
async fn the_guard_runs_again_at_send_time() {
    let app = spawn_app_with(fast(|_| {})).await;
    let allowed = Receiver::start(Mode::Ok).await;
    let elsewhere = Receiver::start_on("127.0.0.2:0", Mode::Ok).await;
    // Only `new_violation` (none here): the test event is the only message it gets.
    let created = create_webhook(
        &app,
        json!({"url": allowed.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let id = id_of(&created);
    let db = sea_orm::Database::connect(app.url.as_str()).await.unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(&format!(
        "UPDATE webhooks SET url = '{}' WHERE id = {id}",
        elsewhere.url()
    ))
    .await
    .unwrap();
    db.close().await.ok();
    let res = app
        .post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    let d = loop {
        let list = deliveries(&app, id).await;
        if let Some(d) = list.iter().find(|d| d["attempts"].as_i64() >= Some(1)) {
            break d.clone();
        }
        assert!(Instant::now() < deadline, "{list:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(d["status"], "succeeded", "{d}");
    let error = d["last_error"].as_str().unwrap();
    assert!(error.starts_with("refused:"), "{error}");
    assert_eq!(elsewhere.requests(), 0);
    assert_eq!(allowed.requests(), 0);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_for_the_overlap() {
    let app = spawn_app_with(fast(|_| {})).await;
    let receiver = Receiver::start(Mode::Ok).await;
    let created = create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["audit"]}),
    )
    .await;
    let id = id_of(&created);
    let old = created["secret"].as_str().unwrap().to_owned();
    let res = app
        .post(&format!("/api/webhooks/{id}/rotate-secret"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(
        rotated["previous_secret_expires_at"].is_string(),
        "{rotated}"
    );

    let res = app
        .post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    // The endpoint also takes audit entries, and the rotation's own entry
    // may arrive first: wait for the test event itself.
    let is_test = |r: &Received| r.json()["type"] == "test";
    let got = receiver
        .wait_until("the test event", Duration::from_secs(10), |got| {
            got.iter().any(is_test)
        })
        .await;
    let test = got.iter().find(|r| is_test(r)).unwrap();
    assert_eq!(test.signature.split(' ').count(), 2, "{}", test.signature);
    assert!(verifies(test, &new) && verifies(test, &old));

    // Without an overlap only the new secret signs.
    let app = spawn_app_with(fast(|w| w.rotation_overlap_hours = 0.0)).await;
    let receiver = Receiver::start(Mode::Ok).await;
    let created = create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let id = id_of(&created);
    let old = created["secret"].as_str().unwrap().to_owned();
    let rotated: Value = app
        .post(&format!("/api/webhooks/{id}/rotate-secret"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    app.post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].signature.split(' ').count(), 1);
    assert!(verifies(&got[0], &new) && !verifies(&got[0], &old));
}

#[tokio::test]
async fn redelivery_sends_the_same_message_again() {
    let app = spawn_app_with(fast(|_| {})).await;
    let receiver = Receiver::start(Mode::Ok).await;
    let created = create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let id = id_of(&created);
    let res = app
        .post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    let queued: Value = res.json().await.unwrap();
    assert_eq!(queued["status"], "pending");
    assert_eq!(queued["message_type"], "test");
    let first = receiver.wait_for(1, Duration::from_secs(10)).await;
    settled(&app, id, 1, Duration::from_secs(5)).await;
    let delivery_id = queued["id"].as_i64().unwrap();
    let res = app
        .post(
            &format!("/api/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let again = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(again[1].id, first[0].id, "the same message id");
    assert_eq!(again[1].body, first[0].body);
    let log = settled(&app, id, 2, Duration::from_secs(5)).await;
    assert_eq!(log.len(), 2);

    let res = app
        .post(
            &format!("/api/webhooks/{id}/deliveries/999999/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "delivery_not_found"
    );
    for (method, path) in [
        ("POST", "/api/webhooks/999999/test"),
        ("GET", "/api/webhooks/999999"),
        ("GET", "/api/webhooks/999999/deliveries"),
        ("POST", "/api/webhooks/999999/rotate-secret"),
        ("DELETE", "/api/webhooks/999999"),
    ] {
        let res = match method {
            "GET" => app.get(path).await,
            "DELETE" => app.delete(path).await,
            _ => app.post(path, &json!({})).await,
        };
        assert_eq!(res.status(), 404, "{method} {path}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "webhook_not_found"
        );
    }
}

#[tokio::test]
async fn endpoints_are_admin_only_and_editable() {
    let app = spawn_app_with(fast(|_| {})).await;
    let receiver = Receiver::start(Mode::Ok).await;
    let (analyst, _) = app.client_as("ann", sentinel_api::UserRole::Analyst).await;
    let res = analyst.get(app.url("/api/webhooks/")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = analyst
        .post(app.url("/api/webhooks/"))
        .json(&json!({"url": receiver.url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.anon
            .get(app.url("/api/webhooks/"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let created = create_webhook(&app, json!({"url": receiver.url(), "format": "slack", "min_severity": "high", "apps": ["chatbot"]})).await;
    let id = id_of(&created);
    assert_eq!(created["format"], "slack");
    assert_eq!(created["enabled"], true);
    let res = app
        .put(
            &format!("/api/webhooks/{id}"),
            &json!({"description": "chat ops", "policy_ids": [1, 2]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["description"], "chat ops");
    assert_eq!(updated["policy_ids"], json!([1, 2]));
    let res = app
        .put(
            &format!("/api/webhooks/{id}"),
            &json!({"url": "http://10.0.0.1/"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let off: Value = app
        .post(&format!("/api/webhooks/{id}/disable"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(off["enabled"], false);
    assert_eq!(off["disabled_reason"], "disabled by user:root");
    let on: Value = app
        .post(&format!("/api/webhooks/{id}/enable"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(on["enabled"], true);
    assert_eq!(on["disabled_reason"], Value::Null);
    // The Slack format.
    app.post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        // It also gets the audit entries of its own changes (no type filter).
        let found = receiver
            .received()
            .iter()
            .map(Received::json)
            .find(|b| b["text"] == "Sentinel: Sentinel test event");
        if let Some(body) = found {
            break body;
        }
        assert!(Instant::now() < deadline, "no test event");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        receiver
            .received()
            .iter()
            .all(|r| !r.json()["text"].as_str().unwrap().contains("user.create")),
        "nothing from before the endpoint existed"
    );
    assert_eq!(body["blocks"][0]["type"], "section");
    // Audited.
    let audit: Value = app.get("/api/audit/?limit=100").await.json().await.unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["webhook.create", "webhook.update"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(
        !audit.to_string().contains("whsec_"),
        "no secret in the audit trail"
    );
    let res = app.delete(&format!("/api/webhooks/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get(&format!("/api/webhooks/{id}")).await.status(), 404);
}

#[tokio::test]
async fn an_endpoint_failing_without_a_success_is_disabled_and_audited() {
    let app = spawn_app_with(fast(|w| w.disable_after_hours = 1.0 / 3600.0)).await;
    let receiver = Receiver::start(Mode::Fail).await;
    let created = create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let id = id_of(&created);
    email_policy(&app).await;
    violate(&app, "e1").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let w = loop {
        let w: Value = app
            .get(&format!("/api/webhooks/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if w["enabled"] == false {
            break w;
        }
        assert!(Instant::now() < deadline, "never disabled: {w}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = w["disabled_reason"].as_str().unwrap();
    assert!(reason.starts_with("disabled automatically"), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");
    let audit: Value = app.get("/api/audit/?limit=100").await.json().await.unwrap();
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "webhook.disable")
        .expect("the disabling is audited");
    assert_eq!(entry["actor"], "system:webhooks");
    let log = deliveries(&app, id).await;
    assert_eq!(log[0]["last_status_code"], 500);
    assert_eq!(log[0]["response_excerpt"], "receiver down");
    assert!(log[0]["attempts"].as_i64().unwrap() >= 2);
    // Re-enabled by hand.
    let on: Value = app
        .post(&format!("/api/webhooks/{id}/enable"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(on["enabled"], true);
}

/// Two nodes (two workers) on one database: every message arrives, and none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_send_one_delivery_twice() {
    let settings = || fast(|w| w.concurrency_per_endpoint = 8);
    let app = spawn_app_with(settings()).await;
    // Before the second node starts, so both enforce it (SQLite has no policy reload across
    // nodes; PostgreSQL would tell it).
    email_policy(&app).await;
    let second = spawn_second_node_with(&app, settings()).await;
    // Slow answers keep deliveries in flight while the other worker claims.
    let receiver = Receiver::start(Mode::Slow(Duration::from_millis(50))).await;
    let created = create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let id = id_of(&created);
    let n = 40;
    for i in 0..n {
        let node = if i % 2 == 0 { &app } else { &second };
        violate(node, &format!("e{i}")).await;
    }
    let got = receiver.wait_for(n, Duration::from_secs(30)).await;
    settled(&app, id, n, Duration::from_secs(10)).await;
    // Allow any straggler a moment, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = if receiver.received().len() > got.len() {
        receiver.received()
    } else {
        got
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *counts.entry(r.id.clone()).or_default() += 1;
    }
    assert_eq!(counts.len(), n, "every message arrived");
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert_eq!(got.len(), n);
}

/// The outbox row commits with the change or not at all: a failed batch leaves none, and the
/// store counts one message per violation, policy change and audit entry.
#[tokio::test]
async fn the_outbox_commits_with_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let store = sentinel_store::Store::open(&url).await.unwrap();
    let ctx = sentinel_store::AuditContext::system();
    let policy = store
        .create_policy(&ctx, crate::helpers::new_policy("P"))
        .await
        .unwrap();
    // policy_changed, and the audit entries of the policy and its first version.
    assert_eq!(store.undispatched_messages().await.unwrap(), 3);
    let v = || {
        crate::helpers::new_violation(
            policy.id,
            sentinel_api::ViolationType::DataLeak,
            sentinel_api::Severity::High,
        )
    };
    let now = chrono::Utc::now();
    store
        .create_event(crate::helpers::new_event("a", now), vec![v(), v()])
        .await
        .unwrap();
    assert_eq!(store.undispatched_messages().await.unwrap(), 5);
    // A batch that fails (a duplicate event id) writes no message.
    let failed = store
        .create_events(vec![
            (crate::helpers::new_event("b", now), vec![v()]),
            (crate::helpers::new_event("a", now), vec![v()]),
        ])
        .await;
    assert!(failed.is_err());
    assert_eq!(store.undispatched_messages().await.unwrap(), 5);
    // Shadow violations alert nobody.
    let mut shadow = v();
    shadow.shadow = true;
    store
        .create_event(crate::helpers::new_event("c", now), vec![shadow])
        .await
        .unwrap();
    assert_eq!(store.undispatched_messages().await.unwrap(), 5);
    // Without endpoints the fan-out marks them done and queues nothing.
    assert_eq!(store.dispatch_outbox(100).await.unwrap(), 5);
    assert_eq!(store.undispatched_messages().await.unwrap(), 0);
    assert_eq!(store.unfinished_deliveries().await.unwrap(), 0);
    store.close().await.unwrap();
}

/// An enabled endpoint, made in the store, that receives every `new_violation`; its id.
async fn violation_webhook(store: &sentinel_store::Store, url: String) -> i64 {
    store
        .create_webhook(
            &sentinel_store::AuditContext::system(),
            sentinel_store::NewWebhook {
                url,
                description: None,
                format: sentinel_api::webhook::WebhookFormat::Generic,
                message_types: vec![sentinel_api::webhook::MessageType::NewViolation],
                min_severity: None,
                policy_ids: Vec::new(),
                apps: Vec::new(),
                enabled: true,
                secret: sentinel_server::webhook::sign::new_secret().unwrap(),
                created_by: None,
            },
        )
        .await
        .unwrap()
        .info
        .id
}

/// A fresh store in `dir` with one policy: the store, its URL and the policy's id.
async fn store_with_policy(dir: &tempfile::TempDir) -> (sentinel_store::Store, String, i64) {
    let url = fresh_database_url(dir).await;
    let store = sentinel_store::Store::open(&url).await.unwrap();
    let policy = store
        .create_policy(
            &sentinel_store::AuditContext::system(),
            crate::helpers::new_policy("P"),
        )
        .await
        .unwrap();
    (store, url, policy.id)
}

/// Stores the events `{prefix}0` to `{prefix}{n - 1}`, each with one violation of `policy`, 500
/// to a transaction.
async fn store_violating_events(
    store: &sentinel_store::Store,
    policy: i64,
    prefix: &str,
    n: usize,
) {
    let now = chrono::Utc::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let batch = chunk
            .iter()
            .map(|i| {
                let v = crate::helpers::new_violation(
                    policy,
                    sentinel_api::ViolationType::DataLeak,
                    sentinel_api::Severity::High,
                );
                (
                    crate::helpers::new_event(&format!("{prefix}{i}"), now),
                    vec![v],
                )
            })
            .collect();
        store.create_events(batch).await.unwrap();
    }
}

/// A writer made to count as busy: twice the time that passes is added to its writing time,
/// whatever the scheduling, as a saturated writer's would be, with `events_per_second` events
/// written, until [`BusyWriter::ease`].
struct BusyWriter {
    busy: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl BusyWriter {
    /// Starts on `app`'s event writer; returns once the worker has had time to see it.
    async fn start(app: &TestApp, events_per_second: f64) -> Self {
        let busy = Arc::new(AtomicBool::new(true));
        let (flag, activity) = (busy.clone(), app.state.writer.activity());
        let task = tokio::spawn(async move {
            let (mut last, mut owed) = (Instant::now(), 0.0);
            while flag.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let passed = last.elapsed();
                last = Instant::now();
                owed += passed.as_secs_f64() * events_per_second;
                activity.add(passed * 2, owed as u64);
                owed = owed.fract();
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        Self { busy, task }
    }

    async fn ease(self) {
        self.busy.store(false, Ordering::Relaxed);
        self.task.await.unwrap();
    }
}

/// An app whose worker sends one delivery at a time, and while busy one a second, with an
/// endpoint on a new receiver; its writer is made busy, then `n` violating events are written
/// (ids `{prefix}{i}`), starting at the instant returned.
async fn paced_app(
    max_lag_ms: u64,
    prefix: &str,
    n: usize,
) -> (TestApp, Receiver, BusyWriter, Instant) {
    paced_app_with(max_lag_ms, 0.0, 0.0, prefix, n).await
}

/// [`paced_app`] whose endpoint sends `per_event` deliveries per event the busy writer writes
/// (`events_per_second`) at most once its alerts have waited `max_lag_ms` (0: no limit).
async fn paced_app_with(
    max_lag_ms: u64,
    per_event: f64,
    events_per_second: f64,
    prefix: &str,
    n: usize,
) -> (TestApp, Receiver, BusyWriter, Instant) {
    paced_app_tuned(max_lag_ms, per_event, events_per_second, 1000, prefix, n).await
}

/// [`paced_app_with`] with `busy_wave_ms` set.
async fn paced_app_tuned(
    max_lag_ms: u64,
    per_event: f64,
    events_per_second: f64,
    busy_wave_ms: u64,
    prefix: &str,
    n: usize,
) -> (TestApp, Receiver, BusyWriter, Instant) {
    let receiver = Receiver::start(Mode::Ok).await;
    let app = spawn_app_with(fast(|w| {
        w.concurrency_per_endpoint = 1;
        w.busy_wave_ms = busy_wave_ms;
        w.busy_max_lag_ms = max_lag_ms;
        w.busy_deliveries_per_event = per_event;
    }))
    .await;
    email_policy(&app).await;
    create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let busy = BusyWriter::start(&app, events_per_second).await;
    let written = Instant::now();
    for i in 0..n {
        violate(&app, &format!("{prefix}{i}")).await;
    }
    (app, receiver, busy, written)
}

/// How many deliveries `receiver` got within 2.5 s of its first.
async fn received_within_2500_ms_of_the_first(receiver: &Receiver) -> usize {
    receiver.wait_for(1, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    receiver.received().len()
}

/// `got` holds `n` distinct messages.
fn assert_each_message_once(got: &[Received], n: usize) {
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "each message once");
}

/// While the event writers spend most of their time writing, an endpoint starts at most one wave
/// per `busy_wave_ms` (here one delivery a second); once they ease, the rest goes out at once,
/// each message once.
#[tokio::test(flavor = "multi_thread")]
async fn while_ingestion_is_busy_deliveries_are_paced_and_the_rest_follows() {
    let n = 10;
    let (_app, receiver, busy, _) = paced_app(600_000, "paced-", n).await;
    let early = received_within_2500_ms_of_the_first(&receiver).await;
    assert!(
        early <= 4,
        "{early} deliveries within 2.5 s of the first: one a second expected while busy"
    );
    busy.ease().await;
    let eased = Instant::now();
    let got = receiver.wait_for(n, Duration::from_secs(30)).await;
    // At the busy pace the last of the (at least 6) others would arrive 5 s or more later.
    assert!(
        eased.elapsed() < Duration::from_secs(4),
        "the rest went out at the busy pace: {:?}",
        eased.elapsed()
    );
    assert_each_message_once(&got, n);
}

/// Held back, a delivery waits `busy_max_lag_ms` at most: then its endpoint sends at full speed
/// (`busy_deliveries_per_event = 0`) although ingestion stays busy.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_ingestion_holds_alerts_back_for_a_bounded_time() {
    let n = 10;
    let (_app, receiver, busy, written) = paced_app(1500, "lagged-", n).await;
    receiver.wait_for(n, Duration::from_secs(30)).await;
    let took = written.elapsed();
    busy.ease().await;
    // The fan-out is held for up to 4 s. At one a second after it, the tenth would arrive 9 s
    // later still; with the limit, the messages are overdue by then and go out at once.
    assert!(
        took < Duration::from_secs(11),
        "the held-back deliveries kept the busy pace: {took:?}"
    );
}

/// `n` messages, overdue at once (the lag is 100 ms), to the one endpoint, which may send
/// `per_event` deliveries per event while a writer is kept busy writing `events_per_second`:
/// how many arrived within 2.5 s of the first. Then ingestion eases, and every message arrives,
/// each once.
async fn overdue_while_busy(
    per_event: f64,
    events_per_second: f64,
    prefix: &str,
    n: usize,
) -> usize {
    let (_app, receiver, busy, _) =
        paced_app_with(100, per_event, events_per_second, prefix, n).await;
    let early = received_within_2500_ms_of_the_first(&receiver).await;
    busy.ease().await;
    let got = receiver.wait_for(n, Duration::from_secs(30)).await;
    assert_each_message_once(&got, n);
    early
}

/// Overdue while ingestion stays busy, an endpoint sends its share of
/// `busy_deliveries_per_event` (here 0.02 of 100 events a second: 2 a second), not at full
/// speed, which cost a saturated ingestion 24–46% in the benchmark; the rest goes out once
/// ingestion eases, each message once.
#[tokio::test(flavor = "multi_thread")]
async fn overdue_alerts_go_out_at_a_bounded_rate_while_ingestion_is_busy() {
    let early = overdue_while_busy(0.02, 100.0, "overdue-", 12).await;
    // At 2 a second about 6 have arrived by now; at full speed all 12 would have.
    assert!(
        early <= 8,
        "{early} overdue deliveries within 2.5 s of the first: 2 a second expected while busy"
    );
    assert!(
        early >= 3,
        "{early} overdue deliveries within 2.5 s of the first: they stalled"
    );
}

/// The share follows ingestion's own rate: the same 0.02 deliveries per event of a busy
/// ingestion writing 400 events a second is 8 deliveries a second, faster than the busy pace of
/// one a second (a fixed rate cost a slow machine's ingestion a larger part than a fast one's).
#[tokio::test(flavor = "multi_thread")]
async fn overdue_alerts_go_faster_as_a_busy_ingestion_writes_more() {
    let early = overdue_while_busy(0.02, 400.0, "fast-overdue-", 30).await;
    // About 20 by now at 8 a second; 6 at most at the 2 a second of 100 events a second.
    assert!(
        early >= 12,
        "{early} overdue deliveries within 2.5 s of the first: 8 a second expected"
    );
}

/// And it falls with it: at 10 events a second the same share is a delivery per 5 s, slower
/// than the busy pace of one a second (`busy_wave_ms`), below which the fixed rate it replaced
/// never went.
#[tokio::test(flavor = "multi_thread")]
async fn overdue_alerts_go_slower_as_a_busy_ingestion_writes_less() {
    let early = overdue_while_busy(0.02, 10.0, "slow-overdue-", 6).await;
    // At one a second 3 would have arrived by now.
    assert!(
        early <= 2,
        "{early} overdue deliveries within 2.5 s of the first: one per 5 s expected"
    );
}

/// `busy_wave_ms = 0` holds nothing back, whatever `busy_deliveries_per_event` would allow
/// (here one delivery per 5 s): every message goes out while ingestion stays busy.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_wave_of_zero_never_holds_deliveries_back() {
    let n = 6;
    let (_app, receiver, busy, written) =
        paced_app_tuned(600_000, 0.02, 10.0, 0, "unpaced-", n).await;
    let got = receiver.wait_for(n, Duration::from_secs(30)).await;
    let took = written.elapsed();
    busy.ease().await;
    assert_each_message_once(&got, n);
    // Paced at one per 5 s, the sixth would arrive 25 s after the first.
    assert!(
        took < Duration::from_secs(10),
        "the deliveries were held back: {took:?}"
    );
}

/// While ingestion is busy the outbox is fanned out one batch (500 messages) at a time, only
/// as an endpoint runs short: the rest stays in the outbox, and follows once ingestion eases.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_ingestion_fans_out_only_what_the_endpoints_can_send() {
    fans_out_one_batch_while_busy(600_000).await;
}

/// The same once the messages have waited `busy_max_lag_ms` and the endpoint sends at full
/// speed: the fan-out still takes one batch at a time, not the whole backlog in a few large
/// transactions for ingestion to wait for.
#[tokio::test(flavor = "multi_thread")]
async fn a_busy_ingestion_fans_out_one_batch_at_a_time_when_alerts_are_overdue() {
    fans_out_one_batch_while_busy(100).await;
}

async fn fans_out_one_batch_while_busy(busy_max_lag_ms: u64) {
    let receiver = Receiver::start(Mode::Ok).await;
    let app = spawn_app_with(fast(|w| {
        w.concurrency_per_endpoint = 4;
        w.busy_wave_ms = 1000;
        w.busy_max_lag_ms = busy_max_lag_ms;
    }))
    .await;
    let policy = email_policy(&app).await;
    create_webhook(
        &app,
        json!({"url": receiver.url(), "message_types": ["new_violation"]}),
    )
    .await;
    let busy = BusyWriter::start(&app, 0.0).await;
    let n = 700;
    store_violating_events(&app.store, policy, "batch-", n).await;
    receiver.wait_for(1, Duration::from_secs(30)).await;
    // The next fan-out waits four seconds at least, and for the endpoint's queued deliveries
    // to run short (64 claimed at a time, sent 4 a second unless overdue).
    assert!(
        app.store.outbox_waiting_since().await.unwrap().is_some(),
        "the whole outbox was fanned out while ingestion was busy"
    );
    busy.ease().await;
    let got = receiver.wait_for(n, Duration::from_secs(60)).await;
    assert_each_message_once(&got, n);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store.outbox_waiting_since().await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the outbox was never fanned out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker claims a busy endpoint's deliveries many at a time but sends at most its
/// concurrency at once, and a graceful stop hands back the claimed ones it did not start: the
/// node started next sends them at once, not when their leases (40 s here) run out, and none
/// twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_worker_hands_back_what_it_did_not_send() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url, policy) = store_with_policy(&dir).await;
    let receiver = Receiver::start(Mode::Slow(Duration::from_millis(200))).await;
    violation_webhook(&store, receiver.url()).await;
    let n = 30;
    store_violating_events(&store, policy, "h", n).await;
    store.close().await.unwrap();
    let start = || {
        let mut node = fast(|w| w.concurrency_per_endpoint = 1);
        node.bind = "127.0.0.1:0".into();
        node.data_dir = dir.path().to_owned();
        node.database_url = Some(sentinel_server::settings::DatabaseUrl::new(url.clone()));
        async move {
            let built = sentinel_server::Application::build(node).await.unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let running = tokio::spawn(built.run_until(async {
                let _ = stopped.await;
            }));
            (stop, running)
        }
    };

    let (stop, running) = start().await;
    receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(receiver.max_in_flight(), 1, "one at a time");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    let before = receiver.received().len();
    assert!(
        before < n,
        "stopped with deliveries left ({before} of {n} sent)"
    );

    let started = Instant::now();
    let (stop, running) = start().await;
    let got = receiver.wait_for(n, Duration::from_secs(15)).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the rest waited for their leases"
    );
    let ids: std::collections::HashSet<_> = got.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), n, "every message");
    assert_eq!(got.len(), n, "none sent twice");
    assert_eq!(receiver.max_in_flight(), 1, "one at a time");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}

/// A claim leases at most its limit of due deliveries, of its endpoint only (on PostgreSQL a
/// subquery with `LIMIT … FOR UPDATE SKIP LOCKED` once leased them all); another claim takes
/// only what is left; a lease handed back is claimable again, only by its holder's token; an
/// attempt recorded under a lease the worker does not hold is refused.
#[tokio::test]
async fn a_claim_leases_its_limit_and_a_lost_lease_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, policy) = store_with_policy(&dir).await;
    let a = violation_webhook(&store, "http://127.0.0.1:9/a".into()).await;
    let b = violation_webhook(&store, "http://127.0.0.1:9/b".into()).await;
    let now = chrono::Utc::now();
    store_violating_events(&store, policy, "b", 3).await;
    while store.dispatch_outbox(100).await.unwrap() > 0 {}
    // Three messages for each of the two endpoints.
    assert_eq!(store.unfinished_deliveries().await.unwrap(), 6);

    let until = now + chrono::Duration::minutes(5);
    let first = store
        .claim_deliveries(a, "node-1:1", 2, until)
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first.iter().all(|d| d.webhook_id == a));
    assert!(first[0].id < first[1].id, "in id order");
    let second = store
        .claim_deliveries(a, "node-2:1", 10, until)
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "only what is left: {second:?}");
    assert!(
        !first.iter().any(|d| d.id == second[0].id),
        "never leased twice"
    );
    let none = store
        .claim_deliveries(a, "node-3:1", 10, until)
        .await
        .unwrap();
    assert!(none.is_empty());
    let other = store
        .claim_deliveries(b, "node-3:2", 10, until)
        .await
        .unwrap();
    assert_eq!(other.len(), 3);

    // Handing back leases not used: only a delivery still leased to the token named with it.
    let released = store
        .release_deliveries(&[
            (other[0].id, "node-3:2".into()),
            (other[1].id, "node-1:1".into()),
            (first[1].id, "node-3:2".into()),
        ])
        .await
        .unwrap();
    assert_eq!(released, 1);
    let again = store
        .claim_deliveries(b, "node-4:1", 10, until)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|d| d.id).collect::<Vec<_>>(),
        [other[0].id],
        "the released one is claimable again, the others stay leased"
    );
    assert_eq!(again[0].attempts, 0, "its attempts untouched");
    assert!(
        store
            .claim_deliveries(a, "node-4:2", 10, until)
            .await
            .unwrap()
            .is_empty()
    );

    let ok = || sentinel_store::Attempt {
        status_code: Some(200),
        latency_ms: 1.0,
        excerpt: Some("ok".into()),
        error: None,
        next: sentinel_store::NextStep::Succeeded,
    };
    assert!(
        store
            .finish_delivery(first[0].id, "node-1:1", ok())
            .await
            .unwrap()
    );
    // A lease this worker never held.
    assert!(
        !store
            .finish_delivery(second[0].id, "node-1:1", ok())
            .await
            .unwrap()
    );
    assert_eq!(store.unfinished_deliveries().await.unwrap(), 5);
    store.close().await.unwrap();
}

/// The worker records finished attempts many at a time: one call records each with its own
/// outcome (a success, a retry at its time, a dead delivery), skips the one whose lease it does
/// not hold, and returns exactly the ones it recorded, on both backends.
#[tokio::test]
async fn attempts_are_recorded_in_one_batch_each_with_its_own_outcome() {
    use sentinel_api::webhook::DeliveryStatus;
    use sentinel_store::{Attempt, Finished, NextStep};
    let dir = tempfile::tempdir().unwrap();
    let (store, _, policy) = store_with_policy(&dir).await;
    let hook = violation_webhook(&store, "http://127.0.0.1:9/a".into()).await;
    let now = chrono::Utc::now();
    // More than one statement's worth (256), so the chunks are exercised too.
    let n = 300;
    store_violating_events(&store, policy, "r", n).await;
    while store.dispatch_outbox(500).await.unwrap() > 0 {}
    let until = now + chrono::Duration::minutes(5);
    let claimed = store
        .claim_deliveries(hook, "node-1:1", n as u64, until)
        .await
        .unwrap();
    assert_eq!(claimed.len(), n);
    let retry_at = now + chrono::Duration::minutes(10);
    let finished: Vec<Finished> = claimed
        .iter()
        .enumerate()
        .map(|(i, d)| Finished {
            delivery: d.id,
            // The last one's lease is another worker's.
            token: if i == n - 1 { "node-2:1" } else { "node-1:1" }.into(),
            attempt: Attempt {
                status_code: if i % 3 == 0 { Some(200) } else { Some(500) },
                latency_ms: i as f64,
                excerpt: Some(format!("answer {i}")),
                error: (i % 3 != 0).then(|| format!("answered HTTP 500 ({i})")),
                next: match i % 3 {
                    0 => NextStep::Succeeded,
                    1 => NextStep::RetryAt(retry_at),
                    _ => NextStep::Dead,
                },
            },
        })
        .collect();
    let recorded = store.finish_deliveries(&finished).await.unwrap();
    let mut expected: Vec<i64> = claimed[..n - 1].iter().map(|d| d.id).collect();
    expected.sort_unstable();
    assert_eq!(recorded, expected);

    let page = sentinel_api::page::PageParams {
        skip: 0,
        limit: 1000,
    };
    let log = store.list_deliveries(hook, page).await.unwrap().items;
    assert_eq!(log.len(), n);
    for (i, d) in claimed.iter().enumerate() {
        let row = log.iter().find(|r| r.id == d.id).unwrap();
        if i == n - 1 {
            assert_eq!(
                row.status,
                DeliveryStatus::Pending,
                "lease not held: untouched"
            );
            assert_eq!(row.attempts, 0);
            continue;
        }
        let want = [
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
            DeliveryStatus::Dead,
        ][i % 3];
        assert_eq!(row.status, want, "delivery {i}");
        assert_eq!(row.attempts, 1);
        assert_eq!(row.latency_ms, Some(i as f64));
        assert_eq!(
            row.response_excerpt.as_deref(),
            Some(&*format!("answer {i}"))
        );
        assert_eq!(
            row.last_status_code,
            Some(if i % 3 == 0 { 200 } else { 500 })
        );
        assert_eq!(
            row.last_error,
            (i % 3 != 0).then(|| format!("answered HTTP 500 ({i})"))
        );
        if i % 3 == 1 {
            let next = row.next_attempt_at.unwrap().0;
            assert!((next - retry_at).num_milliseconds().abs() < 1, "{next}");
        }
    }
    // Released: the retried one is claimable again once due, the others never.
    assert_eq!(
        store.unfinished_deliveries().await.unwrap() as usize,
        (0..n - 1).filter(|i| i % 3 == 1).count() + 1
    );
    store.close().await.unwrap();
}

/// Ingests `n` violating events through `POST /api/events/` from 4 concurrent clients; returns
/// events per second.
async fn ingest(app: &TestApp, prefix: &str, n: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (client, url) = (app.client.clone(), app.url("/api/events/"));
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            for i in (worker..n).step_by(4) {
                let body = json!({
                    "event_id": format!("{prefix}{i}"),
                    "event_type": "llm_request",
                    "title": "bench",
                    "trigger_date": "2026-12-01T00:00:00Z",
                    "prompt": "write to alice@example.com now",
                    "source": "chatbot",
                });
                let res = client.post(&url).json(&body).send().await.unwrap();
                assert_eq!(res.status(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// The CPU time this process has used (user and system), from `/proc/self/stat` (Linux).
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    ticks.iter().sum::<f64>() / 100.0
}

/// The arms of [`webhook_benchmark`]: no endpoints; 5 endpoints and a SIEM sink; the same with
/// every decision streamed to the sink; and, run only when named, the 5 endpoints alone and the
/// SIEM sink alone (to tell which of the two costs what).
const ARMS: [&str; 5] = ["none", "siem", "decisions", "hooks", "sink"];

/// Deliveries to a local receiver per second, and the ingestion rate with 5 endpoints active
/// against none. Prints its figures; run on a release build:
/// `cargo test --release -p sentinel-server --test it webhook_benchmark -- --ignored --nocapture`.
/// `SENTINEL_BENCH_EVENTS` sets the events per run (default 2000), `SENTINEL_BENCH_ROUNDS` the
/// rounds (default 3): each round runs the three arms one after another on fresh servers (each
/// round starting with another arm), so that a change in the machine's load reaches every arm
/// alike. It reports the medians, and each round's drop against that round's arm without
/// endpoints, with their median and mean. `SENTINEL_BENCH_ARMS` (for example `none,siem`) runs
/// only those arms and prints their runs, and the paired drop of each that ran beside `none`: to
/// profile one arm at a time, or to fit more rounds of two arms in the same time; `hooks` (the 5
/// endpoints alone) and `sink` (the SIEM sink alone) run only when named there.
/// `SENTINEL_BENCH_MAX_LAG_MS` sets `webhooks.busy_max_lag_ms` (default 60 s): ingestion longer
/// than that measures the overdue deliveries, at `busy_deliveries_per_event`
/// (`SENTINEL_BENCH_DELIVERIES_PER_EVENT`, default 0.05; 0 for full speed), not stepping aside.
/// `SENTINEL_BENCH_DRAIN=0` ends each arm with its ingestion, for runs too long to drain.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run by hand, figures go to BENCHMARKS.md"]
async fn webhook_benchmark() {
    let env = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = env("SENTINEL_BENCH_EVENTS", 2000);
    let rounds = env("SENTINEL_BENCH_ROUNDS", 3).max(1);
    // The shipped defaults (the worker polls every 500 ms, 4 deliveries at once per endpoint),
    // with the local receivers allowed; `SENTINEL_BENCH_FAST=1` takes the tests' quick polling
    // (every 50 ms) and 8 at once instead.
    let quick = std::env::var_os("SENTINEL_BENCH_FAST").is_some();
    // `SENTINEL_BENCH_ARMS=none,siem` runs only those arms (to profile one at a time).
    let arms_wanted = std::env::var("SENTINEL_BENCH_ARMS").ok();
    if let Some(unknown) = arms_wanted
        .as_deref()
        .and_then(|a| a.split(',').find(|w| !ARMS.contains(w)))
    {
        panic!("SENTINEL_BENCH_ARMS names no arm {unknown:?}: the arms are {ARMS:?}");
    }
    let [none, siem, decisions, hooks, sink] = ARMS;
    let wanted = |arm: &str| match arms_wanted.as_deref() {
        Some(a) => a.split(',').any(|w| w == arm),
        None => [none, siem, decisions].contains(&arm),
    };
    // `SENTINEL_BENCH_MAX_LAG_MS` sets `webhooks.busy_max_lag_ms`: how long deliveries step
    // aside for a busy ingestion before they go at `busy_deliveries_per_event`, which
    // `SENTINEL_BENCH_DELIVERIES_PER_EVENT` sets (0: full speed).
    let max_lag = std::env::var("SENTINEL_BENCH_MAX_LAG_MS").ok().map(|v| {
        v.parse::<u64>()
            .expect("SENTINEL_BENCH_MAX_LAG_MS is milliseconds")
    });
    // `SENTINEL_BENCH_DRAIN=0`: an arm ends with its ingestion, without waiting for its
    // deliveries to finish (a backlog of millions takes longer than the wait allows); its
    // deliveries per second are then not measured.
    let drain = std::env::var("SENTINEL_BENCH_DRAIN").map_or(true, |v| v != "0");
    let per_event = std::env::var("SENTINEL_BENCH_DELIVERIES_PER_EVENT")
        .ok()
        .map(|v| {
            v.parse::<f64>()
                .expect("SENTINEL_BENCH_DELIVERIES_PER_EVENT is deliveries per event")
        });
    let settings = || {
        let mut s = if quick {
            fast(|w| w.concurrency_per_endpoint = 8)
        } else {
            Settings {
                webhooks: WebhookSettings {
                    allow_private_hosts: vec!["127.0.0.1".into()],
                    ..WebhookSettings::default()
                },
                ..Settings::default()
            }
        };
        if let Some(share) = per_event {
            s.webhooks.busy_deliveries_per_event = share;
        }
        if let Some(ms) = max_lag {
            s.webhooks.busy_max_lag_ms = ms;
        }
        // The ingesting client signs in once per arm: an arm longer than the default 15-minute
        // access token got 401s part-way (a 1,400,000-event arm with endpoints did).
        s.access_token_minutes = 24 * 60;
        s
    };

    // The arms: no endpoints (the outbox rows are still written and fanned out to nobody); 5
    // endpoints receiving every message while it runs, and with them one SIEM sink (OCSF to a
    // local file) streaming violations and audit entries, the configuration the issue measures;
    // the same with every decision also going to the sink (an outbox row per event).
    let siem_dir = tempfile::tempdir().unwrap();
    let with_siem = |stream_decisions: bool| {
        use sentinel_server::settings::{SinkFormat, SinkMessageType, SinkSettings, SinkTransport};
        let mut s = settings();
        let mut types = vec![
            SinkMessageType::NewViolation,
            SinkMessageType::ViolationUpdated,
            SinkMessageType::PolicyChanged,
            SinkMessageType::Audit,
        ];
        if stream_decisions {
            types.push(SinkMessageType::Decision);
        }
        s.siem.sinks = vec![SinkSettings {
            name: format!("bench-{stream_decisions}"),
            format: SinkFormat::Ocsf,
            message_types: types,
            min_severity: None,
            transport: SinkTransport::File {
                path: siem_dir
                    .path()
                    .join(format!("siem-{stream_decisions}.jsonl")),
                max_bytes: 64 << 20,
                keep_files: 2,
            },
        }];
        s
    };
    // The receivers run on threads of their own, as a receiver in another process would. On the
    // test's runtime their thousands of requests a second queued in front of the server's tasks,
    // which no remote endpoint does.
    let receivers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-receiver")
        .enable_all()
        .build()
        .unwrap();
    // (arm, ingestion rate, deliveries per second while it ran) per run.
    let mut runs: Vec<(&str, f64, f64)> = Vec::new();
    for round in 0..rounds {
        // Each round starts with another arm, so that no arm always follows the same one.
        let mut arms = vec![
            (none, settings(), 0),
            (siem, with_siem(false), 5),
            (decisions, with_siem(true), 5),
            (hooks, settings(), 5),
            (sink, with_siem(false), 0),
        ];
        arms.retain(|(arm, _, _)| wanted(arm));
        let count = arms.len();
        arms.rotate_left(round % count);
        for (arm, settings, endpoints) in arms {
            // The previous arms' database files are still being written back to the disk: wait
            // for that here, or the kernel's writeback runs during this arm (but not during
            // the first arm of a run, which then measured faster).
            let _ = std::process::Command::new("sync").status();
            let app = spawn_app_with(settings).await;
            email_policy(&app).await;
            let receiver = receivers.spawn(Receiver::start(Mode::Ok)).await.unwrap();
            for _ in 0..endpoints {
                create_webhook(
                    &app,
                    json!({"url": receiver.url(), "message_types": ["new_violation"]}),
                )
                .await;
            }
            ingest(&app, "warm", 200).await;
            receiver
                .wait_for(endpoints * 200, Duration::from_secs(120))
                .await;
            let started = Instant::now();
            let cpu = process_cpu_seconds();
            let rate = ingest(&app, &format!("{arm}{round}-"), n).await;
            let cores = (process_cpu_seconds() - cpu) / started.elapsed().as_secs_f64();
            // Deliveries of this arm's events made while they were ingested (the rest waited).
            let during = receiver.received().len().saturating_sub(endpoints * 200);
            let live = if drain {
                receiver
                    .wait_for(endpoints * (200 + n), Duration::from_secs(600))
                    .await;
                (endpoints * n) as f64 / started.elapsed().as_secs_f64()
            } else {
                f64::NAN
            };
            println!(
                "  round {round}, {arm}: {rate:.0} events/s ({cores:.2} cores busy), {live:.0} deliveries/s, {during} sent during ingestion"
            );
            runs.push((arm, rate, live));
            // The server stops once dropped: let it finish before the next arm starts.
            drop(app);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let median = |arm: &str, pick: fn(&(&str, f64, f64)) -> f64| {
        let mut v: Vec<f64> = runs.iter().filter(|r| r.0 == arm).map(pick).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Each round's arms ran minutes apart at most: the drop within a round is the paired figure.
    let drops = |arm: &str| -> Vec<f64> {
        let rate = |a: &str, round: usize| runs.iter().filter(|r| r.0 == a).nth(round).unwrap().1;
        (0..rounds)
            .map(|round| (rate(arm, round) / rate(none, round) - 1.0) * 100.0)
            .collect()
    };
    let summary = |v: &[f64]| {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
        format!(
            "median {:+.1}%, mean {mean:+.1}% ± {:.1} (2 standard errors), rounds: {}",
            sorted[sorted.len() / 2],
            2.0 * sd / n.sqrt(),
            v.iter()
                .map(|x| format!("{x:+.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    if arms_wanted.is_some() {
        // Some arms only: their runs above, and the paired drops of those that ran with `none`.
        for arm in [siem, decisions, hooks, sink] {
            if wanted(none) && wanted(arm) {
                println!("  paired drop per round, {arm}: {}", summary(&drops(arm)));
            }
        }
        receivers.shutdown_background();
        return;
    }
    let without = median(none, |r| r.1);
    let with = median(siem, |r| r.1);
    let with_decisions = median(decisions, |r| r.1);
    let live = median(siem, |r| r.2);

    // Delivery alone: a backlog of messages already in the outbox (as after downtime), drained
    // by a node that starts on it.
    let dir = tempfile::tempdir().unwrap();
    let (store, url, policy) = store_with_policy(&dir).await;
    let backlog = receivers.spawn(Receiver::start(Mode::Ok)).await.unwrap();
    for _ in 0..5 {
        violation_webhook(&store, backlog.url()).await;
    }
    store_violating_events(&store, policy, "q", n).await;
    store.close().await.unwrap();
    let mut node = settings();
    node.bind = "127.0.0.1:0".into();
    node.data_dir = dir.path().to_owned();
    node.database_url = Some(sentinel_server::settings::DatabaseUrl::new(url));
    let started = Instant::now();
    let built = sentinel_server::Application::build(node).await.unwrap();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(built.run_until(async {
        let _ = stopped.await;
    }));
    backlog.wait_for(5 * n, Duration::from_secs(600)).await;
    let drained = (5 * n) as f64 / started.elapsed().as_secs_f64();

    println!(
        "webhook benchmark, {n} events with one violation each, 4 concurrent clients, SQLite; medians of {rounds} rounds"
    );
    println!("  ingestion, no endpoints:           {without:.0} events/s");
    println!(
        "  ingestion, 5 endpoints delivering and 1 SIEM sink (violations, audit): {with:.0} events/s ({:+.1}%)",
        (with / without - 1.0) * 100.0
    );
    println!(
        "  the same, the sink also streaming every decision: {with_decisions:.0} events/s ({:+.1}%)",
        (with_decisions / without - 1.0) * 100.0
    );
    println!(
        "  paired drop per round, 5 endpoints and 1 SIEM sink: {}",
        summary(&drops(siem))
    );
    println!(
        "  paired drop per round, with decisions: {}",
        summary(&drops(decisions))
    );
    println!("  deliveries during that ingestion:  {live:.0} deliveries/s (5 per event)");
    println!("  delivery of a queued backlog:      {drained:.0} deliveries/s (5 endpoints)");
    receivers.shutdown_background();
}
