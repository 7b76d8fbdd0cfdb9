//! The shipped grammars (`grammars/` at the top of the repository): each
//! compiles, and seeded random walks inside its masks — with the default
//! model's vocabulary and with a byte-level one — end in text that an
//! independent recogniser accepts (serde_json, jsonschema, sqlparser,
//! chrono, the csv crate, or a regex of the `regex` crate). Hand-picked
//! strings on both sides of each language check that grammar and
//! recogniser agree on refusals too.

use std::sync::{Arc, OnceLock};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strictly_grammar::library::{self, GRAMMARS};
use strictly_grammar::{CompiledGrammar, Factory, Vocabulary};

mod support;

fn model_factory() -> &'static Arc<Factory> {
    &support::model_factory().0
}

fn byte_factory() -> &'static Arc<Factory> {
    static F: OnceLock<Arc<Factory>> = OnceLock::new();
    F.get_or_init(|| Factory::new(Vocabulary::byte_level(&[])))
}

/// A walk: random tokens of the mask (end-of-sequence included where the
/// text may end), then the shortest completion.
fn walk(f: &Arc<Factory>, g: &Arc<CompiledGrammar>, seed: u64, max_random: usize) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = f.matcher(g);
    let mut out = Vec::new();
    for _ in 0..rng.random_range(0..max_random) {
        let allowed: Vec<u32> = m.compute_mask().iter().collect();
        assert!(
            !allowed.is_empty(),
            "dead end after {:?}",
            String::from_utf8_lossy(&out)
        );
        let t = allowed[rng.random_range(0..allowed.len())];
        if f.vocab().is_eos(t) {
            assert!(m.is_accepting());
            return String::from_utf8(out).expect("walks write UTF-8");
        }
        m.commit_token(t).expect("a token of the mask commits");
        out.extend_from_slice(f.vocab().token_bytes(t));
    }
    let rest = m
        .shortest_completion_tokens(100_000)
        .unwrap_or_else(|| panic!("no completion after {:?}", String::from_utf8_lossy(&out)));
    for t in rest {
        m.commit_token(t).expect("completion tokens commit");
        out.extend_from_slice(f.vocab().token_bytes(t));
    }
    assert!(m.is_accepting(), "{:?}", String::from_utf8_lossy(&out));
    String::from_utf8(out).expect("walks write UTF-8")
}

fn grammar_accepts(name: &str, text: &str) -> bool {
    let f = byte_factory();
    let g = compile(f, name);
    let mut m = f.matcher(&g);
    m.commit_bytes(text.as_bytes()).is_ok() && m.is_accepting()
}

fn compile(f: &Arc<Factory>, name: &str) -> Arc<CompiledGrammar> {
    let name_ref = format!("@{name}");
    let text = library::resolve(&name_ref).expect("shipped");
    f.compile_gbnf(text)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Walks `name` with both vocabularies, each walk taking up to
/// `max_random` random tokens before the shortest way to the end; every
/// text must satisfy `check`. Returns the texts, for checks on variety.
fn walks(
    name: &str,
    n: u64,
    max_random: usize,
    check: impl Fn(&str) -> Result<(), String>,
) -> Vec<String> {
    let mut texts = Vec::new();
    for (f, n) in [(byte_factory(), n), (model_factory(), n / 4)] {
        let g = compile(f, name);
        for seed in 0..n {
            let text = walk(f, &g, seed, max_random);
            if let Err(why) = check(&text) {
                panic!("{name}, walk {seed}: {text:?} is refused: {why}");
            }
            texts.push(text);
        }
    }
    texts
}

/// Grammar and recogniser agree on each hand-picked string.
fn agree(name: &str, samples: &[&str], check: impl Fn(&str) -> Result<(), String>) {
    for s in samples {
        assert_eq!(
            grammar_accepts(name, s),
            check(s).is_ok(),
            "{name}: grammar and recogniser disagree on {s:?}"
        );
    }
}

fn full_match(pattern: &str) -> impl Fn(&str) -> Result<(), String> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).expect("a regex");
    move |s| {
        re.is_match(s)
            .then_some(())
            .ok_or_else(|| format!("no match for {pattern}"))
    }
}

