//! Reading schema keywords into the intermediate form.

use serde_json::{Map, Value};

use super::JsonOptions;
use super::decimal::Decimal;
use super::ir::{AddRule, ArrSpec, ObjSpec, Schema, StrSpec};
use super::numbers::{Bound, NumSpec};
use super::refs::{RefIndex, percent_decode};
use crate::error::CompileError;
use crate::hash::FastMap;

/// Which keyword semantics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Draft {
    D4,
    D6,
    D7,
    D2019,
    D2020,
}

/// Standard keywords this engine does not implement: refused, never ignored.
const UNSUPPORTED: &[&str] = &[
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$recursiveRef",
    "extends",
    "disallow",
    "divisibleBy",
];

/// A `$ref` target, parsed on first use.
pub(crate) struct Def {
    pub pointer: String,
    pub schema: Option<Schema>,
    pub in_progress: bool,
    /// For an intersection made lazy (see `merge`): the definition, the
    /// other operand and whether the definition comes first.
    pub pending: Option<(usize, Box<Schema>, bool)>,
}

/// Compile work between two looks at the clock.
const TICKS_PER_CLOCK_CHECK: u32 = 256;

/// Compiler context: the document, the definitions and the options.
pub(crate) struct Ctx<'a> {
    pub root: &'a Value,
    pub draft: Draft,
    pub options: JsonOptions,
    pub defs: Vec<Def>,
    def_ids: FastMap<String, usize>,
    refs: RefIndex,
    /// Nesting of merges through references, to stop runaway expansion.
    pub depth: usize,
    /// Lazy intersections already made: (definition, operand, order) → id.
    pub lazy_ids: FastMap<(usize, String, bool), usize>,
    deadline: std::time::Instant,
    ticks: u32,
}

pub(crate) fn ptr_push(ptr: &str, key: &str) -> String {
    format!("{ptr}/{}", key.replace('~', "~0").replace('/', "~1"))
}

impl<'a> Ctx<'a> {
    pub fn new(root: &'a Value, options: JsonOptions) -> Ctx<'a> {
        let draft = match root.get("$schema").and_then(Value::as_str) {
            Some(s) if s.contains("draft-04") || s.contains("draft-03") => Draft::D4,
            Some(s) if s.contains("draft-06") => Draft::D6,
            Some(s) if s.contains("draft-07") => Draft::D7,
            Some(s) if s.contains("2019-09") => Draft::D2019,
            _ => Draft::D2020,
        };
        Ctx {
            root,
            draft,
            options,
            defs: Vec::new(),
            def_ids: FastMap::default(),
            refs: RefIndex::new(root, draft),
            depth: 0,
            lazy_ids: FastMap::default(),
            deadline: std::time::Instant::now() + options.time_budget,
            ticks: 0,
        }
    }

    /// The value at a `#/a/b` pointer.
    pub fn lookup(&self, ptr: &str) -> Option<&'a Value> {
        let p = ptr.strip_prefix('#')?;
        if p.is_empty() {
            return Some(self.root);
        }
        let decoded = percent_decode(p);
        self.root.pointer(&decoded)
    }

    /// Resolves a `$ref` to a definition id.
    pub fn resolve_ref(&mut self, r: &str, at: &str) -> Result<usize, CompileError> {
        let ptr = self.refs.pointer_of(r, at)?;
        if self.lookup(&ptr).is_none() {
            return Err(CompileError::invalid(
                "$ref",
                at,
                format!("\"{r}\" points nowhere"),
            ));
        }
        if let Some(&id) = self.def_ids.get(&ptr) {
            return Ok(id);
        }
        let id = self.defs.len();
        self.defs.push(Def {
            pointer: ptr.clone(),
            schema: None,
            in_progress: false,
            pending: None,
        });
        self.def_ids.insert(ptr, id);
        Ok(id)
    }

    /// The parsed schema of definition `id`.
    /// Counts one unit of compile work; refuses the schema once the time
    /// budget is spent, naming where the compiler was.
    pub fn tick(&mut self, keyword: &str, ptr: &str) -> Result<(), CompileError> {
        self.ticks += 1;
        if self.ticks % TICKS_PER_CLOCK_CHECK == 0 && std::time::Instant::now() > self.deadline {
            return Err(CompileError::too_complex(
                keyword,
                ptr,
                format!(
                    "compiling the schema took longer than its budget of {:?}",
                    self.options.time_budget
                ),
            ));
        }
        Ok(())
    }

