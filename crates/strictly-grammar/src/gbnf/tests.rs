use crate::error::CompileError;
use crate::{Factory, Vocabulary};

/// A vocabulary of every byte alone plus a few longer tokens, so masks can
/// be compared with committing byte by byte.
fn factory() -> std::sync::Arc<Factory> {
    Factory::new(Vocabulary::byte_level(&[
        b"ab",
        b"true",
        b"\"a",
        b"\",",
        b"[1",
        b"],",
        b"\xc3\xa9",
        b"12",
    ]))
}

fn accepts(grammar: &str, text: &str) -> bool {
    let f = factory();
    let g = f.compile_gbnf(grammar).unwrap_or_else(|e| panic!("{e}"));
    let mut m = f.matcher(&g);
    m.commit_bytes(text.as_bytes()).is_ok() && m.is_accepting()
}

fn error(grammar: &str) -> (usize, usize, String) {
    match factory().compile_gbnf(grammar) {
        Err(CompileError::Gbnf {
            line,
            column,
            reason,
        }) => (line, column, reason),
        other => panic!("expected a GBNF error, got {other:?}"),
    }
}

#[test]
fn literals_alternatives_and_groups() {
    let g = r#"root ::= "yes" | "no" | ("may" "be")"#;
    for ok in ["yes", "no", "maybe"] {
        assert!(accepts(g, ok), "{ok}");
    }
    for bad in ["", "ye", "yesno", "may"] {
        assert!(!accepts(g, bad), "{bad}");
    }
}

#[test]
fn quantifiers() {
    let g = r#"root ::= "a"* "b"+ "c"? [0-9]{2} [x]{1,} [y]{0,2}"#;
    for ok in ["b12x", "aabbc12xxy", "bb99xyy"] {
        assert!(accepts(g, ok), "{ok}");
    }
    for bad in ["12x", "b1x", "b123x", "b12", "b12xyyy"] {
        assert!(!accepts(g, bad), "{bad}");
    }
}

#[test]
fn classes_are_characters_not_bytes() {
    let g = r#"root ::= "\"" [^"\\]* "\"""#;
    assert!(accepts(g, "\"é日本\""));
    assert!(!accepts(g, "\"a\\\""));
    let dot = "root ::= . .";
    assert!(accepts(dot, "é😀"));
    assert!(!accepts(dot, "é"));
    let mut m = {
        let f = factory();
        let g = f.compile_gbnf("root ::= [^a]").unwrap();
        f.matcher(&g)
    };
    // The first byte of "é" is allowed, a lone continuation byte is not.
    assert!(m.commit_bytes(&[0xc3]).is_ok());
    assert!(m.commit_bytes(&[0xc3]).is_err());
}

#[test]
fn escapes_ranges_and_negation() {
    let g = r#"root ::= [\x41-\x43] "\u00e9" [\]\-] [^\n]"#;
    assert!(accepts(g, "Bé]x"));
    assert!(accepts(g, "Aé-\t"));
    assert!(!accepts(g, "Dé]x"));
    assert!(!accepts(g, "Bé]\n"));
}

#[test]
fn recursion_left_and_right() {
    let g = "root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= \"(\" expr \")\" | [0-9]+\n";
    for ok in ["1", "1+2", "(1+2)+30", "((4))"] {
        assert!(accepts(g, ok), "{ok}");
    }
    for bad in ["", "+", "1+", "(1", "1)"] {
        assert!(!accepts(g, bad), "{bad}");
    }
}

#[test]
fn rules_span_lines_inside_parentheses_and_after_bars() {
    let g = r#"
# a comment line
root ::= (
    "a"   # inside a group
    "b"
  ) tail
tail ::=
  "x" |
  "y"
  | "z"
"#;
    for ok in ["abx", "aby", "abz"] {
        assert!(accepts(g, ok), "{ok}");
    }
    assert!(!accepts(g, "ab"));
}

/// llama.cpp's own `json.gbnf`, as it ships.
#[test]
fn the_json_grammar_of_llama_cpp() {
    let g = r#"root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
"#;
    for ok in [
        r#"{"a": [1, 2.5, true, null], "b": {"c": "d\u00e9"}}"#,
        "{}",
        "{\"k\":\n  \"v\"}",
    ] {
        assert!(accepts(g, ok), "{ok}");
    }
    for bad in ["[1]", "{\"a\":}", "{\"a\":tru}", "{\"a\":\"\x01\"}"] {
        assert!(!accepts(g, bad), "{bad}");
    }
}

