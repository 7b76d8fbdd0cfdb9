//! From character-level regexes to DFAs over the JSON encoding of strings.
//!
//! JSON strings are encoded canonically: raw UTF-8 for every character except
//! `"`, `\` and control characters, which use `\"`, `\\`, `\b`, `\f`, `\n`,
//! `\r`, `\t` or `\u00XX` (lowercase hex), as serializers such as Python's
//! `json.dumps(ensure_ascii=False)` and serde_json write them. Each string
//! has exactly one encoding, so set operations on encodings are set
//! operations on strings (needed for "a key that is none of these names").

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, Repetition};

use super::Node;
use crate::dfa::{Dfa, SetOp};
use crate::error::{CompileError, DfaError};

/// A regex language built from assertion-free nodes with set operations:
/// anchors and leading look-aheads of a pattern become these.
#[derive(Debug, Clone)]
pub(crate) enum Rx {
    Node(Node),
    Or(Vec<Rx>),
    And(Box<Rx>, Box<Rx>),
    Minus(Box<Rx>, Box<Rx>),
}

/// The escape sequence for characters that may not appear raw.
fn escape_of(c: u32) -> Option<Vec<u8>> {
    Some(match c {
        0x22 => b"\\\"".to_vec(),
        0x5c => b"\\\\".to_vec(),
        0x08 => b"\\b".to_vec(),
        0x0c => b"\\f".to_vec(),
        0x0a => b"\\n".to_vec(),
        0x0d => b"\\r".to_vec(),
        0x09 => b"\\t".to_vec(),
        c if c < 0x20 => format!("\\u{c:04x}").into_bytes(),
        _ => return None,
    })
}

