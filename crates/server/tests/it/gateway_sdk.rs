//! The gateway driven by the official `openai` and `anthropic` Python packages
//! (`scripts/gateway/sdk_check.py`), streamed and not, with tool calls, against the stand-in
//! upstream.
//!
//! Ignored by a plain `cargo test`, which needs no Python: `.ci/run` installs the pinned packages
//! of `scripts/gateway/requirements.txt` in a venv and runs this test with `--ignored`, naming
//! that venv's interpreter in `SENTINEL_SDK_PYTHON`.

use std::process::Command;

use crate::gateway::{ANSWER, SECRET_MAIL, gateway};

fn run(python: &str, scenario: &str, base: &str, key: &str) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/gateway/sdk_check.py"
    );
    let out = Command::new(python)
        .args([script, scenario, base, key])
        .output()
        .expect("running the SDK script");
    assert!(
        out.status.success(),
        "{scenario}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the official SDKs: .ci/run installs them and sets SENTINEL_SDK_PYTHON"]
async fn official_clients() {
    let python = std::env::var("SENTINEL_SDK_PYTHON")
        .expect("SENTINEL_SDK_PYTHON names a Python with the packages of scripts/gateway");
    let g = gateway().await;
    let base = g.app.url("");
    let blocked = "A harmless first sentence about the weather in spring and summer. \
        And the launch codes are 0000. This part must never arrive.";
    let tool = (
        "send_email".to_owned(),
        format!(r#"{{"to": "{SECRET_MAIL}"}}"#),
    );
    /// A scenario of the script, what the upstream answers, and the tool call it makes.
    type Scenario<'a> = (&'a str, &'a str, Option<(String, String)>);
    let scenarios: [Scenario; 7] = [
        ("chat_redacts", ANSWER, None),
        ("chat_tools", "", Some(tool.clone())),
        ("chat_blocked", blocked, None),
        ("messages_redact", ANSWER, Some(tool.clone())),
        ("messages_blocked", blocked, None),
        ("responses_redact", ANSWER, Some(tool)),
        ("responses_blocked", blocked, None),
    ];
    for (scenario, answer, tool_call) in scenarios {
        g.upstream.script(|s| {
            s.answer = answer.to_owned();
            s.tool_call = tool_call.clone();
            s.delta_sizes = vec![3, 1, 5];
            s.wire_sizes = vec![2, 7];
        });
        let (python, base, key) = (python.clone(), base.clone(), g.key.clone());
        tokio::task::spawn_blocking(move || run(&python, scenario, &base, &key))
            .await
            .unwrap();
    }
}
