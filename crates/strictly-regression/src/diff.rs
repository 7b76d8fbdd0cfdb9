//! Field-level comparison of an expected and an extracted JSON value.
//!
//! A whole-document "not equal" is useless for a 40-field invoice; the
//! diff names each differing field by its JSON Pointer with both values,
//! so a reviewer sees at once that `/lines/2/price` went from 4.5 to 45.

use std::fmt;

use serde_json::Value;

use crate::tolerance::Tolerances;

/// One field that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub pointer: String,
    /// `None`: the field was not expected (extra in the result).
    pub expected: Option<Value>,
    /// `None`: the field is missing from the result.
    pub got: Option<Value>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        match (&self.expected, &self.got) {
            (Some(e), Some(g)) => write!(f, "{pointer}: expected {e}, got {g}"),
            (Some(e), None) => write!(f, "{pointer}: missing, expected {e}"),
            (None, Some(g)) => write!(f, "{pointer}: unexpected {g}"),
            (None, None) => write!(f, "{pointer}: differs"),
        }
    }
}

/// Every field where `got` differs from `expected` under `tolerances`, in
/// document order. Objects are compared key by key, arrays index by index.
pub fn diff(expected: &Value, got: &Value, tolerances: &Tolerances) -> Vec<Mismatch> {
    let mut out = Vec::new();
    walk(expected, got, String::new(), tolerances, &mut out);
    out
}

fn push(ptr: &str, key: &str) -> String {
    format!("{ptr}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn walk(expected: &Value, got: &Value, ptr: String, tol: &Tolerances, out: &mut Vec<Mismatch>) {
    let rule = tol.rule_for(&ptr);
    if rule.ignore {
        return;
    }
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            for (k, ev) in e {
                let at = push(&ptr, k);
                match g.get(k) {
                    Some(gv) => walk(ev, gv, at, tol, out),
                    None if !tol.rule_for(&at).ignore => out.push(Mismatch {
                        pointer: at,
                        expected: Some(ev.clone()),
                        got: None,
                    }),
                    None => {}
                }
            }
            for (k, gv) in g {
                let at = push(&ptr, k);
                if !e.contains_key(k) && !tol.rule_for(&at).ignore {
                    out.push(Mismatch {
                        pointer: at,
                        expected: None,
                        got: Some(gv.clone()),
                    });
                }
            }
        }
        (Value::Array(e), Value::Array(g)) => {
            for i in 0..e.len().max(g.len()) {
                let at = push(&ptr, &i.to_string());
                match (e.get(i), g.get(i)) {
                    (Some(ev), Some(gv)) => walk(ev, gv, at, tol, out),
                    (ev, gv) if !tol.rule_for(&at).ignore => out.push(Mismatch {
                        pointer: at,
                        expected: ev.cloned(),
                        got: gv.cloned(),
                    }),
                    _ => {}
                }
            }
        }
        _ if rule.scalars_equal(expected, got) => {}
        _ => out.push(Mismatch {
            pointer: ptr,
            expected: Some(expected.clone()),
            got: Some(got.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(m: &[Mismatch]) -> Vec<String> {
        m.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn equal_values_have_no_diff() {
        let v = json!({"a": [1, {"b": "x"}], "c": null});
        assert!(diff(&v, &v, &Tolerances::exact()).is_empty());
    }

    #[test]
    fn each_differing_field_by_pointer() {
        let expected = json!({
            "vendor": "ACME", "total": 12.5,
            "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}],
            "a/b": 1, "note": "x"
        });
        let got = json!({
            "vendor": "ACME", "total": 12.0,
            "lines": [{"sku": "A", "qty": 3}],
            "a/b": "1", "extra": true
        });
        assert_eq!(
            lines(&diff(&expected, &got, &Tolerances::exact())),
            [
                "/total: expected 12.5, got 12.0",
                "/lines/0/qty: expected 1, got 3",
                r#"/lines/1: missing, expected {"sku":"B","qty":2}"#,
                r#"/a~1b: expected 1, got "1""#,
                r#"/note: missing, expected "x""#,
                "/extra: unexpected true",
            ]
        );
    }

    #[test]
    fn tolerances_apply_per_field() {
        let tol = Tolerances::from_json(&json!({
            "/total": {"abs": 0.01},
            "/vendor": {"case_insensitive": true},
            "/lines/*/desc": {"trim": true, "case_insensitive": true},
            "/generated_at": {"ignore": true}
        }))
        .unwrap();
        let expected = json!({"total": 10.0, "vendor": "ACME Corp", "lines": [{"desc": "Widget"}], "generated_at": "x"});
        let got = json!({"total": 10.004, "vendor": "Acme corp", "lines": [{"desc": " WIDGET "}]});
        assert!(diff(&expected, &got, &tol).is_empty());
        let got = json!({"total": 10.02, "vendor": "Acme", "lines": [{"desc": "Gadget"}], "generated_at": 5});
        assert_eq!(
            lines(&diff(&expected, &got, &tol)),
            [
                "/total: expected 10.0, got 10.02",
                r#"/vendor: expected "ACME Corp", got "Acme""#,
                r#"/lines/0/desc: expected "Widget", got "Gadget""#,
            ]
        );
    }

    #[test]
    fn a_root_of_another_type_is_one_mismatch() {
        assert_eq!(
            lines(&diff(&json!({"a": 1}), &json!([1]), &Tolerances::exact())),
            [r#"(root): expected {"a":1}, got [1]"#]
        );
    }
}
