//! Constraints on plain text: a regular expression the whole answer must
//! match, or a choice among strings. Each compiles to a grammar of one
//! lexeme, so the lexer alone decides and nothing is ever split.
//!
//! Patterns use the syntax of Rust's `regex` crate, which covers what
//! Python's `re` and vLLM users write (classes, `\d`, `\w`, `{m,n}`, groups,
//! `(?:…)`, `(?P<name>…)`, Unicode classes). The answer must match as a
//! whole (`fullmatch`): `^` and `$` are accepted at the edges and change
//! nothing; other assertions (`\b`, look-arounds) are refused.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::dfa::Dfa;
use crate::error::CompileError;
use crate::grammar::{DFA_STATE_LIMIT, Grammar, GrammarBuilder};

/// Compiles a whole-answer regex.
pub(crate) fn regex(pattern: &str) -> Result<Grammar, CompileError> {
    let err = |offset: usize, reason: String| CompileError::Regex {
        pattern: pattern.to_string(),
        offset,
        reason,
    };
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| {
            let (offset, reason) = match &e {
                regex_syntax::Error::Parse(p) => (p.span().start.offset, p.kind().to_string()),
                regex_syntax::Error::Translate(t) => (t.span().start.offset, t.kind().to_string()),
                other => (0, other.to_string()),
            };
            err(offset, reason)
        })?;
    let hir = strip_edges(&hir, true, true).ok_or_else(|| {
        err(
            0,
            "the answer must match the whole pattern: `^` and `$` are accepted only at its \
             edges, and `\\b` and other assertions are not supported"
                .into(),
        )
    })?;
    let mut b = GrammarBuilder::new();
    // `C{m,n}` for one class: the lexer counts characters instead of a DFA
    // of n states.
    let sym = match counted_class(&hir) {
        Some((class, min, max)) => {
            let star = Hir::repetition(regex_syntax::hir::Repetition {
                min: 0,
                max: None,
                greedy: true,
                sub: Box::new(Hir::class(class)),
            });
            let dfa = Dfa::from_hir(&star, DFA_STATE_LIMIT).map_err(|e| err(0, e.to_string()))?;
            b.lexeme(dfa, min, max.unwrap_or(u32::MAX))
        }
        None => {
            let dfa = Dfa::from_hir(&hir, DFA_STATE_LIMIT).map_err(|e| err(0, e.to_string()))?;
            b.lexeme(dfa, 0, u32::MAX)
        }
    };
    // A pattern matching only the empty string is still a symbol (`lexeme`
    // makes nullable DFAs optional); `None` means it matches nothing.
    let sym = sym.ok_or_else(|| err(0, "no string matches the pattern".into()))?;
    b.finish(sym, 0)
        .map_err(|_| err(0, "no string matches the pattern".into()))
}

/// Compiles a choice among `choices` (the answer is one of them, exactly).
pub(crate) fn choice(choices: &[String]) -> Result<Grammar, CompileError> {
    if choices.is_empty() {
        return Err(CompileError::Invalid {
            keyword: "choice".into(),
            pointer: String::new(),
            reason: "the list of choices is empty".into(),
        });
    }
    let mut b = GrammarBuilder::new();
    let dfa = Dfa::from_words(choices.iter().map(|c| c.as_bytes()));
    let sym = b.lexeme(dfa, 0, u32::MAX).unwrap_or_else(|| b.literal(b""));
    b.finish(sym, 0)
}

/// Removes `^` at the start and `$` at the end (always true for a whole
/// match); `None` when another assertion is left.
fn strip_edges(h: &Hir, at_start: bool, at_end: bool) -> Option<Hir> {
    if h.properties().look_set().is_empty() {
        return Some(h.clone());
    }
    match h.kind() {
        HirKind::Look(Look::Start | Look::StartLF | Look::StartCRLF) if at_start => {
            Some(Hir::empty())
        }
        HirKind::Look(Look::End | Look::EndLF | Look::EndCRLF) if at_end => Some(Hir::empty()),
        HirKind::Concat(items) => {
            let n = items.len();
            let items = items
                .iter()
                .enumerate()
                .map(|(i, x)| strip_edges(x, at_start && i == 0, at_end && i + 1 == n))
                .collect::<Option<Vec<_>>>()?;
            Some(Hir::concat(items))
        }
        HirKind::Alternation(alts) => {
            let alts = alts
                .iter()
                .map(|x| strip_edges(x, at_start, at_end))
                .collect::<Option<Vec<_>>>()?;
            Some(Hir::alternation(alts))
        }
        HirKind::Capture(c) => strip_edges(&c.sub, at_start, at_end),
        _ => None,
    }
}

