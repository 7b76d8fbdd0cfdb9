//! Model.

pub mod gguf;
pub mod quant;
pub mod weights;