#[test]
fn every_shipped_grammar_compiles_with_the_model_vocabulary() {
    for g in GRAMMARS {
        compile(model_factory(), g.name);
    }
}

#[test]
fn json() {
    let check = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let texts = walks("json", 200, 40, check);
    assert!(texts.iter().any(|t| t.starts_with('{')) && texts.iter().any(|t| t.starts_with('[')));
    agree(
        "json",
        &[
            r#"{"a": [1, -0.5e+10, true, null, "\u00e9\n"]}"#,
            "01",
            "1.",
            "\"\\ud800\"",
            "{\"a\":1}",
            "[1,]",
            "\"\t\"",
        ],
        check,
    );
}

#[test]
fn json_string_array() {
    let schema = serde_json::json!({"type": "array", "items": {"type": "string"}});
    let validator = jsonschema::validator_for(&schema).expect("a validator");
    let check = |s: &str| {
        let v: serde_json::Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
        validator.validate(&v).map_err(|e| e.to_string())
    };
    walks("json_string_array", 200, 40, check);
    agree(
        "json_string_array",
        &["[]", r#"["a", "b\"c"]"#, "[1]", r#"["a",]"#, r#"{"a":"b"}"#],
        check,
    );
}

#[test]
fn comma_list() {
    let item = r"[^,\n\r\t ](?:[^,\n\r\t]*[^,\n\r\t ])?";
    let pattern = format!("{item}(?:, ?{item})*");
    let check = full_match(&pattern);
    walks("comma_list", 200, 40, &check);
    agree(
        "comma_list",
        &[
            "apples, pears,plums",
            "new york",
            "a,,b",
            " a",
            "a ",
            "a,  b",
            "a\nb",
        ],
        &check,
    );
}

#[test]
fn iso_date() {
    let check = |s: &str| {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| e.to_string())?;
        (d.format("%Y-%m-%d").to_string() == s)
            .then_some(())
            .ok_or_else(|| "not written as YYYY-MM-DD".to_string())
    };
    let texts = walks("iso_date", 400, 40, check);
    let distinct: std::collections::HashSet<&String> = texts.iter().collect();
    assert!(
        distinct.len() > 200,
        "only {} distinct dates",
        distinct.len()
    );
    agree(
        "iso_date",
        &[
            "2024-02-29",
            "2000-02-29",
            "0000-02-29",
            "1900-02-29",
            "2023-02-29",
            "2023-04-31",
            "2023-12-31",
            "2023-13-01",
            "2023-00-10",
            "2023-01-00",
            "99-01-01",
            "1600-02-29",
            "1700-02-29",
        ],
        check,
    );
}

/// An independent recursive-descent recogniser of the arithmetic language.
fn arithmetic(s: &str) -> Result<(), String> {
    struct P<'a>(&'a [u8], usize);
    impl P<'_> {
        fn peek(&self) -> Option<u8> {
            self.0.get(self.1).copied()
        }
        fn eat(&mut self, b: u8) -> bool {
            let ok = self.peek() == Some(b);
            self.1 += ok as usize;
            ok
        }
        fn op(&mut self, ops: &[u8]) -> bool {
            let save = self.1;
            self.eat(b' ');
            if self.peek().is_some_and(|c| ops.contains(&c)) {
                self.1 += 1;
                self.eat(b' ');
                return true;
            }
            self.1 = save;
            false
        }
        fn digits(&mut self) -> bool {
            let start = self.1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.1 += 1;
            }
            (1..=15).contains(&(self.1 - start))
        }
        fn factor(&mut self) -> bool {
            self.eat(b'-');
            if self.eat(b'(') {
                return self.expr() && self.eat(b')');
            }
            self.digits() && (!self.eat(b'.') || self.digits())
        }
        fn term(&mut self) -> bool {
            self.factor() && (!self.op(b"*/") || self.term())
        }
        fn expr(&mut self) -> bool {
            self.term() && (!self.op(b"+-") || self.expr())
        }
    }
    let mut p = P(s.as_bytes(), 0);
    (p.expr() && p.1 == s.len())
        .then_some(())
        .ok_or_else(|| format!("stops at byte {}", p.1))
}

