//! The policy lifecycle (issue 13): shadow policies, which are evaluated and recorded but never
//! act, on every ingestion path; versions, their diff and rollback; and promotion.

use sentinel_api::policy::{DiffLine, DiffOp, PolicyCreate, PolicyResponse, PolicyUpdate};
use sentinel_api::{Decision, Enforcement, InterventionType, Patch, PolicyCategory, PolicyStatus};
use serde_json::{Value, json};

use crate::client::{event_create, guard_request, policy_create, policy_status};
use crate::helpers::{TestApp, spawn_app, total_count};

/// An open policy with `definition`, `action` and `enforcement`; blocking ones carry a message.
async fn open_policy(
    app: &TestApp,
    name: &str,
    definition: &str,
    action: InterventionType,
    enforcement: Enforcement,
) -> PolicyResponse {
    let body = PolicyCreate {
        definition: definition.into(),
        intervention_type: action,
        intervention_config: Some(r#"{"block_message": "Blocked by policy"}"#.into()),
        enforcement,
        ..policy_create(name, PolicyCategory::Governance)
    };
    app.enforced_policy(&body).await
}

/// A shadow policy that would block anything saying "forbidden", and one that would redact
/// e-mail addresses.
async fn shadow_policies(app: &TestApp) -> (PolicyResponse, PolicyResponse) {
    let block = open_policy(
        app,
        "shadow block",
        r#"request.prompt contains "forbidden""#,
        InterventionType::Block,
        Enforcement::Shadow,
    )
    .await;
    let redact = open_policy(
        app,
        "shadow redact",
        "request.prompt has sentinelai.pii(email)",
        InterventionType::Redact,
        Enforcement::Shadow,
    )
    .await;
    assert_eq!(block.enforcement, Enforcement::Shadow);
    (block, redact)
}

const TEXT: &str = "this is forbidden: write to jane.doe@example.com";

/// The shadow violations an event recorded, as (policy id, shadow flag, version).
async fn shadow_of(app: &TestApp, event_id: i64) -> Vec<(i64, bool, Option<i64>)> {
    let listed = app
        .event_violations_with(event_id, "?shadow=only")
        .await
        .unwrap();
    let mut out: Vec<_> = listed
        .iter()
        .map(|v| (v.policy_id.unwrap(), v.shadow, v.policy_version))
        .collect();
    out.sort_unstable();
    out
}

#[tokio::test]
async fn a_shadow_policy_that_blocks_never_blocks_on_any_ingestion_path() {
    let app = spawn_app().await;
    let (block, redact) = shadow_policies(&app).await;
    let expected = vec![
        (block.id, true, Some(block.version)),
        (redact.id, true, Some(redact.version)),
    ];

    // The guard: allowed, untouched, no block message; the shadow hits are listed apart.
    let answer = app.guard(&guard_request(TEXT)).await.unwrap();
    assert_eq!(answer.decision, Decision::Allow);
    assert_eq!(answer.text, TEXT);
    assert_eq!(answer.block_message, None);
    assert!(answer.violations.is_empty());
    assert!(answer.findings.is_empty());
    let shadow: Vec<(i64, InterventionType)> = answer
        .shadow_violations
        .iter()
        .map(|v| (v.policy_id, v.action))
        .collect();
    assert_eq!(
        shadow,
        [
            (block.id, InterventionType::Block),
            (redact.id, InterventionType::Redact)
        ]
    );
    assert!(
        answer
            .shadow_violations
            .iter()
            .all(|v| v.violation_id.is_some())
    );
    let guard_event = answer.event_id.unwrap();
    assert_eq!(shadow_of(&app, guard_event).await, expected);
    let event = app.get_event(guard_event).await.unwrap();
    assert_eq!(event.decision, Some(Decision::Allow));
    assert_eq!(event.severity, sentinel_api::Severity::Low);

    // `/api/events/`: the event is stored as sent and allowed.
    let mut body = event_create("shadow-1");
    body.prompt = Some(TEXT.into());
    let event = app.post_event(&body).await.unwrap();
    assert_eq!(event.decision, Some(Decision::Allow));
    assert_eq!(event.prompt.as_deref(), Some(TEXT));
    assert_eq!(shadow_of(&app, event.id).await, expected);

    // The batch route, every item.
    let bodies: Vec<_> = (0..3)
        .map(|i| {
            let mut body = event_create(&format!("shadow-batch-{i}"));
            body.prompt = Some(TEXT.into());
            body
        })
        .collect();
    let events = app.post_events(&bodies).await.unwrap();
    for event in &events {
        assert_eq!(event.decision, Some(Decision::Allow));
        assert_eq!(event.prompt.as_deref(), Some(TEXT));
        assert_eq!(shadow_of(&app, event.id).await, expected);
    }

    // The same text, once the block policy is enforced, is blocked: the shadow mode was what
    // held it back.
    app.promote_policy(block.id).await.unwrap();
    let answer = app.guard(&guard_request(TEXT)).await.unwrap();
    assert_eq!(answer.decision, Decision::Block);
    assert_eq!(answer.block_message.as_deref(), Some("Blocked by policy"));
    assert_eq!(answer.shadow_violations.len(), 1);
    assert!(app.store.counter_drift().await.unwrap().is_empty());
}

#[tokio::test]
async fn enforced_and_shadow_hits_are_reported_apart() {
    let app = spawn_app().await;
    let (block, _) = shadow_policies(&app).await;
    let notify = open_policy(
        &app,
        "enforced notify",
        "request.prompt has sentinelai.pii(email)",
        InterventionType::Notification,
        Enforcement::Enforce,
    )
    .await;
    let answer = app.guard(&guard_request(TEXT)).await.unwrap();
    assert_eq!(answer.decision, Decision::Notify);
    let enforced: Vec<i64> = answer.violations.iter().map(|v| v.policy_id).collect();
    assert_eq!(enforced, [notify.id]);
    assert_eq!(answer.shadow_violations.len(), 2);
    assert_eq!(answer.shadow_violations[0].policy_id, block.id);
    // The findings are the enforced policy's only.
    assert!(answer.findings.iter().all(|f| f.detector.contains("pii")));
    // Not recorded: the shadow hits are still listed.
    let mut unrecorded = guard_request(TEXT);
    unrecorded.record = false;
    let answer = app.guard(&unrecorded).await.unwrap();
    assert_eq!(answer.shadow_violations.len(), 2);
    assert!(
        answer
            .shadow_violations
            .iter()
            .all(|v| v.violation_id.is_none())
    );
}

#[tokio::test]
async fn legacy_lists_and_stats_leave_shadow_violations_out_unless_asked() {
    let app = spawn_app().await;
    let before_stats = app.violation_stats().await;
    let before_dashboard = app.dashboard_stats().await;
    shadow_policies(&app).await;
    let mut body = event_create("quiet");
    body.prompt = Some(TEXT.into());
    let event = app.post_event(&body).await.unwrap();

    // Exactly what they showed before.
    let (total, listed) = app.list_violations("").await;
    assert_eq!((total, listed.len()), (0, 0));
    assert!(app.event_violations(event.id).await.unwrap().is_empty());
    let stats = app.violation_stats().await;
    assert_eq!(
        serde_json::to_value(&stats).unwrap(),
        serde_json::to_value(&before_stats).unwrap()
    );
    let dashboard = app.dashboard_stats().await;
    assert_eq!(dashboard.open_violations, before_dashboard.open_violations);
    assert_eq!(
        dashboard.critical_violations,
        before_dashboard.critical_violations
    );
    let by_category: Vec<Value> = app.get_ok("/api/dashboard/violations/by-category").await;
    assert!(by_category.is_empty(), "{by_category:?}");
    let activity: Vec<Value> = app.get_ok("/api/dashboard/recent-activity").await;
    assert!(
        activity.iter().all(|a| a["type"] == "event"),
        "{activity:?}"
    );

    // Asked for, they are there, marked, with the version that raised them.
    let (total, listed) = app.list_violations("?shadow=include").await;
    assert_eq!((total, listed.len()), (2, 2));
    assert!(
        listed
            .iter()
            .all(|v| v.shadow && v.policy_version == Some(2))
    );
    let (total, _) = app.list_violations("?shadow=only&severity=medium").await;
    assert_eq!(total, 2);
    let (total, _) = app.list_violations("?shadow=only&limit=1").await;
    assert_eq!(total, 2);
    let (total, _) = app.list_violations("?shadow=exclude").await;
    assert_eq!(total, 0);
    let raw = app.get(&format!("/api/violations/{}", listed[0].id)).await;
    let raw: Value = raw.json().await.unwrap();
    assert_eq!(raw["shadow"], true);
    let details: Value = serde_json::from_str(raw["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["shadow"], true);
    assert_eq!(details["decision"], "allow");

    let only: Value = app
        .get_ok("/api/violations/stats/summary?shadow=only")
        .await;
    assert_eq!(only["total_violations"], 2);
    assert_eq!(only["open_violations"], 2);
    let include: Value = app
        .get_ok("/api/violations/stats/summary?shadow=include")
        .await;
    assert_eq!(include["total_violations"], 2);
    app.get_err("/api/violations/stats/summary?shadow=all")
        .await
        .assert_invalid_at(&["query", "shadow"]);

    // Triage of a shadow violation leaves the legacy counters alone.
    let resolved = crate::client::violation_triage(sentinel_api::ViolationStatus::Resolved, None);
    app.update_violation(listed[0].id, &resolved).await.unwrap();
    assert!(app.store.counter_drift().await.unwrap().is_empty());

    // A bad filter value is a 422 at the query parameter.
    app.assert_invalid_queries(
        "/api/violations/",
        &[("shadow=sometimes", "shadow"), ("shadow=1", "shadow")],
    )
    .await;
    let err = app
        .event_violations_with(event.id, "?shadow=maybe")
        .await
        .unwrap_err();
    err.assert_invalid_at(&["query", "shadow"]);
}

#[tokio::test]
async fn the_dashboard_counts_what_shadow_policies_would_have_done_and_promotes_them() {
    let app = spawn_app().await;
    let (block, redact) = shadow_policies(&app).await;
    let enforced = open_policy(
        &app,
        "enforced",
        r#"request.prompt contains "zzz""#,
        InterventionType::Block,
        Enforcement::Enforce,
    )
    .await;
    for _ in 0..2 {
        app.guard(&guard_request("forbidden words")).await.unwrap();
    }
    app.guard(&guard_request("mail jane.doe@example.com"))
        .await
        .unwrap();
    let summary = app.shadow_summary().await;
    let counts: Vec<(i64, u64, u64, u64, u64)> = summary
        .iter()
        .map(|s| {
            (
                s.policy_id,
                s.would_notify,
                s.would_redact,
                s.would_block,
                s.total,
            )
        })
        .collect();
    assert_eq!(counts, [(block.id, 0, 0, 2, 2), (redact.id, 0, 1, 0, 1)]);
    assert!(!summary.iter().any(|s| s.policy_id == enforced.id));
    assert_eq!(summary[0].name, "shadow block");
    let (total, listed) = app.list_policies("?enforcement=shadow").await;
    let ids: Vec<i64> = listed.iter().map(|p| p.id).collect();
    assert_eq!((total, ids), (2, vec![block.id, redact.id]));
    app.assert_invalid_queries("/api/policies/", &[("enforcement=loud", "enforcement")])
        .await;

    // An enforced policy cannot be promoted; an unknown one is a 404.
    app.promote_policy(enforced.id)
        .await
        .unwrap_err()
        .assert_is(409, "policy_not_shadow");
    app.promote_policy(999_999)
        .await
        .unwrap_err()
        .assert_exactly(404, "policy_not_found", "Policy not found");

    // Promotion: enforced, open, one new version, audited.
    let promoted = app.promote_policy(block.id).await.unwrap();
    assert_eq!(promoted.enforcement, Enforcement::Enforce);
    assert_eq!(promoted.status, PolicyStatus::Open);
    assert_eq!(promoted.version, block.version + 1);
    let (_, versions) = app.policy_versions(block.id, "").await;
    assert_eq!(versions[0].changed, ["enforcement"]);
    assert_eq!(versions[0].author.as_deref(), Some("user:root"));
    let audit = app.audit("?action=policy.promote").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].target_id.as_deref(),
        Some(block.id.to_string().as_str())
    );
    assert_eq!(audit[0].after.as_ref().unwrap()["enforcement"], "enforce");
    let summary = app.shadow_summary().await;
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].policy_id, redact.id);
    let answer = app.guard(&guard_request("forbidden")).await.unwrap();
    assert_eq!(answer.decision, Decision::Block);

    // A shadow draft whose definition does not compile cannot be promoted to enforcement.
    let broken = PolicyCreate {
        definition: "request.prompt has sentinelai.nope".into(),
        enforcement: Enforcement::Shadow,
        ..policy_create("broken", PolicyCategory::Governance)
    };
    let broken = app.post_policy(&broken).await.unwrap();
    app.promote_policy(broken.id)
        .await
        .unwrap_err()
        .assert_invalid_at(&["body", "definition"]);
    let after = app.get_policy(broken.id).await.unwrap();
    assert_eq!((after.version, after.enforcement), (1, Enforcement::Shadow));
}

