//! HTTP behaviour against the engine's deterministic doubles: every error
//! type, the OpenAI shapes, streaming, auth, metrics and disconnects.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};
use strictly_engine::testing::{ScriptedModel, engine_with_model, engine_with_script};
use strictly_engine::{Engine, EngineConfig, GenerateRequest};
use strictly_server::{AppState, ServerConfig, app};

const NAME_SCHEMA: &str = r#"{"enum": [{"name": "Ada"}, {"name": "Bob"}]}"#;

fn ready(engine: Engine, config: ServerConfig) -> AppState {
    let state = AppState::loading(config);
    state.set_ready(engine, "test-model");
    state
}

fn default_state(script: &str) -> AppState {
    ready(
        engine_with_script(EngineConfig::default(), script),
        ServerConfig::default(),
    )
}

async fn send(
    state: &AppState,
    req: TestRequest,
) -> (StatusCode, actix_web::http::header::HeaderMap, Value) {
    let service = test::init_service(app(state.clone())).await;
    let response = test::call_service(&service, req.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = test::read_body(response).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, headers, value)
}

fn extract_body(schema: &str, document: &str) -> Value {
    json!({"document": document, "schema": serde_json::from_str::<Value>(schema).unwrap()})
}

fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_type: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"]["type"], want_type, "{body}");
    assert_eq!(body["error"]["code"], want_type);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[actix_web::test]
async fn extract_returns_schema_valid_data_with_usage() {
    let state = default_state(r#"{"name":"Bob"}"#);
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(NAME_SCHEMA, "Bob wrote this."));
    let (status, _, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!({"name": "Bob"}));
    assert_eq!(body["finish_reason"], "stop");
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["usage"]["completion_tokens"], 14);
    assert_eq!(body["usage"]["forced_tokens"], 13);
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() > 10);
    assert!(body["timings_ms"]["total"].as_f64().is_some());
    // Where the value is in the document, in Unicode scalar values.
    let field = &body["fields"]["/name"];
    assert_eq!(
        (
            &field["status"],
            &field["start"],
            &field["end"],
            &field["text"]
        ),
        (&json!("exact"), &json!(0), &json!(3), &json!("Bob")),
        "{body}"
    );
    let confidence = field["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence), "{body}");
}

#[actix_web::test]
async fn extract_says_which_values_are_not_in_the_document() {
    let state = default_state(r#"{"name":"Bob"}"#);
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(NAME_SCHEMA, "Ünïcødé 🚀 — wrote by Alice."));
    let (status, _, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let field = &body["fields"]["/name"];
    assert_eq!(field["status"], "not_found", "{body}");
    assert!(field.get("start").is_none(), "{body}");
    assert!(field["confidence"].as_f64().unwrap() <= 0.2, "{body}");
}

#[actix_web::test]
async fn malformed_json_is_400_invalid_json() {
    let req = TestRequest::post()
        .uri("/v1/extract")
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"document\": ");
    let (status, _, body) = send(&default_state(""), req).await;
    assert_error(status, &body, 400, "invalid_json");
}

