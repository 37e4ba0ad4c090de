#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The store on its own, against the same database backends as the HTTP tests.

mod common;

use chrono::{Duration, Utc};
use sentinel_api::page::PageParams;
use sentinel_api::policy::PolicyFilter;
use sentinel_api::{
    EventStatus, EventType, InterventionType, PerformanceMode, PolicyCategory, PolicyStatus,
    Severity, ViolationStatus, ViolationType,
};
use sentinel_store::{AuditContext, NewPolicy, SeedEvent, SeedViolation, Store};

use common::{fresh_database_url, new_event, new_policy, new_violation};

async fn open() -> (Store, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let store = Store::open(&url).await.expect("open store");
    (store, url, dir)
}

/// Stores a draft policy named `name`.
async fn add_policy(store: &Store, name: &str) -> sentinel_store::PolicyRecord {
    let ctx = AuditContext::system();
    store.create_policy(&ctx, new_policy(name)).await.unwrap()
}

/// The length of the longest of `lens`: enough rows to use every value of each enum.
fn longest(lens: &[usize]) -> usize {
    lens.iter().copied().max().unwrap_or_default()
}

/// The `i`th value of `all`, cycling.
fn nth<T: Copy>(all: &[T], i: usize) -> T {
    all[i % all.len()]
}

#[tokio::test]
async fn opening_twice_migrates_idempotently_and_keeps_data() {
    let (store, url, _dir) = open().await;
    assert!(store.is_empty().await.unwrap());
    let p = add_policy(&store, "survivor").await;
    store.migrate().await.expect("migrating again is a no-op");
    // A second handle on the same database while the first is open, then a reopen after closing.
    let second = Store::open(&url).await.expect("second open");
    assert_eq!(second.get_policy(p.id).await.unwrap().name, "survivor");
    second.close().await.unwrap();
    store.close().await.unwrap();
    let again = Store::open(&url).await.expect("reopen");
    assert_eq!(again.get_policy(p.id).await.unwrap().name, "survivor");
    assert!(!again.is_empty().await.unwrap());
    assert!(again.ping().await);
}

#[tokio::test]
async fn policy_defaults_and_round_trip() {
    let (store, _url, _dir) = open().await;
    let mut new = new_policy("defaults");
    new.intervention_config = Some("{\"redact\":\"placeholder\"}".into());
    new.created_by = Some(4);
    let p = store
        .create_policy(&AuditContext::system(), new)
        .await
        .unwrap();
    assert!(p.id > 0);
    assert_eq!(p.updated_at, None);
    assert_eq!(p.name, "defaults");
    assert_eq!(p.status, PolicyStatus::Draft);
    assert_eq!(p.created_by, Some(4));
    assert_eq!(
        p.intervention_config.as_deref(),
        Some("{\"redact\":\"placeholder\"}")
    );
    assert_eq!(p.estimated_cost_per_event, 240.0);
    assert_eq!(p.estimated_latency_ms, 100.0);
    assert!((Utc::now() - p.created_at.0).abs() < Duration::minutes(5));
    let got = store.get_policy(p.id).await.unwrap();
    assert_eq!(
        serde_json::to_value(&got).unwrap(),
        serde_json::to_value(&p).unwrap()
    );

    let deleted = store
        .delete_policy(&AuditContext::system(), p.id)
        .await
        .unwrap();
    assert_eq!(deleted.id, p.id);
    assert!(store.get_policy(p.id).await.is_err());
    let page = store
        .list_policies(&PolicyFilter::default(), PageParams::default())
        .await
        .unwrap();
    assert_eq!(page.total, 0);
    // Deleted, but the store still holds it.
    assert!(!store.is_empty().await.unwrap());
}

