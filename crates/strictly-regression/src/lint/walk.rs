//! Checks made by walking every subschema, reachable or not: what the
//! compiler cannot report because it ignores it (non-standard keywords) or
//! never visits it (definitions nothing refers to, the compiler stopping
//! at its first error), and contradictions visible in one schema object.

use serde_json::{Map, Value};

use super::keywords::{SCHEMA, SCHEMA_ARRAY, SCHEMA_MAP, STANDARD, suggestion};
use super::{Code, Diagnostic, Severity};

/// JSON Pointer of `key` under `ptr`, escaped.
pub fn push(ptr: &str, key: &str) -> String {
    format!("{ptr}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// All static findings for the document `root`.
pub fn check(root: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(root, root, "", &mut out);
    out
}

fn walk(root: &Value, schema: &Value, ptr: &str, out: &mut Vec<Diagnostic>) {
    let Value::Object(m) = schema else {
        if !schema.is_boolean() {
            out.push(Diagnostic::error(
                Code::Invalid,
                ptr,
                None,
                "a schema must be an object or a boolean",
            ));
        }
        return;
    };
    keywords(m, ptr, out);
    references(root, m, ptr, out);
    contradictions(m, ptr, out);
    for (k, v) in m {
        let at = push(ptr, k);
        let k = k.as_str();
        if SCHEMA.contains(&k) || (k == "items" && !v.is_array()) {
            walk(root, v, &at, out);
        } else if SCHEMA_ARRAY.contains(&k) || (k == "items" && v.is_array()) {
            match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        walk(root, item, &push(&at, &i.to_string()), out);
                    }
                }
                None => out.push(Diagnostic::error(
                    Code::Invalid,
                    &at,
                    Some(k),
                    "must be an array of schemas",
                )),
            }
        } else if SCHEMA_MAP.contains(&k) || k == "dependencies" {
            match v.as_object() {
                Some(entries) => {
                    for (name, sub) in entries {
                        // `dependencies` entries that are arrays are
                        // property lists, not schemas.
                        if !(k == "dependencies" && sub.is_array()) {
                            walk(root, sub, &push(&at, name), out);
                        }
                    }
                }
                None => out.push(Diagnostic::error(
                    Code::Invalid,
                    &at,
                    Some(k),
                    "must be an object",
                )),
            }
        }
    }
}

/// Non-standard keywords: ignored by the compiler, so a typo silently
/// drops a constraint. Reported as warnings, with a suggestion when the
/// name is close to a standard keyword.
fn keywords(m: &Map<String, Value>, ptr: &str, out: &mut Vec<Diagnostic>) {
    for k in m.keys() {
        if STANDARD.contains(&k.as_str()) {
            continue;
        }
        let message = match suggestion(k) {
            Some(s) => {
                format!("`{k}` is not a JSON Schema keyword and is ignored; did you mean `{s}`?")
            }
            None => format!("`{k}` is not a JSON Schema keyword and is ignored"),
        };
        out.push(Diagnostic {
            severity: Severity::Warning,
            code: Code::IgnoredKeyword,
            pointer: push(ptr, k),
            keyword: Some(k.clone()),
            message,
            location: None,
        });
    }
}

/// `$ref`s that leave the document (never fetched) or point nowhere.
fn references(root: &Value, m: &Map<String, Value>, ptr: &str, out: &mut Vec<Diagnostic>) {
    for key in ["$ref", "$dynamicRef", "$recursiveRef"] {
        let Some(r) = m.get(key) else { continue };
        let at = push(ptr, key);
        let Some(r) = r.as_str() else {
            out.push(Diagnostic::error(
                Code::Invalid,
                &at,
                Some(key),
                "must be a string",
            ));
            continue;
        };
        if let Some(fragment) = r.strip_prefix('#') {
            // `#/pointer` must resolve; `#anchor` names are left to the compiler.
            if (fragment.is_empty() || fragment.starts_with('/'))
                && root.pointer(&percent_decode(fragment)).is_none()
            {
                out.push(Diagnostic::error(
                    Code::Invalid,
                    &at,
                    Some(key),
                    format!("\"{r}\" points nowhere in this document"),
                ));
            }
        } else if r.contains("://") || r.starts_with("//") {
            out.push(Diagnostic::error(
                Code::RemoteRef,
                &at,
                Some(key),
                format!("remote reference \"{r}\" is never fetched; copy the schema into `$defs`"),
            ));
        }
    }
}

