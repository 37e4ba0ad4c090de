//! The typed test client: one method per API operation, on the `sentinel_api` request and answer
//! types, so a test reads as the operation it performs. Each returns `Result<T, ApiFailure>`:
//! `.unwrap()` where the call must succeed, `.unwrap_err()` to check a refusal.
//!
//! Raw JSON (`TestApp::post` and friends) stays for malformed input and for the exact wire shape
//! (a `null` that must not be absent, legacy keys, enum spellings), which typed answers would hide.

use reqwest::{RequestBuilder, Response};
use sentinel_api::audit::AuditEntry;
use sentinel_api::dashboard::{DashboardStats, ShadowPolicySummary};
use sentinel_api::event::{EventCreate, EventResponse, EventStats, EventUpdate};
use sentinel_api::guard::{GuardRequest, GuardResponse, PolicyTestResponse};
use sentinel_api::identity::{LoginRequest, RefreshRequest, TokenResponse, UserResponse};
use sentinel_api::policy::{
    PolicyCreate, PolicyResponse, PolicyTestRequest, PolicyUpdate, PolicyVersionDiff,
    PolicyVersionResponse, ValidateRequest, ValidateResponse,
};
use sentinel_api::violation::{ViolationResponse, ViolationStats, ViolationUpdate};
use sentinel_api::{EventStatus, Patch, PolicyCategory, PolicyStatus, ViolationStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::helpers::{TestApp, total_count};

/// An error answer: its status and its body, with the body's `code` and `detail` at hand.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: u16,
    /// The whole body, for tests that check it exactly.
    pub body: Value,
}

impl ApiFailure {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The human `detail` when it is a string (a 422's is a list of issues).
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }

    /// Asserts the status and the `code`.
    pub fn assert_is(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{}", self.body);
    }

    /// Asserts the status and that the body is exactly `{"detail": detail, "code": code}`.
    pub fn assert_exactly(&self, status: u16, code: &str, detail: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body, json!({"detail": detail, "code": code}));
    }

    /// Asserts a 422 with an issue located at `loc`, e.g. `["body", "status"]`.
    pub fn assert_invalid_at(&self, loc: &[&str]) {
        self.assert_is(422, "validation_error");
        let expected: Vec<Value> = loc.iter().map(|s| json!(s)).collect();
        let issues = self.body["detail"].as_array().expect("detail is a list");
        assert!(
            issues
                .iter()
                .any(|i| i["loc"].as_array() == Some(&expected)),
            "no issue at {loc:?} in {}",
            self.body
        );
    }
}

/// Reads an answer: the typed body of a 200, or the failure.
pub async fn read<T: DeserializeOwned>(res: Response) -> Result<T, ApiFailure> {
    let status = res.status().as_u16();
    let text = res.text().await.expect("a body");
    if status == 200 {
        Ok(serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("unexpected answer ({e}): {text}")))
    } else {
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Err(ApiFailure { status, body })
    }
}

/// Asserts the answer's status and returns its JSON body.
pub async fn expect_status(res: Response, status: u16) -> Value {
    assert_eq!(res.status(), status, "{}", res.url());
    res.json().await.expect("a JSON body")
}

/// A policy body with only the required fields, read as the server reads it, so every other
/// field has the API's default: a draft that flags e-mail addresses in prompts.
pub fn policy_create(name: &str, category: PolicyCategory) -> PolicyCreate {
    let definition = "request.prompt has sentinelai.pii(email)";
    let body = json!({"name": name, "definition": definition, "category": category});
    serde_json::from_value(body).expect("a policy body")
}

/// An event body with only the required fields and the API's defaults: an `llm_request` titled
/// `Event <event_id>`, triggered at 2026-11-20T10:00:00Z.
pub fn event_create(event_id: &str) -> EventCreate {
    let body = json!({
        "event_id": event_id,
        "event_type": "llm_request",
        "title": format!("Event {event_id}"),
        "trigger_date": "2026-11-20T10:00:00Z",
    });
    serde_json::from_value(body).expect("an event body")
}

/// A guard body with the API's defaults: an input text, recorded, with no scope.
pub fn guard_request(text: &str) -> GuardRequest {
    serde_json::from_value(json!({ "text": text })).expect("a guard body")
}

/// A policy update that only sets the status.
pub fn policy_status(status: PolicyStatus) -> PolicyUpdate {
    PolicyUpdate {
        status: Patch::Value(status),
        ..PolicyUpdate::default()
    }
}

/// An event triage update: the status, and `acknowledged_by` when given.
pub fn event_triage(status: EventStatus, acknowledged_by: Option<i64>) -> EventUpdate {
    EventUpdate {
        status: Patch::Value(status),
        acknowledged_by: acknowledged_by.map_or(Patch::Absent, Patch::Value),
    }
}

