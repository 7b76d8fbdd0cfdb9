//! Matrix products straight from quantized GGUF weights.
//!
//! Burn 0.22's CPU backend (`flex`) has no quantized matmul worth using: it
//! dequantizes the whole weight on every call. Decoding one token is bound by
//! the bytes of weights it streams, so the weights stay in their GGUF blocks
//! (≈0.6 bytes per weight instead of 2–4) and the products run in the
//! integer kernels of [`cpu`]: activations quantized to `i8` on the fly,
//! `u8 × i8` dot products (`vpdpbusd` on AVX-512 VNNI, `maddubs` on AVX2,
//! portable Rust otherwise), rayon over output rows.
//!
//! # How the model reaches the kernels
//!
//! [`QuantMatrix`] owns the blocks (a copy, or a shared memory map) and
//! exposes `matmul(x: Tensor<2>) -> Tensor<2>`, the seam a linear layer
//! calls instead of `x.matmul(w.transpose())`:
//!
//! - On the CPU backend (`Device::flex()`), `x.into_data()` hands over the
//!   tensor's host buffer (no copy when `x` is contiguous and not shared),
//!   the kernel writes a fresh `Vec<f32>`, and `Tensor::from_data` wraps it
//!   on the same device, again without a copy (flex stores `TensorData`'s
//!   bytes as they are). This needs nothing beyond Burn's public API.
//! - Any other device (wgpu, CUDA) gets a dense `f32` copy of the matrix,
//!   created once per device in chunks small enough for GPU allocators, and
//!   Burn's own matmul.
//!
//! Burn's backend-extension mechanism (the `extension` feature) offers a
//! stricter zero-copy read of shared inputs — `Tensor::try_into_primitive::
//! <Flex>()` yields the `FlexTensor`, whose `as_slice::<f32>()` borrows its
//! storage — and `#[backend_extension(Flex)]` could register the product as
//! a backend op. Neither is needed: copying a shared activation costs a few
//! microseconds against milliseconds of weights streamed, and the op runs
//! eagerly on the CPU backend anyway.

pub mod cpu;
mod matrix;

pub use cpu::{Isa, KernelError, QuantFormat, QuantWeights};
pub use matrix::QuantMatrix;
