//! The intermediate form of a schema: one variant per JSON type, plus
//! unions and references. `allOf`, sibling keywords and `$ref` with siblings
//! are merged into it (intersection); `not` and `if`/`then`/`else` are
//! rewritten into it (see `negate`). Nothing here depends on the draft.

use serde_json::Value;

use super::decimal::Decimal;
use super::numbers::{Bound, NumSpec};

/// Why a schema admits nothing: the keyword and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Why {
    pub keyword: String,
    pub pointer: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Schema {
    Any,
    Never(Box<Why>),
    Null,
    Bool,
    Number(Box<NumSpec>),
    String(Box<StrSpec>),
    Array(Box<ArrSpec>),
    Object(Box<ObjSpec>),
    /// Exactly these values (already checked against sibling constraints).
    Enum(Vec<Value>),
    /// At least one alternative holds (`oneOf` becomes this once its
    /// alternatives are made disjoint).
    AnyOf(Vec<Schema>),
    /// A definition, compiled once (and possibly recursive).
    Ref(usize),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StrSpec {
    pub min: u32,
    pub max: Option<u32>,
    pub patterns: Vec<String>,
    pub not_patterns: Vec<String>,
    pub formats: Vec<String>,
    pub not_formats: Vec<String>,
    pub excluded: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArrSpec {
    pub prefix: Vec<Schema>,
    pub items: Schema,
    pub min: u32,
    pub max: Option<u32>,
    /// `(schema, minContains, maxContains)`.
    pub contains: Vec<(Schema, u32, Option<u32>)>,
    pub unique: bool,
}

impl Default for ArrSpec {
    fn default() -> Self {
        ArrSpec {
            prefix: Vec::new(),
            items: Schema::Any,
            min: 0,
            max: None,
            contains: Vec::new(),
            unique: false,
        }
    }
}

/// `additionalProperties` of one object schema: applies to keys that are
/// none of `names` and match none of `patterns`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AddRule {
    pub names: Vec<String>,
    pub patterns: Vec<String>,
    pub schema: Schema,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ObjSpec {
    /// Listed properties, in schema order.
    pub props: Vec<(String, Schema)>,
    pub pattern_props: Vec<(String, Schema)>,
    pub additional: Vec<AddRule>,
    pub required: Vec<String>,
    /// `propertyNames`, reduced to what matters for strings.
    pub names: Option<Box<StrSpec>>,
    /// Keys that `propertyNames` restricts to a finite set, if it does.
    pub names_enum: Option<Vec<String>>,
    pub min: u32,
    pub max: Option<u32>,
    /// What the schema says of keys besides the listed ones: `Some(true)`
    /// when it lists `properties` and says nothing more (such objects are
    /// generated with the listed keys only, see
    /// `JsonOptions::only_listed_properties`), `Some(false)` when it allows
    /// other keys in words (`additionalProperties`, `patternProperties`,
    /// `unevaluatedProperties`), `None` when it says neither.
    pub listed_only: Option<bool>,
}

impl Schema {
    pub fn never(keyword: &str, pointer: &str, reason: &str) -> Schema {
        Schema::Never(Box::new(Why {
            keyword: keyword.into(),
            pointer: pointer.into(),
            reason: reason.into(),
        }))
    }

    pub fn is_never(&self) -> bool {
        matches!(self, Schema::Never(_))
    }

    /// Every JSON type, each unconstrained: the union equal to `Any`.
    pub fn all_types() -> Vec<Schema> {
        vec![
            Schema::Null,
            Schema::Bool,
            Schema::Number(Box::default()),
            Schema::String(Box::default()),
            Schema::Array(Box::default()),
            Schema::Object(Box::default()),
        ]
    }

    /// A union, flattened, without unsatisfiable members.
    pub fn any_of(alts: Vec<Schema>) -> Schema {
        let mut out = Vec::new();
        let mut first_never = None;
        for a in alts {
            match a {
                Schema::AnyOf(v) => out.extend(v),
                Schema::Never(w) => {
                    first_never.get_or_insert(w);
                }
                Schema::Any => return Schema::Any,
                a => out.push(a),
            }
        }
        match out.len() {
            0 => Schema::Never(first_never.unwrap_or_else(|| {
                Box::new(Why {
                    keyword: "anyOf".into(),
                    pointer: String::new(),
                    reason: "no alternative".into(),
                })
            })),
            1 => out.pop().unwrap_or(Schema::Any),
            _ => Schema::AnyOf(out),
        }
    }

    /// The JSON type tag of a single-type schema.
    pub fn type_tag(&self) -> Option<u8> {
        Some(match self {
            Schema::Null => 0,
            Schema::Bool => 1,
            Schema::Number(_) => 2,
            Schema::String(_) => 3,
            Schema::Array(_) => 4,
            Schema::Object(_) => 5,
            _ => return None,
        })
    }
}

/// The tag of a JSON value's type, matching `Schema::type_tag`.
pub(crate) fn value_tag(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// Tighter of two lower bounds.
pub(crate) fn max_bound(a: Option<Bound>, b: Option<Bound>) -> Option<Bound> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(if x.value > y.value {
            x
        } else if y.value > x.value {
            y
        } else {
            Bound {
                value: x.value,
                exclusive: x.exclusive || y.exclusive,
            }
        }),
    }
}

/// Tighter of two upper bounds.
pub(crate) fn min_bound(a: Option<Bound>, b: Option<Bound>) -> Option<Bound> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(if x.value < y.value {
            x
        } else if y.value < x.value {
            y
        } else {
            Bound {
                value: x.value,
                exclusive: x.exclusive || y.exclusive,
            }
        }),
    }
}

