//! OpenAI's Responses API (`POST /v1/responses`), streamed and not.

use std::collections::BTreeMap;

use axum::body::Bytes;
use sentinel_engine::{Restorer, Scope, StreamScanner, Target};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::ProviderError;
use super::inbound::{Part, Texts, part_scope};
use super::pipeline::{
    Prepared, Shape, cost, events, ms, next_event, restore, scan_whole, usage_tokens as usage,
};
use crate::settings::ApiShape;
use crate::state::AppState;

const API: ApiShape = ApiShape::Openai;

/// OpenAI's Responses API (`POST /v1/responses`).
pub(super) struct Responses;

/// The texts of a Responses request: `instructions`, and the `input` text or items (messages
/// with their text parts, function calls' arguments, function call outputs). Images, files and
/// audio are unscannable; reasoning and other items are passed on unread.
fn input_texts(body: &Value) -> Result<Texts, ProviderError> {
    let mut texts = Texts::default();
    if let Some(i) = body.get("instructions").and_then(Value::as_str) {
        texts.push("/instructions".into(), Part::System, i);
    }
    let mut tools: BTreeMap<&str, &str> = BTreeMap::new();
    match body.get("input") {
        Some(Value::String(s)) => texts.push("/input".into(), Part::User, s),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let from = texts.slots.len();
                let kind = item
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("message");
                match kind {
                    "message" => {
                        let part = match item.get("role").and_then(Value::as_str) {
                            Some("system" | "developer") => Part::System,
                            Some("assistant") => Part::Assistant,
                            _ => Part::User,
                        };
                        match item.get("content") {
                            Some(Value::String(s)) => {
                                texts.push(format!("/input/{i}/content"), part, s);
                            }
                            Some(Value::Array(parts)) => {
                                for (j, p) in parts.iter().enumerate() {
                                    let t = p.get("type").and_then(Value::as_str).unwrap_or("");
                                    match (t, p.get("text").and_then(Value::as_str)) {
                                        ("input_text" | "output_text", Some(text)) => texts.push(
                                            format!("/input/{i}/content/{j}/text"),
                                            part,
                                            text,
                                        ),
                                        ("refusal", _) => {}
                                        _ => texts
                                            .unscannable
                                            .push(format!("{t} at /input/{i}/content/{j}")),
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    "function_call" => {
                        let name = item.get("name").and_then(Value::as_str);
                        if let (Some(id), Some(name)) =
                            (item.get("call_id").and_then(Value::as_str), name)
                        {
                            tools.insert(id, name);
                        }
                        if let Some(args) = item.get("arguments").and_then(Value::as_str) {
                            texts.push(format!("/input/{i}/arguments"), Part::ToolArguments, args);
                        }
                        texts.name_tool(from, name);
                    }
                    "function_call_output" => {
                        if let Some(out) = item.get("output").and_then(Value::as_str) {
                            texts.push(format!("/input/{i}/output"), Part::ToolResult, out);
                        }
                        let tool = item
                            .get("call_id")
                            .and_then(Value::as_str)
                            .and_then(|id| tools.get(id).copied());
                        texts.name_tool(from, tool);
                    }
                    _ => {}
                }
            }
        }
        _ => {
            return Err(super::pipeline::bad(
                API,
                "`input` must be a text or a list of items",
            ));
        }
    }
    Ok(texts)
}

impl Shape for Responses {
    const API: ApiShape = API;
    const OPERATION: &'static str = "responses";
    const PATH: &'static str = "/responses";
    type Ask = ();

    fn texts(body: &Value) -> Result<Texts, ProviderError> {
        input_texts(body)
    }

    fn adjust(_: &mut Value, _: bool) {}

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
        StreamJob {
            state,
            p,
            parts: BTreeMap::new(),
            sequence: 0,
            created: None,
        }
        .run(response, tx)
        .await;
    }
}

/// The response marked incomplete by a content filter, its output withheld.
fn withheld(response: &mut Value) {
    response["status"] = json!("incomplete");
    response["incomplete_details"] = json!({"reason": "content_filter"});
    response["output"] = json!([]);
}

/// Judges a whole response: each output text and each function call's arguments.
fn judge_answer(state: &AppState, p: &mut Prepared, mut answer: Value) -> Value {
    let Prepared {
        enforced,
        options,
        restorer,
        call,
        ..
    } = p;
    let (enforced, options, restorer) = (&**enforced, *options, &*restorer);
    let mut completion = String::new();
    let mut blocked = false;
    let text_scope = part_scope(&call.scope, "completion", None);
    if let Some(items) = answer.get_mut("output").and_then(Value::as_array_mut) {
        for item in items.iter_mut() {
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    for part in item["content"].as_array_mut().into_iter().flatten() {
                        if let Some(Value::String(text)) = part.get_mut("text") {
                            completion.push_str(text);
                            let (out, b) = scan_whole(enforced, &text_scope, options, text, call);
                            blocked |= b;
                            *text = restore(restorer, out, call);
                        }
                    }
                }
                Some("function_call") => {
                    let tool = item.get("name").and_then(Value::as_str).map(str::to_owned);
                    let scope = part_scope(&call.scope, "tool_arguments", tool.as_deref());
                    if let Some(Value::String(args)) = item.get_mut("arguments") {
                        let (out, b) = scan_whole(enforced, &scope, options, args, call);
                        blocked |= b;
                        *args = restore(restorer, out, call);
                    }
                }
                _ => {}
            }
        }
    }
    if blocked {
        withheld(&mut answer);
        call.blocked_at = Some("response");
    }
    call.completion = Some(completion);
    usage(&answer, call);
    call.cost_usd = cost(state, call);
    answer
}

