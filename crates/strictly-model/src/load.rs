//! One entry point from a path to a ready model, whatever the format.
//!
//! A `.gguf` file and a Hugging Face folder (`config.json` + `*.safetensors`)
//! both become a [`TensorSource`] plus a [`Qwen2Config`], and then go through
//! the same binder, so there is exactly one model definition.

use std::path::Path;

use burn::tensor::{Device, FloatDType};

use crate::config::{ConfigError, Qwen2Config};
use crate::gguf::{GgufError, GgufFile};
use crate::qwen2::Qwen2;
use crate::safetensors::{SafetensorsError, SafetensorsSource};
use crate::source::{ModelSource, SourceError};
use crate::weights::{BindOptions, TensorSource, WeightsError, build_qwen2};

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path does not name a usable model.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The GGUF file is unreadable or malformed.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// The safetensors folder is unreadable or malformed.
    #[error(transparent)]
    Safetensors(#[from] SafetensorsError),
    /// The configuration is missing, malformed or not Qwen2.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A tensor is missing or has the wrong shape.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// Storage choices; `None` fields are picked for the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Dtype of the weight matrices (f16 on the CPU backend by default).
    pub weight_dtype: Option<FloatDType>,
    /// Rows per chunk of the vocabulary matrix.
    pub vocab_chunk_rows: Option<usize>,
    /// Keep GGUF block-quantized matrices for the CPU kernels (default: on
    /// the CPU backend); `Some(false)` decodes every matrix to floats.
    pub quantized: Option<bool>,
}

/// A loaded model and its configuration.
#[derive(Debug)]
pub struct Loaded {
    /// The Burn model, on the requested device.
    pub model: Qwen2,
    /// Its hyper-parameters (also available as `model.config()`).
    pub config: Qwen2Config,
}

/// Loads a Qwen2 model from a GGUF file or a Hugging Face folder with
/// default storage for `device`.
pub fn load(path: &Path, device: &Device) -> Result<Loaded, LoadError> {
    load_with(path, device, LoadOptions::default())
}

/// [`load`] with explicit storage options.
pub fn load_with(path: &Path, device: &Device, options: LoadOptions) -> Result<Loaded, LoadError> {
    load_source(&ModelSource::from_path(path)?, device, options)
}

/// Loads an already located model (see [`ModelSource::resolve`], which
/// fetches the default model when no path is given).
pub fn load_source(
    source: &ModelSource,
    device: &Device,
    options: LoadOptions,
) -> Result<Loaded, LoadError> {
    match source {
        ModelSource::HfFolder { dir, safetensors } => {
            let config = Qwen2Config::from_hf_file(&dir.join("config.json"))?;
            let tensors = SafetensorsSource::open_files(safetensors.clone())?;
            bind(&tensors, config, device, options)
        }
        ModelSource::Gguf(path) => {
            let file = GgufFile::open(path)?;
            let config = Qwen2Config::from_gguf(&file)?;
            bind(&file, config, device, options)
        }
    }
}

fn bind(
    source: &dyn TensorSource,
    config: Qwen2Config,
    device: &Device,
    options: LoadOptions,
) -> Result<Loaded, LoadError> {
    let defaults = BindOptions::for_device(device, config.vocab_size, config.hidden_size);
    let bind = BindOptions {
        weight_dtype: options.weight_dtype.unwrap_or(defaults.weight_dtype),
        vocab_chunk_rows: options
            .vocab_chunk_rows
            .unwrap_or(defaults.vocab_chunk_rows),
        quantized: options.quantized.unwrap_or(defaults.quantized),
    };
    let started = std::time::Instant::now();
    let model = build_qwen2(source, &config, device, bind)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        dtype = ?bind.weight_dtype,
        quantized = bind.quantized,
        "model loaded"
    );
    Ok(Loaded { model, config })
}
