use reqwest::{Client, Response};
use sentinel_server::settings::{DatabaseUrl, Secret};
use sentinel_server::{AppState, Application, Settings};
use sentinel_store::Store;
use serde_json::{Value, json};
use tokio::sync::oneshot;

// The fresh-database set-up and the minimal store rows are the store tests' own, shared here.
#[path = "../../../store/tests/common/mod.rs"]
mod common;
pub use common::{fresh_database_url, new_event, new_policy, new_violation};

/// A running server with its own database.
pub struct TestApp {
    pub addr: String,
    /// Signed in as `root`, an admin.
    pub client: Client,
    /// No credentials.
    pub anon: Client,
    pub store: Store,
    /// The database URL, for tests that edit rows behind the server's back.
    pub url: String,
    pub state: AppState,
    /// The admin's access token.
    pub token: String,
    /// The token-signing secret.
    pub secret: Vec<u8>,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Settings::default()).await
}

/// The password of every user the tests create.
pub const PASSWORD: &str = "correct horse battery";

/// An argon2id hash of [`PASSWORD`], computed once.
pub fn password_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| sentinel_server::service::passwords::hash(PASSWORD).expect("hash"))
        .clone()
}

/// Creates a user directly in the store; returns its id.
pub async fn add_user(store: &Store, username: &str, role: sentinel_api::UserRole) -> i64 {
    store
        .create_user(
            &sentinel_store::AuditContext::system(),
            sentinel_store::NewUser {
                username: username.into(),
                email: format!("{username}@example.com"),
                full_name: None,
                hashed_password: password_hash(),
                role,
            },
        )
        .await
        .expect("create user")
        .id
}

fn client_with(token: Option<&str>) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
    }
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(&dir).await;
    start_node(dir, url, settings, true).await
}

/// A second node on the same database as `app` (PostgreSQL), with the same signing secret, so
/// `app.token` works on both.
pub async fn spawn_second_node(app: &TestApp) -> TestApp {
    spawn_second_node_with(app, Settings::default()).await
}

/// [`spawn_second_node`] with `settings` (its signing secret replaced by `app`'s). On SQLite the
/// second node opens the same database file.
pub async fn spawn_second_node_with(app: &TestApp, settings: Settings) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        jwt_secret: Some(Secret::new(
            String::from_utf8(app.secret.clone()).expect("a text secret"),
        )),
        ..settings
    };
    start_node(dir, app.url.clone(), settings, false).await
}

/// Starts a node through the same boot path as `sentinel serve`, on port 0, with its data
/// directory in `dir` and its database at `url`.
async fn start_node(
    dir: tempfile::TempDir,
    url: String,
    mut settings: Settings,
    first: bool,
) -> TestApp {
    settings.bind = "127.0.0.1:0".into();
    settings.data_dir = dir.path().to_owned();
    settings.database_url = Some(DatabaseUrl::new(url.clone()));
    let secret = settings
        .jwt_secret
        .get_or_insert_with(|| Secret::new("test-secret-test-secret-test-secret!"))
        .expose()
        .as_bytes()
        .to_vec();
    let app = Application::build(settings).await.expect("build the app");
    let state = app.state().clone();
    let store = state.store.clone();
    let root = if first {
        add_user(&store, "root", sentinel_api::UserRole::Admin).await
    } else {
        store
            .find_user_by_username("root")
            .await
            .expect("find root")
            .expect("root exists")
            .user
            .id
    };
    let token = state.auth.issue(root, "root").expect("token");
    let addr = app.local_addr().to_string();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: client_with(Some(&token)),
        anon: client_with(None),
        store,
        url,
        state,
        token,
        secret,
        _dir: dir,
        _shutdown: tx,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client signed in as a new user with `role`, and its token.
    pub async fn client_as(
        &self,
        username: &str,
        role: sentinel_api::UserRole,
    ) -> (Client, String) {
        let id = add_user(&self.store, username, role).await;
        let token = self.state.auth.issue(id, username).expect("token");
        (client_with(Some(&token)), token)
    }

    /// A client sending `token` as a bearer credential.
    pub fn client_with_token(&self, token: &str) -> Client {
        client_with(Some(token))
    }

    pub async fn get(&self, path: &str) -> Response {
        send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        send(self.client.post(self.url(path)).json(body)).await
    }

    /// `POST path` with a raw body sent as JSON: for malformed input.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        let req = self.client.post(self.url(path));
        send(req.header("content-type", "application/json").body(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        send(self.client.put(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        send(self.client.delete(self.url(path))).await
    }

    /// Creates a policy and returns its JSON.
    pub async fn create_policy(&self, name: &str, category: &str) -> Value {
        let res = self
            .post(
                "/api/policies/",
                &json!({
                    "name": name,
                    "definition": "request.prompt has sentinelai.pii(email)",
                    "category": category,
                }),
            )
            .await;
        assert_eq!(res.status(), 200, "creating policy {name}");
        res.json().await.expect("json")
    }

    /// Creates an event of `severity` triggered `ago` before `now`; returns its JSON.
    pub async fn create_event_at(
        &self,
        event_id: &str,
        severity: &str,
        (now, ago): (chrono::DateTime<chrono::Utc>, chrono::Duration),
    ) -> Value {
        let at = (now - ago).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let extra = json!({"severity": severity, "trigger_date": at});
        self.create_event(event_id, extra).await
    }

    /// Creates an event and returns its JSON.
    pub async fn create_event(&self, event_id: &str, extra: Value) -> Value {
        let mut body = json!({
            "event_id": event_id,
            "event_type": "llm_request",
            "title": format!("Event {event_id}"),
            "trigger_date": "2026-11-20T10:00:00Z",
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let res = self.post("/api/events/", &body).await;
        assert_eq!(res.status(), 200, "creating event {event_id}");
        res.json().await.expect("json")
    }
}

async fn send(req: reqwest::RequestBuilder) -> Response {
    req.send().await.expect("request")
}

/// Asserts a 422 whose first issue is located at `loc`.
pub async fn assert_422_at(res: Response, loc: &[&str]) {
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.expect("json");
    let expected: Vec<Value> = loc.iter().map(|s| json!(s)).collect();
    let issues = body["detail"].as_array().expect("detail is a list");
    assert!(
        issues
            .iter()
            .any(|i| i["loc"].as_array() == Some(&expected)),
        "no issue at {loc:?} in {body}"
    );
    assert_eq!(body["code"], "validation_error");
}

pub fn total_count(res: &Response) -> u64 {
    res.headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("X-Total-Count header")
}

/// A response header as text; empty when it is absent.
pub fn header<'a>(res: &'a Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The policy id of a policy JSON.
pub fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}
