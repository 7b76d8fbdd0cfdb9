//! Qwen2 hyper-parameters, read from a Hugging Face `config.json` or from
//! the `qwen2.*` metadata keys of a GGUF file.
//!
//! Both formats end in the same [`Qwen2Config`], which is validated once so
//! that the model code can rely on its invariants (heads divide the hidden
//! size, query heads are a multiple of key/value heads, even head size).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::gguf::GgufFile;

/// Errors while reading or validating a model configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File that failed.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The JSON is malformed or lacks a required field.
    #[error("invalid config.json: {0}")]
    Json(#[from] serde_json::Error),
    /// The checkpoint is not a Qwen2 model.
    #[error("unsupported architecture {0:?}: only qwen2 models are supported")]
    UnsupportedArchitecture(String),
    /// A required metadata key is missing.
    #[error("missing model metadata key {0}")]
    MissingKey(String),
    /// The values are inconsistent with each other.
    #[error("inconsistent model configuration: {0}")]
    Invalid(String),
}

/// Shape and numeric constants of a Qwen2 decoder.
///
/// Field names follow Hugging Face's `config.json`, so that file
/// deserializes directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qwen2Config {
    /// Rows of the embedding / LM head (151,936 for Qwen2.5).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention).
    pub num_key_value_heads: usize,
    /// Longest supported position; bounds the KV cache.
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    /// RoPE base frequency θ.
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    /// RMSNorm epsilon.
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    /// Whether the LM head reuses the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
}

fn default_max_positions() -> usize {
    32_768
}

fn default_rope_theta() -> f64 {
    1_000_000.0
}

fn default_rms_norm_eps() -> f64 {
    1e-6
}

/// Only the fields needed to reject a non-Qwen2 `config.json` early.
#[derive(Deserialize)]
struct ModelType {
    model_type: Option<String>,
}

