//! JSON Schemas built from raw entropy with `arbitrary`: every keyword the
//! compiler knows, nested, with boundary values, so that the mutational
//! loop does not have to discover the keyword names byte by byte.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{Map, Value, json};

const MAX_DEPTH: u32 = 5;

const TYPES: [&str; 7] = [
    "null", "boolean", "integer", "number", "string", "array", "object",
];
const FORMATS: [&str; 14] = [
    "date",
    "time",
    "date-time",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uuid",
    "json-pointer",
    "regex",
    "uri-reference",
    "no-such-format",
];
const PATTERNS: [&str; 12] = [
    "^[0-9]+ years?$",
    "^(a+)+$",
    "^(a|a)*b$",
    "[A-Z]{2,3}",
    "^\\d{4}-\\d{2}$",
    "^(?!x).*$",
    "\\w+@\\w+\\.com",
    "^.{0,3}$",
    "^[^\"\\\\]*$",
    "(ab|cd){2,}",
    "^\\p{L}+$",
    "[",
];
const KEYS: [&str; 8] = ["a", "b", "name", "total", "@id", "", "a b", "ключ"];

/// Boundary-heavy numbers.
fn number(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=9)? {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(1e308),
        3 => json!(0.1),
        4 => json!(i64::MAX),
        5 => json!(u64::MAX),
        6 => json!(-0.0),
        7 => json!(2.5),
        _ => json!(u.int_in_range(-1000i64..=1000)?),
    })
}

fn small(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=5)? {
        0 => json!(-1),
        1 => json!(u64::MAX),
        2 => json!(1.5),
        _ => json!(u.int_in_range(0u32..=12)?),
    })
}

fn literal(u: &mut Unstructured, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=6)? {
        0 => Value::Null,
        1 => json!(bool::arbitrary(u)?),
        2 => number(u)?,
        3 => json!(KEYS[u.choose_index(KEYS.len())?]),
        4 => json!(String::arbitrary(u)?),
        5 if depth < 2 => {
            let n = u.int_in_range(0..=3)?;
            Value::Array(
                (0..n)
                    .map(|_| literal(u, depth + 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ if depth < 2 => {
            let mut o = Map::new();
            for _ in 0..u.int_in_range(0..=2)? {
                o.insert(
                    KEYS[u.choose_index(KEYS.len())?].into(),
                    literal(u, depth + 1)?,
                );
            }
            Value::Object(o)
        }
        _ => Value::Null,
    })
}

/// A schema from `bytes` (any bytes give one).
pub fn schema_from_entropy(bytes: &[u8]) -> Value {
    let mut u = Unstructured::new(bytes);
    let mut defs = Map::new();
    let root = schema(&mut u, 0).unwrap_or(Value::Bool(true));
    let Value::Object(mut root) = root else {
        return root;
    };
    if u.ratio(1, 3).unwrap_or(false) {
        defs.insert(
            "d".into(),
            schema(&mut u, 1).unwrap_or(json!({"type": "string"})),
        );
        root.insert("$defs".into(), Value::Object(defs));
    }
    Value::Object(root)
}

fn schema(u: &mut Unstructured, depth: u32) -> Result<Value> {
    if depth >= MAX_DEPTH || u.is_empty() {
        return Ok(json!({"type": TYPES[u.choose_index(TYPES.len())?]}));
    }
    let mut s = Map::new();
    match u.int_in_range(0..=14)? {
        0 => return Ok(Value::Bool(bool::arbitrary(u)?)),
        1 => {
            let n = u.int_in_range(1..=3)?;
            let types: Vec<Value> = (0..n)
                .map(|_| Ok(json!(TYPES[u.choose_index(TYPES.len())?])))
                .collect::<Result<_>>()?;
            s.insert("type".into(), Value::Array(types));
        }
        2 => {
            let n = u.int_in_range(0..=5)?;
            let values = (0..n).map(|_| literal(u, 0)).collect::<Result<_>>()?;
            s.insert("enum".into(), Value::Array(values));
        }
        3 => {
            s.insert("const".into(), literal(u, 0)?);
        }
        4 => {
            s.insert("type".into(), json!("string"));
            for key in ["minLength", "maxLength"] {
                if bool::arbitrary(u)? {
                    s.insert(key.into(), small(u)?);
                }
            }
            if bool::arbitrary(u)? {
                s.insert(
                    "pattern".into(),
                    json!(PATTERNS[u.choose_index(PATTERNS.len())?]),
                );
            }
            if bool::arbitrary(u)? {
                s.insert(
                    "format".into(),
                    json!(FORMATS[u.choose_index(FORMATS.len())?]),
                );
            }
        }
        5 | 6 => {
            s.insert(
                "type".into(),
                json!(if bool::arbitrary(u)? {
                    "integer"
                } else {
                    "number"
                }),
            );
            for key in [
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "multipleOf",
            ] {
                if u.ratio(1, 3)? {
                    s.insert(key.into(), number(u)?);
                }
            }
        }
        7 | 8 => {
            s.insert("type".into(), json!("object"));
            let mut props = Map::new();
            let mut required = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                let key = KEYS[u.choose_index(KEYS.len())?];
                props.insert(key.into(), schema(u, depth + 1)?);
                if bool::arbitrary(u)? {
                    required.push(json!(key));
                }
            }
            s.insert("properties".into(), Value::Object(props));
            s.insert("required".into(), Value::Array(required));
            match u.int_in_range(0..=3)? {
                0 => {
                    s.insert("additionalProperties".into(), json!(false));
                }
                1 => {
                    s.insert("additionalProperties".into(), schema(u, depth + 1)?);
                }
                2 => {
                    s.insert(
                        "patternProperties".into(),
                        json!({PATTERNS[u.choose_index(PATTERNS.len())?]: schema(u, depth + 1)?}),
                    );
                }
                _ => {}
            }
            for key in ["minProperties", "maxProperties"] {
                if u.ratio(1, 4)? {
                    s.insert(key.into(), small(u)?);
                }
            }
        }
        9 => {
            s.insert("type".into(), json!("array"));
            s.insert("items".into(), schema(u, depth + 1)?);
            if u.ratio(1, 3)? {
                let n = u.int_in_range(1..=2)?;
                let prefix = (0..n)
                    .map(|_| schema(u, depth + 1))
                    .collect::<Result<_>>()?;
                s.insert("prefixItems".into(), Value::Array(prefix));
            }
            for key in ["minItems", "maxItems"] {
                if bool::arbitrary(u)? {
                    s.insert(key.into(), small(u)?);
                }
            }
            if u.ratio(1, 4)? {
                s.insert("uniqueItems".into(), json!(true));
            }
            if u.ratio(1, 4)? {
                s.insert("contains".into(), schema(u, depth + 1)?);
            }
        }
        10..=12 => {
            let key = ["anyOf", "oneOf", "allOf"][u.choose_index(3)?];
            let n = u.int_in_range(1..=3)?;
            let subs = (0..n)
                .map(|_| schema(u, depth + 1))
                .collect::<Result<_>>()?;
            s.insert(key.into(), Value::Array(subs));
        }
        13 => {
            s.insert("not".into(), schema(u, depth + 1)?);
        }
        _ => {
            let target = [
                "#/$defs/d",
                "#",
                "#/properties/a",
                "https://example.com/x.json",
            ][u.choose_index(4)?];
            s.insert("$ref".into(), json!(target));
        }
    }
    if u.ratio(1, 8)? {
        s.insert("if".into(), schema(u, depth + 1)?);
        s.insert("then".into(), schema(u, depth + 1)?);
    }
    Ok(Value::Object(s))
}
