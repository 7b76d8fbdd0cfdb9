//! Deterministic automata for lexemes, with exact language semantics.
//!
//! Every lexeme (a JSON string with a pattern, a number range, a literal) is
//! a `Dfa` over bytes. Unlike a search DFA, a state here means "the bytes so
//! far are a prefix of some word of the language": the dead state is 0, every
//! other state can still reach acceptance, and `accepts(s)` says the bytes so
//! far are a whole word. That is what the mask needs: a byte is allowed iff it
//! does not lead to state 0.
//!
//! DFAs are built from `regex_syntax::hir::Hir` through regex-automata's
//! Thompson NFA (which compiles Unicode classes to UTF-8), determinized here,
//! pruned, minimized and numbered canonically (breadth-first from the start),
//! so equal languages give identical tables and can share cached masks.
//! Intersections and differences (a pattern and a format, a key that is none
//! of the listed property names) are products of two DFAs.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use regex_automata::nfa::thompson::{self, NFA, State as NState, WhichCaptures};
use regex_automata::util::primitives::StateID;
use regex_syntax::hir::Hir;

use crate::chardist::CharDist;
use crate::error::DfaError;
use crate::hash::FastMap;
use crate::inside_class::InsideClasses;
use crate::minimize;

/// The dead state: no continuation is in the language.
pub const DEAD: u32 = 0;

/// A minimized DFA over bytes; state 0 is dead, `start` is 0 for the empty language.
#[derive(Clone)]
pub struct Dfa {
    classes: [u8; 256],
    stride: u32,
    trans: Vec<u32>,
    accept: Vec<bool>,
    start: u32,
    /// Character distances, computed on first use and kept with clones.
    dist: OnceLock<Arc<CharDist>>,
    /// Content hash, computed on first use.
    id: OnceLock<u128>,
    /// Classes of states with equal inside-token sets, computed on first use.
    inside: OnceLock<Arc<InsideClasses>>,
}

impl PartialEq for Dfa {
    fn eq(&self, o: &Dfa) -> bool {
        self.start == o.start
            && self.stride == o.stride
            && self.classes == o.classes
            && self.accept == o.accept
            && self.trans == o.trans
    }
}

impl Eq for Dfa {}

impl std::hash::Hash for Dfa {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.start.hash(h);
        self.stride.hash(h);
        self.classes.hash(h);
        self.accept.hash(h);
        self.trans.hash(h);
    }
}

impl std::fmt::Debug for Dfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Dfa({} states, {} classes)",
            self.accept.len(),
            self.stride
        )
    }
}

impl Dfa {
    #[inline]
    pub fn start(&self) -> u32 {
        self.start
    }

    #[inline]
    pub fn next(&self, s: u32, b: u8) -> u32 {
        self.trans[(s * self.stride + self.classes[b as usize] as u32) as usize]
    }

    #[inline]
    pub fn accepts(&self, s: u32) -> bool {
        self.accept[s as usize]
    }

    pub fn num_states(&self) -> usize {
        self.accept.len()
    }

    /// One byte per byte class (the smallest byte of each class).
    pub fn class_representatives(&self) -> Vec<u8> {
        let mut seen = vec![false; self.stride as usize];
        let mut reps = Vec::with_capacity(self.stride as usize);
        for b in 0..=255u8 {
            let c = self.classes[b as usize] as usize;
            if !seen[c] {
                seen[c] = true;
                reps.push(b);
            }
        }
        reps
    }

    /// Bytes of each class: `(representative, all bytes)`.
    pub fn class_members(&self) -> Vec<Vec<u8>> {
        let mut out = vec![Vec::new(); self.stride as usize];
        for b in 0..=255u8 {
            out[self.classes[b as usize] as usize].push(b);
        }
        out
    }

