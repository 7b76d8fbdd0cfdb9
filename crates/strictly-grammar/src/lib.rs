//! Grammar engine: constraints compiled into token masks.
//!
//! JSON Schemas (`json`), regular expressions and choices among strings
//! (`text`) and GBNF grammars (`gbnf`, with the shipped ones in `library`)
//! compile into a context-free grammar over lexemes (`grammar`), whose
//! lexemes are DFAs over bytes (`dfa`). A `Matcher` runs an Earley parser
//! over the lexemes (`earley`) and a lexer over the bytes (`lexer`), and
//! computes the set of allowed tokens by walking a trie of the vocabulary
//! (`toktrie`); each module's documentation gives its part of the design.

mod chardist;
mod complete;
pub mod dfa;
mod dfa_cache;
mod earley;
pub mod error;
pub mod factory;
mod gbnf;
pub mod grammar;
mod hash;
mod inside;
mod inside_class;
pub mod json;
mod keys;
mod lexer;
pub mod library;
pub mod mask;
pub mod maskbench;
pub mod matcher;
mod minimize;
mod regex;
mod text;
pub mod toktrie;
pub mod vocab;
mod walk;
mod words;

pub use error::{CompileError, DfaError, MatchError, VocabError};
pub use factory::{CompiledGrammar, Factory};
pub use grammar::{Grammar, GrammarBuilder, Sym};
pub use json::{JsonOptions, Whitespace};
pub use mask::TokenMask;
pub use matcher::Matcher;
pub use vocab::Vocabulary;

#[cfg(test)]
mod tests;
