//! A panic inside a step fails the requests in that step and nothing else.

use serde_json::json;

use crate::testing::{ScriptedModel, engine_with_model};
use crate::{Constraint, EngineConfig, EngineError, GenerateRequest};

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
