//! Context-free grammars over lexemes: what every front-end compiles into.
//!
//! A front-end (JSON Schema, GBNF, regex, choice) creates lexemes (DFAs with
//! optional character-count bounds) and rules through `GrammarBuilder`;
//! `finish` removes unproductive and unreachable rules, so every symbol the
//! parser predicts can be completed, and flattens the rules into the compact
//! form the Earley parser walks.

use std::sync::{Arc, OnceLock};

use crate::chardist::CharDist;
use crate::dfa::{Dfa, SetOp};
use crate::error::CompileError;
use crate::hash::FastMap;

/// A grammar symbol: a lexeme (terminal) or a nonterminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sym {
    T(u32),
    N(u32),
}

/// A terminal: a DFA over bytes plus bounds on its decoded character count
/// (used for JSON strings' `minLength`/`maxLength` and the engine's length
/// limits, which would blow up a DFA if unrolled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LexemeDef {
    pub dfa: u32,
    pub min_chars: u32,
    pub max_chars: u32,
}

/// States allowed per lexeme DFA; larger patterns are refused.
pub const DFA_STATE_LIMIT: usize = 20_000;

pub(crate) const TERM_BIT: u32 = 1 << 31;
pub(crate) const END_BIT: u32 = 1 << 30;

/// Builds a grammar; see the module docs.
#[derive(Default)]
pub struct GrammarBuilder {
    dfas: Vec<Arc<Dfa>>,
    dfa_ids: FastMap<Arc<Dfa>, u32>,
    lexemes: Vec<LexemeDef>,
    lexeme_ids: FastMap<LexemeDef, u32>,
    rules: Vec<Vec<Vec<Sym>>>,
    names: Vec<String>,
    literal_ids: FastMap<Vec<u8>, Sym>,
    empty_word: Option<Arc<Dfa>>,
}