#[actix_web::test]
async fn missing_and_unknown_fields_are_400_invalid_request() {
    let state = default_state("");
    let (status, _, body) = send(
        &state,
        TestRequest::post()
            .uri("/v1/extract")
            .set_json(json!({"schema": {}})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request_error");
    let mut with_typo = extract_body(NAME_SCHEMA, "x");
    with_typo["optoins"] = json!({});
    let (status, _, body) = send(
        &state,
        TestRequest::post().uri("/v1/extract").set_json(with_typo),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request_error");
}

#[actix_web::test]
async fn invalid_schema_is_400_with_the_json_pointer() {
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(r#"{"enum": 5}"#, "x"));
    let (status, _, body) = send(&default_state(""), req).await;
    assert_error(status, &body, 400, "invalid_schema");
    assert_eq!(body["error"]["pointer"], "/enum");
    assert_eq!(body["error"]["param"], "schema");
}

#[actix_web::test]
async fn oversized_body_is_413() {
    let config = ServerConfig {
        max_body_bytes: 1_000,
        ..ServerConfig::default()
    };
    let state = ready(engine_with_script(EngineConfig::default(), ""), config);
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(NAME_SCHEMA, &"x".repeat(2_000)));
    let (status, _, body) = send(&state, req).await;
    assert_error(status, &body, 413, "payload_too_large");
}

#[actix_web::test]
async fn oversized_schema_is_413() {
    let config = ServerConfig {
        max_schema_bytes: 20,
        ..ServerConfig::default()
    };
    let state = ready(engine_with_script(EngineConfig::default(), ""), config);
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(NAME_SCHEMA, "x"));
    let (status, _, body) = send(&state, req).await;
    assert_error(status, &body, 413, "schema_too_large");
}

#[actix_web::test]
async fn a_document_longer_than_the_context_is_413_with_token_counts() {
    let engine = engine_with_model(
        EngineConfig::default(),
        ScriptedModel::new("").with_context(600),
    );
    let state = ready(engine, ServerConfig::default());
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(NAME_SCHEMA, &"word ".repeat(200)));
    let (status, _, body) = send(&state, req).await;
    assert_error(status, &body, 413, "document_too_large");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("context 600 tokens"), "{message}");
    // The prompt's own count: the 1,000-byte document alone is 1,000
    // tokens of the byte vocabulary.
    let prompt_tokens: usize = message
        .strip_prefix("the prompt has ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no prompt token count in {message:?}"));
    assert!(prompt_tokens > 1_000, "{message}");
    assert!(message.contains("at most "), "{message}");
}

#[actix_web::test]
async fn a_budget_too_small_is_422() {
    let mut body = extract_body(NAME_SCHEMA, "x");
    body["options"] = json!({"max_tokens": 4});
    let (status, _, body) = send(
        &default_state(""),
        TestRequest::post().uri("/v1/extract").set_json(body),
    )
    .await;
    assert_error(status, &body, 422, "unsatisfiable");
    assert_eq!(body["error"]["param"], "max_tokens");
}

#[actix_web::test]
async fn a_full_queue_is_429_with_retry_after() {
    let model = ScriptedModel::new(&"a".repeat(500)).with_delay(Duration::from_millis(2));
    let engine = engine_with_model(
        EngineConfig {
            max_batch: 1,
            max_queue: 0,
            ..EngineConfig::default()
        },
        model,
    );
    let busy = engine
        .submit(GenerateRequest::chat("occupy").with_max_tokens(400))
        .unwrap();
    let state = ready(engine, ServerConfig::default());
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(NAME_SCHEMA, "x"));
    let (status, headers, body) = send(&state, req).await;
    assert_error(status, &body, 429, "queue_full");
    let retry: u64 = headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    drop(busy);
}

