//! One pre-norm decoder layer: attention and MLP, each with a residual.

use std::ops::Range;

use burn::module::Module;
use burn::nn::RmsNorm;
use burn::tensor::Tensor;

use super::attention::Attention;
use super::mlp::Mlp;
use super::rope::Rope;
use crate::kv_cache::KvCache;

/// `x + attn(norm(x))`, then `x + mlp(norm(x))`.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Norm before attention.
    pub input_layernorm: RmsNorm,
    /// Grouped-query attention.
    pub self_attn: Attention,
    /// Norm before the MLP.
    pub post_attention_layernorm: RmsNorm,
    /// SwiGLU MLP.
    pub mlp: Mlp,
}

impl DecoderLayer {
    pub(crate) fn forward(
        &self,
        x: Tensor<2>,
        rope: &Rope,
        spans: &[Range<usize>],
        caches: &mut [&mut KvCache],
        layer: usize,
    ) -> Tensor<2> {
        let h = self.input_layernorm.forward(x.clone());
        let x = x + self.self_attn.forward(h, rope, spans, caches, layer);
        let h = self.post_attention_layernorm.forward(x.clone());
        x + self.mlp.forward(h)
    }
}