    /// A 128-bit hash of the table: equal languages (minimal, canonically
    /// numbered DFAs) get equal ids across grammars.
    pub fn content_id(&self) -> u128 {
        *self.id.get_or_init(|| {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            h.update(self.start.to_le_bytes());
            h.update(self.stride.to_le_bytes());
            h.update(self.classes);
            h.update(self.accept.iter().map(|&a| a as u8).collect::<Vec<u8>>());
            for t in &self.trans {
                h.update(t.to_le_bytes());
            }
            let d = h.finalize();
            let mut b = [0u8; 16];
            b.copy_from_slice(&d[..16]);
            u128::from_le_bytes(b)
        })
    }

    /// Classes of states for the inside-token cache (cached).
    pub(crate) fn inside_classes(&self) -> Arc<InsideClasses> {
        self.inside
            .get_or_init(|| Arc::new(InsideClasses::of(self)))
            .clone()
    }

    /// Character distances of every state (cached).
    pub(crate) fn char_dist(&self) -> Arc<CharDist> {
        self.dist
            .get_or_init(|| Arc::new(CharDist::of(self)))
            .clone()
    }

    pub fn is_empty_language(&self) -> bool {
        self.start == DEAD
    }

    /// Whether some non-empty continuation from `s` stays in the language.
    pub fn can_continue(&self, s: u32) -> bool {
        let st = self.stride as usize;
        self.trans[s as usize * st..(s as usize + 1) * st]
            .iter()
            .any(|&t| t != DEAD)
    }

