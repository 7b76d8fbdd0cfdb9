//! Building the tokenizer from GGUF metadata (`tokenizer.ggml.*`), the way llama.cpp reads
//! the same keys, so that both produce the same ids from the same file.

use ahash::AHashMap;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use super::{Kind, QWEN2_PATTERN, Tokenizer, TokenizerError, byte_level};
use crate::gguf::GgufFile;

/// llama.cpp's `llama_token_type` values in `tokenizer.ggml.token_type`.
const NORMAL: i64 = 1;
const CONTROL: i64 = 3;
const USER_DEFINED: i64 = 4;

impl Tokenizer {
    /// [`Tokenizer::from_gguf`] padded to the model's embedding rows
    /// (`token_embd.weight`), which can outnumber the tokens: grammar masks
    /// must span every id the model can emit.
    pub fn from_gguf_for_model(file: &GgufFile) -> Result<Tokenizer, TokenizerError> {
        let mut tokenizer = Self::from_gguf(file)?;
        let rows = file
            .tensor_info("token_embd.weight")
            .and_then(|t| t.shape().first().copied())
            .unwrap_or(tokenizer.vocab_size());
        tokenizer.pad_vocab(rows);
        Ok(tokenizer)
    }

    /// Builds the tokenizer from a GGUF file's metadata.
    ///
    /// Normal tokens form the BPE vocabulary; control tokens (`<|im_end|>`) become special
    /// added tokens and user-defined ones (`<tool_call>`) plain added tokens, both matched
    /// before BPE as llama.cpp does. Unused entries (`[PADn]`) are left out entirely: they
    /// have no bytes and are special. No normalizer is applied, as in llama.cpp.
    pub fn from_gguf(file: &GgufFile) -> Result<Tokenizer, TokenizerError> {
        let model = file.get_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(TokenizerError::UnsupportedModel(model.to_owned()));
        }
        // Older Qwen2 conversions have no `pre` key; their architecture implies the split.
        match file.get("tokenizer.ggml.pre").and_then(|v| v.as_str()) {
            None | Some("qwen2") => {}
            Some(other) => return Err(TokenizerError::UnsupportedPreTokenizer(other.to_owned())),
        }
        let tokens = file.get_str_array("tokenizer.ggml.tokens")?;
        let types_value = file.get_array("tokenizer.ggml.token_type")?;
        let types = types_value
            .to_i64_vec()
            .ok_or_else(|| crate::gguf::GgufError::WrongType {
                key: "tokenizer.ggml.token_type".into(),
                expected: "array of integers",
                found: types_value.element_type_name(),
            })?;
        if types.len() != tokens.len() {
            return Err(TokenizerError::LengthMismatch {
                what: "tokenizer.ggml.token_type",
                expected: tokens.len(),
                found: types.len(),
            });
        }
        let merges = file
            .get_str_array("tokenizer.ggml.merges")?
            .iter()
            .enumerate()
            .map(|(index, m)| match m.split_once(' ') {
                Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(' ') => {
                    Ok((a.to_owned(), b.to_owned()))
                }
                _ => Err(TokenizerError::BadMerge {
                    index,
                    merge: m.clone(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;

        let mut vocab = AHashMap::with_capacity(tokens.len());
        let mut added = Vec::new();
        let mut specials = Vec::new();
        let mut entries = Vec::with_capacity(tokens.len());
        for (id, (token, &ty)) in tokens.iter().zip(&types).enumerate() {
            let id = id as u32;
            let entry = match ty {
                NORMAL => {
                    vocab.insert(token.clone(), id);
                    // A normal token that is not byte-level text keeps its UTF-8 bytes.
                    let bytes =
                        byte_level::decode(token).unwrap_or_else(|| token.as_bytes().to_vec());
                    (bytes, Kind::Text)
                }
                CONTROL | USER_DEFINED => {
                    vocab.insert(token.clone(), id);
                    let special = ty == CONTROL;
                    added.push(AddedToken::from(token.clone(), special));
                    if special {
                        specials.push((token.clone(), id));
                    }
                    let kind = if special { Kind::Special } else { Kind::Text };
                    (token.as_bytes().to_vec(), kind)
                }
                // Unknown (2), unused (5) and byte (6) entries are not tokens of a gpt2 vocab.
                _ => (Vec::new(), Kind::Empty),
            };
            entries.push(entry);
        }

        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(TokenizerError::tk("building the BPE model"))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        let split = Split::new(
            SplitPattern::Regex(QWEN2_PATTERN.to_owned()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(TokenizerError::tk("compiling the pre-tokenizer pattern"))?;
        inner.with_pre_tokenizer(Some(Sequence::new(vec![
            split.into(),
            ByteLevel::new(false, false, false).into(),
        ])));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        let (special, plain): (Vec<_>, Vec<_>) = added.into_iter().partition(|t| t.special);
        inner.add_special_tokens(&special);
        inner.add_tokens(&plain);
        Ok(Tokenizer::assemble(inner, entries, specials))
    }
}
