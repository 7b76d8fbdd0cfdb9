//! The bad-input catalogue: every kind of malformed, hostile or oversized
//! request gets a typed 4xx error (or a correct answer) over HTTP, with the
//! real grammar engine, and the service keeps serving after each one.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_multipart::test::{TestFormField, create_form_data_payload_and_headers_from_fields};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};
use strictly_batch::jobs::{JobRunner, RunnerConfig};
use strictly_batch::store::BatchStore;
use strictly_batch::testing::EchoExtractor;
use strictly_engine::testing::{ByteCodec, ScriptedModel};
use strictly_engine::{Engine, EngineConfig, GrammarCompiler, TextCodec};
use strictly_server::{AppState, ServerConfig, app};

fn state(config: ServerConfig) -> AppState {
    let codec = ByteCodec::new();
    let compiler = GrammarCompiler::new(&codec, codec.vocab_size()).unwrap();
    // A long context, so that documents of 10^4 to 10^5 bytes (tokens, with
    // this byte vocabulary) reach the prompt limit rather than the model's.
    let model = ScriptedModel::new("").with_context(40_000);
    let engine = Engine::builder(model, Arc::new(codec), Arc::new(compiler))
        .config(EngineConfig::default())
        .start();
    let state = AppState::loading(config);
    state.set_ready(engine, "test-model");
    let store = Arc::new(BatchStore::open_in_memory().unwrap());
    let runner = JobRunner::start(
        store,
        Arc::new(EchoExtractor::new()),
        RunnerConfig::default(),
    );
    state.set_batches(runner.unwrap());
    state
}

async fn send(state: &AppState, req: TestRequest) -> (StatusCode, Value) {
    let service = test::init_service(app(state.clone())).await;
    let response = test::call_service(&service, req.to_request()).await;
    let status = response.status();
    let body = test::read_body(response).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, value)
}

fn extract(body: Value) -> TestRequest {
    TestRequest::post().uri("/v1/extract").set_json(body)
}

fn extract_raw(body: impl Into<Vec<u8>>, content_type: &str) -> TestRequest {
    TestRequest::post()
        .uri("/v1/extract")
        .insert_header(("content-type", content_type))
        .set_payload(body.into())
}

fn with_schema(schema: Value) -> Value {
    json!({"document": "Ada Lovelace, 36, London.", "schema": schema, "options": {"max_tokens": 64}})
}

/// What a case must get back.
enum Want {
    /// A typed error: status, `error.type`, and the JSON Pointer if given.
    Error(u16, &'static str, Option<&'static str>),
    /// 200 with `data` valid against the schema sent.
    Valid,
}

