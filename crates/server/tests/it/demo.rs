//! Issue 16: `serve --demo` keeps live traffic flowing through the real ingestion path.

use std::time::{Duration, Instant};

use sentinel_api::PolicyId;
use sentinel_server::service::demo::{DEMO_MARK, seed_catalogue, spawn_live_traffic};
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_demo_traffic_is_evaluated_stored_streamed_and_marked() {
    let app = spawn_app().await;
    seed_catalogue(&app.store, false).await.unwrap();
    sentinel_server::service::policies::reload(&app.state, PolicyId(0), "seeded", None)
        .await
        .unwrap();
    let mut ws = crate::live::connect(&app).await;

    let task = spawn_live_traffic(app.state.clone(), Duration::from_millis(10), 11);
    let started = Instant::now();
    let (events, violations) = loop {
        let events: Value = app.get_ok("/api/events/stats/summary").await;
        let violations: Value = app.get_ok("/api/violations/stats/summary").await;
        let (e, v) = (
            events["total_events"].as_u64().unwrap(),
            violations["total_violations"].as_u64().unwrap(),
        );
        if e >= 60 && v >= 3 {
            break (e, v);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {e} events and {v} violations after a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    task.abort();
    assert!(
        violations < events,
        "mostly clean traffic: {violations} of {events}"
    );

    // Every stored event is a demo event from a demo app, with the mark.
    let page: Value = app.get_ok("/api/events/?limit=100").await;
    let items = page
        .as_array()
        .or_else(|| page["items"].as_array())
        .unwrap();
    assert!(items.len() >= 60);
    for e in items {
        assert_eq!(e["metadata"][DEMO_MARK], true, "{e}");
        assert!(e["event_id"].as_str().unwrap().starts_with("demo-11-"));
    }
    // A dashboard's live feed saw them as they were stored.
    let first = crate::live::next_json(&mut ws).await;
    assert_eq!(first["type"], "new_event", "{first}");
    assert!(
        first["event"]["event_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("demo-11-")),
        "{first}"
    );
}
