//! Webhook deliveries checked by the official `standardwebhooks` Python library
//! (`scripts/webhooks/receiver.py`): a new violation, a test event, and deliveries after a secret
//! rotation, verified with the old secret during the overlap and with the new one.
//!
//! Ignored by a plain `cargo test`, which needs no Python: `.ci/run` installs the pinned package
//! of `scripts/gateway/requirements.txt` in the SDK venv and runs this test with `--ignored`,
//! naming that venv's interpreter in `SENTINEL_SDK_PYTHON`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{id_of, spawn_app_with};
use crate::webhooks::{create_webhook, email_policy, fast, violate};

/// The receiver process, its port and its JSON lines.
struct PyReceiver {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<Value>,
}

impl Drop for PyReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PyReceiver {
    fn start(python: &str, secrets: &std::path::Path) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/webhooks/receiver.py"
        );
        let mut child = Command::new(python)
            .args([script, secrets.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("running the receiver");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the receiver prints its port");
        let port = first["port"].as_u64().expect("a port") as u16;
        Self {
            child,
            port,
            lines: rx,
        }
    }

    fn next(&self) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a delivery reached the receiver")
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the official verifier: .ci/run installs it and sets SENTINEL_SDK_PYTHON"]
async fn official_verifier_accepts_every_delivery() {
    let python = std::env::var("SENTINEL_SDK_PYTHON")
        .expect("SENTINEL_SDK_PYTHON names a Python with the packages of scripts/gateway");
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::write(&secrets, "").unwrap();
    let receiver = PyReceiver::start(&python, &secrets);
    let app = spawn_app_with(fast(|_| {})).await;
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let created = create_webhook(
        &app,
        json!({"url": url, "message_types": ["new_violation"]}),
    )
    .await;
    let id = id_of(&created);
    let first = created["secret"].as_str().unwrap().to_owned();
    std::fs::write(&secrets, format!("{first}\n")).unwrap();

    email_policy(&app).await;
    violate(&app, "e1").await;
    let got = receiver.next();
    assert_eq!(got["verified"], true, "{got}");
    assert_eq!(got["type"], "new_violation");

    app.post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    let got = receiver.next();
    assert_eq!(got["verified"], true, "{got}");
    assert_eq!(got["type"], "test");

    // Rotated: the receiver still holding only the old secret verifies (overlap) ...
    let rotated: Value = app
        .post(&format!("/api/webhooks/{id}/rotate-secret"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let second = rotated["secret"].as_str().unwrap().to_owned();
    app.post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    let got = receiver.next();
    assert_eq!(got["verified"], true, "{got}");
    assert_eq!(got["signatures"], 2);
    // ... and so does one that switched to the new secret.
    std::fs::write(&secrets, format!("{second}\n")).unwrap();
    violate(&app, "e2").await;
    let got = receiver.next();
    assert_eq!(got["verified"], true, "{got}");
    assert_eq!(got["type"], "new_violation");
    // A receiver with some other secret refuses (the library is really checking).
    std::fs::write(&secrets, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
    app.post(&format!("/api/webhooks/{id}/test"), &json!({}))
        .await;
    let got = receiver.next();
    assert_eq!(got["verified"], false, "{got}");
}
