//! Seeded random walks: from the start, pick uniformly among the tokens the
//! mask allows (end-of-sequence included once the instance may end) until
//! the walk ends; every finished instance must be valid for the schema as
//! the `jsonschema` crate judges it.
//!
//! Schemas come from the committed MaskBench sample (`maskbench/sample/`,
//! every 40th file of the dev set) or, with `STRICTLY_MASKBENCH_DEV=DIR`,
//! every 40th file of DIR (every Nth with `STRICTLY_MASKBENCH_EVERY=N`);
//! and from the repository's `schemas/` folder and the hand-written ones
//! below. Answers are judged as the service judges them: `format` asserted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use strictly_grammar::{Factory, JsonOptions, TokenMask, Vocabulary};

/// Every this-many files of `STRICTLY_MASKBENCH_DEV` is walked.
const SAMPLE_EVERY: usize = 40;
const WALKS: u64 = 3;
const MAX_BYTES: usize = 4000;

fn options() -> JsonOptions {
    JsonOptions {
        max_string_chars: 12,
        max_number_chars: 12,
        ..JsonOptions::compact()
    }
}

/// One walk: `Some(text)` when it ended, `None` past `MAX_BYTES`.
fn walk(f: &Arc<Factory>, m: &mut strictly_grammar::Matcher, seed: u64) -> Option<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mask = TokenMask::new(f.vocab().len());
    let mut out = Vec::new();
    while out.len() < MAX_BYTES {
        m.compute_mask_into(&mut mask);
        let allowed: Vec<u32> = mask.iter().collect();
        assert!(
            !allowed.is_empty(),
            "dead end after {:?}",
            String::from_utf8_lossy(&out)
        );
        let t = allowed[rng.random_range(0..allowed.len())];
        m.commit_token(t).expect("a token of the mask commits");
        if f.vocab().is_eos(t) {
            return Some(String::from_utf8(out).expect("walks produce UTF-8"));
        }
        out.extend_from_slice(f.vocab().token_bytes(t));
    }
    None
}

/// The validator the service checks answers with: `format` asserted.
fn validator_for(
    schema: &Value,
) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
}

/// `v` with every number that has a zero fraction written as an integer.
fn integral(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9e15 => json!(f as i64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(integral).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), integral(x))).collect())
        }
        _ => v.clone(),
    }
}

fn dev_schemas() -> Vec<(String, Value)> {
    let every = std::env::var("STRICTLY_MASKBENCH_EVERY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SAMPLE_EVERY);
    let (dir, step) = match std::env::var_os("STRICTLY_MASKBENCH_DEV") {
        Some(dir) => (PathBuf::from(dir), every),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("maskbench/sample"),
            1,
        ),
    };
    let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    assert!(!files.is_empty(), "no schemas in {}", dir.display());
    files
        .iter()
        .step_by(step)
        .filter_map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
            Some((p.display().to_string(), v.get("schema")?.clone()))
        })
        .collect()
}