    /// Whether the whole of `bytes` is a word of the language.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let mut s = self.start;
        for &b in bytes {
            if s == DEAD {
                return false;
            }
            s = self.next(s, b);
        }
        s != DEAD && self.accepts(s)
    }

    /// Whether the language is exactly one word, and that word.
    pub fn single_word(&self) -> Option<Vec<u8>> {
        let mut s = self.start;
        let mut out = Vec::new();
        loop {
            if s == DEAD {
                return None;
            }
            let mut next = None;
            for b in 0..=255u8 {
                let t = self.next(s, b);
                if t != DEAD {
                    if next.is_some() {
                        return None;
                    }
                    next = Some((b, t));
                }
            }
            match (self.accepts(s), next) {
                (true, None) => return Some(out),
                (false, Some((b, t))) => {
                    out.push(b);
                    s = t;
                }
                _ => return None,
            }
            if out.len() > 1 << 16 {
                return None;
            }
        }
    }

    /// The DFA of exactly the given words.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a [u8]>) -> Dfa {
        // One class per byte that occurs (class 0 for the rest, never
        // set), so a trie of long enums stays narrow for `finish`.
        let words: Vec<&[u8]> = words.into_iter().collect();
        let mut classes = [0u8; 256];
        let mut used = [false; 256];
        for &byte in words.iter().flat_map(|w| w.iter()) {
            used[byte as usize] = true;
        }
        let mut k = 0usize;
        for (byte, &u) in used.iter().enumerate() {
            if u && k < 255 {
                k += 1;
                classes[byte] = k as u8;
            }
        }
        if k == 255 {
            // Every byte occurs: keep one class per byte.
            for (i, c) in classes.iter_mut().enumerate() {
                *c = i as u8;
            }
        }
        let mut b = RawBuilder::new(classes, k + 1);
        let root = b.add_state(false);
        for w in words {
            let mut s = root;
            for &byte in w {
                let c = b.classes[byte as usize] as usize;
                let t = b.get(s, c);
                s = if t == DEAD {
                    let n = b.add_state(false);
                    b.set(s, c, n);
                    n
                } else {
                    t
                };
            }
            b.accept[s as usize] = true;
        }
        b.finish(root)
    }

    /// Compiles a regex HIR over bytes into a DFA of at most `limit` states.
    pub fn from_hir(hir: &Hir, limit: usize) -> Result<Dfa, DfaError> {
        Self::from_hir_within(hir, limit, 64 << 20)
    }

    /// `from_hir` with the intermediate NFA limited to `nfa_bytes`, for
    /// automata that are only worth building when small.
    pub fn from_hir_within(hir: &Hir, limit: usize, nfa_bytes: usize) -> Result<Dfa, DfaError> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .which_captures(WhichCaptures::Implicit)
                    .shrink(false)
                    .nfa_size_limit(Some(nfa_bytes)),
            )
            .build_from_hir(hir)
            .map_err(|e| DfaError::Nfa(e.to_string()))?;
        determinize(&nfa, limit)
    }

    /// The DFA accepting words that both (`Intersect`), either (`Union`) or
    /// the first but not the second (`Difference`) accept.
    pub fn product(a: &Dfa, b: &Dfa, op: SetOp, limit: usize) -> Result<Dfa, DfaError> {
        // Joint byte classes: bytes that both DFAs treat alike.
        let mut pair_to_class: FastMap<(u8, u8), u8> = FastMap::default();
        let mut classes = [0u8; 256];
        let mut reps: Vec<u8> = Vec::new();
        for byte in 0..=255u8 {
            let key = (a.classes[byte as usize], b.classes[byte as usize]);
            let n = pair_to_class.len();
            let c = *pair_to_class.entry(key).or_insert_with(|| {
                reps.push(byte);
                n as u8
            });
            classes[byte as usize] = c;
        }
        let mut raw = RawBuilder::new(classes, reps.len());
        let mut ids: FastMap<(u32, u32), u32> = FastMap::default();
        let mut queue = VecDeque::new();
        let acc = |x: u32, y: u32| {
            let (ax, by) = (a.accepts(x), b.accepts(y));
            match op {
                SetOp::Intersect => ax && by,
                SetOp::Union => ax || by,
                SetOp::Difference => ax && !by,
            }
        };
        let start = (a.start, b.start);
        let s0 = raw.add_state(acc(start.0, start.1));
        ids.insert(start, s0);
        queue.push_back(start);
        while let Some((x, y)) = queue.pop_front() {
            let from = ids[&(x, y)];
            for (c, &rep) in reps.iter().enumerate() {
                let nx = a.next(x, rep);
                let ny = b.next(y, rep);
                let dead = match op {
                    SetOp::Intersect => nx == DEAD || ny == DEAD,
                    SetOp::Union => nx == DEAD && ny == DEAD,
                    SetOp::Difference => nx == DEAD,
                };
                if dead {
                    continue;
                }
                let to = match ids.get(&(nx, ny)) {
                    Some(&t) => t,
                    None => {
                        if ids.len() >= limit {
                            return Err(DfaError::TooManyStates(limit));
                        }
                        let t = raw.add_state(acc(nx, ny));
                        ids.insert((nx, ny), t);
                        queue.push_back((nx, ny));
                        t
                    }
                };
                raw.set(from, c, to);
            }
        }
        Ok(raw.finish(s0))
    }

    /// Builds a DFA from an explicit transition function over states
    /// `0..n` (state `start`), for constructions such as "divisible by k".
    /// Only bytes in `alphabet` can have transitions.
    pub fn from_fn(
        n: usize,
        start: u32,
        alphabet: &[u8],
        accept: impl Fn(u32) -> bool,
        next: impl Fn(u32, u8) -> Option<u32>,
    ) -> Dfa {
        let mut classes = [0u8; 256];
        let mut reps = Vec::new();
        for &b in alphabet {
            if classes[b as usize] == 0 && reps.len() < 255 {
                reps.push(b);
                classes[b as usize] = reps.len() as u8;
            }
        }
        let mut raw = RawBuilder::new(classes, reps.len() + 1);
        let base = raw.accept.len() as u32;
        for s in 0..n as u32 {
            raw.add_state(accept(s));
        }
        for s in 0..n as u32 {
            for (i, &b) in reps.iter().enumerate() {
                if let Some(t) = next(s, b) {
                    raw.set(base + s, i + 1, base + t);
                }
            }
        }
        raw.finish(base + start)
    }

    /// `self` followed by `rest`, where the first time `self` accepts the
    /// automaton switches to `rest` for good. This is the concatenation
    /// when `rest` accepts every valid remainder (a pattern matched
    /// somewhere, then any characters up to the closing quote).
    pub fn then_rest(&self, rest: &Dfa) -> Dfa {
        let mut pair_to_class: FastMap<(u8, u8), u8> = FastMap::default();
        let mut classes = [0u8; 256];
        let mut reps: Vec<u8> = Vec::new();
        for byte in 0..=255u8 {
            let key = (self.classes[byte as usize], rest.classes[byte as usize]);
            let n = pair_to_class.len();
            classes[byte as usize] = *pair_to_class.entry(key).or_insert_with(|| {
                reps.push(byte);
                n as u8
            });
        }
        let mut raw = RawBuilder::new(classes, reps.len());
        let nd = self.num_states() as u32;
        for s in 1..nd {
            raw.add_state(false);
            let _ = s;
        }
        for u in 1..rest.num_states() as u32 {
            raw.add_state(rest.accepts(u));
        }
        // Ids: self's state s → s; rest's state u → nd - 1 + u.
        let rid = |u: u32| if u == DEAD { DEAD } else { nd - 1 + u };
        for s in 1..nd {
            for (c, &b) in reps.iter().enumerate() {
                let t = self.next(s, b);
                if t == DEAD {
                    continue;
                }
                let to = if self.accepts(t) { rid(rest.start) } else { t };
                raw.set(s, c, to);
            }
        }
        for u in 1..rest.num_states() as u32 {
            for (c, &b) in reps.iter().enumerate() {
                let t = rest.next(u, b);
                if t != DEAD {
                    raw.set(rid(u), c, rid(t));
                }
            }
        }
        if self.start == DEAD {
            return raw.finish(DEAD);
        }
        let start = if self.accepts(self.start) {
            rid(rest.start)
        } else {
            self.start
        };
        raw.finish(start)
    }

    /// Shortest word length (in bytes) accepted from each state; `u32::MAX` if none.
    pub fn distances_to_accept(&self) -> Vec<u32> {
        let n = self.num_states();
        let mut rev: Vec<Vec<u32>> = vec![Vec::new(); n];
        let st = self.stride as usize;
        for s in 1..n {
            for c in 0..st {
                let t = self.trans[s * st + c];
                if t != DEAD {
                    rev[t as usize].push(s as u32);
                }
            }
        }
        let mut dist = vec![u32::MAX; n];
        let mut q = VecDeque::new();
        for s in 1..n {
            if self.accept[s] {
                dist[s] = 0;
                q.push_back(s as u32);
            }
        }
        while let Some(s) = q.pop_front() {
            for &p in &rev[s as usize] {
                if dist[p as usize] == u32::MAX {
                    dist[p as usize] = dist[s as usize] + 1;
                    q.push_back(p);
                }
            }
        }
        dist
    }
}

