//! OpenAI's chat completions (`POST /v1/chat/completions`), streamed and not, and the model list
//! (`GET /v1/models`).

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sentinel_engine::{Restorer, Scope, StreamScanner, Target};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::inbound::{Part, Texts, part_scope};
use super::pipeline::{Prepared, Shape, cost, events, ms, next_event, restore, scan_whole};
use super::record::Call;
use super::{ProviderError, caller};
use crate::auth::{Auth, Proxy};
use crate::error::ApiError;
use crate::guard::Enforced;
use crate::settings::ApiShape;
use crate::state::AppState;

const API: ApiShape = ApiShape::Openai;

fn bad(message: impl Into<String>) -> ProviderError {
    super::pipeline::bad(API, message)
}

/// The texts of a chat request: message contents, text parts, tool-call arguments and tool
/// results. Parts that are not text are listed as unscannable.
fn chat_texts(body: &Value) -> Result<Texts, ProviderError> {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(bad("`messages` must be an array"));
    };
    let mut texts = Texts::default();
    // Tool call ids of the history → tool names, for the results that answer them.
    let mut tools: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        let part = match m.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => Part::System,
            Some("assistant") => Part::Assistant,
            Some("tool" | "function") => Part::ToolResult,
            _ => Part::User,
        };
        let from = texts.slots.len();
        match m.get("content") {
            Some(Value::String(s)) => texts.push(format!("/messages/{i}/content"), part, s),
            Some(Value::Array(parts)) => {
                for (j, p) in parts.iter().enumerate() {
                    let kind = p.get("type").and_then(Value::as_str).unwrap_or("unknown");
                    match (kind, p.get("text").and_then(Value::as_str)) {
                        ("text", Some(t)) => {
                            texts.push(format!("/messages/{i}/content/{j}/text"), part, t);
                        }
                        ("refusal", _) => {
                            if let Some(r) = p.get("refusal").and_then(Value::as_str) {
                                texts.push(format!("/messages/{i}/content/{j}/refusal"), part, r);
                            }
                        }
                        _ => texts
                            .unscannable
                            .push(format!("{kind} at /messages/{i}/content/{j}")),
                    }
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => return Err(bad(format!("messages[{i}].content must be text or parts"))),
        }
        if part == Part::ToolResult {
            let tool = m
                .get("tool_call_id")
                .and_then(Value::as_str)
                .and_then(|id| tools.get(id).copied())
                .or_else(|| m.get("name").and_then(Value::as_str));
            texts.name_tool(from, tool);
        }
        if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
            for (k, c) in calls.iter().enumerate() {
                let name = c.pointer("/function/name").and_then(Value::as_str);
                if let (Some(id), Some(name)) = (c.get("id").and_then(Value::as_str), name) {
                    tools.insert(id, name);
                }
                if let Some(args) = c.pointer("/function/arguments").and_then(Value::as_str) {
                    let from = texts.slots.len();
                    texts.push(
                        format!("/messages/{i}/tool_calls/{k}/function/arguments"),
                        Part::ToolArguments,
                        args,
                    );
                    texts.name_tool(from, name);
                }
            }
        }
        if let Some(args) = m
            .pointer("/function_call/arguments")
            .and_then(Value::as_str)
        {
            texts.push(
                format!("/messages/{i}/function_call/arguments"),
                Part::ToolArguments,
                args,
            );
        }
    }
    Ok(texts)
}

/// OpenAI's chat completions (`POST /v1/chat/completions`).
pub(super) struct Chat;

impl Shape for Chat {
    const API: ApiShape = API;
    const OPERATION: &'static str = "chat.completions";
    const PATH: &'static str = "/chat/completions";
    /// Whether the client asked for the usage chunk.
    type Ask = bool;

    fn texts(body: &Value) -> Result<Texts, ProviderError> {
        chat_texts(body)
    }

    /// Usage is always asked for when streaming (for the record), and removed again if the
    /// client did not ask.
    fn adjust(body: &mut Value, stream: bool) -> bool {
        if stream
            && let Some(o) = body.as_object_mut()
            && let Value::Object(options) = o.entry("stream_options").or_insert_with(|| json!({}))
        {
            let asked = options.get("include_usage").and_then(Value::as_bool) == Some(true);
            options.insert("include_usage".into(), json!(true));
            return asked;
        }
        true
    }

