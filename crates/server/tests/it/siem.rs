//! SIEM sinks (docs/ALERTS.md, "SIEM sinks"): records reach real receivers in order, a down
//! receiver gets everything once it recovers, files rotate without losing a line, a restart
//! resumes from the cursor, the outbox is pruned behind the slowest reader, decisions are
//! written only when a sink asks for them, and with several nodes one sends per sink (a lease),
//! another taking over when it stops or dies.
//!
//! The rsyslog tests need Debian's `rsyslog` and `rsyslog-gnutls` (`.ci/run` installs them and
//! runs them with `--ignored`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sentinel_server::Settings;
use sentinel_server::settings::{
    SiemSettings, SinkFormat, SinkMessageType, SinkSettings, SinkTransport, SyslogProtocol,
};
use sentinel_server::siem::format::parse_cef;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with, spawn_second_node_with};
use crate::webhooks::{email_policy, violate};

fn sink(
    name: &str,
    format: SinkFormat,
    types: &[SinkMessageType],
    t: SinkTransport,
) -> SinkSettings {
    SinkSettings {
        name: name.into(),
        format,
        message_types: types.to_vec(),
        min_severity: None,
        transport: t,
    }
}

fn settings_with(sinks: Vec<SinkSettings>) -> Settings {
    Settings {
        siem: SiemSettings {
            poll_ms: 50,
            batch: 7,
            retry_first_seconds: 0.1,
            retry_max_seconds: 0.5,
            timeout_seconds: 3.0,
            // Short, so a node that starts while another's lease is left waits little.
            lease_seconds: 10.0,
            sinks,
            ..SiemSettings::default()
        },
        ..Settings::default()
    }
}

fn file_transport(path: &Path, max_bytes: u64, keep_files: usize) -> SinkTransport {
    SinkTransport::File {
        path: path.to_owned(),
        max_bytes,
        keep_files,
    }
}

/// The lines of `path` and of its rotated files, oldest first.
fn file_lines(path: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = (1..=1000)
        .map(|n| sentinel_server::siem::transport::rotated(path, n))
        .filter(|p| p.exists())
        .collect();
    files.reverse();
    files.push(path.to_owned());
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// Polls `check` until it returns `Some`, or fails after `within`.
async fn eventually<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ids of the audit entries in the store, oldest first.
async fn audit_ids(app: &TestApp) -> Vec<i64> {
    let res = app.get("/api/audit/?limit=1000").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let items = body.as_array().cloned().unwrap_or_default();
    let mut ids: Vec<i64> = items.iter().filter_map(|e| e["id"].as_i64()).collect();
    ids.sort_unstable();
    ids
}

/// The `data.id` of every JSON-lines record of type `audit`, in arrival order.
fn audit_ids_in(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter(|r| r["type"] == "audit")
        .map(|r| r["data"]["id"].as_i64().expect("an audit id"))
        .collect()
}

/// Every id once, in the order first seen; and how many repeats there were.
fn dedup(ids: &[i64]) -> (Vec<i64>, usize) {
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    let repeats = ids.len() - firsts.len();
    (firsts, repeats)
}

#[tokio::test]
async fn a_file_sink_rotates_by_size_and_loses_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("siem.jsonl");
    let app = spawn_app_with(settings_with(vec![sink(
        "archive",
        SinkFormat::Json,
        &[SinkMessageType::Audit],
        file_transport(&path, 4096, 100),
    )]))
    .await;
    for i in 0..25 {
        app.create_policy(&format!("p{i}"), "privacy").await;
    }
    let expected = audit_ids(&app).await;
    assert!(expected.len() >= 25, "{expected:?}");
    let lines = eventually(
        Duration::from_secs(20),
        "every audit entry in the files",
        || {
            let lines = file_lines(&path);
            (audit_ids_in(&lines).len() >= expected.len()).then_some(lines)
        },
    )
    .await;
    assert_eq!(
        audit_ids_in(&lines),
        expected,
        "in order, no gap, no repeat"
    );
    assert!(
        sentinel_server::siem::transport::rotated(&path, 2).exists(),
        "the file rotated more than once"
    );
    for n in 1..=3 {
        let size = std::fs::metadata(sentinel_server::siem::transport::rotated(&path, n))
            .unwrap()
            .len();
        assert!(size <= 4096, "rotated file {n} is {size} bytes");
    }
}

