use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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

    let res = app
        .put(
            &format!("/api/events/{}", id_of(&event)),
            &json!({"status": "acknowledged", "acknowledged_by": 9}),
        )
        .await;
    assert_eq!(res.status(), 200);
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
    let body = json!([
        {"event_id": "b1", "event_type": "llm_request", "title": "one", "trigger_date": "2026-11-20T10:00:00Z"},
        {"event_id": "b2", "event_type": "llm_request", "title": "two", "trigger_date": "2026-11-20T10:00:00Z"},
    ]);
    assert_eq!(app.post("/api/events/batch", &body).await.status(), 200);
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
    let res = app
        .put(
            &format!("/api/events/{}", id_of(&event)),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
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
    let dup = json!({"event_id": "once", "event_type": "llm_request", "title": "t", "trigger_date": "2026-11-20T10:00:00Z"});
    assert_eq!(app.post("/api/events/", &dup).await.status(), 409);
    assert_eq!(
        app.put("/api/events/999", &json!({"status": "closed"}))
            .await
            .status(),
        404
    );
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

    let res = app
        .post(
            "/api/policies/",
            &json!({"name": "Cards", "definition": "request.prompt has sentinelai.pii(credit_card)",
                    "category": "privacy", "severity": "critical"}),
        )
        .await;
    let policy = id_of(&res.json().await.unwrap());
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "policy_changed");
    assert_eq!(frame["policy"]["id"], policy);
    assert_eq!(frame["policy"]["change"], "created");
    app.put(
        &format!("/api/policies/{policy}"),
        &json!({"status": "open"}),
    )
    .await;
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
    let res = app
        .put(
            &format!("/api/violations/{violation_id}"),
            &json!({"status": "acknowledged", "acknowledged_by": 2}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "violation_updated");
    assert_eq!(
        frame["violation"],
        json!({"id": violation_id, "status": "acknowledged", "acknowledged_by": 2})
    );
}

async fn enforced_policy(app: &TestApp, name: &str, entity: &str, severity: &str) -> i64 {
    let res = app
        .post(
            "/api/policies/",
            &json!({"name": name, "definition": format!("request.prompt has sentinelai.pii({entity})"),
                    "category": "privacy", "severity": severity}),
        )
        .await;
    let policy = id_of(&res.json().await.unwrap());
    app.put(
        &format!("/api/policies/{policy}"),
        &json!({"status": "open"}),
    )
    .await;
    policy
}

#[tokio::test]
async fn subscription_filters_by_type_severity_and_policy() {
    use futures::SinkExt;
    let app = spawn_app().await;
    let cards = enforced_policy(&app, "Cards", "credit_card", "critical").await;
    let emails = enforced_policy(&app, "Emails", "email", "high").await;
    let _phones = enforced_policy(&app, "Phones", "phone", "low").await;
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
