//! SwiGLU feed-forward block: `down(silu(gate(x)) * up(x))`.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::activation::silu;

use crate::linear::Linear;

/// The MLP of one decoder layer (no biases in Qwen2).
#[derive(Module, Debug)]
pub struct Mlp {
    /// `[intermediate, hidden]`.
    pub gate_proj: Linear,
    /// `[intermediate, hidden]`.
    pub up_proj: Linear,
    /// `[hidden, intermediate]`.
    pub down_proj: Linear,
}

impl Mlp {
    /// `x: [rows, hidden]` → `[rows, hidden]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [gate, up] = Linear::forward_many(&[&self.gate_proj, &self.up_proj], x)
            .try_into()
            .unwrap_or_else(|_| unreachable!("two projections"));
        self.down_proj.forward(silu(gate) * up)
    }
}
