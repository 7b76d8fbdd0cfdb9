//! Field-level accuracy of an answer against the expected JSON: the share
//! of the expected leaves (by JSON Pointer) found in the answer with the
//! same value. Numbers match within 0.01 and strings up to case and
//! whitespace, so a score measures extraction, not formatting. The
//! end-to-end test and `strictly bench serve` score with this one function.

use serde_json::Value;

/// Share of `expected`'s leaves that `actual` holds at the same pointer
/// with the same value, from 0 to 1 (0 when `expected` has no leaves, as
/// in `scripts/compare_llamacpp_extract.py`, so both scorers agree).
pub fn field_accuracy(expected: &Value, actual: &Value) -> f64 {
    let mut want = Vec::new();
    leaves(expected, String::new(), &mut want);
    let matched = want
        .iter()
        .filter(|(path, v)| actual.pointer(path).is_some_and(|a| same(a, v)))
        .count();
    matched as f64 / want.len().max(1) as f64
}

/// Leaves of a JSON value keyed by their JSON Pointer.
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            let key = k.replace('~', "~0").replace('/', "~1");
            leaves(v, format!("{path}/{key}"), out)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{path}/{i}"), out)),
        leaf => out.push((path, leaf.clone())),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap_or(0.0) - y.as_f64().unwrap_or(0.0)).abs() < 0.01
        }
        (Value::String(x), Value::String(y)) => {
            let norm = |s: &str| {
                s.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            };
            norm(x) == norm(y)
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_matching_leaves_with_lenient_numbers_and_strings() {
        let expected = json!({"name": "Acme  GmbH", "total": 12.5, "lines": [{"qty": 2}, {"qty": 3}], "a/b": true});
        let actual =
            json!({"name": "acme gmbh", "total": 12.504, "lines": [{"qty": 2}], "a/b": true});
        // name, total, lines/0/qty and a/b match; lines/1/qty is missing.
        assert!((field_accuracy(&expected, &actual) - 0.8).abs() < 1e-9);
        assert_eq!(field_accuracy(&expected, &expected), 1.0);
        assert_eq!(field_accuracy(&expected, &json!(null)), 0.0);
        assert_eq!(field_accuracy(&json!({}), &json!({"x": 1})), 0.0);
    }

    #[test]
    fn values_must_match_in_kind() {
        assert_eq!(field_accuracy(&json!({"n": 1}), &json!({"n": "1"})), 0.0);
        assert_eq!(field_accuracy(&json!({"n": 1}), &json!({"n": 1.02})), 0.0);
    }
}
