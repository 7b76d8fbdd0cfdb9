//! Schemas that once crashed or hung the compiler, and patterns the
//! pre-flight once called unsatisfiable. Each runs on a thread with a
//! small stack (the 2 MiB of an async worker), so deep recursion fails here
//! as it would in the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use strictly_grammar::{CompileError, Factory, JsonOptions, Vocabulary};

fn byte_factory() -> Arc<Factory> {
    let tokens = (0..=255u8).map(|b| (vec![b], false)).collect();
    Factory::new(Vocabulary::new(tokens, vec![]).unwrap())
}

/// Runs `f` on a thread with a 2 MiB stack.
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the compiler panicked")
}

#[test]
fn the_json_ld_schema_compiles_or_is_refused_quickly() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/jsonld.schema.json")).unwrap();
    let started = Instant::now();
    let result = small_stack(move || {
        let f = byte_factory();
        f.compile_json_schema(&schema, &JsonOptions::compact())
            .map(|g| {
                let mut m = f.matcher(&g);
                m.shortest_completion_bytes(1 << 16)
            })
    });
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    match result {
        Ok(plan) => {
            let plan = plan.expect("a compiled schema has a shortest answer");
            let v: serde_json::Value = serde_json::from_slice(&plan).unwrap();
            assert!(v.is_object() || v.is_array(), "{v}");
        }
        Err(CompileError::TooComplex { .. }) => {}
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[test]
fn class_loops_followed_by_literals_have_answers() {
    for pattern in [
        "^[0-9]+ years?$",
        "^[A-Z0-9_]+(_CONTROLLER|_DEVICE|_LAYOUT)$",
        "^[a-z]+(?:-+[a-z]+)*-v\\d+$",
        "^[1-9][0-9]* (days?|weeks?|months?|years?)$",
    ] {
        let f = byte_factory();
        let schema = serde_json::json!({"type": "string", "pattern": pattern});
        let g = f
            .compile_json_schema(&schema, &JsonOptions::compact())
            .unwrap();
        let mut m = f.matcher(&g);
        let plan = m
            .shortest_completion_tokens(1024)
            .unwrap_or_else(|| panic!("no answer for {pattern}"));
        let text: Vec<u8> = plan.iter().map(|&t| t as u8).collect();
        let s: String = serde_json::from_slice(&text).unwrap();
        let re = regex_lite(pattern);
        assert!(re(&s), "{s:?} does not match {pattern}");
        assert!(plan.len() <= 12, "{pattern}: {} bytes", plan.len());
    }
}

/// A matcher for the test patterns through the grammar engine's own
/// validator would be circular; the JSON Schema validator checks instead.
fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    let schema = serde_json::json!({"type": "string", "pattern": pattern});
    let v = jsonschema::validator_for(&schema).unwrap();
    move |s: &str| v.is_valid(&serde_json::Value::String(s.to_string()))
}

/// Members that meet a schema enclosing them: `contains` or a pattern
/// property referring to the root. Found by the schema fuzz loop; they
/// once recursed until the stack overflowed.
#[test]
fn members_that_refer_to_their_enclosing_schema_compile_without_recursing() {
    let cases = [
        // No finite instance: every array must contain such an array.
        (
            r##"{"type":"array","items":{"type":["array"]},"contains":{"allOf":[{"$ref":"#"}]}}"##,
            false,
        ),
        (
            r##"{"type":"object","properties":{"a":{"type":"object"}},
                "patternProperties":{"^a$":{"$ref":"#"}}}"##,
            true,
        ),
        (
            r##"{"type":"array","items":{"type":"array"},"contains":{"$ref":"#"},"maxContains":2}"##,
            false,
        ),
        (
            r##"{"anyOf":[{"type":"null"},{"type":"array","items":{"type":"array"},
                "contains":{"$ref":"#"}}]}"##,
            true,
        ),
    ];
    for (text, satisfiable) in cases {
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let result = small_stack(move || {
            let f = byte_factory();
            f.compile_json_schema(&schema, &JsonOptions::compact())
                .map(|g| f.matcher(&g).shortest_completion_bytes(1 << 12))
        });
        match result {
            Ok(Some(answer)) => {
                let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
                assert!(validator.is_valid(&v), "{text}: {v} is invalid");
                assert!(
                    satisfiable,
                    "{text}: an answer {v} to an unsatisfiable schema"
                );
            }
            // An unsatisfiable schema may also be refused as beyond the
            // engine; a satisfiable one must have its answer.
            Ok(None)
            | Err(CompileError::Unsatisfiable { .. } | CompileError::Unsupported { .. }) => {
                assert!(!satisfiable, "{text} was refused")
            }
            Err(e) => panic!("{text}: unexpected error: {e}"),
        }
    }
}

