//! GBNF rules into the engine's grammar: every character is a lexeme of its
//! own (the DFA of one character of a class), so the greedy lexer is exact
//! whatever the rules say, and the Earley parser does the rest. Repetitions
//! are left-recursive, which Earley parses in linear time.

use std::collections::HashMap;

use regex_syntax::hir::{Class, ClassUnicode, Hir};

use super::parse::{Expr, Rule, error_at};
use crate::dfa::Dfa;
use crate::error::CompileError;
use crate::grammar::{DFA_STATE_LIMIT, Grammar, GrammarBuilder, Sym};

/// The rule generation starts from, as in llama.cpp.
const ROOT: &str = "root";

pub(crate) fn lower(src: &str, rules: &[Rule]) -> Result<Grammar, CompileError> {
    let mut l = Lower {
        src,
        b: GrammarBuilder::new(),
        names: HashMap::new(),
        classes: HashMap::new(),
    };
    for r in rules {
        if let Some(&(_, first)) = l.names.get(&r.name) {
            let (line, _) = super::parse::line_col(src, first);
            return Err(error_at(
                src,
                r.at,
                format!("the rule `{}` is already defined on line {line}", r.name),
            ));
        }
        let nt = l.b.nonterminal(&r.name);
        l.names.insert(r.name.clone(), (nt, r.at));
    }
    let Some(&(root, _)) = l.names.get(ROOT) else {
        return Err(error_at(src, 0, "the grammar has no `root` rule"));
    };
    for r in rules {
        let nt = l.names[&r.name].0;
        let alts = match &r.body {
            Expr::Alt(v) => v.as_slice(),
            e => std::slice::from_ref(e),
        };
        for alt in alts {
            let rhs = l.sequence(alt)?;
            l.b.rule(nt, rhs);
        }
    }
    l.b.finish(Sym::N(root), 0).map_err(|e| match e {
        CompileError::Unsatisfiable { .. } => {
            error_at(src, 0, "no string matches the grammar from `root`")
        }
        other => other,
    })
}

struct Lower<'a> {
    src: &'a str,
    b: GrammarBuilder,
    /// Rule name → nonterminal and the offset of its definition.
    names: HashMap<String, (u32, usize)>,
    /// One lexeme per distinct class.
    classes: HashMap<Vec<(char, char)>, Sym>,
}

impl Lower<'_> {
    /// The symbols of one alternative.
    fn sequence(&mut self, e: &Expr) -> Result<Vec<Sym>, CompileError> {
        match e {
            Expr::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
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
        Ok(match e {
            Expr::Ref { name, at } => match self.names.get(name) {
                Some(&(nt, _)) => Sym::N(nt),
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
                    self.b.rule(
                        n,
                        tail.into_iter().fold(vec![x], |mut v, t| {
                            v.push(t);
                            v
                        }),
                    );
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
