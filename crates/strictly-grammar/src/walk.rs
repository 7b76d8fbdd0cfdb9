//! The trie walk that computes a mask.
//!
//! Where the lexer state has a cached inside-token entry (see `inside`), the
//! mask starts as a copy of it and the walk only continues from the
//! frontier nodes; elsewhere the whole trie is walked, pruned by the lexer.

use std::sync::Arc;

use crate::inside::{InsideEntry, Signature};
use crate::inside_class::InsideClasses;
use crate::lexer::LexPos;
use crate::mask::TokenMask;
use crate::matcher::{Cursor, Matcher};
use crate::toktrie::{NO_TOKEN, TokTrie};

/// Classes tried as simulators of the others in one lexer state.
const MAX_SIMULATORS: usize = 4;

/// Sets every token of the trie that the matcher can accept next.
pub(crate) fn fill_mask(m: &mut Matcher, out: &mut TokenMask) {
    let factory = m.factory.clone();
    let trie = factory.trie();
    let c = m.cursor;
    // In an accepting state the next byte may end the lexeme: that needs the
    // parser from the very first byte, so the cache does not apply.
    let accepting = !m.lexer.state(c.pos.l).accepting.is_empty();
    if let Some(entry) = (!accepting).then(|| inside_entry(m, trie, c.pos)).flatten() {
        if let Some(r) = fast_path_room(m, c.pos) {
            if r < factory.max_nc() {
                let trimmed = m.lexer.state(c.pos.l).is_start;
                out.assign_and(&entry.inside, &factory.fits(r, trimmed));
                // Escapes count one character for several bytes: check the
                // tokens with a backslash exactly.
                for &t in factory.backslash_tokens() {
                    if factory.nc(t, trimmed) > r
                        && entry.inside.contains(t)
                        && fits_exactly(m, c, factory.vocab().token_bytes(t))
                    {
                        out.insert(t);
                    }
                }
            } else {
                out.copy_from(&entry.inside);
            }
            // Frontier paths come in trie order, so consecutive paths share
            // prefixes: cursors along the previous path are reused.
            let mut prev: &[u8] = &[];
            let mut cursors: Vec<Option<Cursor>> = vec![Some(c)];
            for &(node, off, len) in &entry.frontier {
                let path = &entry.paths[off as usize..(off + len) as usize];
                let lcp = path.iter().zip(prev).take_while(|(a, b)| a == b).count();
                cursors.truncate(lcp + 1);
                for &b in &path[lcp..] {
                    let last = cursors.last().copied().flatten();
                    cursors.push(last.and_then(|x| m.advance(x, b, true)));
                }
                prev = path;
                let Some(cf) = cursors.last().copied().flatten() else {
                    continue;
                };
                let n = trie.node(node);
                if n.token != NO_TOKEN {
                    insert(out, trie, node, n.token);
                }
                walk_children(m, trie, node, cf, out);
            }
            return;
        }
    }
    out.clear();
    walk_children(m, trie, 0, c, out);
}

/// Whether feeding `bytes` from `c` keeps the matcher alive.
fn fits_exactly(m: &mut Matcher, c: Cursor, bytes: &[u8]) -> bool {
    let mut cur = c;
    for &b in bytes {
        match m.advance(cur, b, true) {
            Some(x) => cur = x,
            None => return false,
        }
    }
    true
}

#[inline]
fn insert(out: &mut TokenMask, trie: &TokTrie, node: u32, token: u32) {
    out.insert(token);
    if trie.has_duplicates() {
        for t in trie.duplicates_at(node) {
            out.insert(t);
        }
    }
}

