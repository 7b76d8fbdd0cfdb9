//! The per-tokenizer factory and compiled grammars.
//!
//! A `Factory` is built once per vocabulary and shared behind an `Arc`: it
//! owns the token trie, the cache of compiled grammars (keyed by a hash of
//! the canonical constraint) and the caches of token sets that do not depend
//! on any one grammar. A `CompiledGrammar` is immutable; matchers are cheap
//! and one per sequence.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::error::CompileError;
use crate::grammar::Grammar;
use crate::inside::InsideCache;
use crate::json::JsonOptions;
use crate::mask::TokenMask;
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
    /// The grammar spells JSON whose object keys must be distinct (see
    /// `keys`); grammars built by hand make no such promise.
    pub(crate) distinct_keys: bool,
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
    pub(crate) inside: InsideCache,
    /// Per token: bytes that start a character (an upper bound on the
    /// characters it adds to a string).
    nc: Vec<u16>,
    /// The same, not counting leading JSON whitespace (skipped before a lexeme).
    nc_trimmed: Vec<u16>,
    max_nc: u16,
    /// Tokens with at most `r` character starts, per `r` (and per whether
    /// leading whitespace counts), built on demand.
    fits: Mutex<Vec<Option<Arc<TokenMask>>>>,
    fits_trimmed: Mutex<Vec<Option<Arc<TokenMask>>>>,
    /// Lexer states whose trie walk visits fewer nodes are not cached.
    inside_threshold: AtomicUsize,
    /// Tokens containing a backslash: escapes make their character count
    /// smaller than `nc`, so near a bound they are checked one by one.
    backslash: Vec<u32>,
    /// Tokens containing a double quote.
    quote: Vec<u32>,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Factory({} tokens)", self.vocab.len())
    }
}

impl Factory {
    pub fn new(vocab: Vocabulary) -> Arc<Factory> {
        let trie = TokTrie::new(&vocab);
        // Quotes never count and continuation bytes extend a character.
        let count = |bytes: &[u8]| -> u16 {
            let n = bytes
                .iter()
                .filter(|&&b| b & 0xC0 != 0x80 && b != b'"')
                .count();
            n.min(u16::MAX as usize) as u16
        };
        let nc: Vec<u16> = (0..vocab.len() as u32)
            .map(|t| count(vocab.token_bytes(t)))
            .collect();
        let nc_trimmed: Vec<u16> = (0..vocab.len() as u32)
            .map(|t| {
                let b = vocab.token_bytes(t);
                let ws = b
                    .iter()
                    .take_while(|&&x| crate::lexer::is_json_ws(x))
                    .count();
                count(&b[ws..])
            })
            .collect();
        let max_nc = (0..vocab.len() as u32)
            .filter(|&t| !vocab.is_special(t))
            .map(|t| nc[t as usize])
            .max()
            .unwrap_or(0);
        let backslash = (0..vocab.len() as u32)
            .filter(|&t| !vocab.is_special(t) && vocab.token_bytes(t).contains(&b'\\'))
            .collect();
        let quote = (0..vocab.len() as u32)
            .filter(|&t| !vocab.is_special(t) && vocab.token_bytes(t).contains(&b'"'))
            .collect();
        Arc::new(Factory {
            vocab: Arc::new(vocab),
            trie,
            grammars: Mutex::new(Vec::new()),
            inside: InsideCache::default(),
            nc,
            nc_trimmed,
            max_nc,
            fits: Mutex::new(Vec::new()),
            fits_trimmed: Mutex::new(Vec::new()),
            inside_threshold: AtomicUsize::new(crate::inside::MIN_NODES_TO_CACHE),
            backslash,
            quote,
        })
    }

    /// Caches inside-token sets even for small walks (tests use this to
    /// exercise the cache with small vocabularies).
    #[doc(hidden)]
    pub fn set_inside_cache_threshold(&self, nodes: usize) {
        self.inside_threshold.store(nodes, Ordering::Relaxed);
    }

    pub(crate) fn inside_threshold(&self) -> usize {
        self.inside_threshold.load(Ordering::Relaxed)
    }

    /// Tokens containing a backslash.
    pub(crate) fn backslash_tokens(&self) -> &[u32] {
        &self.backslash
    }

