//! Set-up shared by the store's tests and the server's integration tests (which include this file
//! through `#[path]`): a fresh database per test, and minimal rows for direct store inserts.

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh database URL: a new PostgreSQL schema in `SENTINEL_TEST_DATABASE_URL`, or a
/// temporary SQLite file.
pub async fn fresh_database_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("SENTINEL_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!(
                "sentinel_it_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                chrono::Utc::now().timestamp_micros()
            );
            // A schema per test inside the test database: creating one is cheap, and dropping the
            // test database (as CI does before each run) removes them all at once.
            let admin = Database::connect(base.as_str())
                .await
                .expect("connect to the test PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {name}"))
                .await
                .expect("create a test schema");
            admin.close().await.ok();
            let separator = if base.contains('?') { '&' } else { '?' };
            format!("{base}{separator}options=-c%20search_path%3D{name}")
        }
        _ => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("sentinel.db").display()
        ),
    }
}

/// A minimal event for direct store inserts.
pub fn new_event(
    event_id: &str,
    trigger_date: chrono::DateTime<chrono::Utc>,
) -> sentinel_store::NewEvent {
    sentinel_store::NewEvent {
        event_id: event_id.to_owned(),
        event_type: sentinel_api::EventType::LlmRequest,
        severity: sentinel_api::Severity::Low,
        title: format!("Event {event_id}"),
        description: None,
        event_data: None,
        trigger_date: sentinel_api::Timestamp(trigger_date),
        status: sentinel_api::EventStatus::Open,
        policy_id: None,
        user_id: None,
        source: None,
        model_name: None,
        prompt: None,
        completion: None,
        request_tokens: None,
        response_tokens: None,
        duration_ms: None,
        metadata: None,
        decision: None,
    }
}

/// A draft privacy policy that flags e-mail addresses, for direct store inserts.
pub fn new_policy(name: &str) -> sentinel_store::NewPolicy {
    sentinel_store::NewPolicy {
        name: name.to_owned(),
        definition: "request.prompt has sentinelai.pii(email)".into(),
        category: sentinel_api::PolicyCategory::Privacy,
        status: sentinel_api::PolicyStatus::Draft,
        severity: sentinel_api::Severity::Medium,
        performance_mode: sentinel_api::PerformanceMode::Balanced,
        intervention_type: sentinel_api::InterventionType::Notification,
        intervention_config: None,
        estimated_cost_per_event: 240.0,
        estimated_latency_ms: 100.0,
        created_by: None,
        enforcement: sentinel_api::Enforcement::Enforce,
    }
}

/// A minimal violation of `policy_id` for direct store inserts.
pub fn new_violation(
    policy_id: i64,
    violation_type: sentinel_api::ViolationType,
    severity: sentinel_api::Severity,
) -> sentinel_store::NewViolation {
    sentinel_store::NewViolation {
        violation_type,
        severity,
        title: Some(format!("{violation_type} ({severity})")),
        description: None,
        details: None,
        confidence_score: 0.9,
        policy_id,
        legal_advice_score: None,
        controversial_topics_score: None,
        code_prompt_score: None,
        safe_prompt_score: None,
        findings: Vec::new(),
        policy_version: None,
        shadow: false,
    }
}