/// How `Dfa::product` combines two languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Intersect,
    Union,
    Difference,
}

/// Subset construction over a Thompson NFA.
fn determinize(nfa: &NFA, limit: usize) -> Result<Dfa, DfaError> {
    let bc = nfa.byte_classes();
    let mut classes = [0u8; 256];
    let mut reps: Vec<u8> = Vec::new();
    for b in 0..=255u8 {
        let c = bc.get(b);
        classes[b as usize] = c;
        if c as usize == reps.len() {
            reps.push(b);
        }
    }
    let mut raw = RawBuilder::new(classes, reps.len());
    let mut ids: FastMap<(Vec<StateID>, bool), u32> = FastMap::default();
    let mut sets: Vec<Vec<StateID>> = Vec::new();
    let mut stack = Vec::new();
    let mut seen = vec![false; nfa.states().len()];
    let (start_set, start_acc) = closure(nfa, &[nfa.start_anchored()], &mut stack, &mut seen)?;
    let s0 = raw.add_state(start_acc);
    ids.insert((start_set.clone(), start_acc), s0);
    sets.push(start_set);
    let mut i = 0;
    let mut targets = Vec::new();
    while i < sets.len() {
        let from = s0 + i as u32;
        for (c, &rep) in reps.iter().enumerate() {
            targets.clear();
            for &sid in &sets[i] {
                match nfa.state(sid) {
                    NState::ByteRange { trans } => {
                        if trans.matches_byte(rep) {
                            targets.push(trans.next);
                        }
                    }
                    NState::Sparse(sp) => {
                        if let Some(t) = sp.matches_byte(rep) {
                            targets.push(t);
                        }
                    }
                    NState::Dense(d) => {
                        if let Some(t) = d.matches_byte(rep) {
                            targets.push(t);
                        }
                    }
                    _ => {}
                }
            }
            if targets.is_empty() {
                continue;
            }
            let (set, acc) = closure(nfa, &targets, &mut stack, &mut seen)?;
            if set.is_empty() && !acc {
                continue;
            }
            let key = (set, acc);
            let to = match ids.get(&key) {
                Some(&t) => t,
                None => {
                    if sets.len() >= limit {
                        return Err(DfaError::TooManyStates(limit));
                    }
                    let t = raw.add_state(acc);
                    let set = key.0.clone();
                    ids.insert(key, t);
                    sets.push(set);
                    t
                }
            };
            raw.set(from, c, to);
        }
        i += 1;
    }
    Ok(raw.finish(s0))
}

