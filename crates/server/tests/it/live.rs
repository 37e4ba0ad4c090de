use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use sentinel_api::event::EventCreate;
use sentinel_api::policy::PolicyCreate;
use sentinel_api::{EventStatus, PolicyCategory, PolicyStatus, Severity, ViolationStatus};

use crate::client::{event_create, event_triage, policy_create, policy_status, violation_triage};
use crate::helpers::{TestApp, id_of, spawn_app};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

pub(crate) async fn connect(app: &TestApp) -> Client {
    let url = format!("ws://{}/api/events/ws?token={}", app.addr, app.token);
    let (ws, res) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connecting timed out")
        .expect("websocket handshake");
    assert_eq!(res.status(), 101);
    ws
}

/// The next text frame as JSON, skipping pings and pongs; fails after 5 s.
pub(crate) async fn next_json(ws: &mut Client) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no frame within 5 s")
            .expect("stream ended")
            .expect("websocket error");
        match msg {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str()).expect("a JSON frame");
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn new_and_updated_events_are_pushed() {
    let app = spawn_app().await;
    let mut ws = connect(&app).await;

    let event = app
        .create_event(
            "live-1",
            json!({"severity": "high", "trigger_date": "2026-11-20T12:00:00+01:00"}),
        )
        .await;
    let frame = next_json(&mut ws).await;
    assert_eq!(keys(&frame), ["event", "type"]);
    assert_eq!(frame["type"], "new_event");
    let e = &frame["event"];
    assert_eq!(
        keys(e),
        [
            "event_id",
            "id",
            "severity",
            "status",
            "title",
            "trigger_date"
        ]
    );
    assert_eq!(e["id"], event["id"]);
    assert_eq!(e["event_id"], "live-1");
    assert_eq!(e["title"], "Event live-1");
    assert_eq!(e["severity"], "high");
    assert_eq!(e["status"], "open");
    assert_eq!(e["trigger_date"], "2026-11-20T11:00:00Z");

    let acknowledged = event_triage(EventStatus::Acknowledged, Some(9));
    app.update_event(id_of(&event), &acknowledged)
        .await
        .unwrap();
    let frame = next_json(&mut ws).await;
    assert_eq!(keys(&frame), ["event", "type"]);
    assert_eq!(frame["type"], "event_updated");
    assert_eq!(
        frame["event"],
        json!({"id": event["id"], "status": "acknowledged", "acknowledged_by": 9})
    );
}

#[tokio::test]
async fn batch_events_are_pushed_in_order() {
    let app = spawn_app().await;
    let mut ws = connect(&app).await;
    let titled = |event_id: &str, title: &str| EventCreate {
        title: title.into(),
        ..event_create(event_id)
    };
    let batch = [titled("b1", "one"), titled("b2", "two")];
    app.post_events(&batch).await.unwrap();
    for expected in ["b1", "b2"] {
        let frame = next_json(&mut ws).await;
        assert_eq!(frame["type"], "new_event");
        assert_eq!(frame["event"]["event_id"], expected);
    }
}

#[tokio::test]
async fn every_client_receives_every_message() {
    let app = spawn_app().await;
    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    let event = app.create_event("fanout", json!({})).await;
    for ws in [&mut first, &mut second] {
        let frame = next_json(ws).await;
        assert_eq!(frame["type"], "new_event");
        assert_eq!(frame["event"]["id"], event["id"]);
    }
    let closed = event_triage(EventStatus::Closed, None);
    app.update_event(id_of(&event), &closed).await.unwrap();
    for ws in [&mut first, &mut second] {
        let frame = next_json(ws).await;
        assert_eq!(frame["type"], "event_updated");
        assert_eq!(
            frame["event"],
            json!({"id": event["id"], "status": "closed", "acknowledged_by": null})
        );
    }
}

#[tokio::test]
async fn failed_writes_push_nothing() {
    let app = spawn_app().await;
    let mut ws = connect(&app).await;
    app.create_event("once", json!({})).await;
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["event"]["event_id"], "once");
    // A duplicate and a 404 update must not be announced; the next frame is for `twice`.
    let dup = app.post_event(&event_create("once")).await.unwrap_err();
    assert_eq!(dup.status, 409);
    let closed = event_triage(EventStatus::Closed, None);
    let missing = app.update_event(999, &closed).await.unwrap_err();
    assert_eq!(missing.status, 404);
    app.create_event("twice", json!({})).await;
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "new_event");
    assert_eq!(frame["event"]["event_id"], "twice");
}