/// A stand-in Splunk HTTP Event Collector: checks the token, answers 500 to the first
/// `fail_first` requests, and keeps the events of the others, answering each `answer_after` it
/// has kept them.
#[derive(Clone, Default)]
struct Hec {
    token: String,
    fail_first: usize,
    answer_after: Duration,
    requests: Arc<Mutex<usize>>,
    refused: Arc<Mutex<usize>>,
    events: Arc<Mutex<Vec<Value>>>,
}

async fn hec_collect(State(hec): State<Hec>, headers: HeaderMap, body: String) -> StatusCode {
    let n = {
        let mut r = hec.requests.lock().unwrap();
        *r += 1;
        *r
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Splunk {}", hec.token) {
        *hec.refused.lock().unwrap() += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if n <= hec.fail_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    // Concatenated JSON objects, one envelope per event.
    let stream = serde_json::Deserializer::from_str(&body).into_iter::<Value>();
    {
        let mut events = hec.events.lock().unwrap();
        for envelope in stream {
            events.push(envelope.expect("a JSON envelope"));
        }
    }
    tokio::time::sleep(hec.answer_after).await;
    StatusCode::OK
}

/// The audit ids of the OCSF API Activity records a [`Hec`] kept, in arrival order.
fn hec_audit_ids(hec: &Hec) -> Vec<i64> {
    hec.events
        .lock()
        .unwrap()
        .iter()
        .map(|e| &e["event"])
        .filter(|e| e["class_uid"] == 6003)
        .map(|e| e["unmapped"]["audit_id"].as_i64().expect("an audit id"))
        .collect()
}

async fn start_hec(hec: Hec) -> String {
    let app = axum::Router::new()
        .route(
            "/services/collector/event",
            axum::routing::post(hec_collect),
        )
        .with_state(hec);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn splunk_hec_gets_every_record_in_order_after_answering_500() {
    // The token comes from the environment variable the config names; cargo sets this one
    // for every test process (the tests cannot set variables: `unsafe_code` is forbidden).
    let token = std::env::var("CARGO_PKG_NAME").expect("cargo sets CARGO_PKG_NAME");
    let hec = Hec {
        token: token.clone(),
        fail_first: 3,
        ..Hec::default()
    };
    let url = start_hec(hec.clone()).await;
    let app = spawn_app_with(settings_with(vec![sink(
        "splunk",
        SinkFormat::Ocsf,
        &[SinkMessageType::Audit, SinkMessageType::NewViolation],
        SinkTransport::Splunk {
            url,
            token_env: "CARGO_PKG_NAME".into(),
            index: Some("sentinel".into()),
            sourcetype: None,
        },
    )]))
    .await;
    email_policy(&app).await;
    for i in 0..4 {
        violate(&app, &format!("hec-{i}")).await;
    }
    for i in 0..6 {
        app.create_policy(&format!("hec-p{i}"), "privacy").await;
    }
    let expected = audit_ids(&app).await;
    let events = eventually(Duration::from_secs(20), "every record at the HEC", || {
        let events = hec.events.lock().unwrap().clone();
        let audits = events
            .iter()
            .filter(|e| e["event"]["class_uid"] == 6003)
            .count();
        (audits >= expected.len()).then_some(events)
    })
    .await;
    assert!(
        *hec.requests.lock().unwrap() > 3,
        "it retried after the 500s"
    );
    assert_eq!(
        *hec.refused.lock().unwrap(),
        0,
        "the token was always right"
    );
    let audits: Vec<i64> = events
        .iter()
        .filter(|e| e["event"]["class_uid"] == 6003)
        .map(|e| e["event"]["unmapped"]["audit_id"].as_i64().unwrap())
        .collect();
    assert_eq!(audits, expected, "every audit entry, in order, once");
    let findings: Vec<&Value> = events
        .iter()
        .map(|e| &e["event"])
        .filter(|e| e["class_uid"] == 2004)
        .collect();
    assert_eq!(findings.len(), 4, "one Detection Finding per violation");
    for f in &findings {
        assert_eq!(f["metadata"]["version"], "1.3.0");
        assert_eq!(f["activity_id"], 1);
        assert!(f["severity_id"].as_i64().unwrap() >= 1);
        assert!(
            f["time"].as_i64().unwrap() > 1_700_000_000_000,
            "milliseconds"
        );
        assert!(
            f["finding_info"]["uid"]
                .as_str()
                .unwrap()
                .starts_with("violation-")
        );
        assert!(
            !f.to_string().contains("alice@example.com"),
            "never the prompt text"
        );
    }
    for e in &events {
        assert_eq!(e["index"], "sentinel");
        assert_eq!(e["source"], "sentinel");
    }
}

#[tokio::test]
async fn a_missing_hec_token_is_an_error_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_with(vec![sink(
        "splunk",
        SinkFormat::Json,
        &[],
        SinkTransport::Splunk {
            url: "http://127.0.0.1:9".into(),
            token_env: "SENTINEL_TEST_SURELY_UNSET_HEC_TOKEN".into(),
            index: None,
            sourcetype: None,
        },
    )]);
    settings.bind = "127.0.0.1:0".into();
    settings.data_dir = dir.path().to_owned();
    let err = sentinel_server::Application::build(settings)
        .await
        .err()
        .expect("the boot fails");
    let text = format!("{err}");
    assert!(
        text.contains("SENTINEL_TEST_SURELY_UNSET_HEC_TOKEN") && text.contains("splunk"),
        "{text}"
    );
}

#[tokio::test]
async fn a_restarted_sink_resumes_from_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resume.jsonl");
    let sinks = vec![sink(
        "resume",
        SinkFormat::Json,
        &[SinkMessageType::Audit],
        file_transport(&path, 1 << 20, 2),
    )];
    // The database holder runs no sink; the sink runs on a node started and stopped beside it.
    let app = spawn_app_with(Settings::default()).await;
    let first = spawn_second_node_with(&app, settings_with(sinks.clone())).await;
    for i in 0..5 {
        app.create_policy(&format!("r{i}"), "privacy").await;
    }
    let before = audit_ids(&app).await;
    eventually(Duration::from_secs(20), "the first node's records", || {
        (audit_ids_in(&file_lines(&path)).len() >= before.len()).then_some(())
    })
    .await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Written while no sink runs.
    for i in 5..12 {
        app.create_policy(&format!("r{i}"), "privacy").await;
    }
    let delivered_while_down = audit_ids_in(&file_lines(&path)).len();
    assert_eq!(
        delivered_while_down,
        before.len(),
        "nothing sent while stopped"
    );
    let _second = spawn_second_node_with(&app, settings_with(sinks)).await;
    let expected = audit_ids(&app).await;
    let ids = eventually(
        Duration::from_secs(20),
        "the rest after the restart",
        || {
            let ids = audit_ids_in(&file_lines(&path));
            (dedup(&ids).0.len() >= expected.len()).then_some(ids)
        },
    )
    .await;
    let (firsts, repeats) = dedup(&ids);
    assert_eq!(firsts, expected, "no gap, in order");
    assert_eq!(
        repeats, 0,
        "a clean stop saved the cursor: nothing sent twice"
    );
}

