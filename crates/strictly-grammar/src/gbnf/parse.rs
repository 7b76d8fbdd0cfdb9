//! The GBNF text format as llama.cpp reads it, parsed into rules.
//!
//! `name ::= alternatives`, one rule per line (a rule continues on the next
//! line inside parentheses, after `::=` or `|`, or when the next line starts
//! with `|`); literals `"…"` with escapes, character classes `[…]` with
//! ranges and `^` negation, `.` for any character, grouping, the
//! quantifiers `*` `+` `?` `{m}` `{m,}` `{m,n}`, and `#` comments. Errors
//! carry the line and column (1-based, in characters) of the problem.

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

use crate::error::CompileError;

/// Largest bound of a `{m,n}` repetition (each copy is a grammar symbol).
pub(crate) const MAX_REPEAT: u32 = 10_000;

/// Deepest nesting of parentheses (parsing and lowering recurse on it).
pub(crate) const MAX_NESTING: usize = 200;

/// A rule: `name ::= body`, with the byte offset of its name.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub name: String,
    pub at: usize,
    pub body: Expr,
}

/// The right-hand side of a rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Alt(Vec<Expr>),
    Seq(Vec<Expr>),
    /// One character out of a class (`[a-z]`, `[^"]`, `.`).
    Class(ClassUnicode),
    /// A string literal, possibly empty.
    Literal(String),
    /// A reference to a rule, with its byte offset.
    Ref {
        name: String,
        at: usize,
    },
    Repeat {
        sub: Box<Expr>,
        min: u32,
        max: Option<u32>,
    },
}

/// Parses a whole grammar.
pub(crate) fn parse(src: &str) -> Result<Vec<Rule>, CompileError> {
    let mut p = Parser {
        src,
        i: 0,
        depth: 0,
    };
    let mut rules = Vec::new();
    loop {
        p.skip(true);
        if p.peek().is_none() {
            return Ok(rules);
        }
        rules.push(p.rule()?);
    }
}

/// Line and column (1-based; the column counts characters) of byte `at`.
pub(crate) fn line_col(src: &str, at: usize) -> (usize, usize) {
    let before = &src[..at.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[start..].chars().count() + 1)
}

/// A GBNF error at byte `at` of `src`.
pub(crate) fn error_at(src: &str, at: usize, reason: impl Into<String>) -> CompileError {
    let (line, column) = line_col(src, at);
    CompileError::Gbnf {
        line,
        column,
        reason: reason.into(),
    }
}

