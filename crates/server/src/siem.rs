//! SIEM export (issue 14, item 3): sinks configured in `[[siem.sinks]]` stream the outbox
//! (violations, decisions, audit entries, policy changes) as OCSF, CEF or JSON records over
//! syslog (UDP, TCP, TLS), Splunk HEC or a rotated file.
//!
//! Each sink is its own task with its own cursor in the database (`siem_cursors`), so a down
//! sink only delays itself, and a restart resumes where the sink stopped: at least once, in
//! order. `format` renders, `transport` sends, `worker` runs the loop and the outbox pruning.

pub mod format;
pub mod transport;
pub mod worker;

/// An error and its causes on one line (without any URL: reqwest errors are stripped first).
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