/// Epsilon closure: the byte-consuming states reachable from `roots`, sorted,
/// and whether a match state is reachable.
fn closure(
    nfa: &NFA,
    roots: &[StateID],
    stack: &mut Vec<StateID>,
    seen: &mut [bool],
) -> Result<(Vec<StateID>, bool), DfaError> {
    let mut out = Vec::new();
    let mut acc = false;
    let mut visited = Vec::new();
    stack.extend_from_slice(roots);
    while let Some(s) = stack.pop() {
        if seen[s.as_usize()] {
            continue;
        }
        seen[s.as_usize()] = true;
        visited.push(s);
        match nfa.state(s) {
            NState::ByteRange { .. } | NState::Sparse(_) | NState::Dense(_) => out.push(s),
            NState::Union { alternates } => stack.extend(alternates.iter().rev().copied()),
            NState::BinaryUnion { alt1, alt2 } => {
                stack.push(*alt2);
                stack.push(*alt1);
            }
            NState::Capture { next, .. } => stack.push(*next),
            NState::Fail => {}
            NState::Match { .. } => acc = true,
            NState::Look { .. } => {
                for v in visited {
                    seen[v.as_usize()] = false;
                }
                stack.clear();
                return Err(DfaError::Assertion);
            }
        }
    }
    for v in visited {
        seen[v.as_usize()] = false;
    }
    out.sort_unstable();
    Ok((out, acc))
}

/// A DFA under construction: transitions over byte classes, state 0 dead.
struct RawBuilder {
    classes: [u8; 256],
    stride: usize,
    trans: Vec<u32>,
    accept: Vec<bool>,
}

impl RawBuilder {
    fn new(classes: [u8; 256], stride: usize) -> RawBuilder {
        RawBuilder {
            classes,
            stride,
            trans: vec![DEAD; stride],
            accept: vec![false],
        }
    }

    fn add_state(&mut self, accept: bool) -> u32 {
        self.accept.push(accept);
        self.trans.extend(std::iter::repeat_n(DEAD, self.stride));
        (self.accept.len() - 1) as u32
    }

    fn set(&mut self, from: u32, class: usize, to: u32) {
        self.trans[from as usize * self.stride + class] = to;
    }

    fn get(&self, from: u32, class: usize) -> u32 {
        self.trans[from as usize * self.stride + class]
    }

    /// Prunes states that cannot reach acceptance, minimizes, and renumbers
    /// breadth-first from `start` with compacted byte classes.
    fn finish(self, start: u32) -> Dfa {
        self.finish_with(start, minimize::hopcroft)
    }