/// Encodes one string the canonical way, without the quotes.
pub(crate) fn encode_str(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match escape_of(c as u32) {
            Some(e) => out.extend_from_slice(&e),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// The bytes of any encoding of a character in `class`.
pub(crate) fn json_char_class(class: &ClassUnicode) -> Hir {
    let specials = ClassUnicode::new([
        ClassUnicodeRange::new('\0', '\u{1f}'),
        ClassUnicodeRange::new('"', '"'),
        ClassUnicodeRange::new('\\', '\\'),
    ]);
    let mut raw = class.clone();
    raw.difference(&specials);
    let mut alts = Vec::new();
    if !raw.ranges().is_empty() {
        alts.push(Hir::class(Class::Unicode(raw)));
    }
    let mut special_in = class.clone();
    special_in.intersect(&specials);
    for r in special_in.ranges() {
        for c in r.start() as u32..=r.end() as u32 {
            if let Some(e) = escape_of(c) {
                alts.push(Hir::literal(e));
            }
        }
    }
    if alts.is_empty() {
        Hir::fail()
    } else {
        Hir::alternation(alts)
    }
}

/// Encodes an assertion-free node.
fn encode(node: &Node) -> Result<Hir, DfaError> {
    Ok(match node {
        Node::Empty => Hir::empty(),
        Node::Class(c) => json_char_class(c),
        Node::Concat(v) => Hir::concat(v.iter().map(encode).collect::<Result<_, _>>()?),
        Node::Alt(v) => Hir::alternation(v.iter().map(encode).collect::<Result<_, _>>()?),
        Node::Repeat { sub, min, max } => Hir::repetition(Repetition {
            min: *min,
            max: *max,
            greedy: true,
            sub: Box::new(encode(sub)?),
        }),
        Node::Start | Node::End | Node::Look { .. } => return Err(DfaError::Assertion),
    })
}

/// The DFA of `"` + encoding of the language + `"`.
pub(crate) fn encoded_dfa(rx: &Rx, limit: usize) -> Result<Dfa, DfaError> {
    match rx {
        Rx::Node(n) => {
            let hir = Hir::concat(vec![
                Hir::literal(&b"\""[..]),
                encode(n)?,
                Hir::literal(&b"\""[..]),
            ]);
            Dfa::from_hir(&hir, limit)
        }
        Rx::Or(v) => {
            // Unions of patterns that all end with "anything": one head.
            let heads: Vec<Node> = v
                .iter()
                .filter_map(|r| {
                    if let Rx::Node(n) = r {
                        head_of(n)
                    } else {
                        None
                    }
                })
                .collect();
            if heads.len() == v.len() {
                return head_then_rest(&Node::Alt(heads), limit);
            }
            // Unions of plain nodes stay one NFA; others are products.
            if v.iter()
                .all(|r| matches!(r, Rx::Node(_)) && head_of_any(r).is_none())
            {
                let nodes = v
                    .iter()
                    .filter_map(|r| {
                        if let Rx::Node(n) = r {
                            Some(n.clone())
                        } else {
                            None
                        }
                    })
                    .collect();
                return encoded_dfa(&Rx::Node(Node::Alt(nodes)), limit);
            }
            let mut acc: Option<Dfa> = None;
            for r in v {
                let d = encoded_dfa(r, limit)?;
                acc = Some(match acc {
                    None => d,
                    Some(a) => Dfa::product(&a, &d, SetOp::Union, limit)?,
                });
            }
            Ok(acc.unwrap_or_else(|| Dfa::from_words(std::iter::empty::<&[u8]>())))
        }
        Rx::And(a, b) => Dfa::product(
            &encoded_dfa(a, limit)?,
            &encoded_dfa(b, limit)?,
            SetOp::Intersect,
            limit,
        ),
        Rx::Minus(a, b) => Dfa::product(
            &encoded_dfa(a, limit)?,
            &encoded_dfa(b, limit)?,
            SetOp::Difference,
            limit,
        ),
    }
}

/// For `X Σ*`, the head `X`.
fn head_of(n: &Node) -> Option<Node> {
    match n {
        Node::Concat(items) if items.len() > 1 && items.last() == Some(&any_star()) => {
            Some(Node::Concat(items[..items.len() - 1].to_vec()))
        }
        _ => None,
    }
}

fn head_of_any(r: &Rx) -> Option<Node> {
    match r {
        Rx::Node(n) => head_of(n),
        _ => None,
    }
}

/// `"` X Σ* `"`: once X has matched, anything may follow, so the DFA of
/// `"` X hands over to "rest of a string" at its first acceptance instead
/// of tracking X further (which would multiply states by the positions
/// inside multi-byte characters).
fn head_then_rest(head: &Node, limit: usize) -> Result<Dfa, DfaError> {
    let d = Dfa::from_hir(
        &Hir::concat(vec![Hir::literal(&b"\""[..]), encode(head)?]),
        limit,
    )?;
    let tail = Dfa::from_hir(
        &Hir::concat(vec![encode(&any_star())?, Hir::literal(&b"\""[..])]),
        limit,
    )?;
    Ok(d.then_rest(&tail))
}

fn any_star() -> Node {
    Node::Repeat {
        sub: Box::new(Node::any_char()),
        min: 0,
        max: None,
    }
}

/// Flattens nested concatenations into one item list.
fn concat_items(node: &Node, out: &mut Vec<Node>) {
    match node {
        Node::Concat(v) => v.iter().for_each(|n| concat_items(n, out)),
        Node::Empty => {}
        n => out.push(n.clone()),
    }
}

/// A pattern's language as a whole-string regex: the strings in which the
/// pattern matches somewhere (`search` semantics), with `^`/`$` at the edges
/// of each alternative and look-aheads right after a leading `^`.
pub(crate) fn search_language(node: &Node, pattern: &str) -> Result<Rx, CompileError> {
    branches(node, false, pattern)
}

fn branches(node: &Node, force_start: bool, pattern: &str) -> Result<Rx, CompileError> {
    let alts: Vec<&Node> = match node {
        Node::Alt(v) => v.iter().collect(),
        n => vec![n],
    };
    let mut out = Vec::new();
    for b in alts {
        out.push(branch(b, force_start, pattern)?);
    }
    Ok(if out.len() == 1 {
        out.pop().unwrap_or(Rx::Or(vec![]))
    } else {
        Rx::Or(out)
    })
}

fn branch(node: &Node, force_start: bool, pattern: &str) -> Result<Rx, CompileError> {
    let mut items = Vec::new();
    concat_items(node, &mut items);
    // A branch that is one group with alternatives: recurse into them.
    if items.len() == 1 {
        if let Node::Alt(_) = &items[0] {
            if items[0].has_assertion() {
                return branches(&items[0], force_start, pattern);
            }
        }
    }
    let mut start = force_start;
    let mut looks = Vec::new();
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Node::Start => start = true,
            Node::Look { negate, sub } if start => looks.push((*negate, sub.as_ref().clone())),
            _ => break,
        }
        i += 1;
    }
    let mut j = items.len();
    let mut end = false;
    while j > i && matches!(items[j - 1], Node::End) {
        end = true;
        j -= 1;
    }
    let mut body: Vec<Node> = items[i..j].to_vec();
    if body.iter().any(Node::has_assertion) {
        return Err(CompileError::Regex {
            pattern: pattern.to_string(),
            offset: 0,
            reason:
                "anchors and look-aheads are only supported at the start or end of an alternative"
                    .into(),
        });
    }
    if !start {
        body.insert(0, any_star());
    }
    if !end {
        body.push(any_star());
    }
    let mut rx = Rx::Node(Node::Concat(body));
    for (negate, sub) in looks {
        let l = branches(&sub, true, pattern)?;
        rx = if negate {
            Rx::Minus(Box::new(rx), Box::new(l))
        } else {
            Rx::And(Box::new(rx), Box::new(l))
        };
    }
    Ok(rx)
}

