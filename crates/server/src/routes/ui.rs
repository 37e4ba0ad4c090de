//! The web dashboard (DESIGN.md §10): server-rendered HTML shells and their embedded assets.
//!
//! Every page is a public shell that holds no data: the JavaScript in `assets/app.js` signs in
//! through `POST /api/auth/login`, keeps the access token in `sessionStorage`, and reads and
//! changes everything through the same authenticated JSON API as any other client. There is no
//! cookie, so there is no CSRF surface. These routes are deliberately left out of the OpenAPI
//! document, which describes the API only.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::service::reports;
use crate::state::AppState;

/// Scripts, styles and images of the dashboard, compiled into the binary (no CDN: works offline).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "app.js",
        "application/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../../assets/logo.svg"),
    ),
    (
        "favicon.ico",
        "image/x-icon",
        include_bytes!("../../assets/favicon.ico"),
    ),
];

/// Only our own scripts, styles and API; no inline script, no framing. `connect-src 'self'` also
/// covers the live stream's `ws:`/`wss:` URL of the same host (CSP Level 3), and no other host.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What every page shell knows: its title, the navigation entry to highlight and, for detail
/// pages, the id of the object it shows (the data itself is fetched by the browser).
pub struct View {
    pub title: &'static str,
    pub nav: &'static str,
    pub id: Option<i64>,
    pub version: &'static str,
}

impl View {
    fn new(title: &'static str, nav: &'static str) -> Self {
        Self {
            title,
            nav,
            id: None,
            version: crate::VERSION,
        }
    }

    fn with_id(mut self, id: i64) -> Self {
        self.id = Some(id);
        self
    }
}

/// One `<option>` of a dashboard `<select>`.
pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// The options of a `<select>` over an enum, from its one definition: `values` is the enum's
/// `WIRE` (so they come in declaration order), `selected` the wire value to preselect, if any.
/// Templates call it through the `options` macro of `macros.html`.
pub fn choices(values: &'static [&'static str], selected: &str) -> Vec<Choice> {
    values
        .iter()
        .map(|&value| Choice {
            value,
            label: label(value),
            selected: value == selected,
        })
        .collect()
}

/// How the dashboard shows a wire value, the same rule as `label` in `app.js`:
/// `data_leak` → `Data leak`, `llm_request` → `LLM request`.
fn label(value: &str) -> String {
    let words = value.replace('_', " ");
    if let Some(rest) = words
        .strip_prefix("llm")
        .filter(|r| r.is_empty() || r.starts_with(' '))
    {
        return format!("LLM{rest}");
    }
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

macro_rules! page {
    ($name:ident, $path:literal) => {
        #[derive(Template, WebTemplate)]
        #[template(path = $path)]
        pub struct $name {
            pub view: View,
        }
    };
}

page!(LoginPage, "login.html");
page!(OverviewPage, "overview.html");
page!(LivePage, "live.html");
page!(EventsPage, "events.html");
page!(EventPage, "event.html");
page!(ViolationsPage, "violations.html");
page!(PoliciesPage, "policies.html");
page!(PolicyPage, "policy.html");
page!(TemplatesPage, "templates.html");
page!(UsersPage, "users.html");
page!(KeysPage, "keys.html");
page!(AuditPage, "audit.html");
page!(NotFoundPage, "not_found.html");
page!(UsagePage, "usage.html");

/// The webhooks page: the message types an endpoint can ask for, from their one definition
/// (`test` is left out: only "Send test event" sends it, whatever the filters).
#[derive(Template, WebTemplate)]
#[template(path = "webhooks.html")]
pub struct WebhooksPage {
    pub view: View,
    pub message_types: Vec<Choice>,
}

async fn webhooks_page() -> Response {
    let test = sentinel_api::webhook::MessageType::Test.as_str();
    shell_response(WebhooksPage {
        view: View::new("Webhooks", "webhooks"),
        message_types: choices(sentinel_api::webhook::MessageType::WIRE, "")
            .into_iter()
            .filter(|c| c.value != test)
            .collect(),
    })
}

/// One framework in the report page's picker.
pub struct FrameworkChoice {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

/// The compliance report page: the frameworks to pick from are the server's (the embedded ones
/// and those of the configuration), so the picker offers exactly what the API accepts.
#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub view: View,
    pub frameworks: Vec<FrameworkChoice>,
}

async fn report_page(State(state): State<AppState>) -> Response {
    let frameworks = reports::frameworks::frameworks(&state.settings.reports.frameworks)
        .into_iter()
        .map(|f| FrameworkChoice {
            selected: f.id == reports::frameworks::DEFAULT_FRAMEWORK,
            label: format!("{} ({})", f.name, f.edition),
            id: f.id,
        })
        .collect();
    shell_response(ReportPage {
        view: View::new("Compliance report", "reports"),
        frameworks,
    })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/login",
            get(|| {
                shell(LoginPage {
                    view: View::new("Sign in", "login"),
                })
            }),
        )
        .route(
            "/live",
            get(|| {
                shell(LivePage {
                    view: View::new("Live feed", "live"),
                })
            }),
        )
        .route(
            "/events",
            get(|| {
                shell(EventsPage {
                    view: View::new("Events", "events"),
                })
            }),
        )
        .route("/events/{id}", get(event_page))
        .route(
            "/violations",
            get(|| {
                shell(ViolationsPage {
                    view: View::new("Violations", "violations"),
                })
            }),
        )
        .route(
            "/policies",
            get(|| {
                shell(PoliciesPage {
                    view: View::new("Policies", "policies"),
                })
            }),
        )
        .route(
            "/policies/new",
            get(|| {
                shell(PolicyPage {
                    view: View::new("New policy", "policies"),
                })
            }),
        )
        .route("/policies/{id}", get(policy_page))
        .route(
            "/templates",
            get(|| {
                shell(TemplatesPage {
                    view: View::new("Templates", "templates"),
                })
            }),
        )
        .route(
            "/users",
            get(|| {
                shell(UsersPage {
                    view: View::new("Users", "users"),
                })
            }),
        )
        .route(
            "/keys",
            get(|| {
                shell(KeysPage {
                    view: View::new("API keys", "keys"),
                })
            }),
        )
        .route("/webhooks", get(webhooks_page))
        .route(
            "/audit",
            get(|| {
                shell(AuditPage {
                    view: View::new("Audit log", "audit"),
                })
            }),
        )
        .route("/reports", get(report_page))
        .route(
            "/usage",
            get(|| {
                shell(UsagePage {
                    view: View::new("Usage and cost", "usage"),
                })
            }),
        )
        .route("/assets/{name}", get(asset))
        // Browsers ask for it on every page that names no icon (Swagger UI, ReDoc, JSON).
        .route(
            "/favicon.ico",
            get(|| asset(Path("favicon.ico".to_owned()))),
        )
}

