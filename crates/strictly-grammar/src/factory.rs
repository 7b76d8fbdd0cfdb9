//! The per-tokenizer factory and compiled grammars.
//!
//! A `Factory` is built once per vocabulary and shared behind an `Arc`: it
//! owns the token trie, the cache of compiled grammars (keyed by a hash of
//! the canonical constraint) and the caches of token sets that do not depend
//! on any one grammar. A `CompiledGrammar` is immutable; matchers are cheap
//! and one per sequence.

use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::error::CompileError;
use crate::grammar::Grammar;
use crate::json::JsonOptions;
use crate::matcher::Matcher;
use crate::toktrie::TokTrie;
use crate::vocab::Vocabulary;

/// How many compiled grammars the factory keeps.
const GRAMMAR_CACHE_CAPACITY: usize = 256;

/// A grammar ready to drive matchers.
#[derive(Debug)]
pub struct CompiledGrammar {
    pub(crate) grammar: Grammar,
    key: [u8; 32],
}

impl CompiledGrammar {
    pub fn grammar(&self) -> &Grammar {
        &self.grammar
    }

    /// Hash of the canonical constraint this grammar was compiled from.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }
}

/// Shared, per-vocabulary state; see the module docs.
pub struct Factory {
    vocab: Arc<Vocabulary>,
    trie: TokTrie,
    grammars: Mutex<Vec<([u8; 32], Arc<CompiledGrammar>)>>,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Factory({} tokens)", self.vocab.len())
    }
}

impl Factory {
    pub fn new(vocab: Vocabulary) -> Arc<Factory> {
        let trie = TokTrie::new(&vocab);
        Arc::new(Factory {
            vocab: Arc::new(vocab),
            trie,
            grammars: Mutex::new(Vec::new()),
        })
    }

    pub fn vocab(&self) -> &Arc<Vocabulary> {
        &self.vocab
    }

    pub fn trie(&self) -> &TokTrie {
        &self.trie
    }

    /// A new matcher for `grammar`.
    pub fn matcher(self: &Arc<Self>, grammar: &Arc<CompiledGrammar>) -> Matcher {
        Matcher::new(self.clone(), grammar.clone())
    }

    /// Returns the cached grammar for `canonical` (a canonical description of
    /// the constraint and its options) or compiles it with `build`.
    pub(crate) fn cached(
        &self,
        canonical: &[u8],
        build: impl FnOnce() -> Result<Grammar, CompileError>,
    ) -> Result<Arc<CompiledGrammar>, CompileError> {
        let key: [u8; 32] = Sha256::digest(canonical).into();
        if let Ok(list) = self.grammars.lock() {
            if let Some((_, g)) = list.iter().find(|(k, _)| *k == key) {
                return Ok(g.clone());
            }
        }
        let g = Arc::new(CompiledGrammar {
            grammar: build()?,
            key,
        });
        if let Ok(mut list) = self.grammars.lock() {
            if list.len() >= GRAMMAR_CACHE_CAPACITY {
                list.remove(0);
            }
            list.push((key, g.clone()));
        }
        Ok(g)
    }

    /// Compiles (or fetches from the cache) a JSON Schema.
    pub fn compile_json_schema(
        &self,
        schema: &serde_json::Value,
        options: &JsonOptions,
    ) -> Result<Arc<CompiledGrammar>, CompileError> {
        let key = format!(
            "json\0{}\0{}",
            options.canonical(),
            crate::json::canonical_text(schema)
        );
        self.cached(key.as_bytes(), || {
            crate::json::compile_schema(schema, options)
        })
    }

    /// Compiles a JSON Schema given as text.
    pub fn compile_json_schema_str(
        &self,
        schema: &str,
        options: &JsonOptions,
    ) -> Result<Arc<CompiledGrammar>, CompileError> {
        let v: serde_json::Value =
            serde_json::from_str(schema).map_err(|e| CompileError::Json(e.to_string()))?;
        self.compile_json_schema(&v, options)
    }

    /// Wraps an already built grammar (no caching), e.g. from a `GrammarBuilder`.
    pub fn from_grammar(&self, grammar: Grammar) -> Arc<CompiledGrammar> {
        Arc::new(CompiledGrammar {
            grammar,
            key: [0; 32],
        })
    }
}
