//! The constrained generation engine: the one generation loop shared by the
//! HTTP server and the command line.
//!
//! A request (chat messages, an optional constraint, sampling parameters) is
//! prepared on the caller's thread — constraint compiled (cached), prompt
//! rendered and tokenized, length checked, satisfiability within `max_tokens`
//! checked — and then handed to one scheduler thread that owns the model.
//! The scheduler runs *continuous batching*: new sequences join the running
//! batch between steps, prompt prefill and decode share one token budget per
//! step, and every sequence owns its KV cache slot. Each step goes
//! logits → grammar mask → sample → commit; tokens the grammar forces are
//! appended without sampling and fed to the model together in the next
//! forward pass. When `max_tokens` is about to run out, generation is steered
//! onto the shortest valid completion, so an answer is either schema-valid
//! JSON (checked with the `jsonschema` crate before it leaves) or a typed
//! [`EngineError`].
//!
//! The model, tokenizer and grammar are reached through narrow traits
//! ([`LanguageModel`], [`TextCodec`], [`ConstraintCompiler`]), so the
//! scheduler is tested with deterministic doubles (feature `testing`) and the
//! real Qwen2 model plugs in behind feature `qwen`.
//!
//! ```
//! # #[cfg(feature = "testing")] {
//! use strictly_engine::{testing, Constraint, Engine, EngineConfig, GenerateRequest};
//! let engine = testing::engine_with_script(
//!     EngineConfig::default(),
//!     r#"{"name":"Ada"}"#,
//! );
//! let schema = serde_json::json!({"enum": [{"name": "Ada"}, {"name": "Bob"}]});
//! let req = GenerateRequest::chat("Who?").with_constraint(Constraint::JsonSchema(schema));
//! let done = engine.submit(req).unwrap().wait().unwrap();
//! assert_eq!(done.json.unwrap(), serde_json::json!({"name": "Ada"}));
//! # }
//! ```

pub mod calibration;
pub mod confidence;
mod config;
mod constraint;
mod detok;
mod draft;
mod error;
mod event;
pub mod evidence;
mod model;
mod prefix;
pub mod prompt;
mod request;
mod sampler;
mod scheduler;
mod schema_cache;
mod steer;
mod validate;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(feature = "grammar")]
mod grammar;
#[cfg(feature = "grammar")]
pub use grammar::GrammarCompiler;

#[cfg(feature = "qwen")]
pub mod qwen;

pub use config::EngineConfig;
pub use constraint::{
    ConstraintCompiler, Grammar, MatchError, Matcher, SchemaError, TextFormatError, TokenMask,
};
pub use error::{EngineError, ErrorKind};
pub use event::{
    AnswerToken, Completion, Event, EventStream, FinishReason, Timings, TokenEvent, Usage,
};
pub use model::{CodecError, ForwardItem, LanguageModel, ModelError, TextCodec};
pub use request::{
    CancelToken, ChatMessage, Constraint, GenerateRequest, Priority, Role, SamplingParams,
    TextFormat,
};
pub use scheduler::{Engine, EngineBuilder, EngineObserver, Reload, StepStats};

/// The text of a panic payload (`panic!` with a literal or a format).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
