//! Anthropic's messages (`POST /v1/messages`), streamed and not.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::http::HeaderMap;
use sentinel_engine::{Restorer, StreamScanner, Target};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::ProviderError;
use super::inbound::{Part, Texts, part_scope};
use super::pipeline::{
    Prepared, Shape, cost, events, ms, next_event, restore, scan_whole, usage_tokens as usage,
};
use crate::settings::ApiShape;
use crate::state::AppState;

const API: ApiShape = ApiShape::Anthropic;

/// The version header sent when the client sends none.
const DEFAULT_VERSION: &str = "2023-06-01";

fn bad(message: impl Into<String>) -> ProviderError {
    super::pipeline::bad(API, message)
}

/// Text blocks, tool inputs (each string in them) and tool results. Earlier thinking blocks are
/// passed on unread: the API requires them byte for byte, and they were judged as the model
/// wrote them. Images and documents are unscannable.
fn message_texts(body: &Value) -> Result<Texts, ProviderError> {
    let mut texts = Texts::default();
    match body.get("system") {
        Some(Value::String(s)) => texts.push("/system".into(), Part::System, s),
        Some(Value::Array(blocks)) => {
            for (j, b) in blocks.iter().enumerate() {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    texts.push(format!("/system/{j}/text"), Part::System, t);
                }
            }
        }
        _ => {}
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(bad("messages: Field required"));
    };
    // Tool use ids of the history → tool names, for the results that answer them.
    let mut tools: BTreeMap<String, String> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        let part = match m.get("role").and_then(Value::as_str) {
            Some("assistant") => Part::Assistant,
            _ => Part::User,
        };
        match m.get("content") {
            Some(Value::String(s)) => texts.push(format!("/messages/{i}/content"), part, s),
            Some(Value::Array(blocks)) => {
                for (j, b) in blocks.iter().enumerate() {
                    let at = format!("/messages/{i}/content/{j}");
                    block_texts(&mut texts, &mut tools, &at, part, b);
                }
            }
            _ => return Err(bad(format!("messages.{i}.content: must be text or blocks"))),
        }
    }
    Ok(texts)
}

fn block_texts(
    texts: &mut Texts,
    tools: &mut BTreeMap<String, String>,
    at: &str,
    part: Part,
    block: &Value,
) {
    let from = texts.slots.len();
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    match kind {
        "text" => {
            if let Some(t) = block.get("text").and_then(Value::as_str) {
                texts.push(format!("{at}/text"), part, t);
            }
        }
        "tool_use" | "server_tool_use" => {
            let name = block.get("name").and_then(Value::as_str);
            if let (Some(id), Some(name)) = (block.get("id").and_then(Value::as_str), name) {
                tools.insert(id.to_owned(), name.to_owned());
            }
            if let Some(input) = block.get("input") {
                texts.push_strings(&format!("{at}/input"), Part::ToolArguments, input);
            }
            texts.name_tool(from, name);
        }
        "tool_result" => {
            match block.get("content") {
                Some(Value::String(s)) => {
                    texts.push(format!("{at}/content"), Part::ToolResult, s);
                }
                Some(Value::Array(inner)) => {
                    for (k, b) in inner.iter().enumerate() {
                        let inner_at = format!("{at}/content/{k}");
                        block_texts(texts, tools, &inner_at, Part::ToolResult, b);
                    }
                }
                _ => {}
            }
            let tool = block
                .get("tool_use_id")
                .and_then(Value::as_str)
                .and_then(|id| tools.get(id))
                .cloned();
            texts.name_tool(from, tool.as_deref());
        }
        "thinking" | "redacted_thinking" => {}
        other => texts.unscannable.push(format!("{other} at {at}")),
    }
}

/// Anthropic's messages (`POST /v1/messages`).
pub(super) struct Messages;

impl Shape for Messages {
    const API: ApiShape = API;
    const OPERATION: &'static str = "messages";
    const PATH: &'static str = "/messages";
    type Ask = ();

    fn texts(body: &Value) -> Result<Texts, ProviderError> {
        message_texts(body)
    }

    fn adjust(_: &mut Value, _: bool) {}

