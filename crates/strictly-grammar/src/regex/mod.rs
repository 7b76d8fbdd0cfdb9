//! Regular expressions: an ECMA-262 pattern parser, the JSON string encoding
//! of character-level regexes, and DFA construction for string lexemes.
//!
//! Patterns are parsed into a small character-level AST (`Node`), anchors and
//! leading look-aheads are resolved into set operations on DFAs
//! (`Rx`), and every character class is then rewritten into the bytes of its
//! JSON encoding, so a lexeme matches the *serialized* string exactly.

mod ecma;
mod encode;

pub(crate) use ecma::{parse_ecma, parse_ecma_widest};
pub(crate) use encode::{class_star_dfa, counted_class, encode_str, encoded_dfa, search_language};

use regex_syntax::hir::ClassUnicode;

/// A character-level regex.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Empty,
    Class(ClassUnicode),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        sub: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
    /// `^`: start of input.
    Start,
    /// `$`: end of input.
    End,
    /// `(?=…)` or `(?!…)`.
    Look {
        negate: bool,
        sub: Box<Node>,
    },
}

impl Node {
    pub fn char(c: char) -> Node {
        Node::Class(ClassUnicode::new([
            regex_syntax::hir::ClassUnicodeRange::new(c, c),
        ]))
    }

    pub fn any_char() -> Node {
        Node::Class(ClassUnicode::new([
            regex_syntax::hir::ClassUnicodeRange::new('\0', '\u{10FFFF}'),
        ]))
    }

    /// Whether the node contains an anchor or look-around.
    pub fn has_assertion(&self) -> bool {
        match self {
            Node::Start | Node::End | Node::Look { .. } => true,
            Node::Empty | Node::Class(_) => false,
            Node::Concat(v) | Node::Alt(v) => v.iter().any(Node::has_assertion),
            Node::Repeat { sub, .. } => sub.has_assertion(),
        }
    }

    /// If the node is `C{min,max}` for a single class C (possibly in a
    /// one-element concat), returns the class and bounds.
    pub fn as_counted_class(&self) -> Option<(&ClassUnicode, u32, Option<u32>)> {
        match self {
            Node::Concat(v) if v.len() == 1 => v[0].as_counted_class(),
            Node::Alt(v) if v.len() == 1 => v[0].as_counted_class(),
            Node::Repeat { sub, min, max } => match sub.as_ref() {
                Node::Class(c) => Some((c, *min, *max)),
                Node::Concat(v) | Node::Alt(v) if v.len() == 1 => match &v[0] {
                    Node::Class(c) => Some((c, *min, *max)),
                    _ => None,
                },
                _ => None,
            },
            Node::Class(c) => Some((c, 1, Some(1))),
            _ => None,
        }
    }
}