#[tokio::test]
async fn every_policy_enum_value_round_trips() {
    let (store, _url, _dir) = open().await;
    let n = longest(&[
        PolicyStatus::ALL.len(),
        Severity::ALL.len(),
        PerformanceMode::ALL.len(),
        InterventionType::ALL.len(),
        PolicyCategory::ALL.len(),
    ]);
    for i in 0..n {
        let new = NewPolicy {
            status: nth(PolicyStatus::ALL, i),
            severity: nth(Severity::ALL, i),
            performance_mode: nth(PerformanceMode::ALL, i),
            intervention_type: nth(InterventionType::ALL, i),
            category: nth(PolicyCategory::ALL, i),
            ..new_policy(&format!("enum {i}"))
        };
        let created = store
            .create_policy(&AuditContext::system(), new.clone())
            .await
            .unwrap();
        let got = store.get_policy(created.id).await.unwrap();
        assert_eq!(got.status, new.status);
        assert_eq!(got.severity, new.severity);
        assert_eq!(got.performance_mode, new.performance_mode);
        assert_eq!(got.intervention_type, new.intervention_type);
        assert_eq!(got.category, new.category);
    }
    // Filtering by a stored enum value finds exactly the matching rows.
    for status in PolicyStatus::ALL {
        let filter = PolicyFilter {
            status: Some(*status),
            ..PolicyFilter::default()
        };
        let page = store
            .list_policies(&filter, PageParams::default())
            .await
            .unwrap();
        assert!(page.total >= 1, "{status}");
        assert!(page.items.iter().all(|p| p.status == *status));
    }
}

#[tokio::test]
async fn every_event_and_violation_enum_value_round_trips() {
    let (store, _url, _dir) = open().await;
    let policy = add_policy(&store, "p").await;
    let n = longest(&[
        EventType::ALL.len(),
        EventStatus::ALL.len(),
        Severity::ALL.len(),
        ViolationType::ALL.len(),
    ]);
    for i in 0..n {
        let mut e = new_event(&format!("enum-{i}"), Utc::now());
        e.event_type = nth(EventType::ALL, i);
        e.status = nth(EventStatus::ALL, i);
        e.severity = nth(Severity::ALL, i);
        let vt = nth(ViolationType::ALL, i);
        let sev = nth(Severity::ALL, i + 1);
        let (event, violations) = store
            .create_event(e.clone(), vec![new_violation(policy.id, vt, sev)])
            .await
            .unwrap();
        let got = store.get_event(event.id).await.unwrap();
        assert_eq!(got.event_type, e.event_type);
        assert_eq!(got.status, e.status);
        assert_eq!(got.severity, e.severity);
        let v = store.get_violation(violations[0].id).await.unwrap();
        assert_eq!(v.violation_type, vt);
        assert_eq!(v.severity, sev);
        assert_eq!(v.status, ViolationStatus::Detected);
    }
}

#[tokio::test]
async fn violations_link_to_their_event_and_policy() {
    let (store, _url, _dir) = open().await;
    let p1 = add_policy(&store, "p1").await;
    let p2 = add_policy(&store, "p2").await;
    let (event, stored) = store
        .create_event(
            new_event("linked", Utc::now()),
            vec![
                new_violation(p1.id, ViolationType::DataLeak, Severity::High),
                new_violation(p2.id, ViolationType::PromptInjection, Severity::Low),
            ],
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|v| v.event_id == event.id));
    assert_eq!(stored[0].policy_id, p1.id);
    assert_eq!(stored[1].policy_id, p2.id);
    let listed = store
        .event_violations(event.id, sentinel_api::ShadowFilter::Exclude)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|v| v.id).collect::<Vec<_>>(),
        stored.iter().map(|v| v.id).collect::<Vec<_>>()
    );

    // A violation of a missing policy is refused, and the event is not stored either.
    let err = store
        .create_event(
            new_event("orphan", Utc::now()),
            vec![new_violation(9999, ViolationType::DataLeak, Severity::High)],
        )
        .await;
    assert!(err.is_err());
    let page = store
        .list_events(&Default::default(), PageParams::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);

    // A duplicate event_id is a conflict.
    let dup = store
        .create_event(new_event("linked", Utc::now()), Vec::new())
        .await;
    assert!(
        matches!(
            dup,
            Err(sentinel_store::StoreError::Conflict { field: "event_id" })
        ),
        "{dup:?}"
    );
}

