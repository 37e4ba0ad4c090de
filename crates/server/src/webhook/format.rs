//! What an endpoint receives: the generic envelope (Standard Webhooks' recommended
//! `{"type", "timestamp", "data"}`) or a Slack-compatible message (`{"text", "blocks"}`, for
//! incoming-webhook URLs). Pure: the same message always renders the same bytes.

use chrono::{DateTime, SecondsFormat, Utc};
use sentinel_api::webhook::{MessageType, WebhookFormat};
use serde_json::{Value, json};

/// The body of a message of `message_type` created at `created_at`, whose payload is the JSON
/// text `payload`.
pub fn render(
    format: WebhookFormat,
    message_type: MessageType,
    created_at: DateTime<Utc>,
    payload: &str,
) -> Vec<u8> {
    let data: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let body = match format {
        WebhookFormat::Generic => json!({
            "type": message_type.as_str(),
            "timestamp": created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "data": data,
        }),
        WebhookFormat::Slack => slack(message_type, &data),
    };
    body.to_string().into_bytes()
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn slack(message_type: MessageType, data: &Value) -> Value {
    let v = &data["violation"];
    let (headline, detail) = match message_type {
        MessageType::NewViolation => (
            format!(
                "{} violation #{}: {}",
                text_of(&v["severity"]).to_uppercase(),
                text_of(&v["id"]),
                text_of(&v["title"])
            ),
            format!(
                "policy {} · type {} · app {} · event {}",
                text_of(&v["policy_id"]),
                text_of(&v["violation_type"]),
                text_of(&data["event"]["source"]),
                text_of(&data["event"]["event_id"])
            ),
        ),
        MessageType::ViolationUpdated => (
            format!(
                "Violation #{} is now {}",
                text_of(&v["id"]),
                text_of(&v["status"])
            ),
            format!(
                "by {} · was {}",
                text_of(&data["actor"]),
                text_of(&data["before"]["status"])
            ),
        ),
        MessageType::PolicyChanged => (
            format!(
                "Policy #{} \"{}\": {}",
                text_of(&data["policy"]["id"]),
                text_of(&data["policy"]["name"]),
                text_of(&data["action"])
            ),
            format!(
                "by {} · status {} · version {}",
                text_of(&data["actor"]),
                text_of(&data["policy"]["status"]),
                text_of(&data["policy"]["version"])
            ),
        ),
        MessageType::Audit => (
            format!(
                "Audit: {} {}",
                text_of(&data["actor"]),
                text_of(&data["action"])
            ),
            format!(
                "{} {} · entry {}",
                text_of(&data["target_type"]),
                text_of(&data["target_id"]),
                text_of(&data["id"])
            ),
        ),
        MessageType::Test => (
            "Sentinel test event".to_owned(),
            "This endpoint receives Sentinel alerts.".to_owned(),
        ),
    };
    let headline = escape(&headline);
    json!({
        "text": format!("Sentinel: {headline}"),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{headline}*") } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": escape(&detail) } ] },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-05T01:02:03Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const VIOLATION: &str = r#"{"violation":{"id":7,"severity":"high","title":"Email <in> prompt & more","policy_id":3,"violation_type":"pii_exposure"},"event":{"source":"chatbot","event_id":"e1"}}"#;

    /// Golden: the generic envelope.
    #[test]
    fn generic_is_the_standard_envelope() {
        let body = render(
            WebhookFormat::Generic,
            MessageType::NewViolation,
            at(),
            VIOLATION,
        );
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["type"], "new_violation");
        assert_eq!(value["timestamp"], "2026-12-05T01:02:03Z");
        assert_eq!(value["data"]["violation"]["id"], 7);
    }

    /// Golden: the Slack message, escaped.
    #[test]
    fn slack_has_text_and_blocks() {
        let body = render(
            WebhookFormat::Slack,
            MessageType::NewViolation,
            at(),
            VIOLATION,
        );
        let expected = json!({
            "text": "Sentinel: HIGH violation #7: Email &lt;in&gt; prompt &amp; more",
            "blocks": [
                { "type": "section", "text": { "type": "mrkdwn",
                  "text": "*HIGH violation #7: Email &lt;in&gt; prompt &amp; more*" } },
                { "type": "context", "elements": [ { "type": "mrkdwn",
                  "text": "policy 3 · type pii_exposure · app chatbot · event e1" } ] },
            ],
        });
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), expected);
    }

    #[test]
    fn every_type_renders_in_both_formats() {
        for t in MessageType::ALL {
            for f in WebhookFormat::ALL {
                let body = render(*f, *t, at(), "{}");
                assert!(serde_json::from_slice::<Value>(&body).is_ok());
            }
        }
    }
}
