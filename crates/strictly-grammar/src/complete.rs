//! The shortest way to finish an instance, computed from the grammar.
//!
//! A token-by-token search can only guess which allowed token leads to an
//! end (`"2 years"` needs a space after the digits, which no list of
//! "closing" tokens contains). Here the answer is computed exactly in bytes:
//!
//! 1. every lexeme's shortest word (breadth-first over its DFA, counting
//!    characters for `minLength`), then every nonterminal's shortest yield
//!    (a fixpoint over the rules) — once per grammar;
//! 2. from the matcher's position: the shortest rest of the current lexeme,
//!    then the cheapest way out of the Earley chart — per chart row and
//!    nonterminal, the fewest bytes needed after that nonterminal completes,
//!    following items back through their origin rows to the start rule.
//!
//! The bytes are then fed through the real matcher (greedy lexing may
//! refuse a boundary the grammar allows) and split into the longest
//! vocabulary tokens; the caller falls back to its search when anything
//! fails. Everything is iterative, so deep schemas never deepen the stack.

use crate::dfa::{DEAD, Dfa};
use crate::earley::{origin_of, pos_of};
use crate::grammar::{END_BIT, Grammar, LexemeDef, TERM_BIT};
use crate::hash::{FastMap, FastSet};
use crate::lexer::count_char;
use crate::matcher::{Cursor, Matcher};

/// No word: an unproductive symbol, or a search that hit its cap.
const INF: u64 = u64::MAX / 4;

/// Search nodes one lexeme's breadth-first search may visit.
const BFS_NODES: usize = 1 << 20;

/// Shortest yields of every symbol of one grammar.
#[derive(Debug)]
pub(crate) struct Yields {
    /// Per lexeme, its shortest word (`None`: none within the search cap).
    lexeme_word: Vec<Option<Box<[u8]>>>,
    /// Per nonterminal, the bytes of its shortest yield.
    nt_cost: Vec<u64>,
    /// Per nonterminal, the rule (its first `rhs` position) achieving it.
    nt_best: Vec<u32>,
    /// Per `rhs` position, the shortest yield of the rule's rest from there.
    suffix: Vec<u64>,
}

