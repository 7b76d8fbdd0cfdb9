//! GBNF, the grammar format of llama.cpp, as a constraint kind: parsed
//! (`parse`) and lowered into the same typed grammar JSON Schemas compile
//! into (`lower`), so masks, forced tokens and completions work alike.
//!
//! Characters are Unicode scalar values, as in llama.cpp: `[^"]` and `.`
//! match any one character (never a lone byte of one), and literals and
//! classes may hold any character or escape (`\n`, `\xHH`, `\uHHHH`, …).
//! The start rule is `root`.

mod lower;
mod parse;
mod promote;

use crate::error::CompileError;
use crate::grammar::Grammar;

/// Compiles GBNF text into a grammar over the bytes of the text it accepts,
/// within `budget` of wall time: past half of it, pieces are no longer
/// lexed whole (lowering by character is one linear pass); past all of it
/// the grammar is refused as too complex.
pub(crate) fn compile(src: &str, budget: std::time::Duration) -> Result<Grammar, CompileError> {
    let deadline = std::time::Instant::now() + budget;
    let rules = parse::parse(src)?;
    lower::lower(src, &rules, true, deadline, budget)
}

/// The same grammar with every piece lowered by character (no lexeme
/// spans more than one character): the reference the lowering is checked
/// against.
#[cfg(test)]
pub(crate) fn compile_by_character(src: &str) -> Result<Grammar, CompileError> {
    let rules = parse::parse(src)?;
    let budget = std::time::Duration::from_secs(60);
    lower::lower(
        src,
        &rules,
        false,
        std::time::Instant::now() + budget,
        budget,
    )
}

#[cfg(test)]
mod tests;
