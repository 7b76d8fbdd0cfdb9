//! Model.

pub mod chat;
pub mod fetch;
pub mod gguf;
pub mod kernels;
pub mod quant;
pub mod source;
pub mod tokenizer;
pub mod weights;