async fn check(state: &AppState, name: &str, req: TestRequest, schema: Option<&Value>, want: Want) {
    let started = Instant::now();
    let (status, body) = send(state, req).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{name}: took {took:?}");
    match want {
        Want::Error(code, kind, pointer) => {
            assert_eq!(status.as_u16(), code, "{name}: {body}");
            assert_eq!(body["error"]["type"], kind, "{name}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{name}: {body}"
            );
            if let Some(pointer) = pointer {
                assert_eq!(body["error"]["pointer"], pointer, "{name}: {body}");
            }
        }
        Want::Valid => {
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            let schema = schema.expect("a schema to validate against");
            let validator = jsonschema::validator_for(schema).unwrap();
            assert!(
                validator.is_valid(&body["data"]),
                "{name}: {} breaks the schema",
                body["data"]
            );
        }
    }
    // Whatever came before, the service still answers.
    let sane = json!({"enum": ["yes", "no"]});
    let (status, body) = send(state, extract(with_schema(sane))).await;
    assert_eq!(status, StatusCode::OK, "after {name}: {body}");
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[actix_web::test]
async fn every_bad_request_body_gets_a_typed_error() {
    let state = state(ServerConfig::default());
    let valid = with_schema(json!({"type": "string"}));
    check(
        &state,
        "invalid JSON body",
        extract_raw("{\"document\": ", "application/json"),
        None,
        Want::Error(400, "invalid_json", None),
    )
    .await;
    check(
        &state,
        "wrong content type",
        extract_raw(valid.to_string(), "text/plain"),
        None,
        Want::Error(415, "unsupported_media_type", None),
    )
    .await;
    check(
        &state,
        "a JSON body nested 10,000 levels",
        extract_raw(
            format!(
                r#"{{"document": "x", "schema": {}}}"#,
                nested_arrays(10_000)
            ),
            "application/json",
        ),
        None,
        Want::Error(400, "invalid_json", None),
    )
    .await;
    check(
        &state,
        "an invalid UTF-16 escape in the document",
        extract_raw(
            r#"{"document": "caf\ud800e", "schema": {"type": "string"}}"#,
            "application/json",
        ),
        None,
        Want::Error(400, "invalid_json", None),
    )
    .await;
    check(
        &state,
        "a body that is not UTF-8",
        extract_raw(
            b"{\"document\": \"caf\xe9\", \"schema\": {}}".to_vec(),
            "application/json",
        ),
        None,
        Want::Error(400, "invalid_json", None),
    )
    .await;
}

#[actix_web::test]
async fn every_bad_schema_gets_a_typed_error_with_its_pointer() {
    let state = state(ServerConfig::default());
    let cases: [(&str, Value, Want); 6] = [
        (
            "valid JSON but not a schema",
            json!({"type": 5}),
            Want::Error(400, "invalid_schema", Some("/type")),
        ),
        (
            "an unsupported keyword",
            json!({"$dynamicRef": "#meta"}),
            Want::Error(400, "invalid_schema", Some("/$dynamicRef")),
        ),
        (
            "a remote $ref",
            json!({"$ref": "https://example.com/person.json"}),
            Want::Error(400, "invalid_schema", Some("/$ref")),
        ),
        (
            "a nested remote $ref",
            json!({"properties": {"a": {"$ref": "other.json#/x"}}}),
            Want::Error(400, "invalid_schema", Some("/properties/a/$ref")),
        ),
        (
            "an unsatisfiable schema",
            json!({"type": "string", "minLength": 3, "maxLength": 1}),
            Want::Error(400, "invalid_schema", None),
        ),
        (
            "a contradictory allOf",
            json!({"allOf": [{"type": "string"}, {"type": "integer"}]}),
            Want::Error(400, "invalid_schema", None),
        ),
    ];
    for (name, schema, want) in cases {
        check(&state, name, extract(with_schema(schema)), None, want).await;
    }
}

#[actix_web::test]
async fn hostile_but_valid_schemas_are_answered_in_time() {
    let state = state(ServerConfig::default());
    for pattern in ["^(a+)+$", "^(a|a)*b$", "^(a|aa)+$", "^(\\w+\\s?)*$"] {
        let schema = json!({"type": "string", "pattern": pattern});
        check(
            &state,
            &format!("ReDoS-style pattern {pattern}"),
            extract(with_schema(schema.clone())),
            Some(&schema),
            Want::Valid,
        )
        .await;
    }
    let deep_document = nested_arrays(10_000);
    let schema = json!({"type": "array", "items": {"type": "integer"}, "maxItems": 3});
    check(
        &state,
        "a document of 10,000 nested arrays",
        extract(
            json!({"document": deep_document, "schema": schema, "options": {"max_tokens": 64}}),
        ),
        Some(&schema),
        Want::Valid,
    )
    .await;
    let schema = json!({"type": "string", "maxLength": 8});
    check(
        &state,
        "NUL bytes in the document",
        extract(json!({"document": "a\u{0}b\u{0}\u{0}c", "schema": schema, "options": {"max_tokens": 32}})),
        Some(&schema),
        Want::Valid,
    )
    .await;
}

#[actix_web::test]
async fn oversized_inputs_are_refused_by_their_limit() {
    let state = state(ServerConfig::default());
    let many: Vec<String> = (0..100_000).map(|i| format!("value-{i}")).collect();
    check(
        &state,
        "an enum of 100,000 strings (over the schema limit)",
        extract(with_schema(json!({"enum": many}))),
        None,
        Want::Error(413, "schema_too_large", None),
    )
    .await;
    check(
        &state,
        "a 100,000-token document",
        extract(json!({"document": "ab ".repeat(40_000), "schema": {"type": "string"}})),
        None,
        Want::Error(413, "document_too_large", None),
    )
    .await;
    check(
        &state,
        "max_tokens 0",
        extract(
            json!({"document": "x", "schema": {"type": "string"}, "options": {"max_tokens": 0}}),
        ),
        None,
        Want::Error(400, "invalid_request_error", None),
    )
    .await;
    check(
        &state,
        "max_tokens 10^9",
        extract(json!({"document": "x", "schema": {"type": "string"}, "options": {"max_tokens": 1_000_000_000u64}})),
        None,
        Want::Error(400, "invalid_request_error", None),
    )
    .await;
}

/// With the schema limit raised, a 100,000-string enum is compiled within
/// the compile budget (it once took 40 s: its values were deduplicated
/// pairwise) or refused with a typed error; it never hangs.
#[actix_web::test]
async fn a_huge_enum_under_a_raised_limit_is_answered_or_too_complex() {
    let state = state(ServerConfig {
        max_schema_bytes: 16 << 20,
        max_body_bytes: 32 << 20,
        ..ServerConfig::default()
    });
    let many: Vec<String> = (0..100_000).map(|i| format!("value-{i}")).collect();
    let schema = json!({"enum": many});
    let started = Instant::now();
    let (status, body) = send(&state, extract(with_schema(schema.clone()))).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    match status.as_u16() {
        200 => assert!(
            jsonschema::validator_for(&schema)
                .unwrap()
                .is_valid(&body["data"])
        ),
        400 => assert_eq!(body["error"]["type"], "schema_too_complex", "{body}"),
        // Compiled, but the schema shown to the model does not fit its prompt.
        413 => assert_eq!(body["error"]["type"], "document_too_large", "{body}"),
        other => panic!("{other}: {body}"),
    }
}

/// A CSV with a row that is not UTF-8: the job is created, that row ends
/// as a typed row error (`not_utf8`, with its line) and the others run.
#[actix_web::test]
async fn a_csv_row_that_is_not_utf8_becomes_a_typed_row_error() {
    let state = state(ServerConfig::default());
    let fields = [
        TestFormField::new("file".to_owned(), b"id,body\n1,caf\xe9\n2,fine\n".to_vec())
            .filename("rows.csv"),
        TestFormField::new(
            "schema".to_owned(),
            json!({"type": "object"}).to_string().into_bytes(),
        ),
        TestFormField::new("text_column".to_owned(), b"body".to_vec()),
    ];
    let (payload, headers) = create_form_data_payload_and_headers_from_fields(fields);
    let mut req = TestRequest::post().uri("/v1/batches").set_payload(payload);
    for (name, value) in &headers {
        req = req.insert_header((name.clone(), value.clone()));
    }
    let (status, created) = send(&state, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().unwrap();
    let started = Instant::now();
    loop {
        let (_, job) = send(&state, TestRequest::get().uri(&format!("/v1/batches/{id}"))).await;
        if job["status"] == "completed" {
            assert_eq!(job["failed"], 1, "{job}");
            assert_eq!(job["done"], 1, "{job}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still {job}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let service = test::init_service(app(state.clone())).await;
    let response = test::call_service(
        &service,
        TestRequest::get()
            .uri(&format!("/v1/batches/{id}/results"))
            .to_request(),
    )
    .await;
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    let first: Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(first["error"]["type"], "not_utf8", "{body}");
    assert!(
        first["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{body}"
    );
}

/// Serves `state` on a real socket; the address comes back.
fn serve_on_socket(state: AppState) -> std::net::SocketAddr {
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

fn get_healthz(addr: std::net::SocketAddr) -> String {
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        socket,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = socket.read_to_string(&mut response);
    response
}

/// 1,000 connections that send nothing neither starve other clients nor
/// stay open past the header timeout.
#[test]
fn a_thousand_silent_connections_do_not_block_the_service() {
    let addr = serve_on_socket(state(ServerConfig {
        port: 0,
        workers: 1,
        header_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    }));
    let silent: Vec<std::net::TcpStream> = (0..1000)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let started = Instant::now();
    let response = get_healthz(addr);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Each silent connection is answered 408 or closed once its time is up.
    for mut socket in silent {
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = Vec::new();
        match socket.read_to_end(&mut buf) {
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
            }
            Err(err) => assert_ne!(err.kind(), std::io::ErrorKind::WouldBlock, "still open"),
        }
    }
}

/// An upload that declares 2 GB is refused from its head, before a byte of
/// it is read or spooled.
#[test]
fn a_2_gb_upload_is_refused_from_its_declared_length() {
    let addr = serve_on_socket(state(ServerConfig {
        port: 0,
        workers: 1,
        ..ServerConfig::default()
    }));
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        socket,
        "POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n--b\r\n",
        2u64 << 30
    )
    .unwrap();
    let started = Instant::now();
    let mut head = [0u8; 1024];
    let n = socket.read(&mut head).unwrap();
    let text = String::from_utf8_lossy(&head[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
