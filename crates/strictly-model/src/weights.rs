//! Where the model's tensors come from, independent of the file format.
//!
//! The model is defined once, against canonical Hugging Face tensor names
//! (`model.embed_tokens.weight`, `model.layers.N.self_attn.q_proj.weight`, `lm_head.weight`);
//! each format (GGUF, a safetensors folder) implements [`TensorSource`] and does its own
//! renaming, so there is no second copy of the model per format.
//!
//! This file holds only the seam; the GGUF implementation lives in `gguf::source`, and the
//! safetensors loader and the code that builds the Burn model from a source belong next to
//! the model.

use crate::gguf::GgufError;
use crate::quant::GgmlType;

/// A tensor's raw bytes as stored, for kernels that work on quantized blocks directly.
#[derive(Debug, Clone)]
pub struct RawTensor<'a> {
    pub ty: GgmlType,
    /// Outermost dimension first (`[out, in]` for a projection), as in [`TensorSource::shape`].
    pub shape: Vec<usize>,
    /// Rows of `shape.last()` elements one after another, in `ty`'s block layout.
    pub bytes: &'a [u8],
}

/// Why a tensor could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeightsError {
    #[error("tensor {0:?} is not in the checkpoint")]
    Missing(String),
    #[error(transparent)]
    Gguf(#[from] GgufError),
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
