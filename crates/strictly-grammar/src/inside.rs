//! Per-tokenizer cache of the tokens that stay inside a lexeme.
//!
//! Inside a free-form string almost every token is allowed, and walking the
//! whole trie for each mask would cost a millisecond. But the tokens that do
//! not complete the lexeme depend only on the lexer state (the DFA states of
//! the alive lexemes and the whitespace skipped), not on the parser: they
//! are computed once and shared by every grammar using the same DFAs. The
//! walk then only visits the *frontier*: trie nodes where some lexeme could
//! end, which need the parser.

use std::sync::{Arc, RwLock};

use crate::hash::FastMap;
use crate::mask::TokenMask;

/// Lexer states whose walk visits fewer trie nodes than this are not cached.
pub(crate) const MIN_NODES_TO_CACHE: usize = 4096;
/// Entries kept before the cache is cleared.
const CAPACITY: usize = 4096;

/// Tokens inside a lexeme, and where lexemes may end.
#[derive(Debug)]
pub(crate) struct InsideEntry {
    /// Tokens whose bytes never reach an accepting lexer state.
    pub inside: TokenMask,
    /// `(trie node, path offset, path length)`: nodes where the path first
    /// reaches an accepting state; their bytes are in `paths`.
    pub frontier: Vec<(u32, u32, u32)>,
    pub paths: Vec<u8>,
}

/// A lexer state named by the canonical names of its alive inside classes,
/// whitespace skipped so far, and whether the lexeme has started.
pub(crate) type Signature = (Box<[u128]>, u8, bool);

/// `None` records a state too cheap to be worth caching.
#[derive(Default)]
pub(crate) struct InsideCache {
    map: RwLock<FastMap<Signature, Option<Arc<InsideEntry>>>>,
    /// `(a, b)` class names → whether `b` simulates `a`.
    sim: RwLock<FastMap<(u128, u128), bool>>,
}

impl InsideCache {
    pub fn get(&self, sig: &Signature) -> Option<Option<Arc<InsideEntry>>> {
        self.map.read().ok()?.get(sig).cloned()
    }

    /// Whether class `b` simulates class `a`, computed by `f` on first use.
    pub fn simulates(&self, a: u128, b: u128, f: impl FnOnce() -> bool) -> bool {
        if let Some(&r) = self
            .sim
            .read()
            .ok()
            .and_then(|m| m.get(&(a, b)).copied())
            .as_ref()
        {
            return r;
        }
        let r = f();
        if let Ok(mut m) = self.sim.write() {
            if m.len() >= CAPACITY * 16 {
                m.clear();
            }
            m.insert((a, b), r);
        }
        r
    }

    pub fn insert(&self, sig: Signature, e: Option<Arc<InsideEntry>>) {
        if let Ok(mut m) = self.map.write() {
            if m.len() >= CAPACITY {
                m.clear();
            }
            m.insert(sig, e);
        }
    }
}
