//! GBNF grammars and regexes as requests send them: any text compiles or
//! gives a typed GBNF or regex error; a compiled grammar's masks are never
//! empty before the text may end, every token of a mask commits, and a text
//! that ends is accepted by an independent judge (the `regex` crate for
//! patterns, a fresh matcher for grammars).

use std::sync::Arc;

use arbitrary::{Result, Unstructured};
use strictly_grammar::{CompileError, Factory, Vocabulary};

use crate::{Outcome, Target, bucket, signature};

/// Tokens a walk takes at most.
const MAX_STEPS: usize = 48;

/// With `STRICTLY_FUZZ_SLOW_MS` set (long runs; never in `cargo test`,
/// where timing is not asserted), an input that takes longer to compile
/// and walk is a finding: a request must not be able to hold a thread.
fn slow_limit() -> Option<std::time::Duration> {
    std::env::var("STRICTLY_FUZZ_SLOW_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
}

pub struct GrammarTarget {
    factory: Arc<Factory>,
}

impl Default for GrammarTarget {
    fn default() -> Self {
        Self {
            factory: Factory::new(Vocabulary::byte_level(&[
                b"ab",
                b"\"a",
                b"\",",
                b"''",
                b"12",
                b"\xc3\xa9",
                b"  ",
                b"\n",
            ])),
        }
    }
}

impl GrammarTarget {
    fn run_timed(&mut self, input: &[u8]) -> Outcome {
        // The first byte picks the kind; the text runs up to a NUL, and the
        // bytes after it steer the walk.
        let (kind, rest) = input.split_first().unwrap_or((&0, &[]));
        let cut = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let text = String::from_utf8_lossy(&rest[..cut]).into_owned();
        let steer = rest.get(cut + 1..).unwrap_or(&[]);
        let regex = kind & 1 == 1;
        let compiled = if regex {
            self.factory.compile_regex(&text)
        } else {
            self.factory.compile_gbnf(&text)
        };
        let grammar = match compiled {
            Ok(g) => g,
            Err(CompileError::Gbnf { .. }) if !regex => return Ok(signature("gbnf error")),
            Err(CompileError::Regex { .. }) if regex => return Ok(signature("regex error")),
            Err(other) => return Err(format!("{text:?}: an untyped refusal: {other}")),
        };
        let f = &self.factory;
        let mut m = f.matcher(&grammar);
        let mut out = Vec::new();
        let mut ended = false;
        for step in 0..MAX_STEPS {
            let allowed: Vec<u32> = m.compute_mask().iter().collect();
            if allowed.is_empty() {
                if !m.is_accepting() {
                    return Err(format!("{text:?}: empty mask after {out:?}"));
                }
                ended = true;
                break;
            }
            let pick = steer.get(step).copied().unwrap_or(0) as usize;
            let t = allowed[pick % allowed.len()];
            if f.vocab().is_eos(t) {
                ended = true;
                break;
            }
            m.commit_token(t)
                .map_err(|e| format!("{text:?}: a token of the mask failed: {e}"))?;
            out.extend_from_slice(f.vocab().token_bytes(t));
        }
        if ended {
            let answer = String::from_utf8(out.clone())
                .map_err(|_| format!("{text:?}: an answer that is not UTF-8: {out:?}"))?;
            if regex {
                // Patterns the regex crate refuses (it has other limits) are
                // not judged.
                if let Ok(re) = regex::Regex::new(&format!("^(?:{text})$"))
                    && !re.is_match(&answer)
                {
                    return Err(format!("{text:?}: {answer:?} does not match"));
                }
            } else {
                let mut replay = f.matcher(&grammar);
                if replay.commit_bytes(answer.as_bytes()).is_err() || !replay.is_accepting() {
                    return Err(format!("{text:?}: {answer:?} is not accepted on replay"));
                }
            }
        }
        Ok(signature((
            regex,
            ended,
            bucket(out.len()),
            bucket(grammar.grammar().num_lexemes()),
        )))
    }
}

impl Target for GrammarTarget {
    fn name(&self) -> &'static str {
        "grammar"
    }

    fn run(&mut self, input: &[u8]) -> Outcome {
        let started = std::time::Instant::now();
        let outcome = self.run_timed(input);
        let took = started.elapsed();
        if slow_limit().is_some_and(|limit| took > limit) {
            let text = String::from_utf8_lossy(input);
            return Err(format!("took {} ms: {text:?}", took.as_millis()));
        }
        outcome
    }

    fn generate(&self, entropy: &[u8]) -> Vec<u8> {
        let mut u = Unstructured::new(entropy);
        grammar_from(&mut u).unwrap_or_default()
    }

    fn dictionary(&self) -> &[&[u8]] {
        &[
            b"root ::= ",
            b"::=",
            b"|",
            b"(",
            b")",
            b"*",
            b"+",
            b"?",
            b"{2,3}",
            b"[a-z]",
            b"[^\"]",
            b"\\\"",
            b"\\n",
            b"\\u00e9",
            b"\"",
            b".",
            b"\n",
            b"# c\n",
            b"x ::= ",
            b"\\d",
            b"(?:",
            b"^",
            b"$",
            b"\\b",
        ]
    }
}

const ATOMS: [&str; 12] = [
    "\"a\"",
    "\"ab\"",
    "[a-c]",
    "[^\"\\\\]",
    ".",
    "x",
    "y",
    "\"\\n\"",
    "[0-9]",
    "\"é\"",
    "\"\"",
    "\"'\"",
];
const QUANTS: [&str; 7] = ["", "*", "+", "?", "{2}", "{0,3}", "{1,}"];

fn expr(u: &mut Unstructured, depth: u32) -> Result<String> {
    let alts = u.int_in_range(1..=3)?;
    let mut out = Vec::new();
    for _ in 0..alts {
        let items = u.int_in_range(1..=4)?;
        let mut seq = Vec::new();
        for _ in 0..items {
            let atom = if depth > 0 && u.ratio(1, 4)? {
                format!("({})", expr(u, depth - 1)?)
            } else {
                u.choose(&ATOMS)?.to_string()
            };
            seq.push(format!("{atom}{}", u.choose(&QUANTS)?));
        }
        out.push(seq.join(" "));
    }
    Ok(out.join(" | "))
}

fn grammar_from(u: &mut Unstructured) -> Result<Vec<u8>> {
    let regex = u.ratio(1, 4)?;
    let mut out = vec![u8::from(regex)];
    if regex {
        let parts = [
            "a", "b+", "[0-9]{2}", "(x|yz)", "é?", "\\d", ".", "\\w*", "^", "$",
        ];
        for _ in 0..u.int_in_range(1..=6)? {
            out.extend_from_slice(u.choose(&parts)?.as_bytes());
        }
    } else {
        out.extend_from_slice(format!("root ::= {}\n", expr(u, 2)?).as_bytes());
        out.extend_from_slice(format!("x ::= {}\n", expr(u, 1)?).as_bytes());
        out.extend_from_slice(format!("y ::= {} x | \"z\"\n", expr(u, 1)?).as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&u.arbitrary::<Vec<u8>>()?);
    Ok(out)
}