/// A stop that comes while a send is under way lets it finish and records it: the receiver below
/// keeps each batch, then answers a second later, and the node is stopped in that second. Before,
/// the stop dropped the send, the cursor stayed, and the restart sent the batch again.
#[tokio::test]
async fn a_stop_during_a_send_lets_it_finish_and_nothing_is_sent_twice() {
    let hec = Hec {
        token: std::env::var("CARGO_PKG_NAME").expect("cargo sets CARGO_PKG_NAME"),
        answer_after: Duration::from_secs(1),
        ..Hec::default()
    };
    let url = start_hec(hec.clone()).await;
    let sinks = vec![sink(
        "slow-answer",
        SinkFormat::Ocsf,
        &[SinkMessageType::Audit],
        SinkTransport::Splunk {
            url,
            token_env: "CARGO_PKG_NAME".into(),
            index: None,
            sourcetype: None,
        },
    )];
    // The database holder runs no sink; the sink runs on a node started and stopped beside it.
    let app = spawn_app_with(Settings::default()).await;
    let first = spawn_second_node_with(&app, settings_with(sinks.clone())).await;
    app.create_policy("slow-0", "privacy").await;
    eventually(Duration::from_secs(20), "a batch at the receiver", || {
        (!hec_audit_ids(&hec).is_empty()).then_some(())
    })
    .await;
    // The receiver has the batch and answers in a second: stop the node now.
    drop(first);
    let kept_by_the_first = hec_audit_ids(&hec).len();
    // The next node takes the lease once the first hands it back, after its send.
    let _second = spawn_second_node_with(&app, settings_with(sinks)).await;
    app.create_policy("slow-1", "privacy").await;
    let expected = audit_ids(&app).await;
    let ids = eventually(
        Duration::from_secs(30),
        "every record after the restart",
        || {
            let ids = hec_audit_ids(&hec);
            (dedup(&ids).0.len() >= expected.len()).then_some(ids)
        },
    )
    .await;
    let (firsts, repeats) = dedup(&ids);
    assert_eq!(firsts, expected, "no gap, in order");
    assert!(
        kept_by_the_first >= 1,
        "the first node's send reached the receiver"
    );
    assert_eq!(
        repeats, 0,
        "the send under way at the stop was recorded: nothing sent twice ({ids:?})"
    );
}