#[actix_web::test]
async fn not_ready_is_503_while_liveness_stays_200() {
    let state = AppState::loading(ServerConfig::default());
    let (status, _, body) = send(&state, TestRequest::get().uri("/readyz")).await;
    assert_error(status, &body, 503, "not_ready");
    let (status, _, body) = send(
        &state,
        TestRequest::post()
            .uri("/v1/extract")
            .set_json(extract_body(NAME_SCHEMA, "x")),
    )
    .await;
    assert_error(status, &body, 503, "not_ready");
    let (status, _, body) = send(&state, TestRequest::get().uri("/healthz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _, _) = send(&default_state(""), TestRequest::get().uri("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn a_slow_request_is_504() {
    let model = ScriptedModel::new(&"a".repeat(3000)).with_delay(Duration::from_millis(5));
    let engine = engine_with_model(
        EngineConfig {
            request_timeout: Duration::from_millis(100),
            ..EngineConfig::default()
        },
        model,
    );
    let state = ready(engine, ServerConfig::default());
    let req = TestRequest::post()
        .uri("/v1/chat/completions")
        .set_json(json!({"messages": [{"role": "user", "content": "go"}], "max_tokens": 2000}));
    let (status, _, body) = send(&state, req).await;
    assert_error(status, &body, 504, "timeout");
}

#[actix_web::test]
async fn api_keys_guard_the_api_but_not_health() {
    let config = ServerConfig {
        api_keys: vec!["s3cret-key".into()],
        ..ServerConfig::default()
    };
    let state = ready(engine_with_script(EngineConfig::default(), ""), config);
    let (status, _, body) = send(&state, TestRequest::get().uri("/v1/models")).await;
    assert_error(status, &body, 401, "unauthorized");
    let wrong = TestRequest::get()
        .uri("/v1/models")
        .insert_header(("authorization", "Bearer s3cret-kez"));
    let (status, _, _) = send(&state, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let right = TestRequest::get()
        .uri("/v1/models")
        .insert_header(("authorization", "Bearer s3cret-key"));
    let (status, _, body) = send(&state, right).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0]["id"], "test-model");
    let (status, _, _) = send(&state, TestRequest::get().uri("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn unknown_routes_are_404_json() {
    let (status, _, body) = send(&default_state(""), TestRequest::get().uri("/v2/nothing")).await;
    assert_error(status, &body, 404, "not_found");
}

#[actix_web::test]
async fn chat_completion_with_json_schema() {
    let state = default_state(r#"{"name":"Ada"}"#);
    let req = TestRequest::post().uri("/v1/chat/completions").set_json(json!({
        "model": "anything",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Who? Ada wrote it."}]}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "person", "strict": true, "schema": serde_json::from_str::<Value>(NAME_SCHEMA).unwrap()
        }}
    }));
    let (status, _, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "test-model");
    let choice = &body["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["finish_reason"], "stop");
    let content: Value =
        serde_json::from_str(choice["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"name": "Ada"}));
    // The extension: where the value is in the user's messages.
    assert_eq!(body["fields"]["/name"]["status"], "exact", "{body}");
    assert_eq!(body["fields"]["/name"]["start"], 5, "{body}");
    let usage = &body["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
}

#[actix_web::test]
async fn chat_completion_reports_length_honestly() {
    let state = default_state("a long free answer");
    let req = TestRequest::post()
        .uri("/v1/chat/completions")
        .set_json(json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}));
    let (status, _, body) = send(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "a lo");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert!(
        body.get("fields").is_none(),
        "free text has no fields: {body}"
    );
}

#[actix_web::test]
async fn chat_rejects_what_it_cannot_do() {
    let state = default_state("");
    for bad in [
        json!({"messages": []}),
        json!({"messages": [{"role": "tool", "content": "x"}]}),
        json!({"messages": [{"role": "user", "content": "x"}], "n": 2}),
        json!({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"name": "n"}}}),
        json!({"messages": [{"role": "user", "content": "x"}], "temperature": 9}),
    ] {
        let (status, _, body) = send(
            &state,
            TestRequest::post()
                .uri("/v1/chat/completions")
                .set_json(&bad),
        )
        .await;
        assert_error(status, &body, 400, "invalid_request_error");
    }
}

#[actix_web::test]
async fn streamed_chat_completion_is_server_sent_events() {
    let state = default_state(r#"{"answer":42}"#);
    let req = TestRequest::post()
        .uri("/v1/chat/completions")
        .set_json(json!({
            "messages": [{"role": "user", "content": "x"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "response_format": {"type": "json_object"}
        }));
    let service = test::init_service(app(state)).await;
    let response = test::call_service(&service, req.to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, r#"{"answer":42}"#);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"])
    );
}

#[actix_web::test]
async fn an_error_after_the_stream_started_is_an_error_event() {
    let model = ScriptedModel::new(&"a".repeat(3000)).with_delay(Duration::from_millis(5));
    let engine = engine_with_model(
        EngineConfig {
            request_timeout: Duration::from_millis(100),
            ..EngineConfig::default()
        },
        model,
    );
    let state = ready(engine, ServerConfig::default());
    let req = TestRequest::post().uri("/v1/chat/completions").set_json(
        json!({"messages": [{"role": "user", "content": "x"}], "stream": true, "max_tokens": 2000}),
    );
    let service = test::init_service(app(state)).await;
    let body = test::read_body(test::call_service(&service, req.to_request()).await).await;
    let body = String::from_utf8(body.to_vec()).unwrap();
    let last = body.split("\n\n").filter(|e| !e.is_empty()).last().unwrap();
    let error: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(error["error"]["type"], "timeout");
}

#[actix_web::test]
async fn metrics_count_requests_and_tokens() {
    let state = default_state(r#"{"name":"Bob"}"#);
    let req = TestRequest::post()
        .uri("/v1/extract")
        .set_json(extract_body(NAME_SCHEMA, "x"));
    assert_eq!(send(&state, req).await.0, StatusCode::OK);
    let service = test::init_service(app(state)).await;
    let response =
        test::call_service(&service, TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    for needle in [
        r#"strictly_http_requests_total{route="/v1/extract",status="200"} 1"#,
        r#"strictly_tokens_total{kind="forced"} 13"#,
        "strictly_http_request_duration_seconds_bucket",
        "strictly_batch_size_bucket",
        "strictly_mask_seconds_bucket",
        "strictly_queue_depth",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

#[actix_web::test]
async fn openapi_document_matches_the_committed_copy() {
    let (status, _, served) =
        send(&default_state(""), TestRequest::get().uri("/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let generated = strictly_server::openapi::document();
    assert_eq!(served, serde_json::from_str::<Value>(&generated).unwrap());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    if std::env::var_os("STRICTLY_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, format!("{generated}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated,
        "crates/strictly-server/openapi.json is out of date: rerun this test with STRICTLY_UPDATE_OPENAPI=1 and commit it"
    );
}

/// Starts the server on a real socket over `engine` and returns its address
/// (the server thread lives until the test process ends).
fn serve_on_socket(engine: Engine) -> std::net::SocketAddr {
    let config = ServerConfig {
        port: 0,
        workers: 1,
        ..ServerConfig::default()
    };
    let state = ready(engine, config);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let (server, addrs) = strictly_server::run(state).unwrap();
            tx.send(addrs[0]).unwrap();
            server.await
        })
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

/// Sends a long chat completion on a real socket, waits until it runs,
/// optionally reads the start of the answer, hangs up, and checks that the
/// engine stops working on it and frees its slot.
fn hang_up_and_check_the_slot_is_freed(stream: bool) {
    let model = ScriptedModel::new(&"a".repeat(4000)).with_delay(Duration::from_millis(1));
    let log = model.log();
    let engine = engine_with_model(EngineConfig::default(), model);
    let addr = serve_on_socket(engine.clone());
    let body = json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 3000, "stream": stream})
        .to_string();
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    write!(
        socket,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let started = Instant::now();
    if stream {
        // The head and the first events arrive while the answer is decoded.
        let mut first = [0u8; 512];
        let n = socket.read(&mut first).unwrap();
        let head = String::from_utf8_lossy(&first[..n]);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("text/event-stream"), "{head}");
    }
    while engine.running() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the request never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    socket.shutdown(std::net::Shutdown::Both).unwrap();
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest);
    drop(socket);
    while engine.running() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the slot was never freed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let passes = log.lock().unwrap().len();
    assert!(
        passes < 2500,
        "the abandoned request ran on ({passes} passes)"
    );
}

#[test]
fn a_client_that_disconnects_frees_its_slot() {
    hang_up_and_check_the_slot_is_freed(false);
}

#[test]
fn a_streaming_client_that_disconnects_frees_its_slot() {
    hang_up_and_check_the_slot_is_freed(true);
}
