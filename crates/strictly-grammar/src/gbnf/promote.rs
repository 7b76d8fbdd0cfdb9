//! When a regular piece of a GBNF grammar may be one lexeme.
//!
//! Lowered character by character, a grammar is exact under the greedy
//! lexer, since a one-character lexeme never extends past its character;
//! but then every character of every token costs a parser step. A regular
//! piece (a string, an identifier, a field) lexed as one DFA costs a table
//! lookup per byte instead. The greedy lexer keeps such a lexeme `R` exact
//! when
//!
//! 1. no byte that continues `R` from an accepting state can follow `R`
//!    in the grammar (so ending `R` there could never have led anywhere),
//! 2. no other lexeme starts with a byte `R` starts with (so `R` is never
//!    alive beside another lexeme that might end first).
//!
//! `violations` checks both on the lowered grammar with FIRST and FOLLOW
//! sets over bytes; the pieces that fail are lowered by character instead.

use crate::dfa::DEAD;
use crate::grammar::{GrammarBuilder, Sym};

/// A set of bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bytes([u64; 4]);

impl Bytes {
    fn insert(&mut self, b: u8) {
        self.0[b as usize / 64] |= 1 << (b % 64);
    }

    /// Adds `other`; whether anything was new.
    fn union(&mut self, other: &Bytes) -> bool {
        let mut changed = false;
        for (a, b) in self.0.iter_mut().zip(other.0) {
            changed |= *a | b != *a;
            *a |= b;
        }
        changed
    }

    fn meets(&self, other: &Bytes) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }
}

/// The keys of the promoted pieces (`(lexeme, key)` pairs) whose lexeme
/// breaks a condition of the module docs in the grammar rooted at `root`.
pub(crate) fn violations(b: &GrammarBuilder, root: u32, promoted: &[(u32, usize)]) -> Vec<usize> {
    let n = b.num_nonterminals();
    let nl = b.num_lexemes();
    // What the root reaches.
    let mut reach = vec![false; n];
    let mut reach_lex = vec![false; nl];
    let mut stack = vec![root];
    reach[root as usize] = true;
    while let Some(nt) = stack.pop() {
        for alt in b.alternatives(nt) {
            for s in alt {
                match *s {
                    Sym::T(t) => reach_lex[t as usize] = true,
                    Sym::N(m) if !reach[m as usize] => {
                        reach[m as usize] = true;
                        stack.push(m);
                    }
                    Sym::N(_) => {}
                }
            }
        }
    }
    let lex_first: Vec<Bytes> = (0..nl as u32)
        .map(|t| {
            let dfa = b.lexeme_dfa(t);
            let mut f = Bytes::default();
            for byte in 0..=255u8 {
                if dfa.next(dfa.start(), byte) != DEAD {
                    f.insert(byte);
                }
            }
            f
        })
        .collect();
    // Nullable nonterminals and their FIRST sets.
    let mut nullable = vec![false; n];
    let mut first = vec![Bytes::default(); n];
    let first_of = |seq: &[Sym], nullable: &[bool], first: &[Bytes]| -> (Bytes, bool) {
        let mut f = Bytes::default();
        for s in seq {
            match *s {
                Sym::T(t) => {
                    f.union(&lex_first[t as usize]);
                    return (f, false);
                }
                Sym::N(m) => {
                    f.union(&first[m as usize]);
                    if !nullable[m as usize] {
                        return (f, false);
                    }
                }
            }
        }
        (f, true)
    };
    loop {
        let mut changed = false;
        for nt in (0..n).filter(|&nt| reach[nt]) {
            for alt in b.alternatives(nt as u32) {
                let (f, null) = first_of(alt, &nullable, &first);
                changed |= first[nt].union(&f);
                if null && !nullable[nt] {
                    nullable[nt] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // FOLLOW sets of nonterminals and lexemes.
    let mut follow = vec![Bytes::default(); n];
    let mut follow_lex = vec![Bytes::default(); nl];
    loop {
        let mut changed = false;
        for nt in (0..n).filter(|&nt| reach[nt]) {
            for alt in b.alternatives(nt as u32) {
                for (i, s) in alt.iter().enumerate() {
                    let (mut f, null) = first_of(&alt[i + 1..], &nullable, &first);
                    if null {
                        f.union(&follow[nt]);
                    }
                    changed |= match *s {
                        Sym::T(t) => follow_lex[t as usize].union(&f),
                        Sym::N(m) => follow[m as usize].union(&f),
                    };
                }
            }
        }
        if !changed {
            break;
        }
    }
    let bad_lexeme = |t: u32| -> bool {
        let dfa = b.lexeme_dfa(t);
        let mut goes_on = Bytes::default();
        for s in (0..dfa.num_states() as u32).filter(|&s| dfa.accepts(s)) {
            for byte in 0..=255u8 {
                if dfa.next(s, byte) != DEAD {
                    goes_on.insert(byte);
                }
            }
        }
        goes_on.meets(&follow_lex[t as usize])
            || (0..nl as u32).any(|u| {
                u != t
                    && reach_lex[u as usize]
                    && lex_first[t as usize].meets(&lex_first[u as usize])
            })
    };
    promoted
        .iter()
        .filter(|&&(t, _)| reach_lex[t as usize] && bad_lexeme(t))
        .map(|&(_, key)| key)
        .collect()
}
