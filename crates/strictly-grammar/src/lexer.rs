//! The lexer: the set of lexemes still possible at the current byte.
//!
//! A lexer state (`LexState`) is the set of `(lexeme, DFA state)` pairs alive
//! after the bytes of the current lexeme, interned so that its transitions
//! can be cached in a flat table: after warm-up, a byte costs one lookup.
//! Around that, `LexPos` carries what does not fit in a finite table: how
//! many characters of a JSON string have been read (for `minLength`,
//! `maxLength` and the engine's length limits), the escape state used to
//! count them, and the whitespace skipped before the lexeme.
//!
//! Lexing is greedy: a lexeme ends when the next byte cannot extend it. The
//! grammars built here never need the other choice (JSON lexemes end with a
//! closing quote, or are followed by punctuation that cannot extend them;
//! GBNF lexemes are single bytes), so greedy lexing is exact.

use crate::chardist::INF;
use crate::dfa::DEAD;
use crate::grammar::Grammar;
use crate::hash::FastMap;

/// Marks a transition not computed yet.
const UNKNOWN: u32 = u32::MAX;

/// The dead lexer state: no lexeme can continue.
pub(crate) const DEAD_STATE: u32 = 0;

#[derive(Debug)]
pub(crate) struct LexState {
    /// Alive `(lexeme, dfa state)` pairs, sorted.
    pub comps: Box<[(u32, u32)]>,
    /// No byte of the lexeme has been read yet (whitespace may be skipped).
    pub is_start: bool,
    /// Lexemes whose DFA accepts here (character bounds not yet checked).
    pub accepting: Box<[u32]>,
    /// All lexemes can still complete within their bounds while the
    /// character count is in `hi_need..=lo_ok`.
    pub lo_ok: u32,
    pub hi_need: u32,
    /// Whether acceptance depends on the character count.
    pub count_dependent: bool,
}

/// Position inside the current lexeme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LexPos {
    pub l: u32,
    pub chars: u32,
    pub esc: u8,
    pub ws: u8,
}

impl LexPos {
    pub fn start(l: u32) -> LexPos {
        LexPos {
            l,
            chars: 0,
            esc: 0,
            ws: 0,
        }
    }
}

/// Result of feeding one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The byte extends the current lexeme (or is skipped whitespace).
    Continue(LexPos),
    /// The byte cannot extend the lexeme, which is complete: the caller
    /// scans it and feeds the byte to the next lexeme.
    End,
    Dead,
}

#[inline]
pub(crate) fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Counts decoded JSON string characters: every byte that starts a UTF-8
/// sequence or an escape counts one, except quotes, escape tails and
/// continuation bytes. `esc` is 0 normally, 1 after a backslash and 2..=5
/// inside the hex digits of `\uXXXX`.
#[inline]
pub(crate) fn count_char(chars: u32, esc: u8, b: u8) -> (u32, u8) {
    match esc {
        0 => {
            if b == b'\\' {
                (chars + 1, 1)
            } else if b == b'"' || b & 0xC0 == 0x80 {
                (chars, 0)
            } else {
                (chars + 1, 0)
            }
        }
        1 => (chars, if b == b'u' { 2 } else { 0 }),
        5 => (chars, 0),
        e => (chars, e + 1),
    }
}

pub(crate) struct Lexer {
    pub states: Vec<LexState>,
    trans: Vec<u32>,
    ids: FastMap<(Box<[(u32, u32)]>, bool), u32>,
    start_of_set: Vec<u32>,
    accepted: Vec<u32>,
    /// Per state: bytes that may complete a lexeme (see `walk::may_accept`).
    may_accept: Vec<Option<[u64; 4]>>,
}