#[tokio::test]
async fn every_versioned_change_is_a_version_and_a_rollback_is_a_new_one() {
    let app = spawn_app().await;
    let me = app.me(&app.token).await.unwrap();
    let created = app
        .post_policy(&policy_create("versioned", PolicyCategory::Privacy))
        .await
        .unwrap();
    let id = created.id;
    assert_eq!(
        (created.version, created.enforcement),
        (1, Enforcement::Enforce)
    );
    let (total, versions) = app.policy_versions(id, "").await;
    assert_eq!(total, 1);
    let v1 = &versions[0];
    assert_eq!((v1.version, v1.changed.len()), (1, 0));
    assert_eq!(v1.author.as_deref(), Some("user:root"));
    assert_eq!(v1.author_id, Some(me.id));
    assert_eq!(v1.definition, created.definition);

    // A change to the definition and the intervention: version 2, listing both.
    let change = PolicyUpdate {
        definition: Patch::Value("request.prompt has sentinelai.pii(email, phone)".into()),
        intervention_type: Patch::Value(InterventionType::Redact),
        ..PolicyUpdate::default()
    };
    let updated = app.update_policy(id, &change).await.unwrap();
    assert_eq!(updated.version, 2);
    let v2 = app.policy_version(id, 2).await.unwrap();
    assert_eq!(v2.changed, ["definition", "intervention_type"]);
    assert_eq!(v2.intervention_type, InterventionType::Redact);

    // A change to nothing versioned (a rename, the same definition again): no version.
    let noop = PolicyUpdate {
        name: Patch::Value("renamed".into()),
        definition: Patch::Value(updated.definition.clone()),
        ..PolicyUpdate::default()
    };
    assert_eq!(app.update_policy(id, &noop).await.unwrap().version, 2);
    let (total, _) = app.policy_versions(id, "").await;
    assert_eq!(total, 2);

    // Shadow mode and the status are versioned too.
    let shadow = PolicyUpdate {
        enforcement: Patch::Value(Enforcement::Shadow),
        ..policy_status(PolicyStatus::Open)
    };
    let shadowed = app.update_policy(id, &shadow).await.unwrap();
    assert_eq!(
        (shadowed.version, shadowed.enforcement),
        (3, Enforcement::Shadow)
    );
    assert_eq!(
        app.policy_version(id, 3).await.unwrap().changed,
        ["status", "enforcement"]
    );

    // Rollback to version 1: a new version 4 with version 1's settings; the status stays.
    let rolled = app.rollback_policy(id, 1).await.unwrap();
    assert_eq!(rolled.version, 4);
    assert_eq!(rolled.definition, v1.definition);
    assert_eq!(rolled.intervention_type, v1.intervention_type);
    assert_eq!(rolled.enforcement, Enforcement::Enforce);
    assert_eq!(rolled.status, PolicyStatus::Open);
    let v4 = app.policy_version(id, 4).await.unwrap();
    assert_eq!(v4.rollback_of, Some(1));
    assert_eq!(
        v4.changed,
        ["definition", "intervention_type", "enforcement"]
    );
    assert_eq!(v4.definition, v1.definition);
    // History is untouched, newest first, paginated.
    assert_eq!(app.policy_version(id, 2).await.unwrap(), v2);
    let res = app
        .get(&format!("/api/policies/{id}/versions?skip=1&limit=2"))
        .await;
    assert_eq!(total_count(&res), 4);
    let page: Vec<Value> = res.json().await.unwrap();
    let numbers: Vec<i64> = page
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2]);

    // Violations record the version that raised them.
    let mut body = event_create("versioned-1");
    body.prompt = Some("mail jane.doe@example.com".into());
    let event = app.post_event(&body).await.unwrap();
    let raised = app.event_violations(event.id).await.unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(
        (raised[0].policy_version, raised[0].shadow),
        (Some(4), false)
    );

    // The diff: field by field, and the definition line by line.
    let diff = app.policy_diff(id, 1, 2).await.unwrap();
    let fields: Vec<&str> = diff.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["definition", "intervention_type"]);
    assert_eq!(diff.fields[1].from, json!("notification"));
    assert_eq!(diff.fields[1].to, json!("redact"));
    assert_eq!(
        diff.definition_diff,
        [
            DiffLine {
                op: DiffOp::Delete,
                line: v1.definition.clone()
            },
            DiffLine {
                op: DiffOp::Insert,
                line: v2.definition.clone()
            },
        ]
    );
    // Version 4 has version 1's settings, under the later name and status.
    let same = app.policy_diff(id, 1, 4).await.unwrap();
    let fields: Vec<&str> = same.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["name", "status"]);
    assert!(same.definition_diff.is_empty());

    // Every version, the rollback included, is in the audit trail.
    let created_versions = app.audit("?action=policy.version.create").await;
    assert_eq!(created_versions.len(), 4);
    assert_eq!(created_versions[0].after.as_ref().unwrap()["version"], 4);
    let rollbacks = app.audit("?action=policy.rollback").await;
    assert_eq!(rollbacks.len(), 1);
    assert_eq!(rollbacks[0].before.as_ref().unwrap()["version"], 3);
}