/// `C{m,n}` for a single class C, through any groups around it.
fn counted_class(h: &Hir) -> Option<(Class, u32, Option<u32>)> {
    match h.kind() {
        HirKind::Capture(c) => counted_class(&c.sub),
        HirKind::Repetition(r) => match r.sub.kind() {
            HirKind::Class(c) => Some((c.clone(), r.min, r.max)),
            HirKind::Capture(inner) => match inner.sub.kind() {
                HirKind::Class(c) => Some((c.clone(), r.min, r.max)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::error::CompileError;
    use crate::{Factory, Vocabulary};

    fn accepts(
        f: &std::sync::Arc<Factory>,
        g: &std::sync::Arc<crate::CompiledGrammar>,
        s: &str,
    ) -> bool {
        let mut m = f.matcher(g);
        m.commit_bytes(s.as_bytes()).is_ok() && m.is_accepting()
    }

    fn factory() -> std::sync::Arc<Factory> {
        Factory::new(Vocabulary::byte_level(&[b"ab", b"12", b"-0"]))
    }

    #[test]
    fn a_regex_must_match_the_whole_answer() {
        let f = factory();
        for pattern in [r"\d{3}-\d{4}", r"^\d{3}-\d{4}$", r"(?:\d{3})-(\d{4})"] {
            let g = f.compile_regex(pattern).unwrap();
            assert!(accepts(&f, &g, "555-1234"), "{pattern}");
            assert!(!accepts(&f, &g, "555-12345"), "{pattern}");
            assert!(!accepts(&f, &g, "x555-1234"), "{pattern}");
        }
        let g = f.compile_regex("(yes|no)|maybe").unwrap();
        assert!(accepts(&f, &g, "no") && accepts(&f, &g, "maybe"));
        assert!(!accepts(&f, &g, "yesno"));
    }

    #[test]
    fn counted_classes_are_counted_by_the_lexer() {
        let f = factory();
        let g = f.compile_regex("[a-zé]{2,5000}").unwrap();
        assert_eq!(g.grammar().dfas()[0].num_states() < 10, true);
        assert!(accepts(&f, &g, "éa"));
        assert!(!accepts(&f, &g, "é"));
        assert!(accepts(&f, &g, &"a".repeat(5000)));
        assert!(!accepts(&f, &g, &"a".repeat(5001)));
    }

    #[test]
    fn unsupported_and_malformed_patterns_are_refused_with_an_offset() {
        let f = factory();
        match f.compile_regex("ab(c") {
            Err(CompileError::Regex { offset, .. }) => assert_eq!(offset, 2),
            other => panic!("{other:?}"),
        }
        for pattern in [r"a\bb", "a^b", "(?=a)a", "a$b"] {
            assert!(
                matches!(f.compile_regex(pattern), Err(CompileError::Regex { .. })),
                "{pattern}"
            );
        }
        assert!(f.compile_regex("[^\\x00-\\x{10FFFF}]").is_err());
    }

    #[test]
    fn the_empty_pattern_accepts_only_the_empty_answer() {
        let f = factory();
        let g = f.compile_regex("").unwrap();
        assert!(accepts(&f, &g, ""));
        assert!(!accepts(&f, &g, "a"));
        let g = f.compile_regex("a?").unwrap();
        assert!(accepts(&f, &g, "") && accepts(&f, &g, "a"));
    }

    #[test]
    fn a_choice_is_one_of_the_strings_exactly() {
        let f = factory();
        let choices = ["positive", "negative", "neutral", "négatif", "pos"].map(String::from);
        let g = f.compile_choice(&choices).unwrap();
        for c in &choices {
            assert!(accepts(&f, &g, c), "{c}");
        }
        for bad in ["", "posi", "positives", "Positive"] {
            assert!(!accepts(&f, &g, bad), "{bad}");
        }
        assert!(f.compile_choice(&[]).is_err());
        let g = f.compile_choice(&["".into(), "a".into()]).unwrap();
        assert!(accepts(&f, &g, "") && accepts(&f, &g, "a"));
    }
}
