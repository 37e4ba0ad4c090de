//! The boot path: `Application::build` starts what `sentinel serve` starts, and shutdown stops
//! all of it.

use std::time::{Duration, Instant};

use sentinel_api::audit::AuditFilter;
use sentinel_api::page::PageParams;
use sentinel_server::settings::DatabaseUrl;
use sentinel_server::tasks::TaskEnd;
use sentinel_server::{Application, Settings};

use crate::helpers::fresh_database_url;

/// Tasks alive on this test's runtime.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test]
async fn shutdown_stops_every_background_task_and_closes_the_store() {
    let before = alive_tasks();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let on_postgres = url.starts_with("postgres");
    let app = Application::build(Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_owned(),
        database_url: Some(DatabaseUrl::new(url)),
        demo: true,
        demo_traffic: 0.05,
        retention_days: Some(3650),
        ..Settings::default()
    })
    .await
    .unwrap();
    assert_ne!(app.port(), 0);
    assert_eq!(app.local_addr().port(), app.port());
    assert!(
        dir.path().join("jwt-secret").exists(),
        "the signing secret was generated into the data directory"
    );
    let mut expected = vec![
        "event writer",
        "ingest writer",
        "webhook delivery",
        "outbox pruning",
        "retention",
        "demo traffic",
    ];
    if on_postgres {
        expected.splice(0..0, ["cluster relay", "cluster listener"]);
    }
    assert_eq!(app.tasks(), expected);

    // The demo load is there, and the live traffic adds to it while the app runs. The traffic
    // task starts in `build` and sends every 25-75 ms, so live events may already be stored:
    // the load's own audit entry says what was seeded.
    let store = app.state().store.clone();
    let loads = store
        .list_audit(
            &AuditFilter {
                action: Some("seed.events".into()),
                ..AuditFilter::default()
            },
            PageParams::default(),
        )
        .await
        .unwrap();
    assert_eq!(loads.total, 1);
    assert_eq!(loads.items[0].after.as_ref().unwrap()["events"], 2000);
    let seeded = store.event_stats().await.unwrap().total_events;
    assert!(seeded >= 2000, "{seeded} events stored");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    while store.event_stats().await.unwrap().total_events <= seeded {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no live demo traffic"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    stop.send(()).unwrap();
    let stopped = running.await.unwrap().unwrap();
    let names: Vec<&str> = stopped.tasks.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, expected);
    for (name, end) in &stopped.tasks {
        assert_eq!(*end, TaskEnd::Finished, "{name}");
    }
    assert!(store.event_stats().await.is_err(), "the store is closed");
    // Nothing the app spawned is left: not a tracked task, not the live hub's flusher, not a
    // connection.
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive_tasks() > before {
        assert!(
            Instant::now() < deadline,
            "{} tasks still alive after shutdown, {before} before start",
            alive_tasks()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
