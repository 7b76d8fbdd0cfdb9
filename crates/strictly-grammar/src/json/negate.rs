//! `not`, as a union of the ways a value can fail the inner schema.
//!
//! A value fails a single-type schema by being of another type or by
//! breaking one of its keywords: `not {minimum: 5}` is "not a number, or a
//! number below 5". Each broken keyword is itself expressible (a complement
//! bound, `not_multiple_of`, a difference of string DFAs, a forbidden or
//! differently-valued property). Keywords whose violation is not
//! expressible (`uniqueItems`, extra keys under `additionalProperties`) make
//! the negation a compile error.

use serde_json::Value;

use super::ir::{ArrSpec, ObjSpec, Schema, StrSpec, decimal_of, value_tag};
use super::numbers::{Bound, NumSpec};
use super::parse::Ctx;
use crate::error::CompileError;

impl Ctx<'_> {
    /// The schema admitting exactly what `s` rejects.
    pub fn negate(&mut self, s: Schema, ptr: &str) -> Result<Schema, CompileError> {
        match s {
            Schema::Any => Ok(Schema::never(
                "not",
                ptr,
                "`not` of a schema that admits everything",
            )),
            Schema::Never(_) => Ok(Schema::Any),
            Schema::Ref(r) => {
                if self.depth > 24 {
                    return Err(CompileError::too_complex(
                        "not",
                        ptr,
                        "references nested too deeply",
                    ));
                }
                self.depth += 1;
                let d = self.def_schema(r);
                let out = d.and_then(|d| self.negate(d, ptr));
                self.depth -= 1;
                out
            }
            Schema::AnyOf(xs) => {
                let mut acc = Schema::Any;
                for x in xs {
                    let n = self.negate(x, ptr)?;
                    acc = self.intersect(acc, n, ptr)?;
                }
                Ok(acc)
            }
            Schema::Enum(vs) => negate_enum(vs, ptr),
            typed => {
                let tag = typed.type_tag().unwrap_or(255);
                let mut alts: Vec<Schema> = Schema::all_types()
                    .into_iter()
                    .filter(|t| t.type_tag() != Some(tag))
                    .collect();
                alts.extend(self.violations(typed, ptr)?);
                Ok(Schema::any_of(alts))
            }
        }
    }

    /// Values of the schema's own type that break one of its keywords.
    fn violations(&mut self, s: Schema, ptr: &str) -> Result<Vec<Schema>, CompileError> {
        let mut out = Vec::new();
        match s {
            Schema::Null | Schema::Bool => {}
            Schema::Number(n) => {
                let base = NumSpec {
                    integer: n.integer,
                    ..Default::default()
                };
                let num = |spec: NumSpec| Schema::Number(Box::new(spec));
                if n.integer {
                    // Numbers with a fraction are not integers.
                    out.push(num(NumSpec {
                        not_multiple_of: vec![super::decimal::Decimal::from_i64(1)],
                        ..Default::default()
                    }));
                }
                if let Some(b) = &n.min {
                    out.push(num(NumSpec {
                        max: Some(Bound {
                            value: b.value.clone(),
                            exclusive: !b.exclusive,
                        }),
                        ..base.clone()
                    }));
                }
                if let Some(b) = &n.max {
                    out.push(num(NumSpec {
                        min: Some(Bound {
                            value: b.value.clone(),
                            exclusive: !b.exclusive,
                        }),
                        ..base.clone()
                    }));
                }
                for m in &n.multiple_of {
                    out.push(num(NumSpec {
                        not_multiple_of: vec![m.clone()],
                        ..base.clone()
                    }));
                }
                for m in &n.not_multiple_of {
                    out.push(num(NumSpec {
                        multiple_of: vec![m.clone()],
                        ..base.clone()
                    }));
                }
                if !n.excluded.is_empty() {
                    let vals: Vec<Value> = n
                        .excluded
                        .iter()
                        .filter_map(|d| serde_json::from_str::<Value>(&d.to_plain_string()).ok())
                        .collect();
                    out.push(Schema::Enum(vals));
                }
            }
            Schema::String(st) => {
                let s = |spec: StrSpec| Schema::String(Box::new(spec));
                if st.min > 0 {
                    out.push(s(StrSpec {
                        max: Some(st.min - 1),
                        ..Default::default()
                    }));
                }
                if let Some(m) = st.max {
                    out.push(s(StrSpec {
                        min: m.saturating_add(1),
                        ..Default::default()
                    }));
                }
                for p in &st.patterns {
                    out.push(s(StrSpec {
                        not_patterns: vec![p.clone()],
                        ..Default::default()
                    }));
                }
                for p in &st.not_patterns {
                    out.push(s(StrSpec {
                        patterns: vec![p.clone()],
                        ..Default::default()
                    }));
                }
                for f in &st.formats {
                    out.push(s(StrSpec {
                        not_formats: vec![f.clone()],
                        ..Default::default()
                    }));
                }
                for f in &st.not_formats {
                    out.push(s(StrSpec {
                        formats: vec![f.clone()],
                        ..Default::default()
                    }));
                }
                if !st.excluded.is_empty() {
                    out.push(Schema::Enum(
                        st.excluded
                            .iter()
                            .map(|x| Value::String(x.clone()))
                            .collect(),
                    ));
                }
            }
            Schema::Array(a) => self.array_violations(*a, ptr, &mut out)?,
            Schema::Object(o) => self.object_violations(*o, ptr, &mut out)?,
            _ => {
                return Err(CompileError::unsupported(
                    "not",
                    ptr,
                    "negation of this schema",
                ));
            }
        }
        Ok(out)
    }

    fn array_violations(
        &mut self,
        a: ArrSpec,
        ptr: &str,
        out: &mut Vec<Schema>,
    ) -> Result<(), CompileError> {
        let arr = |spec: ArrSpec| Schema::Array(Box::new(spec));
        if a.unique {
            return Err(CompileError::unsupported(
                "not",
                ptr,
                "negation of uniqueItems",
            ));
        }
        if a.min > 0 {
            out.push(arr(ArrSpec {
                max: Some(a.min - 1),
                ..Default::default()
            }));
        }
        if let Some(m) = a.max {
            out.push(arr(ArrSpec {
                min: m.saturating_add(1),
                ..Default::default()
            }));
        }
        for (i, p) in a.prefix.iter().enumerate() {
            if *p == Schema::Any {
                continue;
            }
            let np = self.negate(p.clone(), ptr)?;
            let mut prefix = vec![Schema::Any; i];
            prefix.push(np);
            out.push(arr(ArrSpec {
                prefix,
                min: i as u32 + 1,
                ..Default::default()
            }));
        }
        if a.items != Schema::Any {
            let ni = self.negate(a.items.clone(), ptr)?;
            if a.prefix.is_empty() {
                out.push(arr(ArrSpec {
                    contains: vec![(ni, 1, None)],
                    ..Default::default()
                }));
            } else {
                return Err(CompileError::unsupported(
                    "not",
                    ptr,
                    "negation of items after a tuple prefix",
                ));
            }
        }
        for (c, lo, hi) in a.contains {
            if hi.is_some() || lo > 1 {
                return Err(CompileError::unsupported(
                    "not",
                    ptr,
                    "negation of minContains/maxContains",
                ));
            }
            if lo == 1 {
                let nc = self.negate(c, ptr)?;
                out.push(arr(ArrSpec {
                    items: nc,
                    ..Default::default()
                }));
            }
        }
        Ok(())
    }

    fn object_violations(
        &mut self,
        o: ObjSpec,
        ptr: &str,
        out: &mut Vec<Schema>,
    ) -> Result<(), CompileError> {
        let obj = |spec: ObjSpec| Schema::Object(Box::new(spec));
        if !o.pattern_props.is_empty()
            || !o.additional.is_empty()
            || o.names.is_some()
            || o.names_enum.is_some()
        {
            return Err(CompileError::unsupported(
                "not",
                ptr,
                "negation of patternProperties, additionalProperties or propertyNames",
            ));
        }
        for r in &o.required {
            out.push(obj(ObjSpec {
                props: vec![(r.clone(), Schema::never("not", ptr, "absent"))],
                ..Default::default()
            }));
        }
        for (k, s) in o.props {
            if s == Schema::Any {
                continue;
            }
            let ns = self.negate(s, ptr)?;
            if ns.is_never() {
                continue;
            }
            out.push(obj(ObjSpec {
                props: vec![(k.clone(), ns)],
                required: vec![k],
                ..Default::default()
            }));
        }
        if o.min > 0 {
            out.push(obj(ObjSpec {
                max: Some(o.min - 1),
                ..Default::default()
            }));
        }
        if let Some(m) = o.max {
            out.push(obj(ObjSpec {
                min: m.saturating_add(1),
                ..Default::default()
            }));
        }
        Ok(())
    }
}