#[test]
fn arithmetic_expressions() {
    walks("arithmetic", 200, 40, arithmetic);
    agree(
        "arithmetic",
        &[
            "(1.5 + 2) * -3",
            "1+2*3",
            "-(4)",
            "1 +2",
            "--1",
            "1  + 2",
            "(1",
            "1.",
            "()",
        ],
        arithmetic,
    );
}

fn chess_san(s: &str) -> Result<(), String> {
    let shape = full_match(
        "(?:O-O(?:-O)?|Kx?[a-h][1-8]|[QRBN][a-h]?[1-8]?x?[a-h][1-8]|\
         (?:[a-h]x)?[a-h](?:[2-7]|[18]=[QRBN]))[+#]?",
    );
    shape(s)?;
    // A pawn captures onto an adjacent file.
    let b = s.as_bytes();
    if b.len() > 2 && b[0].is_ascii_lowercase() && b[1] == b'x' && b[0].abs_diff(b[2]) != 1 {
        return Err("a pawn captures onto an adjacent file".into());
    }
    Ok(())
}

#[test]
fn chess_moves() {
    let texts = walks("chess_san", 300, 40, chess_san);
    assert!(texts.iter().any(|t| t.contains('=')), "no promotion walked");
    agree(
        "chess_san",
        &[
            "Nf3", "exd5", "e8=Q+", "O-O-O#", "Raxe1", "Kxe2", "e8", "e1", "axc3", "Ka1b2",
            "O-O-O-O", "Qh4#",
        ],
        chess_san,
    );
}

fn csv_row(s: &str) -> Result<(), String> {
    let field = r#"[^,"\r\n]*|"(?:[^"]|"")*""#;
    full_match(&format!("(?:{field})(?:,(?:{field}))*"))(s)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(s.as_bytes());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    match records.as_slice() {
        [one] if one.len() == s.matches(',').count() + 1 || s.contains('"') => Ok(()),
        [] if s.is_empty() => Ok(()),
        other => Err(format!("{} records", other.len())),
    }
}

#[test]
fn csv_rows() {
    let texts = walks("csv_row", 200, 40, csv_row);
    assert!(
        texts.iter().any(|t| t.contains('"')),
        "no quoted field walked"
    );
    agree(
        "csv_row",
        &[
            "a,b,c",
            r#""x, y","He said ""hi""",3"#,
            "\"line\nbreak\"",
            "a\"b",
            "\"a\"b",
            "a\nb",
        ],
        csv_row,
    );
}

fn sql(s: &str) -> Result<(), String> {
    use sqlparser::dialect::{GenericDialect, PostgreSqlDialect, SQLiteDialect};
    use sqlparser::parser::Parser;
    for dialect in [
        &GenericDialect {} as &dyn sqlparser::dialect::Dialect,
        &PostgreSqlDialect {},
        &SQLiteDialect {},
    ] {
        let statements = Parser::parse_sql(dialect, s).map_err(|e| format!("{dialect:?}: {e}"))?;
        match statements.as_slice() {
            [sqlparser::ast::Statement::Query(_)] => {}
            other => return Err(format!("{} statements", other.len())),
        }
    }
    Ok(())
}

#[test]
fn sql_select_queries() {
    let texts = walks("sql_select", 200, 120, sql);
    assert!(
        texts.iter().any(|t| t.contains(" WHERE ")),
        "no WHERE walked"
    );
    agree(
        "sql_select",
        &[
            r#"SELECT "name", COUNT(*) AS "n" FROM "users" AS "u" LEFT JOIN "orders" ON "u"."id" = "orders"."user_id" WHERE "age" >= 18 AND NOT ("city" IN ('Lyon', 'Nice')) GROUP BY "name" HAVING COUNT(*) > 1 ORDER BY "name" DESC LIMIT 10"#,
            r#"SELECT * FROM "t" WHERE "a" LIKE 'it''s%'"#,
            r#"SELECT * FROM "t" WHERE"#,
            r#"SELECT FROM "t""#,
        ],
        sql,
    );
}
