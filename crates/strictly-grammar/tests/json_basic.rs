//! Accept/reject tables for JSON Schema keywords, checked through the
//! matcher with a byte-level vocabulary (every instance is fed byte by byte).

use serde_json::{Value, json};
use strictly_grammar::{Factory, JsonOptions, Vocabulary};

fn factory() -> std::sync::Arc<Factory> {
    Factory::new(Vocabulary::byte_level(&[]))
}

/// Whether the matcher accepts `text` in full, with EOS allowed at the end.
fn accepts(f: &std::sync::Arc<Factory>, schema: &Value, text: &str) -> bool {
    let g = match f.compile_json_schema(schema, &JsonOptions::lenient()) {
        Ok(g) => g,
        Err(e) => panic!("schema {schema} failed to compile: {e}"),
    };
    let mut m = f.matcher(&g);
    for &b in text.as_bytes() {
        if m.commit_token(b as u32).is_err() {
            return false;
        }
    }
    m.is_accepting()
}

fn table(schema: Value, good: &[&str], bad: &[&str]) {
    let f = factory();
    for g in good {
        assert!(accepts(&f, &schema, g), "{schema} should accept {g}");
    }
    for b in bad {
        assert!(!accepts(&f, &schema, b), "{schema} should reject {b}");
    }
}

#[test]
fn types() {
    table(
        json!({"type": "integer"}),
        &["0", "-12", "7"],
        &["1.5", "01", "\"1\"", "", "1e2"],
    );
    table(
        json!({"type": "number"}),
        &["1.5", "-0.25", "1e-05", "3"],
        &["1.", ".5", "--1"],
    );
    table(
        json!({"type": "string"}),
        &["\"\"", "\"a b\"", "\"\\n\\\"\"", "\"é\""],
        &["\"a", "'a'", "1"],
    );
    table(
        json!({"type": ["null", "boolean"]}),
        &["null", "true", "false"],
        &["0", "\"null\""],
    );
    table(
        json!({}),
        &["{\"a\": [1, {\"b\": null}]}", "[]", "\"x\""],
        &["{a: 1}", "[1,]"],
    );
}

