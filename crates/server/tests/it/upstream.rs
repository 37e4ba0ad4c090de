//! A stand-in for a paid model provider (the one fake the tests allow): it speaks OpenAI's chat
//! completions and Anthropic's messages, streamed and not, and streams with adversarial
//! chunking — deltas of any size, and the SSE bytes themselves cut into pieces of one to a few
//! bytes, inside characters too.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// What the stand-in answers, and what it received.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The answer's text; `{prompt}` is replaced by the last user message as received.
    pub answer: String,
    /// A tool call to make: name and JSON arguments.
    pub tool_call: Option<(String, String)>,
    /// Byte sizes of successive content deltas (cycled, widened to a character boundary).
    pub delta_sizes: Vec<usize>,
    /// Byte sizes of the pieces the SSE body is written in (cycled).
    pub wire_sizes: Vec<usize>,
    /// Answer with this status and an OpenAI error instead.
    pub fail_status: Option<u16>,
    /// Request bodies received.
    pub received: Vec<Value>,
    /// The `traceparent` header of each chat-completions request received.
    pub traceparents: Vec<Option<String>>,
}

#[derive(Clone)]
pub struct StandIn {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl StandIn {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/messages", post(messages))
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/responses", post(responses))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        StandIn {
            base_url: format!("http://{addr}/v1"),
            script,
        }
    }

    /// Sets what the next calls answer (keeps what was received).
    pub fn script(&self, edit: impl FnOnce(&mut Script)) {
        edit(&mut self.script.lock().unwrap());
    }

    pub fn received(&self) -> Vec<Value> {
        self.script.lock().unwrap().received.clone()
    }

    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.script.lock().unwrap().traceparents.clone()
    }
}

/// Records a request body and returns the script to answer it with (without the bodies
/// received so far: copying them on every call would make the stand-in slower with each one).
fn take(script: &Mutex<Script>, body: &Value) -> Script {
    let mut s = script.lock().unwrap();
    s.received.push(body.clone());
    Script {
        answer: s.answer.clone(),
        tool_call: s.tool_call.clone(),
        delta_sizes: s.delta_sizes.clone(),
        wire_sizes: s.wire_sizes.clone(),
        fail_status: s.fail_status,
        received: Vec::new(),
        traceparents: Vec::new(),
    }
}

/// `text` cut into pieces of the given byte sizes (cycled), each widened to a char boundary.
pub fn cut(text: &str, sizes: &[usize]) -> Vec<String> {
    let sizes = if sizes.is_empty() { &[7][..] } else { sizes };
    let mut pieces = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < text.len() {
        let mut end = (at + sizes[i % sizes.len()].max(1)).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(text[at..end].to_owned());
        at = end;
        i += 1;
    }
    pieces
}

fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned()
}

async fn chat(
    State(script): State<Arc<Mutex<Script>>>,
    headers: axum::http::HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let body = body.0;
    script.lock().unwrap().traceparents.push(
        headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let s = take(&script, &body);
    if let Some(status) = s.fail_status {
        let error = json!({"error": {"message": "stand-in failure", "type": "server_error", "param": null, "code": "overloaded"}});
        return (
            axum::http::StatusCode::from_u16(status).unwrap(),
            axum::Json(error),
        )
            .into_response();
    }
    let answer = s.answer.replace("{prompt}", &last_user_text(&body));
    let model = body["model"].as_str().unwrap_or("stand-in").to_owned();
    let finish = if s.tool_call.is_some() {
        "tool_calls"
    } else {
        "stop"
    };
    if body["stream"] != json!(true) {
        let mut message = json!({"role": "assistant", "content": answer});
        if let Some((name, args)) = &s.tool_call {
            message["tool_calls"] = json!([{
                "id": "call_1", "type": "function",
                "function": {"name": name, "arguments": args},
            }]);
        }
        return axum::Json(json!({
            "id": "chatcmpl-standin", "object": "chat.completion", "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33},
        }))
        .into_response();
    }
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let mut frames = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    for piece in cut(&answer, &s.delta_sizes) {
        frames.push(chunk(json!({"content": piece}), None));
    }
    if let Some((name, args)) = &s.tool_call {
        frames.push(chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        ));
        for piece in cut(args, &s.delta_sizes) {
            frames.push(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                None,
            ));
        }
    }
    frames.push(chunk(json!({}), Some(finish)));
    if body["stream_options"]["include_usage"] == json!(true) {
        frames.push(json!({
            "id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": model, "choices": [],
            "usage": {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33},
        }));
    }
    let mut wire = String::new();
    for f in frames {
        wire.push_str(&format!("data: {f}\n\n"));
    }
    wire.push_str("data: [DONE]\n\n");
    sse(wire, &s.wire_sizes)
}

/// An SSE body written in pieces of `sizes` bytes (cycled; 3 when empty), cut anywhere.
fn sse(wire: String, sizes: &[usize]) -> Response {
    let sizes = if sizes.is_empty() { &[3][..] } else { sizes };
    let bytes = wire.into_bytes();
    let mut pieces: Vec<Result<Bytes, std::io::Error>> = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let end = (at + sizes[i % sizes.len()].max(1)).min(bytes.len());
        pieces.push(Ok(Bytes::copy_from_slice(&bytes[at..end])));
        at = end;
        i += 1;
    }
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures::stream::iter(pieces)))
        .unwrap()
}

