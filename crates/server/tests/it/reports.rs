//! `/api/reports/*`: the numbers of a report equal counts made here from the stored rows, a
//! tampered audit trail fails the integrity section, and bad input is a 422 that says why.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use sentinel_api::{
    Enforcement, PolicyStatus, Severity, Timestamp, ViolationStatus, ViolationType,
};
use sentinel_server::Settings;
use sentinel_store::{AuditContext, SeedEvent, SeedViolation};
use serde_json::{Value, json};

use crate::client::expect_status;
use crate::helpers::{TestApp, new_event, new_policy, new_violation, spawn_app, spawn_app_with};

async fn connect(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.url.as_str()).await.unwrap()
}

/// One stored violation joined to its event, read straight from the tables.
#[derive(Debug)]
struct Row {
    id: i64,
    violation_type: String,
    severity: String,
    status: String,
    policy_id: i64,
    shadow: bool,
    created_at: DateTime<Utc>,
    acknowledged_date: Option<DateTime<Utc>>,
    source: Option<String>,
    model: Option<String>,
}

async fn violation_rows(db: &DatabaseConnection) -> Vec<Row> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT v.id, v.violation_type, v.severity, v.status, v.policy_id, v.shadow, \
             v.created_at, v.acknowledged_date, e.source, e.model_name \
             FROM violations v JOIN events e ON e.id = v.event_id",
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| Row {
            id: r.try_get("", "id").unwrap(),
            violation_type: r.try_get("", "violation_type").unwrap(),
            severity: r.try_get("", "severity").unwrap(),
            status: r.try_get("", "status").unwrap(),
            policy_id: r.try_get("", "policy_id").unwrap(),
            shadow: r.try_get("", "shadow").unwrap(),
            created_at: r.try_get("", "created_at").unwrap(),
            acknowledged_date: r.try_get("", "acknowledged_date").unwrap(),
            source: r.try_get("", "source").unwrap(),
            model: r.try_get("", "model_name").unwrap(),
        })
        .collect()
}

async fn event_dates(db: &DatabaseConnection) -> Vec<DateTime<Utc>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT trigger_date FROM events",
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| r.try_get("", "trigger_date").unwrap())
        .collect()
}

const TYPES: [ViolationType; 3] = [
    ViolationType::DataLeak,
    ViolationType::PromptInjection,
    ViolationType::ContentViolation,
];
const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];
const STATUSES: [ViolationStatus; 3] = [
    ViolationStatus::Detected,
    ViolationStatus::Investigating,
    ViolationStatus::Acknowledged,
];

/// Policies (an enforced PII one, an enforced injection one, a shadow one) and events with
/// violations spread over the period `[now - 10 d, now + 1 h)` and the one before it. Returns
/// the policy ids and the period's ends.
async fn seed(app: &TestApp) -> ([i64; 3], DateTime<Utc>, DateTime<Utc>) {
    let ctx = AuditContext::system();
    let mut pii = new_policy("PII watch");
    pii.status = PolicyStatus::Open;
    let pii = app.store.create_policy(&ctx, pii).await.unwrap().id;
    let mut injection = new_policy("Injection watch");
    injection.status = PolicyStatus::Open;
    injection.definition = "request.prompt has sentinelai.prompt_injection".into();
    let injection = app.store.create_policy(&ctx, injection).await.unwrap().id;
    let mut shadow = new_policy("Secrets trial");
    shadow.status = PolicyStatus::Open;
    shadow.enforcement = Enforcement::Shadow;
    shadow.definition = "any.text has sentinelai.secrets".into();
    let shadow = app.store.create_policy(&ctx, shadow).await.unwrap().id;

    let now = Utc::now();
    let since = now - Duration::days(10);
    let until = now + Duration::hours(1);
    let mut batch = Vec::new();
    for i in 0..90_i64 {
        // Two thirds in the period, one third in the previous one, a few before both.
        let at = match i % 3 {
            0 | 1 => since + Duration::minutes(37 * i + 5),
            _ => since - Duration::days(9) + Duration::minutes(41 * i),
        };
        let at = if i % 29 == 0 {
            since - Duration::days(30)
        } else {
            at
        };
        let mut event = new_event(&format!("r-{i}"), at);
        event.source = match i % 4 {
            0 => Some("SupportBot".into()),
            1 => Some("Billing".into()),
            2 => Some("=HYPERLINK(\"x\")".into()),
            _ => None,
        };
        event.model_name =
            (i % 5 != 0).then(|| if i % 2 == 0 { "gpt-4o" } else { "claude-x" }.into());
        let mut violations = Vec::new();
        for k in 0..(1 + i % 2) as usize {
            let policy = [pii, injection, shadow][(i as usize / 2 + k) % 3];
            let mut v = new_violation(
                policy,
                TYPES[(i as usize + k) % 3],
                SEVERITIES[(i as usize * 7 + k) % 4],
            );
            v.shadow = policy == shadow;
            violations.push(SeedViolation {
                violation: v,
                status: STATUSES[(i as usize + 2 * k) % 3],
            });
        }
        batch.push(SeedEvent { event, violations });
    }
    app.store.seed_events(batch).await.unwrap();
    ([pii, injection, shadow], since, until)
}