impl Yields {
    pub(crate) fn of(g: &Grammar) -> Yields {
        let lexeme_word: Vec<Option<Box<[u8]>>> = g
            .lexemes
            .iter()
            .map(|def| {
                let dfa = g.dfa(def.dfa);
                shortest_rest(dfa, def, dfa.start(), 0, 0).map(Vec::into_boxed_slice)
            })
            .collect();
        let n = g.nullable.len();
        let mut y = Yields {
            lexeme_word,
            nt_cost: vec![INF; n],
            nt_best: vec![u32::MAX; n],
            suffix: vec![INF; g.rhs.len()],
        };
        // Bellman–Ford over the rules: costs only fall, and a rule is only
        // chosen when it is strictly cheaper, so the chosen rules never form
        // a cycle and expanding them terminates.
        loop {
            let mut changed = false;
            for nt in 0..n as u32 {
                for &rp in g.rules_of(nt) {
                    let c = y.seq_cost(g, rp as usize);
                    if c < y.nt_cost[nt as usize] {
                        y.nt_cost[nt as usize] = c;
                        y.nt_best[nt as usize] = rp;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        // Suffix costs, right to left within each rule.
        let mut acc = 0u64;
        for p in (0..g.rhs.len()).rev() {
            let s = g.rhs[p];
            if is_end(s) {
                acc = 0;
            } else {
                acc = (acc + y.sym_cost(s)).min(INF);
            }
            y.suffix[p] = acc;
        }
        y
    }

    fn sym_cost(&self, s: u32) -> u64 {
        if s & TERM_BIT != 0 {
            self.lexeme_word[(s & !TERM_BIT) as usize]
                .as_ref()
                .map_or(INF, |w| w.len() as u64)
        } else {
            self.nt_cost[s as usize]
        }
    }

    /// Cost of `rhs[p..]` up to the rule's end, from the current estimates.
    fn seq_cost(&self, g: &Grammar, mut p: usize) -> u64 {
        let mut c = 0u64;
        while !is_end(g.rhs[p]) {
            c = (c + self.sym_cost(g.rhs[p])).min(INF);
            p += 1;
        }
        c
    }

    /// Appends the shortest yield of `rhs[p..]` (to the rule's end) to
    /// `out`; `false` when it would pass `cap` bytes.
    fn expand(&self, g: &Grammar, p: usize, out: &mut Vec<u8>, cap: usize) -> bool {
        let mut stack = vec![p];
        while let Some(top) = stack.last_mut() {
            let s = g.rhs[*top];
            if is_end(s) {
                stack.pop();
                continue;
            }
            *top += 1;
            if s & TERM_BIT != 0 {
                match &self.lexeme_word[(s & !TERM_BIT) as usize] {
                    Some(w) => out.extend_from_slice(w),
                    None => return false,
                }
                if out.len() > cap {
                    return false;
                }
            } else {
                let rp = self.nt_best[s as usize];
                if rp == u32::MAX {
                    return false;
                }
                stack.push(rp as usize);
            }
        }
        true
    }
}

#[inline]
fn is_end(s: u32) -> bool {
    s & END_BIT != 0 && s & TERM_BIT == 0
}

/// The rule an `rhs` position belongs to.
fn rule_at(g: &Grammar, mut p: usize) -> u32 {
    while !is_end(g.rhs[p]) {
        p += 1;
    }
    g.rhs[p] & !END_BIT
}

/// Bytes preferred when several lead the same way: readable ones first.
fn preference(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => 0,
        b'0'..=b'9' => 1,
        b'A'..=b'Z' => 2,
        0x21..=0x7e => 3,
        b' ' => 4,
        0x80.. => 5,
        _ => 6,
    }
}

/// The shortest bytes that take lexeme `def` from DFA state `s` (after
/// `chars` characters, escape state `esc`) to a word within its character
/// bounds; `None` if there is none or the search passes its cap.
fn shortest_rest(dfa: &Dfa, def: &LexemeDef, s: u32, chars: u32, esc: u8) -> Option<Vec<u8>> {
    let done = |st: u32, c: u32| dfa.accepts(st) && c >= def.min_chars && c <= def.max_chars;
    if done(s, chars) {
        return Some(Vec::new());
    }
    // One byte per class, the most readable one.
    let reps: Vec<u8> = dfa
        .class_members()
        .into_iter()
        .filter_map(|m| m.into_iter().min_by_key(|&b| (preference(b), b)))
        .collect();
    // Nodes: (state, characters capped at the minimum, escape state).
    let cap = |c: u32| c.min(def.min_chars);
    let mut seen: FastSet<(u32, u32, u8)> = FastSet::default();
    let mut nodes: Vec<(u32, u32, u8, u32, u8)> = vec![(s, chars, esc, u32::MAX, 0)];
    seen.insert((s, cap(chars), esc));
    let mut head = 0;
    while head < nodes.len() {
        let (st, c, e, _, _) = nodes[head];
        for &b in &reps {
            let t = dfa.next(st, b);
            if t == DEAD {
                continue;
            }
            let (c2, e2) = count_char(c, e, b);
            if c2 > def.max_chars || !seen.insert((t, cap(c2), e2)) {
                continue;
            }
            nodes.push((t, c2, e2, head as u32, b));
            if done(t, c2) {
                let mut word = Vec::new();
                let mut i = nodes.len() - 1;
                while nodes[i].3 != u32::MAX {
                    word.push(nodes[i].4);
                    i = nodes[i].3 as usize;
                }
                word.reverse();
                return Some(word);
            }
            if nodes.len() > BFS_NODES {
                return None;
            }
        }
        head += 1;
    }
    None
}

/// Per chart row: nonterminal → (fewest bytes needed after it completes,
/// the item that predicted it).
type RowTable = FastMap<u32, (u64, u64)>;

/// The cheapest way out of the chart from `row`.
struct Exit<'a> {
    g: &'a Grammar,
    y: &'a Yields,
    tables: FastMap<u32, RowTable>,
}

impl<'a> Exit<'a> {
    /// Builds the tables of `row` and of every row its items lead back to.
    fn new(m: &Matcher, g: &'a Grammar, y: &'a Yields, row: u32) -> Exit<'a> {
        let mut needed = vec![row];
        let mut seen: FastSet<u32> = FastSet::default();
        seen.insert(row);
        let mut i = 0;
        while i < needed.len() {
            let k = needed[i];
            i += 1;
            for &it in m.parser.row_items(k) {
                let o = origin_of(it);
                if o < k && seen.insert(o) {
                    needed.push(o);
                }
            }
        }
        needed.sort_unstable();
        let mut exit = Exit {
            g,
            y,
            tables: FastMap::default(),
        };
        for k in needed {
            let table = exit.table_of(m, k);
            exit.tables.insert(k, table);
        }
        exit
    }

    /// Bytes needed after item `it` of row `k` completes its rule; `None`
    /// for items of the start rule, which end the instance.
    fn after(&self, it: u64, k: u32, current: &RowTable) -> Option<(u64, u64)> {
        let rule = rule_at(self.g, pos_of(it) as usize);
        if rule == self.g.start_rule {
            return None;
        }
        let lhs = self.g.rule_lhs[rule as usize];
        let o = origin_of(it);
        let table = if o == k {
            current
        } else {
            match self.tables.get(&o) {
                Some(t) => t,
                None => return Some((INF, 0)),
            }
        };
        Some(table.get(&lhs).copied().unwrap_or((INF, 0)))
    }

    fn base(&self, it: u64, k: u32, current: &RowTable) -> u64 {
        match self.after(it, k, current) {
            None => 0,
            Some((c, _)) => c,
        }
    }

    fn table_of(&self, m: &Matcher, k: u32) -> RowTable {
        let items = m.parser.row_items(k);
        let mut t = RowTable::default();
        loop {
            let mut changed = false;
            for &it in items {
                let p = pos_of(it) as usize;
                let sym = self.g.rhs[p];
                if sym & (TERM_BIT | END_BIT) != 0 {
                    continue;
                }
                let c = (self.y.suffix[p + 1] + self.base(it, k, &t)).min(INF);
                let e = t.entry(sym).or_insert((INF, 0));
                if c < e.0 {
                    *e = (c, it);
                    changed = true;
                }
            }
            if !changed {
                return t;
            }
        }
    }

    /// The cheapest item of `row` to finish from, and its total cost.
    fn best_item(&self, m: &Matcher, row: u32) -> (u64, u64) {
        let current = &self.tables[&row];
        let mut best = (INF, 0);
        for &it in m.parser.row_items(row) {
            let c = (self.y.suffix[pos_of(it) as usize] + self.base(it, row, current)).min(INF);
            if c < best.0 {
                best = (c, it);
            }
        }
        best
    }

    /// The bytes of the way out through item `it` of row `k`.
    fn spell(&self, mut it: u64, mut k: u32, out: &mut Vec<u8>, cap: usize) -> bool {
        if !self.y.expand(self.g, pos_of(it) as usize, out, cap) {
            return false;
        }
        loop {
            let current = &self.tables[&k];
            match self.after(it, k, current) {
                None => return true,
                Some((c, parent)) => {
                    if c >= INF {
                        return false;
                    }
                    if !self.y.expand(self.g, pos_of(parent) as usize + 1, out, cap) {
                        return false;
                    }
                    k = origin_of(it);
                    it = parent;
                }
            }
        }
    }
}

impl Matcher {
    /// The fewest bytes that take the matcher to an accepting state, if the
    /// grammar-level computation finds them within `cap` bytes and the
    /// lexer agrees with them. When that answer repeats an object key (the
    /// grammar cannot see keys, see `keys`), a search from it finds a short
    /// answer that does not. The matcher is left as it was.
    pub fn shortest_completion_bytes(&mut self, cap: usize) -> Option<Vec<u8>> {
        if self.is_finished() {
            return Some(Vec::new());
        }
        let bytes = self.planned_completion(cap)?;
        if self.keys_accept(&bytes) {
            return Some(bytes);
        }
        self.completion_with_distinct_keys(cap)
    }