async fn messages(State(script): State<Arc<Mutex<Script>>>, body: axum::Json<Value>) -> Response {
    let body = body.0;
    let s = take(&script, &body);
    if let Some(status) = s.fail_status {
        let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "stand-in failure"}});
        return (
            axum::http::StatusCode::from_u16(status).unwrap(),
            axum::Json(error),
        )
            .into_response();
    }
    let answer = s.answer.replace("{prompt}", &last_user_text(&body));
    let model = body["model"].as_str().unwrap_or("stand-in").to_owned();
    let stop = if s.tool_call.is_some() {
        "tool_use"
    } else {
        "end_turn"
    };
    if body["stream"] != json!(true) {
        let mut content = vec![json!({"type": "text", "text": answer})];
        if let Some((name, args)) = &s.tool_call {
            let input: Value = serde_json::from_str(args).unwrap();
            content
                .push(json!({"type": "tool_use", "id": "toolu_1", "name": name, "input": input}));
        }
        return axum::Json(json!({
            "id": "msg_standin", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop, "stop_sequence": null,
            "usage": {"input_tokens": 11, "output_tokens": 22},
        }))
        .into_response();
    }
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {
            "id": "msg_standin", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 11, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
    ];
    for piece in cut(&answer, &s.delta_sizes) {
        events.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    if let Some((name, args)) = &s.tool_call {
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}}),
        ));
        for piece in cut(args, &s.delta_sizes) {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": piece}}),
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ));
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 22}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    let mut wire = String::new();
    for (event, data) in events {
        wire.push_str(&format!("event: {event}\ndata: {data}\n\n"));
    }
    sse(wire, &s.wire_sizes)
}

async fn embeddings(State(script): State<Arc<Mutex<Script>>>, body: axum::Json<Value>) -> Response {
    let body = body.0;
    script.lock().unwrap().received.push(body.clone());
    let inputs = match &body["input"] {
        Value::Array(items) => items.len(),
        _ => 1,
    };
    let data: Vec<Value> = (0..inputs)
        .map(|i| json!({"object": "embedding", "index": i, "embedding": [0.25, -0.5, 0.125]}))
        .collect();
    axum::Json(
        json!({"object": "list", "data": data, "model": body["model"],
        "usage": {"prompt_tokens": 5, "total_tokens": 5}}),
    )
    .into_response()
}

async fn responses(State(script): State<Arc<Mutex<Script>>>, body: axum::Json<Value>) -> Response {
    let body = body.0;
    let s = take(&script, &body);
    let prompt = match &body["input"] {
        Value::String(t) => t.clone(),
        _ => String::new(),
    };
    let answer = s.answer.replace("{prompt}", &prompt);
    let model = body["model"].as_str().unwrap_or("stand-in").to_owned();
    let message = |text: &str, status: &str| {
        json!({"type": "message", "id": "msg_1", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]})
    };
    let function = |args: &str, status: &str| {
        s.tool_call.as_ref().map(|(name, _)| {
            json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": name,
                "arguments": args, "status": status})
        })
    };
    let args = s
        .tool_call
        .as_ref()
        .map(|(_, a)| a.clone())
        .unwrap_or_default();
    let mut output = vec![message(&answer, "completed")];
    output.extend(function(&args, "completed"));
    let response = |status: &str, output: Vec<Value>| {
        json!({"id": "resp_standin", "object": "response", "created_at": 1_700_000_000,
            "status": status, "model": model, "output": output, "error": null,
            "incomplete_details": null, "instructions": null, "metadata": {},
            "parallel_tool_calls": true, "temperature": 1.0, "top_p": 1.0,
            "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 11, "output_tokens": 22, "total_tokens": 33,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0}}})
    };
    if body["stream"] != json!(true) {
        return axum::Json(response("completed", output)).into_response();
    }
    let mut events = vec![
        json!({"type": "response.created", "response": response("in_progress", vec![])}),
        json!({"type": "response.in_progress", "response": response("in_progress", vec![])}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": message("", "in_progress")}),
        json!({"type": "response.content_part.added", "item_id": "msg_1", "output_index": 0,
            "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
    ];
    for piece in cut(&answer, &s.delta_sizes) {
        events.push(
            json!({"type": "response.output_text.delta", "item_id": "msg_1",
            "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []}),
        );
    }
    events.push(
        json!({"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0,
        "content_index": 0, "text": answer, "logprobs": []}),
    );
    events.push(
        json!({"type": "response.content_part.done", "item_id": "msg_1", "output_index": 0,
        "content_index": 0, "part": {"type": "output_text", "text": answer, "annotations": []}}),
    );
    events.push(
        json!({"type": "response.output_item.done", "output_index": 0,
        "item": message(&answer, "completed")}),
    );
    if let Some(added) = function("", "in_progress") {
        events
            .push(json!({"type": "response.output_item.added", "output_index": 1, "item": added}));
        for piece in cut(&args, &s.delta_sizes) {
            events.push(
                json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1",
                "output_index": 1, "delta": piece}),
            );
        }
        events.push(
            json!({"type": "response.function_call_arguments.done", "item_id": "fc_1",
            "output_index": 1, "arguments": args}),
        );
        events.push(
            json!({"type": "response.output_item.done", "output_index": 1,
            "item": function(&args, "completed")}),
        );
    }
    events.push(json!({"type": "response.completed", "response": response("completed", output)}));
    let mut wire = String::new();
    for (n, mut e) in events.into_iter().enumerate() {
        e["sequence_number"] = json!(n);
        wire.push_str(&format!(
            "event: {}\ndata: {e}\n\n",
            e["type"].as_str().unwrap()
        ));
    }
    sse(wire, &s.wire_sizes)
}