    /// Tokens containing a double quote (the only ones that can close a key).
    pub(crate) fn quote_tokens(&self) -> &[u32] {
        &self.quote
    }

    /// Upper bound on the characters token `t` adds to a string.
    pub(crate) fn nc(&self, t: u32, trimmed: bool) -> u32 {
        let v = if trimmed { &self.nc_trimmed } else { &self.nc };
        v.get(t as usize).copied().unwrap_or(0) as u32
    }

    /// The most characters any token can add to a string.
    pub(crate) fn max_nc(&self) -> u32 {
        self.max_nc as u32
    }

    /// Tokens that add at most `r` characters to a string; with `trimmed`,
    /// leading whitespace does not count (it is skipped before a lexeme).
    pub(crate) fn fits(&self, r: u32, trimmed: bool) -> Arc<TokenMask> {
        let r = r as usize;
        let (cache, nc) = if trimmed {
            (&self.fits_trimmed, &self.nc_trimmed)
        } else {
            (&self.fits, &self.nc)
        };
        if let Ok(list) = cache.lock() {
            if let Some(Some(m)) = list.get(r) {
                return m.clone();
            }
        }
        let mut m = TokenMask::new(self.vocab.len());
        for t in 0..self.vocab.len() {
            if !self.vocab.is_special(t as u32) && (nc[t] as usize) <= r {
                m.insert(t as u32);
            }
        }
        let m = Arc::new(m);
        if let Ok(mut list) = cache.lock() {
            if list.len() <= r {
                list.resize(r + 1, None);
            }
            list[r] = Some(m.clone());
        }
        m
    }

    fn register(&self, grammar: Grammar, key: [u8; 32], distinct_keys: bool) -> CompiledGrammar {
        CompiledGrammar {
            grammar,
            key,
            distinct_keys,
        }
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
        distinct_keys: bool,
        build: impl FnOnce() -> Result<Grammar, CompileError>,
    ) -> Result<Arc<CompiledGrammar>, CompileError> {
        let key: [u8; 32] = Sha256::digest(canonical).into();
        if let Ok(list) = self.grammars.lock() {
            if let Some((_, g)) = list.iter().find(|(k, _)| *k == key) {
                return Ok(g.clone());
            }
        }
        let g = Arc::new(self.register(build()?, key, distinct_keys));
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
        self.cached(key.as_bytes(), true, || {
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

    /// Compiles (or fetches from the cache) a GBNF grammar (see `gbnf`),
    /// within the default compile time budget.
    pub fn compile_gbnf(&self, text: &str) -> Result<Arc<CompiledGrammar>, CompileError> {
        self.compile_gbnf_within(text, crate::json::DEFAULT_TIME_BUDGET)
    }

    /// `compile_gbnf` within `budget` of wall time (a grammar that needs
    /// more is refused as too complex).
    pub fn compile_gbnf_within(
        &self,
        text: &str,
        budget: std::time::Duration,
    ) -> Result<Arc<CompiledGrammar>, CompileError> {
        let key = format!("gbnf\0{text}");
        self.cached(key.as_bytes(), false, || crate::gbnf::compile(text, budget))
    }

    /// Compiles (or fetches from the cache) a regex the whole answer must
    /// match (see `text`).
    pub fn compile_regex(&self, pattern: &str) -> Result<Arc<CompiledGrammar>, CompileError> {
        let key = format!("regex\0{pattern}");
        self.cached(key.as_bytes(), false, || crate::text::regex(pattern))
    }

    /// Compiles (or fetches from the cache) a choice among strings.
    pub fn compile_choice(&self, choices: &[String]) -> Result<Arc<CompiledGrammar>, CompileError> {
        let mut key = b"choice".to_vec();
        for c in choices {
            // Length-prefixed, so no two lists share a key.
            key.extend_from_slice(&(c.len() as u64).to_le_bytes());
            key.extend_from_slice(c.as_bytes());
        }
        self.cached(&key, false, || crate::text::choice(choices))
    }

    /// Wraps an already built grammar (no caching), e.g. from a `GrammarBuilder`.
    pub fn from_grammar(&self, grammar: Grammar) -> Arc<CompiledGrammar> {
        Arc::new(self.register(grammar, [0; 32], false))
    }
}
