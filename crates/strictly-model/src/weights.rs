//! Where the model's tensors come from, independent of the file format.
//!
//! The model is defined once, against canonical Hugging Face tensor names
//! (`model.embed_tokens.weight`, `model.layers.N.self_attn.q_proj.weight`, `lm_head.weight`);
//! each format (GGUF, a safetensors folder) implements [`TensorSource`] and does its own
//! renaming, so there is no second copy of the model per format.
//!
//! This file holds the seam and [`build_qwen2`], the one place where canonical names are
//! bound onto the Burn module; the GGUF implementation lives in `gguf::source` and the
//! safetensors one in `safetensors`.

use burn::module::Param;
use burn::nn::RmsNorm;
use burn::tensor::{DType, Device, FloatDType, Tensor, TensorData};
use half::f16;
use half::slice::HalfFloatSliceExt;

use crate::config::Qwen2Config;
use crate::gguf::GgufError;
use crate::kernels::{QuantFormat, QuantMatrix};
use crate::linear::{Linear, LinearWeight};
use crate::quant::GgmlType;
use crate::qwen2::{Attention, DecoderLayer, Mlp, Qwen2, VocabMatrix};

/// A tensor's raw bytes as stored, for kernels that work on quantized blocks directly.
#[derive(Clone)]
pub struct RawTensor<'a> {
    pub ty: GgmlType,
    /// Outermost dimension first (`[out, in]` for a projection), as in [`TensorSource::shape`].
    pub shape: Vec<usize>,
    /// Rows of `shape.last()` elements one after another, in `ty`'s block layout.
    pub bytes: &'a [u8],
    /// An owner of `bytes` that outlives the source (a memory map), with their range
    /// in it, so that weights can keep pointing at them instead of copying; `None`
    /// when the bytes must be copied.
    pub shared: Option<(crate::gguf::SharedBytes, std::ops::Range<usize>)>,
}

impl std::fmt::Debug for RawTensor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawTensor")
            .field("ty", &self.ty)
            .field("shape", &self.shape)
            .field("bytes", &self.bytes.len())
            .field("shared", &self.shared.as_ref().map(|(_, range)| range))
            .finish()
    }
}

/// Why a tensor could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    #[error("tensor {0:?} is not in the checkpoint")]
    Missing(String),
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("tensor {name:?} has shape {found:?}, the model needs {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Kernel(#[from] crate::kernels::KernelError),
    #[error(transparent)]
    Safetensors(#[from] crate::safetensors::SafetensorsError),
}

/// A read-only collection of named tensors.
pub trait TensorSource {
    /// Canonical names of every tensor the source can provide.
    fn names(&self) -> Vec<String>;

    /// Shape of a tensor, outermost dimension first (`[out, in]` for a projection, as
    /// PyTorch writes it), or `None` if the source has no such tensor.
    fn shape(&self, name: &str) -> Option<Vec<usize>>;

    /// The tensor decoded to `f32`, row-major over [`TensorSource::shape`].
    fn load_f32(&self, name: &str) -> Result<Vec<f32>, WeightsError>;

    /// The tensor's stored bytes, when the source keeps them in a GGML block layout; `None`
    /// for sources (such as safetensors) that only hold plain floats.
    fn raw(&self, _name: &str) -> Option<RawTensor<'_>> {
        None
    }
}

/// How [`build_qwen2`] stores the weights on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindOptions {
    /// Dtype of projection and vocabulary matrices (norms and biases stay f32).
    /// Half precision halves memory and the bytes each decode step streams.
    pub weight_dtype: FloatDType,
    /// Rows per chunk of the embedding / LM head; bounds the largest buffer
    /// (some GPU drivers refuse single allocations of a few hundred MB).
    pub vocab_chunk_rows: usize,
    /// Keep block-quantized matrices (Q4_K, Q5_0, Q6_K, Q8_0) as they are
    /// for the integer CPU kernels instead of decoding them to floats.
    pub quantized: bool,
}