/// Merges two number specs (both must hold); `None` if unsatisfiable.
pub(crate) fn merge_numbers(a: &NumSpec, b: &NumSpec) -> Option<NumSpec> {
    let mut out = NumSpec {
        integer: a.integer || b.integer,
        min: max_bound(a.min.clone(), b.min.clone()),
        max: min_bound(a.max.clone(), b.max.clone()),
        multiple_of: a.multiple_of.clone(),
        not_multiple_of: a.not_multiple_of.clone(),
        excluded: a.excluded.clone(),
    };
    for m in &b.multiple_of {
        if !out.multiple_of.contains(m) {
            out.multiple_of.push(m.clone());
        }
    }
    // Drop divisors implied by others (6 implies 3 and 2).
    let ms = out.multiple_of.clone();
    out.multiple_of.retain(|m| {
        !ms.iter()
            .any(|o| o != m && o.is_multiple_of(m) == Some(true))
    });
    for m in &b.not_multiple_of {
        if !out.not_multiple_of.contains(m) {
            out.not_multiple_of.push(m.clone());
        }
    }
    for v in &b.excluded {
        if !out.excluded.contains(v) {
            out.excluded.push(v.clone());
        }
    }
    number_satisfiable(&out).then_some(out)
}

/// Whether some number satisfies the bounds (conservatively true with divisors).
pub(crate) fn number_satisfiable(n: &NumSpec) -> bool {
    if let (Some(lo), Some(hi)) = (&n.min, &n.max) {
        if lo.value > hi.value || (lo.value == hi.value && (lo.exclusive || hi.exclusive)) {
            return false;
        }
        if n.integer {
            let lo_i = if lo.exclusive {
                lo.value.floor().map(|v| v + 1)
            } else {
                lo.value.ceil()
            };
            let hi_i = if hi.exclusive {
                hi.value.ceil().map(|v| v - 1)
            } else {
                hi.value.floor()
            };
            if let (Some(l), Some(h)) = (lo_i, hi_i) {
                if l > h {
                    return false;
                }
            }
        }
    }
    true
}

pub(crate) fn merge_strings(a: &StrSpec, b: &StrSpec) -> Option<StrSpec> {
    let mut out = a.clone();
    out.min = a.min.max(b.min);
    out.max = match (a.max, b.max) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(x.min(y)),
    };
    for (dst, src) in [
        (&mut out.patterns, &b.patterns),
        (&mut out.not_patterns, &b.not_patterns),
        (&mut out.formats, &b.formats),
        (&mut out.not_formats, &b.not_formats),
        (&mut out.excluded, &b.excluded),
    ] {
        for p in src {
            if !dst.contains(p) {
                dst.push(p.clone());
            }
        }
    }
    if out.max.is_some_and(|m| m < out.min) {
        return None;
    }
    Some(out)
}

/// Converts a JSON number to a `Decimal` (`None` for non-numbers).
pub(crate) fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => Decimal::from_json(n),
        _ => None,
    }
}