fn query(framework: &str, since: DateTime<Utc>, until: DateTime<Utc>) -> String {
    format!(
        "/api/reports/compliance?framework={framework}&since={}&until={}",
        Timestamp(since),
        Timestamp(until)
    )
}

fn trend_map(rows: &Value) -> BTreeMap<String, (u64, u64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                (
                    r["count"].as_u64().unwrap(),
                    r["previous"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn count_by(
    rows: &[Row],
    current: impl Fn(&Row) -> bool,
    previous: impl Fn(&Row) -> bool,
    key: impl Fn(&Row) -> String,
) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.shadow) {
        if current(r) {
            out.entry(key(r)).or_default().0 += 1;
        } else if previous(r) {
            out.entry(key(r)).or_default().1 += 1;
        }
    }
    out
}

#[tokio::test]
async fn report_numbers_equal_counts_of_the_stored_rows() {
    let app = spawn_app().await;
    let ([pii, injection, shadow], since, until) = seed(&app).await;
    let db = connect(&app).await;

    // Triage through the API: some acknowledged, resolved and closed as false positives.
    let before = violation_rows(&db).await;
    let mut in_period: Vec<&Row> = before
        .iter()
        .filter(|r| !r.shadow && r.created_at >= since && r.created_at < until)
        .collect();
    in_period.sort_by_key(|r| r.id);
    let outcomes = [
        ("acknowledged", true),
        ("resolved", true),
        ("false_positive", true),
        ("resolved", false),
        ("false_positive", true),
        ("investigating", false),
    ];
    for (r, (status, ack)) in in_period.iter().zip(outcomes) {
        let mut body = json!({ "status": status });
        if ack {
            body["acknowledged_by"] = json!(1);
        }
        expect_status(
            app.put(&format!("/api/violations/{}", r.id), &body).await,
            200,
        )
        .await;
    }

    let report: Value = app.get_ok(&query("owasp-llm-2025", since, until)).await;
    let rows = violation_rows(&db).await;
    let len = until - since;
    let cur = |r: &Row| r.created_at >= since && r.created_at < until;
    let prev = |r: &Row| r.created_at >= since - len && r.created_at < since;

    // Incidents: totals, per dimension, against the previous period.
    let inc = &report["incidents"];
    let total = rows.iter().filter(|r| !r.shadow && cur(r)).count() as u64;
    let previous_total = rows.iter().filter(|r| !r.shadow && prev(r)).count() as u64;
    assert!(total > 10 && previous_total > 5, "{total} {previous_total}");
    assert_eq!(inc["total"], total);
    assert_eq!(inc["previous_total"], previous_total);
    assert_eq!(
        inc["shadow_hits"],
        rows.iter().filter(|r| r.shadow && cur(r)).count() as u64
    );
    assert_eq!(
        trend_map(&inc["by_category"]),
        count_by(&rows, cur, prev, |r| r.violation_type.clone())
    );
    assert_eq!(
        trend_map(&inc["by_severity"]),
        count_by(&rows, cur, prev, |r| r.severity.clone())
    );
    let none = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".into());
    assert_eq!(
        trend_map(&inc["by_app"]),
        count_by(&rows, cur, prev, |r| none(&r.source))
    );
    assert_eq!(
        trend_map(&inc["by_model"]),
        count_by(&rows, cur, prev, |r| none(&r.model))
    );
    let dates = event_dates(&db).await;
    let events_in = |a: DateTime<Utc>, b: DateTime<Utc>| {
        dates.iter().filter(|d| **d >= a && **d < b).count() as u64
    };
    assert_eq!(inc["events"], events_in(since, until));
    assert_eq!(inc["previous_events"], events_in(since - len, since));

    // Triage performance.
    let t = &report["triage"];
    let status_count = |s: &str| {
        rows.iter()
            .filter(|r| !r.shadow && cur(r) && r.status == s)
            .count() as u64
    };
    assert_eq!(t["violations"], total);
    assert_eq!(t["resolved"], status_count("resolved"));
    assert_eq!(t["false_positives"], status_count("false_positive"));
    assert_eq!(t["acknowledged"], status_count("acknowledged"));
    assert_eq!(
        t["open"],
        status_count("detected") + status_count("investigating")
    );
    assert_eq!(
        t["time_to_acknowledge"]["count"],
        rows.iter()
            .filter(|r| !r.shadow && cur(r) && r.acknowledged_date.is_some())
            .count() as u64
    );
    // Closed by an update: the two resolved, the two false positives.
    assert_eq!(t["time_to_resolve"]["count"], 4);
    assert!(t["time_to_resolve"]["median_seconds"].as_f64().unwrap() > 0.0);
    for policy in [pii, injection] {
        let of = |s: &str| {
            rows.iter()
                .filter(|r| {
                    !r.shadow && cur(r) && r.policy_id == policy && (s.is_empty() || r.status == s)
                })
                .count() as u64
        };
        let row = t["by_policy"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == json!(policy.to_string()))
            .unwrap();
        assert_eq!(row["violations"], of(""));
        let triaged = of("resolved") + of("false_positive");
        assert_eq!(row["triaged"], triaged);
        assert_eq!(row["false_positives"], of("false_positive"));
        match row["false_positive_rate"].as_f64() {
            Some(rate) => {
                let expected = of("false_positive") as f64 / triaged as f64;
                assert!((rate - expected).abs() < 1e-4, "{rate} {expected}");
            }
            None => assert_eq!(triaged, 0),
        }
    }
    // The PII policy's counts are the `pii` detector's.
    let pii_detector = t["by_detector"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "pii")
        .unwrap();
    let pii_row = t["by_policy"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == json!(pii.to_string()))
        .unwrap();
    assert_eq!(pii_detector["violations"], pii_row["violations"]);

    // Human oversight: the six changes above, all by root, each in the audit trail.
    let audit: Vec<Value> = app
        .get_ok("/api/audit/?action=violation.update&limit=1000")
        .await;
    let o = &report["oversight"];
    assert_eq!(o["actions"], audit.len() as u64);
    assert_eq!(o["actions"], 6);
    let reviewer = &o["reviewers"][0];
    assert_eq!(reviewer["actor"], "user:root");
    assert_eq!(reviewer["violations"], 6);
    assert_eq!(reviewer["resolved"], 2);
    assert_eq!(reviewer["false_positives"], 2);
    assert_eq!(o["violations_with_reviewer"], 4);

    // Coverage: the enforced PII policy addresses LLM02, the shadow one only in shadow; the
    // supply chain has no run-time evidence.
    let controls = report["coverage"]["controls"].as_array().unwrap();
    let control = |id: &str| controls.iter().find(|c| c["id"] == id).unwrap();
    let llm02 = control("LLM02:2025");
    assert_eq!(llm02["status"], "covered");
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&llm02["enforced_policies"]), [pii]);
    assert_eq!(ids(&llm02["shadow_policies"]), [shadow]);
    assert_eq!(
        ids(&control("LLM01:2025")["enforced_policies"]),
        [injection]
    );
    assert_eq!(control("LLM03:2025")["status"], "gap");
    assert_eq!(control("LLM10:2025")["status"], "gap");
    let gaps: Vec<&str> = report["coverage"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(gaps.contains(&"LLM03:2025") && !gaps.contains(&"LLM02:2025"));
    assert_eq!(
        report["coverage"]["covered"].as_u64().unwrap() as usize + gaps.len(),
        controls.len()
    );

    // Retention (unset keeps everything) and integrity (the live chain's head).
    assert_eq!(report["retention"]["compliant"], true);
    assert_eq!(report["retention"]["warning"], Value::Null);
    let verify: Value = app.get_ok("/api/audit/verify").await;
    assert_eq!(report["integrity"], verify);
    assert_eq!(report["framework"]["edition"], "2025");

    // The EU AI Act view of the same period: logs, oversight and retention evidenced.
    let eu: Value = app.get_ok(&query("eu-ai-act", since, until)).await;
    for c in eu["coverage"]["controls"].as_array().unwrap() {
        assert_eq!(c["status"], "covered", "{c}");
    }
    // CSV: every table, a formula-looking application name neutralised.
    let res = app
        .get(&format!(
            "{}&format=csv",
            query("nist-ai-rmf", since, until)
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    for table in [
        "# coverage",
        "# incidents_by_app",
        "# false_positives_by_detector",
        "# integrity",
    ] {
        assert!(csv.contains(table), "{table} missing");
    }
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
    let res = app
        .get(&query("nist-ai-rmf", since, until).replace("compliance?", "compliance.csv?"))
        .await;
    assert_eq!(res.status(), 200);
    // The CSV holds no time of its making: the same state renders the same text.
    assert_eq!(res.text().await.unwrap(), csv);
}

#[tokio::test]
async fn a_tampered_audit_trail_fails_the_integrity_section() {
    let app = spawn_app().await;
    let (_, since, until) = seed(&app).await;
    let db = connect(&app).await;
    let id = violation_rows(&db).await[0].id;
    let body = json!({"status": "resolved", "acknowledged_by": 1});
    expect_status(app.put(&format!("/api/violations/{id}"), &body).await, 200).await;
    db.execute_unprepared(
        "UPDATE audit_log SET actor = 'user:someone-else' WHERE action = 'violation.update'",
    )
    .await
    .unwrap();
    let report: Value = app.get_ok(&query("eu-ai-act", since, until)).await;
    assert_eq!(
        report["integrity"]["intact"], false,
        "{}",
        report["integrity"]
    );
    assert!(
        report["integrity"]["reason"]
            .as_str()
            .unwrap()
            .contains("altered")
    );
    let art12 = &report["coverage"]["controls"][0];
    assert_eq!(art12["id"], "Art. 12");
    assert_eq!(art12["status"], "gap");
    assert!(
        report["coverage"]["gaps"]
            .as_array()
            .unwrap()
            .contains(&json!("Art. 12"))
    );
}

#[tokio::test]
async fn a_short_retention_is_flagged() {
    let settings = Settings {
        retention_days: Some(90),
        ..Settings::default()
    };
    let app = spawn_app_with(settings).await;
    let report: Value = app
        .get_ok("/api/reports/compliance?framework=eu-ai-act")
        .await;
    let r = &report["retention"];
    assert_eq!(r["compliant"], false);
    assert_eq!(r["retention_days"], 90);
    assert!(r["warning"].as_str().unwrap().contains("six months"), "{r}");
    let art19 = report["coverage"]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "Art. 19")
        .unwrap();
    assert_eq!(art19["status"], "gap");
}

#[tokio::test]
async fn bad_input_is_a_422_that_says_why() {
    let app = spawn_app().await;
    let cases = [
        (
            "framework=iso-9001",
            "framework",
            "unknown framework `iso-9001`",
        ),
        ("since=yesterday", "since", ""),
        ("until=2026-13-01T00:00:00Z", "until", ""),
        (
            "since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z",
            "since",
            "must be before until",
        ),
        ("format=pdf", "format", ""),
    ];
    for (q, loc, says) in cases {
        for path in [
            "/api/reports/compliance",
            "/api/reports/compliance.csv",
            "/api/reports/compliance.pdf",
        ] {
            let res = app.get(&format!("{path}?{q}")).await;
            let body = expect_status(res, 422).await;
            let issue = &body["detail"][0];
            assert_eq!(issue["loc"], json!(["query", loc]), "{q}: {body}");
            assert!(issue["msg"].as_str().unwrap().contains(says), "{q}: {body}");
        }
    }
    for q in [
        "group_by=week",
        "since=2026-12-02T00:00:00Z&until=2026-12-02T00:00:00Z",
    ] {
        let res = app.get(&format!("/api/reports/usage?{q}")).await;
        expect_status(res, 422).await;
    }
    for path in ["/api/reports/compliance", "/api/reports/compliance.pdf"] {
        let res = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn usage_sums_tokens_and_prices_them() {
    let app = spawn_app().await;
    let ctx = AuditContext::system();
    let mut policy = new_policy("PII watch");
    policy.status = PolicyStatus::Open;
    policy.estimated_cost_per_event = 0.000_5;
    app.store.create_policy(&ctx, policy).await.unwrap();
    let now = Utc::now();
    let mut batch = Vec::new();
    for i in 0..20_i64 {
        let mut e = new_event(&format!("u-{i}"), now - Duration::hours(i));
        e.source = Some(if i % 2 == 0 { "A" } else { "B" }.into());
        e.model_name = Some(
            if i % 4 < 2 {
                "gpt-4o"
            } else {
                "unpriced-model"
            }
            .into(),
        );
        e.request_tokens = Some(1000 + i);
        e.response_tokens = (i % 3 != 0).then_some(500);
        e.decision = Some(if i % 5 == 0 {
            sentinel_api::Decision::Block
        } else {
            sentinel_api::Decision::Allow
        });
        batch.push(SeedEvent {
            event: e,
            violations: Vec::new(),
        });
    }
    let events: Vec<_> = batch.iter().map(|s| s.event.clone()).collect();
    app.store.seed_events(batch).await.unwrap();
    let since = Timestamp(now - Duration::days(2));
    let until = Timestamp(now + Duration::hours(1));
    let report: Value = app
        .get_ok(&format!(
            "/api/reports/usage?group_by=app&since={since}&until={until}"
        ))
        .await;
    // gpt-4o: 2.50 and 10.00 dollars per million input and output tokens (built-in table).
    let price = |e: &sentinel_store::NewEvent| {
        (e.model_name.as_deref() == Some("gpt-4o")).then(|| {
            (e.request_tokens.unwrap_or(0) as f64 * 2.5
                + e.response_tokens.unwrap_or(0) as f64 * 10.0)
                / 1e6
        })
    };
    for app_name in ["A", "B"] {
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e.source.as_deref() == Some(app_name))
            .collect();
        let row = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == app_name)
            .unwrap();
        assert_eq!(row["events"], mine.len() as u64);
        assert_eq!(
            row["request_tokens"],
            mine.iter()
                .map(|e| e.request_tokens.unwrap() as u64)
                .sum::<u64>()
        );
        assert_eq!(
            row["response_tokens"],
            mine.iter().filter_map(|e| e.response_tokens).sum::<i64>() as u64
        );
        let cost: f64 = mine.iter().filter_map(|e| price(e)).sum();
        assert!(
            (row["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-5,
            "{row} {cost}"
        );
        assert_eq!(
            row["unpriced_events"],
            mine.iter().filter(|e| price(e).is_none()).count() as u64
        );
        assert_eq!(
            row["blocked"],
            mine.iter()
                .filter(|e| e.decision == Some(sentinel_api::Decision::Block))
                .count() as u64
        );
        let guard = row["guard_cost_usd"].as_f64().unwrap();
        assert!(
            (guard - 0.000_5 * mine.len() as f64).abs() < 1e-9,
            "{guard}"
        );
    }
    assert_eq!(report["total"]["events"], 20);
    // Blocked gpt-4o calls are priced at the mean of the allowed gpt-4o calls.
    let allowed: Vec<f64> = events
        .iter()
        .filter(|e| e.decision != Some(sentinel_api::Decision::Block))
        .filter_map(price)
        .collect();
    let mean = allowed.iter().sum::<f64>() / allowed.len() as f64;
    let blocked_priced = events
        .iter()
        .filter(|e| e.decision == Some(sentinel_api::Decision::Block) && price(e).is_some())
        .count() as f64;
    let avoided = report["total"]["cost_avoided_usd"].as_f64().unwrap();
    assert!((avoided - mean * blocked_priced).abs() < 1e-5, "{avoided}");
    assert!(avoided > 0.0);
    // Per day: the same total.
    let by_day: Value = app
        .get_ok(&format!(
            "/api/reports/usage?group_by=day&since={since}&until={until}"
        ))
        .await;
    for field in [
        "events",
        "request_tokens",
        "response_tokens",
        "blocked",
        "unpriced_events",
    ] {
        assert_eq!(by_day["total"][field], report["total"][field], "{field}");
    }
    for field in ["cost_usd", "cost_avoided_usd", "guard_cost_usd"] {
        let (a, b) = (
            by_day["total"][field].as_f64().unwrap(),
            report["total"][field].as_f64().unwrap(),
        );
        // Each group's cost is rounded to the micro-dollar.
        assert!((a - b).abs() < 1e-5, "{field}: {a} {b}");
    }
    let csv = app
        .get(&format!(
            "/api/reports/usage?format=csv&since={since}&until={until}"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("key,events,request_tokens"), "{csv}");
    assert_eq!(csv.lines().count(), 4);
}

/// Runs a poppler tool (`pdftoppm`, `pdftotext`, from Debian's `poppler-utils`) and answers
/// its standard output; fails the test when it fails or complains about the file.
fn poppler(tool: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (apt-get install poppler-utils): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} {args:?}: {stderr}");
    // Poppler reports a malformed file on stderr even when it manages to render it.
    assert!(stderr.trim().is_empty(), "{tool} {args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The PDF made by the server: rendered page by page to PNG by `pdftoppm`, with as many pages
/// as its footers count; `pdftotext` finds the framework's edition and the period on every
/// page, the cover's figures equal the JSON's, every application row survives pagination, and
/// a name too long for its cell is cut with "…".
#[tokio::test]
async fn the_pdf_renders_with_the_period_and_edition_on_every_page() {
    let app = spawn_app().await;
    let ([pii, ..], since, until) = seed(&app).await;
    // Enough applications for the incidents-by-application table to run over several pages,
    // and one name far too long for its cell.
    let long = format!("{}-TAILMARK", "very-long-application-name-".repeat(12));
    let mut batch = Vec::new();
    for i in 0..160_i64 {
        let mut event = new_event(&format!("app-{i}"), since + Duration::minutes(11 * i + 3));
        event.source = Some(if i == 0 {
            long.clone()
        } else {
            format!("App{i:03}")
        });
        batch.push(SeedEvent {
            event,
            violations: vec![SeedViolation {
                violation: new_violation(pii, ViolationType::DataLeak, Severity::High),
                status: ViolationStatus::Detected,
            }],
        });
    }
    app.store.seed_events(batch).await.unwrap();

    let q = query("eu-ai-act", since, until);
    let report: Value = app.get_ok(&q).await;
    let res = app
        .get(&q.replace("/api/reports/compliance?", "/api/reports/compliance.pdf?"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let file = file.to_str().unwrap();
    let prefix = dir.path().join("page");
    poppler(
        "pdftoppm",
        &["-r", "40", "-png", file, prefix.to_str().unwrap()],
    );
    let mut pngs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pngs.sort();
    let pages = pngs.len();
    // Cover, summary, coverage, incidents with a 160-row table, triage, oversight, and more.
    assert!(pages >= 7, "{pages} pages");
    for png in &pngs {
        let bytes = std::fs::read(png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{}", png.display());
    }

    let edition = format!(
        "edition {}",
        report["framework"]["edition"].as_str().unwrap()
    );
    let when = |v: &Value| {
        Timestamp::parse(v.as_str().unwrap())
            .unwrap()
            .0
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string()
    };
    let period = format!(
        "Period {} to {}",
        when(&report["period"]["since"]),
        when(&report["period"]["until"])
    );
    let mut all = String::new();
    for page in 1..=pages {
        let n = page.to_string();
        let text = poppler("pdftotext", &["-layout", "-f", &n, "-l", &n, file, "-"]);
        assert!(
            text.contains(&edition),
            "page {page} lacks {edition}:\n{text}"
        );
        assert!(
            text.contains(&period),
            "page {page} lacks {period}:\n{text}"
        );
        assert!(
            text.contains(&format!("Page {page} of {pages}")),
            "page {page}:\n{text}"
        );
        all.push_str(&text);
    }
    // The cover's figures are the report's.
    let cover = poppler("pdftotext", &["-layout", "-f", "1", "-l", "1", file, "-"]);
    let covered = format!(
        "{} of {}",
        report["coverage"]["covered"],
        report["coverage"]["controls"].as_array().unwrap().len()
    );
    assert!(cover.contains(&covered), "{covered}:\n{cover}");
    assert!(cover.contains("Audit chain"), "{cover}");
    // Every application row is somewhere, and the long name was cut, not spilled.
    for i in 1..160 {
        assert!(all.contains(&format!("App{i:03}")), "App{i:03} missing");
    }
    assert!(all.contains("very-long-application-name-"));
    assert!(!all.contains("TAILMARK"), "the long name was not cut");
    assert!(all.contains('…'));
    // The integrity section prints the head hash whole.
    assert!(all.contains(report["integrity"]["head_hash"].as_str().unwrap()));
}