    fn judge(state: &AppState, p: &mut Prepared, answer: Value) -> Value {
        judge_answer(state, p, answer)
    }

    async fn stream(
        state: AppState,
        p: Prepared,
        client_wants_usage: bool,
        response: reqwest::Response,
        tx: mpsc::Sender<Bytes>,
    ) {
        StreamJob {
            state,
            p,
            client_wants_usage,
        }
        .run(response, tx)
        .await;
    }
}

/// Judges a non-streamed answer: each choice's content and tool-call arguments.
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
    if let Some(choices) = answer.get_mut("choices").and_then(Value::as_array_mut) {
        for choice in choices {
            let mut blocked = false;
            if let Some(Value::String(content)) = choice.pointer_mut("/message/content") {
                completion.push_str(content);
                let (out, b) = scan_whole(enforced, &scope, options, content, call);
                blocked |= b;
                *content = restore(restorer, out, call);
            }
            if let Some(Value::Array(calls)) = choice.pointer_mut("/message/tool_calls") {
                for c in calls {
                    let tool = c.pointer("/function/name").and_then(Value::as_str);
                    let scope = part_scope(&call.scope, "tool_arguments", tool);
                    if let Some(Value::String(args)) = c.pointer_mut("/function/arguments") {
                        let (out, b) = scan_whole(enforced, &scope, options, args, call);
                        blocked |= b;
                        *args = restore(restorer, out, call);
                    }
                }
            }
            if blocked {
                if let Some(m) = choice.get_mut("message").and_then(Value::as_object_mut) {
                    m.insert("content".into(), Value::Null);
                    m.remove("tool_calls");
                    m.insert(
                        "refusal".into(),
                        json!("The answer was withheld by a content policy."),
                    );
                }
                choice["finish_reason"] = json!("content_filter");
                call.blocked_at = Some("response");
            }
        }
    }
    call.completion = Some(completion);
    usage(&answer, call);
    call.cost_usd = cost(state, call);
    answer
}

fn usage(value: &Value, call: &mut Call) {
    if let Some(u) = value.get("usage").filter(|u| u.is_object()) {
        call.input_tokens = u.get("prompt_tokens").and_then(Value::as_i64);
        call.output_tokens = u.get("completion_tokens").and_then(Value::as_i64);
    }
}

/// The scanners of one choice of a stream: its content and each tool call's arguments.
#[derive(Default)]
struct ChoiceState {
    content: Option<StreamScanner>,
    restorer: Option<Restorer>,
    /// Per tool call: its scanner, restorer, and scope (naming the tool).
    tools: BTreeMap<u64, (StreamScanner, Option<Restorer>, Scope)>,
    text: String,
    finished: bool,
}

/// A streamed call, run beside the response body: reads the upstream's events, judges each
/// delta, and sends what is released. Ends by recording the call.
struct StreamJob {
    state: AppState,
    p: Prepared,
    client_wants_usage: bool,
}

fn frame(data: &Value) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