    /// A new definition standing for `def ∩ other`, computed on first use.
    pub fn lazy_intersection(&mut self, def: usize, other: Schema, def_first: bool) -> usize {
        let key = (def, format!("{other:?}"), def_first);
        if let Some(&id) = self.lazy_ids.get(&key) {
            return id;
        }
        let id = self.defs.len();
        self.defs.push(Def {
            pointer: self.defs[def].pointer.clone(),
            schema: None,
            in_progress: false,
            pending: Some((def, Box::new(other), def_first)),
        });
        self.lazy_ids.insert(key, id);
        id
    }

    /// `def ∩ other`, expanded one level: references inside stay lazy.
    fn expand_lazy(
        &mut self,
        def: usize,
        other: Schema,
        def_first: bool,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let d = self.def_schema(def)?;
        let saved = std::mem::replace(&mut self.depth, super::merge::LAZY_DEPTH);
        let r = if def_first {
            self.intersect(d, other, ptr)
        } else {
            self.intersect(other, d, ptr)
        };
        self.depth = saved;
        r
    }

    pub fn def_schema(&mut self, id: usize) -> Result<Schema, CompileError> {
        if let Some(s) = &self.defs[id].schema {
            return Ok(s.clone());
        }
        let ptr = self.defs[id].pointer.clone();
        self.tick("$ref", &ptr)?;
        if self.defs[id].in_progress {
            return Err(CompileError::unsupported(
                "$ref",
                &ptr,
                "a definition that refers to itself without nesting",
            ));
        }
        self.defs[id].in_progress = true;
        let s = match self.defs[id].pending.clone() {
            Some((def, other, def_first)) => self.expand_lazy(def, *other, def_first, &ptr),
            None => match self.lookup(&ptr) {
                Some(v) => self.parse(v, &ptr),
                None => Err(CompileError::invalid("$ref", &ptr, "points nowhere")),
            },
        };
        self.defs[id].in_progress = false;
        let s = s?;
        self.defs[id].schema = Some(s.clone());
        Ok(s)
    }

    pub fn parse_root(&mut self) -> Result<Schema, CompileError> {
        let root = self.root;
        self.parse(root, "#")
    }

    /// Parses a schema value.
    pub fn parse(&mut self, v: &'a Value, ptr: &str) -> Result<Schema, CompileError> {
        match v {
            Value::Bool(true) => Ok(Schema::Any),
            Value::Bool(false) => Ok(Schema::never(
                "false",
                ptr,
                "the schema `false` admits nothing",
            )),
            Value::Object(m) => self.parse_object(m, ptr),
            _ => Err(CompileError::invalid(
                "",
                ptr,
                "a schema must be an object or a boolean",
            )),
        }
    }

    fn parse_object(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        for k in m.keys() {
            if UNSUPPORTED.contains(&k.as_str()) {
                // `unevaluatedProperties: true` and friends assert nothing.
                if m[k] == Value::Bool(true)
                    || (k == "dependentSchemas" && m[k].as_object().is_some_and(|o| o.is_empty()))
                {
                    continue;
                }
                return Err(CompileError::unsupported(
                    k,
                    &ptr_push(ptr, k),
                    "keyword not implemented",
                ));
            }
        }
        // Draft 7 and earlier ignore the siblings of `$ref`.
        if let Some(r) = m.get("$ref") {
            let r = r
                .as_str()
                .ok_or_else(|| CompileError::invalid("$ref", ptr, "must be a string"))?;
            let id = self.resolve_ref(r, &ptr_push(ptr, "$ref"))?;
            if self.draft <= Draft::D7 {
                return Ok(Schema::Ref(id));
            }
            let rest = self.parse_keywords(m, ptr)?;
            return self.intersect(Schema::Ref(id), rest, ptr);
        }
        self.parse_keywords(m, ptr)
    }