impl BindOptions {
    /// Sensible storage for `device`: on the CPU, quantized blocks where the
    /// source has them and one vocabulary chunk; elsewhere chunks of at most
    /// 128 MiB. Dense matrices are f16 where the backend supports it, else f32.
    pub fn for_device(device: &Device, vocab_size: usize, hidden: usize) -> Self {
        let weight_dtype = if device.supports_dtype(FloatDType::F16) {
            FloatDType::F16
        } else {
            FloatDType::F32
        };
        let cpu = crate::device::is_cpu(device);
        let vocab_chunk_rows = if cpu {
            vocab_size
        } else {
            let bytes_per_row = hidden
                * if weight_dtype == FloatDType::F16 {
                    2
                } else {
                    4
                };
            ((128 << 20) / bytes_per_row.max(1)).max(1)
        };
        Self {
            weight_dtype,
            vocab_chunk_rows,
            quantized: cpu,
        }
    }
}

/// Builds the Burn model from any source, by canonical tensor name.
///
/// Shapes are checked against `config` before any data is decoded, so a
/// mismatched checkpoint fails with the tensor's name. The embedding is
/// loaded first: it is the largest tensor, and loading it before the rest
/// keeps the transient f32 copy from stacking on top of the other weights.
pub fn build_qwen2(
    source: &dyn TensorSource,
    config: &Qwen2Config,
    device: &Device,
    options: BindOptions,
) -> Result<Qwen2, WeightsError> {
    config.validate()?;
    let b = Binder {
        source,
        device,
        options,
    };
    let (hidden, inter) = (config.hidden_size, config.intermediate_size);
    let (heads, kv_heads, dim) = (
        config.num_attention_heads,
        config.num_key_value_heads,
        config.head_dim(),
    );
    let embed_tokens = b.vocab("model.embed_tokens.weight", config.vocab_size, hidden)?;
    let lm_head = if config.tie_word_embeddings {
        None
    } else {
        Some(b.vocab("lm_head.weight", config.vocab_size, hidden)?)
    };
    let mut layers = Vec::with_capacity(config.num_hidden_layers);
    for i in 0..config.num_hidden_layers {
        let p = format!("model.layers.{i}");
        let self_attn = Attention {
            q_proj: b.linear(&format!("{p}.self_attn.q_proj"), heads * dim, hidden, true)?,
            k_proj: b.linear(
                &format!("{p}.self_attn.k_proj"),
                kv_heads * dim,
                hidden,
                true,
            )?,
            v_proj: b.linear(
                &format!("{p}.self_attn.v_proj"),
                kv_heads * dim,
                hidden,
                true,
            )?,
            o_proj: b.linear(&format!("{p}.self_attn.o_proj"), hidden, heads * dim, false)?,
            heads,
            kv_heads,
            head_dim: dim,
        };
        let mlp = Mlp {
            gate_proj: b.linear(&format!("{p}.mlp.gate_proj"), inter, hidden, false)?,
            up_proj: b.linear(&format!("{p}.mlp.up_proj"), inter, hidden, false)?,
            down_proj: b.linear(&format!("{p}.mlp.down_proj"), hidden, inter, false)?,
        };
        layers.push(DecoderLayer {
            input_layernorm: b.norm(&format!("{p}.input_layernorm.weight"), config)?,
            self_attn,
            post_attention_layernorm: b
                .norm(&format!("{p}.post_attention_layernorm.weight"), config)?,
            mlp,
        });
    }
    Ok(Qwen2 {
        embed_tokens,
        layers,
        norm: b.norm("model.norm.weight", config)?,
        lm_head,
        config: config.clone(),
        device: device.clone(),
    })
}

/// Loads named tensors with shape checks and creates them on the device.
struct Binder<'a> {
    source: &'a dyn TensorSource,
    device: &'a Device,
    options: BindOptions,
}

