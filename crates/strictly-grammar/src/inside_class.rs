//! Which DFA states behave alike for the inside-token cache.
//!
//! The tokens that stay inside a lexeme from state `s` (never dying, never
//! reaching an accepting state) depend only on `s`'s behavior *up to*
//! acceptance. A key that is "any string except these property names" has a
//! state per prefix of those names, yet every such state has the same inside
//! tokens: the names only matter when the closing quote comes. Minimizing
//! the automaton with accepting states cut off gives classes of states with
//! equal inside sets; the cache is keyed by class, and each class records
//! the bytes on which some member may reach acceptance (the frontier bytes).
//!
//! Classes are also named across automata: the cut-off behavior reachable
//! from a class, numbered in breadth-first order, is hashed, so that "any
//! string except these names" shares its entries with every other free
//! string, whatever the names.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::dfa::{DEAD, Dfa};
use crate::hash::FastMap;

/// Classes whose reachable cut-off automaton is larger than this are named
/// by their automaton's content id instead (hashing them would cost more
/// than it saves).
const MAX_CANONICAL_BLOCKS: usize = 64;

/// Automata with more states keep one class per state (refining them would
/// cost more than the sharing saves).
const MAX_REFINED_STATES: usize = 2000;

/// Marks accepting states (never used as cache keys).
pub(crate) const ACCEPTING_CLASS: u32 = u32::MAX;

#[derive(Debug)]
pub(crate) struct InsideClasses {
    /// Class of each state (`ACCEPTING_CLASS` for accepting states, 0 for dead).
    pub class_of: Vec<u32>,
    /// Per class: bytes on which some member reaches an accepting state.
    pub accept_bytes: Vec<[u64; 4]>,
    /// Per class: bytes on which the cut-off automaton stays open.
    pub open_bytes: Vec<[u64; 4]>,
    /// Per class: one member state (the cut-off transitions of a class are
    /// those of any member, up to classes).
    rep: Vec<u32>,
    /// Per class: the canonical name and the width (most open bytes of a
    /// reachable class), computed on first use.
    names: Vec<OnceLock<(u128, u32)>>,
}

impl InsideClasses {
    pub fn of(d: &Dfa) -> InsideClasses {
        let n = d.num_states();
        let reps = d.class_representatives();
        let members = d.class_members();
        // Cut-off transitions: into accepting or dead states → dead.
        let cut = |s: u32, b: u8| -> u32 {
            let t = d.next(s, b);
            if t == DEAD || d.accepts(t) { DEAD } else { t }
        };
        let open = |s: usize| s != DEAD as usize && !d.accepts(s as u32);
        // Moore refinement of the open states, starting from one block.
        let mut block: Vec<u32> = (0..n).map(|s| if open(s) { 1 } else { 0 }).collect();
        let mut count = 2;
        if n > MAX_REFINED_STATES {
            // One class per state: finer than needed, still sound.
            block = (0..n)
                .map(|s| if open(s) { s as u32 + 1 } else { 0 })
                .collect();
            count = n + 1;
        }
        while n <= MAX_REFINED_STATES {
            let mut ids: FastMap<Vec<u32>, u32> = FastMap::default();
            let mut next = vec![0u32; n];
            for s in 0..n {
                if !open(s) {
                    continue;
                }
                let mut sig = Vec::with_capacity(reps.len() + 1);
                sig.push(block[s]);
                for &b in &reps {
                    sig.push(block[cut(s as u32, b) as usize]);
                }
                let k = ids.len() as u32 + 1;
                next[s] = *ids.entry(sig).or_insert(k);
            }
            let c = ids.len() + 1;
            block = next;
            if c == count {
                break;
            }
            count = c;
        }
        let mut accept_bytes = vec![[0u64; 4]; count + 1];
        let mut class_of = vec![0u32; n];
        for s in 0..n {
            if s == DEAD as usize {
                continue;
            }
            if d.accepts(s as u32) {
                class_of[s] = ACCEPTING_CLASS;
                continue;
            }
            let c = block[s];
            class_of[s] = c;
            for (ci, &b) in reps.iter().enumerate() {
                let t = d.next(s as u32, b);
                if t != DEAD && d.accepts(t) {
                    for &m in &members[ci] {
                        accept_bytes[c as usize][(m >> 6) as usize] |= 1 << (m & 63);
                    }
                }
            }
        }
        let mut rep = vec![DEAD; count + 1];
        for s in (0..n).rev() {
            let c = class_of[s];
            if c != ACCEPTING_CLASS && c != 0 {
                rep[c as usize] = s as u32;
            }
        }
        let mut open_bytes = vec![[0u64; 4]; count + 1];
        for (c, &r) in rep.iter().enumerate() {
            if r == DEAD {
                continue;
            }
            for b in 0..=255u8 {
                let t = d.next(r, b);
                if t != DEAD && !d.accepts(t) {
                    open_bytes[c][(b >> 6) as usize] |= 1 << (b & 63);
                }
            }
        }
        InsideClasses {
            class_of,
            accept_bytes,
            open_bytes,
            names: (0..rep.len()).map(|_| OnceLock::new()).collect(),
            rep,
        }
    }

