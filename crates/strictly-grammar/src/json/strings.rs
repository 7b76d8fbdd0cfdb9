//! String lexemes: patterns, formats, lengths and excluded values combined
//! into one DFA over the JSON encoding plus character-count bounds.

use std::sync::Arc;

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

use super::formats::{format_regex, format_superset_regex};
use super::ir::StrSpec;
use super::parse::Ctx;
use crate::dfa::{Dfa, SetOp};
use crate::dfa_cache::cached;
use crate::error::{CompileError, DfaError};
use crate::grammar::DFA_STATE_LIMIT;
use crate::regex::{
    class_star_dfa, counted_class, encode_str, encoded_dfa, parse_ecma, parse_ecma_widest,
    search_language,
};

/// `"…"` with the canonical JSON escapes.
pub(crate) fn encode_quoted(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 2);
    v.push(b'"');
    encode_str(s, &mut v);
    v.push(b'"');
    v
}

fn dfa_err(keyword: &str, what: &str, e: DfaError) -> CompileError {
    CompileError::too_complex(keyword, "", format!("{what}: {e}"))
}

/// Every JSON string.
pub(crate) fn any_string_dfa() -> Result<Arc<Dfa>, CompileError> {
    cached("str:any", || {
        let all = ClassUnicode::new([ClassUnicodeRange::new('\0', '\u{10FFFF}')]);
        class_star_dfa(&all, DFA_STATE_LIMIT)
    })
    .map_err(|e| dfa_err("type", "string", e))
}

/// The strings in which `pattern` matches (cached per pattern).
pub(crate) fn pattern_dfa(_ctx: &mut Ctx, pattern: &str) -> Result<Arc<Dfa>, CompileError> {
    cached(&format!("pat:{pattern}"), || {
        let node = parse_ecma(pattern)?;
        let rx = search_language(&node, pattern)?;
        encoded_dfa(&rx, DFA_STATE_LIMIT).map_err(|e| dfa_err("pattern", pattern, e))
    })
}

/// The strings (JSON-encoded) some common engine's reading of `pattern`
/// matches (see `regex::parse_ecma_widest`).
pub(crate) fn widest_pattern_dfa(pattern: &str) -> Result<Arc<Dfa>, CompileError> {
    cached(&format!("patw:{pattern}"), || {
        let node = parse_ecma_widest(pattern)?;
        let rx = search_language(&node, pattern)?;
        encoded_dfa(&rx, DFA_STATE_LIMIT).map_err(|e| dfa_err("pattern", pattern, e))
    })
}

/// JSON strings of printable ASCII characters only (no escapes).
pub(crate) fn printable_ascii_dfa() -> Result<Arc<Dfa>, DfaError> {
    cached("str:printable-ascii", || {
        let printable = ClassUnicode::new([
            ClassUnicodeRange::new(' ', '!'),
            ClassUnicodeRange::new('#', '['),
            ClassUnicodeRange::new(']', '~'),
        ]);
        class_star_dfa(&printable, DFA_STATE_LIMIT)
    })
}

/// A pattern of the form `^C{n,m}$`: the DFA of `C*` and the bounds.
fn counted_pattern(pattern: &str) -> Result<Option<(Arc<Dfa>, u32, Option<u32>)>, CompileError> {
    let node = parse_ecma(pattern)?;
    let rx = search_language(&node, pattern)?;
    let Some((class, lo, hi)) = counted_class(&rx) else {
        return Ok(None);
    };
    let d = cached(&format!("cls:{pattern}"), || {
        class_star_dfa(&class, DFA_STATE_LIMIT)
    })
    .map_err(|e| dfa_err("pattern", pattern, e))?;
    Ok(Some((d, lo, hi)))
}

/// The strings in a format (cached per format).
pub(crate) fn format_dfa(name: &str) -> Result<(Arc<Dfa>, Option<u32>), CompileError> {
    let Some((re, max)) = format_regex(name) else {
        return Err(CompileError::unsupported(
            "format",
            "",
            format!("format \"{name}\""),
        ));
    };
    let d = whole_string_dfa(&format!("fmt:{name}"), &re, name)?;
    Ok((d, max))
}

