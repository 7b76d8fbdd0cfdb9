//! The seam to the grammar engine: a compiler from a constraint to an
//! immutable [`Grammar`] (shared behind an `Arc`, cached) and a cheap
//! per-sequence [`Matcher`] that masks the vocabulary.

use std::sync::Arc;

use serde_json::Value;

use crate::request::TextFormat;

/// Allowed tokens as a bitset over the whole vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMask {
    words: Vec<u64>,
    len: usize,
}

impl TokenMask {
    /// A mask over `len` token ids with nothing allowed.
    pub fn new(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// A mask over `len` token ids with everything allowed.
    pub fn full(len: usize) -> Self {
        let mut mask = Self::new(len);
        mask.fill(true);
        mask
    }

    /// Number of token ids the mask spans.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask spans no ids at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Allows (`true`) or forbids every id.
    pub fn fill(&mut self, allowed: bool) {
        self.words.fill(if allowed { u64::MAX } else { 0 });
        self.clear_tail();
    }

    /// Allows `id`; ids outside the mask are ignored.
    pub fn allow(&mut self, id: u32) {
        if let Some(word) = self
            .words
            .get_mut(id as usize / 64)
            .filter(|_| (id as usize) < self.len)
        {
            *word |= 1 << (id % 64);
        }
    }

    /// Forbids `id`.
    pub fn forbid(&mut self, id: u32) {
        if let Some(word) = self.words.get_mut(id as usize / 64) {
            *word &= !(1 << (id % 64));
        }
    }

    /// Whether `id` is allowed.
    pub fn contains(&self, id: u32) -> bool {
        (id as usize) < self.len && self.words[id as usize / 64] & (1 << (id % 64)) != 0
    }

    /// Keeps only ids allowed by both masks.
    pub fn intersect(&mut self, other: &TokenMask) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// Number of allowed ids.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Allowed ids in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some(i as u32 * 64 + bit)
            })
        })
    }

    /// The raw 64-bit words (bit `i % 64` of word `i / 64` is id `i`), for
    /// grammar engines that fill a bitset directly.
    pub fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    fn clear_tail(&mut self) {
        let used = self.len % 64;
        if used != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << used) - 1;
        }
    }
}

/// A schema the grammar compiler refuses, with the JSON Pointer of the
/// offending keyword so the client can find it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message} (at '{pointer}')")]
pub struct SchemaError {
    pub pointer: String,
    pub message: String,
    /// The schema is valid but passed the compile budget.
    pub too_complex: bool,
}

impl SchemaError {
    /// The engine error a request with this schema gets.
    pub(crate) fn into_engine_error(self) -> crate::error::EngineError {
        use crate::error::EngineError;
        if self.too_complex {
            EngineError::SchemaTooComplex {
                pointer: self.pointer,
                message: self.message,
            }
        } else {
            EngineError::InvalidSchema {
                pointer: self.pointer,
                message: self.message,
            }
        }
    }
}

/// A regex, choice or grammar the compiler refuses; the message says where
/// (a pattern offset, a GBNF line and column).
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid {kind}: {message}")]
pub struct TextFormatError {
    /// `regex`, `choice` or `grammar`.
    pub kind: &'static str,
    pub message: String,
}

/// A token the matcher cannot accept in its current state.
#[derive(Debug, Clone, thiserror::Error)]
#[error("token {token} is not allowed here: {reason}")]
pub struct MatchError {
    pub token: u32,
    pub reason: String,
}

/// Compiles constraints into grammars.
pub trait ConstraintCompiler: Send + Sync + 'static {
    /// A grammar accepting exactly the compact JSON instances of `schema`.
    fn compile_schema(&self, schema: &Value) -> Result<Arc<dyn Grammar>, SchemaError>;

    /// A grammar accepting any JSON object.
    fn compile_json_object(&self) -> Result<Arc<dyn Grammar>, SchemaError>;

    /// A grammar accepting exactly the texts of `format`.
    fn compile_text(&self, format: &TextFormat) -> Result<Arc<dyn Grammar>, TextFormatError>;
}

/// A compiled, immutable grammar shared by every sequence that uses it.
pub trait Grammar: Send + Sync {
    /// A fresh matcher at the grammar's start.
    fn matcher(&self) -> Box<dyn Matcher>;

    /// Whether the whole of `text` is in the grammar's language: the last
    /// check of answers that no other validator can judge (GBNF).
    fn accepts(&self, text: &str) -> bool;
}

/// Per-sequence grammar state.
pub trait Matcher: Send {
    /// Overwrites `mask` with the tokens allowed next. Stop tokens are the
    /// engine's business and may be left out.
    fn fill_mask(&mut self, mask: &mut TokenMask);

    /// Advances past `token`.
    fn commit(&mut self, token: u32) -> Result<(), MatchError>;

    /// Tokens that are the only possible continuation from here, in order
    /// (keys, punctuation, closing brackets); not yet committed.
    fn forced_tokens(&mut self) -> Vec<u32>;

    /// Whether the text so far is a complete instance.
    fn is_accepting(&mut self) -> bool;

    /// Undoes the last `n` committed tokens.
    fn rollback(&mut self, n: usize);

    /// The tokens of the shortest completion from here (fewest bytes, at
    /// most `max_bytes`), when the grammar can compute it exactly; `None`
    /// when it cannot or there is none, and the engine searches instead.
    fn shortest_completion(&mut self, max_bytes: usize) -> Option<Vec<u32>> {
        let _ = max_bytes;
        None
    }
}