    /// All keywords except `$ref`.
    fn parse_keywords(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let mut s = self.parse_typed(m, ptr)?;
        if let Some(v) = m.get("allOf") {
            let arr = v
                .as_array()
                .ok_or_else(|| CompileError::invalid("allOf", ptr, "must be an array"))?;
            for (i, x) in arr.iter().enumerate() {
                let p = ptr_push(&ptr_push(ptr, "allOf"), &i.to_string());
                let sub = self.parse(x, &p)?;
                s = self.intersect(s, sub, &p)?;
            }
        }
        if let Some(v) = m.get("anyOf") {
            let arr = v
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| CompileError::invalid("anyOf", ptr, "must be a non-empty array"))?;
            let mut alts = Vec::new();
            for (i, x) in arr.iter().enumerate() {
                alts.push(self.parse(x, &ptr_push(&ptr_push(ptr, "anyOf"), &i.to_string()))?);
            }
            s = self.intersect(s, Schema::any_of(alts), &ptr_push(ptr, "anyOf"))?;
        }
        if let Some(v) = m.get("oneOf") {
            let arr = v
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| CompileError::invalid("oneOf", ptr, "must be a non-empty array"))?;
            let mut alts = Vec::new();
            for (i, x) in arr.iter().enumerate() {
                alts.push(self.parse(x, &ptr_push(&ptr_push(ptr, "oneOf"), &i.to_string()))?);
            }
            let p = ptr_push(ptr, "oneOf");
            let one = self.one_of(alts, &p)?;
            s = self.intersect(s, one, &p)?;
        }
        if let Some(v) = m.get("not") {
            let p = ptr_push(ptr, "not");
            let inner = self.parse(v, &p)?;
            let neg = self.negate(inner, &p)?;
            s = self.intersect(s, neg, &p)?;
        }
        if let Some(c) = m.get("if") {
            let p = ptr_push(ptr, "if");
            let cond = self.parse(c, &p)?;
            let then = match m.get("then") {
                Some(t) => self.parse(t, &ptr_push(ptr, "then"))?,
                None => Schema::Any,
            };
            let els = match m.get("else") {
                Some(e) => self.parse(e, &ptr_push(ptr, "else"))?,
                None => Schema::Any,
            };
            if then != Schema::Any || els != Schema::Any {
                let yes = self.intersect(cond.clone(), then, &p)?;
                let not_cond = self.negate(cond, &p)?;
                let no = self.intersect(not_cond, els, &p)?;
                s = self.intersect(s, Schema::any_of(vec![yes, no]), &p)?;
            }
        }
        let values = match (m.get("const"), m.get("enum")) {
            (Some(c), _) => Some(vec![c.clone()]),
            (None, Some(Value::Array(a))) => Some(a.clone()),
            (None, Some(_)) => return Err(CompileError::invalid("enum", ptr, "must be an array")),
            (None, None) => None,
        };
        if let Some(values) = values {
            let kw = if m.contains_key("const") {
                "const"
            } else {
                "enum"
            };
            let p = ptr_push(ptr, kw);
            let kept = self.filter_values(&s, values, &p)?;
            s = if kept.is_empty() {
                Schema::never(kw, &p, "no listed value satisfies the other keywords")
            } else {
                Schema::Enum(kept)
            };
        }
        Ok(s)
    }

    /// The per-type part: `type` and the keywords of each type.
    fn parse_typed(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let mut types: Vec<&str> = match m.get("type") {
            None => vec!["null", "boolean", "number", "string", "array", "object"],
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(a)) => {
                let mut v = Vec::new();
                for t in a {
                    v.push(t.as_str().ok_or_else(|| {
                        CompileError::invalid(
                            "type",
                            ptr,
                            "must be a string or an array of strings",
                        )
                    })?);
                }
                v
            }
            Some(_) => {
                return Err(CompileError::invalid(
                    "type",
                    ptr,
                    "must be a string or an array of strings",
                ));
            }
        };
        if types.contains(&"number") {
            types.retain(|t| *t != "integer");
        }
        types.dedup();
        let mut alts = Vec::new();
        for t in types {
            alts.push(match t {
                "null" => Schema::Null,
                "boolean" => Schema::Bool,
                "integer" | "number" => self.parse_number(m, ptr, t == "integer")?,
                "string" => self.parse_string(m, ptr)?,
                "array" => self.parse_array(m, ptr)?,
                "object" => self.parse_object_kw(m, ptr)?,
                "any" => Schema::Any,
                other => {
                    return Err(CompileError::invalid(
                        "type",
                        ptr,
                        format!("unknown type \"{other}\""),
                    ));
                }
            });
        }
        if alts.is_empty() {
            return Ok(Schema::never("type", ptr, "empty list of types"));
        }
        // Keeping `Any` (rather than a union of unconstrained types) lets
        // references next to it stay lazy, which recursion needs.
        if alts == Schema::all_types() {
            return Ok(Schema::Any);
        }
        Ok(Schema::any_of(alts))
    }

    fn uint(
        &self,
        m: &Map<String, Value>,
        k: &str,
        ptr: &str,
    ) -> Result<Option<u32>, CompileError> {
        match m.get(k) {
            None => Ok(None),
            Some(v) => {
                let d = v
                    .as_f64()
                    .filter(|x| *x >= 0.0 && x.fract() == 0.0)
                    .ok_or_else(|| {
                        CompileError::invalid(
                            k,
                            &ptr_push(ptr, k),
                            "must be a non-negative integer",
                        )
                    })?;
                Ok(Some(d.min(u32::MAX as f64) as u32))
            }
        }
    }

    fn decimal(
        &self,
        m: &Map<String, Value>,
        k: &str,
        ptr: &str,
    ) -> Result<Option<Decimal>, CompileError> {
        match m.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => Decimal::from_json(n)
                .map(Some)
                .ok_or_else(|| CompileError::invalid(k, &ptr_push(ptr, k), "not a finite number")),
            Some(Value::Bool(_)) if self.draft == Draft::D4 && k.starts_with("exclusive") => {
                Ok(None)
            }
            Some(_) => Err(CompileError::invalid(
                k,
                &ptr_push(ptr, k),
                "must be a number",
            )),
        }
    }

    fn parse_number(
        &mut self,
        m: &Map<String, Value>,
        ptr: &str,
        integer: bool,
    ) -> Result<Schema, CompileError> {
        let mut spec = NumSpec {
            integer,
            ..Default::default()
        };
        let min = self.decimal(m, "minimum", ptr)?;
        let max = self.decimal(m, "maximum", ptr)?;
        let old_excl = |k: &str| matches!(m.get(k), Some(Value::Bool(true)));
        spec.min = min.map(|value| Bound {
            value,
            exclusive: old_excl("exclusiveMinimum"),
        });
        spec.max = max.map(|value| Bound {
            value,
            exclusive: old_excl("exclusiveMaximum"),
        });
        if let Some(v) = self.decimal(m, "exclusiveMinimum", ptr)? {
            spec.min = super::ir::max_bound(
                spec.min,
                Some(Bound {
                    value: v,
                    exclusive: true,
                }),
            );
        }
        if let Some(v) = self.decimal(m, "exclusiveMaximum", ptr)? {
            spec.max = super::ir::min_bound(
                spec.max,
                Some(Bound {
                    value: v,
                    exclusive: true,
                }),
            );
        }
        if let Some(d) = self.decimal(m, "multipleOf", ptr)? {
            if d.neg || d.is_zero() {
                return Err(CompileError::invalid(
                    "multipleOf",
                    &ptr_push(ptr, "multipleOf"),
                    "must be greater than 0",
                ));
            }
            // Every integer is a multiple of 1 / n.
            let one = Decimal::from_i64(1);
            if !(integer && one.is_multiple_of(&d) == Some(true)) {
                spec.multiple_of.push(d);
            }
        }
        if !super::ir::number_satisfiable(&spec) {
            let kw = if m.contains_key("minimum") {
                "minimum"
            } else {
                "exclusiveMinimum"
            };
            // Contradictory bounds in one schema object are an authoring
            // mistake, refused rather than silently matching nothing.
            return Err(CompileError::unsatisfiable(
                kw,
                &ptr_push(ptr, kw),
                "the lower bound is above the upper bound",
            ));
        }
        Ok(Schema::Number(Box::new(spec)))
    }

    fn parse_string(&mut self, m: &Map<String, Value>, ptr: &str) -> Result<Schema, CompileError> {
        let mut spec = StrSpec {
            min: self.uint(m, "minLength", ptr)?.unwrap_or(0),
            max: self.uint(m, "maxLength", ptr)?,
            ..Default::default()
        };
        if let Some(p) = m.get("pattern") {
            let p = p
                .as_str()
                .ok_or_else(|| CompileError::invalid("pattern", ptr, "must be a string"))?;
            // Translate now, so that errors point at the keyword.
            super::strings::pattern_dfa(self, p)
                .map_err(|e| super::compile::with_pointer(e, &ptr_push(ptr, "pattern")))?;
            spec.patterns.push(p.to_string());
        }
        if let Some(f) = m.get("format") {
            if let Some(f) = f.as_str() {
                if super::formats::KNOWN_UNSUPPORTED.contains(&f) {
                    return Err(CompileError::unsupported(
                        "format",
                        &ptr_push(ptr, "format"),
                        format!("format \"{f}\""),
                    ));
                }
                if super::formats::format_regex(f).is_some() {
                    spec.formats.push(f.to_string());
                }
            }
        }
        if spec.max.is_some_and(|mx| mx < spec.min) {
            return Err(CompileError::unsatisfiable(
                "minLength",
                &ptr_push(ptr, "minLength"),
                "minLength is above maxLength",
            ));
        }
        Ok(Schema::String(Box::new(spec)))
    }

    fn parse_array(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let mut spec = ArrSpec {
            min: self.uint(m, "minItems", ptr)?.unwrap_or(0),
            max: self.uint(m, "maxItems", ptr)?,
            ..Default::default()
        };
        let tuple_items = |v: &'a Value| v.as_array();
        let mut prefix_src: Option<(&'a Vec<Value>, &str)> = None;
        if let Some(p) = m.get("prefixItems") {
            let a = p
                .as_array()
                .ok_or_else(|| CompileError::invalid("prefixItems", ptr, "must be an array"))?;
            prefix_src = Some((a, "prefixItems"));
        }
        let mut items_is_tuple = false;
        if let Some(it) = m.get("items") {
            if let Some(a) = tuple_items(it) {
                if prefix_src.is_none() {
                    prefix_src = Some((a, "items"));
                    items_is_tuple = true;
                } else {
                    return Err(CompileError::invalid(
                        "items",
                        ptr,
                        "an array of schemas next to prefixItems",
                    ));
                }
            }
        }
        if let Some((arr, kw)) = prefix_src {
            for (i, x) in arr.iter().enumerate() {
                spec.prefix
                    .push(self.parse(x, &ptr_push(&ptr_push(ptr, kw), &i.to_string()))?);
            }
        }
        if let Some(it) = m.get("items") {
            if !items_is_tuple {
                spec.items = self.parse(it, &ptr_push(ptr, "items"))?;
            }
        }
        // `additionalItems` only means something after a tuple-form `items`.
        if items_is_tuple {
            if let Some(ai) = m.get("additionalItems") {
                spec.items = self.parse(ai, &ptr_push(ptr, "additionalItems"))?;
            }
        }
        if let Some(c) = m.get("contains") {
            let cs = self.parse(c, &ptr_push(ptr, "contains"))?;
            let lo = self.uint(m, "minContains", ptr)?.unwrap_or(1);
            let hi = self.uint(m, "maxContains", ptr)?;
            spec.contains.push((cs, lo, hi));
        }
        spec.unique = matches!(m.get("uniqueItems"), Some(Value::Bool(true)));
        if spec.max.is_some_and(|mx| mx < spec.min) {
            return Err(CompileError::unsatisfiable(
                "minItems",
                &ptr_push(ptr, "minItems"),
                "minItems is above maxItems",
            ));
        }
        Ok(Schema::Array(Box::new(spec)))
    }

    fn parse_object_kw(
        &mut self,
        m: &'a Map<String, Value>,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let opens = [
            "additionalProperties",
            "patternProperties",
            "unevaluatedProperties",
        ]
        .iter()
        .any(|k| m.get(*k).is_some_and(|v| v != &Value::Bool(false)));
        let mut spec = ObjSpec {
            min: self.uint(m, "minProperties", ptr)?.unwrap_or(0),
            max: self.uint(m, "maxProperties", ptr)?,
            listed_only: if opens {
                Some(false)
            } else if m.contains_key("properties") {
                Some(true)
            } else {
                None
            },
            ..Default::default()
        };
        if let Some(p) = m.get("properties") {
            let o = p
                .as_object()
                .ok_or_else(|| CompileError::invalid("properties", ptr, "must be an object"))?;
            for (k, x) in o {
                let s = self.parse(x, &ptr_push(&ptr_push(ptr, "properties"), k))?;
                spec.props.push((k.clone(), s));
            }
        }
        if let Some(p) = m.get("patternProperties") {
            let o = p.as_object().ok_or_else(|| {
                CompileError::invalid("patternProperties", ptr, "must be an object")
            })?;
            for (k, x) in o {
                let kp = ptr_push(&ptr_push(ptr, "patternProperties"), k);
                super::strings::pattern_dfa(self, k)
                    .map_err(|e| super::compile::with_pointer(e, &kp))?;
                let s = self.parse(x, &kp)?;
                spec.pattern_props.push((k.clone(), s));
            }
        }
        if let Some(a) = m.get("additionalProperties") {
            let s = self.parse(a, &ptr_push(ptr, "additionalProperties"))?;
            if s != Schema::Any {
                spec.additional.push(AddRule {
                    names: spec.props.iter().map(|(k, _)| k.clone()).collect(),
                    patterns: spec.pattern_props.iter().map(|(k, _)| k.clone()).collect(),
                    schema: s,
                });
            }
        }
        if let Some(r) = m.get("required") {
            let a = r
                .as_array()
                .ok_or_else(|| CompileError::invalid("required", ptr, "must be an array"))?;
            for x in a {
                let k = x
                    .as_str()
                    .ok_or_else(|| CompileError::invalid("required", ptr, "must list strings"))?;
                if !spec.required.iter().any(|r| r == k) {
                    spec.required.push(k.to_string());
                }
            }
        }
        if let Some(pn) = m.get("propertyNames") {
            let p = ptr_push(ptr, "propertyNames");
            let s = self.parse(pn, &p)?;
            self.set_property_names(&mut spec, s, &p)?;
        }
        let mut deps: Vec<(String, Schema)> = Vec::new();
        for kw in ["dependentRequired", "dependencies", "dependentSchemas"] {
            if let Some(d) = m.get(kw) {
                let o = d
                    .as_object()
                    .ok_or_else(|| CompileError::invalid(kw, ptr, "must be an object"))?;
                for (k, v) in o {
                    match v {
                        Value::Array(a) => {
                            let names: Option<Vec<String>> =
                                a.iter().map(|x| x.as_str().map(String::from)).collect();
                            let names = names.ok_or_else(|| {
                                CompileError::invalid(kw, ptr, "must list strings")
                            })?;
                            let req = ObjSpec {
                                required: names,
                                ..Default::default()
                            };
                            deps.push((k.clone(), Schema::Object(Box::new(req))));
                        }
                        v if kw != "dependentRequired" => {
                            // A schema that applies when the key is present.
                            let s = self.parse(v, &ptr_push(&ptr_push(ptr, kw), k))?;
                            if s != Schema::Any {
                                deps.push((k.clone(), s));
                            }
                        }
                        _ => {
                            return Err(CompileError::invalid(
                                kw,
                                ptr,
                                "must map keys to arrays of names",
                            ));
                        }
                    }
                }
            }
        }
        if spec.max.is_some_and(|mx| mx < spec.min) {
            return Err(CompileError::unsatisfiable(
                "minProperties",
                &ptr_push(ptr, "minProperties"),
                "minProperties is above maxProperties",
            ));
        }
        let obj = Schema::Object(Box::new(spec));
        if deps.is_empty() {
            return Ok(obj);
        }
        super::object::expand_dependencies(self, obj, deps, ptr)
    }
}