    /// The API version (the client's, or the default) and its beta flags.
    fn headers(incoming: &HeaderMap) -> Vec<(&'static str, String)> {
        let header = |name: &str| {
            incoming
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut extra = vec![(
            "anthropic-version",
            header("anthropic-version").unwrap_or_else(|| DEFAULT_VERSION.to_owned()),
        )];
        if let Some(beta) = header("anthropic-beta") {
            extra.push(("anthropic-beta", beta));
        }
        extra
    }

    fn judge(state: &AppState, p: &mut Prepared, answer: Value) -> Value {
        judge_answer(state, p, answer)
    }

    async fn stream(
        state: AppState,
        p: Prepared,
        (): (),
        response: reqwest::Response,
        tx: mpsc::Sender<Bytes>,
    ) {
        StreamJob { state, p }.run(response, tx).await;
    }
}

/// Judges a non-streamed message: its text blocks and tool inputs.
fn judge_answer(state: &AppState, p: &mut Prepared, mut answer: Value) -> Value {
    let Prepared {
        enforced,
        options,
        restorer,
        call,
        ..
    } = p;
    let (enforced, options, restorer) = (&**enforced, *options, &*restorer);
    let scope = part_scope(&call.scope, "completion", None);
    let mut completion = String::new();
    let mut blocked = false;
    if let Some(blocks) = answer.get_mut("content").and_then(Value::as_array_mut) {
        for block in blocks.iter_mut() {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if let Some(Value::String(text)) = block.get_mut("text") {
                        completion.push_str(text);
                        let (out, b) = scan_whole(enforced, &scope, options, text, call);
                        blocked |= b;
                        *text = restore(restorer, out, call);
                    }
                }
                Some("tool_use") => {
                    let tool = block.get("name").and_then(Value::as_str).map(str::to_owned);
                    let scope = part_scope(&call.scope, "tool_arguments", tool.as_deref());
                    if let Some(input) = block.get_mut("input") {
                        // The input as the JSON text a stream would carry.
                        let text = input.to_string();
                        let (out, b) = scan_whole(enforced, &scope, options, &text, call);
                        blocked |= b;
                        let out = restore(restorer, out, call);
                        if let Ok(v) = serde_json::from_str::<Value>(&out) {
                            *input = v;
                        } else {
                            blocked = true;
                        }
                    }
                }
                _ => {}
            }
        }
        if blocked {
            blocks.clear();
        }
    }
    if blocked {
        answer["stop_reason"] = json!("refusal");
        call.blocked_at = Some("response");
    }
    call.completion = Some(completion);
    usage(&answer, call);
    call.cost_usd = cost(state, call);
    answer
}

