//! The record formats of a SIEM sink: OCSF 1.3.0 JSON, ArcSight CEF and plain JSON. Pure
//! functions of one outbox message; the transport adds its own framing (syslog header, Splunk
//! envelope, a newline in a file).

use chrono::{DateTime, SecondsFormat, Utc};
use sentinel_store::SiemMessage;
use serde_json::{Value, json};

use crate::settings::SinkFormat;

/// The OCSF schema version the records follow.
pub const OCSF_VERSION: &str = "1.3.0";

const VENDOR: &str = "Sentinel";
const PRODUCT: &str = "Sentinel";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One message rendered for a sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The message's severity as a syslog severity (RFC 5424 numbers: 2 critical … 6 info).
    pub syslog_severity: u8,
    /// The syslog MSGID: the message type.
    pub msg_id: String,
    pub time: DateTime<Utc>,
    /// The record itself, one line (no newline in it).
    pub text: String,
}

/// Renders `message` in `format`. A payload that is not JSON (it always is: the store wrote
/// it) is carried as a string rather than lost.
pub fn render(format: SinkFormat, message: &SiemMessage) -> Record {
    let payload: Value = serde_json::from_str(&message.payload)
        .unwrap_or_else(|_| Value::String(message.payload.clone()));
    let severity = message.severity.as_deref();
    let text = match format {
        SinkFormat::Ocsf => ocsf(message, &payload).to_string(),
        SinkFormat::Cef => cef(message, &payload),
        SinkFormat::Json => json!({
            "id": message.id,
            "type": message.message_type,
            "timestamp": rfc3339(message.created_at),
            "severity": severity,
            "data": payload,
        })
        .to_string(),
    };
    Record {
        syslog_severity: match severity {
            Some("critical") => 2,
            Some("high") => 3,
            Some("medium") => 4,
            Some("low") => 5,
            _ => 6,
        },
        msg_id: message.message_type.clone(),
        time: message.created_at,
        text,
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// OCSF `severity_id`: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
fn severity_id(severity: Option<&str>) -> (u8, &'static str) {
    match severity {
        Some("low") => (2, "Low"),
        Some("medium") => (3, "Medium"),
        Some("high") => (4, "High"),
        Some("critical") => (5, "Critical"),
        _ => (1, "Informational"),
    }
}

fn metadata(message: &SiemMessage) -> Value {
    json!({
        "version": OCSF_VERSION,
        "uid": format!("msg_{}", message.id),
        "log_name": message.message_type,
        "product": { "name": PRODUCT, "vendor_name": VENDOR, "version": VERSION },
    })
}

fn millis(t: &Value) -> Option<i64> {
    t.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis())
}

/// The OCSF event of a message: Detection Finding (2004) for violations, API Activity (6003) for
/// audit entries, policy changes and decisions.
pub fn ocsf(message: &SiemMessage, payload: &Value) -> Value {
    let time = message.created_at.timestamp_millis();
    match message.message_type.as_str() {
        "new_violation" | "violation_updated" => {
            let v = &payload["violation"];
            let (activity_id, activity) = if message.message_type == "new_violation" {
                (1, "Create")
            } else {
                (2, "Update")
            };
            let (sev_id, sev) = severity_id(v["severity"].as_str());
            let (status_id, status) = match v["status"].as_str() {
                Some("detected") => (1, "New"),
                Some("acknowledged") | Some("investigating") => (2, "In Progress"),
                Some("false_positive") => (3, "Suppressed"),
                Some("resolved") => (4, "Resolved"),
                _ => (99, "Other"),
            };
            let confidence = v["confidence_score"]
                .as_f64()
                .map(|c| (c.clamp(0.0, 1.0) * 100.0).round() as i64);
            let mut finding = json!({
                "activity_id": activity_id,
                "activity_name": activity,
                "category_uid": 2,
                "category_name": "Findings",
                "class_uid": 2004,
                "class_name": "Detection Finding",
                "type_uid": 200400 + activity_id,
                "type_name": format!("Detection Finding: {activity}"),
                "severity_id": sev_id,
                "severity": sev,
                "status_id": status_id,
                "status": status,
                "status_code": v["status"],
                "time": time,
                "message": v["title"],
                "is_alert": activity_id == 1,
                "metadata": metadata(message),
                "finding_info": {
                    "uid": format!("violation-{}", v["id"]),
                    "title": v["title"],
                    "desc": v["description"],
                    "types": [v["violation_type"]],
                    "created_time": millis(&v["created_at"]),
                    "modified_time": millis(&v["updated_at"]),
                    "analytic": {
                        "uid": v["policy_id"].to_string(),
                        "name": format!("policy {}", v["policy_id"]),
                        "type_id": 1,
                        "type": "Rule",
                        "version": v["policy_version"].to_string(),
                    },
                },
                "resources": [{
                    "type": "llm_event",
                    "uid": payload["event"]["event_id"],
                    "name": payload["event"]["title"],
                }],
                "evidences": v["findings"].as_array().map(|fs| fs.iter().map(|f| json!({
                    "data": {
                        "detector": f["detector"], "entity": f["entity"], "target": f["target"],
                        "char_start": f["char_start"], "char_end": f["char_end"],
                    },
                })).collect::<Vec<_>>()),
                "unmapped": {
                    "violation_id": v["id"],
                    "event": payload["event"],
                    "before": payload["before"],
                    "actor": payload["actor"],
                },
            });
            if let (Some(c), Some(obj)) = (confidence, finding.as_object_mut()) {
                obj.insert("confidence_score".into(), json!(c));
            }
            finding
        }
        other => {
            let (activity_id, activity, actor, operation, resource, status_id, extra) = match other
            {
                "audit" => {
                    let (id, name) = crud(payload["action"].as_str().unwrap_or(""));
                    (
                        id,
                        name,
                        payload["actor"].clone(),
                        payload["action"].clone(),
                        json!({ "type": payload["target_type"], "uid": payload["target_id"].to_string() }),
                        1,
                        json!({ "audit_id": payload["id"], "before": payload["before"], "after": payload["after"], "request_id": payload["request_id"] }),
                    )
                }
                "policy_changed" => {
                    let action = payload["action"].as_str().unwrap_or("");
                    let (id, name) = crud(action);
                    (
                        id,
                        name,
                        payload["actor"].clone(),
                        json!(format!("policy.{action}")),
                        json!({ "type": "policy", "uid": payload["policy"]["id"].to_string(), "name": payload["policy"]["name"] }),
                        1,
                        json!({ "policy": payload["policy"] }),
                    )
                }
                "decision" => {
                    let e = &payload["event"];
                    // A blocked call is an API activity that failed.
                    let blocked = e["decision"].as_str() == Some("block");
                    (
                        99,
                        "Other",
                        e["source"].clone(),
                        json!(format!(
                            "guard.{}",
                            e["event_type"].as_str().unwrap_or("event")
                        )),
                        json!({ "type": "llm_event", "uid": e["event_id"], "name": e["title"] }),
                        if blocked { 2 } else { 1 },
                        json!({ "event": e }),
                    )
                }
                _ => (
                    99,
                    "Other",
                    Value::Null,
                    json!(other),
                    Value::Null,
                    1,
                    payload.clone(),
                ),
            };
            let (sev_id, sev) = severity_id(message.severity.as_deref());
            let client = payload["client_addr"]
                .as_str()
                .map(|ip| json!({ "ip": ip }));
            json!({
                "activity_id": activity_id,
                "activity_name": activity,
                "category_uid": 6,
                "category_name": "Application Activity",
                "class_uid": 6003,
                "class_name": "API Activity",
                "type_uid": 600300 + u32::from(activity_id),
                "type_name": format!("API Activity: {activity}"),
                "severity_id": sev_id,
                "severity": sev,
                "status_id": status_id,
                "status": if status_id == 1 { "Success" } else { "Failure" },
                "time": time,
                "metadata": metadata(message),
                "actor": { "user": { "name": actor } },
                "api": { "operation": operation, "service": { "name": PRODUCT } },
                "src_endpoint": client.unwrap_or_else(|| json!({})),
                "resources": [resource],
                "unmapped": extra,
            })
        }
    }
}

/// OCSF API Activity id from a verb in an action name (`policy.create`, `webhook.delete`).
fn crud(action: &str) -> (u8, &'static str) {
    let verb = action.rsplit('.').next().unwrap_or(action);
    match verb {
        "create" | "created" | "add" | "login" | "issue" => (1, "Create"),
        "read" | "export" | "view" => (2, "Read"),
        "delete" | "deleted" | "purge" | "revoke" => (4, "Delete"),
        "" => (99, "Other"),
        _ => (3, "Update"),
    }
}

/// A CEF header field: `\` and `|` escaped, line breaks made spaces.
pub fn cef_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A CEF extension value: `\`, `=` and line breaks escaped (`\n`, `\r`).
pub fn cef_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`. Severity 0–10: low 3,
/// medium 5, high 8, critical 10, others 1.
pub fn cef(message: &SiemMessage, payload: &Value) -> String {
    let severity = match message.severity.as_deref() {
        Some("low") => 3,
        Some("medium") => 5,
        Some("high") => 8,
        Some("critical") => 10,
        _ => 1,
    };
    let mut ext: Vec<(&str, Option<String>)> = vec![
        (
            "rt",
            Some(message.created_at.timestamp_millis().to_string()),
        ),
        ("externalId", Some(message.id.to_string())),
        ("cat", Some(message.message_type.clone())),
    ];
    let (signature, name) = match message.message_type.as_str() {
        "new_violation" | "violation_updated" => {
            let v = &payload["violation"];
            let e = &payload["event"];
            ext.extend([
                ("cs1Label", Some("policyId".into())),
                ("cs1", text(&v["policy_id"])),
                ("cs2Label", Some("violationType".into())),
                ("cs2", text(&v["violation_type"])),
                ("cs3Label", Some("status".into())),
                ("cs3", text(&v["status"])),
                ("cs4Label", Some("eventId".into())),
                ("cs4", text(&e["event_id"])),
                ("cn1Label", Some("violationId".into())),
                ("cn1", text(&v["id"])),
                ("suser", text(&payload["actor"])),
                ("dvchost", text(&e["source"])),
                ("msg", text(&v["description"])),
                (
                    "act",
                    text(&e["decision"]).or_else(|| text(&payload["before"]["status"])),
                ),
            ]);
            (
                format!(
                    "violation:{}",
                    v["violation_type"].as_str().unwrap_or("unknown")
                ),
                text(&v["title"]).unwrap_or_else(|| "violation".into()),
            )
        }
        "audit" => {
            ext.extend([
                ("suser", text(&payload["actor"])),
                ("src", text(&payload["client_addr"])),
                ("cs1Label", Some("targetType".into())),
                ("cs1", text(&payload["target_type"])),
                ("cs2Label", Some("targetId".into())),
                ("cs2", text(&payload["target_id"])),
                ("cn1Label", Some("auditId".into())),
                ("cn1", text(&payload["id"])),
            ]);
            let action = text(&payload["action"]).unwrap_or_else(|| "audit".into());
            (format!("audit:{action}"), action)
        }
        "policy_changed" => {
            let action = text(&payload["action"]).unwrap_or_default();
            ext.extend([
                ("suser", text(&payload["actor"])),
                ("cs1Label", Some("policyId".into())),
                ("cs1", text(&payload["policy"]["id"])),
                ("cs2Label", Some("policyName".into())),
                ("cs2", text(&payload["policy"]["name"])),
            ]);
            (format!("policy:{action}"), format!("policy {action}"))
        }
        "decision" => {
            let e = &payload["event"];
            ext.extend([
                ("act", text(&e["decision"])),
                ("dvchost", text(&e["source"])),
                ("cs1Label", Some("policyId".into())),
                ("cs1", text(&e["policy_id"])),
                ("cs4Label", Some("eventId".into())),
                ("cs4", text(&e["event_id"])),
                ("cn1Label", Some("eventRowId".into())),
                ("cn1", text(&e["id"])),
            ]);
            (
                format!("decision:{}", e["decision"].as_str().unwrap_or("none")),
                text(&e["title"]).unwrap_or_else(|| "decision".into()),
            )
        }
        other => (other.to_owned(), other.to_owned()),
    };
    let extension: Vec<String> = ext
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", cef_value(&v))))
        .collect();
    format!(
        "CEF:0|{}|{}|{}|{}|{}|{}|{}",
        cef_header(VENDOR),
        cef_header(PRODUCT),
        cef_header(VERSION),
        cef_header(&signature),
        cef_header(&name),
        severity,
        extension.join(" ")
    )
}

/// A CEF line read back: its seven header fields and its extension pairs.
pub type CefFields = (Vec<String>, Vec<(String, String)>);

/// Parses a CEF line back into its seven header fields and its extension pairs (unescaped): the
/// inverse of [`cef`], for the tests and for anyone checking a record.
pub fn parse_cef(line: &str) -> Option<CefFields> {
    let rest = line.strip_prefix("CEF:")?;
    let mut header = Vec::new();
    let mut field = String::new();
    let mut chars = rest.chars();
    while header.len() < 7 {
        match chars.next()? {
            '\\' => field.push(chars.next()?),
            '|' => header.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    let ext: String = chars.collect();
    // Keys are the words right before an unescaped `=`.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut key = String::new();
    let mut value = String::new();
    let mut in_value = false;
    let mut it = ext.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' if in_value => match it.next() {
                Some('n') => value.push('\n'),
                Some('r') => value.push('\r'),
                Some(other) => value.push(other),
                None => {}
            },
            '=' if !in_value => in_value = true,
            '=' => {
                // `… value next=`: the last word of `value` was the next key.
                let (v, k) = match value.rfind(' ') {
                    Some(at) => (value[..at].to_owned(), value[at + 1..].to_owned()),
                    None => return None,
                };
                pairs.push((std::mem::take(&mut key), v));
                key = k;
                value.clear();
            }
            c if in_value => value.push(c),
            c => key.push(c),
        }
    }
    if in_value {
        pairs.push((key, value));
    }
    Some((header, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str, severity: Option<&str>, payload: Value) -> SiemMessage {
        SiemMessage {
            id: 42,
            txid: 0,
            message_type: kind.into(),
            payload: payload.to_string(),
            created_at: DateTime::parse_from_rfc3339("2026-12-05T01:02:03.456Z")
                .unwrap()
                .with_timezone(&Utc),
            severity: severity.map(str::to_owned),
        }
    }

    fn violation() -> Value {
        json!({
            "violation": {
                "id": 7, "violation_type": "pii", "severity": "high", "status": "detected",
                "title": "Email | leak", "description": "a=b\\c\nnext", "policy_id": 3,
                "policy_version": 2, "confidence_score": 0.9,
                "created_at": "2026-12-05T01:02:03Z", "updated_at": null,
                "findings": [{"detector": "pii", "entity": "email", "target": "prompt",
                              "char_start": 1, "char_end": 9, "score": 1.0}],
            },
            "event": {"event_id": "e-1", "title": "t", "source": "chat", "decision": "block"},
        })
    }

    #[test]
    fn cef_escapes_header_and_extension_and_reads_back() {
        assert_eq!(cef_header(r"a|b\c"), r"a\|b\\c");
        assert_eq!(cef_value("a=b\\c\nd\re"), r"a\=b\\c\nd\re");
        let line = cef(
            &message("new_violation", Some("high"), violation()),
            &violation(),
        );
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("CEF:0|Sentinel|Sentinel|"), "{line}");
        assert!(line.contains(r"|Email \| leak|8|"), "{line}");
        let (header, ext) = parse_cef(&line).unwrap();
        assert_eq!(header[4], "violation:pii");
        assert_eq!(header[5], "Email | leak");
        assert_eq!(header[6], "8");
        let get = |k: &str| {
            ext.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("msg"), Some("a=b\\c\nnext"));
        assert_eq!(get("cs4"), Some("e-1"));
        assert_eq!(get("act"), Some("block"));
        assert_eq!(get("externalId"), Some("42"));
        assert_eq!(get("rt"), Some("1796432523456"));
    }

    #[test]
    fn ocsf_detection_finding_and_api_activity() {
        let m = message("new_violation", Some("high"), violation());
        let f = ocsf(&m, &violation());
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["type_uid"], 200401);
        assert_eq!(f["severity_id"], 4);
        assert_eq!(f["time"], 1796432523456i64);
        assert_eq!(f["metadata"]["version"], OCSF_VERSION);
        assert_eq!(f["finding_info"]["uid"], "violation-7");
        assert_eq!(f["finding_info"]["types"][0], "pii");
        assert_eq!(f["confidence_score"], 90);
        let audit = json!({"id": 5, "actor": "root", "action": "policy.delete",
                           "target_type": "policy", "target_id": 3, "client_addr": "10.0.0.1"});
        let a = ocsf(&message("audit", None, audit.clone()), &audit);
        assert_eq!(a["class_uid"], 6003);
        assert_eq!(a["activity_id"], 4);
        assert_eq!(a["type_uid"], 600304);
        assert_eq!(a["actor"]["user"]["name"], "root");
        assert_eq!(a["api"]["operation"], "policy.delete");
        assert_eq!(a["src_endpoint"]["ip"], "10.0.0.1");
        assert_eq!(a["severity_id"], 1);
    }

    #[test]
    fn every_format_is_one_line() {
        for format in [SinkFormat::Ocsf, SinkFormat::Cef, SinkFormat::Json] {
            let r = render(
                format,
                &message("new_violation", Some("critical"), violation()),
            );
            assert!(!r.text.contains('\n'), "{format:?}: {}", r.text);
            assert_eq!(r.syslog_severity, 2);
        }
    }
}
