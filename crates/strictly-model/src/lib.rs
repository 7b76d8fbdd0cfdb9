//! Model.

pub mod chat;
pub mod config;
pub mod device;
pub mod fetch;
pub mod gguf;
pub mod host;
pub mod kernels;
pub mod kv_cache;
pub mod linear;
pub mod load;
pub mod quant;
pub mod qwen2;
pub mod safetensors;
pub mod source;
pub mod tokenizer;
pub mod weights;

/// The Burn version the model is written against, for callers that handle its tensors.
pub use burn;
pub use config::Qwen2Config;
pub use device::Backend;
pub use kv_cache::KvCache;
pub use load::{LoadError, LoadOptions, Loaded, load, load_source, load_with};
pub use qwen2::{ForwardError, LogitRows, LogitsWanted, Qwen2};
