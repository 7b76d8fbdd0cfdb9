//! Array grammars: tuple prefixes, item schemas, item counts and `contains`.
//!
//! The array is a chain of nonterminals `Rest(i, c)` — `i` items read so far
//! (saturating once no bound or prefix position depends on it) and `c` of
//! them matching `contains` — each either closing the array or reading one
//! more item.

use super::compile::Compiler;
use super::ir::ArrSpec;
use crate::error::CompileError;
use crate::grammar::Sym;
use crate::hash::FastMap;

/// Longest chain of item positions (bounded `maxItems` or prefixes).
const MAX_POSITIONS: u32 = 20_000;

struct Plan {
    /// Per item position up to `sat`: (plain item, contains-matching item).
    elems: Vec<(Option<Sym>, Option<Sym>)>,
    /// Position from which positions are interchangeable (when unbounded).
    sat: u32,
    min: u32,
    max: Option<u32>,
    cmin: u32,
    cmax: Option<u32>,
    counting: bool,
}

impl Compiler<'_, '_> {
    pub fn array(&mut self, a: &ArrSpec, ptr: &str) -> Result<Option<Sym>, CompileError> {
        if a.unique && a.max.is_none_or(|m| m > 1) && !self.unique_is_implied(a) {
            return Err(CompileError::unsupported(
                "uniqueItems",
                ptr,
                "uniqueness of array items",
            ));
        }
        if a.contains.len() > 1 {
            return Err(CompileError::unsupported(
                "contains",
                ptr,
                "several contains constraints",
            ));
        }
        let k = a.prefix.len() as u32;
        let (cschema, cmin, cmax) = match a.contains.first() {
            Some((c, lo, hi)) => (Some(c.clone()), *lo, *hi),
            None => (None, 0, None),
        };
        let counting = cschema.is_some() && (cmin > 0 || cmax.is_some());
        // Positions that differ: the prefix, then up to the count bounds.
        // Position 0 is distinct from the rest: only later items take a comma.
        let sat = match a.max {
            Some(m) => m,
            None => k.max(a.min).max(1),
        };
        if sat > MAX_POSITIONS {
            return Err(CompileError::too_complex(
                "maxItems",
                ptr,
                "too many item positions to track",
            ));
        }
        let mut elems = Vec::new();
        let neg_c = match (&cschema, cmax) {
            (Some(c), Some(_)) => Some(self.ctx.negate(c.clone(), ptr)?),
            _ => None,
        };
        let mut cache: FastMap<usize, (Option<Sym>, Option<Sym>)> = FastMap::default();
        for i in 0..=sat.min(k) {
            let s = a.prefix.get(i as usize).unwrap_or(&a.items).clone();
            let key = (i as usize).min(k as usize);
            if let Some(e) = cache.get(&key) {
                elems.push(*e);
                continue;
            }
            let plain_schema = match &neg_c {
                Some(n) if counting => self.ctx.intersect_member(s.clone(), n.clone(), ptr)?,
                _ => s.clone(),
            };
            let plain = self.value(&plain_schema, &format!("{ptr}/items"))?;
            let matching = match &cschema {
                Some(c) if counting => {
                    let m = self.ctx.intersect_member(s, c.clone(), ptr)?;
                    self.value(&m, &format!("{ptr}/contains"))?
                }
                _ => None,
            };
            cache.insert(key, (plain, matching));
            elems.push((plain, matching));
        }
        let plan = Plan {
            elems,
            sat,
            min: a.min,
            max: a.max,
            cmin,
            cmax,
            counting,
        };
        let mut memo: FastMap<(u32, u32), Option<Sym>> = FastMap::default();
        let rest = self.rest(&plan, 0, 0, &mut memo, ptr)?;
        Ok(rest.map(|r| self.b.seq("array", vec![self.p.lbrack, r])))
    }

    /// `uniqueItems` holds trivially when at most one item can appear.
    fn unique_is_implied(&self, a: &ArrSpec) -> bool {
        a.prefix.is_empty() && a.items.is_never()
    }

    fn elem(&self, plan: &Plan, i: u32) -> (Option<Sym>, Option<Sym>) {
        let idx = (i as usize).min(plan.elems.len() - 1);
        plan.elems[idx]
    }

    /// `Rest(i, c)`: after `i` items of which `c` match `contains`.
    fn rest(
        &mut self,
        plan: &Plan,
        i: u32,
        c: u32,
        memo: &mut FastMap<(u32, u32), Option<Sym>>,
        ptr: &str,
    ) -> Result<Option<Sym>, CompileError> {
        let i = if plan.max.is_none() {
            i.min(plan.sat)
        } else {
            i
        };
        let c = if plan.cmax.is_none() {
            c.min(plan.cmin)
        } else {
            c
        };
        if let Some(&s) = memo.get(&(i, c)) {
            return Ok(s);
        }
        self.check_size(ptr)?;
        let nt = self.b.nonterminal("array_rest");
        memo.insert((i, c), Some(Sym::N(nt)));
        let mut any = false;
        if i >= plan.min && (!plan.counting || c >= plan.cmin) {
            self.b.rule(nt, vec![self.p.rbrack]);
            any = true;
        }
        if plan.max.is_none_or(|m| i < m) {
            let (plain, matching) = self.elem(plan, i);
            let mut options = Vec::new();
            if let Some(p) = plain {
                options.push((p, c));
            }
            if let Some(m) = matching {
                if plan.cmax.is_none_or(|x| c < x) {
                    options.push((m, c + 1));
                }
            }
            for (item, c2) in options {
                if let Some(next) = self.rest(plan, i + 1, c2, memo, ptr)? {
                    let mut rhs = Vec::new();
                    if i > 0 {
                        rhs.push(self.p.comma);
                    }
                    rhs.push(item);
                    rhs.push(next);
                    self.b.rule(nt, rhs);
                    any = true;
                }
            }
        }
        // Unproductive chains are pruned when the grammar is finished.
        let _ = any;
        Ok(Some(Sym::N(nt)))
    }
}