impl StreamJob {
    async fn run(mut self, response: reqwest::Response, tx: mpsc::Sender<Bytes>) {
        let mut upstream = std::pin::pin!(events(response));
        let mut choices: BTreeMap<u64, ChoiceState> = BTreeMap::new();
        let mut last: Option<Value> = None;
        let mut done = false;
        let mut delivered = 0usize;
        loop {
            let Some(event) = next_event(&mut upstream, &tx, &mut self.p.call).await else {
                break;
            };
            if event.data.trim() == "[DONE]" {
                done = true;
                break;
            }
            let Ok(mut chunk) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            if chunk.get("error").is_some() {
                // The provider's own mid-stream error: pass it on and stop.
                let _ = tx.send(frame(&chunk)).await;
                self.p.call.error = Some("upstream error event".into());
                break;
            }
            let judged = Instant::now();
            let outcome = self.judge_chunk(&mut chunk, &mut choices);
            self.p.call.added_ms += ms(judged);
            last = Some(chunk.clone());
            if outcome.delivered > 0 {
                delivered += outcome.delivered;
                if self.p.call.first_token_ms.is_none() {
                    self.p.call.first_token_ms = Some(ms(self.p.started));
                }
            }
            if let Some(blocked) = outcome.blocked {
                for f in blocked {
                    if tx.send(frame(&f)).await.is_err() {
                        self.p.call.client_gone = true;
                    }
                }
                self.p.call.blocked_at = Some("response");
                break;
            }
            let frames = outcome
                .send
                .then_some(&chunk)
                .into_iter()
                .chain(&outcome.extra);
            let mut gone = false;
            for f in frames {
                if tx.send(frame(f)).await.is_err() {
                    gone = true;
                    break;
                }
            }
            if gone {
                self.p.call.client_gone = true;
                break;
            }
        }
        // Whatever the scanners still hold (an upstream that ended without finish_reason).
        if self.p.call.blocked_at.is_none() && !self.p.call.client_gone {
            let template = last.clone().unwrap_or_else(|| json!({}));
            for (index, state) in &mut choices {
                if state.finished {
                    continue;
                }
                let (frames, chars, blocked) = self.flush_choice(*index, state, &template, None);
                delivered += chars;
                for f in frames {
                    let _ = tx.send(frame(&f)).await;
                }
                if blocked {
                    self.p.call.blocked_at = Some("response");
                    break;
                }
            }
            if done && self.p.call.blocked_at.is_none() {
                let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
            }
        }
        self.p.call.upstream_ms = Some(ms(self.p.sent));
        self.p.call.delivered_chars = Some(delivered);
        self.p.call.completion = Some(
            choices
                .values()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        self.p.call.cost_usd = cost(&self.state, &self.p.call);
        self.p.finish(&self.state).await;
        // The body ends once the call is recorded, so a client that reads to the end can find
        // the event.
        drop(tx);
    }

    /// Rewrites a chunk's deltas with what the scanners release.
    fn judge_chunk(
        &mut self,
        chunk: &mut Value,
        choices: &mut BTreeMap<u64, ChoiceState>,
    ) -> ChunkOutcome {
        let mut outcome = ChunkOutcome {
            send: true,
            extra: Vec::new(),
            delivered: 0,
            blocked: None,
        };
        if chunk.get("usage").is_some_and(Value::is_object) {
            usage(chunk, &mut self.p.call);
            if !self.client_wants_usage {
                if let Some(o) = chunk.as_object_mut() {
                    o.remove("usage");
                }
                if chunk
                    .get("choices")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty)
                {
                    outcome.send = false;
                    return outcome;
                }
            }
        }
        let template = chunk.clone();
        let mut extra_frames: Vec<Value> = Vec::new();
        let Some(list) = chunk.get_mut("choices").and_then(Value::as_array_mut) else {
            return outcome;
        };
        let enforced = self.p.enforced.clone();
        let set = &enforced.set;
        let scope = &part_scope(&self.p.call.scope, "completion", None);
        for choice in list.iter_mut() {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let state = choices.entry(index).or_default();
            if let Some(Value::String(content)) = choice.pointer_mut("/delta/content") {
                state.text.push_str(content);
                let scanner = state.content.get_or_insert_with(|| {
                    StreamScanner::for_target(self.p.options, Target::Completion)
                });
                let r = scanner.push(set, scope, content);
                self.p.call.decision = self.p.call.decision.max(scanner.decision());
                if r.blocked {
                    self.p
                        .call
                        .outbound
                        .extend(scanner.evaluations().iter().cloned());
                    outcome.blocked = Some(block_frames(&template, index, scanner));
                    return outcome;
                }
                let restorer = state
                    .restorer
                    .get_or_insert_with(|| self.p.restorer.clone().unwrap_or_default());
                let released = restorer.push(&r.text);
                outcome.delivered += released.chars().count();
                *content = released;
            }
            if let Some(Value::Array(calls)) = choice.pointer_mut("/delta/tool_calls") {
                for call in calls.iter_mut() {
                    let tool = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let name = call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if let Some(Value::String(args)) = call.pointer_mut("/function/arguments") {
                        let (scanner, restorer, tool_scope) =
                            state.tools.entry(tool).or_insert_with(|| {
                                (
                                    StreamScanner::for_target(self.p.options, Target::Completion),
                                    self.p.restorer.clone(),
                                    part_scope(
                                        &self.p.call.scope,
                                        "tool_arguments",
                                        name.as_deref(),
                                    ),
                                )
                            });
                        let r = scanner.push(set, tool_scope, args);
                        self.p.call.decision = self.p.call.decision.max(scanner.decision());
                        if r.blocked {
                            self.p
                                .call
                                .outbound
                                .extend(scanner.evaluations().iter().cloned());
                            outcome.blocked = Some(block_frames(&template, index, scanner));
                            return outcome;
                        }
                        *args = match restorer {
                            Some(rest) => rest.push(&r.text),
                            None => r.text,
                        };
                    }
                }
            }
            if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
                // Release what the scanners hold before the finish.
                let finish = choice.get("finish_reason").cloned();
                let (frames, chars, blocked) = flush(
                    &self.p.enforced,
                    &mut self.p.call,
                    index,
                    state,
                    &template,
                    finish.clone(),
                );
                outcome.delivered += chars;
                if blocked {
                    outcome.blocked = Some(frames);
                    return outcome;
                }
                extra_frames.extend(frames);
                // The finish itself goes out after the flushed text.
                choice["finish_reason"] = Value::Null;
                if let Some(f) = finish {
                    let mut finish_frame = template.clone();
                    let mut c = json!({"index": index, "delta": {}, "finish_reason": f});
                    if let Some(lp) = choice.get("logprobs") {
                        c["logprobs"] = lp.clone();
                    }
                    finish_frame["choices"] = json!([c]);
                    if let Some(o) = finish_frame.as_object_mut() {
                        o.remove("usage");
                    }
                    extra_frames.push(finish_frame);
                }
            }
        }
        // Drop choices whose delta became empty.
        list.retain(|c| !delta_is_empty(c));
        if list.is_empty() && chunk.get("usage").is_none_or(Value::is_null) {
            outcome.send = false;
        }
        if !extra_frames.is_empty() {
            // Send this chunk (if anything is left of it), then the flushed text and finishes.
            let mut frames = Vec::new();
            if outcome.send {
                frames.push(chunk.clone());
            }
            frames.extend(extra_frames);
            outcome.send = false;
            outcome.extra = frames;
        }
        outcome
    }

    fn flush_choice(
        &mut self,
        index: u64,
        state: &mut ChoiceState,
        template: &Value,
        finish: Option<Value>,
    ) -> (Vec<Value>, usize, bool) {
        flush(
            &self.p.enforced,
            &mut self.p.call,
            index,
            state,
            template,
            finish,
        )
    }
}

