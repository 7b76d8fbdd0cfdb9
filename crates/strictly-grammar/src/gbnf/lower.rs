//! GBNF rules into the engine's grammar. Regular pieces (strings,
//! identifiers, fields) become one lexeme each where `promote` shows the
//! greedy lexer stays exact; everything else is lowered character by
//! character (a lexeme per character, which never extends past it), and
//! the Earley parser does the rest. Repetitions are left-recursive, which
//! Earley parses in linear time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use regex_syntax::hir::{Class, ClassUnicode, Hir, Repetition};

use super::parse::{Expr, Rule, error_at};
use super::promote;
use crate::dfa::Dfa;
use crate::error::CompileError;
use crate::grammar::{DFA_STATE_LIMIT, Grammar, GrammarBuilder, Sym};

/// The rule generation starts from, as in llama.cpp.
const ROOT: &str = "root";

/// Lowerings tried before every piece is lowered by character.
const MAX_ROUNDS: usize = 64;

/// Regex nodes a piece may inline from the rules it uses.
const MAX_PIECE_NODES: usize = 20_000;

/// Rules inlined into a piece through references, at most deep (the
/// inlining recurses).
const MAX_INLINE_DEPTH: usize = 32;

/// A piece is lexed whole only if its DFA has at most this many states and
/// its NFA at most `PIECE_NFA_BYTES`: pieces worth it are strings and
/// identifiers, and large automata cost more to build than they save.
const PIECE_STATES: usize = 2_000;
const PIECE_NFA_BYTES: usize = 1 << 20;

/// DFA states all the pieces of one grammar may take (tried or built), so
/// that compile time stays linear in the grammar whatever it holds.
const ALL_PIECE_STATES: usize = 40_000;

/// Lowers `rules`; with `promote`, regular pieces become lexemes where
/// that stays exact.
pub(crate) fn lower(
    src: &str,
    rules: &[Rule],
    promote: bool,
    deadline: Instant,
    budget: Duration,
) -> Result<Grammar, CompileError> {
    // Pieces are tried in the first half of the budget only.
    let promote_until = deadline.checked_sub(budget / 2).unwrap_or(deadline);
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        if let Some(&first) = names.get(&r.name) {
            let (line, _) = super::parse::line_col(src, rules[first].at);
            return Err(error_at(
                src,
                r.at,
                format!("the rule `{}` is already defined on line {line}", r.name),
            ));
        }
        names.insert(r.name.clone(), i);
    }
    if !names.contains_key(ROOT) {
        return Err(error_at(src, 0, "the grammar has no `root` rule"));
    }
    let mut pieces = Pieces::default();
    let mut banned = HashSet::new();
    let first = if promote { 0 } else { MAX_ROUNDS };
    let mut round = first;
    while round <= MAX_ROUNDS {
        let promote = round < MAX_ROUNDS && Instant::now() < promote_until;
        let mut l = Lower {
            src,
            rules,
            names: &names,
            nts: Vec::new(),
            b: GrammarBuilder::new(),
            classes: HashMap::new(),
            pieces: &mut pieces,
            banned: &banned,
            promote,
            promoted: Vec::new(),
            deadline,
            budget,
        };
        let root = l.rules()?;
        let bad = promote::violations(&l.b, root, &l.promoted);
        if bad.is_empty() || !promote {
            let b = l.b;
            return b.finish(Sym::N(root), 0).map_err(|e| match e {
                CompileError::Unsatisfiable { .. } => {
                    error_at(src, 0, "no string matches the grammar from `root`")
                }
                other => other,
            });
        }
        banned.extend(bad);
        round += 1;
    }
    unreachable!("the last round promotes nothing")
}

/// Regexes and DFAs of pieces, kept across rounds.
#[derive(Default)]
struct Pieces {
    /// Rule index → its language as a regex and its size in nodes
    /// (`None`: recursive or too big).
    rules: HashMap<usize, Option<(Hir, usize)>>,
    /// Piece key → its DFA (`None`: over the state limit).
    dfas: HashMap<usize, Option<Arc<Dfa>>>,
    /// What is left of `ALL_PIECE_STATES`.
    states_spent: usize,
}

struct Lower<'a> {
    src: &'a str,
    rules: &'a [Rule],
    names: &'a HashMap<String, usize>,
    /// Rule index → nonterminal.
    nts: Vec<u32>,
    b: GrammarBuilder,
    /// One lexeme per distinct class.
    classes: HashMap<Vec<(char, char)>, Sym>,
    pieces: &'a mut Pieces,
    /// Pieces (by key) lowered by character in this round.
    banned: &'a HashSet<usize>,
    promote: bool,
    /// `(lexeme, piece key)` of the pieces lexed whole in this round.
    promoted: Vec<(u32, usize)>,
    deadline: Instant,
    budget: Duration,
}