#[tokio::test]
async fn seeded_ids_do_not_collide_with_new_rows() {
    let (store, _url, _dir) = open().await;
    let policy = add_policy(&store, "p").await;
    let now = Utc::now();
    let batch: Vec<SeedEvent> = (0..5)
        .map(|i| SeedEvent {
            event: new_event(&format!("seed-{i}"), now - Duration::hours(i)),
            violations: vec![SeedViolation {
                violation: new_violation(policy.id, ViolationType::DataLeak, Severity::Medium),
                status: ViolationStatus::Resolved,
            }],
        })
        .collect();
    assert_eq!(store.seed_events(batch).await.unwrap(), 5);
    let page = store
        .list_events(&Default::default(), PageParams::default())
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    let max_event = page.items.iter().map(|e| e.id).max().unwrap();
    let seeded_violations = store
        .list_violations(&Default::default(), PageParams::default())
        .await
        .unwrap();
    assert_eq!(seeded_violations.total, 5);
    assert!(
        seeded_violations
            .items
            .iter()
            .all(|v| v.status == ViolationStatus::Resolved)
    );
    let max_violation = seeded_violations.items.iter().map(|v| v.id).max().unwrap();

    let (event, violations) = store
        .create_event(
            new_event("after-seed", now),
            vec![new_violation(
                policy.id,
                ViolationType::DataLeak,
                Severity::High,
            )],
        )
        .await
        .expect("a normal insert after seeding gets a fresh id");
    assert!(event.id > max_event, "{} vs {max_event}", event.id);
    assert!(violations[0].id > max_violation);

    // Seeding again continues after the rows that exist.
    let more = vec![SeedEvent {
        event: new_event("seed-late", now),
        violations: Vec::new(),
    }];
    assert_eq!(store.seed_events(more).await.unwrap(), 1);
    let (again, _) = store
        .create_event(new_event("after-second-seed", now), Vec::new())
        .await
        .unwrap();
    let page = store
        .list_events(&Default::default(), PageParams::default())
        .await
        .unwrap();
    assert_eq!(page.total, 8);
    let mut ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8);
    assert_eq!(*ids.last().unwrap(), again.id);

    assert_eq!(store.seed_events(Vec::new()).await.unwrap(), 0);
}

#[tokio::test]
async fn is_empty_tracks_policies_and_events() {
    let (store, _url, _dir) = open().await;
    assert!(store.is_empty().await.unwrap());
    store
        .create_event(new_event("only-event", Utc::now()), Vec::new())
        .await
        .unwrap();
    assert!(!store.is_empty().await.unwrap());

    let (other, _url2, _dir2) = open().await;
    assert!(other.is_empty().await.unwrap());
    other
        .create_policy(&AuditContext::system(), new_policy("only-policy"))
        .await
        .unwrap();
    assert!(!other.is_empty().await.unwrap());
}