impl GrammarBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn add_dfa(&mut self, dfa: Arc<Dfa>) -> u32 {
        if let Some(&id) = self.dfa_ids.get(&dfa) {
            return id;
        }
        let id = self.dfas.len() as u32;
        self.dfas.push(dfa.clone());
        self.dfa_ids.insert(dfa, id);
        id
    }

    /// A lexeme for `dfa` with character bounds. A DFA that accepts the empty
    /// word becomes `lexeme | ε`, since lexemes themselves are never empty;
    /// an empty language gives `None`.
    pub fn lexeme(
        &mut self,
        dfa: impl Into<Arc<Dfa>>,
        min_chars: u32,
        max_chars: u32,
    ) -> Option<Sym> {
        let dfa: Arc<Dfa> = dfa.into();
        if dfa.is_empty_language() || min_chars > max_chars {
            return None;
        }
        let nullable = dfa.accepts(dfa.start());
        let dfa = if nullable {
            let eps = self
                .empty_word
                .get_or_insert_with(|| Arc::new(Dfa::from_words([&b""[..]])))
                .clone();
            // The difference of a DFA and {ε} never has more states than the DFA.
            match Dfa::product(&dfa, &eps, SetOp::Difference, usize::MAX) {
                Ok(d) => Arc::new(d),
                Err(_) => return None,
            }
        } else {
            dfa
        };
        // Lexemes whose character bounds no word can meet admit nothing.
        let reachable = !dfa.is_empty_language() && {
            let dist = dfa.char_dist();
            let st = dfa.start() as usize;
            dist.min[st] <= max_chars
                && (dist.max[st] == crate::chardist::INF || dist.max[st] >= min_chars)
        };
        let body = if !reachable {
            None
        } else {
            let d = self.add_dfa(dfa);
            let def = LexemeDef {
                dfa: d,
                min_chars,
                max_chars,
            };
            let id = match self.lexeme_ids.get(&def) {
                Some(&id) => id,
                None => {
                    let id = self.lexemes.len() as u32;
                    self.lexemes.push(def);
                    self.lexeme_ids.insert(def, id);
                    id
                }
            };
            Some(Sym::T(id))
        };
        if nullable && min_chars == 0 {
            let n = self.nonterminal("opt_lexeme");
            self.rule(n, vec![]);
            if let Some(b) = body {
                self.rule(n, vec![b]);
            }
            Some(Sym::N(n))
        } else {
            body
        }
    }

    /// A lexeme matching exactly `bytes` (non-empty).
    pub fn literal(&mut self, bytes: &[u8]) -> Sym {
        if let Some(&s) = self.literal_ids.get(bytes) {
            return s;
        }
        let dfa = crate::dfa_cache::cached(&format!("lit:{}", bytes.escape_ascii()), || {
            Ok::<_, std::convert::Infallible>(Dfa::from_words([bytes]))
        });
        let dfa = match dfa {
            Ok(d) => d,
            Err(e) => match e {},
        };
        let sym = match self.lexeme(dfa, 0, u32::MAX) {
            Some(s) => s,
            None => {
                // Only the empty literal can end up here: an empty sequence.
                let n = self.nonterminal("empty");
                self.rule(n, vec![]);
                Sym::N(n)
            }
        };
        self.literal_ids.insert(bytes.to_vec(), sym);
        sym
    }

    /// A fresh nonterminal; `name` is for debugging output only.
    pub fn nonterminal(&mut self, name: &str) -> u32 {
        self.rules.push(Vec::new());
        self.names.push(name.to_string());
        (self.rules.len() - 1) as u32
    }

    /// Adds the alternative `nt → rhs`.
    pub fn rule(&mut self, nt: u32, rhs: Vec<Sym>) {
        self.rules[nt as usize].push(rhs);
    }

    /// A nonterminal deriving exactly the sequence `rhs`.
    pub fn seq(&mut self, name: &str, rhs: Vec<Sym>) -> Sym {
        if rhs.len() == 1 {
            return rhs[0];
        }
        let n = self.nonterminal(name);
        self.rule(n, rhs);
        Sym::N(n)
    }

    /// A nonterminal deriving any one of `alts`.
    pub fn choice(&mut self, name: &str, alts: Vec<Sym>) -> Sym {
        if alts.len() == 1 {
            return alts[0];
        }
        let n = self.nonterminal(name);
        for a in alts {
            self.rule(n, vec![a]);
        }
        Sym::N(n)
    }

    pub fn num_nonterminals(&self) -> usize {
        self.rules.len()
    }

    pub fn num_rules(&self) -> usize {
        self.rules.iter().map(|r| r.len()).sum()
    }

    /// The alternatives of `nt` so far, for analyses before `finish`.
    pub(crate) fn alternatives(&self, nt: u32) -> &[Vec<Sym>] {
        &self.rules[nt as usize]
    }

    pub(crate) fn num_lexemes(&self) -> usize {
        self.lexemes.len()
    }

    /// The DFA of lexeme `t`.
    pub(crate) fn lexeme_dfa(&self, t: u32) -> &Dfa {
        &self.dfas[self.lexemes[t as usize].dfa as usize]
    }

    /// Cleans up and flattens the grammar rooted at `start`. `max_ws` is the
    /// number of whitespace bytes the lexer skips before a lexeme.
    pub fn finish(mut self, start: Sym, max_ws: u8) -> Result<Grammar, CompileError> {
        let root = self.nonterminal("start");
        self.rule(root, vec![start]);
        let n = self.rules.len();
        // Productive nonterminals: those deriving some string of lexemes.
        let mut productive = vec![false; n];
        loop {
            let mut changed = false;
            for nt in 0..n {
                if productive[nt] {
                    continue;
                }
                let ok = self.rules[nt].iter().any(|alt| {
                    alt.iter().all(|s| match s {
                        Sym::T(_) => true,
                        Sym::N(m) => productive[*m as usize],
                    })
                });
                if ok {
                    productive[nt] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        if !productive[root as usize] {
            return Err(CompileError::unsatisfiable(
                "",
                "",
                "no value satisfies the constraints",
            ));
        }
        for alts in &mut self.rules {
            alts.retain(|alt| {
                alt.iter().all(|s| {
                    matches!(s, Sym::T(_)) || matches!(s, Sym::N(m) if productive[*m as usize])
                })
            });
        }
        // Reachable nonterminals from the root.
        let mut reach = vec![false; n];
        let mut stack = vec![root];
        reach[root as usize] = true;
        while let Some(nt) = stack.pop() {
            for alt in &self.rules[nt as usize] {
                for s in alt {
                    if let Sym::N(m) = *s {
                        if !reach[m as usize] {
                            reach[m as usize] = true;
                            stack.push(m);
                        }
                    }
                }
            }
        }
        // Nullable nonterminals.
        let mut nullable = vec![false; n];
        loop {
            let mut changed = false;
            for nt in 0..n {
                if !nullable[nt]
                    && self.rules[nt].iter().any(|alt| {
                        alt.iter()
                            .all(|s| matches!(s, Sym::N(m) if nullable[*m as usize]))
                    })
                {
                    nullable[nt] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut rhs = Vec::new();
        let mut rule_lhs = Vec::new();
        let mut rule_start = Vec::new();
        let mut nt_rules: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut start_rule = 0;
        for nt in 0..n {
            if !reach[nt] {
                continue;
            }
            for alt in &self.rules[nt] {
                let r = rule_lhs.len() as u32;
                if nt == root as usize {
                    start_rule = r;
                }
                rule_lhs.push(nt as u32);
                rule_start.push(rhs.len() as u32);
                nt_rules[nt].push(rhs.len() as u32);
                for s in alt {
                    rhs.push(match *s {
                        Sym::T(t) => t | TERM_BIT,
                        Sym::N(m) => m,
                    });
                }
                rhs.push(r | END_BIT);
            }
        }
        if rhs.len() >= END_BIT as usize || rule_lhs.len() >= END_BIT as usize {
            return Err(CompileError::too_complex("", "", "grammar too large"));
        }
        let mut nt_rule_offsets = Vec::with_capacity(n + 1);
        let mut nt_rule_list = Vec::new();
        nt_rule_offsets.push(0u32);
        for list in nt_rules {
            nt_rule_list.extend(list);
            nt_rule_offsets.push(nt_rule_list.len() as u32);
        }
        let dists = self.dfas.iter().map(|d| d.char_dist()).collect();
        Ok(Grammar {
            dists,
            rhs,
            rule_lhs,
            nt_rule_offsets,
            nt_rule_list,
            nullable,
            start_rule,
            lexemes: self.lexemes,
            dfas: self.dfas,
            max_ws,
            names: self.names,
            yields: OnceLock::new(),
        })
    }
}

/// A flattened, cleaned grammar. Rules are stored one after another in
/// `rhs`, each ending with an `END_BIT | rule` marker, so an Earley item is
/// just a position in `rhs` and an origin row.
#[derive(Debug)]
pub struct Grammar {
    pub(crate) rhs: Vec<u32>,
    pub(crate) rule_lhs: Vec<u32>,
    nt_rule_offsets: Vec<u32>,
    nt_rule_list: Vec<u32>,
    pub(crate) nullable: Vec<bool>,
    pub(crate) start_rule: u32,
    pub(crate) lexemes: Vec<LexemeDef>,
    pub(crate) dfas: Vec<Arc<Dfa>>,
    /// Character distances per DFA, for the lexer's bound checks.
    pub(crate) dists: Vec<Arc<CharDist>>,
    pub(crate) max_ws: u8,
    names: Vec<String>,
    /// Shortest yields, for the exact pre-flight (built on first use).
    yields: OnceLock<crate::complete::Yields>,
}

impl Grammar {
    /// Positions in `rhs` where the alternatives of `nt` start.
    #[inline]
    pub(crate) fn rules_of(&self, nt: u32) -> &[u32] {
        let a = self.nt_rule_offsets[nt as usize] as usize;
        let b = self.nt_rule_offsets[nt as usize + 1] as usize;
        &self.nt_rule_list[a..b]
    }

    /// Every symbol's shortest yield (see `complete`).
    pub(crate) fn yields(&self) -> &crate::complete::Yields {
        self.yields
            .get_or_init(|| crate::complete::Yields::of(self))
    }

    pub fn num_lexemes(&self) -> usize {
        self.lexemes.len()
    }

    pub fn num_rules(&self) -> usize {
        self.rule_lhs.len()
    }

    pub fn lexeme(&self, t: u32) -> &LexemeDef {
        &self.lexemes[t as usize]
    }

    pub fn dfa(&self, d: u32) -> &Dfa {
        &self.dfas[d as usize]
    }

    pub fn dfas(&self) -> &[Arc<Dfa>] {
        &self.dfas
    }

    /// The whitespace the lexer skips before each lexeme.
    pub fn max_ws(&self) -> u8 {
        self.max_ws
    }

    /// Human-readable rules, for debugging.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for (r, &lhs) in self.rule_lhs.iter().enumerate() {
            out.push_str(&format!("{}#{} ::=", self.names[lhs as usize], lhs));
            let mut p = self.rules_start(r);
            while self.rhs[p] & END_BIT == 0 || self.rhs[p] & TERM_BIT != 0 {
                let s = self.rhs[p];
                if s & TERM_BIT != 0 {
                    out.push_str(&format!(" L{}", s & !TERM_BIT));
                } else {
                    out.push_str(&format!(" {}#{}", self.names[s as usize], s));
                }
                p += 1;
            }
            out.push('\n');
        }
        out
    }

    fn rules_start(&self, r: usize) -> usize {
        let mut p = 0;
        let mut seen = 0;
        while seen < r {
            if self.rhs[p] & END_BIT != 0 && self.rhs[p] & TERM_BIT == 0 {
                seen += 1;
            }
            p += 1;
        }
        p
    }
}