/// Whether the grammar of `schema` takes `text` as a whole answer.
fn grammar_accepts(schema: &serde_json::Value, text: &str) -> bool {
    let f = Factory::new(Vocabulary::byte_level(&[]));
    let g = f
        .compile_json_schema(schema, &JsonOptions::compact())
        .unwrap_or_else(|e| panic!("{schema}: {e}"));
    let mut m = f.matcher(&g);
    m.commit_bytes(text.as_bytes()).is_ok() && m.is_accepting()
}

/// Answers the schema fuzz loop and `strictly maskbench --generate` found
/// judged invalid by the validator: the grammar must not take them, and the
/// shortest answer must be valid.
#[test]
fn answers_the_harnesses_found_invalid_are_refused() {
    let cases: &[(&str, &[&str])] = &[
        // With a look-ahead the validator's engine reads `.` as "not a
        // newline", so these strings match the pattern and fail the `not`.
        (
            r#"{"not":{"type":"string","minLength":7,"pattern":"^(?!x).*$"}}"#,
            &[
                "\"abcdefg\u{2028}\"",
                "\"abcdefg\\u2029\"",
                "\"abcdefg\\r\"",
            ],
        ),
        // RFC 3339 durations: each unit may only be followed by the next.
        (
            r#"{"type":"string","format":"duration"}"#,
            &["\"P1Y5D\"", "\"PT1H2S\"", "\"P8Y126D\""],
        ),
        // Trailing dots, and hyphens at the third and fourth place outside
        // a valid A-label.
        (
            r#"{"type":"string","format":"hostname"}"#,
            &["\"a.\"", "\"0.a.\"", "\"0---0.a\"", "\"example.\""],
        ),
        // 0 meets both branches: the second is an integer multiple of 1e308
        // below 2^64, which only 0 and negative multiples are.
        (
            r#"{"oneOf":[{"type":"number","exclusiveMinimum":-528,"exclusiveMaximum":2.5},
                {"allOf":[{"oneOf":[{"const":0},{"type":"string"}]},
                {"type":"integer","exclusiveMaximum":18446744073709551615,"multipleOf":1e308}]}]}"#,
            &["0"],
        ),
        // Draft 4 calls 1.0 no integer; a numeric enum once took any
        // spelling of its values (dev set, Github_medium---o17563).
        (
            r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"integer","enum":[0,1,2]}"#,
            &["1.0", "2.00"],
        ),
        // Strings validators read as hostnames are outside a negated one.
        (
            r#"{"type":"string","not":{"format":"hostname"}}"#,
            &["\"123\"", "\"a.b\"", "\"xn--bcher-kva.example\""],
        ),
    ];
    for (text, refused) in cases {
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        for answer in *refused {
            let v: serde_json::Value = serde_json::from_str(answer).unwrap();
            assert!(!validator.is_valid(&v), "{answer} is valid for {text}");
            assert!(!grammar_accepts(&schema, answer), "{text} takes {answer}");
        }
        let f = byte_factory();
        let g = f
            .compile_json_schema(&schema, &JsonOptions::compact())
            .unwrap();
        let answer = f.matcher(&g).shortest_completion_bytes(1 << 12).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert!(validator.is_valid(&v), "{text}: shortest answer {v}");
    }
}