impl Binder<'_> {
    fn check_shape(&self, name: &str, expected: &[usize]) -> Result<(), WeightsError> {
        let found = self
            .source
            .shape(name)
            .ok_or_else(|| WeightsError::Missing(name.to_owned()))?;
        if found != expected {
            return Err(WeightsError::Shape {
                name: name.to_owned(),
                expected: expected.to_vec(),
                found,
            });
        }
        Ok(())
    }

    /// Checks the shape, then decodes to f32.
    fn load(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, WeightsError> {
        self.check_shape(name, expected)?;
        let data = self.source.load_f32(name)?;
        if data.len() != expected.iter().product::<usize>() {
            return Err(WeightsError::Shape {
                name: format!("{name} (decoded length {})", data.len()),
                expected: expected.to_vec(),
                found: vec![data.len()],
            });
        }
        Ok(data)
    }

    /// The source's quantized blocks for `name`, if they should and can be
    /// kept as they are (shape already checked by the caller).
    fn quantized(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Option<QuantMatrix>, WeightsError> {
        if !self.options.quantized {
            return Ok(None);
        }
        let Some(raw) = self.source.raw(name) else {
            return Ok(None);
        };
        if QuantFormat::from_ggml(raw.ty).is_none() {
            return Ok(None);
        }
        // Pointing into a shared map costs no memory beyond the pages the
        // page cache holds anyway (and the embedding's untouched rows never
        // become resident); other sources are copied.
        let matrix = match raw.shared {
            Some((owner, range)) => QuantMatrix::shared(raw.ty, rows, cols, owner, range)?,
            None => QuantMatrix::from_bytes(raw.ty, rows, cols, raw.bytes)?,
        };
        Ok(Some(matrix))
    }

    /// A `[rows, cols]` matrix: quantized blocks when possible, else dense.
    fn weight(&self, name: &str, rows: usize, cols: usize) -> Result<LinearWeight, WeightsError> {
        self.check_shape(name, &[rows, cols])?;
        if let Some(q) = self.quantized(name, rows, cols)? {
            return Ok(LinearWeight::Quantized(q));
        }
        let data = self.load(name, &[rows, cols])?;
        Ok(LinearWeight::Dense(self.matrix(data, rows, cols)))
    }

    /// A dense matrix in the storage dtype.
    fn matrix(&self, data: Vec<f32>, rows: usize, cols: usize) -> Tensor<2> {
        let data = match self.options.weight_dtype {
            FloatDType::F16 => {
                let mut half = vec![f16::ZERO; data.len()];
                half.convert_from_f32_slice(&data);
                drop(data);
                TensorData::new(half, [rows, cols])
            }
            _ => TensorData::new(data, [rows, cols]),
        };
        Tensor::from_data(data, (self.device, DType::from(self.options.weight_dtype)))
    }

    fn vector(&self, data: Vec<f32>) -> Tensor<1> {
        let n = data.len();
        Tensor::from_data(TensorData::new(data, [n]), (self.device, DType::F32))
    }

    fn linear(
        &self,
        prefix: &str,
        out: usize,
        input: usize,
        bias: bool,
    ) -> Result<Linear, WeightsError> {
        let weight = self.weight(&format!("{prefix}.weight"), out, input)?;
        let bias = if bias {
            Some(self.vector(self.load(&format!("{prefix}.bias"), &[out])?))
        } else {
            None
        };
        Ok(Linear::new(weight, bias))
    }

    fn norm(&self, name: &str, config: &Qwen2Config) -> Result<RmsNorm, WeightsError> {
        let gamma = self.vector(self.load(name, &[config.hidden_size])?);
        Ok(RmsNorm {
            gamma: Param::from_tensor(gamma),
            epsilon: config.rms_norm_eps,
        })
    }

    fn vocab(&self, name: &str, rows: usize, cols: usize) -> Result<VocabMatrix, WeightsError> {
        self.check_shape(name, &[rows, cols])?;
        if let Some(q) = self.quantized(name, rows, cols)? {
            return Ok(VocabMatrix::quantized(q));
        }
        let data = self.load(name, &[rows, cols])?;
        let chunk_rows = self.options.vocab_chunk_rows.clamp(1, rows);
        if chunk_rows >= rows {
            return Ok(VocabMatrix::dense(
                vec![self.matrix(data, rows, cols)],
                rows,
            ));
        }
        let chunks = data
            .chunks(chunk_rows * cols)
            .map(|part| self.matrix(part.to_vec(), part.len() / cols, cols))
            .collect();
        Ok(VocabMatrix::dense(chunks, chunk_rows))
    }
}
