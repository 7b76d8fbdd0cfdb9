//! Per-field tolerances: where an exact match is too strict for a field
//! (a total that may be rounded, a name whose capitalisation varies).
//!
//! `tolerances.json` maps JSON Pointers to rules. A rule applies to the
//! value at its pointer and everything below it; the most specific pointer
//! wins. A `*` segment matches any one key or index:
//!
//! ```json
//! {
//!   "/total":                {"abs": 0.01},
//!   "/tax_rate":             {"rel": 0.001},
//!   "/vendor":               {"case_insensitive": true, "trim": true},
//!   "/lines/*/description":  {"case_insensitive": true},
//!   "/notes":                {"ignore": true}
//! }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// How leniently one field is compared.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Numbers within this absolute difference are equal.
    #[serde(default)]
    pub abs: Option<f64>,
    /// Numbers within this fraction of the larger magnitude are equal.
    #[serde(default)]
    pub rel: Option<f64>,
    /// Strings equal up to letter case are equal.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Strings equal up to surrounding whitespace and runs of inner
    /// whitespace are equal.
    #[serde(default)]
    pub trim: bool,
    /// The field is not compared at all (present or not).
    #[serde(default)]
    pub ignore: bool,
}

impl Rule {
    /// Whether two scalars are equal under this rule.
    pub fn scalars_equal(&self, expected: &Value, got: &Value) -> bool {
        match (expected, got) {
            (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => {
                    let diff = (x - y).abs();
                    diff == 0.0
                        || self
                            .abs
                            .is_some_and(|eps| diff <= eps + f64::EPSILON * x.abs().max(y.abs()))
                        || self.rel.is_some_and(|r| diff <= r * x.abs().max(y.abs()))
                }
                _ => a == b,
            },
            (Value::String(a), Value::String(b)) => self.normalize(a) == self.normalize(b),
            _ => expected == got,
        }
    }

    fn normalize(&self, s: &str) -> String {
        let s = if self.trim {
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            s.to_owned()
        };
        if self.case_insensitive {
            s.to_lowercase()
        } else {
            s
        }
    }
}

/// The rules of one case, by pointer pattern.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tolerances {
    rules: Vec<(Vec<String>, Rule)>,
}

/// A malformed `tolerances.json`.
#[derive(Debug, thiserror::Error)]
#[error("invalid tolerances: {0}")]
pub struct ToleranceError(String);

impl Tolerances {
    /// No tolerance: every field must match exactly.
    pub fn exact() -> Self {
        Self::default()
    }

    /// Parses the `tolerances.json` object.
    pub fn from_json(value: &Value) -> Result<Self, ToleranceError> {
        let map: BTreeMap<String, Rule> =
            serde_json::from_value(value.clone()).map_err(|e| ToleranceError(e.to_string()))?;
        let mut rules = Vec::new();
        for (pointer, rule) in map {
            if !(pointer.is_empty() || pointer.starts_with('/')) {
                return Err(ToleranceError(format!(
                    "{pointer:?} is not a JSON Pointer (it must start with '/')"
                )));
            }
            rules.push((segments(&pointer), rule));
        }
        Ok(Self { rules })
    }

    /// The rule for the value at `pointer`: the matching pattern with the
    /// most segments (exact segments beating `*` at equal length).
    pub fn rule_for(&self, pointer: &str) -> Rule {
        let path = segments(pointer);
        self.rules
            .iter()
            .filter(|(pattern, _)| {
                pattern.len() <= path.len()
                    && pattern.iter().zip(&path).all(|(p, s)| p == "*" || p == s)
            })
            .max_by_key(|(pattern, _)| {
                (pattern.len(), pattern.iter().filter(|p| *p != "*").count())
            })
            .map(|(_, rule)| rule.clone())
            .unwrap_or_default()
    }
}

/// Unescaped segments of a JSON Pointer.
fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_within_eps_and_strings_up_to_case() {
        let abs = Rule {
            abs: Some(0.01),
            ..Rule::default()
        };
        assert!(abs.scalars_equal(&json!(12.5), &json!(12.51)));
        assert!(!abs.scalars_equal(&json!(12.5), &json!(12.52)));
        assert!(abs.scalars_equal(&json!(3), &json!(3.0)));
        let rel = Rule {
            rel: Some(0.01),
            ..Rule::default()
        };
        assert!(rel.scalars_equal(&json!(1000), &json!(1009)));
        assert!(!rel.scalars_equal(&json!(1000), &json!(1011)));
        let exact = Rule::default();
        assert!(exact.scalars_equal(&json!(2), &json!(2.0)));
        assert!(!exact.scalars_equal(&json!("ACME"), &json!("Acme")));
        let ci = Rule {
            case_insensitive: true,
            trim: true,
            ..Rule::default()
        };
        assert!(ci.scalars_equal(&json!("ACME  Corp "), &json!("acme corp")));
        assert!(!ci.scalars_equal(&json!("1"), &json!(1)));
    }

    #[test]
    fn the_most_specific_pattern_wins() {
        let t = Tolerances::from_json(&json!({
            "/lines": {"case_insensitive": true},
            "/lines/*/price": {"abs": 0.5},
            "/lines/0/price": {"abs": 0.01},
            "/notes": {"ignore": true}
        }))
        .unwrap();
        assert_eq!(t.rule_for("/lines/3/price").abs, Some(0.5));
        assert_eq!(t.rule_for("/lines/0/price").abs, Some(0.01));
        assert!(t.rule_for("/lines/2/name").case_insensitive);
        assert!(t.rule_for("/notes/deep").ignore);
        assert_eq!(t.rule_for("/total"), Rule::default());
    }

    #[test]
    fn malformed_files_are_refused() {
        assert!(Tolerances::from_json(&json!({"total": {"abs": 1}})).is_err());
        assert!(Tolerances::from_json(&json!({"/total": {"eps": 1}})).is_err());
        assert!(Tolerances::from_json(&json!([1])).is_err());
    }
}