    /// Depth-first over bytes, each step following the planned completion
    /// first: where the plan repeats a key the next byte in preference order
    /// is tried, and where no byte is left the search backs up one byte.
    fn completion_with_distinct_keys(&mut self, cap: usize) -> Option<Vec<u8>> {
        /// Plans tried before giving up (each plan is a few chart walks).
        const PLANS: usize = 4096;
        let mut out: Vec<u8> = Vec::new();
        // Per position of `out`: the bytes tried there.
        let mut tried: Vec<[bool; 256]> = vec![[false; 256]];
        let mut plans = 0;
        let found = 'search: loop {
            if plans < PLANS && out.len() < cap {
                plans += 1;
                if let Some(plan) = self.planned_completion(cap - out.len()) {
                    let mut complete = true;
                    for &b in &plan {
                        tried[out.len()][b as usize] = true;
                        if self.commit_bytes(&[b]).is_err() {
                            complete = false;
                            break;
                        }
                        out.push(b);
                        tried.push([false; 256]);
                    }
                    if complete && self.is_accepting() {
                        break 'search Some(out.clone());
                    }
                }
            } else if plans >= PLANS {
                break None;
            }
            // Another byte here, or back up until one is left.
            loop {
                let here = out.len();
                let next = (0..=255u8)
                    .filter(|&b| here < cap && !tried[here][b as usize])
                    .min_by_key(|&b| preference(b));
                if let Some(b) = next {
                    tried[here][b as usize] = true;
                    if self.commit_bytes(&[b]).is_ok() {
                        out.push(b);
                        tried.push([false; 256]);
                        break;
                    }
                    continue;
                }
                if out.is_empty() {
                    break 'search None;
                }
                let _ = self.rollback(1);
                out.pop();
                tried.pop();
            }
        };
        let _ = self.rollback(out.len());
        found
    }

