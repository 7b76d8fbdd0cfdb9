//! Parser for ECMA-262 regular expressions as used by JSON Schema `pattern`.
//!
//! Character class escapes are interpreted conservatively: `\d`, `\w`, `\s`
//! and `.` match only what both ECMA-262 and Unicode-aware engines (Python,
//! PCRE) agree on, and their negations match only what neither engine's
//! positive class contains. The translated pattern therefore accepts a
//! subset of what any common validator accepts: generated strings validate
//! everywhere. Syntax whose meaning differs between engines (`\Z`, `{,n}`,
//! `\p{..}`, unknown letter escapes) and features that are not regular
//! (back-references) are errors.

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

use super::Node;
use crate::error::CompileError;

/// Longest pattern accepted, in bytes.
const MAX_PATTERN_LEN: usize = 16 * 1024;
/// Deepest group nesting accepted.
const MAX_DEPTH: usize = 64;
/// Largest repetition count accepted.
const MAX_REPEAT: u32 = 10_000;

pub(crate) fn parse_ecma(pattern: &str) -> Result<Node, CompileError> {
    parse(pattern, false)
}

/// The widest reading of `pattern`: every string some common engine's
/// reading matches (the complement of the narrowest reading of its
/// negation). Keys between the two readings match a `patternProperties`
/// pattern for one validator and not for another, so they are never
/// generated.
pub(crate) fn parse_ecma_widest(pattern: &str) -> Result<Node, CompileError> {
    parse(pattern, true)
}

fn parse(pattern: &str, wide: bool) -> Result<Node, CompileError> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(CompileError::Regex {
            pattern: pattern.chars().take(64).collect(),
            offset: MAX_PATTERN_LEN,
            reason: "pattern too long".into(),
        });
    }
    let mut p = P {
        chars: pattern.chars().collect(),
        i: 0,
        pattern,
        depth: 0,
        wide,
    };
    let node = p.disjunction()?;
    if p.i < p.chars.len() {
        return Err(p.err("unmatched `)`"));
    }
    Ok(node)
}

struct P<'a> {
    chars: Vec<char>,
    i: usize,
    pattern: &'a str,
    depth: usize,
    /// Read class escapes and `.` as widely as any engine does (inside a
    /// negative look-ahead this flips).
    wide: bool,
}

fn ranges(rs: &[(char, char)]) -> ClassUnicode {
    ClassUnicode::new(rs.iter().map(|&(a, b)| ClassUnicodeRange::new(a, b)))
}

fn negated(mut c: ClassUnicode) -> ClassUnicode {
    c.negate();
    c
}

/// Unicode classes from regex-syntax's tables (infallible for these names).
fn unicode_class(re: &str) -> ClassUnicode {
    match regex_syntax::parse(re) {
        Ok(h) => match h.kind() {
            regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => c.clone(),
            _ => ClassUnicode::empty(),
        },
        Err(_) => ClassUnicode::empty(),
    }
}

/// (narrowest, widest) interpretation of a class escape letter.
fn class_escape(c: char) -> Option<(ClassUnicode, ClassUnicode)> {
    let digit_min = ranges(&[('0', '9')]);
    let digit_max = unicode_class(r"\p{Nd}");
    let word_min = ranges(&[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]);
    let mut word_max = unicode_class(r"[\w\pL\pN_]");
    word_max.union(&word_min);
    let space_min = ranges(&[
        ('\t', '\r'),
        (' ', ' '),
        ('\u{a0}', '\u{a0}'),
        ('\u{1680}', '\u{1680}'),
        ('\u{2000}', '\u{200a}'),
        ('\u{2028}', '\u{2029}'),
        ('\u{202f}', '\u{202f}'),
        ('\u{205f}', '\u{205f}'),
        ('\u{3000}', '\u{3000}'),
    ]);
    let mut space_max = space_min.clone();
    space_max.union(&ranges(&[
        ('\u{1c}', '\u{1f}'),
        ('\u{85}', '\u{85}'),
        ('\u{feff}', '\u{feff}'),
    ]));
    space_max.union(&unicode_class(r"\s"));
    Some(match c {
        'd' => (digit_min, digit_max),
        'D' => (negated(digit_max), negated(digit_min)),
        'w' => (word_min, word_max),
        'W' => (negated(word_max), negated(word_min)),
        's' => (space_min, space_max),
        'S' => (negated(space_max), negated(space_min)),
        _ => return None,
    })
}

