//! The one type every projection of the model goes through.
//!
//! Keeping all matrix products behind [`Linear`] is deliberate: the model code
//! never sees how a weight is stored or multiplied, so a faster kernel (for
//! example a quantized CPU matrix-vector product registered through Burn's
//! backend-extension mechanism) can replace [`Linear::forward`]'s body without
//! touching attention, the MLP or the LM head.

use burn::module::{Module, Param};
use burn::tensor::{DType, Tensor};

/// A dense projection `y = x · Wᵀ + b` with `W` stored as `[out, in]`.
///
/// `W` keeps the checkpoint's row-major `[out, in]` layout (one output per
/// row, like GGUF blocks and Hugging Face tensors), so loading needs no
/// transpose and a future block-quantized kernel can walk rows directly.
/// The weight may be stored in half precision to halve memory traffic;
/// activations stay `f32` outside this type.
#[derive(Module, Debug)]
pub struct Linear {
    /// `[out_features, in_features]`, in the storage dtype chosen at load.
    pub weight: Param<Tensor<2>>,
    /// `[out_features]`, always `f32`.
    pub bias: Option<Param<Tensor<1>>>,
}

impl Linear {
    /// Wraps loaded tensors; `bias` is kept in `f32` whatever its input dtype.
    pub fn new(weight: Tensor<2>, bias: Option<Tensor<1>>) -> Self {
        Self {
            weight: Param::from_tensor(weight),
            bias: bias.map(|b| Param::from_tensor(b.cast(DType::F32))),
        }
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape().dims::<2>()[1]
    }

    /// Number of output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape().dims::<2>()[0]
    }

    /// `x: [rows, in]` (f32) → `[rows, out]` (f32).
    ///
    /// The product runs in the weight's dtype (Burn's matmul needs equal
    /// dtypes); the transposed view costs no copy on the CPU backend, whose
    /// strided GEMM reads `W` row by row.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let weight = self.weight.val();
        let wdtype = weight.dtype();
        let x = if x.dtype() == wdtype {
            x
        } else {
            x.cast(wdtype)
        };
        let y = x.matmul(weight.transpose());
        let y = if y.dtype() == DType::F32 {
            y
        } else {
            y.cast(DType::F32)
        };
        match &self.bias {
            Some(bias) => y + bias.val().unsqueeze::<2>(),
            None => y,
        }
    }
}