/// How many more characters any inside token may add while every alive
/// lexeme stays completable, or `None` if the cache cannot be used here.
fn fast_path_room(m: &Matcher, pos: LexPos) -> Option<u32> {
    let g = &m.grammar.grammar;
    let st = m.lexer.state(pos.l);
    let mut room = u32::MAX;
    let mut widest = 0u32;
    let mut needs_more = false;
    for &(t, _) in st.comps.iter() {
        let def = g.lexeme(t);
        let dist = &g.dists[def.dfa as usize];
        // Inside tokens end in non-accepting states: they must leave enough
        // room to complete, and never make the minimum unreachable.
        if def.min_chars > 0 && dist.min_max_open != crate::chardist::INF {
            let need = def.min_chars.saturating_sub(dist.min_max_open);
            if pos.chars < need {
                return None;
            }
        }
        needs_more |= dist.max_min_open > 0;
        let limit = def.max_chars.saturating_sub(dist.max_min_open);
        let r = limit.saturating_sub(pos.chars);
        room = room.min(r);
        widest = widest.max(r);
    }
    // Near a bound the per-token check must be exact: with lexemes that
    // have different room left (a long token may suit only some of them) or
    // that need more characters after some states than others, walk the
    // trie instead.
    if room < m.factory.max_nc() && (room != widest || needs_more) {
        return None;
    }
    if pos.esc != 0 {
        // Mid-escape counts are not covered by the per-token bound.
        return (room >= m.factory.max_nc() + 6).then_some(room);
    }
    Some(room)
}

/// The shared entry for the lexer state at `pos`, built on first use.
fn inside_entry(m: &mut Matcher, trie: &TokTrie, pos: LexPos) -> Option<Arc<InsideEntry>> {
    if let Some(e) = m.inside_memo.get(&(pos.l, pos.ws)) {
        return e.clone();
    }
    let sig = signature(m, pos);
    let found = match m.factory.inside.get(&sig) {
        Some(e) => e,
        None => {
            let e = build_entry(m, trie, pos).map(Arc::new);
            m.factory.inside.insert(sig, e.clone());
            e
        }
    };
    m.inside_memo.insert((pos.l, pos.ws), found.clone());
    found
}

fn signature(m: &Matcher, pos: LexPos) -> Signature {
    let st = m.lexer.state(pos.l);
    let g = &m.grammar.grammar;
    // States are named by their inside class: the entry only depends on
    // the behavior up to acceptance (see `inside_class`).
    let mut v: Vec<(u128, u32, u32, Arc<InsideClasses>, u32)> = st
        .comps
        .iter()
        .map(|&(t, s)| {
            let dfa = g.lexeme(t).dfa;
            let d = &g.dfas[dfa as usize];
            let cls = d.inside_classes();
            let c = cls.class_of[s as usize];
            let (name, width) = cls.name_width(d, c);
            (name, dfa, c, cls, width)
        })
        .collect();
    v.sort_unstable_by_key(|x| x.0);
    v.dedup_by_key(|x| x.0);
    // Classes simulated by another alive class add nothing to the entry.
    // Only the widest classes are tried as simulators (the general key
    // string next to literal property names), so this stays linear.
    let mut dropped = vec![false; v.len()];
    if v.len() > 1 {
        let mut cands: Vec<usize> = (0..v.len()).filter(|&j| v[j].4 >= 2).collect();
        cands.sort_unstable_by_key(|&j| std::cmp::Reverse(v[j].4));
        cands.truncate(MAX_SIMULATORS);
        for i in 0..v.len() {
            dropped[i] = cands.iter().any(|&j| {
                let (na, da, ca, ref csa, _) = v[i];
                let (nb, db, cb, ref csb, _) = v[j];
                j != i
                    && !dropped[j]
                    && InsideClasses::may_simulate(csa, ca, csb, cb)
                    && m.factory.inside.simulates(na, nb, || {
                        let (da, db) = (&g.dfas[da as usize], &g.dfas[db as usize]);
                        crate::inside_class::simulates(da, csa, ca, db, csb, cb)
                    })
            });
        }
    }
    let names: Vec<u128> = v
        .iter()
        .zip(&dropped)
        .filter(|(_, d)| !**d)
        .map(|(x, _)| x.0)
        .collect();
    // The whitespace budget left is what matters, not the count itself.
    let ws_left = g.max_ws.saturating_sub(pos.ws);
    (names.into_boxed_slice(), ws_left, st.is_start)
}