#[test]
fn objects() {
    let s = json!({
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": false
    });
    table(
        s,
        &["{\"a\": 1}", "{\"a\": 1, \"b\": \"x\"}", "{ \"a\" : 1 }"],
        &[
            "{}",
            "{\"b\": \"x\"}",
            "{\"a\": 1, \"c\": 2}",
            "{\"a\": \"1\"}",
        ],
    );
    let s = json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "boolean"}});
    table(
        s,
        &["{\"a\": 1, \"x\": true}", "{\"y\": false}", "{}"],
        &["{\"x\": 1}", "{\"a\": true}"],
    );
    let s = json!({"type": "object", "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": false});
    table(
        s,
        &["{\"x-a\": 1}", "{}"],
        &["{\"y\": 1}", "{\"x-a\": \"s\"}"],
    );
    let s = json!({"type": "object", "minProperties": 1, "maxProperties": 2});
    table(
        s,
        &["{\"a\": 1}", "{\"a\": 1, \"b\": 2}"],
        &["{}", "{\"a\": 1, \"b\": 2, \"c\": 3}"],
    );
    let s = json!({"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}});
    table(s, &["{\"ab\": 1}"], &["{\"A\": 1}"]);
    let s = json!({"type": "object", "dependentSchemas": {"a": {"properties": {"b": {"type": "integer"}}, "required": ["b"]}}});
    table(
        s,
        &["{\"a\": 1, \"b\": 2}", "{\"b\": \"x\"}", "{}"],
        &["{\"a\": 1}", "{\"a\": 1, \"b\": \"x\"}"],
    );
    let s = json!({"type": "object", "dependentRequired": {"a": ["b"]}});
    table(
        s,
        &["{\"a\": 1, \"b\": 2}", "{\"b\": 2}", "{}"],
        &["{\"a\": 1}"],
    );
}

#[test]
fn arrays() {
    table(
        json!({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}),
        &["[1]", "[1, 2, 3]"],
        &["[]", "[1, 2, 3, 4]", "[\"a\"]"],
    );
    table(
        json!({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false, "type": "array"}),
        &["[\"a\", 1]", "[\"a\"]", "[]"],
        &["[1]", "[\"a\", 1, 2]"],
    );
    table(
        json!({"type": "array", "items": [{"type": "string"}], "additionalItems": {"type": "boolean"}}),
        &["[\"a\", true, false]"],
        &["[\"a\", 1]"],
    );
    table(
        json!({"type": "array", "contains": {"const": 5}}),
        &["[1, 5]", "[5]"],
        &["[]", "[1, 2]"],
    );
    table(
        json!({"type": "array", "contains": {"const": 5}, "maxContains": 1}),
        &["[1, 5]"],
        &["[5, 5]"],
    );
}

#[test]
fn strings() {
    table(
        json!({"type": "string", "minLength": 2, "maxLength": 3}),
        &["\"ab\"", "\"abc\"", "\"éé\""],
        &["\"a\"", "\"abcd\""],
    );
    table(
        json!({"type": "string", "pattern": "^[a-z]+\\d$"}),
        &["\"ab1\""],
        &["\"ab\"", "\"1\"", "\"ab12\""],
    );
    table(
        json!({"type": "string", "pattern": "b"}),
        &["\"abc\"", "\"b\""],
        &["\"ac\""],
    );
    table(
        json!({"type": "string", "format": "date"}),
        &["\"2024-02-29\""],
        &["\"2023-02-29\"", "\"x\""],
    );
    table(
        json!({"type": "string", "format": "unknown-format"}),
        &["\"anything\""],
        &["1"],
    );
    table(
        json!({"enum": ["a", "b", 1, null]}),
        &["\"a\"", "1", "1.0", "null"],
        &["\"c\"", "2"],
    );
    table(
        json!({"const": {"a": [1, "x"]}}),
        &["{\"a\": [1, \"x\"]}"],
        &["{\"a\": [1]}"],
    );
}

#[test]
fn numbers() {
    table(
        json!({"type": "integer", "minimum": 1, "exclusiveMaximum": 10}),
        &["1", "9"],
        &["0", "10", "-1"],
    );
    table(
        json!({"type": "number", "minimum": -1.5, "maximum": 2.25}),
        &["-1.5", "2.25", "0", "2.2"],
        &["-1.6", "2.26", "3"],
    );
    table(
        json!({"type": "integer", "multipleOf": 5}),
        &["0", "15", "-5"],
        &["3", "12"],
    );
    table(
        json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "number", "minimum": 0, "exclusiveMinimum": true}),
        &["1", "0.5"],
        &["0", "-1"],
    );
}

#[test]
fn combinators() {
    table(
        json!({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]}),
        &["1", "\"ab\""],
        &["\"abc\"", "true"],
    );
    table(
        json!({"oneOf": [{"type": "integer"}, {"type": "string"}]}),
        &["1", "\"a\""],
        &["true"],
    );
    table(
        json!({"oneOf": [{"type": "integer", "minimum": 5}, {"type": "integer", "maximum": 10}]}),
        &["1", "11"],
        &["7"],
    );
    table(
        json!({"allOf": [{"type": "string"}, {"maxLength": 2}]}),
        &["\"ab\""],
        &["\"abc\"", "1"],
    );
    table(
        json!({"not": {"type": "string"}}),
        &["1", "null", "{}"],
        &["\"a\""],
    );
    table(
        json!({"type": "string", "not": {"enum": ["a", "b"]}}),
        &["\"c\"", "\"ab\""],
        &["\"a\""],
    );
    table(
        json!({"type": "object", "if": {"properties": {"k": {"const": "a"}}}, "then": {"required": ["x"]}, "else": {"required": ["y"]}}),
        &[
            "{\"k\": \"a\", \"x\": 1}",
            "{\"k\": \"b\", \"y\": 1}",
            "{\"x\": 1}",
        ],
        &["{\"k\": \"a\"}", "{\"k\": \"b\", \"x\": 1}"],
    );
}