/// What a chunk turned into.
struct ChunkOutcome {
    /// Send the (rewritten) chunk.
    send: bool,
    /// Frames to send after it (text flushed at a finish, and the finish).
    extra: Vec<Value>,
    /// Characters of answer text released by this chunk.
    delivered: usize,
    /// The frames that end a blocked stream.
    blocked: Option<Vec<Value>>,
}

fn delta_is_empty(choice: &Value) -> bool {
    let Some(delta) = choice.get("delta").and_then(Value::as_object) else {
        return false;
    };
    let finish = choice.get("finish_reason").is_some_and(|f| !f.is_null());
    let content_empty = delta
        .get("content")
        .is_none_or(|c| c.as_str().is_some_and(str::is_empty));
    let tools_empty = delta.get("tool_calls").is_none_or(|t| {
        t.as_array().is_some_and(|calls| {
            calls.iter().all(|c| {
                c.get("id").is_none()
                    && c.pointer("/function/name").is_none()
                    && c.pointer("/function/arguments")
                        .is_none_or(|a| a.as_str().is_some_and(str::is_empty))
            })
        })
    });
    let others = delta
        .keys()
        .any(|k| !matches!(k.as_str(), "content" | "tool_calls"));
    !finish && content_empty && tools_empty && !others
}

/// Finishes a choice's scanners; the frames carry what they still held.
fn flush(
    enforced: &Enforced,
    call: &mut Call,
    index: u64,
    state: &mut ChoiceState,
    template: &Value,
    _finish: Option<Value>,
) -> (Vec<Value>, usize, bool) {
    state.finished = true;
    let set = &enforced.set;
    let scope = part_scope(&call.scope, "completion", None);
    let mut frames = Vec::new();
    let mut chars = 0;
    if let Some(scanner) = state.content.as_mut() {
        let r = scanner.finish(set, &scope);
        call.decision = call.decision.max(scanner.decision());
        call.outbound.extend(scanner.evaluations().iter().cloned());
        if scanner.redactor().is_some() {
            call.redacted_out += 1;
        }
        if r.blocked {
            return (block_frames(template, index, scanner), 0, true);
        }
        let mut text = r.text;
        if let Some(restorer) = state.restorer.as_mut() {
            text = restorer.push(&text);
            text.push_str(&restorer.finish());
            call.restored_out += restorer.restored();
        }
        if !text.is_empty() {
            chars += text.chars().count();
            frames.push(delta_frame(template, index, json!({"content": text})));
        }
    }
    for (tool, (scanner, restorer, tool_scope)) in &mut state.tools {
        let r = scanner.finish(set, tool_scope);
        call.decision = call.decision.max(scanner.decision());
        call.outbound.extend(scanner.evaluations().iter().cloned());
        if r.blocked {
            return (block_frames(template, index, scanner), chars, true);
        }
        let mut text = r.text;
        if let Some(restorer) = restorer.as_mut() {
            text = restorer.push(&text);
            text.push_str(&restorer.finish());
            call.restored_out += restorer.restored();
        }
        if !text.is_empty() {
            frames.push(delta_frame(
                template,
                index,
                json!({"tool_calls": [{"index": tool, "function": {"arguments": text}}]}),
            ));
        }
    }
    (frames, chars, false)
}