#[tokio::test]
async fn plain_get_is_a_json_400() {
    let app = spawn_app().await;
    let res = app.get("/api/events/ws").await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("a JSON body");
    assert!(body["detail"].is_string(), "{body}");
    assert_eq!(body["code"], "bad_request");
}

/// Policy changes, violations found by the engine and violation triage are pushed too.
#[tokio::test]
async fn policy_changes_violations_and_triage_are_pushed() {
    let app = spawn_app().await;
    let mut ws = connect(&app).await;

    let cards = pii_policy("Cards", "credit_card", Severity::Critical);
    let policy = app.post_policy(&cards).await.unwrap().id;
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "policy_changed");
    assert_eq!(frame["policy"]["id"], policy);
    assert_eq!(frame["policy"]["change"], "created");
    let open = policy_status(PolicyStatus::Open);
    app.update_policy(policy, &open).await.unwrap();
    let frame = next_json(&mut ws).await;
    assert_eq!(
        (frame["type"].as_str(), frame["policy"]["status"].as_str()),
        (Some("policy_changed"), Some("open"))
    );

    let event = app
        .create_event("live-card", json!({"prompt": "card 4111 1111 1111 1111"}))
        .await;
    assert_eq!(next_json(&mut ws).await["type"], "new_event");
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "new_violation", "{frame}");
    let violation = &frame["violation"];
    assert_eq!(violation["event_id"], id_of(&event));
    assert_eq!(violation["policy_id"], policy);
    assert_eq!(violation["severity"], "critical");
    assert_eq!(violation["violation_type"], "data_leak");

    let violation_id = violation["id"].as_i64().unwrap();
    let acknowledged = violation_triage(ViolationStatus::Acknowledged, Some(2));
    app.update_violation(violation_id, &acknowledged)
        .await
        .unwrap();
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "violation_updated");
    assert_eq!(
        frame["violation"],
        json!({"id": violation_id, "status": "acknowledged", "acknowledged_by": 2})
    );
}

/// A privacy policy that flags the PII `entity` in prompts.
fn pii_policy(name: &str, entity: &str, severity: Severity) -> PolicyCreate {
    PolicyCreate {
        definition: format!("request.prompt has sentinelai.pii({entity})"),
        severity,
        ..policy_create(name, PolicyCategory::Privacy)
    }
}

async fn enforced_policy(app: &TestApp, name: &str, entity: &str, severity: Severity) -> i64 {
    let body = pii_policy(name, entity, severity);
    app.enforced_policy(&body).await.id
}

#[tokio::test]
async fn subscription_filters_by_type_severity_and_policy() {
    use futures::SinkExt;
    let app = spawn_app().await;
    let cards = enforced_policy(&app, "Cards", "credit_card", Severity::Critical).await;
    let emails = enforced_policy(&app, "Emails", "email", Severity::High).await;
    let _phones = enforced_policy(&app, "Phones", "phone", Severity::Low).await;
    let mut ws = connect(&app).await;

    // A bad subscription is answered with an error and changes nothing.
    ws.send(Message::text(
        r#"{"type":"subscribe","types":["everything"]}"#,
    ))
    .await
    .unwrap();
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "error");
    assert!(frame["detail"].as_str().unwrap().contains("everything"));

    ws.send(Message::text(
        json!({"type": "subscribe", "types": ["new_violation"], "min_severity": "high",
               "policy_ids": [emails, cards]})
        .to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "subscribed");

    // Low severity: filtered out. Then a high one of a listed policy: delivered, and no
    // new_event frames at all.
    app.create_event("f-phone", json!({"prompt": "call +1 415 555 0100"}))
        .await;
    app.create_event("f-mail", json!({"prompt": "mail jane@example.com"}))
        .await;
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "new_violation", "{frame}");
    assert_eq!(frame["violation"]["policy_id"], emails);

    // Narrow to one policy: the email policy's violations stop arriving.
    ws.send(Message::text(
        json!({"type": "subscribe", "policy_ids": [cards]}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "subscribed");
    app.create_event("f-mail-2", json!({"prompt": "mail bob@example.com"}))
        .await;
    app.create_event("f-card", json!({"prompt": "card 4111 1111 1111 1111"}))
        .await;
    // Every type again, but only the card policy's violation among the violations.
    let mut seen = Vec::new();
    loop {
        let frame = next_json(&mut ws).await;
        if frame["type"] == "new_violation" {
            assert_eq!(frame["violation"]["policy_id"], cards, "{frame}");
            break;
        }
        seen.push(frame["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["new_event", "new_event"]);
}
