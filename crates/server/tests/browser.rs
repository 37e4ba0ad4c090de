#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Browser end-to-end tests of the dashboard: the real server on port 0 and a real headless
//! Chromium (Debian's `chromium` package, `/usr/bin/chromium`, or `$SENTINEL_CHROMIUM`), driven
//! over the DevTools protocol with chromiumoxide.
//!
//! A screenshot of every page is written to `$SENTINEL_SCREENSHOTS` (default: the target's tmp
//! dir, `screenshots/`); `scripts/screenshots.sh` copies them to `docs/screenshots/`.

#[allow(dead_code, unused_imports)]
#[path = "it/client.rs"]
mod client;
#[allow(dead_code, unused_imports)]
#[path = "it/helpers.rs"]
mod helpers;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use client::{event_create, policy_create};
use helpers::{PASSWORD, TestApp, header, spawn_app};
use sentinel_api::event::EventCreate;
use sentinel_api::policy::PolicyCreate;
use sentinel_api::{
    InterventionType, PolicyCategory, PolicyStatus, Severity, Timestamp, ViolationStatus,
};

const WIDTH: u32 = 1280;
/// The overview, signed in.
const OVERVIEW: &str = "location.pathname === '/' && document.body.dataset.page === 'overview'";
const HEIGHT: u32 = 860;