fn frame(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// One content block of a streamed message.
struct Block {
    /// `text` or `tool_use`.
    kind: String,
    scanner: StreamScanner,
    restorer: Option<Restorer>,
    /// The call's scope with this block's part (and tool).
    scope: sentinel_engine::Scope,
}

/// A streamed message: judges each text and tool-input delta and releases what is settled.
struct StreamJob {
    state: AppState,
    p: Prepared,
}

impl StreamJob {
    async fn run(mut self, response: reqwest::Response, tx: mpsc::Sender<Bytes>) {
        let mut upstream = std::pin::pin!(events(response));
        let mut blocks: BTreeMap<u64, Block> = BTreeMap::new();
        let mut delivered = 0usize;
        let mut text = String::new();
        loop {
            let Some(event) = next_event(&mut upstream, &tx, &mut self.p.call).await else {
                break;
            };
            let Ok(mut data) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            let kind = data
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or(event.event.as_str())
                .to_owned();
            let judged = Instant::now();
            let mut out: Vec<(String, Value)> = Vec::new();
            let mut stop = false;
            let mut blocked_block: Option<u64> = None;
            match kind.as_str() {
                "message_start" => {
                    usage(&data["message"], &mut self.p.call);
                    out.push((kind.clone(), data));
                }
                "content_block_start" => {
                    let index = data["index"].as_u64().unwrap_or(0);
                    let block_kind = data["content_block"]["type"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned();
                    if matches!(block_kind.as_str(), "text" | "tool_use") {
                        let scope = if block_kind == "text" {
                            part_scope(&self.p.call.scope, "completion", None)
                        } else {
                            let tool = data["content_block"]["name"].as_str();
                            part_scope(&self.p.call.scope, "tool_arguments", tool)
                        };
                        blocks.insert(
                            index,
                            Block {
                                scope,
                                kind: block_kind,
                                scanner: StreamScanner::for_target(
                                    self.p.options,
                                    Target::Completion,
                                ),
                                restorer: self.p.restorer.clone(),
                            },
                        );
                    }
                    out.push((kind.clone(), data));
                }
                "content_block_delta" => {
                    let index = data["index"].as_u64().unwrap_or(0);
                    let field = match data["delta"]["type"].as_str() {
                        Some("text_delta") => Some("text"),
                        Some("input_json_delta") => Some("partial_json"),
                        _ => None,
                    };
                    match (field, blocks.get_mut(&index)) {
                        (Some(field), Some(block)) => {
                            let piece = data["delta"][field].as_str().unwrap_or("").to_owned();
                            if field == "text" {
                                text.push_str(&piece);
                            }
                            let r = block
                                .scanner
                                .push(&self.p.enforced.set, &block.scope, &piece);
                            self.p.call.decision =
                                self.p.call.decision.max(block.scanner.decision());
                            if r.blocked {
                                blocked_block = Some(index);
                            } else {
                                let released = match block.restorer.as_mut() {
                                    Some(rest) => rest.push(&r.text),
                                    None => r.text,
                                };
                                if !released.is_empty() {
                                    if field == "text" {
                                        delivered += released.chars().count();
                                    }
                                    data["delta"][field] = json!(released);
                                    out.push((kind.clone(), data));
                                }
                            }
                        }
                        _ => out.push((kind.clone(), data)),
                    }
                }
                "content_block_stop" => {
                    let index = data["index"].as_u64().unwrap_or(0);
                    if let Some(mut block) = blocks.remove(&index) {
                        let r = block.scanner.finish(&self.p.enforced.set, &block.scope);
                        self.p.call.decision = self.p.call.decision.max(block.scanner.decision());
                        if r.blocked {
                            out.extend(self.block_frames(index, &block.scanner));
                            stop = true;
                        } else {
                            self.collect(&block.scanner);
                            let mut rest = r.text;
                            if let Some(restorer) = block.restorer.as_mut() {
                                rest = restorer.push(&rest);
                                rest.push_str(&restorer.finish());
                                self.p.call.restored_out += restorer.restored();
                            }
                            if !rest.is_empty() {
                                let (delta_type, field) = if block.kind == "text" {
                                    delivered += rest.chars().count();
                                    ("text_delta", "text")
                                } else {
                                    ("input_json_delta", "partial_json")
                                };
                                out.push((
                                    "content_block_delta".into(),
                                    json!({"type": "content_block_delta", "index": index,
                                        "delta": {"type": delta_type, field: rest}}),
                                ));
                            }
                            out.push((kind.clone(), data));
                        }
                    } else {
                        out.push((kind.clone(), data));
                    }
                }
                "message_delta" => {
                    usage(&data, &mut self.p.call);
                    out.push((kind.clone(), data));
                }
                "error" => {
                    self.p.call.error = Some("upstream error event".into());
                    out.push((kind.clone(), data));
                    stop = true;
                }
                _ => out.push((kind.clone(), data)),
            }
            if let Some(index) = blocked_block
                && let Some(block) = blocks.remove(&index)
            {
                out.extend(self.block_frames(index, &block.scanner));
                stop = true;
            }
            self.p.call.added_ms += ms(judged);
            if delivered > 0 && self.p.call.first_token_ms.is_none() {
                self.p.call.first_token_ms = Some(ms(self.p.started));
            }
            let mut gone = false;
            for (event, data) in &out {
                if tx.send(frame(event, data)).await.is_err() {
                    gone = true;
                    break;
                }
            }
            if gone {
                self.p.call.client_gone = true;
                break;
            }
            if stop {
                if self.p.call.error.is_none() {
                    self.p.call.blocked_at = Some("response");
                }
                break;
            }
        }
        for block in blocks.values() {
            self.collect(&block.scanner);
        }
        self.p.call.upstream_ms = Some(ms(self.p.sent));
        self.p.call.delivered_chars = Some(delivered);
        self.p.call.completion = Some(text);
        self.p.call.cost_usd = cost(&self.state, &self.p.call);
        self.p.finish(&self.state).await;
        drop(tx);
    }

    fn collect(&mut self, scanner: &StreamScanner) {
        if scanner.redactor().is_some() {
            self.p.call.redacted_out += 1;
        }
        self.p
            .call
            .outbound
            .extend(scanner.evaluations().iter().cloned());
    }

    /// How a message stream ends on a block: the open block stops, the message stops with
    /// `stop_reason: "refusal"`, and an error event follows; `message_stop` is withheld.
    fn block_frames(&mut self, index: u64, scanner: &StreamScanner) -> Vec<(String, Value)> {
        self.collect(scanner);
        vec![
            (
                "content_block_stop".into(),
                json!({"type": "content_block_stop", "index": index}),
            ),
            (
                "message_delta".into(),
                json!({"type": "message_delta",
                    "delta": {"stop_reason": "refusal", "stop_sequence": null},
                    "usage": {"output_tokens": self.p.call.output_tokens.unwrap_or(0)}}),
            ),
            (
                "error".into(),
                json!({"type": "error", "error": {
                    "type": "invalid_request_error",
                    "code": "content_policy_violation",
                    "message": "The answer was stopped by a content policy.",
                    "delivered_chars": scanner.delivered_chars(),
                }}),
            ),
        ]
    }
}