impl Qwen2Config {
    /// Per-head width (`hidden_size / num_attention_heads`).
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Query heads sharing one key/value head.
    pub fn group_size(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    /// Parses a Hugging Face `config.json` text.
    pub fn from_hf_json(text: &str) -> Result<Self, ConfigError> {
        let kind: ModelType = serde_json::from_str(text)?;
        if let Some(model_type) = kind.model_type
            && model_type != "qwen2"
        {
            return Err(ConfigError::UnsupportedArchitecture(model_type));
        }
        let config: Self = serde_json::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `config.json` from a file.
    pub fn from_hf_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_hf_json(&text)
    }

    /// Builds the configuration from GGUF metadata.
    ///
    /// `arch` is `general.architecture`; `number` looks up a numeric key
    /// (integer or float) by its full name. The vocabulary size and whether
    /// the head is tied come from the tensor table, not from metadata, because
    /// the metadata's token list can be shorter than the embedding.
    pub fn from_gguf_metadata(
        arch: &str,
        number: impl Fn(&str) -> Option<f64>,
        vocab_size: usize,
        tie_word_embeddings: bool,
    ) -> Result<Self, ConfigError> {
        if arch != "qwen2" {
            return Err(ConfigError::UnsupportedArchitecture(arch.to_owned()));
        }
        let required = |key: &str| -> Result<f64, ConfigError> {
            let full = format!("{arch}.{key}");
            number(&full).ok_or(ConfigError::MissingKey(full))
        };
        let count = |key: &str| -> Result<usize, ConfigError> {
            let value = required(key)?;
            if value.fract() != 0.0 || !(0.0..=1e9).contains(&value) {
                return Err(ConfigError::Invalid(format!("{arch}.{key} = {value}")));
            }
            Ok(value as usize)
        };
        let num_attention_heads = count("attention.head_count")?;
        let config = Self {
            vocab_size,
            hidden_size: count("embedding_length")?,
            intermediate_size: count("feed_forward_length")?,
            num_hidden_layers: count("block_count")?,
            num_attention_heads,
            num_key_value_heads: match number(&format!("{arch}.attention.head_count_kv")) {
                Some(_) => count("attention.head_count_kv")?,
                None => num_attention_heads,
            },
            max_position_embeddings: match number(&format!("{arch}.context_length")) {
                Some(_) => count("context_length")?,
                None => default_max_positions(),
            },
            rope_theta: number(&format!("{arch}.rope.freq_base")).unwrap_or(default_rope_theta()),
            rms_norm_eps: number(&format!("{arch}.attention.layer_norm_rms_epsilon"))
                .unwrap_or(default_rms_norm_eps()),
            tie_word_embeddings,
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads the configuration of an opened GGUF file.
    pub fn from_gguf(file: &GgufFile) -> Result<Self, ConfigError> {
        let arch = file
            .get("general.architecture")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ConfigError::MissingKey("general.architecture".into()))?;
        let vocab_size = file
            .tensor_info("token_embd.weight")
            .and_then(|t| t.shape().first().copied())
            .ok_or_else(|| ConfigError::MissingKey("tensor token_embd.weight".into()))?;
        let tied = file.tensor_info("output.weight").is_none();
        Self::from_gguf_metadata(
            arch,
            |k| file.get(k).and_then(|v| v.as_f64()),
            vocab_size,
            tied,
        )
    }

    /// Checks the invariants the model code relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |msg: String| Err(ConfigError::Invalid(msg));
        if self.vocab_size == 0
            || self.hidden_size == 0
            || self.intermediate_size == 0
            || self.num_hidden_layers == 0
            || self.num_attention_heads == 0
            || self.num_key_value_heads == 0
            || self.max_position_embeddings == 0
        {
            return fail(format!("zero-sized dimension in {self:?}"));
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return fail(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.num_attention_heads % self.num_key_value_heads != 0 {
            return fail(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if self.head_dim() % 2 != 0 {
            return fail(format!(
                "head size {} must be even for RoPE",
                self.head_dim()
            ));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 1.0) {
            return fail(format!(
                "rope_theta {} must be finite and > 1",
                self.rope_theta
            ));
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0) {
            return fail(format!(
                "rms_norm_eps {} must be positive",
                self.rms_norm_eps
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QWEN25_05B: &str = r#"{
      "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0,
      "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu",
      "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
      "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2",
      "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
      "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
      "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
      "use_sliding_window": false, "vocab_size": 151936
    }"#;

    #[test]
    fn parses_hf_config() {
        let c = Qwen2Config::from_hf_json(QWEN25_05B).unwrap();
        assert_eq!(c.hidden_size, 896);
        assert_eq!(c.head_dim(), 64);
        assert_eq!(c.group_size(), 7);
        assert!(c.tie_word_embeddings);
        assert_eq!(c.rope_theta, 1e6);
    }

    #[test]
    fn rejects_other_architectures() {
        let text = QWEN25_05B.replace("\"qwen2\"", "\"llama\"");
        assert!(matches!(
            Qwen2Config::from_hf_json(&text),
            Err(ConfigError::UnsupportedArchitecture(_))
        ));
    }

    #[test]
    fn rejects_inconsistent_heads() {
        let text = QWEN25_05B.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3");
        assert!(matches!(
            Qwen2Config::from_hf_json(&text),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn parses_gguf_metadata() {
        let keys = [
            ("qwen2.context_length", 32768.0),
            ("qwen2.embedding_length", 896.0),
            ("qwen2.feed_forward_length", 4864.0),
            ("qwen2.block_count", 24.0),
            ("qwen2.attention.head_count", 14.0),
            ("qwen2.attention.head_count_kv", 2.0),
            ("qwen2.rope.freq_base", 1e6),
            ("qwen2.attention.layer_norm_rms_epsilon", 1e-6),
        ];
        let lookup = |k: &str| keys.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let c = Qwen2Config::from_gguf_metadata("qwen2", lookup, 151_936, true).unwrap();
        assert_eq!(c, Qwen2Config::from_hf_json(QWEN25_05B).unwrap());
        let missing = |k: &str| {
            if k.ends_with("block_count") {
                None
            } else {
                lookup(k)
            }
        };
        assert!(matches!(
            Qwen2Config::from_gguf_metadata("qwen2", missing, 151_936, true),
            Err(ConfigError::MissingKey(_))
        ));
    }
}