/// If the pattern is exactly `^C{n,m}$` for one class C, returns C and the
/// bounds, so the count can be checked by the lexer instead of unrolled.
pub(crate) fn counted_class(rx: &Rx) -> Option<(ClassUnicode, u32, Option<u32>)> {
    let Rx::Node(Node::Concat(items)) = rx else {
        return None;
    };
    if items.len() != 1 {
        return None;
    }
    let (c, min, max) = items[0].as_counted_class()?;
    Some((c.clone(), min, max))
}

/// The DFA of JSON strings (quotes included) whose characters are in `class`.
pub(crate) fn class_star_dfa(class: &ClassUnicode, limit: usize) -> Result<Dfa, DfaError> {
    let n = Node::Repeat {
        sub: Box::new(Node::Class(class.clone())),
        min: 0,
        max: None,
    };
    encoded_dfa(&Rx::Node(n), limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regex::parse_ecma;

    fn dfa(p: &str) -> Dfa {
        let n = parse_ecma(p).unwrap();
        encoded_dfa(&search_language(&n, p).unwrap(), 20_000).unwrap()
    }

    fn enc(s: &str) -> Vec<u8> {
        let mut v = b"\"".to_vec();
        encode_str(s, &mut v);
        v.push(b'"');
        v
    }

    #[test]
    fn search_semantics_and_anchors() {
        let d = dfa("ab");
        assert!(d.matches(&enc("xxabyy")) && !d.matches(&enc("a b")));
        let d = dfa("^ab");
        assert!(d.matches(&enc("abyy")) && !d.matches(&enc("xab")));
        let d = dfa("^a$|^b+$");
        assert!(d.matches(&enc("a")) && d.matches(&enc("bbb")) && !d.matches(&enc("ab")));
        let d = dfa("(^x$)");
        assert!(d.matches(&enc("x")) && !d.matches(&enc("xx")));
    }

    #[test]
    fn escapes_are_canonical() {
        let d = dfa("^[\\s\\S]*$");
        assert!(d.matches(&enc("a\"b\\c\nd\u{1}é")));
        assert!(d.matches(b"\"\\u0001\""));
        assert!(!d.matches(b"\"\\u0041\""), "A is written raw");
        assert!(!d.matches(b"\"\\/\""));
        assert!(
            !d.matches(b"\"\x01\""),
            "raw control characters are not JSON"
        );
    }

    #[test]
    fn look_aheads_after_start() {
        let d = dfa("^(?!foo)[a-z]+$");
        assert!(d.matches(&enc("bar")) && !d.matches(&enc("foobar")) && d.matches(&enc("fo")));
        let d = dfa("^(?=.*[0-9])[a-z0-9]{3,}$");
        assert!(d.matches(&enc("ab1")) && !d.matches(&enc("abc")) && !d.matches(&enc("a1")));
        assert!(
            parse_ecma("a(?=b)")
                .map(|n| search_language(&n, "a(?=b)"))
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn counted_classes_are_recognized() {
        let n = parse_ecma("^.{1,255}$").unwrap();
        let rx = search_language(&n, "").unwrap();
        let (_, min, max) = counted_class(&rx).unwrap();
        assert_eq!((min, max), (1, Some(255)));
        assert!(
            counted_class(&search_language(&parse_ecma("^a.{1,3}$").unwrap(), "").unwrap())
                .is_none()
        );
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use crate::regex::parse_ecma;

    /// Unanchored alternations stay small (no product with UTF-8 positions).
    #[test]
    fn unanchored_alternations_are_small() {
        for p in [
            "en|de|ru|pt|nl|fr|it|es|pl|uk|zh-cn",
            "^list|date|time|string$",
            "ab",
        ] {
            let n = parse_ecma(p).unwrap();
            let rx = search_language(&n, p).unwrap();
            let d = encoded_dfa(&rx, 2_000).unwrap();
            assert!(d.num_states() < 200, "{p}: {}", d.num_states());
        }
    }
}