fn repo_schemas() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            if let Ok(text) = std::fs::read_to_string(e.path()) {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    out.push((e.path().display().to_string(), v));
                }
            }
        }
    }
    let hand = [
        json!({"type": "object", "properties": {"a": {"type": "integer", "minimum": -3, "maximum": 40}, "b": {"type": "string", "pattern": "^[A-Z]{3}$"}}, "required": ["a", "b"], "additionalProperties": false}),
        json!({"type": "array", "items": {"anyOf": [{"type": "number", "multipleOf": 0.5}, {"enum": ["x", null, true]}]}, "minItems": 1, "maxItems": 4}),
        json!({"type": "object", "additionalProperties": {"type": "string", "minLength": 2, "maxLength": 5}, "minProperties": 1}),
        json!({"$defs": {"t": {"type": "object", "properties": {"k": {"type": "array", "items": {"$ref": "#/$defs/t"}, "maxItems": 2}}}}, "$ref": "#/$defs/t"}),
        json!({"type": "string", "format": "email"}),
        json!({"type": "string", "format": "date-time"}),
        json!({"type": "array", "items": {"type": "string", "format": "time"}, "minItems": 8}),
        // Keys some validators match with `\W` and others do not.
        json!({"type": "object", "patternProperties": {"^[a-z\\W]*$": {"type": "object"}}, "minProperties": 3}),
        json!({"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}, "minProperties": 4}),
        json!({"type": "object", "patternProperties": {"^[a-c]$": {"type": "integer"}}, "additionalProperties": false, "minProperties": 3}),
    ];
    for (i, s) in hand.into_iter().enumerate() {
        out.push((format!("hand-written #{i}"), s));
    }
    out
}

#[test]
fn random_walks_are_valid() {
    let f = Factory::new(Vocabulary::byte_level(&[]));
    let mut schemas = repo_schemas();
    schemas.extend(dev_schemas());
    let (mut walked, mut finished) = (0usize, 0usize);
    let mut failures = Vec::new();
    for (i, (name, schema)) in schemas.iter().enumerate() {
        let Ok(g) = f.compile_json_schema(schema, &options()) else {
            continue;
        };
        let Ok(validator) = validator_for(schema) else {
            continue;
        };
        let mut m = f.matcher(&g);
        walked += 1;
        for w in 0..WALKS {
            m.reset();
            let Some(text) = walk(&f, &mut m, i as u64 * 100 + w) else {
                continue;
            };
            finished += 1;
            match serde_json::from_str::<Value>(&text) {
                Ok(v) if validator.is_valid(&v) => {}
                // Draft 4 validators call 1.0 a non-integer; the engine
                // follows later drafts (a number with a zero fraction is an
                // integer), so such instances are judged with 1.0 as 1.
                Ok(v) if validator.is_valid(&integral(&v)) => {}
                Ok(v) => {
                    let why = validator
                        .iter_errors(&v)
                        .next()
                        .map(|e| format!("{} at {}", e, e.instance_path()))
                        .unwrap_or_default();
                    failures.push(format!("{name}: invalid instance {text} ({why})"))
                }
                // Valid JSON whose numbers do not fit an f64 (`1e999`)
                // cannot be judged by the validator.
                Err(e) if e.to_string().contains("number out of range") => {}
                Err(e) => failures.push(format!("{name}: not JSON ({e}): {text}")),
            }
        }
    }
    eprintln!(
        "{walked} schemas walked, {finished} walks ended, {} failures",
        failures.len()
    );
    assert!(walked >= 8, "only {walked} schemas compiled");
    assert!(
        finished * 2 >= walked,
        "too few walks ended: {finished} of {walked} schemas"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The exact pre-flight: every schema that compiles has a shortest answer,
/// the matcher accepts it, and the `jsonschema` crate calls it valid.
#[test]
fn shortest_answers_exist_and_are_valid() {
    let f = Factory::new(Vocabulary::byte_level(&[]));
    let mut schemas = repo_schemas();
    schemas.extend(dev_schemas());
    let mut planned = 0usize;
    let mut failures = Vec::new();
    for (name, schema) in &schemas {
        let Ok(g) = f.compile_json_schema(schema, &options()) else {
            continue;
        };
        let Ok(validator) = validator_for(schema) else {
            continue;
        };
        let mut m = f.matcher(&g);
        let Some(bytes) = m.shortest_completion_bytes(1 << 20) else {
            failures.push(format!("{name}: no shortest answer"));
            continue;
        };
        planned += 1;
        let text = String::from_utf8(bytes).expect("answers are UTF-8");
        match serde_json::from_str::<Value>(&text) {
            Ok(v) if validator.is_valid(&v) || validator.is_valid(&integral(&v)) => {}
            Ok(_) => failures.push(format!("{name}: invalid shortest answer {text}")),
            Err(e) => failures.push(format!("{name}: not JSON ({e}): {text}")),
        }
    }
    eprintln!("{planned} schemas planned, {} failures", failures.len());
    assert!(planned > 100, "only {planned} schemas planned");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