/// A violation triage update: the status, and `acknowledged_by` when given.
pub fn violation_triage(status: ViolationStatus, acknowledged_by: Option<i64>) -> ViolationUpdate {
    ViolationUpdate {
        status: Patch::Value(status),
        acknowledged_by: acknowledged_by.map_or(Patch::Absent, Patch::Value),
    }
}

/// What a typed call answers.
pub type Answer<T> = Result<T, ApiFailure>;

impl TestApp {
    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Answer<T> {
        read(req.send().await.expect("request")).await
    }

    /// `GET path` as root.
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> Answer<T> {
        self.call(self.client.get(self.url(path))).await
    }

    /// `GET path` as root; it must answer 200.
    pub async fn get_ok<T: DeserializeOwned>(&self, path: &str) -> T {
        self.get_as(path).await.unwrap()
    }

    /// `GET path` as root, refused: the failure.
    pub async fn get_err(&self, path: &str) -> ApiFailure {
        self.get_as::<Value>(path).await.unwrap_err()
    }

    /// Asserts each `GET {path}?{query}` is a 422 located at `["query", field]`.
    pub async fn assert_invalid_queries(&self, path: &str, cases: &[(&str, &str)]) {
        for (query, field) in cases {
            let err = self.get_err(&format!("{path}?{query}")).await;
            err.assert_invalid_at(&["query", field]);
        }
    }

    /// A list route as root: `X-Total-Count` and the page.
    pub async fn get_page<T: DeserializeOwned>(&self, path: &str) -> (u64, Vec<T>) {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        let total = total_count(&res);
        (total, res.json().await.expect("a list"))
    }

    /// `POST path` as root with a typed body.
    pub async fn post_as<B: Serialize, T: DeserializeOwned>(&self, path: &str, b: &B) -> Answer<T> {
        self.call(self.client.post(self.url(path)).json(b)).await
    }

    /// `PUT path` as root with a typed body.
    pub async fn put_as<B: Serialize, T: DeserializeOwned>(&self, path: &str, b: &B) -> Answer<T> {
        self.call(self.client.put(self.url(path)).json(b)).await
    }

    // Policies.

    pub async fn post_policy(&self, body: &PolicyCreate) -> Answer<PolicyResponse> {
        self.post_as("/api/policies/", body).await
    }

    pub async fn get_policy(&self, id: i64) -> Answer<PolicyResponse> {
        self.get_as(&format!("/api/policies/{id}")).await
    }

    pub async fn update_policy(&self, id: i64, b: &PolicyUpdate) -> Answer<PolicyResponse> {
        self.put_as(&format!("/api/policies/{id}"), b).await
    }

    /// Creates a policy and moves it to `open` (enforced).
    pub async fn enforced_policy(&self, body: &PolicyCreate) -> PolicyResponse {
        let created = self.post_policy(body).await.unwrap();
        let open = policy_status(PolicyStatus::Open);
        self.update_policy(created.id, &open).await.unwrap()
    }

    /// Deletes a policy; the answer is `{"message": ...}`.
    pub async fn delete_policy(&self, id: i64) -> Answer<Value> {
        let path = self.url(&format!("/api/policies/{id}"));
        self.call(self.client.delete(path)).await
    }

    /// `GET /api/policies/{query}`: the total and the page.
    pub async fn list_policies(&self, query: &str) -> (u64, Vec<PolicyResponse>) {
        self.get_page(&format!("/api/policies/{query}")).await
    }

    pub async fn validate_policy(&self, definition: &str) -> Answer<ValidateResponse> {
        let body = ValidateRequest {
            definition: definition.into(),
        };
        self.post_as("/api/policies/validate", &body).await
    }

    pub async fn test_policy(&self, id: i64, b: &PolicyTestRequest) -> Answer<PolicyTestResponse> {
        self.post_as(&format!("/api/policies/{id}/test"), b).await
    }

    /// `GET /api/policies/{id}/versions{query}`: the total and the page.
    pub async fn policy_versions(&self, id: i64, query: &str) -> (u64, Vec<PolicyVersionResponse>) {
        self.get_page(&format!("/api/policies/{id}/versions{query}"))
            .await
    }

    pub async fn policy_version(&self, id: i64, version: i64) -> Answer<PolicyVersionResponse> {
        self.get_as(&format!("/api/policies/{id}/versions/{version}"))
            .await
    }

    pub async fn policy_diff(&self, id: i64, from: i64, to: i64) -> Answer<PolicyVersionDiff> {
        self.get_as(&format!("/api/policies/{id}/versions/{from}/diff/{to}"))
            .await
    }