/// One streamed text: an output text part, or a function call's arguments.
struct Stream {
    scanner: StreamScanner,
    restorer: Option<Restorer>,
    scope: Scope,
    /// What the client received of it.
    released: String,
    function: bool,
}

struct StreamJob {
    state: AppState,
    p: Prepared,
    /// By (output index, content index); a function call's arguments have content index 0.
    parts: BTreeMap<(u64, u64), Stream>,
    /// The sequence numbers are renumbered: releasing text adds events.
    sequence: u64,
    /// The response as `response.created` gave it.
    created: Option<Value>,
}

fn frame(data: &Value) -> Bytes {
    let event = data["type"].as_str().unwrap_or("message");
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

impl StreamJob {
    fn key(data: &Value) -> (u64, u64) {
        (
            data["output_index"].as_u64().unwrap_or(0),
            data["content_index"].as_u64().unwrap_or(0),
        )
    }

    fn open(&mut self, key: (u64, u64), function: Option<&str>) {
        let scope = match function {
            Some(name) => part_scope(&self.p.call.scope, "tool_arguments", Some(name)),
            None => part_scope(&self.p.call.scope, "completion", None),
        };
        self.parts.insert(
            key,
            Stream {
                scanner: StreamScanner::for_target(self.p.options, Target::Completion),
                restorer: self.p.restorer.clone(),
                scope,
                released: String::new(),
                function: function.is_some(),
            },
        );
    }

    /// A piece of a text, or its end (`None`): what to send, or `Err` with the block frames.
    fn feed(&mut self, key: (u64, u64), piece: Option<&str>) -> Result<String, Vec<Value>> {
        let Some(s) = self.parts.get_mut(&key) else {
            return Ok(piece.unwrap_or("").to_owned());
        };
        let set = &self.p.enforced.set;
        let r = match piece {
            Some(piece) => s.scanner.push(set, &s.scope, piece),
            None => s.scanner.finish(set, &s.scope),
        };
        self.p.call.decision = self.p.call.decision.max(s.scanner.decision());
        if piece.is_none() || r.blocked {
            self.p
                .call
                .outbound
                .extend(s.scanner.evaluations().iter().cloned());
            if s.scanner.redactor().is_some() {
                self.p.call.redacted_out += 1;
            }
        }
        if r.blocked {
            return Err(self.block_frames());
        }
        let mut out = match s.restorer.as_mut() {
            Some(rest) => rest.push(&r.text),
            None => r.text,
        };
        if piece.is_none()
            && let Some(rest) = s.restorer.as_mut()
        {
            out.push_str(&rest.finish());
            self.p.call.restored_out += rest.restored();
        }
        s.released.push_str(&out);
        Ok(out)
    }

    fn block_frames(&mut self) -> Vec<Value> {
        let mut response = self.created.clone().unwrap_or_else(|| json!({}));
        withheld(&mut response);
        vec![
            json!({"type": "response.incomplete", "response": response}),
            json!({"type": "error", "code": "content_policy_violation", "param": null,
                "message": "The answer was stopped by a content policy.",
                "error": {"type": "invalid_request_error", "code": "content_policy_violation",
                    "message": "The answer was stopped by a content policy."}}),
        ]
    }

    /// The texts the client received, put back into an item of a done or completed event.
    fn rewrite_item(&self, index: u64, item: &mut Value) {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                for (k, part) in item["content"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let Some(s) = self.parts.get(&(index, k as u64))
                        && part.get("text").is_some()
                    {
                        part["text"] = json!(s.released);
                    }
                }
            }
            Some("function_call") => {
                if let Some(s) = self.parts.get(&(index, 0)).filter(|s| s.function) {
                    item["arguments"] = json!(s.released);
                }
            }
            _ => {}
        }
    }

    async fn run(mut self, response: reqwest::Response, tx: mpsc::Sender<Bytes>) {
        let mut upstream = std::pin::pin!(events(response));
        let mut delivered = 0usize;
        let mut text = String::new();
        'events: loop {
            let Some(event) = next_event(&mut upstream, &tx, &mut self.p.call).await else {
                break;
            };
            let Ok(mut data) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            let kind = data["type"].as_str().unwrap_or("").to_owned();
            let judged = std::time::Instant::now();
            let mut out: Vec<Value> = Vec::new();
            let mut stop = false;
            match kind.as_str() {
                "response.created" => {
                    self.created = Some(data["response"].clone());
                    out.push(data);
                }
                "response.output_item.added" => {
                    if data["item"]["type"] == "function_call" {
                        let name = data["item"]["name"].as_str().unwrap_or("").to_owned();
                        let index = data["output_index"].as_u64().unwrap_or(0);
                        self.open((index, 0), Some(&name));
                    }
                    out.push(data);
                }
                "response.content_part.added" => {
                    if data["part"]["type"] == "output_text" {
                        self.open(Self::key(&data), None);
                    }
                    out.push(data);
                }
                "response.output_text.delta" | "response.function_call_arguments.delta" => {
                    let key = Self::key(&data);
                    let piece = data["delta"].as_str().unwrap_or("").to_owned();
                    if kind == "response.output_text.delta" {
                        text.push_str(&piece);
                    }
                    match self.feed(key, Some(&piece)) {
                        Ok(released) if released.is_empty() => {}
                        Ok(released) => {
                            if kind == "response.output_text.delta" {
                                delivered += released.chars().count();
                            }
                            data["delta"] = json!(released);
                            out.push(data);
                        }
                        Err(frames) => {
                            out.extend(frames);
                            stop = true;
                        }
                    }
                }
                "response.output_text.done" | "response.function_call_arguments.done" => {
                    let key = Self::key(&data);
                    match self.feed(key, None) {
                        Ok(rest) => {
                            if !rest.is_empty() {
                                let delta_type = kind.replace(".done", ".delta");
                                let mut delta = data.clone();
                                delta["type"] = json!(delta_type);
                                delta["delta"] = json!(rest);
                                if let Some(o) = delta.as_object_mut() {
                                    o.remove("text");
                                    o.remove("arguments");
                                }
                                if kind == "response.output_text.done" {
                                    delivered += rest.chars().count();
                                }
                                out.push(delta);
                            }
                            let released = self
                                .parts
                                .get(&key)
                                .map(|s| s.released.clone())
                                .unwrap_or_default();
                            let field = if kind == "response.output_text.done" {
                                "text"
                            } else {
                                "arguments"
                            };
                            data[field] = json!(released);
                            out.push(data);
                        }
                        Err(frames) => {
                            out.extend(frames);
                            stop = true;
                        }
                    }
                }
                "response.content_part.done" => {
                    if let Some(s) = self.parts.get(&Self::key(&data))
                        && data["part"].get("text").is_some()
                    {
                        data["part"]["text"] = json!(s.released);
                    }
                    out.push(data);
                }
                "response.output_item.done" => {
                    let index = data["output_index"].as_u64().unwrap_or(0);
                    let mut item = data["item"].take();
                    self.rewrite_item(index, &mut item);
                    data["item"] = item;
                    out.push(data);
                }
                "response.completed" => {
                    usage(&data["response"], &mut self.p.call);
                    let mut output = data["response"]["output"].take();
                    for (i, item) in output.as_array_mut().into_iter().flatten().enumerate() {
                        self.rewrite_item(i as u64, item);
                    }
                    data["response"]["output"] = output;
                    out.push(data);
                }
                "error" | "response.failed" => {
                    self.p.call.error = Some(format!("upstream {kind}"));
                    out.push(data);
                    stop = true;
                }
                _ => out.push(data),
            }
            self.p.call.added_ms += ms(judged);
            if delivered > 0 && self.p.call.first_token_ms.is_none() {
                self.p.call.first_token_ms = Some(ms(self.p.started));
            }
            for mut f in out {
                f["sequence_number"] = json!(self.sequence);
                self.sequence += 1;
                if tx.send(frame(&f)).await.is_err() {
                    self.p.call.client_gone = true;
                    break 'events;
                }
            }
            if stop {
                if self.p.call.error.is_none() {
                    self.p.call.blocked_at = Some("response");
                }
                break;
            }
        }
        self.p.call.upstream_ms = Some(ms(self.p.sent));
        self.p.call.delivered_chars = Some(delivered);
        self.p.call.completion = Some(text);
        self.p.call.cost_usd = cost(&self.state, &self.p.call);
        self.p.finish(&self.state).await;
        drop(tx);
    }
}