#[tokio::test]
async fn unknown_versions_and_bad_numbers_are_refused_with_their_reason() {
    let app = spawn_app().await;
    let created = app
        .post_policy(&policy_create("p", PolicyCategory::Privacy))
        .await
        .unwrap();
    let id = created.id;
    app.policy_version(id, 9).await.unwrap_err().assert_exactly(
        404,
        "policy_version_not_found",
        &format!("Policy {id} has no version 9; its versions are 1 to 1"),
    );
    app.policy_diff(id, 1, 7)
        .await
        .unwrap_err()
        .assert_is(404, "policy_version_not_found");
    app.rollback_policy(id, 5)
        .await
        .unwrap_err()
        .assert_is(404, "policy_version_not_found");
    app.get_err("/api/policies/999999/versions")
        .await
        .assert_exactly(404, "policy_not_found", "Policy not found");
    app.policy_version(999_999, 1)
        .await
        .unwrap_err()
        .assert_exactly(404, "policy_not_found", "Policy not found");
    app.policy_version(id, 0)
        .await
        .unwrap_err()
        .assert_invalid_at(&["path", "version"]);
    app.policy_diff(id, -1, 1)
        .await
        .unwrap_err()
        .assert_invalid_at(&["path", "from"]);
    app.get_err(&format!("/api/policies/{id}/versions/abc"))
        .await
        .assert_invalid_at(&["path", "version"]);
    app.get_err(&format!("/api/policies/{id}/versions/1/diff/x"))
        .await
        .assert_invalid_at(&["path", "to"]);
    app.assert_invalid_queries(
        &format!("/api/policies/{id}/versions"),
        &[("limit=5000", "limit")],
    )
    .await;
    // A deleted policy's versions leave the API with it.
    app.delete_policy(id).await.unwrap();
    app.policy_version(id, 1)
        .await
        .unwrap_err()
        .assert_is(404, "policy_not_found");

    // `enforcement` is validated like every enum, and may not be nulled.
    let bad = json!({"name": "n", "definition": "request.prompt contains \"x\"",
                     "category": "privacy", "enforcement": "loud"});
    let res = app.post("/api/policies/", &bad).await;
    assert_eq!(res.status(), 422);
    let other = app
        .post_policy(&policy_create("q", PolicyCategory::Privacy))
        .await
        .unwrap();
    let res = app
        .put(
            &format!("/api/policies/{}", other.id),
            &json!({"enforcement": null}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"][0]["loc"], json!(["body", "enforcement"]));
    // Rolling an enforced policy back to a definition that does not compile is refused, and
    // leaves it as it was.
    let broken = PolicyUpdate {
        definition: Patch::Value("request.prompt has sentinelai.nope".into()),
        ..PolicyUpdate::default()
    };
    app.update_policy(other.id, &broken).await.unwrap();
    let fixed = PolicyUpdate {
        definition: Patch::Value("request.prompt contains \"x\"".into()),
        ..policy_status(PolicyStatus::Open)
    };
    app.update_policy(other.id, &fixed).await.unwrap();
    app.rollback_policy(other.id, 2)
        .await
        .unwrap_err()
        .assert_invalid_at(&["body", "definition"]);
    let (total, _) = app.policy_versions(other.id, "").await;
    assert_eq!(total, 3);
}

/// Through the gateway, a shadow policy that would block the prompt (or the answer) lets the
/// call through untouched, and the call's event records what it would have done.
#[tokio::test]
async fn the_gateway_records_shadow_hits_and_never_acts_on_them() {
    let g = crate::gateway::gateway().await;
    g.upstream.script(|s| {
        s.answer = "the vault code is forbidden knowledge".into();
    });
    let prompt_block = open_policy(
        &g.app,
        "shadow prompt block",
        r#"request.prompt contains "Forbidden City""#,
        InterventionType::Block,
        Enforcement::Shadow,
    )
    .await;
    let answer_block = open_policy(
        &g.app,
        "shadow answer block",
        r#"response.completion contains "vault code""#,
        InterventionType::Block,
        Enforcement::Shadow,
    )
    .await;
    let body = json!({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "Please summarise the history of the Forbidden City in Beijing."},
    ]});
    let res = g
        .app
        .client_with_token(&g.key)
        .post(g.app.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "the vault code is forbidden knowledge"
    );
    // The upstream read the prompt as sent.
    let received = g.upstream.received();
    assert_eq!(
        received.last().unwrap()["messages"][0]["content"],
        "Please summarise the history of the Forbidden City in Beijing."
    );
    // The call's event: allowed, with the two shadow violations only.
    let (_, events) = g.app.list_events("").await;
    let event = events.first().unwrap();
    assert_eq!(event.decision, Some(Decision::Allow));
    assert!(g.app.event_violations(event.id).await.unwrap().is_empty());
    let mut shadow: Vec<(i64, bool)> = g
        .app
        .event_violations_with(event.id, "?shadow=only")
        .await
        .unwrap()
        .iter()
        .map(|v| (v.policy_id.unwrap(), v.shadow))
        .collect();
    shadow.sort_unstable();
    assert_eq!(shadow, [(prompt_block.id, true), (answer_block.id, true)]);
    let metadata = event.metadata.as_ref().unwrap();
    let mut listed: Vec<i64> = serde_json::from_value(metadata["shadow_policies"].clone()).unwrap();
    listed.sort_unstable();
    assert_eq!(listed, [prompt_block.id, answer_block.id]);
    assert!(g.app.store.counter_drift().await.unwrap().is_empty());
}

