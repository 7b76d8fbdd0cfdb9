//! A panic inside a step fails the requests in that step and nothing else;
//! one that ends the scheduler loop restarts it with a reloaded model.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::testing::{ByteCodec, ChoiceCompiler, ScriptedModel, engine_with_model};
use crate::{
    Constraint, Engine, EngineConfig, EngineError, EngineObserver, GenerateRequest, ModelError,
    StepStats,
};

#[test]
fn a_panicking_step_fails_its_requests_and_the_engine_keeps_serving() {
    let engine = engine_with_model(
        EngineConfig::default(),
        ScriptedModel::new(r#"{"a":1}"#).with_panic_after(0),
    );
    let req = || {
        GenerateRequest::chat("x").with_constraint(Constraint::JsonSchema(
            json!({"enum": [{"a": 1}, {"a": 2}]}),
        ))
    };
    match engine.submit(req()).unwrap().wait() {
        Err(EngineError::Internal(msg)) => assert!(msg.contains("injected panic"), "{msg}"),
        other => panic!("expected an internal error, got {other:?}"),
    }
    assert!(engine.is_running(), "the scheduler survived the panic");
    for _ in 0..3 {
        let done = engine.submit(req()).unwrap().wait().unwrap();
        assert_eq!(done.json, Some(json!({"a": 1})));
    }
}

fn enum_request() -> GenerateRequest {
    GenerateRequest::chat("x").with_constraint(Constraint::JsonSchema(
        json!({"enum": [{"a": 1}, {"a": 2}]}),
    ))
}

/// Polls `cond` for up to five seconds.
fn eventually(cond: impl Fn() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn a_panic_while_admitting_fails_that_request_only() {
    let engine = engine_with_model(
        EngineConfig::default(),
        ScriptedModel::new(r#"{"a":1}"#).with_panic_in_new_cache(),
    );
    assert!(engine.submit(enum_request()).unwrap().wait().is_err());
    assert!(engine.is_running());
    assert_eq!(engine.restarts(), 0, "admission is isolated, no restart");
    let done = engine.submit(enum_request()).unwrap().wait().unwrap();
    assert_eq!(done.json, Some(json!({"a": 1})));
}

/// Panics in the first step it sees: outside the step's isolation, so the
/// scheduler loop itself dies.
struct PanicOnce(AtomicBool);

impl EngineObserver for PanicOnce {
    fn on_step(&self, _: &StepStats) {
        if self.0.swap(false, Ordering::Relaxed) {
            panic!("injected panic in an observer");
        }
    }
}

fn dying_engine(reload: Option<mpsc::Receiver<()>>) -> Engine {
    let script = r#"{"a":1}"#;
    let builder = Engine::builder(
        ScriptedModel::new(script),
        Arc::new(ByteCodec::new()),
        Arc::new(ChoiceCompiler),
    )
    .observer(Arc::new(PanicOnce(AtomicBool::new(true))));
    match reload {
        Some(gate) => builder
            .reload(move || {
                gate.recv().map_err(|_| ModelError::msg("the test ended"))?;
                Ok(ScriptedModel::new(script))
            })
            .start(),
        None => builder.start(),
    }
}

#[test]
fn a_dead_scheduler_loop_restarts_with_a_reloaded_model() {
    let (open, gate) = mpsc::channel();
    let engine = dying_engine(Some(gate));
    match engine.submit(enum_request()).unwrap().wait() {
        Err(EngineError::Unavailable) => {}
        other => panic!("the request in the dead loop fails as unavailable, got {other:?}"),
    }
    assert!(
        eventually(|| !engine.is_running()),
        "not ready while restarting"
    );
    assert!(matches!(
        engine.submit(enum_request()),
        Err(EngineError::Unavailable)
    ));
    open.send(()).unwrap();
    assert!(eventually(|| engine.is_running()), "ready after the reload");
    assert_eq!(engine.restarts(), 1);
    for _ in 0..3 {
        let done = engine.submit(enum_request()).unwrap().wait().unwrap();
        assert_eq!(done.json, Some(json!({"a": 1})));
    }
}

#[test]
fn without_a_reload_a_dead_loop_stays_stopped() {
    let engine = dying_engine(None);
    assert!(engine.submit(enum_request()).unwrap().wait().is_err());
    assert!(eventually(|| !engine.is_running()));
    assert!(matches!(
        engine.submit(enum_request()),
        Err(EngineError::Unavailable)
    ));
}