/// The bulk loader (a raw fast path on SQLite) and the normal insert must store the same thing:
/// a seeded event and violation read back exactly like ones created through `create_event`, and
/// both feed the rollups behind the dashboard.
#[tokio::test]
async fn seeded_rows_read_back_like_created_rows() {
    let (store, _url, _dir) = open().await;
    let policy = add_policy(&store, "p").await;
    let at = sentinel_api::Timestamp::now().0 - Duration::hours(2);
    let full = |event_id: &str| {
        let mut e = new_event(event_id, at);
        e.severity = Severity::Critical;
        e.description = Some("d".into());
        e.event_data = Some("{\"k\":1}".into());
        e.policy_id = Some(policy.id);
        e.user_id = Some(3);
        e.source = Some("ChatBot".into());
        e.model_name = Some("m".into());
        e.prompt = Some("p ✓".into());
        e.completion = Some("c".into());
        e.request_tokens = Some(10);
        e.response_tokens = Some(20);
        e.duration_ms = Some(12.5);
        e.metadata = Some(
            [("environment".to_owned(), serde_json::json!("prod"))]
                .into_iter()
                .collect(),
        );
        e.decision = Some(sentinel_api::Decision::Block);
        e
    };
    let mut violation = new_violation(policy.id, ViolationType::DataLeak, Severity::High);
    violation.legal_advice_score = Some(0.25);
    violation.findings = vec![sentinel_api::violation::FindingResponse {
        detector: "pii".into(),
        entity: "email".into(),
        target: "prompt".into(),
        start: 1,
        end: 5,
        char_start: 1,
        char_end: 4,
        score: 0.9,
        explanation: "e".into(),
    }];
    store
        .seed_events(vec![SeedEvent {
            event: full("seeded"),
            violations: vec![SeedViolation {
                violation: violation.clone(),
                status: ViolationStatus::Detected,
            }],
        }])
        .await
        .unwrap();
    let (created, created_violations) = store
        .create_event(full("created"), vec![violation])
        .await
        .unwrap();
    let page = store
        .list_events(&Default::default(), PageParams::default())
        .await
        .unwrap();
    let seeded = page.items.iter().find(|e| e.event_id == "seeded").unwrap();
    // Everything but the identity and the title matches.
    let strip = |e: &sentinel_store::EventRecord| sentinel_store::EventRecord {
        id: 0,
        event_id: String::new(),
        created_at: sentinel_api::Timestamp(chrono::DateTime::UNIX_EPOCH),
        title: String::new(),
        ..e.clone()
    };
    assert_eq!(strip(seeded), strip(&created));
    let seeded_violations = store
        .event_violations(seeded.id, sentinel_api::ShadowFilter::Exclude)
        .await
        .unwrap();
    let strip_v = |v: &sentinel_store::ViolationRecord| sentinel_store::ViolationRecord {
        id: 0,
        event_id: 0,
        created_at: sentinel_api::Timestamp(chrono::DateTime::UNIX_EPOCH),
        title: None,
        ..v.clone()
    };
    assert_eq!(
        strip_v(&seeded_violations[0]),
        strip_v(&created_violations[0])
    );
    let stats = store.dashboard_stats().await.unwrap();
    assert_eq!(stats.total_events, 2);
    assert_eq!(store.avg_event_duration_ms().await.unwrap(), 12.5);
    let timeline = store
        .events_timeline(1, sentinel_api::Timestamp::now().0)
        .await
        .unwrap();
    let total: u64 = timeline.iter().map(|p| p.total).sum();
    assert_eq!(total, 2);
    assert_eq!(
        timeline
            .iter()
            .map(|p| p.severity_breakdown.critical)
            .sum::<u64>(),
        2
    );
}

/// The constraint names the error mapping relies on are the ones the migrations created.
#[tokio::test]
async fn the_schema_carries_the_shared_constraint_names() {
    use sea_orm::{ConnectionTrait, Statement};
    let (_store, url, _dir) = open().await;
    let raw = sea_orm::Database::connect(url.as_str()).await.unwrap();
    let backend = raw.get_database_backend();
    let sql = match backend {
        // Every constraint and index name of the schema.
        sea_orm::DbBackend::Postgres => {
            "SELECT conname::text AS s FROM pg_constraint \
             WHERE connamespace = current_schema()::regnamespace \
             UNION SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()"
        }
        // SQLite keeps the CREATE statements, which carry the names of explicit indexes. It
        // keeps no name for a column-level UNIQUE or a foreign key (sea-query writes none), and
        // reports neither by name: uniques are recognised by table and column instead.
        _ => "SELECT sql AS s FROM sqlite_master WHERE sql IS NOT NULL",
    };
    let rows = raw
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    let texts: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "s").unwrap())
        .collect();
    for c in sentinel_store::constraint::ALL {
        let named_in_sqlite =
            c.kind == sentinel_store::constraint::Kind::Unique && !c.name.ends_with("_key");
        if backend == sea_orm::DbBackend::Sqlite && !named_in_sqlite {
            continue;
        }
        let found = if backend == sea_orm::DbBackend::Postgres {
            texts.iter().any(|t| t == c.name)
        } else {
            texts.iter().any(|t| t.contains(c.name))
        };
        assert!(found, "constraint {} is not in the schema", c.name);
    }
}

/// A clash on each unique user column is reported by that column, on both backends.
#[tokio::test]
async fn user_clashes_name_their_constraint() {
    let (store, _url, _dir) = open().await;
    let user = |name: &str, email: &str| sentinel_store::NewUser {
        username: name.into(),
        email: email.into(),
        full_name: None,
        hashed_password: "x".into(),
        role: sentinel_api::UserRole::Viewer,
    };
    let ctx = AuditContext::system();
    store
        .create_user(&ctx, user("ada", "ada@example.com"))
        .await
        .unwrap();
    // The same username, then the same e-mail: each names the field that clashes.
    for (name, email, clashing) in [
        ("ada", "other@example.com", "username"),
        ("bob", "ada@example.com", "email"),
    ] {
        let clash = store.create_user(&ctx, user(name, email)).await;
        assert!(
            matches!(
                clash,
                Err(sentinel_store::StoreError::Conflict { field }) if field == clashing
            ),
            "{clash:?}"
        );
    }
}