impl Lexer {
    pub fn new() -> Lexer {
        let mut lx = Lexer {
            states: Vec::new(),
            trans: Vec::new(),
            ids: FastMap::default(),
            start_of_set: Vec::new(),
            accepted: Vec::new(),
            may_accept: Vec::new(),
        };
        lx.states.push(LexState {
            comps: Box::new([]),
            is_start: false,
            accepting: Box::new([]),
            lo_ok: u32::MAX,
            hi_need: 0,
            count_dependent: false,
        });
        lx.trans.extend(std::iter::repeat_n(DEAD_STATE, 256));
        lx
    }

    fn intern(&mut self, g: &Grammar, comps: Vec<(u32, u32)>, is_start: bool) -> u32 {
        if comps.is_empty() && !is_start {
            return DEAD_STATE;
        }
        let key = (comps.into_boxed_slice(), is_start);
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let comps = key.0.clone();
        let mut accepting = Vec::new();
        let mut lo_ok = u32::MAX;
        let mut hi_need = 0;
        let mut count_dependent = false;
        for &(t, s) in comps.iter() {
            let def = g.lexeme(t);
            let dist = &g.dists[def.dfa as usize];
            lo_ok = lo_ok.min(def.max_chars.saturating_sub(dist.min[s as usize]));
            let mx = dist.max[s as usize];
            if mx != INF {
                hi_need = hi_need.max(def.min_chars.saturating_sub(mx));
            }
            if g.dfa(def.dfa).accepts(s) {
                accepting.push(t);
                if def.min_chars > 0 || def.max_chars != u32::MAX {
                    count_dependent = true;
                }
            }
        }
        let id = self.states.len() as u32;
        self.states.push(LexState {
            comps,
            is_start,
            accepting: accepting.into_boxed_slice(),
            lo_ok,
            hi_need,
            count_dependent,
        });
        self.trans.extend(std::iter::repeat_n(UNKNOWN, 256));
        self.ids.insert(key, id);
        id
    }

    /// The lexer state that starts any of the lexemes in allowed set `set`.
    pub fn start_state(&mut self, g: &Grammar, set: u32, lexemes: &[u32]) -> u32 {
        if let Some(&l) = self.start_of_set.get(set as usize) {
            if l != UNKNOWN {
                return l;
            }
        }
        let comps: Vec<(u32, u32)> = lexemes
            .iter()
            .map(|&t| (t, g.dfa(g.lexeme(t).dfa).start()))
            .collect();
        let l = self.intern(g, comps, true);
        if self.start_of_set.len() <= set as usize {
            self.start_of_set.resize(set as usize + 1, UNKNOWN);
        }
        self.start_of_set[set as usize] = l;
        l
    }

    /// The DFA-level transition of a lexer state, ignoring counts.
    #[inline]
    pub fn next(&mut self, g: &Grammar, l: u32, b: u8) -> u32 {
        let t = self.trans[l as usize * 256 + b as usize];
        if t != UNKNOWN {
            return t;
        }
        self.next_slow(g, l, b)
    }

    #[cold]
    fn next_slow(&mut self, g: &Grammar, l: u32, b: u8) -> u32 {
        let mut comps = Vec::with_capacity(self.states[l as usize].comps.len());
        for &(t, s) in self.states[l as usize].comps.iter() {
            let n = g.dfa(g.lexeme(t).dfa).next(s, b);
            if n != DEAD {
                comps.push((t, n));
            }
        }
        let n = self.intern(g, comps, false);
        self.trans[l as usize * 256 + b as usize] = n;
        n
    }

    /// Keeps the lexemes that can still complete within their character
    /// bounds after `chars` characters.
    fn filter_count(&mut self, g: &Grammar, l: u32, chars: u32) -> u32 {
        let comps: Vec<(u32, u32)> = self.states[l as usize]
            .comps
            .iter()
            .copied()
            .filter(|&(t, s)| {
                let def = g.lexeme(t);
                let dist = &g.dists[def.dfa as usize];
                let (lo, hi) = (dist.min[s as usize], dist.max[s as usize]);
                chars.saturating_add(lo) <= def.max_chars
                    && (hi == INF || chars.saturating_add(hi) >= def.min_chars)
            })
            .collect();
        self.intern(g, comps, false)
    }

