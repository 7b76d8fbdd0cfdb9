//! Building the tokenizer from a Hugging Face `tokenizer.json` (and, for a model folder, the
//! model's vocabulary size from `config.json`).

use std::path::Path;

use tokenizers::DecoderWrapper;

use super::{Kind, Tokenizer, TokenizerError, byte_level};

impl Tokenizer {
    /// Loads `tokenizer.json`. Its normalizer, pre-tokenizer and added tokens are used as
    /// written; the decoder must be byte-level, since raw token bytes are derived from it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokenizer, TokenizerError> {
        let path = path.as_ref();
        // Read first so that a missing file is an I/O error naming the path.
        let text = std::fs::read_to_string(path).map_err(|source| TokenizerError::Io {
            path: path.to_owned(),
            source,
        })?;
        let inner: tokenizers::Tokenizer = text
            .parse()
            .map_err(TokenizerError::tk("parsing tokenizer.json"))?;
        if !matches!(inner.get_decoder(), Some(DecoderWrapper::ByteLevel(_))) {
            return Err(TokenizerError::UnsupportedModel(
                "tokenizer.json without a ByteLevel decoder".into(),
            ));
        }
        let added = inner.get_added_tokens_decoder();
        let size = inner.get_vocab_size(true);
        let mut specials = Vec::new();
        let entries = (0..size as u32)
            .map(|id| {
                if let Some(t) = added.get(&id) {
                    if t.special {
                        specials.push((t.content.clone(), id));
                    }
                    let kind = if t.special { Kind::Special } else { Kind::Text };
                    return (t.content.as_bytes().to_vec(), kind);
                }
                match inner.id_to_token(id) {
                    Some(tok) => {
                        let bytes =
                            byte_level::decode(&tok).unwrap_or_else(|| tok.as_bytes().to_vec());
                        (bytes, Kind::Text)
                    }
                    None => (Vec::new(), Kind::Empty),
                }
            })
            .collect();
        specials.sort_by_key(|&(_, id)| id);
        Ok(Tokenizer::assemble(inner, entries, specials))
    }

    /// Loads `tokenizer.json` from a model folder and pads the id range to `vocab_size` in
    /// its `config.json` (151,936 for Qwen2.5, more than the tokenizer's tokens).
    pub fn from_hf_dir(dir: impl AsRef<Path>) -> Result<Tokenizer, TokenizerError> {
        #[derive(serde::Deserialize)]
        struct Config {
            vocab_size: Option<usize>,
        }
        let dir = dir.as_ref();
        let mut tokenizer = Self::from_file(dir.join("tokenizer.json"))?;
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|source| TokenizerError::Io {
            path: config_path.clone(),
            source,
        })?;
        let config: Config =
            serde_json::from_str(&text).map_err(|source| TokenizerError::Json {
                path: config_path,
                source,
            })?;
        if let Some(n) = config.vocab_size {
            tokenizer.pad_vocab(n);
        }
        Ok(tokenizer)
    }
}