    /// [`Self::shortest_completion_bytes`] as the grammar sees it, checked
    /// by the lexer only.
    fn planned_completion(&mut self, cap: usize) -> Option<Vec<u8>> {
        let grammar = self.grammar.clone();
        let g = &grammar.grammar;
        let y = g.yields();
        let committed = self.parser.num_rows();
        let c = self.cursor;
        let found = self.plan_bytes(g, y, c, cap);
        self.parser.truncate(committed);
        let bytes = found?;
        // The lexer must agree: greedy lexing may end a lexeme elsewhere.
        let mut cur = c;
        let mut ok = true;
        for &b in &bytes {
            match self.advance(cur, b, false) {
                Some(n) => cur = n,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        let ok = ok && self.accepting_at_cursor(cur);
        self.parser.truncate(committed);
        ok.then_some(bytes)
    }

    fn plan_bytes(&mut self, g: &Grammar, y: &Yields, c: Cursor, cap: usize) -> Option<Vec<u8>> {
        let st = self.lexer.state(c.pos.l);
        // Ways to end the current lexeme: (bytes to its end, row after it).
        let mut starts: Vec<(Vec<u8>, u32)> = Vec::new();
        if st.is_start {
            starts.push((Vec::new(), c.row));
        } else {
            let comps = st.comps.clone();
            for (t, s) in comps.iter().copied() {
                let def = *g.lexeme(t);
                let Some(rest) = shortest_rest(g.dfa(def.dfa), &def, s, c.pos.chars, c.pos.esc)
                else {
                    continue;
                };
                if let Some(row) = self.parser.scan(g, c.row, &[t]) {
                    starts.push((rest, row));
                }
            }
        }
        let mut best: Option<(u64, Vec<u8>, u32, u64)> = None;
        for (prefix, row) in starts {
            let exit = Exit::new(self, g, y, row);
            let (cost, it) = exit.best_item(self, row);
            let total = cost.saturating_add(prefix.len() as u64);
            if cost >= INF || total > cap as u64 {
                continue;
            }
            if best.as_ref().is_none_or(|b| total < b.0) {
                let mut out = prefix;
                if exit.spell(it, row, &mut out, cap) {
                    best = Some((total, out, row, it));
                }
            }
        }
        best.map(|(_, bytes, _, _)| bytes)
    }

    fn accepting_at_cursor(&mut self, c: Cursor) -> bool {
        if self.lexer.state(c.pos.l).is_start {
            return c.pos.ws == 0 && self.parser.row(c.row).accepting;
        }
        match self.scan_end(c, false) {
            Some(r) => self.parser.row(r).accepting,
            None => false,
        }
    }

    /// The shortest completion in bytes (see [`Self::shortest_completion_bytes`])
    /// split into the longest vocabulary tokens, each checked by committing
    /// it; `None` when there is no such completion within `max_bytes`. The
    /// matcher is left as it was.
    pub fn shortest_completion_tokens(&mut self, max_bytes: usize) -> Option<Vec<u32>> {
        let bytes = self.shortest_completion_bytes(max_bytes)?;
        let factory = self.factory.clone();
        let trie = factory.trie();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let (len, tok) = trie.longest_prefix(&bytes[i..]).token?;
            tokens.push(tok);
            i += len;
        }
        // Committing checks every token (specials and EOS are refused).
        let mut committed = 0;
        let mut ok = true;
        for &t in &tokens {
            if self.commit_token(t).is_err() {
                ok = false;
                break;
            }
            committed += 1;
        }
        let ok = ok && self.is_accepting();
        let _ = self.rollback(committed);
        ok.then_some(tokens)
    }
}

#[cfg(test)]
mod tests {
    use crate::factory::Factory;
    use crate::json::JsonOptions;
    use crate::vocab::Vocabulary;

