//! Checking a JSON value against the intermediate form: used to keep only
//! the `enum`/`const` values that satisfy their sibling keywords, and to
//! prove `oneOf` alternatives disjoint.

use serde_json::Value;

use super::ir::{Schema, decimal_of};
use super::parse::Ctx;
use crate::error::CompileError;

/// JSON equality as JSON Schema defines it (`1 == 1.0`).
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => decimal_of(a) == decimal_of(b),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A value's identity under [`json_equal`], hashable, so that a long
/// `enum` is deduplicated in linear time.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) enum Canonical<'a> {
    Null,
    Bool(bool),
    Number(Result<super::decimal::Decimal, String>),
    String(&'a str),
    Array(Vec<Canonical<'a>>),
    /// Members sorted by key.
    Object(Vec<(&'a str, Canonical<'a>)>),
}

impl<'a> Canonical<'a> {
    pub(crate) fn of(v: &'a Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Number(decimal_of(v).ok_or_else(|| n.to_string())),
            Value::String(s) => Self::String(s),
            Value::Array(a) => Self::Array(a.iter().map(Self::of).collect()),
            Value::Object(o) => {
                let mut members: Vec<_> =
                    o.iter().map(|(k, v)| (k.as_str(), Self::of(v))).collect();
                members.sort_by(|a, b| a.0.cmp(b.0));
                Self::Object(members)
            }
        }
    }
}

/// Whether a key matches a pattern (search semantics), via its DFA.
fn pattern_matches(ctx: &mut Ctx, pattern: &str, s: &str) -> Result<bool, CompileError> {
    let d = super::strings::pattern_dfa(ctx, pattern)?;
    Ok(d.matches(&super::strings::encode_quoted(s)))
}

impl Ctx<'_> {
    /// Whether `v` satisfies `s`.
    pub fn admits(&mut self, s: &Schema, v: &Value, ptr: &str) -> Result<bool, CompileError> {
        Ok(match s {
            Schema::Any => true,
            Schema::Never(_) => false,
            Schema::Ref(r) => {
                if self.depth > 64 {
                    return Err(CompileError::too_complex(
                        "$ref",
                        ptr,
                        "value nested too deeply",
                    ));
                }
                let d = self.def_schema(*r)?;
                self.depth += 1;
                let out = self.admits(&d, v, ptr);
                self.depth -= 1;
                out?
            }
            Schema::AnyOf(xs) => {
                for x in xs {
                    if self.admits(x, v, ptr)? {
                        return Ok(true);
                    }
                }
                false
            }
            Schema::Enum(vs) => vs.iter().any(|x| json_equal(x, v)),
            Schema::Null => v.is_null(),
            Schema::Bool => v.is_boolean(),
            Schema::Number(n) => match decimal_of(v) {
                Some(d) => n.admits(&d).unwrap_or(false),
                None => false,
            },
            Schema::String(st) => {
                let Value::String(x) = v else {
                    return Ok(false);
                };
                let len = x.chars().count() as u32;
                if len < st.min || st.max.is_some_and(|m| len > m) || st.excluded.contains(x) {
                    return Ok(false);
                }
                let (d, lo, hi) = super::strings::string_dfa(self, st)?;
                d.matches(&super::strings::encode_quoted(x)) && lo <= len && len <= hi
            }
            Schema::Array(a) => {
                let Value::Array(items) = v else {
                    return Ok(false);
                };
                let n = items.len() as u32;
                if n < a.min || a.max.is_some_and(|m| n > m) {
                    return Ok(false);
                }
                for (i, it) in items.iter().enumerate() {
                    let sch = a.prefix.get(i).unwrap_or(&a.items).clone();
                    if !self.admits(&sch, it, ptr)? {
                        return Ok(false);
                    }
                }
                for (c, lo, hi) in &a.contains {
                    let mut k = 0;
                    for it in items {
                        if self.admits(c, it, ptr)? {
                            k += 1;
                        }
                    }
                    if k < *lo || hi.is_some_and(|h| k > h) {
                        return Ok(false);
                    }
                }
                if a.unique {
                    for i in 0..items.len() {
                        for j in i + 1..items.len() {
                            if json_equal(&items[i], &items[j]) {
                                return Ok(false);
                            }
                        }
                    }
                }
                true
            }
            Schema::Object(o) => {
                let Value::Object(m) = v else {
                    return Ok(false);
                };
                let n = m.len() as u32;
                if n < o.min || o.max.is_some_and(|x| n > x) {
                    return Ok(false);
                }
                if o.required.iter().any(|r| !m.contains_key(r)) {
                    return Ok(false);
                }
                for (k, x) in m {
                    if let Some(names) = &o.names_enum {
                        if !names.contains(k) {
                            return Ok(false);
                        }
                    }
                    if let Some(ns) = &o.names {
                        if !self.admits(
                            &Schema::String(ns.clone()),
                            &Value::String(k.clone()),
                            ptr,
                        )? {
                            return Ok(false);
                        }
                    }
                    if let Some((_, s)) = o.props.iter().find(|(p, _)| p == k) {
                        if !self.admits(&s.clone(), x, ptr)? {
                            return Ok(false);
                        }
                    }
                    for (p, s) in o.pattern_props.clone() {
                        if pattern_matches(self, &p, k)? && !self.admits(&s, x, ptr)? {
                            return Ok(false);
                        }
                    }
                    for rule in o.additional.clone() {
                        if rule.names.contains(k) {
                            continue;
                        }
                        let mut matched = false;
                        for p in &rule.patterns {
                            if pattern_matches(self, p, k)? {
                                matched = true;
                                break;
                            }
                        }
                        if !matched && !self.admits(&rule.schema, x, ptr)? {
                            return Ok(false);
                        }
                    }
                }
                true
            }
        })
    }
}