    /// `finish` with the partition refinement `refine` (see `minimize`).
    fn finish_with(
        self,
        start: u32,
        refine: fn(usize, usize, &[u32], &[bool], &[bool]) -> Vec<u32>,
    ) -> Dfa {
        let n = self.accept.len();
        let st = self.stride;
        // Live states: those from which an accepting state is reachable.
        // Reverse edges in one flat array (`rev[off[t]..off[t + 1]]`).
        let mut off = vec![0u32; n + 1];
        for &t in self.trans[st..].iter().filter(|&&t| t != DEAD) {
            off[t as usize + 1] += 1;
        }
        for i in 1..=n {
            off[i] += off[i - 1];
        }
        let mut fill = off.clone();
        let mut rev = vec![0u32; off[n] as usize];
        for s in 1..n {
            for &t in self.trans[s * st..(s + 1) * st]
                .iter()
                .filter(|&&t| t != DEAD)
            {
                rev[fill[t as usize] as usize] = s as u32;
                fill[t as usize] += 1;
            }
        }
        let mut live = vec![false; n];
        let mut q: Vec<u32> = (1..n as u32).filter(|&s| self.accept[s as usize]).collect();
        for &s in &q {
            live[s as usize] = true;
        }
        while let Some(s) = q.pop() {
            for &p in &rev[off[s as usize] as usize..off[s as usize + 1] as usize] {
                if !live[p as usize] {
                    live[p as usize] = true;
                    q.push(p);
                }
            }
        }
        // Merge byte classes whose columns agree before minimizing, so that
        // hand-built automata over 256 classes refine cheaply.
        let mut col_of: FastMap<Vec<u32>, usize> = FastMap::default();
        let mut class_map = vec![0usize; st];
        let mut kept: Vec<usize> = Vec::new();
        for (c, slot) in class_map.iter_mut().enumerate() {
            let col: Vec<u32> = (0..n)
                .map(|s| {
                    let t = self.trans[s * st + c];
                    if live[t as usize] { t } else { DEAD }
                })
                .collect();
            let k = kept.len();
            *slot = *col_of.entry(col).or_insert_with(|| {
                kept.push(c);
                k
            });
        }
        let st_old = st;
        let st = kept.len();
        // The merged table, flat, for the refinement rounds below.
        let mut flat = vec![DEAD; n * st];
        for s in 0..n {
            for (c, &k) in kept.iter().enumerate() {
                let t = self.trans[s * st_old + k];
                flat[s * st + c] = if live[t as usize] { t } else { DEAD };
            }
        }
        let tr = |s: usize, c: usize| -> u32 { flat[s * st + c] };
        let block = refine(n, st, &flat, &live, &self.accept);
        // Breadth-first renumbering of blocks from the start block.
        let mut rep_of_block: FastMap<u32, usize> = FastMap::default();
        for s in 0..n {
            if live[s] {
                rep_of_block.entry(block[s]).or_insert(s);
            }
        }
        let mut new_id: FastMap<u32, u32> = FastMap::default();
        let mut order: Vec<usize> = Vec::new();
        if live[start as usize] {
            new_id.insert(block[start as usize], 1);
            order.push(rep_of_block[&block[start as usize]]);
        }
        let mut i = 0;
        while i < order.len() {
            let s = order[i];
            for c in 0..st {
                let t = tr(s, c);
                if t != DEAD && !new_id.contains_key(&block[t as usize]) {
                    new_id.insert(block[t as usize], order.len() as u32 + 1);
                    order.push(rep_of_block[&block[t as usize]]);
                }
            }
            i += 1;
        }
        // Compact byte classes: bytes whose columns agree everywhere merge.
        let mut col_ids: FastMap<Vec<u32>, u8> = FastMap::default();
        let mut old_to_new_class = vec![0u8; st];
        let mut col = Vec::with_capacity(order.len());
        for (c, slot) in old_to_new_class.iter_mut().enumerate() {
            col.clear();
            for &s in &order {
                let t = tr(s, c);
                col.push(if t == DEAD {
                    DEAD
                } else {
                    new_id[&block[t as usize]]
                });
            }
            let k = col_ids.len() as u8;
            *slot = *col_ids.entry(col.clone()).or_insert(k);
        }
        let stride = col_ids.len().max(1) as u32;
        let mut classes = [0u8; 256];
        for b in 0..256 {
            classes[b] = old_to_new_class[class_map[self.classes[b] as usize]];
        }
        let ns = order.len() + 1;
        let mut trans = vec![DEAD; ns * stride as usize];
        let mut accept = vec![false; ns];
        for (i, &s) in order.iter().enumerate() {
            let id = i + 1;
            accept[id] = self.accept[s];
            for c in 0..st {
                let t = tr(s, c);
                let nc = old_to_new_class[c] as usize;
                trans[id * stride as usize + nc] = if t == DEAD {
                    DEAD
                } else {
                    new_id[&block[t as usize]]
                };
            }
        }
        let start = if order.is_empty() { DEAD } else { 1 };
        Dfa {
            classes,
            stride,
            trans,
            accept,
            start,
            dist: OnceLock::new(),
            id: OnceLock::new(),
            inside: OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_syntax::ParserBuilder;

    fn dfa(re: &str) -> Dfa {
        let hir = ParserBuilder::new().build().parse(re).unwrap();
        Dfa::from_hir(&hir, 10_000).unwrap()
    }

    #[test]
    fn exact_language() {
        let d = dfa("ab*c|x");
        for (w, ok) in [
            ("ac", true),
            ("abbc", true),
            ("x", true),
            ("", false),
            ("ab", false),
            ("xc", false),
        ] {
            assert_eq!(d.matches(w.as_bytes()), ok, "{w}");
        }
        let s = d.next(d.start(), b'a');
        assert!(s != DEAD && !d.accepts(s) && d.can_continue(s));
        assert_eq!(d.next(d.start(), b'q'), DEAD);
    }

    #[test]
    fn minimized_and_canonical() {
        assert_eq!(dfa("(a|b)*"), dfa("[ab]*"));
        assert_eq!(dfa("a(b|b)c").num_states(), 5);
        assert!(dfa("[^\\x00-\\x{10FFFF}]").is_empty_language());
    }

    #[test]
    fn products() {
        let a = dfa("[a-z]+");
        let b = dfa("abc|xyz|q");
        let ad = dfa("a.*");
        assert!(ad.matches(b"abz"), "{ad:?}");
        let i = Dfa::product(&a, &ad, SetOp::Intersect, 1000).unwrap();
        assert!(i.matches(b"abz") && !i.matches(b"bz"));
        let d = Dfa::product(&a, &b, SetOp::Difference, 1000).unwrap();
        assert!(d.matches(b"ab") && !d.matches(b"abc") && d.matches(b"abcd") && !d.matches(b"q"));
        let u = Dfa::product(&b, &dfa("[0-9]"), SetOp::Union, 1000).unwrap();
        assert!(u.matches(b"7") && u.matches(b"q") && !u.matches(b"qq"));
    }

    #[test]
    fn words_and_single_word() {
        let d = Dfa::from_words([&b"\"a\""[..], b"\"ab\""]);
        assert!(d.matches(b"\"a\"") && d.matches(b"\"ab\"") && !d.matches(b"\"b\""));
        assert_eq!(d.single_word(), None);
        assert_eq!(
            Dfa::from_words([&b"true"[..]]).single_word(),
            Some(b"true".to_vec())
        );
        // Every byte value occurs: one class per byte.
        let all: Vec<u8> = (0..=255u8).collect();
        let d = Dfa::from_words([&all[..], b"\xff"]);
        assert!(d.matches(&all) && d.matches(b"\xff") && !d.matches(&all[1..]));
        let dist = dfa("abc").distances_to_accept();
        assert_eq!(dist[1], 3);
    }

    #[test]
    fn state_limit_is_an_error() {
        let hir = ParserBuilder::new()
            .build()
            .parse("(a|b)*a(a|b){12}")
            .unwrap();
        assert!(matches!(
            Dfa::from_hir(&hir, 100),
            Err(DfaError::TooManyStates(100))
        ));
    }
}