#[test]
fn masks_match_committing_token_by_token() {
    let f = factory();
    let g = f
        .compile_gbnf(concat!(
            r#"root ::= "[" (item ("," item)*)? "]""#,
            "\n",
            r#"item ::= "\"" [a-z]* "\"" | [0-9]+ | "true""#
        ))
        .unwrap();
    let mut m = f.matcher(&g);
    for step in [&b"["[..], b"\"ab", b"\",", b"12", b",", b"true"] {
        crate::tests::check_mask_against_commit(&f, &mut m);
        m.commit_bytes(step).unwrap();
    }
    m.commit_bytes(b"]").unwrap();
    assert!(m.is_accepting());
}

#[test]
fn errors_name_the_line_and_column() {
    assert_eq!(error("root ::= \"a\" b").0, 1);
    let (line, column, reason) = error("root ::= \"a\"\n  other\n");
    assert_eq!((line, column), (2, 3), "{reason}");
    let (line, column, reason) = error("root ::= x\nx ::= \"a\" missing");
    assert_eq!((line, column), (2, 11), "{reason}");
    assert!(reason.contains("missing"), "{reason}");
    let (line, column, _) = error("root ::= [a-");
    assert_eq!((line, column), (1, 10));
    let (line, column, _) = error("root ::= \"abc");
    assert_eq!((line, column), (1, 10));
    let (line, _, reason) = error("root ::= (\"a\"");
    assert_eq!(line, 1, "{reason}");
    let (_, _, reason) = error("start ::= \"a\"");
    assert!(reason.contains("root"), "{reason}");
    let (line, _, reason) = error("root ::= \"a\"\nroot ::= \"b\"");
    assert_eq!(line, 2);
    assert!(reason.contains("line 1"), "{reason}");
    let (_, column, _) = error("root ::= \"a\"{3,2}");
    assert_eq!(column, 13);
    let (_, _, reason) = error("root ::= [z-a]");
    assert!(reason.contains("reversed"), "{reason}");
    let (_, _, reason) = error("root ::= \"\\q\"");
    assert!(reason.contains("escape"), "{reason}");
    let (_, _, reason) = error("root ::= \"\\uD800\"");
    assert!(reason.contains("not a character"), "{reason}");
    let (_, _, reason) = error("root ::= \"a\"{99999}");
    assert!(reason.contains("at most"), "{reason}");
    let (_, _, reason) = error("root ::= [] ");
    assert!(reason.contains("no string"), "{reason}");
    let (_, column, _) = error("root ::= \"a\" b ::= \"c\"");
    assert_eq!(column, 14);
}

#[test]
fn arbitrary_text_never_panics() {
    let pieces = [
        "root", " ::= ", "\"", "[", "]", "(", ")", "|", "*", "{", "}", ",", "\\", "\n", "#", "a",
        "^", "-", "2", "é", "<", ".", "?", "+", "x ::= ", "\\u",
    ];
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..(seed % 24) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        let _ = super::compile(&s, std::time::Duration::from_secs(2));
    }
}

/// Masks of the grammar as lowered (pieces lexed whole where exact) and
/// lowered by character are the same at every step of seeded random walks.
fn same_masks_as_by_character(grammar: &str, walks: u64) -> std::sync::Arc<crate::CompiledGrammar> {
    let f = Factory::new(Vocabulary::byte_level(&[
        b"ab",
        b"\"a",
        b"\",",
        b"''",
        b"'x",
        b"s ",
        b"a'",
        b"12",
        b"\"\"",
        b"a\"",
        b"\xc3\xa9",
    ]));
    let whole =
        f.from_grammar(super::compile(grammar, std::time::Duration::from_secs(60)).unwrap());
    let chars = f.from_grammar(super::compile_by_character(grammar).unwrap());
    let mut seed = 0x2545f4914f6cdd1du64;
    for _ in 0..walks {
        let (mut a, mut b) = (f.matcher(&whole), f.matcher(&chars));
        let mut text = Vec::new();
        for _ in 0..48 {
            let (ma, mb) = (a.compute_mask(), b.compute_mask());
            let allowed: Vec<u32> = ma.iter().collect();
            assert_eq!(
                allowed,
                mb.iter().collect::<Vec<u32>>(),
                "{grammar:?}: masks differ after {:?}",
                String::from_utf8_lossy(&text)
            );
            if allowed.is_empty() {
                break;
            }
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let t = allowed[(seed % allowed.len() as u64) as usize];
            if f.vocab().is_eos(t) {
                assert!(a.is_accepting() && b.is_accepting());
                break;
            }
            a.commit_token(t).unwrap();
            b.commit_token(t).unwrap();
            text.extend_from_slice(f.vocab().token_bytes(t));
        }
    }
    whole
}

