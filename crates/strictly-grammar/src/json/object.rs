//! Object grammars: properties in schema order, optional ones skippable,
//! extra keys (from `patternProperties` and `additionalProperties`) after
//! them, and property counts.
//!
//! The object is a chain `Members(i, c)`: `i` is the next listed property to
//! consider and `c` the number of members so far (saturating when no bound
//! needs it; `c > 0` decides whether a comma comes first).

use super::compile::Compiler;
use super::ir::{AddRule, ObjSpec, Schema, StrSpec};
use super::parse::{Ctx, ptr_push};
use super::strings::encode_quoted;
use crate::dfa::{Dfa, SetOp};
use crate::error::CompileError;
use crate::grammar::{DFA_STATE_LIMIT, Sym};
use crate::hash::FastMap;
use std::sync::Arc;

/// Most key classes an object's extra keys are split into.
const MAX_KEY_CLASSES: usize = 64;
/// Most required keys tracked as a set when members may come in any order.
const MAX_TRACKED_REQUIRED: usize = 8;
/// Largest any-order member grammar (states × members) before falling back
/// to schema order.
const MAX_ANY_ORDER_RULES: usize = 100_000;
/// Most keys of a key class listed one by one instead of as a lexeme.
const MAX_LISTED_CLASS_KEYS: usize = 64;
/// Most `dependentRequired` entries expanded into alternatives.
const MAX_DEPENDENCIES: usize = 6;

/// `dependentRequired` and `dependentSchemas`: "k absent", or "k present
/// and the dependent constraint holds".
pub(crate) fn expand_dependencies(
    ctx: &mut Ctx,
    obj: Schema,
    deps: Vec<(String, Schema)>,
    ptr: &str,
) -> Result<Schema, CompileError> {
    if deps.len() > MAX_DEPENDENCIES {
        return Err(CompileError::too_complex(
            "dependentRequired",
            ptr,
            "too many dependencies",
        ));
    }
    let mut s = obj;
    for (k, dep) in deps {
        let absent = Schema::Object(Box::new(ObjSpec {
            props: vec![(k.clone(), Schema::never("dependentRequired", ptr, "absent"))],
            ..Default::default()
        }));
        let present = Schema::Object(Box::new(ObjSpec {
            required: vec![k.clone()],
            ..Default::default()
        }));
        let a = ctx.intersect(s.clone(), absent, ptr)?;
        let b = ctx.intersect(s, present, ptr)?;
        let b = ctx.intersect(b, dep, ptr)?;
        s = Schema::any_of(vec![a, b]);
    }
    Ok(s)
}

/// How an object's members may come in any order.
struct AnyOrder {
    /// Indices (into `Plan::listed`) of the required keys, in `required` order.
    req: Vec<usize>,
    /// Track the required keys seen as a set (else in one of `orders`).
    as_set: bool,
    /// Sequences (indices into `listed`) the required keys may follow.
    orders: Vec<Vec<usize>>,
}

/// One listed property as compiled.
struct Listed {
    name: String,
    key: Sym,
    value: Sym,
    required: bool,
}

struct Plan {
    listed: Vec<Listed>,
    /// (key lexeme, value) for extra keys.
    extras: Vec<(Sym, Sym)>,
    min: u32,
    max: Option<u32>,
    cap: u32,
}