    /// The DFA-level step used for the inside-token cache: no counts and
    /// no lexeme ends; `None` when the byte cannot continue the lexeme.
    #[inline]
    pub fn step_pure(&mut self, g: &Grammar, l: u32, ws: u8, b: u8) -> Option<(u32, u8)> {
        let st = &self.states[l as usize];
        if st.is_start && is_json_ws(b) && ws < g.max_ws && !st.comps.is_empty() {
            return Some((l, ws + 1));
        }
        let nl = self.next(g, l, b);
        (nl != DEAD_STATE).then_some((nl, 0))
    }

    /// Feeds byte `b` at `pos`.
    #[inline]
    pub fn step(&mut self, g: &Grammar, pos: LexPos, b: u8) -> Step {
        self.step_inline(g, pos, b)
    }

    /// `step`, always inlined: for the one call per trie edge in mask walks,
    /// where a call and a result passed through memory cost more than the
    /// table lookup itself.
    #[inline(always)]
    pub fn step_inline(&mut self, g: &Grammar, pos: LexPos, b: u8) -> Step {
        let st = &self.states[pos.l as usize];
        if st.is_start && is_json_ws(b) && pos.ws < g.max_ws && !st.comps.is_empty() {
            return Step::Continue(LexPos {
                ws: pos.ws + 1,
                ..pos
            });
        }
        let nl = self.next(g, pos.l, b);
        if nl != DEAD_STATE {
            let (chars, esc) = count_char(pos.chars, pos.esc, b);
            let mut l = nl;
            let st = &self.states[nl as usize];
            if chars > st.lo_ok || chars < st.hi_need {
                l = self.filter_count(g, nl, chars);
            }
            if l != DEAD_STATE {
                return Step::Continue(LexPos {
                    l,
                    chars,
                    esc,
                    ws: 0,
                });
            }
        }
        if !self.states[pos.l as usize].is_start && self.any_accepted(g, pos) {
            Step::End
        } else {
            Step::Dead
        }
    }

    /// The lexemes complete at `pos`, sorted (valid until the next call).
    pub fn accepted(&mut self, g: &Grammar, pos: LexPos) -> &[u32] {
        let st = &self.states[pos.l as usize];
        if !st.count_dependent {
            return &self.states[pos.l as usize].accepting;
        }
        self.accepted.clear();
        for &t in st.accepting.iter() {
            let def = g.lexeme(t);
            if def.min_chars <= pos.chars && pos.chars <= def.max_chars {
                self.accepted.push(t);
            }
        }
        &self.accepted
    }

    /// Whether some lexeme is complete at `pos` (`accepted` without
    /// building the list).
    #[inline]
    fn any_accepted(&self, g: &Grammar, pos: LexPos) -> bool {
        let st = &self.states[pos.l as usize];
        if !st.count_dependent {
            return !st.accepting.is_empty();
        }
        st.accepting.iter().any(|&t| {
            let def = g.lexeme(t);
            def.min_chars <= pos.chars && pos.chars <= def.max_chars
        })
    }

    /// Whether the accepted set at `pos` depends on the character count.
    pub fn count_dependent(&self, l: u32) -> bool {
        self.states[l as usize].count_dependent
    }

    pub fn may_accept_mask(&self, l: u32) -> Option<[u64; 4]> {
        self.may_accept.get(l as usize).copied().flatten()
    }

    pub fn set_may_accept_mask(&mut self, l: u32, mask: [u64; 4]) {
        if self.may_accept.len() <= l as usize {
            self.may_accept.resize(l as usize + 1, None);
        }
        self.may_accept[l as usize] = Some(mask);
    }

    pub fn state(&self, l: u32) -> &LexState {
        &self.states[l as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_decoded_characters() {
        let mut c = (0, 0);
        for &b in "\"aé\\n\\u00e9\"".as_bytes() {
            c = count_char(c.0, c.1, b);
        }
        assert_eq!(c, (4, 0));
    }
}