/// Policies that exist when versions arrive (migration 7) get their state then as version 1,
/// with no author, and are enforced as before; their next change is version 2.
#[tokio::test]
async fn existing_policies_get_a_first_version_when_versions_arrive() {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm_migration::MigratorTrait;
    use sentinel_store::migration::Migrator;

    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let raw = sea_orm::Database::connect(url.as_str()).await.unwrap();
    Migrator::up(&raw, Some(6)).await.unwrap();
    let created_at = Utc::now() - Duration::days(3);
    let insert = Query::insert()
        .into_table(Alias::new("policies"))
        .columns(
            [
                "name",
                "definition",
                "category",
                "status",
                "severity",
                "performance_mode",
                "intervention_type",
                "estimated_cost_per_event",
                "estimated_latency_ms",
                "created_by",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            "older".into(),
            "request.prompt contains \"x\"".into(),
            "privacy".into(),
            "open".into(),
            "high".into(),
            "fast".into(),
            "block".into(),
            1.5.into(),
            0.5.into(),
            7_i64.into(),
            created_at.into(),
        ])
        .to_owned();
    raw.execute(&insert).await.unwrap();
    raw.close().await.unwrap();

    let store = Store::open(&url).await.unwrap();
    let policies = store.all_policies().await.unwrap();
    let old = &policies[0];
    assert_eq!(
        (old.version, old.enforcement),
        (1, sentinel_api::Enforcement::Enforce)
    );
    let versions = store
        .list_policy_versions(old.id, PageParams::default())
        .await
        .unwrap();
    assert_eq!(versions.total, 1);
    let v1 = &versions.items[0];
    assert_eq!(
        (v1.version, v1.author.as_deref(), v1.author_id),
        (1, None, Some(7))
    );
    assert!(v1.changed.is_empty());
    assert_eq!(v1.definition, old.definition);
    assert_eq!(v1.status, PolicyStatus::Open);
    assert_eq!(v1.intervention_type, InterventionType::Block);
    assert_eq!(v1.created_at.0.timestamp(), created_at.timestamp());

    let change = sentinel_store::PolicyChange {
        severity: Some(Severity::Critical),
        ..sentinel_store::PolicyChange::default()
    };
    let ctx = AuditContext {
        actor: "user:alice".into(),
        ..AuditContext::default()
    };
    let updated = store.update_policy(&ctx, old.id, change).await.unwrap();
    assert_eq!(updated.version, 2);
    let v2 = store.get_policy_version(old.id, 2).await.unwrap();
    assert_eq!(v2.changed, ["severity"]);
    assert_eq!(v2.author.as_deref(), Some("user:alice"));
    let missing = store.get_policy_version(old.id, 3).await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!(
            "Policy {} has no version 3; its versions are 1 to 2",
            old.id
        )
    );
}

/// Shadow violations are stored, read back as such, and kept out of the maintained counters
/// (which serve the legacy counts), through insert, triage and retention.
#[tokio::test]
async fn shadow_violations_stay_out_of_the_counters() {
    let (store, _url, _dir) = open().await;
    let policy = add_policy(&store, "shadowed").await;
    let mut shadow = new_violation(policy.id, ViolationType::DataLeak, Severity::High);
    shadow.shadow = true;
    shadow.policy_version = Some(1);
    let enforced = new_violation(policy.id, ViolationType::DataLeak, Severity::High);
    let old = Utc::now() - Duration::days(40);
    let (event, stored) = store
        .create_event(new_event("with-shadow", old), vec![enforced, shadow])
        .await
        .unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|v| (v.shadow, v.policy_version))
            .collect::<Vec<_>>(),
        [(false, None), (true, Some(1))]
    );
    assert_eq!(store.violation_stats().await.unwrap().total_violations, 1);
    let only = sentinel_api::ShadowFilter::Only;
    let listed = store.event_violations(event.id, only).await.unwrap();
    assert_eq!(listed.len(), 1);
    let triage = sentinel_store::Triage {
        status: Some(ViolationStatus::Resolved),
        acknowledged_by: None,
    };
    store
        .update_violation(&AuditContext::system(), listed[0].id, triage)
        .await
        .unwrap();
    assert!(store.counter_drift().await.unwrap().is_empty());
    let purged = store
        .purge_events_before(
            &AuditContext::system(),
            Utc::now() - Duration::days(30),
            100,
        )
        .await
        .unwrap();
    assert_eq!((purged.events, purged.violations), (1, 2));
    assert!(store.counter_drift().await.unwrap().is_empty());
}