impl P<'_> {
    fn err(&self, reason: &str) -> CompileError {
        CompileError::Regex {
            pattern: self.pattern.to_string(),
            offset: self.i,
            reason: reason.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn disjunction(&mut self) -> Result<Node, CompileError> {
        let mut alts = vec![self.alternative()?];
        while self.eat('|') {
            alts.push(self.alternative()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(alts)
        })
    }

    fn alternative(&mut self) -> Result<Node, CompileError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.term()?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn term(&mut self) -> Result<Node, CompileError> {
        let c = self.peek().ok_or_else(|| self.err("unexpected end"))?;
        let atom = match c {
            '^' => {
                self.i += 1;
                return Ok(Node::Start);
            }
            '$' => {
                self.i += 1;
                return Ok(Node::End);
            }
            '(' => self.group()?,
            '[' => Node::Class(self.class()?),
            '.' => {
                self.i += 1;
                // Python's `.` also matches `\r` and the line separators.
                if self.wide {
                    Node::Class(negated(ranges(&[('\n', '\n')])))
                } else {
                    Node::Class(negated(ranges(&[
                        ('\n', '\n'),
                        ('\r', '\r'),
                        ('\u{2028}', '\u{2029}'),
                    ])))
                }
            }
            '\\' => self.atom_escape()?,
            '*' | '+' | '?' => return Err(self.err("nothing to repeat")),
            '{' if self.quantifier_ahead() => return Err(self.err("nothing to repeat")),
            ']' | '}' => {
                // Literal in Annex B syntax; Python agrees.
                self.i += 1;
                Node::char(c)
            }
            _ => {
                self.i += 1;
                Node::char(c)
            }
        };
        if matches!(atom, Node::Look { .. }) {
            if matches!(self.peek(), Some('*' | '+' | '?' | '{')) && self.quantifier_ahead_any() {
                return Err(self.err("quantified look-around"));
            }
            return Ok(atom);
        }
        self.quantified(atom)
    }

    fn quantifier_ahead_any(&self) -> bool {
        matches!(self.peek(), Some('*' | '+' | '?')) || self.quantifier_ahead()
    }

    /// Whether `{` at the cursor starts a valid `{n}`, `{n,}` or `{n,m}`.
    fn quantifier_ahead(&self) -> bool {
        if self.peek() != Some('{') {
            return false;
        }
        let mut k = 1;
        let mut digits = 0;
        while self.peek_at(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
            digits += 1;
        }
        if digits == 0 {
            return false;
        }
        if self.peek_at(k) == Some(',') {
            k += 1;
            while self.peek_at(k).is_some_and(|c| c.is_ascii_digit()) {
                k += 1;
            }
        }
        self.peek_at(k) == Some('}')
    }

    fn number(&mut self) -> Result<u32, CompileError> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
            v = (v * 10 + c as u64 - '0' as u64).min(u64::from(u32::MAX));
            self.i += 1;
        }
        if self.i == start {
            return Err(self.err("expected a number"));
        }
        Ok(v as u32)
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, CompileError> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.i += 1;
                (0, None)
            }
            Some('+') => {
                self.i += 1;
                (1, None)
            }
            Some('?') => {
                self.i += 1;
                (0, Some(1))
            }
            Some('{') if self.quantifier_ahead() => {
                self.i += 1;
                let min = self.number()?;
                let max = if self.eat(',') {
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.number()?)
                    }
                } else {
                    Some(min)
                };
                self.eat('}');
                if max.is_some_and(|m| m < min) {
                    return Err(self.err("repetition bounds out of order"));
                }
                if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
                    return Err(self.err("repetition count too large"));
                }
                (min, max)
            }
            Some('{')
                if self.peek_at(1) == Some(',')
                    && self.peek_at(2).is_some_and(|c| c.is_ascii_digit()) =>
            {
                return Err(self.err("`{,n}` means different things in different regex engines"));
            }
            _ => return Ok(atom),
        };
        // Lazy quantifiers match the same language.
        self.eat('?');
        if matches!(self.peek(), Some('*' | '+' | '?')) || self.quantifier_ahead() {
            return Err(self.err("nothing to repeat"));
        }
        if matches!(atom, Node::Start | Node::End) {
            return Err(self.err("quantified anchor"));
        }
        Ok(Node::Repeat {
            sub: Box::new(atom),
            min,
            max,
        })
    }

    fn group(&mut self) -> Result<Node, CompileError> {
        self.i += 1; // '('
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("groups nested too deeply"));
        }
        let mut look = None;
        if self.eat('?') {
            match self.peek() {
                Some(':') => self.i += 1,
                Some('=') => {
                    self.i += 1;
                    look = Some(false);
                }
                Some('!') => {
                    self.i += 1;
                    look = Some(true);
                }
                Some('<') if matches!(self.peek_at(1), Some('=' | '!')) => {
                    return Err(self.err("look-behind is not supported"));
                }
                Some('<') | Some('P') => {
                    // Named group: (?<name>…) or (?P<name>…).
                    if self.peek() == Some('P') {
                        self.i += 1;
                    }
                    if !self.eat('<') {
                        return Err(self.err("unsupported group syntax"));
                    }
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == '>' {
                            break;
                        }
                        if !(c.is_alphanumeric() || c == '_' || c == '$') {
                            return Err(self.err("invalid group name"));
                        }
                    }
                }
                _ => {
                    return Err(
                        self.err("inline flags and other group extensions are not supported")
                    );
                }
            }
        }
        let flip = look == Some(true);
        self.wide ^= flip;
        let inner = self.disjunction();
        self.wide ^= flip;
        let inner = inner?;
        if !self.eat(')') {
            return Err(self.err("missing `)`"));
        }
        self.depth -= 1;
        Ok(match look {
            Some(negate) => Node::Look {
                negate,
                sub: Box::new(inner),
            },
            None => inner,
        })
    }

    fn atom_escape(&mut self) -> Result<Node, CompileError> {
        self.i += 1; // '\'
        let c = self.peek().ok_or_else(|| self.err("trailing backslash"))?;
        if let Some((min, max)) = class_escape(c) {
            self.i += 1;
            return Ok(Node::Class(if self.wide { max } else { min }));
        }
        match c {
            'b' | 'B' => Err(self.err("word boundaries are not supported")),
            '1'..='9' => Err(self.err("back-references are not supported")),
            'k' => Err(self.err("back-references are not supported")),
            _ => Ok(Node::char(self.char_escape(false)?)),
        }
    }

    /// A single-character escape (the backslash already consumed).
    fn char_escape(&mut self, in_class: bool) -> Result<char, CompileError> {
        let c = self.peek().ok_or_else(|| self.err("trailing backslash"))?;
        self.i += 1;
        Ok(match c {
            't' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'b' if in_class => '\u{8}',
            '0' => {
                if self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    return Err(self.err("octal escapes are not supported"));
                }
                '\0'
            }
            'x' => self.hex(2)?,
            'u' => {
                if self.peek() == Some('{') {
                    return Err(self.err("`\\u{…}` needs the u flag"));
                }
                self.hex(4)?
            }
            'c' => {
                let l = self
                    .peek()
                    .filter(|l| l.is_ascii_alphabetic())
                    .ok_or_else(|| self.err("bad `\\c` escape"))?;
                self.i += 1;
                char::from(l as u8 % 32)
            }
            c if c.is_ascii_alphanumeric() => {
                return Err(self.err("escape whose meaning differs between regex engines"));
            }
            c => c,
        })
    }

    fn hex(&mut self, n: usize) -> Result<char, CompileError> {
        let mut v = 0u32;
        for _ in 0..n {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.err("bad hex escape"))?;
            v = v * 16 + d;
            self.i += 1;
        }
        char::from_u32(v).ok_or_else(|| self.err("escape of a surrogate code point"))
    }

    fn class(&mut self) -> Result<ClassUnicode, CompileError> {
        self.i += 1; // '['
        let negate = self.eat('^');
        if self.peek() == Some(']') {
            return Err(self.err("`[]` and `[^]` mean different things in different regex engines"));
        }
        let mut set = ClassUnicode::empty();
        loop {
            let c = self.peek().ok_or_else(|| self.err("missing `]`"))?;
            if c == ']' {
                self.i += 1;
                break;
            }
            // One class atom: a char, or a class escape.
            let lo = match self.class_atom(negate)? {
                Err(cls) => {
                    set.union(&cls);
                    if self.peek() == Some('-') && self.peek_at(1) != Some(']') {
                        return Err(self.err("range from a class escape"));
                    }
                    continue;
                }
                Ok(ch) => ch,
            };
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
                self.i += 1;
                let hi = match self.class_atom(negate)? {
                    Ok(ch) => ch,
                    Err(_) => return Err(self.err("range to a class escape")),
                };
                if hi < lo {
                    return Err(self.err("class range out of order"));
                }
                set.union(&ranges(&[(lo, hi)]));
            } else {
                set.union(&ranges(&[(lo, lo)]));
            }
        }
        if negate {
            set.negate();
        }
        Ok(set)
    }

    /// `Ok(char)` or `Err(class)` for a class escape such as `\d`. Inside a
    /// negated class the widest interpretation is used, so that the negation
    /// is the narrowest.
    fn class_atom(
        &mut self,
        negated_class: bool,
    ) -> Result<Result<char, ClassUnicode>, CompileError> {
        let c = self.peek().ok_or_else(|| self.err("missing `]`"))?;
        self.i += 1;
        if c != '\\' {
            return Ok(Ok(c));
        }
        let e = self.peek().ok_or_else(|| self.err("trailing backslash"))?;
        if let Some((min, max)) = class_escape(e) {
            self.i += 1;
            return Ok(Err(if negated_class != self.wide { max } else { min }));
        }
        if e == '-' {
            self.i += 1;
            return Ok(Ok('-'));
        }
        Ok(Ok(self.char_escape(true)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_patterns() {
        for p in [
            "^[a-z0-9-]+$",
            r"^\d{4}-\d{2}-\d{2}$",
            r"^(https?://)?[\w.-]+(:\d+)?(/.*)?$",
            r"^[^\s@]+@[^\s@]+\.[^\s@]{2,}$",
            r"a{2}b{1,}c{0,3}?",
            r"\x41\u00e9\/\.\-",
            r"[\]\[\\]",
            r"(?<year>\d+)-(?:x|y)",
            r"a{,",
        ] {
            parse_ecma(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn refuses_ambiguous_or_irregular() {
        for p in [
            r"(a)\1", r"\bword", r"a{,3}", r"\Z", r"[]", r"(?i)a", r"(?<=a)b", r"a**", r"\p{L}",
            "(a", "a)",
        ] {
            assert!(parse_ecma(p).is_err(), "{p}");
        }
    }

    #[test]
    fn conservative_classes() {
        let Node::Class(d) = parse_ecma(r"\d").unwrap() else {
            panic!()
        };
        assert_eq!(d.ranges().len(), 1);
        let Node::Class(nd) = parse_ecma(r"\D").unwrap() else {
            panic!()
        };
        // Arabic-Indic digits are digits for Unicode-aware engines: not in \D.
        assert!(
            !nd.ranges()
                .iter()
                .any(|r| r.start() <= '\u{661}' && '\u{661}' <= r.end())
        );
        assert!(
            nd.ranges()
                .iter()
                .any(|r| r.start() <= 'a' && 'a' <= r.end())
        );
        let Node::Class(dot) = parse_ecma(".").unwrap() else {
            panic!()
        };
        assert!(
            !dot.ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end())
        );
    }
}