#[tokio::test]
async fn decisions_are_written_only_when_a_sink_asks_for_them() {
    let quiet = spawn_app_with(settings_with(vec![])).await;
    quiet.create_event("d-0", json!({})).await;
    let rows = quiet
        .store
        .siem_messages(Default::default(), 1000)
        .await
        .unwrap();
    assert!(
        rows.iter().all(|m| m.message_type != "decision"),
        "no sink wants decisions, so none is written"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.cef");
    let app = spawn_app_with(settings_with(vec![sink(
        "decisions",
        SinkFormat::Cef,
        &[SinkMessageType::Decision],
        file_transport(&path, 1 << 20, 2),
    )]))
    .await;
    email_policy(&app).await;
    for i in 0..3 {
        app.create_event(&format!("d-{i}"), json!({"source": "app|1"}))
            .await;
    }
    violate(&app, "d-bad").await;
    let lines = eventually(Duration::from_secs(20), "four decision records", || {
        let lines = file_lines(&path);
        (lines.len() >= 4).then_some(lines)
    })
    .await;
    assert_eq!(lines.len(), 4, "{lines:?}");
    let mut event_ids = Vec::new();
    for line in &lines {
        let (header, ext) = parse_cef(line).expect("a CEF line");
        assert_eq!(header[0], "0");
        assert_eq!(&header[1..3], ["Sentinel", "Sentinel"]);
        assert!(header[4].starts_with("decision:"), "{line}");
        let get = |k: &str| ext.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("cat").as_deref(), Some("decision"));
        event_ids.push(get("cs4").expect("the event id"));
        if get("cs4").as_deref() != Some("d-bad") {
            assert_eq!(get("dvchost").as_deref(), Some("app|1"), "{line}");
        }
    }
    assert_eq!(event_ids, ["d-0", "d-1", "d-2", "d-bad"]);
}

/// A bare syslog-over-TCP receiver: reads octet-counted frames (RFC 6587) into `frames`.
async fn tcp_receiver(listener: tokio::net::TcpListener, frames: Arc<Mutex<Vec<String>>>) {
    use tokio::io::AsyncReadExt;
    while let Ok((mut stream, _)) = listener.accept().await {
        let frames = frames.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stream.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(space) = buf.iter().position(|b| *b == b' ') {
                    let len: usize = std::str::from_utf8(&buf[..space]).unwrap().parse().unwrap();
                    if buf.len() < space + 1 + len {
                        break;
                    }
                    let frame =
                        String::from_utf8(buf[space + 1..space + 1 + len].to_vec()).unwrap();
                    frames.lock().unwrap().push(frame);
                    buf.drain(..space + 1 + len);
                }
            }
        });
    }
}