    /// `POST /api/policies/{id}/versions/{version}/rollback`, with no body.
    pub async fn rollback_policy(&self, id: i64, version: i64) -> Answer<PolicyResponse> {
        let url = self.url(&format!("/api/policies/{id}/versions/{version}/rollback"));
        self.call(self.client.post(url)).await
    }

    /// `POST /api/policies/{id}/promote`, with no body.
    pub async fn promote_policy(&self, id: i64) -> Answer<PolicyResponse> {
        let url = self.url(&format!("/api/policies/{id}/promote"));
        self.call(self.client.post(url)).await
    }

    /// `GET /api/dashboard/shadow`.
    pub async fn shadow_summary(&self) -> Vec<ShadowPolicySummary> {
        self.get_ok("/api/dashboard/shadow").await
    }

    // Events.

    pub async fn post_event(&self, body: &EventCreate) -> Answer<EventResponse> {
        self.post_as("/api/events/", body).await
    }

    /// `POST /api/events/batch`.
    pub async fn post_events(&self, body: &[EventCreate]) -> Answer<Vec<EventResponse>> {
        self.post_as("/api/events/batch", &body).await
    }

    pub async fn get_event(&self, id: i64) -> Answer<EventResponse> {
        self.get_as(&format!("/api/events/{id}")).await
    }

    pub async fn update_event(&self, id: i64, b: &EventUpdate) -> Answer<EventResponse> {
        self.put_as(&format!("/api/events/{id}"), b).await
    }

    /// `GET /api/events/{query}`: the total and the page.
    pub async fn list_events(&self, query: &str) -> (u64, Vec<EventResponse>) {
        self.get_page(&format!("/api/events/{query}")).await
    }

    pub async fn event_violations(&self, id: i64) -> Answer<Vec<ViolationResponse>> {
        self.get_as(&format!("/api/events/{id}/violations")).await
    }

    /// `GET /api/events/{id}/violations{query}`, e.g. `?shadow=only`.
    pub async fn event_violations_with(
        &self,
        id: i64,
        query: &str,
    ) -> Answer<Vec<ViolationResponse>> {
        self.get_as(&format!("/api/events/{id}/violations{query}"))
            .await
    }

    pub async fn event_stats(&self) -> EventStats {
        self.get_ok("/api/events/stats/summary").await
    }

    // Violations.

    /// `GET /api/violations/{query}`: the total and the page.
    pub async fn list_violations(&self, query: &str) -> (u64, Vec<ViolationResponse>) {
        self.get_page(&format!("/api/violations/{query}")).await
    }

    pub async fn get_violation(&self, id: i64) -> Answer<ViolationResponse> {
        self.get_as(&format!("/api/violations/{id}")).await
    }

    pub async fn update_violation(
        &self,
        id: i64,
        b: &ViolationUpdate,
    ) -> Answer<ViolationResponse> {
        self.put_as(&format!("/api/violations/{id}"), b).await
    }

    pub async fn violation_stats(&self) -> ViolationStats {
        self.get_ok("/api/violations/stats/summary").await
    }

    // The guard, the dashboard and the audit trail.

    pub async fn guard(&self, body: &GuardRequest) -> Answer<GuardResponse> {
        self.post_as("/api/guard", body).await
    }

    pub async fn dashboard_stats(&self) -> DashboardStats {
        self.get_ok("/api/dashboard/stats").await
    }

    /// `GET /api/audit/{query}`.
    pub async fn audit(&self, query: &str) -> Vec<AuditEntry> {
        self.get_ok(&format!("/api/audit/{query}")).await
    }

    // Sign-in, anonymously.

    pub async fn login(&self, username: &str, password: &str) -> Answer<TokenResponse> {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
        };
        self.call(self.anon.post(self.url("/api/auth/login")).json(&body))
            .await
    }

    /// `POST /api/auth/{route}` with a refresh token: `refresh` or `logout`.
    pub async fn refresh(&self, route: &str, token: &str) -> Answer<Value> {
        let body = RefreshRequest {
            refresh_token: token.into(),
        };
        let url = self.url(&format!("/api/auth/{route}"));
        self.call(self.anon.post(url).json(&body)).await
    }

    /// `POST /api/auth/token` with a raw OAuth2 form body.
    pub async fn token_form(&self, form: &str) -> Response {
        self.anon
            .post(self.url("/api/auth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .expect("request")
    }

    /// `GET path` with `token` as the bearer credential.
    pub async fn get_with<T: DeserializeOwned>(&self, token: &str, path: &str) -> Answer<T> {
        let url = self.url(path);
        self.call(self.client_with_token(token).get(url)).await
    }

    /// `GET /api/auth/me` with `token`.
    pub async fn me(&self, token: &str) -> Answer<UserResponse> {
        self.get_with(token, "/api/auth/me").await
    }
}