#[test]
fn refs_and_recursion() {
    let s = json!({
        "$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"}, "next": {"$ref": "#/$defs/node"}}, "required": ["v"], "additionalProperties": false}},
        "$ref": "#/$defs/node"
    });
    table(
        s,
        &[
            "{\"v\": 1}",
            "{\"v\": 1, \"next\": {\"v\": 2, \"next\": {\"v\": 3}}}",
        ],
        &["{\"v\": 1, \"next\": {}}"],
    );
    let s = json!({"definitions": {"a": {"type": "integer"}}, "properties": {"x": {"$ref": "#/definitions/a", "minimum": 3}}});
    // Siblings of `$ref` apply from 2019-09 on (the default), not in draft 7.
    table(s, &["{\"x\": 4}"], &["{\"x\": \"s\"}", "{\"x\": 2}"]);
    let s = json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"a": {"type": "integer"}}, "properties": {"x": {"$ref": "#/definitions/a", "minimum": 3}}});
    table(s, &["{\"x\": 4}", "{\"x\": 2}"], &["{\"x\": \"s\"}"]);
}

#[test]
fn errors_name_keyword_and_pointer() {
    let f = factory();
    let cases = [
        (
            json!({"type": "object", "properties": {"a": {"unevaluatedProperties": false}}}),
            "unevaluatedProperties",
            "/properties/a/unevaluatedProperties",
        ),
        (
            json!({"$ref": "http://example.com/s.json"}),
            "$ref",
            "/$ref",
        ),
        (
            json!({"type": "integer", "minimum": 5, "maximum": 1}),
            "minimum",
            "/minimum",
        ),
        (
            json!({"properties": {"p": {"type": "string", "pattern": "(a)\\1"}}}),
            "pattern",
            "/properties/p/pattern",
        ),
    ];
    for (schema, kw, ptr) in cases {
        let e = f
            .compile_json_schema(&schema, &JsonOptions::lenient())
            .unwrap_err();
        assert_eq!(e.keyword(), Some(kw), "{e}");
        assert_eq!(e.pointer(), Some(ptr), "{e}");
    }
}

/// Generation writes the listed properties only, unless the schema allows
/// other keys in words; checking documents written elsewhere (lenient)
/// keeps the schema's own reading.
#[test]
fn generation_writes_only_listed_properties_unless_more_are_allowed() {
    let f = factory();
    let gen_accepts = |schema: &Value, text: &str| {
        let g = f
            .compile_json_schema(schema, &JsonOptions::compact())
            .unwrap_or_else(|e| panic!("{schema}: {e}"));
        let mut m = f.matcher(&g);
        m.commit_bytes(text.as_bytes()).is_ok() && m.is_accepting()
    };
    let listed = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    assert!(gen_accepts(&listed, r#"{"city":"Lyon"}"#));
    assert!(!gen_accepts(&listed, r#"{"city":"Lyon","date":"x"}"#));
    assert!(accepts(&f, &listed, r#"{"city": "Lyon", "date": "x"}"#));
    for open in [
        json!({"type": "object", "properties": {"city": {}}, "additionalProperties": true}),
        json!({"type": "object", "properties": {"city": {}}, "patternProperties": {"^d": {}}}),
        json!({"type": "object"}),
        // A required key that is not listed, and a minimum the listed keys
        // cannot meet, keep other keys allowed.
        json!({"type": "object", "properties": {"city": {}}, "required": ["date"]}),
        json!({"type": "object", "properties": {"city": {}}, "minProperties": 2}),
    ] {
        assert!(
            gen_accepts(&open, r#"{"city":"Lyon","date":"x"}"#),
            "{open}"
        );
    }
    // allOf: the listed keys of every branch.
    let both = json!({"allOf": [
        {"properties": {"a": {"type": "integer"}}},
        {"properties": {"b": {"type": "integer"}}}
    ]});
    assert!(gen_accepts(&both, r#"{"a":1,"b":2}"#));
    assert!(!gen_accepts(&both, r#"{"a":1,"b":2,"c":3}"#));
    let opened = json!({"allOf": [
        {"properties": {"a": {"type": "integer"}}},
        {"additionalProperties": {"type": "integer"}}
    ]});
    assert!(gen_accepts(&opened, r#"{"a":1,"c":3}"#));
}
