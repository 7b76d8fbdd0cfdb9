//! An Earley parser over lexemes.
//!
//! Rows are appended as lexemes are scanned and truncated on rollback. An
//! item is `(position in Grammar::rhs, origin row)` packed in a `u64`.
//! Nullable nonterminals use the Aycock–Horspool rule (advance over a
//! nullable symbol at prediction time), so completions never have to look
//! at the row being built. Every row knows the set of lexemes it allows
//! next, which is what the lexer needs to start the next lexeme.
//!
//! Rows form a tree rather than a stack during mask computation: the trie
//! walk scans speculatively from several parents, and rows stay addressable
//! by index until the caller truncates them, because items refer to their
//! origin rows by index.

use crate::grammar::{END_BIT, Grammar, TERM_BIT};
use crate::hash::{FastMap, FastSet};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    items_start: u32,
    items_end: u32,
    /// Interned set of lexemes allowed after this row.
    pub allowed: u32,
    /// Whether the start symbol is complete at this row.
    pub accepting: bool,
}

#[inline]
fn item(pos: u32, origin: u32) -> u64 {
    ((pos as u64) << 32) | origin as u64
}

#[inline]
pub(crate) fn pos_of(it: u64) -> u32 {
    (it >> 32) as u32
}

#[inline]
pub(crate) fn origin_of(it: u64) -> u32 {
    it as u32
}

pub(crate) struct Parser {
    rows: Vec<Row>,
    items: Vec<u64>,
    seen: FastSet<u64>,
    allowed_sets: Vec<Vec<u32>>,
    allowed_ids: FastMap<Vec<u32>, u32>,
    scratch_terms: Vec<u32>,
}

impl Parser {
    pub fn new(g: &Grammar) -> Parser {
        let mut p = Parser {
            rows: Vec::new(),
            items: Vec::new(),
            seen: FastSet::default(),
            allowed_sets: Vec::new(),
            allowed_ids: FastMap::default(),
            scratch_terms: Vec::new(),
        };
        // The start rule's first position.
        let start_pos = start_position(g);
        p.seen.clear();
        p.items.push(item(start_pos, 0));
        p.seen.insert(item(start_pos, 0));
        p.close_row(g, 0);
        p
    }

    pub fn num_rows(&self) -> usize {
        self.rows.len()
    }

    #[inline]
    pub fn row(&self, r: u32) -> &Row {
        &self.rows[r as usize]
    }

    /// Drops rows `len..` (rollback, or the end of a speculative walk).
    pub fn truncate(&mut self, len: usize) {
        if len < self.rows.len() {
            self.items.truncate(self.rows[len].items_start as usize);
            self.rows.truncate(len);
        }
    }

    /// The items of row `r`.
    pub fn row_items(&self, r: u32) -> &[u64] {
        let row = &self.rows[r as usize];
        &self.items[row.items_start as usize..row.items_end as usize]
    }

    /// The lexemes allowed after a row, sorted.
    pub fn allowed_set(&self, id: u32) -> &[u32] {
        &self.allowed_sets[id as usize]
    }

    /// Scans any of the lexemes in `accepted` (sorted) after row `parent`;
    /// returns the new row, or `None` if the grammar allows none of them.
    pub fn scan(&mut self, g: &Grammar, parent: u32, accepted: &[u32]) -> Option<u32> {
        let r = self.rows.len() as u32;
        let p = self.rows[parent as usize];
        self.seen.clear();
        let start = self.items.len();
        for i in p.items_start..p.items_end {
            let it = self.items[i as usize];
            let sym = g.rhs[pos_of(it) as usize];
            if sym & TERM_BIT != 0 && accepted.binary_search(&(sym & !TERM_BIT)).is_ok() {
                let n = item(pos_of(it) + 1, origin_of(it));
                if self.seen.insert(n) {
                    self.items.push(n);
                }
            }
        }
        if self.items.len() == start {
            return None;
        }
        self.close_row(g, r);
        Some(r)
    }

