//! Model.

pub mod chat;
pub mod gguf;
pub mod kernels;
pub mod quant;
pub mod tokenizer;
pub mod weights;
