//! The triage rules events and violations share (CONTRACT.md §3, §4), checked once for both on
//! the raw wire: `acknowledged_by` sent as `null` differs from not sent, which typed bodies hide.

use serde_json::{Value, json};

use crate::client::expect_status;
use crate::helpers::{TestApp, assert_422_at};

/// `PUT /api/{resource}/{id}` (`resource` is `events` or `violations`) with a raw body.
async fn put(
    app: &TestApp,
    resource: &str,
    id: impl std::fmt::Display,
    body: Value,
) -> reqwest::Response {
    app.put(&format!("/api/{resource}/{id}"), &body).await
}

/// A status alone changes the status and leaves the acknowledgement unset; with `acknowledged_by`
/// both are stamped; bad and null statuses are 422; an unknown id is a 404 saying `not_found`.
/// Returns the record as stored at the end.
pub async fn check_triage_rules(
    app: &TestApp,
    resource: &str,
    id: i64,
    status: &str,
    not_found: &str,
) -> Value {
    let u = expect_status(put(app, resource, id, json!({"status": status})).await, 200).await;
    assert_eq!(u["status"], status);
    assert_eq!(u["acknowledged_by"], Value::Null);
    assert_eq!(u["acknowledged_date"], Value::Null);
    assert!(u["updated_at"].is_string());

    let body = json!({"status": "acknowledged", "acknowledged_by": 5});
    let u = expect_status(put(app, resource, id, body).await, 200).await;
    assert_eq!(u["status"], "acknowledged");
    assert_eq!(u["acknowledged_by"], 5);
    assert!(
        u["acknowledged_date"].as_str().unwrap().ends_with('Z'),
        "{u}"
    );
    let stored: Value = app.get_ok(&format!("/api/{resource}/{id}")).await;
    assert_eq!(stored, u);

    for bad in [json!("bogus"), Value::Null] {
        let res = put(app, resource, id, json!({"status": bad})).await;
        assert_422_at(res, &["body", "status"]).await;
    }
    let res = put(app, resource, 999, json!({"status": status})).await;
    let body = expect_status(res, 404).await;
    assert_eq!(body["detail"], not_found);
    u
}

/// `{"acknowledged_by": null}` clears the acknowledger but still stamps the date, and leaves the
/// status at `status`.
pub async fn check_null_acknowledged_by_stamps_the_date(
    app: &TestApp,
    resource: &str,
    id: i64,
    status: &str,
) {
    let res = put(app, resource, id, json!({"acknowledged_by": null})).await;
    let u = expect_status(res, 200).await;
    assert_eq!(u["acknowledged_by"], Value::Null);
    assert!(u["acknowledged_date"].is_string(), "{u}");
    assert_eq!(u["status"], status);
}
