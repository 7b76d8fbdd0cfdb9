//! Intersection of schemas (`allOf`, siblings of `$ref`), `oneOf` made
//! disjoint, and `propertyNames`.

use serde_json::Value;

use super::ir::{ArrSpec, ObjSpec, Schema, StrSpec, merge_numbers, merge_strings};
use super::parse::Ctx;
use crate::error::CompileError;

/// Largest union produced by distributing an intersection over `anyOf`.
const MAX_ALTERNATIVES: usize = 512;
/// Deepest chain of references expanded inside one intersection.
const MAX_REF_DEPTH: usize = 24;
/// From this depth on, an intersection with a reference becomes a lazy
/// definition (compiled once, on first use) instead of being expanded in
/// place: recursive schemas intersected with themselves (`allOf` of
/// definitions whose properties refer back) otherwise expand every branch
/// to the full depth, exponentially.
pub(crate) const LAZY_DEPTH: usize = 3;

impl Ctx<'_> {
    /// `a ∩ b` for the grammar compiler, which calls it while compiling
    /// the members of arrays and objects: every reference met stays a lazy
    /// definition, compiled once. Expanded in place, a member that meets a
    /// schema enclosing it (`contains` or a pattern property referring to
    /// the root) would yield the enclosing schema again, and compiling it
    /// would recurse without end.
    pub fn intersect_member(
        &mut self,
        a: Schema,
        b: Schema,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let saved = std::mem::replace(&mut self.depth, LAZY_DEPTH);
        let out = self.intersect(a, b, ptr);
        self.depth = saved;
        out
    }

    /// The schema admitting what both `a` and `b` admit.
    pub fn intersect(&mut self, a: Schema, b: Schema, ptr: &str) -> Result<Schema, CompileError> {
        self.tick("allOf", ptr)?;
        match (a, b) {
            (Schema::Ref(x), Schema::Ref(y)) if x == y => Ok(Schema::Ref(x)),
            (Schema::Any, x) | (x, Schema::Any) => Ok(x),
            (n @ Schema::Never(_), _) | (_, n @ Schema::Never(_)) => Ok(n),
            // Operand order is kept: the left schema's properties come first.
            (Schema::Ref(r), x) => self.intersect_ref(r, x, true, ptr),
            (x, Schema::Ref(r)) => self.intersect_ref(r, x, false, ptr),
            (Schema::AnyOf(xs), y) => self.distribute(xs, y, true, ptr),
            (y, Schema::AnyOf(xs)) => self.distribute(xs, y, false, ptr),
            (Schema::Enum(vs), y) | (y, Schema::Enum(vs)) => {
                let kept = self.filter_values(&y, vs, ptr)?;
                Ok(if kept.is_empty() {
                    Schema::never("enum", ptr, "no listed value satisfies the other keywords")
                } else {
                    Schema::Enum(kept)
                })
            }
            (Schema::Null, Schema::Null) => Ok(Schema::Null),
            (Schema::Bool, Schema::Bool) => Ok(Schema::Bool),
            (Schema::Number(a), Schema::Number(b)) => Ok(match merge_numbers(&a, &b) {
                Some(n) => Schema::Number(Box::new(n)),
                None => Schema::never("minimum", ptr, "the numeric bounds exclude every number"),
            }),
            (Schema::String(a), Schema::String(b)) => Ok(match merge_strings(&a, &b) {
                Some(s) => Schema::String(Box::new(s)),
                None => Schema::never("minLength", ptr, "the length bounds exclude every string"),
            }),
            (Schema::Array(a), Schema::Array(b)) => self.merge_arrays(*a, *b, ptr),
            (Schema::Object(a), Schema::Object(b)) => self.merge_objects(*a, *b, ptr),
            _ => Ok(Schema::never("type", ptr, "the types do not overlap")),
        }
    }

    fn intersect_ref(
        &mut self,
        r: usize,
        x: Schema,
        ref_first: bool,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        if self.depth >= LAZY_DEPTH {
            return Ok(Schema::Ref(self.lazy_intersection(r, x, ref_first)));
        }
        self.depth += 1;
        let out = match self.def_schema(r) {
            Ok(d) if ref_first => self.intersect(d, x, ptr),
            Ok(d) => self.intersect(x, d, ptr),
            Err(e) => Err(e),
        };
        self.depth -= 1;
        out
    }

    /// `(x1 | x2 ...) ∩ y` as `(x1 ∩ y) | (x2 ∩ y) ...`.
    fn distribute(
        &mut self,
        xs: Vec<Schema>,
        y: Schema,
        xs_first: bool,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let ys = match y {
            Schema::AnyOf(ys) => ys,
            y => vec![y],
        };
        if xs.len() * ys.len() > MAX_ALTERNATIVES {
            return Err(CompileError::too_complex(
                "anyOf",
                ptr,
                "intersection of large unions",
            ));
        }
        let mut out = Vec::new();
        for x in &xs {
            for y in &ys {
                let (a, b) = if xs_first {
                    (x.clone(), y.clone())
                } else {
                    (y.clone(), x.clone())
                };
                out.push(self.intersect(a, b, ptr)?);
            }
        }
        Ok(Schema::any_of(out))
    }

    fn merge_arrays(&mut self, a: ArrSpec, b: ArrSpec, ptr: &str) -> Result<Schema, CompileError> {
        let n = a.prefix.len().max(b.prefix.len());
        let mut prefix = Vec::with_capacity(n);
        for i in 0..n {
            let x = a.prefix.get(i).cloned().unwrap_or_else(|| a.items.clone());
            let y = b.prefix.get(i).cloned().unwrap_or_else(|| b.items.clone());
            prefix.push(self.intersect(x, y, ptr)?);
        }
        let items = self.intersect(a.items, b.items, ptr)?;
        let mut contains = a.contains;
        contains.extend(b.contains);
        let max = match (a.max, b.max) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => Some(x.min(y)),
        };
        let min = a.min.max(b.min);
        if max.is_some_and(|m| m < min) {
            return Ok(Schema::never(
                "minItems",
                ptr,
                "the item count bounds exclude every array",
            ));
        }
        Ok(Schema::Array(Box::new(ArrSpec {
            prefix,
            items,
            min,
            max,
            contains,
            unique: a.unique || b.unique,
        })))
    }

    fn merge_objects(&mut self, a: ObjSpec, b: ObjSpec, ptr: &str) -> Result<Schema, CompileError> {
        let mut out = a;
        for (k, s) in b.props {
            match out.props.iter().position(|(n, _)| *n == k) {
                Some(i) => {
                    let cur = std::mem::replace(&mut out.props[i].1, Schema::Any);
                    out.props[i].1 = self.intersect(cur, s, ptr)?;
                }
                None => out.props.push((k, s)),
            }
        }
        out.pattern_props.extend(b.pattern_props);
        out.additional.extend(b.additional);
        // Other keys allowed in words anywhere keep them allowed.
        out.listed_only = match (out.listed_only, b.listed_only) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), _) | (_, Some(true)) => Some(true),
            (None, None) => None,
        };
        for r in b.required {
            if !out.required.contains(&r) {
                out.required.push(r);
            }
        }
        out.names = match (out.names.take(), b.names) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => match merge_strings(&x, &y) {
                Some(s) => Some(Box::new(s)),
                None => {
                    return Ok(Schema::never(
                        "propertyNames",
                        ptr,
                        "no key satisfies propertyNames",
                    ));
                }
            },
        };
        out.names_enum = match (out.names_enum.take(), b.names_enum) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => Some(x.into_iter().filter(|k| y.contains(k)).collect()),
        };
        out.min = out.min.max(b.min);
        out.max = match (out.max, b.max) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => Some(x.min(y)),
        };
        if out.max.is_some_and(|m| m < out.min) {
            return Ok(Schema::never(
                "minProperties",
                ptr,
                "the property count bounds exclude every object",
            ));
        }
        Ok(Schema::Object(Box::new(out)))
    }

    /// The values that `s` admits, in order, without duplicates.
    pub fn filter_values(
        &mut self,
        s: &Schema,
        values: Vec<Value>,
        ptr: &str,
    ) -> Result<Vec<Value>, CompileError> {
        let mut keep = Vec::with_capacity(values.len());
        {
            let mut seen = std::collections::HashSet::with_capacity(values.len());
            for v in &values {
                self.tick("enum", ptr)?;
                keep.push(
                    self.admits(s, v, ptr)? && seen.insert(super::validate::Canonical::of(v)),
                );
            }
        }
        Ok(values
            .into_iter()
            .zip(keep)
            .filter_map(|(v, k)| k.then_some(v))
            .collect())
    }

    /// `oneOf`: a union once the alternatives are shown or made disjoint.
    pub fn one_of(&mut self, alts: Vec<Schema>, ptr: &str) -> Result<Schema, CompileError> {
        let alts: Vec<Schema> = alts.into_iter().filter(|a| !a.is_never()).collect();
        if alts.len() <= 1 {
            return Ok(Schema::any_of(alts));
        }
        let mut disjoint = true;
        'outer: for i in 0..alts.len() {
            for j in i + 1..alts.len() {
                if !self.disjoint(&alts[i], &alts[j], ptr)? {
                    disjoint = false;
                    break 'outer;
                }
            }
        }
        if disjoint {
            return Ok(Schema::any_of(alts));
        }
        // Exactly one: each alternative minus all the others.
        if alts.len() <= 6 {
            let mut out = Vec::new();
            let mut ok = true;
            for i in 0..alts.len() {
                let mut s = alts[i].clone();
                for (j, other) in alts.iter().enumerate() {
                    if i == j {
                        continue;
                    }
                    match self.negate(other.clone(), ptr) {
                        Ok(n) => s = self.intersect(s, n, ptr)?,
                        Err(_) => {
                            ok = false;
                            break;
                        }
                    }
                }
                if !ok {
                    break;
                }
                out.push(s);
            }
            if ok {
                return Ok(Schema::any_of(out));
            }
        }
        Err(CompileError::unsupported(
            "oneOf",
            ptr,
            "alternatives that may overlap",
        ))
    }

    /// Whether no value satisfies both (`false` when unsure).
    pub fn disjoint(&mut self, a: &Schema, b: &Schema, ptr: &str) -> Result<bool, CompileError> {
        if self.depth > MAX_REF_DEPTH {
            return Ok(false);
        }
        let resolve = |ctx: &mut Self, s: &Schema| -> Result<Schema, CompileError> {
            match s {
                Schema::Ref(r) => ctx.def_schema(*r),
                s => Ok(s.clone()),
            }
        };
        let a = resolve(self, a)?;
        let b = resolve(self, b)?;
        self.depth += 1;
        let r = self.disjoint_resolved(&a, &b, ptr);
        self.depth -= 1;
        r
    }

    fn disjoint_resolved(
        &mut self,
        a: &Schema,
        b: &Schema,
        ptr: &str,
    ) -> Result<bool, CompileError> {
        match (a, b) {
            (Schema::Never(_), _) | (_, Schema::Never(_)) => Ok(true),
            (Schema::Any, _) | (_, Schema::Any) => Ok(false),
            (Schema::Ref(_), _) | (_, Schema::Ref(_)) => self.disjoint(a, b, ptr),
            (Schema::AnyOf(xs), y) | (y, Schema::AnyOf(xs)) => {
                for x in xs.clone() {
                    if !self.disjoint(&x, y, ptr)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            (Schema::Enum(vs), y) | (y, Schema::Enum(vs)) => {
                for v in vs.clone() {
                    if self.admits(y, &v, ptr)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            _ => {
                if a.type_tag() != b.type_tag() {
                    return Ok(true);
                }
                match (a, b) {
                    (Schema::Number(x), Schema::Number(y)) => {
                        Ok(super::ir::merge_numbers(x, y).is_none())
                    }
                    (Schema::String(x), Schema::String(y)) => self.strings_disjoint(x, y),
                    (Schema::Object(x), Schema::Object(y)) => self.objects_disjoint(x, y, ptr),
                    (Schema::Array(x), Schema::Array(y)) => {
                        let lo = x.min.max(y.min);
                        let hi = match (x.max, y.max) {
                            (None, m) | (m, None) => m,
                            (Some(p), Some(q)) => Some(p.min(q)),
                        };
                        if hi.is_some_and(|h| h < lo) {
                            return Ok(true);
                        }
                        // Disjoint first items when both need one.
                        if lo >= 1 {
                            let fx = x.prefix.first().cloned().unwrap_or_else(|| x.items.clone());
                            let fy = y.prefix.first().cloned().unwrap_or_else(|| y.items.clone());
                            return self.disjoint(&fx, &fy, ptr);
                        }
                        Ok(false)
                    }
                    _ => Ok(false),
                }
            }
        }
    }

    fn objects_disjoint(
        &mut self,
        x: &ObjSpec,
        y: &ObjSpec,
        ptr: &str,
    ) -> Result<bool, CompileError> {
        // A key required by one and forbidden or incompatible in the other.
        for (p, q) in [(x, y), (y, x)] {
            for r in &p.required {
                let ps = p
                    .props
                    .iter()
                    .find(|(k, _)| k == r)
                    .map(|(_, s)| s.clone())
                    .unwrap_or(Schema::Any);
                let qs = match q.props.iter().find(|(k, _)| k == r) {
                    Some((_, s)) => s.clone(),
                    None => {
                        let forbidden = q.pattern_props.is_empty()
                            && q.additional.iter().any(|a| {
                                a.schema.is_never() && !a.names.contains(r) && a.patterns.is_empty()
                            });
                        if forbidden {
                            return Ok(true);
                        }
                        continue;
                    }
                };
                // `r` is present (required by p) and must satisfy both.
                if self.disjoint(&ps, &qs, ptr)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn strings_disjoint(&mut self, x: &StrSpec, y: &StrSpec) -> Result<bool, CompileError> {
        let Some(m) = merge_strings(x, y) else {
            return Ok(true);
        };
        match super::strings::string_dfa(self, &m) {
            Ok((d, _, _)) => Ok(d.is_empty_language()),
            Err(_) => Ok(false),
        }
    }

    /// Applies `propertyNames` (only its string part matters for keys).
    pub fn set_property_names(
        &mut self,
        spec: &mut ObjSpec,
        s: Schema,
        ptr: &str,
    ) -> Result<(), CompileError> {
        let s = match s {
            Schema::Ref(r) => self.def_schema(r)?,
            s => s,
        };
        let branches = match s {
            Schema::AnyOf(v) => v,
            s => vec![s],
        };
        let mut strs: Vec<StrSpec> = Vec::new();
        let mut names: Option<Vec<String>> = None;
        let mut any = false;
        for b in branches {
            match b {
                Schema::Any => any = true,
                Schema::String(st) => strs.push(*st),
                Schema::Enum(vs) => names
                    .get_or_insert_with(Vec::new)
                    .extend(vs.iter().filter_map(|v| v.as_str().map(String::from))),
                Schema::Never(_)
                | Schema::Null
                | Schema::Bool
                | Schema::Number(_)
                | Schema::Array(_)
                | Schema::Object(_) => {}
                _ => {
                    return Err(CompileError::unsupported(
                        "propertyNames",
                        ptr,
                        "this form of propertyNames",
                    ));
                }
            }
        }
        if any {
            return Ok(());
        }
        match (strs.len(), names) {
            (0, Some(n)) => spec.names_enum = Some(n),
            (0, None) => spec.names_enum = Some(Vec::new()),
            (1, None) => {
                let st = strs.pop().unwrap_or_default();
                if st != StrSpec::default() {
                    spec.names = Some(Box::new(st));
                }
            }
            _ => {
                return Err(CompileError::unsupported(
                    "propertyNames",
                    ptr,
                    "a union of key constraints",
                ));
            }
        }
        Ok(())
    }
}
