//! How many more characters a lexeme needs, or can still take, from each
//! DFA state — the lexer's check that character bounds remain satisfiable.
//!
//! A string lexeme's characters are counted on the decoded string (see
//! `lexer::count_char`). Whether a byte starts a character depends on the
//! escape state, which is a function of the DFA state for the JSON string
//! languages built here; where it is not (never for well-formed encodings),
//! every byte is counted as a character, which only makes the checks
//! stricter.

use crate::dfa::{DEAD, Dfa};
use crate::lexer::count_char;

/// Marks an unbounded distance.
pub(crate) const INF: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub(crate) struct CharDist {
    /// Fewest characters from the state to an accepting state.
    pub min: Vec<u32>,
    /// Most characters from the state to an accepting state (`INF` if unbounded).
    pub max: Vec<u32>,
    /// Largest `min` over non-accepting states.
    pub max_min_open: u32,
    /// Smallest `max` over non-accepting states.
    pub min_max_open: u32,
}

impl CharDist {
    pub fn of(d: &Dfa) -> CharDist {
        let n = d.num_states();
        // Escape state per DFA state, if consistent.
        let mut esc: Vec<Option<u8>> = vec![None; n];
        let mut consistent = true;
        // Parallel edges collapse as they are found: per (from, to) the
        // fewest and most characters (weights assume consistent escapes;
        // see below).
        let mut adj: Vec<Vec<(u32, u32, u32)>> = vec![Vec::new(); n]; // to, wmin, wmax
        let members = d.class_members();
        if d.start() != DEAD {
            esc[d.start() as usize] = Some(0);
            let mut stack = vec![d.start()];
            let mut seen = vec![false; n];
            seen[d.start() as usize] = true;
            while let Some(s) = stack.pop() {
                let e = esc[s as usize].unwrap_or(0);
                let mut out: Vec<(u32, u32, u32)> = Vec::new();
                // By class, so that the bytes of dead classes (most of
                // them, in tries of names) are never looked at.
                for (t, b) in members.iter().flat_map(|m| {
                    let t = m.first().map_or(DEAD, |&rep| d.next(s, rep));
                    let bytes = if t == DEAD { &m[..0] } else { &m[..] };
                    bytes.iter().map(move |&b| (t, b))
                }) {
                    let (w, e2) = count_char(0, e, b);
                    match out.iter_mut().find(|x| x.0 == t) {
                        Some(x) => {
                            x.1 = x.1.min(w);
                            x.2 = x.2.max(w);
                        }
                        None => out.push((t, w, w)),
                    }
                    match esc[t as usize] {
                        None => esc[t as usize] = Some(e2),
                        Some(x) if x != e2 => consistent = false,
                        _ => {}
                    }
                    if !seen[t as usize] {
                        seen[t as usize] = true;
                        stack.push(t);
                    }
                }
                adj[s as usize] = out;
            }
        }
        // Inconsistent escapes: every byte counts one character.
        if !consistent {
            for out in adj.iter_mut() {
                for x in out.iter_mut() {
                    x.1 = 1;
                    x.2 = 1;
                }
            }
        }
        let mut radj: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n]; // from, wmin
        for (s, out) in adj.iter().enumerate() {
            for &(t, lo, _) in out {
                radj[t as usize].push((s as u32, lo));
            }
        }
        // Fewest characters: 0-1 BFS backwards from accepting states.
        let mut min = vec![INF; n];
        let mut dq = std::collections::VecDeque::new();
        for s in 1..n {
            if d.accepts(s as u32) {
                min[s] = 0;
                dq.push_back(s as u32);
            }
        }
        while let Some(t) = dq.pop_front() {
            for &(s, w) in &radj[t as usize] {
                let nd = min[t as usize] + w;
                if nd < min[s as usize] {
                    min[s as usize] = nd;
                    if w == 0 {
                        dq.push_front(s);
                    } else {
                        dq.push_back(s);
                    }
                }
            }
        }
        // Most characters: unbounded if a cycle is reachable, else the
        // longest path in the acyclic rest.
        let max = longest(n, &adj);
        let mut max_min_open = 0;
        let mut min_max_open = INF;
        for s in 1..n {
            if !d.accepts(s as u32) {
                max_min_open = max_min_open.max(min[s]);
                min_max_open = min_max_open.min(max[s]);
            }
        }
        CharDist {
            min,
            max,
            max_min_open,
            min_max_open,
        }
    }
}

/// Longest weighted path to an accepting state, `INF` when a cycle is reachable.
fn longest(n: usize, adj: &[Vec<(u32, u32, u32)>]) -> Vec<u32> {
    // 0 = unvisited, 1 = on stack, 2 = done.
    let mut state = vec![0u8; n];
    let mut out = vec![0u32; n];
    for root in 1..n {
        if state[root] != 0 {
            continue;
        }
        // Iterative post-order DFS.
        let mut stack: Vec<(u32, usize)> = vec![(root as u32, 0)];
        state[root] = 1;
        while let Some(&mut (s, ref mut i)) = stack.last_mut() {
            if *i < adj[s as usize].len() {
                let (t, _, _) = adj[s as usize][*i];
                *i += 1;
                match state[t as usize] {
                    0 => {
                        state[t as usize] = 1;
                        stack.push((t, 0));
                    }
                    1 => out[t as usize] = INF, // a cycle through t
                    _ => {}
                }
                continue;
            }
            stack.pop();
            let mut best = 0;
            let mut inf = out[s as usize] == INF;
            for &(t, _, w) in &adj[s as usize] {
                let v = out[t as usize];
                if v == INF || state[t as usize] == 1 {
                    inf = true;
                } else {
                    best = best.max(v + w);
                }
            }
            out[s as usize] = if inf { INF } else { best };
            state[s as usize] = 2;
        }
    }
    // A state reaching a cycle member discovered later is unbounded too.
    let mut changed = true;
    while changed {
        changed = false;
        for s in 1..n {
            if out[s] != INF && adj[s].iter().any(|&(t, _, _)| out[t as usize] == INF) {
                out[s] = INF;
                changed = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_syntax::ParserBuilder;

    fn dfa(re: &str) -> Dfa {
        Dfa::from_hir(&ParserBuilder::new().build().parse(re).unwrap(), 10_000).unwrap()
    }

    #[test]
    fn distances() {
        let d = dfa(r#""[a-z]{2}@[a-z]+""#);
        let cd = CharDist::of(&d);
        let s = d.start();
        assert_eq!(cd.min[s as usize], 4);
        assert_eq!(cd.max[s as usize], INF);
        let d = dfa(r#""(ab|é)""#);
        let cd = CharDist::of(&d);
        assert_eq!(cd.min[d.start() as usize], 1);
        assert_eq!(cd.max[d.start() as usize], 2);
        let d = dfa(r#""a\\nb""#);
        let cd = CharDist::of(&d);
        assert_eq!(cd.min[d.start() as usize], 3, "an escape is one character");
    }
}
