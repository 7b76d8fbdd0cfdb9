//! Requests that once took the whole service down or were refused although
//! valid, over HTTP with the real grammar engine (the model is a scripted
//! double over a byte vocabulary).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};
use strictly_engine::testing::{ByteCodec, ScriptedModel};
use strictly_engine::{Engine, EngineObserver, GrammarCompiler, ModelError, StepStats, TextCodec};
use strictly_server::{AppState, ServerConfig, app};

mod support;

fn state(script: &str) -> AppState {
    support::grammar_server(script)
}

async fn extract(
    state: &AppState,
    schema: Value,
    max_tokens: Option<usize>,
) -> (StatusCode, Value) {
    let mut body = json!({"document": "Notice period: 3 months.", "schema": schema});
    if let Some(n) = max_tokens {
        body["options"] = json!({"max_tokens": n});
    }
    let service = test::init_service(app(state.clone())).await;
    let req = TestRequest::post().uri("/v1/extract").set_json(body);
    let response = test::call_service(&service, req.to_request()).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The JSON-LD schema from JSON Schema Store used to overflow the stack of
/// the worker that compiled it, aborting the process.
#[actix_web::test]
async fn the_json_ld_schema_neither_crashes_nor_hangs() {
    let schema: Value = serde_json::from_str(include_str!(
        "../../strictly-grammar/tests/fixtures/jsonld.schema.json"
    ))
    .unwrap();
    let state = state("");
    let started = Instant::now();
    let (status, body) = extract(&state, schema, Some(64)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        status == StatusCode::OK
            || (status == StatusCode::BAD_REQUEST && body["error"]["type"] == "schema_too_complex"),
        "{status} {body}"
    );
    // The service is still there.
    let (status, body) = extract(&state, json!({"enum": ["a", "b"]}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Patterns with a character-class loop followed by a literal used to be
/// refused as unsatisfiable by the pre-flight.
#[actix_web::test]
async fn pattern_schemas_with_short_answers_are_not_refused() {
    let state = state("");
    for pattern in [
        "^[0-9]+ years?$",
        "^[A-Z0-9_]+(_CONTROLLER|_DEVICE|_LAYOUT)$",
        "^[a-z]+(?:-+[a-z]+)*-v\\d+$",
        "^[1-9][0-9]* (days?|weeks?|months?|years?)$",
    ] {
        let schema = json!({
            "type": "object",
            "properties": {"notice": {"type": "string", "pattern": pattern}},
            "required": ["notice"]
        });
        let (status, body) = extract(&state, schema, None).await;
        assert_eq!(status, StatusCode::OK, "{pattern}: {body}");
        let notice = body["data"]["notice"].as_str().unwrap();
        let check = jsonschema::validator_for(&json!({"pattern": pattern})).unwrap();
        assert!(
            check.is_valid(&json!(notice)),
            "{notice:?} breaks {pattern}"
        );
    }
}

/// A budget that truly cannot hold an answer is still refused, with the
/// exact shortest length.
#[actix_web::test]
async fn a_truly_too_small_budget_is_still_422() {
    let state = state("");
    let schema = json!({"type": "string", "pattern": "^[0-9]+ years?$"});
    let (status, body) = extract(&state, schema, Some(4)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("needs 8 tokens"), "{message}");
}

/// Panics once, after the first step: outside the step's isolation, so the
/// engine's scheduler loop dies and must restart.
struct PanicOnce(AtomicBool);

impl EngineObserver for PanicOnce {
    fn on_step(&self, _: &StepStats) {
        if self.0.swap(false, Ordering::Relaxed) {
            panic!("injected panic in an observer");
        }
    }
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, String) {
    let service = test::init_service(app(state.clone())).await;
    let response = test::call_service(&service, TestRequest::get().uri(uri).to_request()).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// When the engine's loop dies, `/readyz` says 503 and requests get 503
/// until the engine has reloaded the model; then both are served again.
#[actix_web::test]
async fn a_dead_engine_loop_is_not_ready_then_restarts() {
    let codec = ByteCodec::new();
    let compiler = GrammarCompiler::new(&codec, codec.vocab_size()).unwrap();
    let (open, gate) = mpsc::channel::<()>();
    let engine = Engine::builder(ScriptedModel::new(""), Arc::new(codec), Arc::new(compiler))
        .observer(Arc::new(PanicOnce(AtomicBool::new(true))))
        .reload(move || {
            gate.recv().map_err(|_| ModelError::msg("the test ended"))?;
            Ok(ScriptedModel::new(""))
        })
        .start();
    let state = AppState::loading(ServerConfig::default());
    state.set_ready(engine, "test-model");
    let schema = json!({"enum": ["alpha", "beta"]});
    let (status, body) = extract(&state, schema.clone(), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, body) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _) = extract(&state, schema.clone(), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    open.send(()).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while get(&state, "/readyz").await.0 != StatusCode::OK {
        assert!(Instant::now() < until, "the engine did not come back");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, body) = extract(&state, schema, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, metrics) = get(&state, "/metrics").await;
    assert!(metrics.contains("strictly_engine_restarts 1"), "{metrics}");
}
