//! The model vocabulary as the grammar engine sees it: token id → bytes.
//!
//! The engine needs nothing else from the tokenizer. Ids that have no bytes
//! (padding slots past the tokenizer's last token) and special tokens are never
//! part of a grammar's language; only the end-of-sequence ids are allowed, and
//! only when the grammar accepts.

use crate::error::VocabError;

/// Token bytes and flags for every id in `0..len()`.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
    special: Vec<bool>,
    eos: Vec<u32>,
}

impl Vocabulary {
    /// Builds a vocabulary from `(bytes, is_special)` per id. Ids with no bytes
    /// are treated as special. `eos` lists the ids that end a sequence.
    pub fn new(tokens: Vec<(Vec<u8>, bool)>, eos: Vec<u32>) -> Result<Vocabulary, VocabError> {
        if tokens.is_empty() {
            return Err(VocabError::Empty);
        }
        if tokens.len() > u32::MAX as usize / 2 {
            return Err(VocabError::TooLarge(tokens.len()));
        }
        let mut bytes = Vec::new();
        let mut offsets = Vec::with_capacity(tokens.len() + 1);
        let mut special = Vec::with_capacity(tokens.len());
        offsets.push(0u32);
        for (b, s) in tokens {
            special.push(s || b.is_empty());
            bytes.extend_from_slice(&b);
            let end = u32::try_from(bytes.len()).map_err(|_| VocabError::TooLarge(bytes.len()))?;
            offsets.push(end);
        }
        for &e in &eos {
            if e as usize >= special.len() {
                return Err(VocabError::EosOutOfRange {
                    id: e,
                    len: special.len(),
                });
            }
        }
        Ok(Vocabulary {
            bytes,
            offsets,
            special,
            eos,
        })
    }

    /// Number of ids, i.e. the length of every mask.
    pub fn len(&self) -> usize {
        self.special.len()
    }

    pub fn is_empty(&self) -> bool {
        self.special.is_empty()
    }

    /// The bytes of token `id` (empty for ids without bytes or out of range).
    #[inline]
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        if i + 1 >= self.offsets.len() {
            return &[];
        }
        &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Special tokens (control tokens, padding) are never produced by a grammar.
    #[inline]
    pub fn is_special(&self, id: u32) -> bool {
        self.special.get(id as usize).copied().unwrap_or(true)
    }

    /// End-of-sequence ids, allowed once the grammar accepts.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos
    }

    pub fn is_eos(&self, id: u32) -> bool {
        self.eos.contains(&id)
    }

    /// A vocabulary of the 256 single bytes plus `extra` multi-byte tokens,
    /// ending with one special EOS token; for tests and examples.
    pub fn byte_level(extra: &[&[u8]]) -> Vocabulary {
        let mut toks: Vec<(Vec<u8>, bool)> = (0..=255u8).map(|b| (vec![b], false)).collect();
        toks.extend(extra.iter().map(|t| (t.to_vec(), false)));
        toks.push((b"<eos>".to_vec(), true));
        let eos = (toks.len() - 1) as u32;
        // The input is well formed, so construction cannot fail.
        Vocabulary::new(toks, vec![eos]).unwrap_or_else(|_| unreachable!())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_flags() {
        let v = Vocabulary::new(
            vec![
                (b"a".to_vec(), false),
                (vec![], false),
                (b"<s>".to_vec(), true),
            ],
            vec![2],
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v.token_bytes(0), b"a");
        assert!(v.is_special(1), "ids without bytes are special");
        assert!(v.is_special(2) && v.is_eos(2));
        assert!(v.is_special(99));
        assert!(Vocabulary::new(vec![(b"a".to_vec(), false)], vec![5]).is_err());
    }
}
