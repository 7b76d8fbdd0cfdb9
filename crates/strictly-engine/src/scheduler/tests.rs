//! Scheduler behaviour on the deterministic doubles.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::testing::{ScriptedModel, engine_with_model, engine_with_script};
use crate::{
    Completion, Constraint, EngineConfig, EngineError, Event, EventStream, FinishReason,
    GenerateRequest, Priority, SamplingParams,
};

fn choices(values: &[Value]) -> Constraint {
    Constraint::JsonSchema(json!({ "enum": values }))
}

fn collect(mut stream: EventStream) -> (Vec<crate::TokenEvent>, Result<Completion, EngineError>) {
    let mut tokens = Vec::new();
    loop {
        match stream.blocking_next() {
            Some(Event::Token(t)) => tokens.push(t),
            Some(Event::Done(done)) => return (tokens, Ok(done)),
            Some(Event::Error(err)) => return (tokens, Err(err)),
            None => return (tokens, Err(EngineError::Unavailable)),
        }
    }
}

fn wait_until(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "condition not reached"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn constrained_answer_follows_the_model_and_counts_forced_tokens() {
    let engine = engine_with_script(EngineConfig::default(), r#"{"name":"Bob"}"#);
    let req = GenerateRequest::chat("who?")
        .with_constraint(choices(&[json!({"name": "Ada"}), json!({"name": "Bob"})]));
    let (tokens, done) = collect(engine.submit(req).unwrap());
    let done = done.unwrap();
    assert_eq!(done.json, Some(json!({"name": "Bob"})));
    assert_eq!(done.text, r#"{"name":"Bob"}"#);
    assert_eq!(done.finish_reason, FinishReason::Stop);
    assert_eq!(done.usage.completion_tokens, 14);
    // Only `B` was a real choice; everything else was forced by the grammar.
    assert_eq!(done.usage.forced_tokens, 13);
    assert_eq!(
        tokens
            .iter()
            .filter(|t| !t.forced)
            .map(|t| t.text.as_str())
            .collect::<String>(),
        "B"
    );
    assert_eq!(
        tokens.iter().map(|t| t.text.as_str()).collect::<String>(),
        done.text
    );
}

#[test]
fn forced_tokens_are_fed_in_one_forward_pass() {
    let model = ScriptedModel::new("");
    let log = model.log();
    let engine = engine_with_model(EngineConfig::default(), model);
    let req = GenerateRequest::chat("x").with_constraint(choices(&[json!({"key": [1, 2, 3]})]));
    let done = engine.submit(req).unwrap().wait().unwrap();
    assert_eq!(done.json, Some(json!({"key": [1, 2, 3]})));
    let passes = log.lock().unwrap().clone();
    // One prefill pass; the first token was sampled from its logits and the
    // rest of the answer was forced, so no further pass was needed at all.
    assert_eq!(passes.len(), 1, "{passes:?}");
}

#[test]
fn the_model_cannot_stop_before_the_answer_is_complete() {
    // This model wants to end its turn at once.
    let engine = engine_with_script(EngineConfig::default(), "");
    let req = GenerateRequest::chat("x").with_constraint(choices(&[json!("yes"), json!("no")]));
    let done = engine.submit(req).unwrap().wait().unwrap();
    assert!(
        done.json == Some(json!("yes")) || done.json == Some(json!("no")),
        "{done:?}"
    );
}

#[test]
fn free_text_stops_at_the_stop_token_or_the_budget() {
    let engine = engine_with_script(EngineConfig::default(), "héllo");
    let done = engine
        .submit(GenerateRequest::chat("hi"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(
        (done.text.as_str(), done.finish_reason),
        ("héllo", FinishReason::Stop)
    );
    assert_eq!(done.json, None);
    let (tokens, done) = collect(
        engine
            .submit(GenerateRequest::chat("hi").with_max_tokens(2))
            .unwrap(),
    );
    let done = done.unwrap();
    assert_eq!(
        (done.text.as_str(), done.finish_reason),
        ("h\u{fffd}", FinishReason::Length)
    );
    // The split character's first byte produced no text of its own.
    assert_eq!(
        tokens.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
        ["h", ""]
    );
}

#[test]
fn json_object_mode_returns_an_object() {
    let engine = engine_with_script(EngineConfig::default(), r#"{"answer":42}"#);
    let req = GenerateRequest::chat("x").with_constraint(Constraint::JsonObject);
    assert_eq!(
        engine.submit(req).unwrap().wait().unwrap().json,
        Some(json!({"answer": 42}))
    );
}

#[test]
fn invalid_schemas_are_refused_with_the_pointer() {
    let engine = engine_with_script(EngineConfig::default(), "");
    let req =
        GenerateRequest::chat("x").with_constraint(Constraint::JsonSchema(json!({"enum": 5})));
    match engine.submit(req) {
        Err(EngineError::InvalidSchema { pointer, message }) => {
            assert_eq!(pointer, "/enum");
            assert!(message.contains("array"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn an_answer_failing_validation_is_an_error_not_a_success() {
    // The test grammar ignores maxLength, the validator does not.
    let engine = engine_with_script(EngineConfig::default(), "");
    let schema = json!({"enum": ["abc"], "maxLength": 1});
    let req = GenerateRequest::chat("x").with_constraint(Constraint::JsonSchema(schema));
    assert!(matches!(
        engine.submit(req).unwrap().wait(),
        Err(EngineError::InvalidOutput(_))
    ));
}

#[test]
fn a_budget_too_small_for_any_answer_is_refused_up_front() {
    let engine = engine_with_script(EngineConfig::default(), "");
    let req = GenerateRequest::chat("x")
        .with_constraint(choices(&[json!({"name": "Ada"})]))
        .with_max_tokens(5);
    match engine.submit(req) {
        Err(EngineError::Unsatisfiable {
            max_tokens: 5,
            shortest: Some(14),
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_running_out_budget_steers_to_the_shortest_valid_answer() {
    let long = json!({"a": "xxxxxxxxxxxxxxxxxxxx"});
    let short = json!({"a": ""});
    let engine = engine_with_script(EngineConfig::default(), &long.to_string());
    let req = |max| {
        GenerateRequest::chat("x")
            .with_constraint(choices(&[long.clone(), short.clone()]))
            .with_max_tokens(max)
    };
    let done = engine.submit(req(15)).unwrap().wait().unwrap();
    assert_eq!(done.json, Some(short.clone()));
    assert_eq!(done.finish_reason, FinishReason::Length);
    assert!(done.usage.completion_tokens <= 15);
    let done = engine.submit(req(40)).unwrap().wait().unwrap();
    assert_eq!(
        (done.json, done.finish_reason),
        (Some(long), FinishReason::Stop)
    );
}

#[test]
fn prompts_longer_than_the_context_are_refused_with_counts() {
    let engine = engine_with_model(
        EngineConfig::default(),
        ScriptedModel::new("").with_context(300),
    );
    let req = GenerateRequest::chat("x".repeat(400)).with_max_tokens(50);
    match engine.submit(req) {
        Err(EngineError::PromptTooLong {
            prompt_tokens,
            max_prompt_tokens: 250,
            context_tokens: 300,
            max_tokens: 50,
        }) => {
            assert!(prompt_tokens > 400);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn out_of_range_sampling_parameters_are_refused() {
    let engine = engine_with_script(EngineConfig::default(), "");
    let bad = SamplingParams {
        temperature: 3.0,
        ..SamplingParams::default()
    };
    assert!(matches!(
        engine.submit(GenerateRequest::chat("x").with_sampling(bad)),
        Err(EngineError::InvalidRequest(_))
    ));
    let bad = SamplingParams {
        top_p: 0.0,
        ..SamplingParams::default()
    };
    assert!(matches!(
        engine.submit(GenerateRequest::chat("x").with_sampling(bad)),
        Err(EngineError::InvalidRequest(_))
    ));
    assert!(matches!(
        engine.submit(GenerateRequest::chat("x").with_max_tokens(0)),
        Err(EngineError::InvalidRequest(_))
    ));
}

#[test]
fn seeded_sampling_is_reproducible() {
    let engine = engine_with_script(EngineConfig::default(), "");
    let values: Vec<Value> = (0..20).map(|i| json!(format!("v{i}"))).collect();
    let run = |seed| {
        let sampling = SamplingParams {
            temperature: 1.5,
            top_p: 1.0,
            seed: Some(seed),
        };
        let req = GenerateRequest::chat("x")
            .with_constraint(choices(&values))
            .with_sampling(sampling);
        engine.submit(req).unwrap().wait().unwrap().text
    };
    assert_eq!(run(1), run(1));
    let distinct: std::collections::HashSet<String> = (0..8).map(run).collect();
    assert!(distinct.len() > 1, "{distinct:?}");
}

#[test]
fn new_requests_join_the_running_batch() {
    let model = ScriptedModel::new(&"a".repeat(200)).with_delay(Duration::from_millis(2));
    let log = model.log();
    let engine = engine_with_model(EngineConfig::default(), model);
    let mut first = engine
        .submit(GenerateRequest::chat("first").with_max_tokens(60))
        .unwrap();
    assert!(matches!(first.blocking_next(), Some(Event::Token(_))));
    let second = engine
        .submit(GenerateRequest::chat("second").with_max_tokens(5))
        .unwrap();
    assert_eq!(second.wait().unwrap().text, "aaaaa");
    assert_eq!(first.wait().unwrap().text.len(), 60);
    let passes = log.lock().unwrap().clone();
    assert!(
        passes.iter().any(|p| p.len() == 2),
        "no pass fed both sequences: {passes:?}"
    );
}

#[test]
fn a_full_queue_refuses_with_retry_after() {
    let model = ScriptedModel::new(&"a".repeat(100)).with_delay(Duration::from_millis(5));
    let config = EngineConfig {
        max_batch: 1,
        max_queue: 1,
        ..EngineConfig::default()
    };
    let engine = engine_with_model(config, model);
    let a = engine
        .submit(GenerateRequest::chat("a").with_max_tokens(50))
        .unwrap();
    let b = engine
        .submit(GenerateRequest::chat("b").with_max_tokens(50))
        .unwrap();
    match engine.submit(GenerateRequest::chat("c")) {
        Err(EngineError::QueueFull {
            waiting: 1,
            retry_after,
        }) => assert!(retry_after >= Duration::from_secs(1)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(a.wait().is_ok() && b.wait().is_ok());
    // Finished requests leave room again.
    assert!(
        engine
            .submit(GenerateRequest::chat("c").with_max_tokens(1))
            .unwrap()
            .wait()
            .is_ok()
    );
}

#[test]
fn a_client_that_goes_away_frees_its_slot() {
    let model = ScriptedModel::new(&"a".repeat(3000)).with_delay(Duration::from_millis(1));
    let log = model.log();
    let config = EngineConfig {
        max_batch: 1,
        ..EngineConfig::default()
    };
    let engine = engine_with_model(config, model);
    let mut long = engine
        .submit(GenerateRequest::chat("long").with_max_tokens(2000))
        .unwrap();
    assert!(matches!(long.blocking_next(), Some(Event::Token(_))));
    drop(long);
    // With one slot, this request can only run once the first one is gone.
    let done = engine
        .submit(GenerateRequest::chat("short").with_max_tokens(3))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(done.text, "aaa");
    assert!(
        log.lock().unwrap().len() < 1000,
        "the abandoned request kept running"
    );
    wait_until(|| engine.running() == 0);
}

#[test]
fn cancel_token_ends_the_request_with_cancelled() {
    let model = ScriptedModel::new(&"a".repeat(3000)).with_delay(Duration::from_millis(1));
    let engine = engine_with_model(EngineConfig::default(), model);
    let req = GenerateRequest::chat("long").with_max_tokens(2000);
    let cancel = req.cancel.clone();
    let mut stream = engine.submit(req).unwrap();
    assert!(matches!(stream.blocking_next(), Some(Event::Token(_))));
    cancel.cancel();
    assert!(matches!(stream.wait(), Err(EngineError::Cancelled)));
}

#[test]
fn slow_requests_time_out() {
    let model = ScriptedModel::new(&"a".repeat(3000)).with_delay(Duration::from_millis(5));
    let config = EngineConfig {
        request_timeout: Duration::from_millis(100),
        ..EngineConfig::default()
    };
    let engine = engine_with_model(config, model);
    let result = engine
        .submit(GenerateRequest::chat("x").with_max_tokens(2000))
        .unwrap()
        .wait();
    assert!(matches!(result, Err(EngineError::Timeout(_))), "{result:?}");
}

#[test]
fn a_shared_system_prompt_is_prefilled_once() {
    let model = ScriptedModel::new(r#"{"n":1}"#);
    let log = model.log();
    let engine = engine_with_model(EngineConfig::default(), model);
    let schema = json!({"enum": [{"n": 1}, {"n": 2}]});
    let run = |doc: &str| {
        engine
            .submit(GenerateRequest::extraction(schema.clone(), doc, None))
            .unwrap()
            .wait()
            .unwrap()
    };
    let first = run("first document");
    let prefill_before = log
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.iter().sum::<usize>())
        .sum::<usize>();
    let second = run("second document");
    let prefill_total = log
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.iter().sum::<usize>())
        .sum::<usize>();
    assert_eq!(first.usage.cached_prompt_tokens, 0);
    assert!(
        second.usage.cached_prompt_tokens > 100,
        "{:?}",
        second.usage
    );
    assert_eq!(second.json, first.json);
    // The second request fed only its document (plus the answer).
    assert!(
        prefill_total - prefill_before
            < second.usage.prompt_tokens - second.usage.cached_prompt_tokens + 20
    );
}

#[test]
fn concurrent_requests_all_complete_and_validate() {
    let model = ScriptedModel::new(r#"{"id":3}"#).with_delay(Duration::from_millis(1));
    let engine = engine_with_model(
        EngineConfig {
            max_batch: 4,
            ..EngineConfig::default()
        },
        model,
    );
    let values: Vec<Value> = (0..6).map(|i| json!({"id": i})).collect();
    let streams: Vec<_> = (0..8)
        .map(|i| {
            let req =
                GenerateRequest::extraction(json!({ "enum": values }), format!("doc {i}"), None);
            engine.submit(req).unwrap()
        })
        .collect();
    for s in streams {
        assert_eq!(s.wait().unwrap().json, Some(json!({"id": 3})));
    }
}

#[test]
fn interactive_requests_overtake_waiting_batch_rows() {
    let model = ScriptedModel::new(&"a".repeat(200)).with_delay(Duration::from_millis(2));
    let config = EngineConfig {
        max_batch: 2,
        interactive_slots: 1,
        ..EngineConfig::default()
    };
    let engine = engine_with_model(config, model);
    let batch = |n| {
        GenerateRequest::chat("row")
            .with_max_tokens(n)
            .with_priority(Priority::Batch)
    };
    let finished = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let streams = [
            ("row1", engine.submit(batch(40)).unwrap()),
            ("row2", engine.submit(batch(5)).unwrap()),
            (
                "chat",
                engine
                    .submit(GenerateRequest::chat("chat").with_max_tokens(5))
                    .unwrap(),
            ),
        ];
        for (name, stream) in streams {
            let finished = &finished;
            scope.spawn(move || {
                stream.wait().unwrap();
                finished.lock().unwrap().push(name);
            });
        }
    });
    // Without priorities the second row would take the free slot and the
    // chat request would wait for it; instead the row waits for the slot
    // batch rows may use, and the chat request starts at once.
    assert_eq!(*finished.lock().unwrap(), ["chat", "row1", "row2"]);
}

#[test]
fn batch_rows_may_fill_only_half_of_the_queue() {
    let model = ScriptedModel::new(&"a".repeat(200)).with_delay(Duration::from_millis(2));
    let config = EngineConfig {
        max_batch: 1,
        max_queue: 2,
        ..EngineConfig::default()
    };
    let engine = engine_with_model(config, model);
    let batch = || {
        GenerateRequest::chat("row")
            .with_max_tokens(20)
            .with_priority(Priority::Batch)
    };
    let rows = [
        engine.submit(batch()).unwrap(),
        engine.submit(batch()).unwrap(),
    ];
    assert!(matches!(
        engine.submit(batch()),
        Err(EngineError::QueueFull { .. })
    ));
    let chat = engine
        .submit(GenerateRequest::chat("chat").with_max_tokens(3))
        .unwrap();
    assert_eq!(chat.wait().unwrap().text, "aaa");
    for row in rows {
        assert!(row.wait().is_ok());
    }
}

#[test]
fn a_raw_prompt_skips_the_chat_template() {
    let model = ScriptedModel::new("");
    let log = model.log();
    let engine = engine_with_model(EngineConfig::default(), model);
    let done = engine
        .submit(GenerateRequest::raw("<|im_start|>x").with_max_tokens(2))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(done.usage.prompt_tokens, 2, "{done:?}");
    assert_eq!(log.lock().unwrap()[0], [2]);
}

/// Runs `req` on a fresh scripted engine with `max_draft_tokens` drafts,
/// returning the completion and the number of forward passes.
fn run_with_drafts(script: &str, req: GenerateRequest, drafts: usize) -> (Completion, usize) {
    let model = ScriptedModel::new(script);
    let log = model.log();
    let config = EngineConfig {
        max_draft_tokens: drafts,
        ..EngineConfig::default()
    };
    let done = engine_with_model(config, model)
        .submit(req)
        .unwrap()
        .wait()
        .unwrap();
    let passes = log.lock().unwrap().len();
    (done, passes)
}

#[test]
fn drafts_copied_from_the_document_save_forward_passes() {
    let script = "Ship to Acme Corp, 12 Main Street";
    let req = GenerateRequest::chat("Invoice 7. Ship to Acme Corp, 12 Main Street, Springfield.");
    let (plain, plain_passes) = run_with_drafts(script, req.clone(), 0);
    let (drafted, drafted_passes) = run_with_drafts(script, req, 4);
    assert_eq!(plain.text, script);
    assert_eq!(drafted.text, script, "drafts changed the answer");
    assert_eq!(plain.usage.draft_tokens, 0);
    assert!(
        drafted.usage.accepted_draft_tokens > 20,
        "{:?}",
        drafted.usage
    );
    assert!(
        drafted_passes * 2 < plain_passes,
        "{drafted_passes} passes with drafts, {plain_passes} without"
    );
}

#[test]
fn refused_drafts_leave_no_trace_in_the_cache() {
    // The document goes on differently from what the model says: every
    // draft after "Acme " is refused, and the refused positions must be
    // dropped from the cache or the following logits would be off.
    let script = "Ship to Acme Corp, 12 Main Street";
    let req = GenerateRequest::chat("Ship to Acme Ltd, 99 Side Road. Acme Corp, 12 Main Street");
    let (plain, _) = run_with_drafts(script, req.clone(), 0);
    let (drafted, _) = run_with_drafts(script, req, 4);
    assert_eq!(drafted.text, plain.text);
    assert_eq!(drafted.text, script);
    assert!(
        drafted.usage.draft_tokens > drafted.usage.accepted_draft_tokens,
        "{:?}",
        drafted.usage
    );
}

#[test]
fn drafts_under_a_grammar_give_the_same_answer() {
    let values = [
        json!({"city": "Springfield", "street": "12 Main Street"}),
        json!({"city": "Springfield", "street": "12 Main Road"}),
        json!({"city": "Shelbyville", "street": "1 Side Road"}),
    ];
    for (script, document) in [
        (
            r#"{"city":"Springfield","street":"12 Main Street"}"#,
            "Deliver to 12 Main Street, Springfield",
        ),
        (
            r#"{"city":"Springfield","street":"12 Main Road"}"#,
            "Deliver to 12 Main Street, Springfield",
        ),
        (
            r#"{"city":"Shelbyville","street":"1 Side Road"}"#,
            "Springfield\",\"street\":\"12 Main Street",
        ),
    ] {
        let req = GenerateRequest::chat(document).with_constraint(choices(&values));
        let (plain, _) = run_with_drafts(script, req.clone(), 0);
        let (drafted, _) = run_with_drafts(script, req, 4);
        assert_eq!(plain.text, script);
        assert_eq!(drafted.text, plain.text, "document {document:?}");
        assert_eq!(
            drafted.usage.completion_tokens,
            plain.usage.completion_tokens
        );
        assert_eq!(drafted.usage.forced_tokens, plain.usage.forced_tokens);
    }
}