fn delta_frame(template: &Value, index: u64, delta: Value) -> Value {
    let mut f = template.clone();
    f["choices"] = json!([{"index": index, "delta": delta, "finish_reason": null}]);
    if let Some(o) = f.as_object_mut() {
        o.remove("usage");
    }
    f
}

/// How a stream ends on a block: a final chunk with `finish_reason: "content_filter"`, then an
/// error event; `[DONE]` is withheld.
fn block_frames(template: &Value, index: u64, scanner: &StreamScanner) -> Vec<Value> {
    let mut last = template.clone();
    last["choices"] = json!([{"index": index, "delta": {}, "finish_reason": "content_filter"}]);
    if let Some(o) = last.as_object_mut() {
        o.remove("usage");
    }
    let error = json!({
        "error": {
            "message": "The answer was stopped by a content policy.",
            "type": "invalid_request_error",
            "param": null,
            "code": "content_policy_violation",
            "delivered_chars": scanner.delivered_chars(),
        }
    });
    vec![last, error]
}

/// OpenAI's embeddings (`POST /v1/embeddings`): the input texts are judged on the way in (a
/// block refuses, a redaction is what the model embeds); the vectors come back as the upstream
/// sent them.
pub(super) struct Embeddings;

impl Shape for Embeddings {
    const API: ApiShape = API;
    const OPERATION: &'static str = "embeddings";
    const PATH: &'static str = "/embeddings";
    const STREAMS: bool = false;
    type Ask = ();

    /// `input` is a text, a list of texts, or token ids (which cannot be read).
    fn texts(body: &Value) -> Result<Texts, ProviderError> {
        let mut texts = Texts::default();
        match body.get("input") {
            Some(Value::String(s)) => texts.push("/input".into(), Part::User, s),
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => texts.push(format!("/input/{i}"), Part::User, s),
                        _ => texts.unscannable.push(format!("token ids at /input/{i}")),
                    }
                }
            }
            _ => return Err(bad("`input` must be a text or a list of texts")),
        }
        Ok(texts)
    }

    fn adjust(_: &mut Value, _: bool) {}

    fn judge(state: &AppState, p: &mut Prepared, answer: Value) -> Value {
        usage(&answer, &mut p.call);
        p.call.cost_usd = cost(state, &p.call);
        answer
    }

    /// Never called (`STREAMS` is false); records the call all the same.
    async fn stream(
        state: AppState,
        p: Prepared,
        (): (),
        _: reqwest::Response,
        _: mpsc::Sender<Bytes>,
    ) {
        p.finish(&state).await;
    }
}

/// `GET /v1/models`: the model patterns of the OpenAI-shaped upstreams.
pub async fn models(
    State(state): State<AppState>,
    auth: Result<Auth<Proxy>, ApiError>,
) -> Response {
    if let Err(e) = caller(API, auth) {
        return e.into_response();
    }
    let data: Vec<Value> = state
        .gateway
        .all()
        .iter()
        .flat_map(|u| {
            u.models()
                .iter()
                .map(move |m| json!({"id": m, "object": "model", "created": 0, "owned_by": u.name}))
        })
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}
