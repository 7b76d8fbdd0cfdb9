//! The one type every projection of the model goes through.
//!
//! Keeping all matrix products behind [`Linear`] is deliberate: the model code
//! never sees how a weight is stored or multiplied. A weight is either a
//! dense Burn tensor (any backend) or a GGUF block-quantized matrix that the
//! integer CPU kernels of [`crate::kernels`] multiply directly, which streams
//! about a quarter of the bytes of f16 per decoded token.

use burn::module::{Module, Param};
use burn::tensor::{DType, Tensor};

use crate::kernels::QuantMatrix;

/// How a projection's `[out, in]` weight is stored.
///
/// `[out, in]` is the checkpoint's own layout (one output per row, like GGUF
/// blocks and Hugging Face tensors), so loading never transposes.
#[derive(Debug, Clone)]
pub enum LinearWeight {
    /// A Burn tensor (f16 or f32), multiplied with Burn's matmul; the
    /// transposed view costs no copy on the CPU backend's strided GEMM.
    Dense(Tensor<2>),
    /// GGUF blocks (Q4_K, Q5_0, Q6_K, Q8_0) for the integer CPU kernels.
    Quantized(QuantMatrix),
}

/// A projection `y = x · Wᵀ + b`.
#[derive(Module, Debug)]
pub struct Linear {
    /// Not a Burn parameter: quantized blocks are not Burn tensors, and an
    /// inference model is built on its device once and never moved.
    #[module(skip)]
    pub weight: LinearWeight,
    /// `[out_features]`, always f32.
    pub bias: Option<Param<Tensor<1>>>,
}

impl Linear {
    /// Wraps a weight; `bias` is kept in f32 whatever its input dtype.
    pub fn new(weight: LinearWeight, bias: Option<Tensor<1>>) -> Self {
        Self {
            weight,
            bias: bias.map(|b| Param::from_tensor(b.cast(DType::F32))),
        }
    }

    /// A dense layer from a `[out, in]` tensor.
    pub fn dense(weight: Tensor<2>, bias: Option<Tensor<1>>) -> Self {
        Self::new(LinearWeight::Dense(weight), bias)
    }

    /// Number of input features.
    pub fn in_features(&self) -> usize {
        match &self.weight {
            LinearWeight::Dense(w) => w.dims()[1],
            LinearWeight::Quantized(q) => q.cols(),
        }
    }

    /// Number of output features.
    pub fn out_features(&self) -> usize {
        match &self.weight {
            LinearWeight::Dense(w) => w.dims()[0],
            LinearWeight::Quantized(q) => q.rows(),
        }
    }

    /// Most rows per product for which each row's output is exactly its
    /// output alone: what the CPU kernels guarantee for a quantized weight,
    /// 1 for a dense one (Burn's GEMM promises nothing of the kind).
    pub fn row_invariant_rows(&self) -> usize {
        match &self.weight {
            LinearWeight::Dense(_) => 1,
            LinearWeight::Quantized(q) => q.row_invariant_rows(),
        }
    }

    /// `x: [rows, in]` (f32) → `[rows, out]` (f32).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = match &self.weight {
            LinearWeight::Dense(w) => dense_matmul(x, w.clone()),
            LinearWeight::Quantized(q) => q.matmul(x),
        };
        self.add_bias(y)
    }
}

impl Linear {
    /// `[l.forward(x) for l in layers]`, with the quantized matrices among
    /// them multiplied in one pass of the CPU kernels (one input
    /// quantization, one trip through the thread pool).
    pub fn forward_many(layers: &[&Linear], x: Tensor<2>) -> Vec<Tensor<2>> {
        let quantized: Vec<&QuantMatrix> = layers
            .iter()
            .filter_map(|l| match &l.weight {
                LinearWeight::Quantized(q) => Some(q),
                LinearWeight::Dense(_) => None,
            })
            .collect();
        if quantized.len() != layers.len() {
            return layers.iter().map(|l| l.forward(x.clone())).collect();
        }
        QuantMatrix::matmul_many(&quantized, x)
            .into_iter()
            .zip(layers)
            .map(|(y, l)| l.add_bias(y))
            .collect()
    }

    fn add_bias(&self, y: Tensor<2>) -> Tensor<2> {
        match &self.bias {
            Some(bias) => y + bias.val().unsqueeze::<2>(),
            None => y,
        }
    }
}

/// `x · Wᵀ` with `W: [out, in]` in any float dtype; the product runs in the
/// weight's dtype (Burn's matmul needs equal dtypes) and returns f32.
pub(crate) fn dense_matmul(x: Tensor<2>, weight: Tensor<2>) -> Tensor<2> {
    let x = x.cast(weight.dtype());
    x.matmul(weight.transpose()).cast(DType::F32)
}