/// Whether some lexeme of `g` matches all of `word` (a piece lexed whole).
fn lexed_whole(g: &crate::CompiledGrammar, word: &[u8]) -> bool {
    g.grammar().dfas().iter().any(|d| d.matches(word))
}

#[test]
fn regular_pieces_are_lexed_whole_where_that_is_exact() {
    // A JSON-like string: its closing quote ends it.
    let g = same_masks_as_by_character(
        r#"root ::= "[" ( str ( "," str )* )? "]"
str ::= "\"" [^"\\]* "\"""#,
        300,
    );
    assert!(lexed_whole(&g, b"\"ab\""));
    // Quotes doubled inside: what follows the string is never a quote.
    let g = same_masks_as_by_character(r#"root ::= "'" ( [^'] | "''" )* "'" ( " " [a-z]+ )?"#, 300);
    assert!(lexed_whole(&g, b"'a''b'"));
    // Words separated by commas: a word ends where a comma may follow.
    let g = same_masks_as_by_character(r#"root ::= [a-z]+ ( "," [a-z]+ )*"#, 300);
    assert!(lexed_whole(&g, b"abc"));
}

#[test]
fn pieces_stay_by_character_where_the_greedy_lexer_would_be_wrong() {
    // Recursive rules, so that the pieces are not the whole language.
    let cases: [(&str, &[u8]); 4] = [
        // A word that an "s" may follow: "abs" is a word, or "ab" and "s".
        (
            "root ::= word \"s\"? \";\" root | \".\"\nword ::= [a-z]+",
            b"ab",
        ),
        // A string that a quote may follow.
        (
            r#"root ::= "'" ( [^'] | "''" )* "'" "'"? ";" root | ".""#,
            b"'a'",
        ),
        // Two pieces that start alike.
        (r#"root ::= "ab" root | "a" "." root | ";""#, b"ab"),
        (
            r#"root ::= ( "xy" | "xz" ) "!" root | "x" [a-z] [a-z] root | ";""#,
            b"xy",
        ),
    ];
    for (grammar, word) in cases {
        let g = same_masks_as_by_character(grammar, 200);
        assert!(!lexed_whole(&g, word), "{grammar:?}");
    }
}

#[test]
fn the_shipped_grammars_lower_exactly() {
    for g in crate::library::GRAMMARS {
        same_masks_as_by_character(g.text, 60);
    }
}

#[test]
fn a_grammar_past_its_time_budget_is_refused_as_too_complex() {
    let mut g = String::from("root ::= r0\n");
    for i in 0..20_000 {
        g.push_str(&format!("r{i} ::= \"a\" r{} | [b-z]+ \";\"\n", i + 1));
    }
    g.push_str("r20000 ::= \"end\"\n");
    match super::compile(&g, std::time::Duration::from_millis(1)) {
        Err(CompileError::TooComplex { keyword, .. }) => assert_eq!(keyword, "grammar"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    // With time to spare it compiles, and a matcher plans and masks it
    // without recursing through the chain of rules.
    let f = factory();
    let compiled = f.from_grammar(super::compile(&g, std::time::Duration::from_secs(60)).unwrap());
    let mut m = f.matcher(&compiled);
    assert!(!m.compute_mask().is_empty());
    assert!(m.shortest_completion_bytes(1 << 20).is_some());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "root ::= {}\"a\"{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let (_, _, reason) = error(&deep);
    assert!(reason.contains("nest"), "{reason}");
    let ok = format!("root ::= {}\"a\"{}", "(".repeat(150), ")".repeat(150));
    assert!(accepts(&ok, "a"));
}