#[tokio::test]
async fn the_outbox_is_pruned_behind_the_slowest_sink_and_a_down_sink_catches_up() {
    // A port with nobody listening yet: the `late` sink fails until its receiver starts.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prune.jsonl");
    let mut settings = settings_with(vec![
        sink(
            "fast",
            SinkFormat::Json,
            &[],
            file_transport(&path, 1 << 20, 2),
        ),
        sink(
            "late",
            SinkFormat::Json,
            &[SinkMessageType::Audit],
            SinkTransport::Syslog {
                protocol: SyslogProtocol::Tcp,
                address: format!("127.0.0.1:{port}"),
                ca_file: None,
                server_name: None,
            },
        ),
    ]);
    settings.siem.prune_after_hours = 0.0;
    settings.siem.prune_every_seconds = 0.2;
    let app = spawn_app_with(settings).await;
    for i in 0..10 {
        app.create_policy(&format!("q{i}"), "privacy").await;
    }
    let expected = audit_ids(&app).await;
    eventually(Duration::from_secs(20), "the fast sink's records", || {
        (audit_ids_in(&file_lines(&path)).len() >= expected.len()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let waiting = app.store.outbox_len().await.unwrap();
    assert!(
        waiting >= expected.len() as u64,
        "the down sink has not passed them: {waiting} left"
    );

    let frames = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(tcp_receiver(listener, frames.clone()));
    let got = eventually(Duration::from_secs(20), "the late sink's records", || {
        let f = frames.lock().unwrap().clone();
        (f.len() >= expected.len()).then_some(f)
    })
    .await;
    let ids: Vec<i64> = got
        .iter()
        .map(|frame| {
            let (_, msg) = syslog_parts(frame);
            serde_json::from_str::<Value>(msg).unwrap()["data"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        dedup(&ids).0,
        expected,
        "everything, in order, after the outage"
    );
    let store = app.store.clone();
    let started = Instant::now();
    while store.outbox_len().await.unwrap() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the outbox was never pruned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Splits an RFC 5424 line into its header fields (PRI+VERSION, TIMESTAMP, HOSTNAME, APP-NAME,
/// PROCID, MSGID, STRUCTURED-DATA) and the message, checking their shape.
fn syslog_parts(line: &str) -> (Vec<&str>, &str) {
    let mut parts = line.splitn(8, ' ');
    let header: Vec<&str> = parts.by_ref().take(7).collect();
    let msg = parts.next().unwrap_or("");
    assert_eq!(header.len(), 7, "{line}");
    let pri = header[0]
        .strip_prefix('<')
        .and_then(|p| p.strip_suffix(">1"))
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("PRI and version 1 in {line}"));
    assert_eq!(pri / 8, 16, "facility local0: {line}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(header[1]).is_ok(),
        "timestamp in {line}"
    );
    assert_eq!(header[3], "sentinel");
    assert_eq!(header[6], "-");
    (header, msg)
}

mod rsyslog {
    //! Debian's rsyslog as the receiver, started on free ports with a temporary configuration
    //! that writes every raw message to a file.

    use super::*;

    pub struct Rsyslog {
        child: std::process::Child,
        pub port: u16,
        pub out: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Drop for Rsyslog {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// A self-signed CA and a server certificate for 127.0.0.1 and localhost (openssl CLI).
    fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Sentinel test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ]);
        (
            dir.join("ca.pem"),
            dir.join("server.pem"),
            dir.join("server.key"),
        )
    }

    /// Starts rsyslogd listening on UDP and TCP (plain), or on TCP with TLS; returns it once
    /// its TCP port accepts connections. The CA file is in `ca` for TLS.
    pub async fn start(tls: bool) -> (Rsyslog, Option<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let out = dir.path().join("received.log");
        let d = dir.path().display();
        let mut conf = format!("global(workDirectory=\"{d}\"");
        let mut ca = None;
        if tls {
            let (ca_pem, cert, key) = certificates(dir.path());
            conf.push_str(&format!(
                " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"{}\" defaultNetstreamDriverCertFile=\"{}\" defaultNetstreamDriverKeyFile=\"{}\"",
                ca_pem.display(), cert.display(), key.display()
            ));
            ca = Some(ca_pem);
        }
        conf.push_str(")\n");
        if tls {
            conf.push_str("module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n");
        } else {
            conf.push_str("module(load=\"imtcp\")\nmodule(load=\"imudp\")\n");
            conf.push_str(&format!(
                "input(type=\"imudp\" port=\"{port}\" address=\"127.0.0.1\")\n"
            ));
        }
        conf.push_str(&format!(
            "input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\")\n"
        ));
        conf.push_str("template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n");
        conf.push_str(&format!(
            "action(type=\"omfile\" file=\"{}\" template=\"raw\" flushOnTXEnd=\"on\" asyncWriting=\"off\")\n",
            out.display()
        ));
        let conf_path = dir.path().join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = std::process::Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("rsyslogd (apt-get install rsyslog rsyslog-gnutls)");
        let r = Rsyslog {
            child,
            port,
            out,
            _dir: dir,
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "rsyslogd did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (r, ca)
    }

    pub fn received(r: &Rsyslog) -> Vec<String> {
        std::fs::read_to_string(&r.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

fn syslog_sink(
    name: &str,
    format: SinkFormat,
    protocol: SyslogProtocol,
    port: u16,
    ca: Option<PathBuf>,
) -> SinkSettings {
    let mut s = sink(
        name,
        format,
        &[SinkMessageType::Audit, SinkMessageType::NewViolation],
        SinkTransport::Syslog {
            protocol,
            address: format!("127.0.0.1:{port}"),
            ca_file: ca,
            server_name: None,
        },
    );
    s.min_severity = Some(sentinel_api::Severity::Low);
    s
}

#[tokio::test]
#[ignore = "needs Debian's rsyslog and rsyslog-gnutls; .ci/run installs them and runs it"]
async fn siem_rsyslog_receives_ocsf_over_udp_and_cef_over_tcp() {
    let (receiver, _) = rsyslog::start(false).await;
    let app = spawn_app_with(settings_with(vec![
        syslog_sink(
            "udp",
            SinkFormat::Ocsf,
            SyslogProtocol::Udp,
            receiver.port,
            None,
        ),
        syslog_sink(
            "tcp",
            SinkFormat::Cef,
            SyslogProtocol::Tcp,
            receiver.port,
            None,
        ),
    ]))
    .await;
    email_policy(&app).await;
    for i in 0..3 {
        violate(&app, &format!("rs-{i}")).await;
    }
    let audits = audit_ids(&app).await;
    let want = 2 * (audits.len() + 3);
    let lines = eventually(Duration::from_secs(30), "every record at rsyslog", || {
        let lines = rsyslog::received(&receiver);
        (lines.len() >= want).then_some(lines)
    })
    .await;
    let (mut ocsf, mut cef) = (Vec::new(), Vec::new());
    for line in &lines {
        let (header, msg) = syslog_parts(line);
        if msg.starts_with("CEF:") {
            cef.push((header[5].to_owned(), msg.to_owned()));
        } else {
            ocsf.push((
                header[5].to_owned(),
                serde_json::from_str::<Value>(msg).expect(msg),
            ));
        }
    }
    // OCSF over UDP.
    let findings: Vec<&Value> = ocsf
        .iter()
        .filter(|(id, _)| id == "new_violation")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(findings.len(), 3);
    for f in findings {
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["category_uid"], 2);
        assert_eq!(f["metadata"]["version"], "1.3.0");
        assert!((1..=5).contains(&f["severity_id"].as_i64().unwrap()));
        assert!(f["finding_info"]["title"].is_string());
    }
    let activity: Vec<i64> = ocsf
        .iter()
        .filter(|(id, _)| id == "audit")
        .map(|(_, v)| {
            assert_eq!(v["class_uid"], 6003);
            assert!(v["actor"]["user"]["name"].is_string());
            v["unmapped"]["audit_id"].as_i64().unwrap()
        })
        .collect();
    let mut sorted = activity.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, audits, "every audit entry over UDP");
    // CEF over TCP, in order.
    let cef_audits: Vec<i64> = cef
        .iter()
        .filter(|(id, _)| id == "audit")
        .map(|(_, line)| {
            let (header, ext) = parse_cef(line).expect("CEF");
            assert!(header[4].starts_with("audit:"));
            ext.iter()
                .find(|(k, _)| k == "cn1")
                .unwrap()
                .1
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(cef_audits, audits, "every audit entry over TCP, in order");
    assert_eq!(
        cef.iter().filter(|(id, _)| id == "new_violation").count(),
        3
    );
}

#[tokio::test]
#[ignore = "needs Debian's rsyslog and rsyslog-gnutls; .ci/run installs them and runs it"]
async fn siem_rsyslog_receives_json_over_tls_checked_against_the_ca() {
    let (receiver, ca) = rsyslog::start(true).await;
    let app = spawn_app_with(settings_with(vec![syslog_sink(
        "tls",
        SinkFormat::Json,
        SyslogProtocol::Tls,
        receiver.port,
        ca,
    )]))
    .await;
    for i in 0..6 {
        app.create_policy(&format!("tls-{i}"), "privacy").await;
    }
    let audits = audit_ids(&app).await;
    let lines = eventually(Duration::from_secs(30), "every record over TLS", || {
        let lines = rsyslog::received(&receiver);
        (lines.len() >= audits.len()).then_some(lines)
    })
    .await;
    let ids: Vec<i64> = lines
        .iter()
        .map(|l| {
            let (header, msg) = syslog_parts(l);
            assert_eq!(header[5], "audit");
            serde_json::from_str::<Value>(msg).unwrap()["data"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, audits, "every audit entry over TLS, in order");
}

/// A sink's lease, on the store: one holder at a time, a held lease is not taken, an expired one
/// is (with the cursor its last holder left), and a node that lost the lease moves no cursor
/// (the same idea as a webhook claim: `webhooks::a_claim_leases_its_limit_and_a_lost_lease_is_refused`).
#[tokio::test]
async fn a_sink_lease_has_one_holder_and_a_lost_lease_moves_no_cursor() {
    use sentinel_store::OutboxPosition;
    let app = spawn_app_with(Settings::default()).await;
    let store = &app.store;
    let later = || chrono::Utc::now() + chrono::Duration::minutes(5);
    let at = |id| OutboxPosition { txid: 0, id };
    let position = |c: sentinel_store::SiemCursor| c.position.id;

    let a = store
        .take_siem_lease("soc", "node-a", later())
        .await
        .unwrap();
    assert_eq!(
        a.map(position),
        Some(0),
        "a free lease is taken, from the start"
    );
    assert!(
        store
            .take_siem_lease("soc", "node-b", later())
            .await
            .unwrap()
            .is_none(),
        "a held lease is not taken"
    );
    assert!(
        !store
            .advance_siem_cursor("soc", "node-b", at(5), 1, later())
            .await
            .unwrap(),
        "only the holder moves the cursor"
    );
    assert_eq!(store.siem_cursor("soc").await.unwrap().position.id, 0);
    assert!(
        store
            .advance_siem_cursor("soc", "node-a", at(5), 1, later())
            .await
            .unwrap()
    );
    let renewed = store
        .take_siem_lease("soc", "node-a", later())
        .await
        .unwrap();
    assert_eq!(renewed.map(position), Some(5), "the holder renews it");

    // node-a stops renewing: its lease runs out, node-b takes it with node-a's progress.
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert!(
        store
            .take_siem_lease("soc", "node-a", past)
            .await
            .unwrap()
            .is_some()
    );
    let b = store
        .take_siem_lease("soc", "node-b", later())
        .await
        .unwrap();
    assert_eq!(b.map(position), Some(5), "an expired lease is taken over");
    assert!(
        !store
            .advance_siem_cursor("soc", "node-a", at(9), 4, later())
            .await
            .unwrap(),
        "a lost lease moves nothing"
    );
    let cursor = store.siem_cursor("soc").await.unwrap();
    assert_eq!((cursor.position.id, cursor.sent), (5, 1));
    assert_eq!(
        store.siem_lease("soc").await.unwrap().unwrap().owner,
        "node-b"
    );

    // Handing back: only the holder can, and then anyone takes it at once.
    store.release_siem_lease("soc", "node-a").await.unwrap();
    assert_eq!(
        store.siem_lease("soc").await.unwrap().unwrap().owner,
        "node-b"
    );
    store.release_siem_lease("soc", "node-b").await.unwrap();
    assert_eq!(store.siem_lease("soc").await.unwrap(), None);
    assert!(
        store
            .take_siem_lease("soc", "node-a", later())
            .await
            .unwrap()
            .is_some()
    );
    // Other sinks have leases of their own.
    assert!(
        store
            .take_siem_lease("archive", "node-b", later())
            .await
            .unwrap()
            .is_some()
    );
}

/// Settings for two nodes sharing a file sink, with a short lease.
fn shared_sink(path: &Path) -> Settings {
    let mut settings = settings_with(vec![sink(
        "shared",
        SinkFormat::Json,
        &[SinkMessageType::Audit],
        file_transport(path, 1 << 20, 2),
    )]);
    settings.siem.timeout_seconds = 1.0;
    settings.siem.lease_seconds = 3.0;
    settings
}

/// Two nodes on one database with the same sink: only the lease holder sends, so every record
/// arrives once and in order; when the holder stops the other takes over and nothing is missing.
#[tokio::test]
async fn two_nodes_with_one_sink_send_each_record_once_and_the_other_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.jsonl");
    // The database holder runs no sink; two nodes beside it run the same one.
    let app = spawn_app_with(Settings::default()).await;
    let first = spawn_second_node_with(&app, shared_sink(&path)).await;
    for i in 0..3 {
        app.create_policy(&format!("s{i}"), "privacy").await;
    }
    let expected = audit_ids(&app).await;
    eventually(Duration::from_secs(20), "the first node's records", || {
        (audit_ids_in(&file_lines(&path)).len() >= expected.len()).then_some(())
    })
    .await;
    let holder = app.store.siem_lease("shared").await.unwrap().unwrap().owner;

    let second = spawn_second_node_with(&app, shared_sink(&path)).await;
    for i in 3..15 {
        app.create_policy(&format!("s{i}"), "privacy").await;
    }
    let expected = audit_ids(&app).await;
    let ids = eventually(
        Duration::from_secs(20),
        "the records with two nodes",
        || {
            let ids = audit_ids_in(&file_lines(&path));
            (ids.len() >= expected.len()).then_some(ids)
        },
    )
    .await;
    assert_eq!(ids, expected, "each record once, in order: one sender");
    assert_eq!(
        app.store.siem_lease("shared").await.unwrap().unwrap().owner,
        holder,
        "the first node kept the lease"
    );

    // The holder stops: the second node takes over.
    drop(first);
    for i in 15..25 {
        app.create_policy(&format!("s{i}"), "privacy").await;
    }
    let expected = audit_ids(&app).await;
    let ids = eventually(
        Duration::from_secs(20),
        "the records after the takeover",
        || {
            let ids = audit_ids_in(&file_lines(&path));
            (dedup(&ids).0.len() >= expected.len()).then_some(ids)
        },
    )
    .await;
    let (firsts, _) = dedup(&ids);
    assert_eq!(firsts, expected, "nothing missing, in order");
    let now = app.store.siem_lease("shared").await.unwrap().unwrap().owner;
    assert_ne!(now, holder, "the second node holds the lease");
    drop(second);
}

/// A holder that died (its lease left behind, never handed back): a node waits until the lease
/// expires, then sends everything, from the start, in order.
#[tokio::test]
async fn a_dead_holders_lease_expires_and_another_node_sends_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orphan.jsonl");
    let app = spawn_app_with(Settings::default()).await;
    let dead_until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let taken = app
        .store
        .take_siem_lease("shared", "a-node-that-died", dead_until)
        .await
        .unwrap();
    assert!(taken.is_some());
    let _node = spawn_second_node_with(&app, shared_sink(&path)).await;
    for i in 0..8 {
        app.create_policy(&format!("o{i}"), "privacy").await;
    }
    let expected = audit_ids(&app).await;
    // When the first record shows up, by this process's clock (the same as the node's).
    let first_seen = eventually(Duration::from_secs(20), "a first record", || {
        (!file_lines(&path).is_empty()).then(chrono::Utc::now)
    })
    .await;
    assert!(
        first_seen >= dead_until,
        "nothing was sent while the dead node's lease ran ({first_seen} < {dead_until})"
    );
    let ids = eventually(Duration::from_secs(20), "every record", || {
        let ids = audit_ids_in(&file_lines(&path));
        (ids.len() >= expected.len()).then_some(ids)
    })
    .await;
    assert_eq!(ids, expected, "everything, once, in order");
    let lease = app.store.siem_lease("shared").await.unwrap().unwrap();
    assert_ne!(lease.owner, "a-node-that-died");
}

/// A node whose lease was taken over (here the row is rewritten behind its back, as if it had
/// stalled past its lease and another node had taken it) moves no cursor while the other holds
/// it, then takes the lease back once it expires and sends the rest: nothing is missing.
#[tokio::test]
async fn a_node_that_lost_its_lease_moves_no_cursor_until_it_takes_it_back() {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stolen.jsonl");
    let app = spawn_app_with(Settings::default()).await;
    let node = spawn_second_node_with(&app, shared_sink(&path)).await;
    for i in 0..3 {
        app.create_policy(&format!("t{i}"), "privacy").await;
    }
    let before = audit_ids(&app).await;
    eventually(Duration::from_secs(20), "the records before", || {
        (audit_ids_in(&file_lines(&path)).len() >= before.len()).then_some(())
    })
    .await;
    let raw = sea_orm::Database::connect(app.url.as_str()).await.unwrap();
    raw.execute_unprepared("UPDATE siem_cursors SET lease_owner = 'thief' WHERE sink = 'shared'")
        .await
        .unwrap();
    raw.close().await.unwrap();
    let stolen = app.store.siem_lease("shared").await.unwrap().unwrap();
    assert_eq!(stolen.owner, "thief");
    let frozen = app.store.siem_cursor("shared").await.unwrap().position;
    for i in 3..10 {
        app.create_policy(&format!("t{i}"), "privacy").await;
    }
    // The other node's lease runs until `stolen.until`: until then the cursor stays put.
    while chrono::Utc::now() + chrono::Duration::milliseconds(200) < stolen.until {
        let now = app.store.siem_cursor("shared").await.unwrap().position;
        assert_eq!(now, frozen, "the cursor moved under another node's lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected = audit_ids(&app).await;
    let ids = eventually(Duration::from_secs(20), "the records after", || {
        let ids = audit_ids_in(&file_lines(&path));
        (dedup(&ids).0.len() >= expected.len()).then_some(ids)
    })
    .await;
    assert_eq!(dedup(&ids).0, expected, "nothing missing, in order");
    let lease = app.store.siem_lease("shared").await.unwrap().unwrap();
    assert_ne!(lease.owner, "thief", "the node took its lease back");
    drop(node);
}
