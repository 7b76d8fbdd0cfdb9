use serde_json::json;

use super::*;

fn codes(found: &[Diagnostic]) -> Vec<(Severity, Code, &str)> {
    found
        .iter()
        .map(|d| (d.severity, d.code, d.pointer.as_str()))
        .collect()
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let schema = json!({
        "type": "object",
        "properties": {
            "a": {"type": "object", "unevaluatedProperties": false},
            "b": {"type": "number", "minimum": 10, "maximum": 5},
            "c": {"$ref": "https://example.com/address.json"},
            "d": {"type": "string", "maxLenght": 5, "x-ui": "wide"}
        }
    });
    let found = lint(&schema, &GrammarCompiler::default());
    let got = codes(&found);
    for want in [
        (
            Severity::Error,
            Code::Unsupported,
            "/properties/a/unevaluatedProperties",
        ),
        (Severity::Error, Code::RemoteRef, "/properties/c/$ref"),
        (
            Severity::Warning,
            Code::IgnoredKeyword,
            "/properties/d/maxLenght",
        ),
        (
            Severity::Warning,
            Code::IgnoredKeyword,
            "/properties/d/x-ui",
        ),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {found:#?}");
    }
    assert!(
        found
            .iter()
            .any(|d| d.code == Code::Unsatisfiable && d.pointer.starts_with("/properties/b")),
        "{found:#?}"
    );
    // Errors come before warnings, and each problem once.
    let first_warning = found
        .iter()
        .position(|d| d.severity == Severity::Warning)
        .unwrap();
    assert!(
        found[first_warning..]
            .iter()
            .all(|d| d.severity == Severity::Warning)
    );
    assert_eq!(
        found
            .iter()
            .filter(|d| d.pointer.starts_with("/properties/b"))
            .count(),
        1,
        "{found:#?}"
    );
    let typo = found
        .iter()
        .find(|d| d.pointer.ends_with("maxLenght"))
        .unwrap();
    assert!(
        typo.message.contains("did you mean `maxLength`"),
        "{}",
        typo.message
    );
}

#[test]
fn a_clean_schema_has_no_findings() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Invoice",
        "type": "object",
        "properties": {
            "number": {"type": "string", "description": "as printed"},
            "total": {"type": "number", "minimum": 0},
            "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}, "maxItems": 50}
        },
        "required": ["number", "total"],
        "additionalProperties": false,
        "$defs": {"line": {"type": "object", "properties": {"amount": {"type": "number"}}}}
    });
    let found = lint(&schema, &GrammarCompiler::default());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn definitions_nothing_uses_are_checked_too() {
    let schema = json!({
        "type": "string",
        "$defs": {
            "old": {"$ref": "http://example.com/old.json"},
            "bad": {"type": "string", "minLength": 5, "maxLength": 2},
            "dangling": {"$ref": "#/$defs/missing"}
        }
    });
    let found = lint(&schema, &GrammarCompiler::default());
    let got = codes(&found);
    assert!(
        got.contains(&(Severity::Error, Code::RemoteRef, "/$defs/old/$ref")),
        "{found:#?}"
    );
    assert!(
        got.contains(&(Severity::Error, Code::Unsatisfiable, "/$defs/bad/minLength")),
        "{found:#?}"
    );
    assert!(
        got.contains(&(Severity::Error, Code::Invalid, "/$defs/dangling/$ref")),
        "{found:#?}"
    );
}