    /// The class reached from class `c` on byte `b` in the cut-off
    /// automaton (0 when the byte dies or completes the lexeme).
    fn cut_next(&self, d: &Dfa, c: u32, b: u8) -> u32 {
        let t = d.next(self.rep[c as usize], b);
        match self.class_of[t as usize] {
            ACCEPTING_CLASS => 0,
            x => x,
        }
    }

    /// A necessary condition for `simulates`, checked on the first byte
    /// only: cheap enough to run on every pair of a wide lexer state.
    pub fn may_simulate(ca: &InsideClasses, a: u32, cb: &InsideClasses, b: u32) -> bool {
        let (a, b) = (a as usize, b as usize);
        if a >= ca.open_bytes.len() || b >= cb.open_bytes.len() {
            return false;
        }
        (0..4).all(|i| {
            ca.open_bytes[a][i] & !cb.open_bytes[b][i] == 0
                && ca.accept_bytes[a][i] & !cb.accept_bytes[b][i] == 0
        })
    }

    /// A name for class `c` equal across automata whose cut-off behavior
    /// from their classes is the same (falls back to `(automaton, class)`
    /// for large automata).
    #[cfg(test)]
    pub fn name(&self, d: &Dfa, c: u32) -> u128 {
        self.name_width(d, c).0
    }

    /// The name of class `c` and its width: the most bytes on which a
    /// class reachable from it stays open (1 for a literal word). Only wide
    /// classes can simulate others.
    pub fn name_width(&self, d: &Dfa, c: u32) -> (u128, u32) {
        if c == 0 || c == ACCEPTING_CLASS || c as usize >= self.names.len() {
            return (d.content_id() ^ c as u128, u32::MAX);
        }
        *self.names[c as usize].get_or_init(|| self.canonical(d, c))
    }

    /// Whether byte `b` may lead a state of class `c` to acceptance.
    #[cfg(test)]
    pub fn may_accept(&self, c: u32, b: u8) -> bool {
        self.accept_bytes
            .get(c as usize)
            .is_some_and(|w| (w[(b >> 6) as usize] >> (b & 63)) & 1 == 1)
    }

    fn canonical(&self, d: &Dfa, c: u32) -> (u128, u32) {
        let mut order = vec![c];
        let mut num: FastMap<u32, u32> = FastMap::default();
        num.insert(0, 0);
        num.insert(c, 1);
        let mut h = Sha256::new();
        let mut width = 0;
        let mut i = 0;
        while i < order.len() {
            let x = order[i];
            i += 1;
            width = width.max(
                self.open_bytes[x as usize]
                    .iter()
                    .map(|w| w.count_ones())
                    .sum::<u32>(),
            );
            for w in self.accept_bytes[x as usize] {
                h.update(w.to_le_bytes());
            }
            // Runs of equal targets: `(first byte, target)` per run.
            let mut last = u32::MAX;
            for b in 0..=255u8 {
                let t = self.cut_next(d, x, b);
                let k = num.len() as u32;
                let id = *num.entry(t).or_insert_with(|| {
                    order.push(t);
                    k
                });
                if id != last {
                    h.update([b]);
                    h.update(id.to_le_bytes());
                    last = id;
                }
            }
            h.update([0xff, 0xff, 0xff, 0xff, 0xff]);
            if order.len() > MAX_CANONICAL_BLOCKS {
                // A distinct tag keeps the fallback apart from real names.
                let mut f = Sha256::new();
                f.update(b"fallback");
                f.update(d.content_id().to_le_bytes());
                f.update(c.to_le_bytes());
                return (first_128(&f.finalize()), u32::MAX);
            }
        }
        (first_128(&h.finalize()), width)
    }
}