    /// Completes and predicts the items of row `r` (whose scanned items are
    /// already pushed) and records the row.
    fn close_row(&mut self, g: &Grammar, r: u32) {
        // Rows and their items are appended in step (truncation removes
        // both), so row r's items start where row r - 1's end.
        let start = if r == 0 {
            0
        } else {
            self.rows[r as usize - 1].items_end as usize
        };
        let mut i = start;
        let mut accepting = false;
        self.scratch_terms.clear();
        while i < self.items.len() {
            let it = self.items[i];
            i += 1;
            let pos = pos_of(it);
            let origin = origin_of(it);
            let sym = g.rhs[pos as usize];
            if sym & TERM_BIT != 0 {
                self.scratch_terms.push(sym & !TERM_BIT);
            } else if sym & END_BIT != 0 {
                let rule = sym & !END_BIT;
                if rule == g.start_rule && origin == 0 {
                    accepting = true;
                }
                if origin == r {
                    continue;
                }
                let lhs = g.rule_lhs[rule as usize];
                let o = self.rows[origin as usize];
                for j in o.items_start..o.items_end {
                    let it2 = self.items[j as usize];
                    if g.rhs[pos_of(it2) as usize] == lhs {
                        let n = item(pos_of(it2) + 1, origin_of(it2));
                        if self.seen.insert(n) {
                            self.items.push(n);
                        }
                    }
                }
            } else {
                for &rp in g.rules_of(sym) {
                    let n = item(rp, r);
                    if self.seen.insert(n) {
                        self.items.push(n);
                    }
                }
                if g.nullable[sym as usize] {
                    let n = item(pos + 1, origin);
                    if self.seen.insert(n) {
                        self.items.push(n);
                    }
                }
            }
        }
        self.scratch_terms.sort_unstable();
        self.scratch_terms.dedup();
        let allowed = match self.allowed_ids.get(&self.scratch_terms) {
            Some(&id) => id,
            None => {
                let id = self.allowed_sets.len() as u32;
                self.allowed_sets.push(self.scratch_terms.clone());
                self.allowed_ids.insert(self.scratch_terms.clone(), id);
                id
            }
        };
        self.rows.push(Row {
            items_start: start as u32,
            items_end: self.items.len() as u32,
            allowed,
            accepting,
        });
    }

    /// Number of items in a row (for tests and statistics).
    #[cfg(test)]
    pub fn row_len(&self, r: u32) -> usize {
        let row = self.rows[r as usize];
        (row.items_end - row.items_start) as usize
    }
}

fn start_position(g: &Grammar) -> u32 {
    // The start rule is the one whose END marker carries `start_rule`; its
    // first position follows the previous rule's END marker.
    let mut pos = 0u32;
    let mut rule = 0u32;
    for (i, &s) in g.rhs.iter().enumerate() {
        if rule == g.start_rule {
            return pos;
        }
        if s & END_BIT != 0 && s & TERM_BIT == 0 {
            rule += 1;
            pos = i as u32 + 1;
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dfa::Dfa;
    use crate::grammar::{GrammarBuilder, Sym};

    /// S → a S b | c  (over literal lexemes), checked by scanning.
    #[test]
    fn nested_language() {
        let mut b = GrammarBuilder::new();
        let a = b.literal(b"a");
        let bb = b.literal(b"b");
        let c = b.literal(b"c");
        let s = b.nonterminal("S");
        b.rule(s, vec![a, Sym::N(s), bb]);
        b.rule(s, vec![c]);
        let g = b.finish(Sym::N(s), 0).unwrap();
        let lex = |sym: Sym| match sym {
            Sym::T(t) => t,
            _ => unreachable!(),
        };
        let (ta, tb, tc) = (lex(a), lex(bb), lex(c));
        let mut p = Parser::new(&g);
        let mut row = 0;
        for t in [ta, ta, tc, tb] {
            row = p.scan(&g, row, &[t]).unwrap();
            assert!(!p.row(row).accepting);
        }
        assert!(p.scan(&g, row, &[tc]).is_none());
        let end = p.scan(&g, row, &[tb]).unwrap();
        assert!(p.row(end).accepting);
        assert_eq!(p.allowed_set(p.row(end).allowed), &[] as &[u32]);
        let _ = Dfa::from_words([&b"x"[..]]);
    }

    /// Nullable chains: S → A B c, A → ε | a, B → ε | b.
    #[test]
    fn nullable_prediction() {
        let mut b = GrammarBuilder::new();
        let (a, bb, c) = (b.literal(b"a"), b.literal(b"b"), b.literal(b"c"));
        let na = b.nonterminal("A");
        b.rule(na, vec![]);
        b.rule(na, vec![a]);
        let nb = b.nonterminal("B");
        b.rule(nb, vec![]);
        b.rule(nb, vec![bb]);
        let s = b.seq("S", vec![Sym::N(na), Sym::N(nb), c]);
        let g = b.finish(s, 0).unwrap();
        let p = Parser::new(&g);
        let Sym::T(tc) = c else { unreachable!() };
        let allowed = p.allowed_set(p.row(0).allowed).to_vec();
        assert_eq!(allowed.len(), 3);
        let mut p = p;
        let r = p.scan(&g, 0, &[tc]).unwrap();
        assert!(p.row(r).accepting);
        assert!(p.row_len(r) >= 1);
    }
}
