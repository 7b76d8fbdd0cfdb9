//! Emitting grammar rules for the intermediate form.

use super::ir::Schema;
use super::numbers::number_dfa;
use super::parse::Ctx;
use crate::error::{CompileError, DfaError};
use crate::grammar::{DFA_STATE_LIMIT, Grammar, GrammarBuilder, Sym};
use crate::hash::FastMap;

/// Nonterminals allowed in one compiled schema.
pub(crate) const MAX_NONTERMINALS: usize = 200_000;

/// The punctuation lexemes of JSON.
#[derive(Clone, Copy)]
pub(crate) struct Punct {
    pub lbrace: Sym,
    pub rbrace: Sym,
    pub lbrack: Sym,
    pub rbrack: Sym,
    pub comma: Sym,
    pub colon: Sym,
}

pub(crate) struct Compiler<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
    pub b: GrammarBuilder,
    pub p: Punct,
    defs: FastMap<usize, Sym>,
    /// Definitions whose nonterminal exists but whose body is not compiled
    /// yet: bodies are compiled from this list, not from inside the value
    /// that refers to them, so chains of references never deepen the stack.
    pending: Vec<(usize, u32)>,
    any: Option<Sym>,
    any_string: Option<Sym>,
}

/// Compiles the root schema into a grammar.
pub(crate) fn compile(ctx: &mut Ctx, root: Schema) -> Result<Grammar, CompileError> {
    if let Schema::Never(why) = &root {
        return Err(CompileError::unsatisfiable(
            &why.keyword,
            &why.pointer,
            why.reason.clone(),
        ));
    }
    let mut b = GrammarBuilder::new();
    let p = Punct {
        lbrace: b.literal(b"{"),
        rbrace: b.literal(b"}"),
        lbrack: b.literal(b"["),
        rbrack: b.literal(b"]"),
        comma: b.literal(b","),
        colon: b.literal(b":"),
    };
    let max_ws = ctx.options.max_ws();
    let mut c = Compiler {
        ctx,
        b,
        p,
        defs: FastMap::default(),
        pending: Vec::new(),
        any: None,
        any_string: None,
    };
    let sym = c.value(&root, "#")?;
    c.compile_definitions()?;
    let Some(sym) = sym else {
        return Err(CompileError::unsatisfiable(
            "",
            "#",
            "no value satisfies the schema",
        ));
    };
    c.b.finish(sym, max_ws).map_err(|e| match e {
        CompileError::Unsatisfiable { .. } => {
            CompileError::unsatisfiable("$ref", "#", "every value would have to nest without end")
        }
        e => e,
    })
}

pub(crate) fn dfa_error(keyword: &str, ptr: &str, e: DfaError) -> CompileError {
    CompileError::too_complex(keyword, ptr, e.to_string())
}

impl Compiler<'_, '_> {
    pub fn check_size(&self, ptr: &str) -> Result<(), CompileError> {
        if self.b.num_nonterminals() > MAX_NONTERMINALS {
            return Err(CompileError::too_complex("", ptr, "grammar too large"));
        }
        Ok(())
    }

    /// The symbol for values satisfying `s`, or `None` if there are none.
    pub fn value(&mut self, s: &Schema, ptr: &str) -> Result<Option<Sym>, CompileError> {
        self.check_size(ptr)?;
        self.ctx.tick("", ptr)?;
        Ok(match s {
            Schema::Any => Some(self.any_value()),
            Schema::Never(_) => None,
            Schema::Null => Some(self.b.literal(b"null")),
            Schema::Bool => {
                let t = self.b.literal(b"true");
                let f = self.b.literal(b"false");
                Some(self.b.choice("bool", vec![t, f]))
            }
            Schema::Number(n) => {
                let finite = self.ctx.options.finite_numbers;
                let d = crate::dfa_cache::cached(&format!("num:{n:?}:{finite}"), || {
                    let d = number_dfa(n, DFA_STATE_LIMIT)?;
                    if finite {
                        super::numbers::finite_only(&d, DFA_STATE_LIMIT)
                    } else {
                        Ok(d)
                    }
                })
                .map_err(|e| dfa_error("minimum", ptr, e))?;
                let max = self.ctx.options.max_number_chars;
                self.b.lexeme(d, 0, max)
            }
            Schema::String(st) => {
                let (d, lo, hi) =
                    super::strings::string_dfa(self.ctx, st).map_err(|e| with_pointer(e, ptr))?;
                if lo > hi {
                    None
                } else {
                    self.b.lexeme(d, lo, hi)
                }
            }
            Schema::Enum(vs) => {
                let mut alts = Vec::new();
                for v in vs {
                    alts.push(self.literal_value(v, ptr)?);
                }
                Some(self.b.choice("enum", alts))
            }
            Schema::AnyOf(xs) => {
                let mut alts = Vec::new();
                for x in xs {
                    if let Some(sym) = self.value(x, ptr)? {
                        alts.push(sym);
                    }
                }
                if alts.is_empty() {
                    None
                } else {
                    Some(self.b.choice("any_of", alts))
                }
            }
            Schema::Ref(id) => Some(self.definition(*id)?),
            Schema::Array(a) => self.array(a, ptr)?,
            Schema::Object(o) => self.object(o, ptr)?,
        })
    }