/// Walks the whole trie from `pos` with DFA-level steps, collecting inside
/// tokens and frontier nodes; `None` when the walk is too small to cache.
fn build_entry(m: &mut Matcher, trie: &TokTrie, pos: LexPos) -> Option<InsideEntry> {
    let mut e = InsideEntry {
        inside: TokenMask::new(m.factory.vocab().len()),
        frontier: Vec::new(),
        paths: Vec::new(),
    };
    let mut path = Vec::new();
    let mut visited = 0usize;
    build_rec(m, trie, 0, pos.l, pos.ws, &mut path, &mut e, &mut visited);
    (visited >= m.factory.inside_threshold()).then_some(e)
}

#[allow(clippy::too_many_arguments)]
fn build_rec(
    m: &mut Matcher,
    trie: &TokTrie,
    node: u32,
    l: u32,
    ws: u8,
    path: &mut Vec<u8>,
    e: &mut InsideEntry,
    visited: &mut usize,
) {
    let grammar = m.grammar.clone();
    let g = &grammar.grammar;
    let nodes = trie.nodes();
    let end = nodes[node as usize].subtree_end;
    let mut ch = node + 1;
    while ch < end {
        let n = nodes[ch as usize];
        *visited += 1;
        path.push(n.byte);
        // A byte on which some state of this class may complete a lexeme is
        // a frontier: the walk continues there with the real cursor. The
        // decision depends only on the classes, so the entry fits them all.
        if may_accept(m, l, n.byte) {
            e.frontier
                .push((ch, e.paths.len() as u32, path.len() as u32));
            e.paths.extend_from_slice(path);
        } else if let Some((l2, ws2)) = m.lexer.step_pure(g, l, ws, n.byte) {
            if n.token != NO_TOKEN {
                insert(&mut e.inside, trie, ch, n.token);
            }
            if ch + 1 < n.subtree_end {
                build_rec(m, trie, ch, l2, ws2, path, e, visited);
            }
        }
        path.pop();
        ch = n.subtree_end;
    }
}

/// Whether byte `b` may complete a lexeme from lexer state `l`, for some
/// state of the same inside classes.
fn may_accept(m: &mut Matcher, l: u32, b: u8) -> bool {
    let mask = match m.lexer.may_accept_mask(l) {
        Some(mask) => mask,
        None => {
            let g = &m.grammar.grammar;
            let mut mask = [0u64; 4];
            for &(t, s) in m.lexer.state(l).comps.iter() {
                let cls = g.dfas[g.lexeme(t).dfa as usize].inside_classes();
                let c = cls.class_of[s as usize];
                if let Some(w) = cls.accept_bytes.get(c as usize) {
                    for i in 0..4 {
                        mask[i] |= w[i];
                    }
                }
            }
            m.lexer.set_may_accept_mask(l, mask);
            mask
        }
    };
    (mask[(b >> 6) as usize] >> (b & 63)) & 1 == 1
}

/// Visits the children of `node`, with `c` the cursor after `node`'s bytes.
pub(crate) fn walk_children(
    m: &mut Matcher,
    trie: &TokTrie,
    node: u32,
    c: Cursor,
    out: &mut TokenMask,
) {
    let nodes = trie.nodes();
    let end = nodes[node as usize].subtree_end;
    let mut ch = node + 1;
    while ch < end {
        let n = nodes[ch as usize];
        if let Some(c2) = m.advance(c, n.byte, true) {
            if n.token != NO_TOKEN {
                insert(out, trie, ch, n.token);
            }
            if ch + 1 < n.subtree_end {
                walk_children(m, trie, ch, c2, out);
            }
        }
        ch = n.subtree_end;
    }
}