/// Pairs of classes explored before `simulates` gives up (and answers no,
/// which only costs sharing).
const MAX_SIMULATION_PAIRS: usize = 256;

/// Whether class `b` of `db` simulates class `a` of `da` in the cut-off
/// automata: every byte string that keeps `a` open keeps `b` open, and at
/// every step the bytes on which `a` may complete are among `b`'s. Then a
/// lexer state holding both has the inside tokens and frontier of the state
/// without `a` (a literal property name next to the general key string).
pub(crate) fn simulates(
    da: &Dfa,
    ca: &InsideClasses,
    a: u32,
    db: &Dfa,
    cb: &InsideClasses,
    b: u32,
) -> bool {
    let open =
        |c: &InsideClasses, x: u32| x != 0 && x != ACCEPTING_CLASS && (x as usize) < c.rep.len();
    if !open(ca, a) || !open(cb, b) {
        return false;
    }
    let mut seen: crate::hash::FastSet<(u32, u32)> = Default::default();
    let mut stack = vec![(a, b)];
    seen.insert((a, b));
    while let Some((x, y)) = stack.pop() {
        let (ax, by) = (&ca.accept_bytes[x as usize], &cb.accept_bytes[y as usize]);
        if (0..4).any(|i| ax[i] & !by[i] != 0) {
            return false;
        }
        for byte in 0..=255u8 {
            let tx = ca.cut_next(da, x, byte);
            if tx == 0 {
                continue;
            }
            let ty = cb.cut_next(db, y, byte);
            if ty == 0 {
                return false;
            }
            if seen.insert((tx, ty)) {
                if seen.len() > MAX_SIMULATION_PAIRS {
                    return false;
                }
                stack.push((tx, ty));
            }
        }
    }
    true
}

fn first_128(d: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dfa::SetOp;

    #[test]
    fn names_do_not_split_string_states() {
        let any = Dfa::from_hir(&regex_syntax::parse(r#""[a-z]*""#).unwrap(), 1000).unwrap();
        let names = Dfa::from_words([&b"\"abc\""[..], b"\"abd\""]);
        let d = Dfa::product(&any, &names, SetOp::Difference, 1000).unwrap();
        let cls = InsideClasses::of(&d);
        let after = |w: &[u8]| {
            let mut s = d.start();
            for &b in w {
                s = d.next(s, b);
            }
            s
        };
        let (s1, s2, s3) = (after(b"\"a"), after(b"\"ab"), after(b"\"x"));
        assert_ne!(s1, s3);
        assert_eq!(cls.class_of[s1 as usize], cls.class_of[s3 as usize]);
        assert_eq!(cls.class_of[s2 as usize], cls.class_of[s3 as usize]);
        assert!(cls.may_accept(cls.class_of[s2 as usize], b'"'));
        assert!(!cls.may_accept(cls.class_of[s2 as usize], b'a'));
        // The same class as in a plain string, across automata.
        let c_any = InsideClasses::of(&any);
        let a1 = {
            let mut s = any.start();
            for &b in b"\"x" {
                s = any.next(s, b);
            }
            s
        };
        assert_eq!(
            cls.name(&d, cls.class_of[s2 as usize]),
            c_any.name(&any, c_any.class_of[a1 as usize])
        );
        // The general string simulates a literal name, not the reverse.
        let lit = Dfa::from_words([&b"\"abc\""[..]]);
        let c_lit = InsideClasses::of(&lit);
        let l1 = lit.next(lit.start(), b'"');
        let (ca1, cl1) = (c_any.class_of[a1 as usize], c_lit.class_of[l1 as usize]);
        assert!(simulates(&lit, &c_lit, cl1, &any, &c_any, ca1));
        assert!(!simulates(&any, &c_any, ca1, &lit, &c_lit, cl1));
        let start_any = c_any.class_of[any.start() as usize];
        assert_ne!(
            c_any.name(&any, start_any),
            c_any.name(&any, c_any.class_of[a1 as usize])
        );
    }
}