/// The overview, served at `/` to browsers (see `routes::system::root`).
pub fn overview() -> Response {
    let mut response = shell_response(OverviewPage {
        view: View::new("Overview", "overview"),
    });
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// Whether the `Accept` header prefers HTML to JSON: a browser's navigation does
/// (`text/html,…,*/*;q=0.8`); `*/*`, no header, or JSON first keep the legacy JSON.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // (quality, specificity) of the best range matching each type.
    let mut html: Option<(f32, u8)> = None;
    let mut json: Option<(f32, u8)> = None;
    let mut json_explicit = false;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let better = |slot: &mut Option<(f32, u8)>, specificity: u8| {
            if slot.is_none_or(|(_, s)| specificity > s) {
                *slot = Some((q, specificity));
            }
        };
        match media.as_str() {
            "text/html" => better(&mut html, 2),
            "application/json" => {
                json_explicit = true;
                better(&mut json, 2);
            }
            "text/*" => better(&mut html, 1),
            "application/*" => better(&mut json, 1),
            "*/*" => {
                better(&mut html, 0);
                better(&mut json, 0);
            }
            _ => {}
        }
    }
    match (html, json) {
        (Some((qh, sh)), json) if sh > 0 && qh > 0.0 => {
            let qj = json.map_or(0.0, |(q, _)| q);
            qh > qj || (qh == qj && !json_explicit)
        }
        _ => false,
    }
}

async fn shell<T: Template + IntoResponse>(page: T) -> Response {
    shell_response(page)
}

fn shell_response<T: IntoResponse>(page: T) -> Response {
    let mut response = page.into_response();
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn parse_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

fn not_found() -> Response {
    let mut response = shell_response(NotFoundPage {
        view: View::new("Not found", ""),
    });
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

async fn event_page(Path(raw): Path<String>) -> Response {
    match parse_id(&raw) {
        Some(id) => shell_response(EventPage {
            view: View::new("Event", "events").with_id(id),
        }),
        None => not_found(),
    }
}

async fn policy_page(Path(raw): Path<String>) -> Response {
    match parse_id(&raw) {
        Some(id) => shell_response(PolicyPage {
            view: View::new("Policy", "policies").with_id(id),
        }),
        None => not_found(),
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{choices, prefers_html};

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        for (value, html) in [
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                true,
            ),
            ("text/html", true),
            ("text/html;q=0.9, application/json;q=0.5", true),
            ("*/*", false),
            ("application/json", false),
            ("application/json, text/html", false),
            ("text/html;q=0.5, application/json", false),
            ("text/html;q=0", false),
            ("", false),
        ] {
            assert_eq!(prefers_html(&accept(value)), html, "{value}");
        }
        assert!(!prefers_html(&HeaderMap::new()));
    }

    #[test]
    fn options_are_labelled_for_people_in_declaration_order() {
        let labels =
            |values| -> Vec<String> { choices(values, "").into_iter().map(|c| c.label).collect() };
        assert_eq!(
            labels(sentinel_api::EventType::WIRE),
            [
                "LLM request",
                "LLM response",
                "Policy violation",
                "Intervention",
                "System event"
            ]
        );
        assert_eq!(
            labels(sentinel_api::ViolationStatus::WIRE)[4],
            "False positive"
        );
        assert_eq!(
            labels(sentinel_api::PerformanceMode::WIRE),
            ["Robust", "Balanced", "Fast"]
        );
        let severity = choices(sentinel_api::Severity::WIRE, "medium");
        let selected: Vec<&str> = severity
            .iter()
            .filter(|c| c.selected)
            .map(|c| c.value)
            .collect();
        assert_eq!(selected, ["medium"]);
    }
}