impl Compiler<'_, '_> {
    /// The schema of listed key `k`: its own, the matching patterns', and
    /// the `additionalProperties` that apply to it.
    fn key_schema(
        &mut self,
        o: &ObjSpec,
        k: &str,
        own: Schema,
        ptr: &str,
    ) -> Result<Schema, CompileError> {
        let mut s = own;
        let enc = encode_quoted(k);
        for (p, ps) in &o.pattern_props {
            let d = super::strings::pattern_dfa(self.ctx, p)
                .map_err(|e| super::compile::with_pointer(e, ptr))?;
            if d.matches(&enc) {
                s = self.ctx.intersect_member(s, ps.clone(), ptr)?;
            } else if super::strings::widest_pattern_dfa(p)
                .map_err(|e| super::compile::with_pointer(e, ptr))?
                .matches(&enc)
            {
                // Validators disagree on whether `p` matches this key.
                return Ok(Schema::never(
                    "patternProperties",
                    ptr,
                    "key matched by some readings",
                ));
            }
        }
        for rule in &o.additional {
            if self.rule_applies(rule, k, &enc, ptr)? {
                s = self.ctx.intersect_member(s, rule.schema.clone(), ptr)?;
            }
        }
        if let Some(names) = &o.names {
            let ok = self.ctx.admits(
                &Schema::String(names.clone()),
                &serde_json::Value::String(k.to_string()),
                ptr,
            )?;
            if !ok {
                return Ok(Schema::never("propertyNames", ptr, "key not allowed"));
            }
        }
        if let Some(set) = &o.names_enum {
            if !set.iter().any(|n| n == k) {
                return Ok(Schema::never("propertyNames", ptr, "key not allowed"));
            }
        }
        Ok(s)
    }