/// The strings outside of which no validator accepts format `name`.
fn format_superset_dfa(name: &str) -> Result<Arc<Dfa>, CompileError> {
    let Some(re) = format_superset_regex(name) else {
        return Err(CompileError::unsupported(
            "format",
            "",
            format!("format \"{name}\""),
        ));
    };
    whole_string_dfa(&format!("fmtw:{name}"), re, name)
}

/// The strings (JSON-encoded) that `re` matches whole, cached under `key`.
fn whole_string_dfa(key: &str, re: &str, name: &str) -> Result<Arc<Dfa>, CompileError> {
    cached(key, || {
        let full = format!("^(?:{re})$");
        let node = parse_ecma(&full)?;
        let rx = search_language(&node, &full)?;
        encoded_dfa(&rx, DFA_STATE_LIMIT * 4).map_err(|e| dfa_err("format", name, e))
    })
}

fn combine(a: &Dfa, b: &Dfa, op: SetOp, what: &str) -> Result<Arc<Dfa>, CompileError> {
    Dfa::product(a, b, op, DFA_STATE_LIMIT * 4)
        .map(Arc::new)
        .map_err(|e| dfa_err(what, "combination", e))
}

/// The DFA (over the encoding, quotes included) and character bounds of a
/// string schema. Bounds are checked by the lexer, not unrolled in the DFA.
pub(crate) fn string_dfa(
    ctx: &mut Ctx,
    spec: &StrSpec,
) -> Result<(Arc<Dfa>, u32, u32), CompileError> {
    let mut lo = spec.min;
    let mut hi = spec.max.unwrap_or(ctx.options.max_string_chars);
    let mut patterns: &[String] = &spec.patterns;
    let mut dfa: Arc<Dfa> = any_string_dfa()?;
    if let Some((first, rest)) = spec.patterns.split_first() {
        if let Some((d, n, m)) = counted_pattern(first)? {
            dfa = d;
            lo = lo.max(n);
            if let Some(m) = m {
                hi = hi.min(m);
            }
            patterns = rest;
        }
    }
    for p in patterns {
        let d = pattern_dfa(ctx, p)?;
        dfa = combine(&dfa, &d, SetOp::Intersect, "pattern")?;
    }
    for f in &spec.formats {
        let (d, max) = format_dfa(f)?;
        dfa = combine(&dfa, &d, SetOp::Intersect, "format")?;
        if let Some(m) = max {
            hi = hi.min(m);
        }
    }
    // A string left outside a pattern must be outside every validator's
    // reading of it (engines disagree on `.`, `\d`, `\w` and `\s`, and
    // one validator reads `.` differently once a look-ahead is present).
    for p in &spec.not_patterns {
        let d = widest_pattern_dfa(p)?;
        dfa = combine(&dfa, &d, SetOp::Difference, "pattern")?;
    }
    // A format's language here is a subset of what validators accept (no
    // A-labels, leap seconds at whole-hour offsets only, ...), so a string
    // that must not be of the format is taken from outside a superset.
    for f in &spec.not_formats {
        let d = format_superset_dfa(f)?;
        dfa = combine(&dfa, &d, SetOp::Difference, "format")?;
    }
    if !spec.excluded.is_empty() {
        let words: Vec<Vec<u8>> = spec.excluded.iter().map(|s| encode_quoted(s)).collect();
        let ex = Dfa::from_words(words.iter().map(|w| w.as_slice()));
        dfa = combine(&dfa, &ex, SetOp::Difference, "enum")?;
    }
    Ok((dfa, lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonOptions;

    #[test]
    fn counted_patterns_use_bounds() {
        let v = serde_json::json!({});
        let mut ctx = Ctx::new(&v, JsonOptions::lenient());
        let spec = StrSpec {
            patterns: vec!["^[a-z]{2,5}$".into()],
            max: Some(4),
            ..Default::default()
        };
        let (d, lo, hi) = string_dfa(&mut ctx, &spec).unwrap();
        assert_eq!((lo, hi), (2, 4));
        assert!(d.matches(b"\"abcdefgh\""), "the count is not in the DFA");
        assert!(!d.matches(b"\"aB\""));
        let spec = StrSpec {
            patterns: vec!["^a".into()],
            excluded: vec!["ab".into()],
            ..Default::default()
        };
        let (d, _, _) = string_dfa(&mut ctx, &spec).unwrap();
        assert!(d.matches(b"\"abc\"") && !d.matches(b"\"ab\"") && !d.matches(b"\"b\""));
    }
}