/// A batch that names a policy reads the policies before its first write. On SQLite that read
/// must not leave it to fail when another connection commits in between (SQLITE_BUSY_SNAPSHOT,
/// a 500 on `POST /api/events/`): here a second writer commits all the while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_naming_a_policy_survive_a_concurrent_writer() {
    let (store, _url, _dir) = open().await;
    let policy = add_policy(&store, "P").await;
    let now = Utc::now();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                store
                    .create_event(new_event(&format!("w{i}"), now), Vec::new())
                    .await
                    .unwrap();
            }
        })
    };
    for i in 0..300 {
        let mut e = new_event(&format!("p{i}"), now);
        e.policy_id = Some(policy.id);
        store
            .create_event(e, Vec::new())
            .await
            .unwrap_or_else(|err| panic!("batch {i} failed: {err}"));
    }
    writer.await.unwrap();
}

/// Events for the replay tests: groups of events sharing one `trigger_date` (so that range
/// boundaries and page ends fall inside a group), texts and scopes of every shape a backtest
/// reads (absent, empty, non-ASCII, JSON `event_data` only), and one event outside the window.
async fn seed_replay_events(store: &Store) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00.250Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut batch = Vec::new();
    for i in 0..300i64 {
        // Groups of 40 at one instant, then single events with fractional seconds.
        let at = if i < 200 {
            base + Duration::minutes(i / 40)
        } else {
            base + Duration::hours(1) + Duration::microseconds(i * 1_234_567)
        };
        let mut e = new_event(&format!("r-{i}"), at);
        e.source = (i % 5 != 0).then(|| ["SupportBot", "HR"][(i % 2) as usize].to_owned());
        e.model_name = (i % 3 != 0).then(|| "gpt-4o".to_owned());
        e.user_id = (i % 4 == 0).then_some(i);
        e.prompt = match i % 6 {
            0 => None,
            1 => Some(String::new()),
            2 => Some(format!("héllo wörld {i} ✓")),
            _ => Some(format!("prompt {i}")),
        };
        e.completion = (i % 7 == 0).then(|| format!("answer {i}"));
        if i % 6 == 0 {
            e.event_data = Some(serde_json::json!({"prompt": format!("in data {i}")}).to_string());
        }
        e.metadata = (i % 2 == 0).then(|| {
            std::collections::BTreeMap::from([(
                "environment".to_owned(),
                serde_json::json!(if i % 4 == 0 { "prod" } else { "staging" }),
            )])
        });
        batch.push(SeedEvent {
            event: e,
            violations: Vec::new(),
        });
    }
    batch.push(SeedEvent {
        event: new_event("r-outside", base - Duration::days(1)),
        violations: Vec::new(),
    });
    store.seed_events(batch).await.unwrap();
    (base, base + Duration::days(1))
}

/// Every row of `window`, through the ORM's keyset pages.
async fn replay_pages(
    store: &Store,
    window: &sentinel_store::ReplayWindow,
    size: u64,
) -> Vec<sentinel_store::ReplayRow> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let rows = store.replay_page(window, after, size).await.unwrap();
        let Some(last) = rows.last() else { break };
        after = Some(sentinel_store::ReplayCursor {
            trigger_date: last.trigger_date,
            id: last.id,
        });
        all.extend(rows);
    }
    all
}