    fn byte_factory() -> std::sync::Arc<Factory> {
        let tokens = (0..=255u8).map(|b| (vec![b], false)).collect();
        Factory::new(Vocabulary::new(tokens, vec![]).unwrap())
    }

    fn shortest(schema: serde_json::Value) -> Option<String> {
        let f = byte_factory();
        let g = f
            .compile_json_schema(&schema, &JsonOptions::compact())
            .unwrap();
        let mut m = f.matcher(&g);
        m.shortest_completion_bytes(1 << 16)
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn a_class_loop_followed_by_a_literal() {
        let s = shortest(serde_json::json!({"type": "string", "pattern": "^[0-9]+ years?$"}));
        assert_eq!(s.as_deref(), Some("\"0 year\""));
    }

    #[test]
    fn required_properties_and_nesting() {
        let s = shortest(serde_json::json!({
            "type": "object",
            "properties": {"a": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
                           "b": {"type": "string", "minLength": 3}},
            "required": ["a", "b"]
        }))
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["b"].as_str().map(|s| s.chars().count()), Some(3));
    }

    #[test]
    fn mid_lexeme_and_after_commits() {
        let f = byte_factory();
        let schema = serde_json::json!({"type": "string", "pattern": "^[A-Z0-9_]+(_CONTROLLER|_DEVICE|_LAYOUT)$"});
        let g = f
            .compile_json_schema(&schema, &JsonOptions::compact())
            .unwrap();
        let mut m = f.matcher(&g);
        m.commit_bytes(b"\"AB").unwrap();
        let rest = m.shortest_completion_bytes(1 << 16).unwrap();
        assert_eq!(rest, b"_DEVICE\"");
        let before = m.num_commits();
        let tokens = m.shortest_completion_tokens(1 << 16).unwrap();
        assert_eq!(tokens.len(), rest.len());
        assert_eq!(m.num_commits(), before, "the matcher is left as it was");
    }

    #[test]
    fn recursive_schemas_terminate() {
        let s = shortest(serde_json::json!({
            "$defs": {"node": {"type": "object", "properties": {
                "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "minItems": 1}}}},
            "type": "object",
            "properties": {"root": {"$ref": "#/$defs/node"}},
            "required": ["root"]
        }));
        assert_eq!(s.as_deref(), Some("{\"root\":{}}"));
    }

    #[test]
    fn counted_extra_keys_are_distinct() {
        for schema in [
            serde_json::json!({"type": "object", "minProperties": 3}),
            serde_json::json!({"type": "object", "minProperties": 4, "additionalProperties": false,
                               "patternProperties": {"^[a-f]$": {"type": "array", "minItems": 2}}}),
            serde_json::json!({"type": "array", "minItems": 2,
                               "items": {"type": "object", "minProperties": 2}}),
        ] {
            let s = shortest(schema.clone()).unwrap();
            let v: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert!(jsonschema::is_valid(&schema, &v), "{s} for {schema}");
        }
        // Six single-letter keys exist, seven do not: the keys are listed,
        // so the grammar itself knows.
        let seven = serde_json::json!({"type": "object", "minProperties": 7,
            "additionalProperties": false, "patternProperties": {"^[a-f]$": {}}});
        let f = byte_factory();
        assert!(
            f.compile_json_schema(&seven, &JsonOptions::compact())
                .is_err()
        );
        // Infinitely many keys: distinct ones are found past the plan's
        // repeated shortest key.
        let many = serde_json::json!({"type": "object", "minProperties": 3,
            "additionalProperties": false, "patternProperties": {"^a*$": {"type": "null"}}});
        let s = shortest(many.clone()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert!(jsonschema::is_valid(&many, &v), "{s}");
    }
}