/// Everything except the listed values.
fn negate_enum(vs: Vec<Value>, ptr: &str) -> Result<Schema, CompileError> {
    let has = |tag: u8| vs.iter().any(|v| value_tag(v) == tag);
    let mut alts = Vec::new();
    if !has(0) {
        alts.push(Schema::Null);
    }
    let t = vs.contains(&Value::Bool(true));
    let f = vs.contains(&Value::Bool(false));
    match (t, f) {
        (false, false) => alts.push(Schema::Bool),
        (true, false) => alts.push(Schema::Enum(vec![Value::Bool(false)])),
        (false, true) => alts.push(Schema::Enum(vec![Value::Bool(true)])),
        (true, true) => {}
    }
    alts.push(Schema::Number(Box::new(NumSpec {
        excluded: vs.iter().filter_map(decimal_of).collect(),
        ..Default::default()
    })));
    alts.push(Schema::String(Box::new(StrSpec {
        excluded: vs
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        ..Default::default()
    })));
    for (tag, ty) in [(4u8, "array"), (5u8, "object")] {
        if has(tag) {
            return Err(CompileError::unsupported(
                "not",
                ptr,
                format!("negation of an enum containing an {ty}"),
            ));
        }
    }
    alts.push(Schema::Array(Box::default()));
    alts.push(Schema::Object(Box::default()));
    Ok(Schema::any_of(alts))
}
