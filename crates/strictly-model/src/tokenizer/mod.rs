//! The tokenizer: `tokenizers`' byte-level BPE, built from GGUF metadata or `tokenizer.json`,
//! plus the per-id facts the rest of the system needs (raw bytes, special flags, end ids).
//!
//! Two vocabulary sizes exist: the tokenizer's (151,665 for Qwen2.5) and the model's
//! (151,936 rows of the embedding). Every id below the model's size has an entry here; ids
//! with no token (GGUF's `[PADn]` slots, or ids past `tokenizer.json`'s last token) have no
//! bytes and are special, so they are never produced as text.

mod byte_level;
mod from_gguf;
mod from_hf;

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::gguf::GgufError;

/// The Qwen2 pre-tokenizer split (llama.cpp's `qwen2` pre-tokenizer; `tokenizer.json`'s
/// `Split` pattern): contractions, letter runs with one leading non-letter, single digits,
/// punctuation runs, newline runs, and whitespace not followed by a non-space.
pub const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Why a tokenizer could not be built or used.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("tokenizer model {0:?} is not supported (only byte-level BPE, \"gpt2\", is)")]
    UnsupportedModel(String),
    #[error("pre-tokenizer {0:?} is not supported (only \"qwen2\" is)")]
    UnsupportedPreTokenizer(String),
    #[error("{what} has {found} entries but there are {expected} tokens")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("merge {index} ({merge:?}) is not two tokens separated by a space")]
    BadMerge { index: usize, merge: String },
    #[error("token id {id} is outside the vocabulary of {size}")]
    UnknownId { id: u32, size: usize },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// An error from the `tokenizers` crate while building or running the tokenizer.
    #[error("{context}: {source}")]
    Tokenizers {
        context: &'static str,
        #[source]
        source: tokenizers::Error,
    },
}

impl TokenizerError {
    fn tk(context: &'static str) -> impl FnOnce(tokenizers::Error) -> TokenizerError {
        move |source| TokenizerError::Tokenizers { context, source }
    }
}

/// What kind of entry an id is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Ordinary text.
    Text,
    /// Control tokens such as `<|im_end|>`: matched in input only when asked to, never
    /// produced as text by a grammar.
    Special,
    /// No token at all (padding slots of the embedding).
    Empty,
}

/// A byte-level BPE tokenizer for Qwen2-family models.
pub struct Tokenizer {
    /// Matches special-token text (`<|im_start|>`) and turns it into its id.
    inner: tokenizers::Tokenizer,
    /// The same tokenizer treating special-token text as plain text; built on first use.
    plain: OnceLock<tokenizers::Tokenizer>,
    /// Raw bytes of every id, concatenated; `offsets[id]..offsets[id + 1]`.
    bytes: Vec<u8>,
    offsets: Vec<usize>,
    kinds: Vec<Kind>,
    /// Ids of special tokens by content, for `<|im_end|>` and friends.
    specials: Vec<(String, u32)>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("specials", &self.specials.len())
            .finish()
    }
}

impl Tokenizer {
    /// Wraps a built `tokenizers::Tokenizer`, with per-id bytes and kinds for `0..vocab_size`.
    fn assemble(
        inner: tokenizers::Tokenizer,
        entries: Vec<(Vec<u8>, Kind)>,
        specials: Vec<(String, u32)>,
    ) -> Tokenizer {
        let mut bytes = Vec::new();
        let mut offsets = Vec::with_capacity(entries.len() + 1);
        let mut kinds = Vec::with_capacity(entries.len());
        offsets.push(0);
        for (b, kind) in entries {
            bytes.extend_from_slice(&b);
            offsets.push(bytes.len());
            kinds.push(if b.is_empty() { Kind::Empty } else { kind });
        }
        Tokenizer {
            inner,
            plain: OnceLock::new(),
            bytes,
            offsets,
            kinds,
            specials,
        }
    }

    /// Number of ids: the model's vocabulary, padding slots included.
    pub fn vocab_size(&self) -> usize {
        self.kinds.len()
    }

    /// Extends the id range to the model's vocabulary size (the embedding can have more
    /// rows than the tokenizer has tokens); the new ids are empty and special.
    pub fn pad_vocab(&mut self, size: usize) {
        while self.kinds.len() < size {
            self.kinds.push(Kind::Empty);
            self.offsets.push(self.bytes.len());
        }
    }

    /// Token ids for `text`, without BOS. With `allow_special`, the text of a special token
    /// (`<|im_start|>`) becomes that token's id; without, it is tokenized as ordinary text,
    /// which is what untrusted input (a document to extract from) needs.
    pub fn encode(&self, text: &str, allow_special: bool) -> Result<Vec<u32>, TokenizerError> {
        let tk = if allow_special {
            &self.inner
        } else {
            self.plain.get_or_init(|| {
                let mut plain = self.inner.clone();
                plain.set_encode_special_tokens(true);
                plain
            })
        };
        let enc = tk
            .encode_fast(text, false)
            .map_err(TokenizerError::tk("encoding"))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text for `ids`; bytes that do not form valid UTF-8 on their own (a character split
    /// across the end) are replaced by U+FFFD. Special tokens are written as their text
    /// unless `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, TokenizerError> {
        let mut out = Vec::new();
        for &id in ids {
            let kind = self.kind(id)?;
            if kind == Kind::Text || (kind == Kind::Special && !skip_special) {
                out.extend_from_slice(self.token_bytes(id));
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn kind(&self, id: u32) -> Result<Kind, TokenizerError> {
        self.kinds
            .get(id as usize)
            .copied()
            .ok_or(TokenizerError::UnknownId {
                id,
                size: self.vocab_size(),
            })
    }

    /// The raw bytes of token `id`: byte-level decoded for ordinary tokens, the token's text
    /// for special tokens (check [`Tokenizer::is_special`] before treating them as output),
    /// and empty for ids with no token or out of range.
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.bytes[a..b],
            _ => &[],
        }
    }

    /// Whether `id` is a control token, a padding slot, or out of range: never text.
    pub fn is_special(&self, id: u32) -> bool {
        self.kinds.get(id as usize) != Some(&Kind::Text)
    }

    /// `(bytes, is_special)` for every id, the shape a grammar vocabulary is built from.
    pub fn vocab_entries(&self) -> Vec<(Vec<u8>, bool)> {
        (0..self.vocab_size() as u32)
            .map(|id| (self.token_bytes(id).to_vec(), self.is_special(id)))
            .collect()
    }

    /// The id of a special token by its text, e.g. `"<|im_end|>"`.
    pub fn special_id(&self, content: &str) -> Option<u32> {
        self.specials
            .iter()
            .find(|(c, _)| c == content)
            .map(|&(_, id)| id)
    }

    /// `<|im_start|>`, which opens a chat turn.
    pub fn im_start(&self) -> Option<u32> {
        self.special_id("<|im_start|>")
    }

    /// `<|im_end|>`, which ends a chat turn (and so a chat completion).
    pub fn im_end(&self) -> Option<u32> {
        self.special_id("<|im_end|>")
    }

    /// `<|endoftext|>`, the tokenizer's end-of-sequence token.
    pub fn endoftext(&self) -> Option<u32> {
        self.special_id("<|endoftext|>")
    }

    /// Ids that end generation: `<|im_end|>` and `<|endoftext|>` where present.
    pub fn eos_ids(&self) -> Vec<u32> {
        self.im_end().into_iter().chain(self.endoftext()).collect()
    }

    /// The underlying `tokenizers` tokenizer (special-token text matched).
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

#[cfg(test)]
mod tests;
