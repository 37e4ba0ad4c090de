//! The group-commit event writer: a batch with a bad event in it, and a stop with events queued.

use std::time::Duration;

use sentinel_api::page::PageParams;
use sentinel_server::service::writer::EventWriter;
use sentinel_server::tasks::Tasks;
use sentinel_store::Store;

use crate::helpers::{fresh_database_url, new_event};

#[tokio::test]
async fn a_bad_event_fails_alone_and_a_stop_writes_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&fresh_database_url(&dir).await).await.unwrap();
    // The writer waits 50 ms after the first event, so the next two join its batch.
    let (writer, task) = EventWriter::new(store.clone(), Duration::from_millis(50));
    let mut tasks = Tasks::new();
    tasks.spawn("event writer", move |stop| task.run(stop));
    let now = chrono::Utc::now();
    let mut queued = Vec::new();
    // The second repeats the first's `event_id`: the batch's transaction fails on it, and the
    // writer stores the events one by one, so only that one is refused.
    for id in ["w-1", "w-1", "w-3"] {
        queued.push(writer.submit(new_event(id, now), Vec::new()).await);
    }
    let mut outcomes = Vec::new();
    for submitted in queued {
        outcomes.push(submitted.committed().await.map(|(e, _)| e.event_id));
    }
    assert_eq!(outcomes[0].as_deref().ok(), Some("w-1"));
    assert!(outcomes[1].is_err(), "{:?}", outcomes[1]);
    assert_eq!(outcomes[2].as_deref().ok(), Some("w-3"));

    // Queued, then the writer is asked to stop while it waits for more: it writes the event
    // before it ends.
    let last = writer.submit(new_event("w-4", now), Vec::new()).await;
    let ended = tasks.stop().await;
    assert_eq!(
        ended,
        [("event writer", sentinel_server::tasks::TaskEnd::Finished)]
    );
    let (event, _) = last.committed().await.unwrap();
    assert_eq!(event.event_id, "w-4");
    // With the writer gone, an event is written directly.
    let (event, _) = writer
        .submit(new_event("w-5", now), Vec::new())
        .await
        .committed()
        .await
        .unwrap();
    assert_eq!(event.event_id, "w-5");
    let page = store
        .list_events(&Default::default(), PageParams::default())
        .await
        .unwrap();
    let mut ids: Vec<String> = page.items.into_iter().map(|e| e.event_id).collect();
    ids.sort();
    assert_eq!(ids, ["w-1", "w-3", "w-4", "w-5"]);
}