/// Every row of `window`, through `replay_blocking` (on SQLite, its own rusqlite connection).
async fn replay_stream(
    store: &Store,
    window: &sentinel_store::ReplayWindow,
    size: u64,
) -> Vec<sentinel_store::ReplayRow> {
    let (store, window) = (store.clone(), window.clone());
    tokio::task::spawn_blocking(move || {
        let mut rows = Vec::new();
        let whole = store
            .replay_blocking(&window, size, |e| {
                rows.push(e.to_row());
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        assert!(whole);
        rows
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamed_replay_reads_what_the_pages_read() {
    let (store, _url, _dir) = open().await;
    let (since, until) = seed_replay_events(&store).await;
    for (app, model) in [
        (None, None),
        (Some("HR"), None),
        (None, Some("gpt-4o")),
        (Some("SupportBot"), Some("gpt-4o")),
    ] {
        let window = sentinel_store::ReplayWindow {
            since,
            until,
            app: app.map(str::to_owned),
            model: model.map(str::to_owned),
        };
        let expected = replay_pages(&store, &window, 1000).await;
        assert!(expected.len() > 40, "{app:?} {model:?}");
        for size in [1, 7, 40, 1000] {
            let streamed = replay_stream(&store, &window, size).await;
            assert_eq!(streamed, expected, "{app:?} {model:?}, pages of {size}");
        }
    }
    // Breaking off stops the read and says so.
    let window = sentinel_store::ReplayWindow {
        since,
        until,
        app: None,
        model: None,
    };
    let reader = store.clone();
    let (seen, whole) = tokio::task::spawn_blocking(move || {
        let mut seen = 0;
        let whole = reader
            .replay_blocking(&window, 7, |_| {
                seen += 1;
                if seen == 10 {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            })
            .unwrap();
        (seen, whole)
    })
    .await
    .unwrap();
    assert_eq!((seen, whole), (10, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_windows_hold_every_event_once_in_order() {
    let (store, _url, _dir) = open().await;
    let (since, until) = seed_replay_events(&store).await;
    let window = sentinel_store::ReplayWindow {
        since,
        until,
        app: None,
        model: None,
    };
    let total = store.count_replay(&window).await.unwrap();
    assert_eq!(total, 300);
    let all = replay_pages(&store, &window, 1000).await;
    for parts in [1, 2, 3, 4, 7, 16, 300, 1000] {
        let ranges = store.split_replay(&window, parts, total).await.unwrap();
        assert!(!ranges.is_empty() && ranges.len() <= parts, "{parts}");
        assert_eq!(ranges[0].since, since);
        assert_eq!(ranges[ranges.len() - 1].until, until);
        let mut joined = Vec::new();
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].until, pair[1].since, "{parts}: ranges touch");
        }
        for r in &ranges {
            joined.extend(replay_pages(&store, r, 1000).await);
        }
        assert_eq!(joined, all, "{parts} parts");
    }
    // Two parts: the middle event (the 150th) is in the fourth group of 40 (events 120–159),
    // whose instant starts the second range, so the whole group is in it.
    let ranges = store.split_replay(&window, 2, total).await.unwrap();
    assert_eq!(ranges.len(), 2);
    assert_eq!(ranges[0].until, all[120].trigger_date);
    assert!(all[119].trigger_date < all[120].trigger_date);
    assert_eq!(all[159].trigger_date, all[120].trigger_date);
}

/// Ingestion's transaction on its own: `create_events` of two events with a violation each,
/// one after another, as the group commit writes them under steady load. Prints the time per
/// transaction; `STORE_BENCH_TXNS` sets how many (BENCHMARKS.md, "Ingestion transactions").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture, on a quiet machine, in release"]
async fn ingestion_transaction_benchmark() {
    let (store, _url, _dir) = open().await;
    let policy = add_policy(&store, "bench").await;
    let n: usize = std::env::var("STORE_BENCH_TXNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut micros = Vec::with_capacity(n);
    for i in 0..n {
        let batch = (0..2)
            .map(|k| {
                let mut e = new_event(&format!("bench-{i}-{k}"), Utc::now());
                e.policy_id = Some(policy.id);
                let v = new_violation(policy.id, ViolationType::DataLeak, Severity::Medium);
                (e, vec![v])
            })
            .collect();
        let started = std::time::Instant::now();
        store.create_events(batch).await.unwrap();
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    micros.sort_by(f64::total_cmp);
    let mean = micros.iter().sum::<f64>() / n as f64;
    println!(
        "{n} transactions of 2 events: mean {mean:.0} µs, median {:.0} µs, p90 {:.0} µs",
        micros[n / 2],
        micros[n * 9 / 10]
    );
}
