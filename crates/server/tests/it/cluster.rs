//! Two nodes on one PostgreSQL: live messages and policy changes cross nodes. On SQLite (one
//! process by design) there is nothing to test.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use sentinel_api::guard::GuardRequest;
use sentinel_api::policy::PolicyUpdate;
use sentinel_api::{Decision, InterventionType, Patch, PolicyStatus};

use crate::client::{guard_request, policy_status};
use crate::helpers::{id_of, spawn_app, spawn_second_node};

fn on_postgres() -> bool {
    std::env::var("SENTINEL_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

#[tokio::test]
async fn an_event_posted_to_node_a_reaches_a_live_client_of_node_b_within_a_second() {
    if !on_postgres() {
        return;
    }
    let a = spawn_app().await;
    let b = spawn_second_node(&a).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/events/ws?token={}",
        b.addr, b.token
    ))
    .await
    .expect("websocket on node B");
    let sent = Instant::now();
    a.create_event("cross-1", json!({})).await;
    let frame = loop {
        let msg = tokio::time::timeout(Duration::from_secs(1), ws.next())
            .await
            .expect("node B's client got the event within 1 s")
            .expect("stream open")
            .expect("frame");
        if let Message::Text(text) = msg {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] == "new_event" {
                break value;
            }
        }
    };
    assert!(sent.elapsed() < Duration::from_secs(1));
    assert_eq!(frame["event"]["event_id"], "cross-1");
}

#[tokio::test]
async fn a_policy_enabled_on_node_b_is_enforced_by_node_a_within_a_second() {
    if !on_postgres() {
        return;
    }
    let a = spawn_app().await;
    let b = spawn_second_node(&a).await;
    let text = GuardRequest {
        record: false,
        ..guard_request("mail jane@example.com")
    };
    assert_eq!(a.guard(&text).await.unwrap().decision, Decision::Allow);
    let policy = b.create_policy("emails", "privacy").await;
    let block = PolicyUpdate {
        intervention_type: Patch::Value(InterventionType::Block),
        ..policy_status(PolicyStatus::Open)
    };
    b.update_policy(id_of(&policy), &block).await.unwrap();
    let enabled = Instant::now();
    loop {
        if a.guard(&text).await.unwrap().decision == Decision::Block {
            break;
        }
        assert!(
            enabled.elapsed() < Duration::from_secs(1),
            "node A still allows the text 1 s after node B enabled the policy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
