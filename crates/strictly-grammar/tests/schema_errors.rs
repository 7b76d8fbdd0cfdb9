//! Schemas that must be refused, with the keyword and a plain JSON Pointer,
//! and patterns whose masks must never lead into a dead end.

use serde_json::{Value, json};
use strictly_grammar::{CompileError, Factory, JsonOptions, Vocabulary};

fn factory() -> std::sync::Arc<Factory> {
    Factory::new(Vocabulary::byte_level(&[]))
}

fn compile_err(schema: Value) -> CompileError {
    match factory().compile_json_schema(&schema, &JsonOptions::lenient()) {
        Ok(_) => panic!("{schema} should be refused"),
        Err(e) => e,
    }
}

#[test]
fn contradictory_bounds_name_the_keyword() {
    let cases = [
        (
            json!({"type": "object", "properties": {"a": {"type": "integer", "minimum": 5, "maximum": 3}}}),
            "minimum",
            "/properties/a/minimum",
        ),
        (
            json!({"type": "number", "exclusiveMinimum": 3, "maximum": 3}),
            "exclusiveMinimum",
            "/exclusiveMinimum",
        ),
        (
            json!({"type": "array", "items": {"type": "string", "minLength": 4, "maxLength": 2}}),
            "minLength",
            "/items/minLength",
        ),
        (
            json!({"anyOf": [{"type": "null"}, {"type": "array", "minItems": 3, "maxItems": 1}]}),
            "minItems",
            "/anyOf/1/minItems",
        ),
        (
            json!({"type": "object", "minProperties": 2, "maxProperties": 1}),
            "minProperties",
            "/minProperties",
        ),
    ];
    for (schema, kw, ptr) in cases {
        let e = compile_err(schema.clone());
        assert!(
            matches!(e, CompileError::Unsatisfiable { .. }),
            "{schema}: {e}"
        );
        assert_eq!(e.keyword(), Some(kw), "{schema}: {e}");
        assert_eq!(e.pointer(), Some(ptr), "{schema}: {e}");
    }
}

#[test]
fn pointers_are_plain_json_pointers() {
    let e = compile_err(json!({"properties": {"a": {"$ref": "https://example.com/s.json"}}}));
    assert_eq!(e.pointer(), Some("/properties/a/$ref"));
    let e = compile_err(json!({"type": "string", "format": "regex"}));
    assert_eq!(e.pointer(), Some("/format"));
    let e = compile_err(json!({"properties": {"a": {"type": "string", "pattern": "(?<=a)b"}}}));
    assert!(!e.pointer().unwrap_or("#").starts_with('#'), "{e}");
    for e in [
        compile_err(json!(false)),
        compile_err(json!({"type": "string", "enum": [1]})),
    ] {
        let p = e.pointer().unwrap_or("");
        assert!(!p.starts_with('#'), "{e}");
        assert!(!e.to_string().contains(" at #"), "{e}");
    }
}

/// Every byte in the mask must keep the instance completable: after the
/// opening quote of a three-letter code only capitals are allowed.
#[test]
fn anchored_pattern_allows_no_early_quote() {
    let f = factory();
    let schema = json!({"type": "string", "pattern": "^[A-Z]{3}$"});
    let g = f
        .compile_json_schema(&schema, &JsonOptions::lenient())
        .unwrap();
    let mut m = f.matcher(&g);
    m.commit_bytes(b"\"").unwrap();
    let mask = m.compute_mask();
    assert!(!mask.contains(b'"' as u32));
    assert!(mask.contains(b'A' as u32));
    assert!(!mask.contains(b'a' as u32));
    assert!(m.commit_token(b'"' as u32).is_err());
    m.commit_bytes(b"ABC").unwrap();
    let mask = m.compute_mask();
    assert!(mask.contains(b'"' as u32));
    assert!(!mask.contains(b'D' as u32));
    m.commit_bytes(b"\"").unwrap();
    assert!(m.is_accepting());
}