    /// The nonterminal of a definition, compiled once (recursion allowed).
    fn definition(&mut self, id: usize) -> Result<Sym, CompileError> {
        if let Some(&s) = self.defs.get(&id) {
            return Ok(s);
        }
        let nt = self.b.nonterminal("def");
        self.defs.insert(id, Sym::N(nt));
        self.pending.push((id, nt));
        Ok(Sym::N(nt))
    }

    /// Compiles the bodies of the definitions referred to so far, and of
    /// those they refer to.
    fn compile_definitions(&mut self) -> Result<(), CompileError> {
        while let Some((id, nt)) = self.pending.pop() {
            let ptr = self.ctx.defs[id].pointer.clone();
            self.ctx.tick("$ref", &ptr)?;
            let schema = self.ctx.def_schema(id)?;
            if let Some(body) = self.value(&schema, &ptr)? {
                self.b.rule(nt, vec![body]);
            }
        }
        Ok(())
    }

    /// Any JSON string (bounded by the engine limit).
    pub fn any_string(&mut self) -> Result<Sym, CompileError> {
        if let Some(s) = self.any_string {
            return Ok(s);
        }
        let d = super::strings::any_string_dfa()?;
        let max = self.ctx.options.max_string_chars;
        let s = self
            .b
            .lexeme(d, 0, max)
            .ok_or_else(|| CompileError::too_complex("type", "#", "string lexeme"))?;
        self.any_string = Some(s);
        Ok(s)
    }

    /// Any JSON value.
    pub fn any_value(&mut self) -> Sym {
        if let Some(s) = self.any {
            return s;
        }
        let v = self.b.nonterminal("any");
        self.any = Some(Sym::N(v));
        let p = self.p;
        let null = self.b.literal(b"null");
        let t = self.b.literal(b"true");
        let f = self.b.literal(b"false");
        let num = self
            .value(&Schema::Number(Box::default()), "#")
            .ok()
            .flatten();
        let string = self.any_string().ok();
        for s in [Some(null), Some(t), Some(f), num, string]
            .into_iter()
            .flatten()
        {
            self.b.rule(v, vec![s]);
        }
        // Objects: members are left-recursive, which Earley handles cheaply.
        if let Some(key) = string {
            let member = self.b.seq("any_member", vec![key, p.colon, Sym::N(v)]);
            let members = self.b.nonterminal("any_members");
            self.b.rule(members, vec![member]);
            self.b.rule(members, vec![Sym::N(members), p.comma, member]);
            self.b.rule(v, vec![p.lbrace, p.rbrace]);
            self.b.rule(v, vec![p.lbrace, Sym::N(members), p.rbrace]);
        }
        let elems = self.b.nonterminal("any_elems");
        self.b.rule(elems, vec![Sym::N(v)]);
        self.b.rule(elems, vec![Sym::N(elems), p.comma, Sym::N(v)]);
        self.b.rule(v, vec![p.lbrack, p.rbrack]);
        self.b.rule(v, vec![p.lbrack, Sym::N(elems), p.rbrack]);
        Sym::N(v)
    }
}

/// Fills in the pointer of errors raised where it was not known.
pub(crate) fn with_pointer(e: CompileError, ptr: &str) -> CompileError {
    match e {
        CompileError::TooComplex {
            keyword,
            pointer,
            reason,
        } if pointer.is_empty() => CompileError::TooComplex {
            keyword,
            pointer: crate::error::plain_pointer(ptr),
            reason,
        },
        CompileError::Unsupported {
            keyword,
            pointer,
            reason,
        } if pointer.is_empty() => CompileError::Unsupported {
            keyword,
            pointer: crate::error::plain_pointer(ptr),
            reason,
        },
        CompileError::Regex {
            pattern,
            offset,
            reason,
        } => CompileError::Unsupported {
            keyword: ptr
                .rsplit('/')
                .next()
                .filter(|k| *k == "pattern")
                .unwrap_or("pattern")
                .into(),
            pointer: crate::error::plain_pointer(ptr),
            reason: format!("{reason} at offset {offset} in {pattern:?}"),
        },
        e => e,
    }
}