    fn rule_applies(
        &mut self,
        rule: &AddRule,
        k: &str,
        enc: &[u8],
        ptr: &str,
    ) -> Result<bool, CompileError> {
        if rule.names.iter().any(|n| n == k) {
            return Ok(false);
        }
        for p in &rule.patterns {
            let d = super::strings::pattern_dfa(self.ctx, p)
                .map_err(|e| super::compile::with_pointer(e, ptr))?;
            if d.matches(enc) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether the object gets its listed keys only (see
    /// `JsonOptions::only_listed_properties`): never when that could leave
    /// a required key or `minProperties` unmet.
    fn listed_only(&self, o: &ObjSpec) -> bool {
        self.ctx.options.only_listed_properties
            && o.listed_only == Some(true)
            && o.required
                .iter()
                .all(|r| o.props.iter().any(|(k, _)| k == r))
            && o.min as usize <= o.props.len()
    }

    pub fn object(&mut self, o: &ObjSpec, ptr: &str) -> Result<Option<Sym>, CompileError> {
        // Listed keys: `properties` in order, then required keys not listed,
        // then (for a finite propertyNames) the other allowed names.
        let mut keys: Vec<(String, Schema)> = o.props.clone();
        for r in &o.required {
            if !keys.iter().any(|(k, _)| k == r) {
                keys.push((r.clone(), Schema::Any));
            }
        }
        if let Some(set) = &o.names_enum {
            for n in set {
                if !keys.iter().any(|(k, _)| k == n) {
                    keys.push((n.clone(), Schema::Any));
                }
            }
        }
        let mut listed = Vec::new();
        for (k, own) in &keys {
            let kp = ptr_push(&ptr_push(ptr, "properties"), k);
            let s = self.key_schema(o, k, own.clone(), &kp)?;
            let required = o.required.contains(k);
            match self.value(&s, &kp)? {
                Some(value) => {
                    let key = self.b.literal(&encode_quoted(k));
                    listed.push(Listed {
                        name: k.clone(),
                        key,
                        value,
                        required,
                    });
                }
                None if required => return Ok(None),
                None => {}
            }
        }
        let extras = if o.names_enum.is_some() || self.listed_only(o) {
            Vec::new()
        } else {
            let (extras, finite) = self.extra_keys(o, &keys, ptr)?;
            listed.extend(finite);
            extras
        };
        let track = o.min > 0 || o.max.is_some();
        let cap = if track {
            o.max.unwrap_or(o.min).max(o.min).max(1)
        } else {
            1
        };
        if cap > 10_000 {
            return Err(CompileError::too_complex(
                "maxProperties",
                ptr,
                "too many members to count",
            ));
        }
        let plan = Plan {
            listed,
            extras,
            min: o.min,
            max: o.max,
            cap,
        };
        let members = match self.any_order_plan(o, &plan) {
            Some(any) => {
                let mut memo = FastMap::default();
                let mut alts = Vec::new();
                for order in 0..any.orders.len().max(1) {
                    alts.push(self.members_any_order(
                        &plan,
                        &any,
                        (order as u32, 0, 0, true),
                        &mut memo,
                        ptr,
                    )?);
                }
                self.b.choice("members_orders", alts)
            }
            None => {
                let mut memo = FastMap::default();
                self.members(&plan, 0, 0, &mut memo, ptr)?
            }
        };
        Ok(Some(self.b.seq("object", vec![self.p.lbrace, members])))
    }

    /// How members may come in any order, if they may (see `AnyOrder`).
    fn any_order_plan(&self, o: &ObjSpec, plan: &Plan) -> Option<AnyOrder> {
        if !self.ctx.options.any_property_order {
            return None;
        }
        // Positions (in `listed`) of the required keys, in `required` order.
        let mut req = Vec::new();
        for k in &o.required {
            let i = plan.listed.iter().position(|l| l.name == *k)?;
            req.push(i);
        }
        // A repeated optional key would be counted twice: only bounds that
        // the distinct required keys already guarantee are allowed.
        if plan.min as usize > req.len() {
            return None;
        }
        let as_set = req.len() <= MAX_TRACKED_REQUIRED;
        let progress_states = if as_set {
            1usize << req.len()
        } else {
            req.len() + 1
        };
        let count_states = plan.max.map_or(1, |m| m as usize + 1);
        let members = plan.listed.len() + plan.extras.len();
        if progress_states
            .saturating_mul(count_states)
            .saturating_mul(members + 1)
            > MAX_ANY_ORDER_RULES
        {
            return None;
        }
        // Too many required keys for a set: they come in `required` order
        // or in `properties` order, other keys anywhere.
        let mut orders = Vec::new();
        if !as_set {
            let mut by_props = req.clone();
            by_props.sort_unstable();
            orders.push(req.clone());
            if by_props != req {
                orders.push(by_props);
            }
        }
        Some(AnyOrder {
            req,
            as_set,
            orders,
        })
    }

    /// `Members(progress, count, first)` in any order: `progress` says which
    /// required keys were seen (a set, or how many of them in `required`
    /// order when there are too many for a set); optional and extra keys may
    /// come anywhere; `count` is tracked only under `maxProperties`.
    fn members_any_order(
        &mut self,
        plan: &Plan,
        any: &AnyOrder,
        state: (u32, u32, u32, bool),
        memo: &mut FastMap<(u32, u32, u32, bool), Sym>,
        ptr: &str,
    ) -> Result<Sym, CompileError> {
        if let Some(&s) = memo.get(&state) {
            return Ok(s);
        }
        self.check_size(ptr)?;
        let (order, progress, count, first) = state;
        let nt = self.b.nonterminal("members_any");
        memo.insert(state, Sym::N(nt));
        let r = any.req.len() as u32;
        let done = if any.as_set {
            progress == (1u32 << r).wrapping_sub(1) || r == 0
        } else {
            progress == r
        };
        if done {
            self.b.rule(nt, vec![self.p.rbrace]);
        }
        let next_count = match plan.max {
            Some(m) if count >= m => return Ok(Sym::N(nt)),
            Some(_) => count + 1,
            None => 0,
        };
        let mut members: Vec<(Sym, Sym, u32)> = Vec::new();
        for (i, l) in plan.listed.iter().enumerate() {
            match any.req.iter().position(|&j| j == i) {
                Some(p) if any.as_set => {
                    if progress & (1 << p) == 0 {
                        members.push((l.key, l.value, progress | (1 << p)));
                    }
                }
                Some(_) => {
                    if any.orders[order as usize].get(progress as usize) == Some(&i) {
                        members.push((l.key, l.value, progress + 1));
                    }
                }
                None => members.push((l.key, l.value, progress)),
            }
        }
        for &(k, v) in &plan.extras {
            members.push((k, v, progress));
        }
        for (key, value, p2) in members {
            let rest =
                self.members_any_order(plan, any, (order, p2, next_count, false), memo, ptr)?;
            let mut rhs = Vec::new();
            if !first {
                rhs.push(self.p.comma);
            }
            rhs.extend([key, self.p.colon, value, rest]);
            self.b.rule(nt, rhs);
        }
        Ok(Sym::N(nt))
    }

    /// Key classes for keys that are not listed, each with its value; a
    /// class of a few keys comes back as those keys, listed, so that the
    /// grammar itself writes each at most once (a class lexeme may repeat
    /// a key, which the matcher then has to refuse, see `keys`).
    fn extra_keys(
        &mut self,
        o: &ObjSpec,
        listed: &[(String, Schema)],
        ptr: &str,
    ) -> Result<(Vec<(Sym, Sym)>, Vec<Listed>), CompileError> {
        // Patterns that split the key space.
        let mut patterns: Vec<String> = Vec::new();
        for (p, _) in &o.pattern_props {
            if !patterns.contains(p) {
                patterns.push(p.clone());
            }
        }
        for r in &o.additional {
            for p in &r.patterns {
                if !patterns.contains(p) {
                    patterns.push(p.clone());
                }
            }
        }
        // Keys allowed at all: strings (per propertyNames) minus listed names.
        let (base, lo, hi) = match &o.names {
            Some(n) => super::strings::string_dfa(self.ctx, n)
                .map_err(|e| super::compile::with_pointer(e, ptr))?,
            None => (
                super::strings::any_string_dfa()?,
                0,
                self.ctx.options.max_string_chars,
            ),
        };
        let mut base: Arc<Dfa> = base;
        if !listed.is_empty() {
            let without_names = || {
                let words: Vec<Vec<u8>> = listed.iter().map(|(k, _)| encode_quoted(k)).collect();
                let names = Dfa::from_words(words.iter().map(|w| w.as_slice()));
                Dfa::product(&base, &names, SetOp::Difference, DFA_STATE_LIMIT * 4)
            };
            // Any string but the listed names recurs for every object shape
            // a schema repeats, so it is shared like other lexemes.
            let d = match &o.names {
                None => {
                    let mut key = String::from("keys-except");
                    for (k, _) in listed {
                        key.push_str(&format!(":{}:{k}", k.len()));
                    }
                    crate::dfa_cache::cached(&key, without_names)
                }
                Some(_) => without_names().map(Arc::new),
            };
            base = d.map_err(|e| super::compile::dfa_error("properties", ptr, e))?;
        }
        let mut classes: Vec<(Arc<Dfa>, Vec<usize>)> = vec![(base, Vec::new())];
        for (pi, p) in patterns.iter().enumerate() {
            let pd = super::strings::pattern_dfa(self.ctx, p)
                .map_err(|e| super::compile::with_pointer(e, ptr))?;
            // Keys inside by the narrowest reading, outside by the widest:
            // the keys between are left out (validators disagree on them).
            // Where the widest reading is too large an automaton, keys
            // outside are printable ASCII, on which all readings agree.
            let outside_of = |d: &Dfa| match super::strings::widest_pattern_dfa(p) {
                Ok(wide) => Dfa::product(d, &wide, SetOp::Difference, DFA_STATE_LIMIT * 4),
                Err(_) => {
                    let ascii = super::strings::printable_ascii_dfa()?;
                    let rest = Dfa::product(d, &pd, SetOp::Difference, DFA_STATE_LIMIT * 4)?;
                    Dfa::product(&rest, &ascii, SetOp::Intersect, DFA_STATE_LIMIT * 4)
                }
            };
            let mut next = Vec::new();
            for (d, set) in classes {
                let inside = Dfa::product(&d, &pd, SetOp::Intersect, DFA_STATE_LIMIT * 4)
                    .map_err(|e| super::compile::dfa_error("patternProperties", ptr, e))?;
                let outside = outside_of(&d)
                    .map_err(|e| super::compile::dfa_error("patternProperties", ptr, e))?;
                if !inside.is_empty_language() {
                    let mut s = set.clone();
                    s.push(pi);
                    next.push((Arc::new(inside), s));
                }
                if !outside.is_empty_language() {
                    next.push((Arc::new(outside), set));
                }
            }
            classes = next;
            if classes.len() > MAX_KEY_CLASSES {
                return Err(CompileError::too_complex(
                    "patternProperties",
                    ptr,
                    "too many overlapping key patterns",
                ));
            }
        }
        let mut out = Vec::new();
        let mut finite: Vec<Listed> = Vec::new();
        for (d, set) in classes {
            let mut s = Schema::Any;
            for (p, ps) in &o.pattern_props {
                if set.iter().any(|&i| patterns[i] == *p) {
                    s = self.ctx.intersect_member(s, ps.clone(), ptr)?;
                }
            }
            for r in &o.additional {
                if !r
                    .patterns
                    .iter()
                    .any(|p| set.iter().any(|&i| patterns[i] == *p))
                {
                    s = self.ctx.intersect_member(s, r.schema.clone(), ptr)?;
                }
            }
            let vp = ptr_push(ptr, "additionalProperties");
            let Some(value) = self.value(&s, &vp)? else {
                continue;
            };
            if let Some(words) = d.finite_words(MAX_LISTED_CLASS_KEYS) {
                for w in words {
                    let Ok(name) = serde_json::from_slice::<String>(&w) else {
                        continue;
                    };
                    let chars = name.chars().count() as u32;
                    let known = finite.iter().any(|l| l.name == name);
                    if known || chars < lo || chars > hi {
                        continue;
                    }
                    let key = self.b.literal(&w);
                    finite.push(Listed {
                        name,
                        key,
                        value,
                        required: false,
                    });
                }
                continue;
            }
            let Some(key) = self.b.lexeme(d, lo, hi) else {
                continue;
            };
            out.push((key, value));
        }
        Ok((out, finite))
    }

    /// `Members(i, c)`.
    fn members(
        &mut self,
        plan: &Plan,
        i: usize,
        c: u32,
        memo: &mut FastMap<(usize, u32), Sym>,
        ptr: &str,
    ) -> Result<Sym, CompileError> {
        if let Some(&s) = memo.get(&(i, c)) {
            return Ok(s);
        }
        self.check_size(ptr)?;
        let nt = self.b.nonterminal("members");
        memo.insert((i, c), Sym::N(nt));
        let next_c = if plan.max.is_some() {
            (c < plan.max.unwrap_or(u32::MAX)).then_some(c + 1)
        } else {
            Some((c + 1).min(plan.cap))
        };
        let sep = |rhs: &mut Vec<Sym>, comma: Sym| {
            if c > 0 {
                rhs.push(comma);
            }
        };
        if i < plan.listed.len() {
            let l = &plan.listed[i];
            let (key, value, required) = (l.key, l.value, l.required);
            if let Some(c2) = next_c {
                let rest = self.members(plan, i + 1, c2, memo, ptr)?;
                let mut rhs = Vec::new();
                sep(&mut rhs, self.p.comma);
                rhs.extend([key, self.p.colon, value, rest]);
                self.b.rule(nt, rhs);
            }
            if !required {
                let rest = self.members(plan, i + 1, c, memo, ptr)?;
                self.b.rule(nt, vec![rest]);
            }
        } else {
            if c >= plan.min {
                self.b.rule(nt, vec![self.p.rbrace]);
            }
            if let Some(c2) = next_c {
                let extras: Vec<(Sym, Sym)> = plan.extras.clone();
                if !extras.is_empty() {
                    let rest = self.members(plan, i, c2, memo, ptr)?;
                    for (key, value) in extras {
                        let mut rhs = Vec::new();
                        sep(&mut rhs, self.p.comma);
                        rhs.extend([key, self.p.colon, value, rest]);
                        self.b.rule(nt, rhs);
                    }
                }
            }
        }
        Ok(Sym::N(nt))
    }
}

#[allow(dead_code)]
fn unused(_: StrSpec) {}