/// A version that cannot be written fails its change: the policy, its versions and the audit
/// trail stay as they were (one transaction).
#[tokio::test]
async fn a_version_that_cannot_be_written_leaves_the_policy_as_it_was() {
    use sea_orm::{ConnectionTrait, Database};
    let app = spawn_app().await;
    let created = app
        .post_policy(&policy_create("atomic", PolicyCategory::Privacy))
        .await
        .unwrap();
    let id = created.id;
    // Take version 2's number behind the store's back.
    let db = Database::connect(app.url.as_str()).await.unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO policy_versions (policy_id, version, created_at, changed, name, definition, \
         category, status, severity, performance_mode, intervention_type, enforcement) \
         SELECT id, 2, created_at, '[]', name, definition, category, status, severity, \
         performance_mode, intervention_type, enforcement FROM policies WHERE id = {id}"
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    let audit_before = app.audit("?limit=1000").await;
    let change = PolicyUpdate {
        definition: Patch::Value("request.prompt contains \"other\"".into()),
        ..PolicyUpdate::default()
    };
    let err = app.update_policy(id, &change).await.unwrap_err();
    assert_eq!(err.status, 409, "{}", err.body);
    let now = app.get_policy(id).await.unwrap();
    assert_eq!((now.version, &now.definition), (1, &created.definition));
    assert_eq!(app.audit("?limit=1000").await.len(), audit_before.len());
    // A change that writes no version still goes through.
    let rename = PolicyUpdate {
        name: Patch::Value("renamed".into()),
        ..PolicyUpdate::default()
    };
    let renamed = app.update_policy(id, &rename).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.version), ("renamed", 1));
}