/// `%25`-style escapes in URI fragments.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pairs of bounds that no value can meet, and keyword values of the wrong
/// shape, within one schema object.
fn contradictions(m: &Map<String, Value>, ptr: &str, out: &mut Vec<Diagnostic>) {
    let count = |k: &str| -> Option<f64> { m.get(k).and_then(Value::as_f64) };
    for k in [
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "minContains",
        "maxContains",
    ] {
        if let Some(v) = m.get(k)
            && v.as_u64().is_none()
            && !v.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0)
        {
            out.push(Diagnostic::error(
                Code::Invalid,
                &push(ptr, k),
                Some(k),
                format!("must be a non-negative integer, found {v}"),
            ));
        }
    }
    for (lo, hi) in [
        ("minLength", "maxLength"),
        ("minItems", "maxItems"),
        ("minProperties", "maxProperties"),
        ("minContains", "maxContains"),
    ] {
        if let (Some(a), Some(b)) = (count(lo), count(hi))
            && a > b
        {
            out.push(Diagnostic::error(
                Code::Unsatisfiable,
                &push(ptr, lo),
                Some(lo),
                format!("`{lo}` {a} is above `{hi}` {b}"),
            ));
        }
    }
    numeric_range(m, ptr, out);
    if let Some(v) = m.get("multipleOf")
        && !v.as_f64().is_some_and(|f| f > 0.0)
    {
        out.push(Diagnostic::error(
            Code::Invalid,
            &push(ptr, "multipleOf"),
            Some("multipleOf"),
            format!("must be a number above 0, found {v}"),
        ));
    }
    for k in ["enum", "type"] {
        if m.get(k)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            out.push(Diagnostic::error(
                Code::Unsatisfiable,
                &push(ptr, k),
                Some(k),
                format!("an empty `{k}` admits nothing"),
            ));
        }
    }
    if let Some(t) = m.get("type") {
        let names: Vec<&Value> = match t {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for n in names {
            let known = n.as_str().is_some_and(|s| {
                [
                    "null", "boolean", "object", "array", "number", "integer", "string",
                ]
                .contains(&s)
            });
            if !known {
                out.push(Diagnostic::error(
                    Code::Invalid,
                    &push(ptr, "type"),
                    Some("type"),
                    format!("{n} is not a JSON type"),
                ));
            }
        }
    }
    required(m, ptr, out);
}

/// The tighter of `plain` and `exclusive` as (value, exclusive, keyword).
/// Draft 4 spells exclusive bounds as booleans next to the plain one.
fn effective<'k>(
    m: &Map<String, Value>,
    plain: &'k str,
    exclusive: &'k str,
    lower: bool,
) -> Option<(f64, bool, &'k str)> {
    let mut bound = m
        .get(plain)
        .and_then(Value::as_f64)
        .map(|p| (p, m.get(exclusive) == Some(&Value::Bool(true)), plain));
    if let Some(e) = m.get(exclusive).and_then(Value::as_f64) {
        let tighter = bound.is_none_or(|(p, _, _)| if lower { e >= p } else { e <= p });
        if tighter {
            bound = Some((e, true, exclusive));
        }
    }
    bound
}

fn numeric_range(m: &Map<String, Value>, ptr: &str, out: &mut Vec<Diagnostic>) {
    let (Some((lo, lo_ex, keyword)), Some((hi, hi_ex, _))) = (
        effective(m, "minimum", "exclusiveMinimum", true),
        effective(m, "maximum", "exclusiveMaximum", false),
    ) else {
        return;
    };
    let is_integer = m.get("type").and_then(Value::as_str) == Some("integer");
    let empty = lo > hi
        || (lo == hi && (lo_ex || hi_ex))
        || (is_integer && {
            let first = if lo_ex { lo.floor() + 1.0 } else { lo.ceil() };
            let last = if hi_ex { hi.ceil() - 1.0 } else { hi.floor() };
            first > last
        });
    if empty {
        out.push(Diagnostic::error(
            Code::Unsatisfiable,
            &push(ptr, keyword),
            Some(keyword),
            format!(
                "no {} lies between the lower bound {lo} and the upper bound {hi}",
                if is_integer { "integer" } else { "number" }
            ),
        ));
    }
}

/// Required properties that the same object forbids.
fn required(m: &Map<String, Value>, ptr: &str, out: &mut Vec<Diagnostic>) {
    let Some(required) = m.get("required") else {
        return;
    };
    let at = push(ptr, "required");
    let Some(names) = required
        .as_array()
        .and_then(|a| a.iter().map(Value::as_str).collect::<Option<Vec<&str>>>())
    else {
        // Draft 3 put `required: true` on the property itself.
        if !required.is_boolean() {
            out.push(Diagnostic::error(
                Code::Invalid,
                &at,
                Some("required"),
                "must be an array of property names",
            ));
        }
        return;
    };
    let properties = m.get("properties").and_then(Value::as_object);
    let closed = m.get("additionalProperties") == Some(&Value::Bool(false))
        && !m.contains_key("patternProperties");
    for name in &names {
        let declared = properties.and_then(|p| p.get(*name));
        let reason = match declared {
            Some(Value::Bool(false)) => Some("its schema is `false`"),
            None if closed => Some("`additionalProperties` is false and it is not in `properties`"),
            _ => None,
        };
        if let Some(reason) = reason {
            out.push(Diagnostic::error(
                Code::Unsatisfiable,
                &at,
                Some("required"),
                format!("\"{name}\" is required but {reason}"),
            ));
        }
    }
    if let Some(max) = m.get("maxProperties").and_then(Value::as_u64)
        && (names.len() as u64) > max
    {
        out.push(Diagnostic::error(
            Code::Unsatisfiable,
            &at,
            Some("required"),
            format!(
                "{} properties are required but `maxProperties` is {max}",
                names.len()
            ),
        ));
    }
}