/// A piece's key: the address of its node, stable across rounds.
fn key(e: &Expr) -> usize {
    e as *const Expr as usize
}

impl Lower<'_> {
    /// Lowers every rule; returns the root's nonterminal.
    fn rules(&mut self) -> Result<u32, CompileError> {
        self.nts = self
            .rules
            .iter()
            .map(|r| self.b.nonterminal(&r.name))
            .collect();
        for (i, r) in self.rules.iter().enumerate() {
            if Instant::now() > self.deadline {
                return Err(CompileError::too_complex(
                    "grammar",
                    "",
                    format!(
                        "compiling the grammar took longer than {:?} (at the rule `{}`)",
                        self.budget, r.name
                    ),
                ));
            }
            let nt = self.nts[i];
            if let Some(s) = self.piece(&r.body) {
                self.b.rule(nt, vec![s]);
                continue;
            }
            let alts = match &r.body {
                Expr::Alt(v) => v.as_slice(),
                e => std::slice::from_ref(e),
            };
            for alt in alts {
                let rhs = match self.piece(alt) {
                    Some(s) => vec![s],
                    None => self.sequence(alt)?,
                };
                self.b.rule(nt, rhs);
            }
        }
        Ok(self.nts[self.names[ROOT]])
    }

    /// The symbols of one alternative.
    fn sequence(&mut self, e: &Expr) -> Result<Vec<Sym>, CompileError> {
        match e {
            Expr::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(s) = self.piece(item) {
                        out.push(s);
                        continue;
                    }
                    match item {
                        Expr::Literal(s) => out.extend(self.chars(s)),
                        other => out.push(self.symbol(other)?),
                    }
                }
                Ok(out)
            }
            Expr::Literal(s) => Ok(self.chars(s)),
            other => Ok(vec![self.symbol(other)?]),
        }
    }

    fn chars(&mut self, s: &str) -> Vec<Sym> {
        let mut buf = [0u8; 4];
        s.chars()
            .map(|c| self.b.literal(c.encode_utf8(&mut buf).as_bytes()))
            .collect()
    }

    fn symbol(&mut self, e: &Expr) -> Result<Sym, CompileError> {
        if let Some(s) = self.piece(e) {
            return Ok(s);
        }
        Ok(match e {
            Expr::Ref { name, at } => match self.names.get(name) {
                Some(&i) => Sym::N(self.nts[i]),
                None => {
                    return Err(error_at(
                        self.src,
                        *at,
                        format!("the rule `{name}` is not defined"),
                    ));
                }
            },
            Expr::Class(c) => self.class(c)?,
            Expr::Literal(_) | Expr::Seq(_) => {
                let rhs = self.sequence(e)?;
                let n = self.b.nonterminal("seq");
                self.b.rule(n, rhs);
                Sym::N(n)
            }
            Expr::Alt(alts) => {
                let n = self.b.nonterminal("group");
                for a in alts {
                    let rhs = self.sequence(a)?;
                    self.b.rule(n, rhs);
                }
                Sym::N(n)
            }
            Expr::Repeat { sub, min, max } => {
                let x = self.symbol(sub)?;
                self.repeat(x, *min, *max)
            }
        })
    }

    /// `e` as one lexeme, when it is regular, spans more than one
    /// character and is not banned this round.
    fn piece(&mut self, e: &Expr) -> Option<Sym> {
        let k = key(e);
        if !self.promote || self.banned.contains(&k) || one_char(e) {
            return None;
        }
        let dfa = match self.pieces.dfas.get(&k) {
            Some(d) => d.clone(),
            None => {
                let left = ALL_PIECE_STATES.saturating_sub(self.pieces.states_spent);
                let limit = PIECE_STATES.min(left);
                let mut budget = MAX_PIECE_NODES;
                let d = self.regex(e, &mut Vec::new(), &mut budget).and_then(|hir| {
                    (limit > 0)
                        .then(|| Dfa::from_hir_within(&hir, limit, PIECE_NFA_BYTES).ok())
                        .flatten()
                });
                self.pieces.states_spent += d.as_ref().map_or(limit, Dfa::num_states);
                let d = d.map(Arc::new);
                self.pieces.dfas.insert(k, d.clone());
                d
            }
        }?;
        let sym = self.b.lexeme(dfa, 0, u32::MAX)?;
        // A piece that matches the empty string is `lexeme | ε`.
        let t = match sym {
            Sym::T(t) => t,
            Sym::N(n) => self
                .b
                .alternatives(n)
                .iter()
                .flatten()
                .find_map(|s| match s {
                    Sym::T(t) => Some(*t),
                    Sym::N(_) => None,
                })?,
        };
        self.promoted.push((t, k));
        Some(sym)
    }

    /// `e` as a regex over its bytes, rules inlined; `None` when it uses a
    /// recursive rule (one on `stack`) or grows past `budget` nodes.
    fn regex(&mut self, e: &Expr, stack: &mut Vec<usize>, budget: &mut usize) -> Option<Hir> {
        *budget = budget.checked_sub(1)?;
        Some(match e {
            Expr::Class(c) => Hir::class(Class::Unicode(c.clone())),
            Expr::Literal(s) => Hir::literal(s.as_bytes()),
            Expr::Seq(v) => Hir::concat(
                v.iter()
                    .map(|x| self.regex(x, stack, budget))
                    .collect::<Option<_>>()?,
            ),
            Expr::Alt(v) => Hir::alternation(
                v.iter()
                    .map(|x| self.regex(x, stack, budget))
                    .collect::<Option<_>>()?,
            ),
            Expr::Repeat { sub, min, max } => Hir::repetition(Repetition {
                min: *min,
                max: *max,
                greedy: true,
                sub: Box::new(self.regex(sub, stack, budget)?),
            }),
            Expr::Ref { name, .. } => {
                let i = *self.names.get(name)?;
                if stack.contains(&i) || stack.len() >= MAX_INLINE_DEPTH {
                    return None;
                }
                if !self.pieces.rules.contains_key(&i) {
                    // A rule's regex does not depend on where it is used
                    // (a failure through a rule on the stack means the rule
                    // is recursive itself), so it is built once, with a
                    // budget of its own, and charged to each user.
                    let rules = self.rules;
                    stack.push(i);
                    let mut own = MAX_PIECE_NODES;
                    let h = self
                        .regex(&rules[i].body, stack, &mut own)
                        .map(|h| (h, MAX_PIECE_NODES - own));
                    stack.pop();
                    self.pieces.rules.insert(i, h);
                }
                let (h, nodes) = self.pieces.rules.get(&i).cloned().flatten()?;
                *budget = budget.checked_sub(nodes)?;
                h
            }
        })
    }

    fn class(&mut self, c: &ClassUnicode) -> Result<Sym, CompileError> {
        let key: Vec<(char, char)> = c.ranges().iter().map(|r| (r.start(), r.end())).collect();
        if let Some(&s) = self.classes.get(&key) {
            return Ok(s);
        }
        let dfa = Dfa::from_hir(&Hir::class(Class::Unicode(c.clone())), DFA_STATE_LIMIT)
            .map_err(|e| error_at(self.src, 0, format!("a character class: {e}")))?;
        let s = match self.b.lexeme(dfa, 0, u32::MAX) {
            Some(s) => s,
            // An empty class matches nothing: a rule without alternatives.
            None => Sym::N(self.b.nonterminal("nothing")),
        };
        self.classes.insert(key, s);
        Ok(s)
    }

    /// `x{min,max}`: `min` copies, then `x*` or a chain of optional copies.
    fn repeat(&mut self, x: Sym, min: u32, max: Option<u32>) -> Sym {
        let mut seq = vec![x; min as usize];
        match max {
            None => {
                let star = self.b.nonterminal("star");
                self.b.rule(star, vec![]);
                self.b.rule(star, vec![Sym::N(star), x]);
                seq.push(Sym::N(star));
            }
            Some(max) if max > min => {
                // opt_k → ε | x opt_{k-1}: at most `max - min` more copies.
                let mut tail: Option<Sym> = None;
                for _ in min..max {
                    let n = self.b.nonterminal("upto");
                    self.b.rule(n, vec![]);
                    let mut rhs = vec![x];
                    rhs.extend(tail);
                    self.b.rule(n, rhs);
                    tail = Some(Sym::N(n));
                }
                seq.extend(tail);
            }
            Some(_) => {}
        }
        let n = self.b.nonterminal("repeat");
        self.b.rule(n, seq);
        Sym::N(n)
    }
}

/// A class, or a literal of one character: a lexeme already.
fn one_char(e: &Expr) -> bool {
    match e {
        Expr::Class(_) => true,
        Expr::Literal(s) => s.chars().count() == 1,
        _ => false,
    }
}