/// A headless Chromium with one tab, pointed at a running server.
struct Ui {
    browser: Browser,
    page: Page,
    base: String,
    shots: PathBuf,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

fn chromium_path() -> PathBuf {
    let path = PathBuf::from(
        std::env::var("SENTINEL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        path.exists(),
        "Chromium is not installed at {}: the browser tests need it. Install it with \
         `apt-get install -y chromium` (CI does), or point SENTINEL_CHROMIUM at a Chromium binary.",
        path.display()
    );
    path
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("SENTINEL_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

impl Ui {
    async fn launch(app: &TestApp) -> Ui {
        let profile = tempfile::tempdir().expect("profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable(chromium_path())
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(WIDTH, HEIGHT)
            .viewport(Viewport {
                width: WIDTH,
                height: HEIGHT,
                device_scale_factor: Some(1.0),
                ..Viewport::default()
            })
            .args(["disable-gpu", "disable-dev-shm-usage", "lang=en-US"])
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config).await.expect("launch Chromium");
        // Keep draining the DevTools connection; some events fail to parse and that is harmless.
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let page = browser.new_page("about:blank").await.expect("new tab");
        Ui {
            browser,
            page,
            base: format!("http://{}", app.addr),
            shots: screenshot_dir(),
            handler,
            _profile: profile,
        }
    }

    async fn close(mut self) {
        self.browser.close().await.ok();
        self.browser.wait().await.ok();
        self.handler.abort();
    }

    async fn goto(&self, path: &str) {
        let url = format!("{}{}", self.base, path);
        let Err(e) = self.page.goto(url.as_str()).await else {
            return;
        };
        // chromiumoxide's navigation watcher can miss the load event of a page that did load,
        // and then ends the wait at its own fixed 30 s deadline with `Timeout` (seen twice on
        // `/reports` with the seven browser tests running at once on 2 cores). The navigation
        // counts when the page is there and loaded, and fails otherwise. Pages may rewrite their
        // query string once loaded (the report page spells out its period), so the path is what
        // is compared.
        if matches!(e, chromiumoxide::error::CdpError::Timeout) {
            let now: String = self
                .eval("location.pathname + ' ' + document.readyState")
                .await;
            let wanted = path.split(['?', '#']).next().unwrap_or(path);
            if now == format!("{wanted} complete") {
                eprintln!("open {path}: {e}, but the page had loaded; going on");
                return;
            }
            panic!("open {path}: {e}; the page is at {now:?}");
        }
        panic!("open {path}: {e}");
    }

    /// Opens a dashboard page and waits until its script has loaded its data.
    async fn open(&self, path: &str) {
        self.goto(path).await;
        self.wait_ready(path).await;
    }

    async fn wait_ready(&self, what: &str) {
        self.wait_for(
            "document.body && document.body.dataset.ready !== undefined",
            Duration::from_secs(10),
            &format!("{what} to load"),
        )
        .await;
        let state: String = self.eval("document.body.dataset.ready").await;
        let flash: String = self
            .eval("(document.querySelector('#flash') || {}).textContent || ''")
            .await;
        assert_eq!(state, "true", "{what} failed to load: {flash}");
    }

    async fn eval<T: DeserializeOwned>(&self, js: &str) -> T {
        self.page
            .evaluate(js)
            .await
            .unwrap_or_else(|e| panic!("evaluate `{js}`: {e}"))
            .into_value()
            .unwrap_or_else(|e| panic!("result of `{js}`: {e}"))
    }

    /// Polls a JavaScript condition (lookups do not wait by themselves).
    async fn wait_for(&self, condition: &str, timeout: Duration, what: &str) -> Duration {
        let started = Instant::now();
        let js = format!(
            "(() => {{ try {{ return Boolean({condition}); }} catch (_) {{ return false; }} }})()"
        );
        loop {
            if let Ok(result) = self.page.evaluate(js.as_str()).await
                && result.into_value::<bool>().unwrap_or(false)
            {
                return started.elapsed();
            }
            if started.elapsed() > timeout {
                let url = self.page.url().await.ok().flatten().unwrap_or_default();
                // What the page said, to explain the failure.
                let said: String = self
                    .eval(
                        "Array.from(document.querySelectorAll('.alert:not([hidden]), #flash:not([hidden])'))\
                         .map((e) => e.textContent.trim()).join(' | ')",
                    )
                    .await;
                panic!(
                    "timed out after {timeout:?} waiting for {what} (`{condition}`) on {url}; \
                     the page says: {said:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits up to `secs` seconds for a JavaScript condition; `what` names it when it fails.
    async fn wait(&self, secs: u64, what: &str, condition: &str) {
        self.wait_for(condition, Duration::from_secs(secs), what)
            .await;
    }

    /// Waits for an element matching `selector`.
    async fn wait_element(&self, secs: u64, selector: &str, what: &str) {
        let condition = format!("document.querySelector({})", json!(selector));
        self.wait(secs, what, &condition).await;
    }

    /// Waits until the element matching `selector` is no longer hidden.
    async fn wait_shown(&self, secs: u64, selector: &str, what: &str) {
        let condition = format!("!document.querySelector({}).hidden", json!(selector));
        self.wait(secs, what, &condition).await;
    }

    /// Waits until the text of the element matching `selector` contains `text`.
    async fn wait_text(&self, secs: u64, selector: &str, text: &str, what: &str) {
        let condition = format!(
            "document.querySelector({}).textContent.includes({})",
            json!(selector),
            json!(text)
        );
        self.wait(secs, what, &condition).await;
    }

    /// Waits until the browser is at `path`.
    async fn wait_path(&self, secs: u64, path: &str, what: &str) {
        let condition = format!("location.pathname === {}", json!(path));
        self.wait(secs, what, &condition).await;
    }

    /// Waits up to 10 s until the page's live connection is open.
    async fn wait_live(&self, what: &str) {
        let open = "document.body.dataset.live === 'open'";
        self.wait(10, what, open).await;
    }

    async fn find(&self, selector: &str) -> chromiumoxide::Element {
        self.page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("find {selector}: {e}"))
    }

    async fn click(&self, selector: &str) {
        let element = self.find(selector).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    /// Signs in through the form at `login_path` and waits until `landed` holds.
    async fn sign_in(&self, login_path: &str, username: &str, landed: &str, what: &str) {
        self.goto(login_path).await;
        self.wait_element(10, "#login-form", "the sign-in form")
            .await;
        self.type_into("#username", username).await;
        self.type_into("#password", PASSWORD).await;
        self.click("#login-submit").await;
        self.wait(10, what, landed).await;
    }

    async fn type_into(&self, selector: &str, text: &str) {
        self.find(selector)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("focus {selector}: {e}"))
            .type_str(text)
            .await
            .unwrap_or_else(|e| panic!("type into {selector}: {e}"));
    }

    /// Replaces a field's value as a paste would, firing `input` like typing does.
    async fn fill(&self, selector: &str, text: &str) {
        let js = format!(
            "(() => {{ const el = document.querySelector({sel}); el.focus(); el.value = {val}; \
             el.dispatchEvent(new Event('input', {{ bubbles: true }})); return true; }})()",
            sel = json!(selector),
            val = json!(text)
        );
        let _: bool = self.eval(&js).await;
    }

    async fn text(&self, selector: &str) -> String {
        self.eval(&format!(
            "(document.querySelector({}) || {{}}).textContent || ''",
            json!(selector)
        ))
        .await
    }

    async fn path(&self) -> String {
        self.eval("location.pathname + location.search").await
    }

    async fn shot(&self, name: &str) {
        let path = self.shots.join(format!("{name}.png"));
        self.page
            .save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    }

    /// Only what fits on the screen (phone screenshots).
    async fn shot_screen(&self, name: &str) {
        let path = self.shots.join(format!("{name}.png"));
        self.page
            .save_screenshot(ScreenshotParams::builder().build(), &path)
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
    }

    async fn set_width(&self, width: u32, height: u32, mobile: bool) {
        self.page
            .execute(SetDeviceMetricsOverrideParams::new(
                i64::from(width),
                i64::from(height),
                1.0,
                mobile,
            ))
            .await
            .expect("resize the viewport");
    }
}

/// Templates, the demo policies (the legacy ten, two input guards, a shadow policy) and a month
/// of deterministic demo traffic, so every page has something to show; plus an enforced policy
/// that catches e-mail addresses in prompts.
async fn seed(app: &TestApp) -> i64 {
    let ids = sentinel_server::service::demo::seed_catalogue(&app.store, false)
        .await
        .expect("seed the catalogue");
    let mut traffic =
        sentinel_server::service::demo::DemoTraffic::new(7, 240, ids, chrono::Utc::now());
    app.store
        .seed_events(traffic.batch(240))
        .await
        .expect("seed events");
    let emails = PolicyCreate {
        severity: Severity::High,
        intervention_type: InterventionType::Redact,
        ..policy_create("E-mail addresses in prompts", PolicyCategory::Privacy)
    };
    app.enforced_policy(&emails).await.id
}

/// An `llm_request` event from `source`, titled `title`, triggered now.
fn live_event(event_id: &str, title: &str, source: &str) -> EventCreate {
    EventCreate {
        title: title.into(),
        trigger_date: Timestamp::now(),
        source: Some(source.into()),
        ..event_create(event_id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_end_to_end() {
    let app = spawn_app().await;
    let pii_policy = seed(&app).await;
    let ui = Ui::launch(&app).await;

    // Without a session every page sends the browser to the sign-in form, remembering where.
    ui.goto("/").await;
    let sign_in_form = "location.pathname === '/login' && document.querySelector('#login-form')";
    ui.wait(10, "the redirect to the sign-in page", sign_in_form)
        .await;
    assert_eq!(ui.path().await, "/login?next=%2F");

    ui.shot("login").await;

    // A wrong password is refused with the API's message.
    ui.type_into("#username", "root").await;
    ui.type_into("#password", "wrong password").await;
    ui.click("#login-submit").await;
    ui.wait_shown(10, "#login-error", "the sign-in error").await;
    assert!(
        ui.text("#login-error")
            .await
            .contains("Incorrect username or password")
    );
    ui.shot("login-error").await;

    // Log in through the form, with the keyboard.
    ui.fill("#password", "").await;
    ui.type_into("#password", PASSWORD).await;
    ui.find("#password").await.press_key("Enter").await.unwrap();
    ui.wait(10, "the overview after signing in", OVERVIEW).await;
    ui.wait_ready("the overview").await;
    let token_len: u64 = ui
        .eval("(sessionStorage.getItem('sentinel.access') || '').length")
        .await;
    assert!(token_len > 20, "the access token is kept in sessionStorage");
    assert_eq!(ui.text("#me-name").await, "root");

    // The stat cards show the API's figures.
    let stats = app.dashboard_stats().await;
    for (key, value) in [
        ("total_events", stats.total_events),
        ("events_last_24h", stats.events_last_24h),
        ("open_violations", stats.open_violations),
        ("critical_violations", stats.critical_violations),
        ("active_policies", stats.active_policies),
        ("total_policies", stats.total_policies),
    ] {
        let shown = ui
            .text(&format!("[data-stat={key}] .stat-value"))
            .await
            .replace([',', '.', '\u{a0}', ' '], "");
        assert_eq!(shown, value.to_string(), "stat {key}");
    }
    assert!(stats.total_events >= 240);
    // The timeline is an SVG chart with bars.
    let bars: u64 = ui
        .eval("document.querySelectorAll('#timeline svg rect').length")
        .await;
    assert!(bars > 0, "the timeline draws bars");
    let recent: u64 = ui
        .eval("document.querySelectorAll('#recent li a').length")
        .await;
    assert!(recent > 0, "recent activity is listed");
    ui.shot("overview").await;

    // New activity updates the overview without a reload.
    ui.wait_live("the overview's live connection").await;
    let total = stats.total_events;
    let translate = live_event("browser-e2e-0", "Translate the release notes", "DocBot");
    app.post_event(&translate).await.unwrap();
    let counted = format!(
        "document.querySelector('[data-stat=total_events] .stat-value').textContent.replace(/\\D/g, '') === '{}'",
        total + 1
    );
    ui.wait(5, "the event count to go up", &counted).await;

    // An access token about to expire is refreshed before the next call (the refresh token rotates).
    let before: String = ui.eval("sessionStorage.getItem('sentinel.refresh')").await;
    let _: bool = ui
        .eval("(sessionStorage.setItem('sentinel.expires', String(Date.now() + 5000)), true)")
        .await;
    ui.click("#refresh").await;
    ui.wait(
        5,
        "the token refresh",
        &format!(
            "sessionStorage.getItem('sentinel.refresh') !== {}",
            json!(before)
        ),
    )
    .await;
    let expires_in: f64 = ui
        .eval("Number(sessionStorage.getItem('sentinel.expires')) - Date.now()")
        .await;
    assert!(
        expires_in > 600_000.0,
        "a fresh access token: {expires_in} ms left"
    );
    // A rejected access token is refreshed and the call retried, without leaving the page.
    let _: bool = ui
        .eval("(sessionStorage.setItem('sentinel.access', 'not-a-token'), true)")
        .await;
    ui.click("#refresh").await;
    let refreshed = "sessionStorage.getItem('sentinel.access') !== 'not-a-token'";
    ui.wait(5, "the refresh after a 401", refreshed).await;
    assert_eq!(ui.path().await, "/");

    // The live feed shows a new violation within 2 s of the event being posted through the API.
    ui.open("/live").await;
    ui.wait_live("the live feed to connect").await;
    let posted = Instant::now();
    let leak = EventCreate {
        severity: Severity::High,
        model_name: Some("gpt-4o".into()),
        // Not "send the full record to <address>": the demo's injection guard reads that as an
        // exfiltration attempt and would block it.
        prompt: Some("Customer jane.doe@example.com asked where her order is.".into()),
        completion: Some("I can't share customer records by e-mail.".into()),
        ..live_event(
            "browser-e2e-1",
            "Support bot asked to mail a customer record",
            "SupportBot",
        )
    };
    let event_id = app.post_event(&leak).await.unwrap().id;
    ui.wait_element(
        2,
        "#feed li.feed-new_violation",
        "the violation in the live feed",
    )
    .await;
    let elapsed = posted.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(
        ui.text("#feed")
            .await
            .contains("Support bot asked to mail a customer record"),
        "the new event is in the feed too"
    );
    // A clean interaction shows up as an event only.
    let summary = "Summarise the quarterly report";
    let clean = EventCreate {
        prompt: Some("Summarise the attached quarterly report in five bullet points.".into()),
        ..live_event("browser-e2e-2", summary, "DocBot")
    };
    app.post_event(&clean).await.unwrap();
    ui.wait_text(2, "#feed", summary, "the clean event in the live feed")
        .await;
    assert_eq!(ui.text("#count-events").await, "2");
    // The leak breaches the test's e-mail policy and the demo's input guard on personal data
    // (enforced on every app): the feed counts every violation the API lists for it.
    let (_, violations) = app.list_violations(&format!("?event_id={event_id}")).await;
    assert!(violations.len() >= 2, "{violations:?}");
    assert_eq!(
        ui.text("#count-violations").await,
        violations.len().to_string()
    );
    ui.shot("live").await;

    // The violation of the test's policy, found through the API, is acknowledged in triage.
    let vid = violations
        .iter()
        .find(|v| v.policy_id == Some(pii_policy))
        .expect("a violation of the e-mail policy")
        .id;
    ui.open("/violations?status=detected").await;
    let row = |id: i64| format!("#violations-table tr[data-id='{id}']");
    let present = |id: i64| format!("!!document.querySelector(\"{}\")", row(id));
    ui.wait(5, "the violation's row", &present(vid)).await;
    ui.shot("violations").await;
    ui.click(&format!("{} button[data-action=acknowledged]", row(vid)))
        .await;
    // The acknowledged violation leaves the list of detected ones once it has reloaded.
    ui.wait(5, "the acknowledgement", &format!("!{}", present(vid)))
        .await;
    assert!(
        !ui.eval::<bool>("document.querySelector('#flash').hidden")
            .await
    );
    let after = app.get_violation(vid).await.unwrap();
    assert_eq!(after.status, ViolationStatus::Acknowledged);
    assert!(after.acknowledged_by.is_some());
    assert!(after.acknowledged_date.is_some());

    // Bulk actions: select two detected violations. The selection survives the list reloading
    // after a row action on a third, then both are marked as being investigated at once.
    let ids: Vec<i64> = ui
        .eval(
            "Array.from(document.querySelectorAll('input.pick')).slice(0, 2)\
             .map((b) => { b.click(); return Number(b.value); })",
        )
        .await;
    assert_eq!(
        ids.len(),
        2,
        "the seeded demo traffic has detected violations"
    );
    ui.wait(
        2,
        "the bulk bar with two selected",
        "!document.querySelector('#bulk').hidden \
         && document.querySelector('#bulk-count').textContent === '2'",
    )
    .await;
    ui.shot("violations-bulk").await;
    let third: i64 = ui
        .eval("Number(document.querySelectorAll('input.pick')[2].value)")
        .await;
    ui.click(&format!(
        "{} button[data-action=false_positive]",
        row(third)
    ))
    .await;
    let reloaded = format!("!{}", present(third));
    ui.wait(5, "the row action's reload", &reloaded).await;
    let still: Vec<i64> = ui
        .eval("Array.from(document.querySelectorAll('input.pick:checked')).map((b) => Number(b.value))")
        .await;
    assert_eq!(still, ids, "the selection survives the reload");
    assert_eq!(ui.text("#bulk-count").await, "2");
    ui.click("#bulk [data-bulk=investigating]").await;
    ui.wait(
        5,
        "the bulk update",
        &format!(
            "document.querySelector('#bulk').hidden && !{} && !{}",
            present(ids[0]),
            present(ids[1])
        ),
    )
    .await;
    for (id, status) in [
        (ids[0], ViolationStatus::Investigating),
        (ids[1], ViolationStatus::Investigating),
        (third, ViolationStatus::FalsePositive),
    ] {
        let v = app.get_violation(id).await.unwrap();
        assert_eq!(v.status, status, "violation {id}");
    }

    // The events explorer and the event's detail, with the finding highlighted in place.
    ui.open("/events").await;
    let rows: u64 = ui
        .eval("document.querySelectorAll('#events-table tbody a').length")
        .await;
    assert_eq!(rows, 25, "the first page of events");
    ui.shot("events").await;
    ui.open(&format!("/events/{event_id}")).await;
    ui.wait_element(5, "#event-prompt mark", "the highlighted finding")
        .await;
    assert_eq!(ui.text("#event-prompt mark").await, "jane.doe@example.com");
    ui.shot("event").await;

    // A policy with a syntax error shows the error with its line; fixed, it can be enabled.
    ui.open("/policies/new").await;
    ui.type_into("#p-name", "Secrets in completions").await;
    ui.fill(
        "#p-definition",
        "# Block credentials the model repeats\nresponse.completion has sentinelai.secrets\n  and scope.app in [SupportBot",
    )
    .await;
    ui.wait_element(5, "#p-validation .def-error", "the validation error")
        .await;
    let error = ui.text("#p-validation .def-error").await;
    assert!(
        error.contains("Line 3"),
        "the error names its line: {error}"
    );
    ui.shot("policy-error").await;
    // A broken draft may be saved; it cannot be enabled until it compiles.
    ui.click("#policy-save").await;
    let saved = "/^\\/policies\\/\\d+$/.test(location.pathname)";
    ui.wait(5, "the saved draft", saved).await;
    let new_id: i64 = ui.eval("Number(location.pathname.split('/').pop())").await;
    ui.fill(
        "#p-definition",
        "# Block credentials the model repeats\nresponse.completion has sentinelai.secrets\n  and scope.app in [SupportBot]",
    )
    .await;
    let valid = "document.querySelector('#p-validation').dataset.state === 'valid'";
    ui.wait(5, "the definition to validate", valid).await;
    ui.click("#policy-enable").await;
    let enabled = "document.querySelector('#policy-status').textContent === 'Open'";
    ui.wait(5, "the policy to be enabled", enabled).await;
    let policy = app.get_policy(new_id).await.unwrap();
    assert_eq!(policy.status, PolicyStatus::Open);
    assert!(policy.definition_errors.is_empty(), "{policy:?}");
    assert!(policy.definition.ends_with("[SupportBot]"));

    // Test a text against the e-mail policy: the finding and the redaction are shown.
    ui.open(&format!("/policies/{pii_policy}")).await;
    ui.type_into("#t-prompt", "Forward it to jane.doe@example.com please")
        .await;
    ui.click("#test-run").await;
    ui.wait_element(5, "#test-redacted", "the test result")
        .await;
    let redacted = ui.text("#test-redacted").await;
    assert!(
        !redacted.contains("jane.doe@example.com"),
        "redacted: {redacted}"
    );
    ui.shot("policy").await;

    // A shadow policy: the policies page shows what it would have blocked, and promotes it.
    let shadow = sentinel_api::policy::PolicyCreate {
        definition: r#"request.prompt contains "launch codes""#.into(),
        intervention_type: sentinel_api::InterventionType::Block,
        enforcement: sentinel_api::Enforcement::Shadow,
        ..client::policy_create(
            "Launch codes (shadow)",
            sentinel_api::PolicyCategory::Governance,
        )
    };
    let shadow = app.enforced_policy(&shadow).await;
    let answer = app
        .guard(&client::guard_request("what are the launch codes?"))
        .await
        .unwrap();
    assert_eq!(answer.decision, sentinel_api::Decision::Allow);
    ui.open("/policies").await;
    ui.wait_shown(5, "#shadow-card", "the shadow policies")
        .await;
    let row = format!("#shadow-table tbody tr[data-id='{}']", shadow.id);
    let counts = ui.text(&row).await;
    assert!(counts.contains("Launch codes (shadow)"), "{counts}");
    let would_block = ui
        .text(&format!("{row} td[data-label='Would block']"))
        .await;
    assert_eq!(would_block.trim(), "1");
    ui.shot("policies").await;
    // The row's buttons: "Backtest 7 days", then "Promote" (the green one).
    ui.click(&format!("{row} button.btn-success")).await;
    // The demo's own shadow policy stays in the table; the promoted one leaves it.
    let gone = format!("!document.querySelector(\"{row}\")");
    ui.wait(5, "the promoted policy to leave the shadow table", &gone)
        .await;
    let promoted = app.get_policy(shadow.id).await.unwrap();
    assert_eq!(promoted.enforcement, sentinel_api::Enforcement::Enforce);

    // The other pages load and show their data.
    ui.open("/policies").await;
    ui.open("/templates").await;
    let cards: u64 = ui.eval("document.querySelectorAll('.tpl').length").await;
    assert!(cards > 0, "templates are listed");
    ui.shot("templates").await;
    ui.open("/users").await;
    assert!(ui.text("#users-table").await.contains("root"));
    ui.type_into("#u-username", "sarah").await;
    ui.type_into("#u-email", "sarah@example.com").await;
    ui.type_into("#u-full", "Sarah Chen").await;
    ui.type_into("#u-password", "a long enough password").await;
    ui.click("#user-form button[type=submit]").await;
    let listed = "the new user in the list";
    ui.wait_text(10, "#users-table", "Sarah Chen", listed).await;
    ui.shot("users").await;
    ui.open("/keys").await;
    ui.type_into("#k-name", "support-bot ingest").await;
    ui.click("#key-form button[type=submit]").await;
    ui.wait_shown(5, "#new-key", "the new key").await;
    assert!(ui.text("#new-key-value").await.starts_with("snl_"));
    ui.shot("keys").await;
    ui.open("/audit").await;
    ui.click("#audit-verify").await;
    ui.wait_element(5, "#verify-ok", "the audit verification")
        .await;
    ui.shot("audit").await;

    // Phone width: the navigation collapses behind a button and tables stack.
    ui.set_width(390, 844, true).await;
    ui.open("/").await;
    let toggle_visible: bool = ui
        .eval("getComputedStyle(document.querySelector('.nav-toggle')).display !== 'none'")
        .await;
    assert!(toggle_visible, "the menu button shows at phone width");
    let nav_hidden: bool = ui
        .eval("getComputedStyle(document.querySelector('#nav')).display === 'none'")
        .await;
    assert!(nav_hidden, "the navigation is folded at phone width");
    let overflow: bool = ui
        .eval("document.documentElement.scrollWidth > window.innerWidth + 1")
        .await;
    assert!(!overflow, "no horizontal scrolling at phone width");
    ui.shot_screen("overview-phone").await;
    ui.click(".nav-toggle").await;
    let expanded: String = ui
        .eval("document.querySelector('.nav-toggle').getAttribute('aria-expanded')")
        .await;
    assert_eq!(expanded, "true", "the menu button opens the navigation");
    ui.shot_screen("menu-phone").await;
    ui.open("/violations").await;
    ui.shot_screen("violations-phone").await;
    ui.open(&format!("/policies/{new_id}")).await;
    ui.shot_screen("policy-phone").await;
    ui.set_width(WIDTH, HEIGHT, false).await;

    // Deleting a policy (after confirming) returns to the list, which no longer shows it.
    ui.open(&format!("/policies/{new_id}")).await;
    let _: bool = ui.eval("(window.confirm = () => true, true)").await;
    ui.click("#policy-delete").await;
    let listed = "location.pathname === '/policies' \
                  && !!document.querySelector('#policies-table tbody tr[data-id]')";
    ui.wait(5, "the policy list after the deletion", listed)
        .await;
    assert!(
        !ui.text("#policies-table")
            .await
            .contains("Secrets in completions"),
        "the deleted policy is no longer listed"
    );
    assert_eq!(
        app.get(&format!("/api/policies/{new_id}")).await.status(),
        404,
        "the policy is gone"
    );

    // Signing out forgets the tokens and returns to the sign-in page.
    ui.open("/").await;
    ui.click("#logout").await;
    ui.wait_path(5, "/login", "the sign-in page after signing out")
        .await;
    let signed_out: bool = ui
        .eval("sessionStorage.getItem('sentinel.access') === null")
        .await;
    assert!(signed_out, "signing out forgets the access token");

    // Credentials that no refresh can cure send the browser back to the sign-in page.
    let _: bool = ui
        .eval(
            "(sessionStorage.setItem('sentinel.access', 'bad'), sessionStorage.setItem('sentinel.refresh', 'bad'), \
             sessionStorage.setItem('sentinel.expires', String(Date.now() + 600000)), true)",
        )
        .await;
    ui.goto("/events").await;
    ui.wait_path(5, "/login", "the sign-in page after a 401")
        .await;
    assert_eq!(ui.path().await, "/login?next=%2Fevents");
    ui.close().await;
}

/// A gateway call's event shows what the gateway recorded: upstream, latency, time to first
/// token, what was redacted and restored, where it was blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_page_shows_a_gateway_call() {
    let app = spawn_app().await;
    let metadata = serde_json::json!({
        "gateway": true, "api": "openai", "operation": "chat.completions",
        "upstream": "openai-prod", "stream": true, "upstream_status": 200,
        "upstream_latency_ms": 812.5, "time_to_first_token_ms": 143.25,
        "sentinel_added_ms": 0.42, "cost_usd": 0.000123, "texts": {"system": 1, "user": 2},
        "scanned": true, "redacted_in": 1, "redacted_out": 2, "restored_out": 3,
        "blocked_at": "response", "delivered_chars": 57,
    });
    let event = app
        .create_event(
            "gw-1",
            serde_json::json!({"metadata": metadata, "source": "support-bot"}),
        )
        .await;
    let plain = app.create_event("plain-1", serde_json::json!({})).await;
    let ui = Ui::launch(&app).await;
    ui.sign_in(
        "/login",
        "root",
        "location.pathname === '/'",
        "the overview",
    )
    .await;
    ui.open(&format!("/events/{}", helpers::id_of(&event)))
        .await;
    ui.wait_shown(10, "#event-gateway", "the gateway card")
        .await;
    let card = ui.text("#event-gateway").await;
    for shown in [
        "openai-prod",
        "openai · chat.completions",
        "143 ms",
        "0.42 ms",
        "$0.000123",
        "1 system, 2 user",
        "1 in / 2 out",
        "response, after 57 characters",
    ] {
        assert!(
            card.contains(shown),
            "`{shown}` not in the gateway card: {card}"
        );
    }
    ui.open(&format!("/events/{}", helpers::id_of(&plain)))
        .await;
    ui.wait_ready("the plain event").await;
    let hidden: bool = ui
        .eval("document.querySelector('#event-gateway').hidden")
        .await;
    assert!(
        hidden,
        "an event that is not a gateway call has no gateway card"
    );
    ui.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_no_controls_they_cannot_use() {
    let app = spawn_app().await;
    seed(&app).await;
    helpers::add_user(&app.store, "vera", sentinel_api::UserRole::Viewer).await;
    let ui = Ui::launch(&app).await;
    ui.sign_in(
        "/login?next=%2Fviolations",
        "vera",
        "location.pathname === '/violations'",
        "the page asked for before signing in",
    )
    .await;
    ui.wait_ready("the violations").await;
    let rows: u64 = ui
        .eval("document.querySelectorAll('#violations-table tbody tr[data-id]').length")
        .await;
    assert!(rows > 0, "viewers read violations");
    let visible: u64 = ui
        .eval(
            "Array.from(document.querySelectorAll('.analyst-only, .admin-only'))\
             .filter((e) => getComputedStyle(e).display !== 'none').length",
        )
        .await;
    assert_eq!(
        visible, 0,
        "no triage, authoring or admin controls for a viewer"
    );
    ui.open("/users").await;
    assert!(
        ui.text("main")
            .await
            .contains("Only administrators can see this page.")
    );
    ui.close().await;
}

#[tokio::test]
async fn browsers_get_the_dashboard_and_clients_the_json() {
    let app = spawn_app().await;
    let res = app
        .anon
        .get(app.url("/"))
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").starts_with("text/html"));
    assert!(header(&res, "content-security-policy").contains("default-src 'self'"));
    let html = res.text().await.unwrap();
    assert!(html.contains("data-page=\"overview\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );

    for accept in [None, Some("*/*"), Some("application/json")] {
        let mut req = app.anon.get(app.url("/"));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let res = req.send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["docs"], "/docs", "Accept: {accept:?}");
    }

    // Pages are public shells; assets are embedded; unknown ids and assets are HTML 404s.
    for path in [
        "/login",
        "/live",
        "/events",
        "/events/1",
        "/violations",
        "/policies",
        "/policies/new",
        "/policies/3",
        "/templates",
        "/users",
        "/keys",
        "/webhooks",
        "/audit",
    ] {
        let res = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("/assets/app.js"), "{path}");
    }
    for (path, mime) in [
        ("/assets/app.js", "application/javascript"),
        ("/assets/app.css", "text/css"),
        ("/assets/logo.svg", "image/svg+xml"),
    ] {
        let res = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(header(&res, "content-type").starts_with(mime));
    }
    for path in ["/events/abc", "/policies/0", "/assets/nope.js"] {
        let res = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    // The API keeps its JSON 404.
    let res = app.anon.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "Not Found");
}

/// Every request a page made, and every response status it got, as Chromium reports them.
#[derive(Default)]
struct NetworkLog {
    requests: Vec<String>,
    responses: Vec<(String, i64)>,
}

/// Records the tab's network traffic until the returned tasks are aborted.
async fn record_network(
    page: &Page,
) -> (
    std::sync::Arc<std::sync::Mutex<NetworkLog>>,
    [tokio::task::JoinHandle<()>; 2],
) {
    use chromiumoxide::cdp::browser_protocol::network::{
        EventRequestWillBeSent, EventResponseReceived,
    };
    let log = std::sync::Arc::new(std::sync::Mutex::new(NetworkLog::default()));
    let mut requests = page
        .event_listener::<EventRequestWillBeSent>()
        .await
        .expect("listen for requests");
    let mut responses = page
        .event_listener::<EventResponseReceived>()
        .await
        .expect("listen for responses");
    let into = log.clone();
    let r = tokio::spawn(async move {
        while let Some(e) = requests.next().await {
            into.lock().unwrap().requests.push(e.request.url.clone());
        }
    });
    let into = log.clone();
    let s = tokio::spawn(async move {
        while let Some(e) = responses.next().await {
            into.lock()
                .unwrap()
                .responses
                .push((e.response.url.clone(), e.response.status));
        }
    });
    (log, [r, s])
}

/// Issue 16: no page Sentinel serves (dashboard, Swagger UI, ReDoc, error pages) makes a request
/// to another host, and none gets an error response that the test did not ask for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_requests_another_origin() {
    let app = spawn_app().await;
    let pii_policy = seed(&app).await;
    let ui = Ui::launch(&app).await;
    let (log, recorders) = record_network(&ui.page).await;

    ui.sign_in("/login", "root", OVERVIEW, "the overview after signing in")
        .await;
    ui.wait_ready("the overview").await;

    let dashboard = [
        "/".to_owned(),
        "/live".to_owned(),
        "/events".to_owned(),
        "/events/1".to_owned(),
        "/violations".to_owned(),
        "/policies".to_owned(),
        "/policies/new".to_owned(),
        format!("/policies/{pii_policy}"),
        "/templates".to_owned(),
        "/users".to_owned(),
        "/keys".to_owned(),
        "/webhooks".to_owned(),
        "/audit".to_owned(),
        "/reports".to_owned(),
        "/usage".to_owned(),
    ];
    for path in &dashboard {
        ui.open(path).await;
    }
    // The HTML 404 page, asked for on purpose.
    ui.goto("/events/abc").await;
    ui.wait(10, "the 404 page", "document.readyState === 'complete'")
        .await;
    ui.goto("/docs").await;
    let rendered = "!!document.querySelector('.swagger-ui .info .title')";
    ui.wait(20, "Swagger UI to render the document", rendered)
        .await;
    ui.goto("/redoc").await;
    // The footer logo is the one image ReDoc loads; wait until it has loaded.
    ui.wait(20, "ReDoc to render, footer logo included", "(() => { const i = document.querySelector('img[alt=\"redocly logo\"]'); \
         return !!document.querySelector('.api-content') && !!i && i.complete && i.naturalWidth > 0; })()")
    .await;
    ui.goto("/favicon.ico").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for task in recorders {
        task.abort();
    }
    ui.close().await;

    let log = log.lock().unwrap();
    let origin = format!("http://{}", app.addr);
    let same_origin = |url: &str| {
        url == origin
            || url.starts_with(&format!("{origin}/"))
            || url.starts_with("data:")
            || url.starts_with("blob:")
            || url == "about:blank"
    };
    assert!(
        log.requests.len() > 20,
        "the recorder saw only {} requests: is it listening?",
        log.requests.len()
    );
    for path in dashboard
        .iter()
        .chain(["/docs".to_owned(), "/redoc".to_owned()].iter())
    {
        let url = format!("{origin}{path}");
        assert!(
            log.requests.contains(&url),
            "{path} was not loaded: {:?}",
            log.requests
        );
    }
    assert!(
        log.requests
            .iter()
            .any(|u| u.ends_with("/assets/logo.svg") || u.ends_with("/favicon.ico")),
        "the ReDoc footer logo comes from our origin"
    );
    let foreign: Vec<&String> = log.requests.iter().filter(|u| !same_origin(u)).collect();
    assert!(
        foreign.is_empty(),
        "requests to another origin: {foreign:?}"
    );
    let expected_errors = [format!("{origin}/events/abc")];
    let errors: Vec<&(String, i64)> = log
        .responses
        .iter()
        .filter(|(url, status)| *status >= 400 && !expected_errors.contains(url))
        .collect();
    assert!(errors.is_empty(), "unexpected error responses: {errors:?}");
    assert!(
        log.responses
            .iter()
            .any(|(url, status)| url == &expected_errors[0] && *status == 404),
        "the 404 page was asked for on purpose and must be a 404"
    );
}

/// The report page shows the figures of the JSON report for the same framework and period, and
/// its PDF button downloads a PDF (the bytes the button hands to the browser start `%PDF-`); the
/// usage page draws its charts from the usage API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_page_matches_the_json_and_downloads_the_pdf() {
    let app = spawn_app().await;
    seed(&app).await;
    let today = chrono::Utc::now().date_naive();
    let since = (today - chrono::Duration::days(30)).to_string();
    let until = (today + chrono::Duration::days(1)).to_string();
    let report: Value = app
        .get_ok(&format!(
            "/api/reports/compliance?framework=eu-ai-act&since={since}T00:00:00Z&until={until}T00:00:00Z"
        ))
        .await;
    assert!(
        report["incidents"]["total"].as_u64().unwrap() > 0,
        "{report}"
    );

    let ui = Ui::launch(&app).await;
    ui.sign_in("/login", "root", OVERVIEW, "the overview").await;
    // Reached from the navigation.
    ui.click("nav a[href='/reports']").await;
    ui.wait_path(10, "/reports", "the report page from the nav")
        .await;
    ui.wait_ready("the report page").await;
    ui.open(&format!(
        "/reports?framework=eu-ai-act&since={since}&until={until}"
    ))
    .await;
    let figure = |name: &str| format!("[data-figure={name}] .stat-value");
    let total = report["incidents"]["total"].as_u64().unwrap();
    let shown = format!("{}", total);
    ui.wait(
        10,
        "the incidents figure",
        &format!(
            "document.querySelector({}).textContent.replace(/[^0-9]/g, '') === {}",
            json!(figure("incidents")),
            json!(shown)
        ),
    )
    .await;
    let covered = format!(
        "{} of {}",
        report["coverage"]["covered"],
        report["coverage"]["controls"].as_array().unwrap().len()
    );
    assert_eq!(ui.text(&figure("covered")).await, covered);
    // Signing in wrote audit entries since: the head is the one of a report asked for now.
    let now: Value = app
        .get_ok(&format!(
            "/api/reports/compliance?framework=eu-ai-act&since={since}T00:00:00Z&until={until}T00:00:00Z"
        ))
        .await;
    assert_eq!(
        ui.text("#head-hash").await,
        now["integrity"]["head_hash"].as_str().unwrap()
    );
    let rows: u64 = ui
        .eval("document.querySelectorAll('#coverage-table tbody tr').length")
        .await;
    assert_eq!(
        rows as usize,
        report["coverage"]["controls"].as_array().unwrap().len()
    );
    assert!(
        ui.text("#report-heading")
            .await
            .contains("edition 2024/1689")
    );

    // The PDF button: catch the file the page hands to the browser and read its bytes.
    let _: bool = ui
        .eval(
            "(() => { window.__download = null; window.__blob = null; \
             const make = URL.createObjectURL; \
             URL.createObjectURL = (b) => { window.__blob = b; return make(b); }; \
             HTMLAnchorElement.prototype.click = function () { \
               const name = this.download; \
               window.__blob.arrayBuffer().then((buf) => { \
                 const u = new Uint8Array(buf); \
                 window.__download = { name, head: String.fromCharCode(...u.slice(0, 5)), size: u.length }; \
               }); }; return true; })()",
        )
        .await;
    ui.click("[data-download=pdf]").await;
    ui.wait(20, "the PDF download", "window.__download !== null")
        .await;
    let download: Value = ui.eval("window.__download").await;
    assert_eq!(download["head"], "%PDF-", "{download}");
    assert!(download["size"].as_u64().unwrap() > 10_000, "{download}");
    let name = download["name"].as_str().unwrap();
    assert!(
        name.starts_with("compliance-eu-ai-act-") && name.ends_with(".pdf"),
        "{name}"
    );
    ui.shot("report").await;

    // The usage page: its figures are the usage API's, and the day chart has bars.
    let usage: Value = app.get_ok("/api/reports/usage?group_by=app").await;
    ui.open("/usage").await;
    let events = usage["total"]["events"].as_u64().unwrap();
    assert!(events > 0);
    ui.wait(
        10,
        "the usage figures",
        &format!(
            "document.querySelector({}).textContent.replace(/[^0-9]/g, '') === {}",
            json!(figure("events")),
            json!(events.to_string())
        ),
    )
    .await;
    let bars: u64 = ui
        .eval("document.querySelectorAll('#usage-days svg rect').length")
        .await;
    assert!(bars > 0, "no bars in the day chart");
    let apps: u64 = ui
        .eval("document.querySelectorAll('#usage-app .bar-row').length")
        .await;
    assert_eq!(
        apps as usize,
        usage["rows"].as_array().unwrap().len().min(12)
    );
    ui.shot("usage").await;
    ui.close().await;
}

/// One request the stand-in webhook receiver answered.
#[derive(Debug, Clone)]
struct Hook {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Hook {
    /// Whether one of its `v1,` signatures is the HMAC-SHA256 of `secret` (checked here, not by
    /// the server's code).
    fn signed_with(&self, secret: &str) -> bool {
        use base64::Engine;
        use hmac::Mac;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        self.signature.split(' ').any(|sig| {
            let Some(given) = sig.strip_prefix("v1,").and_then(|s| b64.decode(s).ok()) else {
                return false;
            };
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
            mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
            mac.update(&self.body);
            mac.verify_slice(&given).is_ok()
        })
    }
}

/// A stand-in webhook endpoint on 127.0.0.1 that answers `202 received` and keeps every request.
async fn hook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Hook>>>) {
    let got: std::sync::Arc<std::sync::Mutex<Vec<Hook>>> = Default::default();
    let into = got.clone();
    let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let into = into.clone();
        async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            into.lock().unwrap().push(Hook {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                body: body.to_vec(),
            });
            (axum::http::StatusCode::ACCEPTED, "received")
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    (format!("http://{addr}/hook"), got)
}

/// Issue 14: an admin adds a webhook endpoint in the dashboard, sees its secret once, sends a
/// test event and sees it delivered in the log, redelivers it, edits the filters, switches the
/// endpoint off and on, rotates the secret and deletes the endpoint. The receiver checks every
/// signature against the secret the page showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_page_manages_endpoints_and_their_deliveries() {
    let app = helpers::spawn_app_with(sentinel_server::Settings {
        webhooks: sentinel_server::settings::WebhookSettings {
            allow_private_hosts: vec!["127.0.0.1".into()],
            poll_ms: 50,
            retry_first_seconds: 0.1,
            retry_max_seconds: 0.4,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let policy = app
        .enforced_policy(&policy_create(
            "E-mail addresses in prompts",
            PolicyCategory::Privacy,
        ))
        .await
        .id;
    let (url, got) = hook_receiver().await;
    let received = || got.lock().unwrap().clone();
    let ui = Ui::launch(&app).await;
    ui.sign_in("/login", "root", OVERVIEW, "the overview").await;
    ui.wait_ready("the overview").await;
    // Reached from the admin navigation.
    ui.click("nav a[href='/webhooks']").await;
    ui.wait_path(10, "/webhooks", "the webhooks page from the nav")
        .await;
    ui.wait_ready("the webhooks page").await;
    assert!(
        ui.text("#webhooks-table")
            .await
            .contains("No endpoints yet.")
    );

    // Add an endpoint: the secret is shown once, with a way to copy it.
    ui.fill("#w-url", &url).await;
    ui.type_into("#w-description", "SOC on-call").await;
    ui.click("#webhook-form input[value=new_violation]").await;
    ui.click("#w-submit").await;
    ui.wait_shown(10, "#new-secret", "the new endpoint's secret")
        .await;
    let secret = ui.text("#new-secret-value").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    ui.click("#copy-secret").await;
    ui.wait(
        5,
        "the copy hint",
        "document.querySelector('#copy-state').textContent !== ''",
    )
    .await;
    ui.wait_text(
        10,
        "#webhooks-table",
        "SOC on-call",
        "the new endpoint in the list",
    )
    .await;
    let listed: Value = app.get_ok("/api/webhooks/").await;
    let id = listed[0]["id"].as_i64().unwrap();
    assert_eq!(listed[0]["url"], url.as_str());
    assert_eq!(listed[0]["message_types"], json!(["new_violation"]));
    assert_eq!(listed[0]["enabled"], true);
    assert!(
        !listed.to_string().contains(&secret),
        "the API never returns it again"
    );
    ui.shot("webhooks-created").await;

    // Once: gone after a reload.
    ui.open("/webhooks").await;
    let hidden: bool = ui
        .eval("document.querySelector('#new-secret').hidden")
        .await;
    let page: String = ui.eval("document.body.innerText").await;
    assert!(
        hidden && !page.contains(&secret),
        "the secret is shown only once"
    );

    // The delivery log; a test event is delivered and logged with its answer.
    let row = format!("#webhooks-table tbody tr[data-id='{id}']");
    ui.click(&format!("{row} button[data-action=deliveries]"))
        .await;
    ui.wait_shown(10, "#deliveries", "the delivery log").await;
    ui.wait_text(10, "#deliveries-table", "No deliveries yet", "an empty log")
        .await;
    assert_eq!(ui.path().await, format!("/webhooks?endpoint={id}"));
    ui.click("#send-test").await;
    let delivered = "#deliveries-table tbody tr[data-status=succeeded]";
    ui.wait_element(15, delivered, "the test event delivered")
        .await;
    let cell = |label: &str| format!("{delivered} td[data-label='{label}']");
    assert_eq!(ui.text(&cell("HTTP")).await, "202");
    assert_eq!(ui.text(&cell("Attempts")).await, "1");
    assert!(ui.text(&cell("Answer")).await.contains("received"));
    assert!(ui.text(&cell("Latency")).await.ends_with(" ms"));
    assert!(ui.text(&cell("Status")).await.contains("Succeeded"));
    let hooks = received();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let body: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(body["type"], "test");
    assert!(
        hooks[0].signed_with(&secret),
        "signed with the secret shown"
    );
    assert!(ui.text(&cell("Message")).await.contains(&hooks[0].id));

    // Redeliver: a second delivery of the same message, also delivered.
    ui.click(&format!("{delivered} button[data-action=redeliver]"))
        .await;
    ui.wait(
        15,
        "the redelivery delivered",
        "document.querySelectorAll('#deliveries-table tbody tr[data-status=succeeded]').length === 2",
    )
    .await;
    let hooks = received();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!(hooks[1].id, hooks[0].id, "the same webhook-id");
    assert!(hooks[1].signed_with(&secret));
    ui.shot("webhooks").await;

    // Edit the filters.
    ui.click(&format!("{row} button[data-action=edit]")).await;
    ui.wait_text(5, "#w-heading", "Edit", "the form in edit mode")
        .await;
    ui.fill("#w-description", "SOC pager").await;
    let _: bool = ui
        .eval(&format!(
            "(() => {{ document.querySelector('#w-policies option[value=\"{policy}\"]').selected = true; \
             document.querySelector('#w-severity').value = 'high'; \
             document.querySelector('#webhook-form input[value=violation_updated]').checked = true; return true; }})()"
        ))
        .await;
    ui.fill("#w-apps", "chatbot, support-bot").await;
    ui.click("#w-submit").await;
    ui.wait_text(10, "#webhooks-table", "SOC pager", "the changed endpoint")
        .await;
    let changed: Value = app.get_ok(&format!("/api/webhooks/{id}")).await;
    assert_eq!(changed["description"], "SOC pager");
    assert_eq!(changed["policy_ids"], json!([policy]));
    assert_eq!(changed["min_severity"], "high");
    assert_eq!(changed["apps"], json!(["chatbot", "support-bot"]));
    assert_eq!(
        changed["message_types"],
        json!(["new_violation", "violation_updated"])
    );
    assert_eq!(changed["url"], url.as_str(), "unchanged");
    let sends = ui.text(&format!("{row} td[data-label='Sends']")).await;
    assert!(
        sends.contains("E-mail addresses in prompts") && sends.contains("high and above"),
        "{sends}"
    );

    // Off and on.
    ui.click(&format!("{row} button[data-action=disable]"))
        .await;
    ui.wait_text(
        10,
        &format!("{row} td[data-label='Status']"),
        "Disabled",
        "disabled",
    )
    .await;
    let off: Value = app.get_ok(&format!("/api/webhooks/{id}")).await;
    assert_eq!(off["enabled"], false);
    ui.click(&format!("{row} button[data-action=enable]")).await;
    ui.wait_text(
        10,
        &format!("{row} td[data-label='Status']"),
        "Enabled",
        "enabled again",
    )
    .await;

    // Rotate: a new secret, shown once; the next delivery is signed with both.
    let _: bool = ui
        .eval("(() => { window.confirm = () => true; return true; })()")
        .await;
    ui.click(&format!("{row} button[data-action=rotate]")).await;
    ui.wait(
        10,
        "the rotated secret",
        &format!(
            "(() => {{ const t = document.querySelector('#new-secret-value').textContent; \
             return t.startsWith('whsec_') && t !== {}; }})()",
            json!(secret)
        ),
    )
    .await;
    let rotated = ui.text("#new-secret-value").await;
    ui.wait_text(
        10,
        &format!("{row} td[data-label='Status']"),
        "previous secret",
        "the overlap",
    )
    .await;
    ui.click("#send-test").await;
    ui.wait(
        15,
        "the second test event delivered",
        "document.querySelectorAll('#deliveries-table tbody tr[data-status=succeeded]').length === 3",
    )
    .await;
    let hooks = received();
    assert_eq!(hooks.len(), 3);
    assert!(hooks[2].signed_with(&rotated) && hooks[2].signed_with(&secret));

    // Delete (confirmed): the endpoint and its log are gone.
    ui.click(&format!("{row} button[data-action=delete]")).await;
    ui.wait_text(
        10,
        "#webhooks-table",
        "No endpoints yet.",
        "the endpoint deleted",
    )
    .await;
    let hidden: bool = ui
        .eval("document.querySelector('#deliveries').hidden")
        .await;
    assert!(hidden, "the deleted endpoint's log is closed");
    let res = app.get(&format!("/api/webhooks/{id}")).await;
    assert_eq!(res.status(), 404);
    ui.close().await;
}