#[test]
fn structural_contradictions() {
    let schema = json!({"type": "object", "$defs": {
        "ints": {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 2},
        "req": {"type": "object", "properties": {"a": {}}, "required": ["a", "b"], "additionalProperties": false},
        "enum": {"enum": []},
        "draft4": {"minimum": 3, "maximum": 3, "exclusiveMaximum": true},
        "ok4": {"minimum": 3, "maximum": 3},
        "neg": {"minItems": -1, "multipleOf": 0, "type": "text"}
    }});
    let found = walk::check(&schema);
    let got = codes(&found);
    for want in [
        (
            Severity::Error,
            Code::Unsatisfiable,
            "/$defs/ints/exclusiveMinimum",
        ),
        (Severity::Error, Code::Unsatisfiable, "/$defs/req/required"),
        (Severity::Error, Code::Unsatisfiable, "/$defs/enum/enum"),
        (
            Severity::Error,
            Code::Unsatisfiable,
            "/$defs/draft4/minimum",
        ),
        (Severity::Error, Code::Invalid, "/$defs/neg/minItems"),
        (Severity::Error, Code::Invalid, "/$defs/neg/multipleOf"),
        (Severity::Error, Code::Invalid, "/$defs/neg/type"),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {found:#?}");
    }
    assert!(
        !found.iter().any(|d| d.pointer.starts_with("/$defs/ok4")),
        "{found:#?}"
    );
}

#[test]
fn pointers_escape_and_data_is_not_walked() {
    let schema = json!({
        "properties": {"a/b": {"type": "string", "x-note": 1}},
        "enum": [{"maxLenght": 1}],
        "default": {"x-not-a-keyword": true},
        "examples": [{"unevaluatedProperties": false}]
    });
    let found = walk::check(&schema);
    assert_eq!(
        codes(&found),
        [(
            Severity::Warning,
            Code::IgnoredKeyword,
            "/properties/a~1b/x-note"
        )]
    );
}

#[test]
fn text_that_is_not_json_is_one_finding() {
    let found = lint_text("{\"type\": ", &GrammarCompiler::default());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].code, Code::Json);
    assert!(
        found[0]
            .line()
            .starts_with("(root): error[json]: not valid JSON"),
        "{}",
        found[0].line()
    );
}

/// Always fails with the same error, pointing nowhere removable.
struct Stuck;

impl SchemaCompiler for Stuck {
    fn compile(&self, _: &Value) -> Result<(), CompileError> {
        Err(CompileError::TooComplex {
            keyword: "".into(),
            pointer: "#/nowhere".into(),
            reason: "grammar too large".into(),
        })
    }
}

#[test]
fn a_compiler_that_keeps_failing_does_not_loop() {
    let found = lint(&json!({"type": "string"}), &Stuck);
    assert_eq!(
        codes(&found),
        [(Severity::Error, Code::TooComplex, "/nowhere")]
    );
}

/// Reports, one at a time, each `pattern` whose text is "BAD", pointing
/// at the schema object (not the keyword), like some compiler errors do.
struct FirstBadPattern;

impl SchemaCompiler for FirstBadPattern {
    fn compile(&self, schema: &Value) -> Result<(), CompileError> {
        fn find(v: &Value, ptr: &str) -> Option<String> {
            let m = v.as_object()?;
            if m.get("pattern") == Some(&json!("BAD")) {
                return Some(ptr.to_owned());
            }
            let props = m.get("properties")?.as_object()?;
            props
                .iter()
                .find_map(|(k, s)| find(s, &format!("{ptr}/properties/{k}")))
        }
        match find(schema, "#") {
            Some(pointer) => Err(CompileError::Unsupported {
                keyword: "pattern".into(),
                pointer,
                reason: "look-behind".into(),
            }),
            None => Ok(()),
        }
    }
}

#[test]
fn errors_pointing_at_the_schema_object_are_located_at_the_keyword() {
    let schema = json!({"properties": {
        "a": {"pattern": "BAD"}, "b": {"pattern": "ok"}, "c": {"pattern": "BAD"}
    }});
    let found = lint(&schema, &FirstBadPattern);
    assert_eq!(
        codes(&found),
        [
            (Severity::Error, Code::Unsupported, "/properties/a/pattern"),
            (Severity::Error, Code::Unsupported, "/properties/c/pattern"),
        ]
    );
    assert_eq!(found[0].message, "`pattern` is not supported: look-behind");
}

#[test]
fn grammars_are_linted_with_line_and_column() {
    let compiler = GrammarCompiler::default();
    assert!(compiler.lint_gbnf("root ::= [a-z]+").is_empty());
    assert!(compiler.lint_gbnf("@sql_select").is_empty());
    let found = compiler.lint_gbnf("root ::= item\nitem ::= \"a\" | [z-a]");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, Code::Grammar);
    assert_eq!(
        found[0].location,
        Some(Location {
            line: 2,
            column: 17
        })
    );
    assert!(
        found[0].line().starts_with("2:17: error[grammar]: "),
        "{}",
        found[0].line()
    );
    let found = compiler.lint_gbnf("@nope");
    assert!(found[0].message.contains("@json"), "{found:?}");
}