struct Parser<'a> {
    src: &'a str,
    i: usize,
    /// Parentheses open around the current position.
    depth: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.i..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    fn err(&self, reason: impl Into<String>) -> CompileError {
        error_at(self.src, self.i, reason)
    }

    /// Skips spaces, tabs and comments, and newlines when `newlines`.
    fn skip(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' => self.i += 1,
                '\n' if newlines => self.i += 1,
                '#' => {
                    let rest = &self.src[self.i..];
                    self.i += rest.find('\n').unwrap_or(rest.len());
                }
                _ => break,
            }
        }
    }

    fn name(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_name_char) {
            self.i += 1;
        }
        (self.i > start).then(|| self.src[start..self.i].to_string())
    }

    /// Whether `::=` follows (after spaces), without moving.
    fn defines_next(&self) -> bool {
        self.src[self.i..]
            .trim_start_matches([' ', '\t'])
            .starts_with("::=")
    }

    fn rule(&mut self) -> Result<Rule, CompileError> {
        let at = self.i;
        let name = self
            .name()
            .ok_or_else(|| self.err("expected a rule name"))?;
        self.skip(false);
        if !self.src[self.i..].starts_with("::=") {
            return Err(error_at(
                self.src,
                at,
                format!("expected `::=` after the rule name `{name}`"),
            ));
        }
        self.i += 3;
        self.skip(true);
        let body = self.alternatives(false)?;
        match self.peek() {
            None | Some('\n') => Ok(Rule { name, at, body }),
            Some(c) => Err(self.err(format!("unexpected `{c}`"))),
        }
    }

    fn alternatives(&mut self, nested: bool) -> Result<Expr, CompileError> {
        let mut alts = vec![self.sequence(nested)?];
        loop {
            if self.peek() == Some('|') {
                self.i += 1;
                self.skip(true);
                alts.push(self.sequence(nested)?);
                continue;
            }
            // At the top level a line that starts with `|` continues the rule.
            if !nested && self.peek() == Some('\n') {
                let save = self.i;
                self.skip(true);
                if self.peek() == Some('|') {
                    continue;
                }
                self.i = save;
            }
            break;
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Expr::Seq(Vec::new()))
        } else {
            Expr::Alt(alts)
        })
    }

    fn sequence(&mut self, nested: bool) -> Result<Expr, CompileError> {
        let mut items = Vec::new();
        loop {
            self.skip(nested);
            let start = self.i;
            let item = match self.peek() {
                None | Some('|') | Some(')') | Some('\n') => break,
                Some('"') => Expr::Literal(self.literal()?),
                Some('[') => Expr::Class(self.class()?),
                Some('.') => {
                    self.i += 1;
                    Expr::Class(any_char())
                }
                Some('(') => {
                    if self.depth >= MAX_NESTING {
                        return Err(self.err(format!("parentheses nest deeper than {MAX_NESTING}")));
                    }
                    self.i += 1;
                    self.depth += 1;
                    self.skip(true);
                    let inner = self.alternatives(true)?;
                    self.depth -= 1;
                    self.skip(true);
                    if self.bump() != Some(')') {
                        return Err(error_at(self.src, start, "this `(` is never closed"));
                    }
                    inner
                }
                Some(c) if is_name_char(c) => {
                    let name = self.name().unwrap_or_default();
                    if self.defines_next() {
                        return Err(error_at(
                            self.src,
                            start,
                            format!("the rule `{name}` must start on a new line"),
                        ));
                    }
                    Expr::Ref { name, at: start }
                }
                Some('<') => {
                    return Err(self.err("token references (`<…>`) are not supported"));
                }
                Some(c) => return Err(self.err(format!("unexpected `{c}`"))),
            };
            items.push(self.quantifiers(item)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Seq(Vec::new()))
        } else {
            Expr::Seq(items)
        })
    }

    fn quantifiers(&mut self, mut item: Expr) -> Result<Expr, CompileError> {
        loop {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    let (min, max) = self.braces()?;
                    item = Expr::Repeat {
                        sub: Box::new(item),
                        min,
                        max,
                    };
                    continue;
                }
                _ => return Ok(item),
            };
            self.i += 1;
            item = Expr::Repeat {
                sub: Box::new(item),
                min,
                max,
            };
        }
    }

    /// `{m}`, `{m,}` or `{m,n}`.
    fn braces(&mut self) -> Result<(u32, Option<u32>), CompileError> {
        let open = self.i;
        self.i += 1;
        self.skip(false);
        let min = self.number()?;
        self.skip(false);
        let max = if self.peek() == Some(',') {
            self.i += 1;
            self.skip(false);
            if self.peek() == Some('}') {
                None
            } else {
                Some(self.number()?)
            }
        } else {
            Some(min)
        };
        self.skip(false);
        if self.bump() != Some('}') {
            return Err(error_at(
                self.src,
                open,
                "expected `}` to close this repetition",
            ));
        }
        if let Some(max) = max
            && max < min
        {
            return Err(error_at(
                self.src,
                open,
                format!("repetition {{{min},{max}}}: the maximum is below the minimum"),
            ));
        }
        Ok((min, max))
    }

    fn number(&mut self) -> Result<u32, CompileError> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.src[start..self.i];
        if digits.is_empty() {
            return Err(self.err("expected a number"));
        }
        match digits.parse::<u32>() {
            Ok(n) if n <= MAX_REPEAT => Ok(n),
            _ => Err(error_at(
                self.src,
                start,
                format!("repetition bounds are at most {MAX_REPEAT}"),
            )),
        }
    }

    fn literal(&mut self) -> Result<String, CompileError> {
        let open = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => {
                    return Err(error_at(self.src, open, "this literal is never closed"));
                }
                Some('"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(_) => out.push(self.char()?),
            }
        }
    }

    /// One character of a literal or class, escapes decoded.
    fn char(&mut self) -> Result<char, CompileError> {
        let at = self.i;
        let c = self.bump().ok_or_else(|| self.err("unexpected end"))?;
        if c != '\\' {
            return Ok(c);
        }
        let e = self
            .bump()
            .ok_or_else(|| error_at(self.src, at, "unfinished escape"))?;
        let hex = |p: &mut Self, n: usize| -> Result<char, CompileError> {
            let digits = p.src.get(p.i..p.i + n).unwrap_or("");
            let code = (digits.len() == n && digits.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(digits, 16).ok())
                .flatten()
                .ok_or_else(|| error_at(p.src, at, format!("`\\{e}` needs {n} hex digits")))?;
            p.i += n;
            char::from_u32(code)
                .ok_or_else(|| error_at(p.src, at, format!("U+{code:X} is not a character")))
        };
        Ok(match e {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            '\\' | '"' | '\'' | '[' | ']' | '-' | '^' | '/' | '.' => e,
            'x' => hex(self, 2)?,
            'u' => hex(self, 4)?,
            'U' => hex(self, 8)?,
            other => {
                return Err(error_at(
                    self.src,
                    at,
                    format!("unknown escape `\\{other}`"),
                ));
            }
        })
    }

    fn class(&mut self) -> Result<ClassUnicode, CompileError> {
        let open = self.i;
        self.i += 1;
        let negated = self.peek() == Some('^');
        if negated {
            self.i += 1;
        }
        let mut class = ClassUnicode::empty();
        loop {
            match self.peek() {
                None | Some('\n') => {
                    return Err(error_at(self.src, open, "this `[` is never closed"));
                }
                Some(']') => {
                    self.i += 1;
                    break;
                }
                Some(_) => {
                    let at = self.i;
                    let lo = self.char()?;
                    let hi = if self.peek() == Some('-')
                        && self.src[self.i + 1..]
                            .chars()
                            .next()
                            .is_some_and(|c| c != ']')
                    {
                        self.i += 1;
                        self.char()?
                    } else {
                        lo
                    };
                    if hi < lo {
                        return Err(error_at(
                            self.src,
                            at,
                            format!("the range {lo:?}-{hi:?} is reversed"),
                        ));
                    }
                    class.push(ClassUnicodeRange::new(lo, hi));
                }
            }
        }
        if negated {
            class.negate();
        }
        Ok(class)
    }
}

fn any_char() -> ClassUnicode {
    ClassUnicode::new([ClassUnicodeRange::new('\0', '\u{10FFFF}')])
}
