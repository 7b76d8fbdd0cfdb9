//! Typed failures of a generation request. Each carries the numbers a client
//! needs to fix its request; [`EngineError::kind`] gives the stable category
//! that the server maps to an HTTP status.

use std::time::Duration;

use crate::model::{CodecError, ModelError};

/// Why a request produced no answer.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Too many requests are waiting; the client should retry later.
    #[error("the request queue is full ({waiting} requests waiting); retry in {retry_after:?}")]
    QueueFull {
        waiting: usize,
        retry_after: Duration,
    },

    /// A request parameter is out of range.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The schema cannot be compiled into a grammar (unsupported keyword,
    /// unsatisfiable combination, remote `$ref`, malformed schema).
    #[error("invalid schema at '{pointer}': {message}")]
    InvalidSchema { pointer: String, message: String },

    /// Compiling the schema passed the compile budget (time, automaton
    /// states, grammar size); `pointer` names the part being compiled.
    #[error("schema too complex at '{pointer}': {message}")]
    SchemaTooComplex { pointer: String, message: String },

    /// A regex, choice list or GBNF grammar that cannot be compiled.
    #[error(transparent)]
    InvalidFormat(#[from] crate::constraint::TextFormatError),

    /// The prompt (instructions, schema and document) does not fit.
    #[error(
        "the prompt has {prompt_tokens} tokens; at most {max_prompt_tokens} fit \
         (context {context_tokens} tokens, {max_tokens} reserved for the answer)"
    )]
    PromptTooLong {
        prompt_tokens: usize,
        max_prompt_tokens: usize,
        context_tokens: usize,
        max_tokens: usize,
    },

    /// No valid answer fits in `max_tokens`.
    #[error("no answer that matches the schema fits in max_tokens={max_tokens}{}", shortest_hint(*.shortest))]
    Unsatisfiable {
        max_tokens: usize,
        shortest: Option<usize>,
    },

    /// The request took longer than the configured timeout.
    #[error("the request did not finish within {0:?}")]
    Timeout(Duration),

    /// The client cancelled the request or went away.
    #[error("the request was cancelled")]
    Cancelled,

    /// The engine is shutting down or its scheduler has stopped.
    #[error("the engine is not running")]
    Unavailable,

    /// The model failed during a forward pass.
    #[error(transparent)]
    Model(#[from] ModelError),

    /// The tokenizer or chat template failed on the request's text.
    #[error(transparent)]
    Codec(#[from] CodecError),

    /// A step of the engine panicked; the requests in it fail, the engine
    /// goes on serving.
    #[error("internal error: {0}")]
    Internal(String),

    /// The finished answer failed validation. The grammar should make this
    /// impossible; it is reported rather than returned as a success.
    #[error("the generated answer failed validation: {0}")]
    InvalidOutput(String),
}

fn shortest_hint(shortest: Option<usize>) -> String {
    match shortest {
        Some(n) => format!(" (the shortest valid answer needs {n} tokens)"),
        None => " (no valid answer was found within that budget)".to_owned(),
    }
}

/// Stable category of an [`EngineError`], independent of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Overloaded,
    InvalidRequest,
    InvalidSchema,
    SchemaTooComplex,
    InvalidFormat,
    PromptTooLong,
    Unsatisfiable,
    Timeout,
    Cancelled,
    Unavailable,
    Internal,
}

impl EngineError {
    /// The error's stable category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::QueueFull { .. } => ErrorKind::Overloaded,
            Self::InvalidRequest(_) => ErrorKind::InvalidRequest,
            Self::InvalidSchema { .. } => ErrorKind::InvalidSchema,
            Self::SchemaTooComplex { .. } => ErrorKind::SchemaTooComplex,
            Self::InvalidFormat(_) => ErrorKind::InvalidFormat,
            Self::PromptTooLong { .. } => ErrorKind::PromptTooLong,
            Self::Unsatisfiable { .. } => ErrorKind::Unsatisfiable,
            Self::Timeout(_) => ErrorKind::Timeout,
            Self::Cancelled => ErrorKind::Cancelled,
            Self::Unavailable => ErrorKind::Unavailable,
            Self::Model(_) | Self::Codec(_) | Self::InvalidOutput(_) | Self::Internal(_) => {
                ErrorKind::Internal
            }
        }
    }
}
