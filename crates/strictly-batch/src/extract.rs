//! The one seam between batch work and the generation engine.
//!
//! Batch runs, the job store's runner and regression cases only need "turn
//! this document into an instance of this schema". Keeping that behind a
//! small trait lets their logic (streaming, resume, crash safety, diffs) be
//! tested with a deterministic double in milliseconds, while the real engine
//! plugs in through [`crate::EngineExtractor`] (feature `engine`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One extraction: a document turned into an instance of a schema.
#[derive(Debug, Clone, Copy)]
pub struct ExtractRequest<'a> {
    pub schema: &'a Value,
    pub document: &'a str,
    /// Replaces the engine's default extraction instructions when present.
    pub instructions: Option<&'a str>,
}

impl<'a> ExtractRequest<'a> {
    pub fn new(schema: &'a Value, document: &'a str) -> Self {
        Self {
            schema,
            document,
            instructions: None,
        }
    }
}

/// Turns documents into schema-valid JSON.
///
/// Implementations must be callable from several threads at once: batch
/// runners keep up to `concurrency` requests in flight so the engine can
/// batch them.
pub trait Extractor: Send + Sync {
    /// Extracts one document. The returned value is valid against the schema.
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError>;

    /// Checks that `schema` can be used at all, before any row is run, so a
    /// bad schema fails the whole run once instead of every row.
    fn check_schema(&self, _schema: &Value) -> Result<(), ExtractError> {
        Ok(())
    }
}

impl<T: Extractor + ?Sized> Extractor for std::sync::Arc<T> {
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError> {
        (**self).extract(request)
    }

    fn check_schema(&self, schema: &Value) -> Result<(), ExtractError> {
        (**self).check_schema(schema)
    }
}

/// Stable category of an extraction failure; written into output rows, so
/// the spelling (`snake_case`) is part of the output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractErrorKind {
    /// The schema cannot be compiled (unsupported keyword, remote `$ref`...).
    InvalidSchema,
    /// The schema passed the compile budget.
    SchemaTooComplex,
    /// The document does not fit in the model's context.
    DocumentTooLong,
    /// No schema-valid answer fits in the token budget.
    Unsatisfiable,
    /// The request ran past the engine's timeout.
    Timeout,
    /// The engine's queue is full; worth retrying later.
    Overloaded,
    /// The request was cancelled (shutdown, job cancelled).
    Cancelled,
    /// The engine is not running.
    Unavailable,
    /// Anything else inside the engine (model or tokenizer failure).
    Internal,
}

impl ExtractErrorKind {
    /// Whether the failure says something about the row itself and belongs
    /// in the output. Transient failures (overload, cancellation, engine
    /// down) are not written, so a rerun or a resumed job retries the row.
    pub fn is_row_outcome(self) -> bool {
        !matches!(self, Self::Overloaded | Self::Cancelled | Self::Unavailable)
    }

    /// The `snake_case` name used in output rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSchema => "invalid_schema",
            Self::SchemaTooComplex => "schema_too_complex",
            Self::DocumentTooLong => "document_too_long",
            Self::Unsatisfiable => "unsatisfiable",
            Self::Timeout => "timeout",
            Self::Overloaded => "overloaded",
            Self::Cancelled => "cancelled",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// Why one extraction produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExtractError {
    pub kind: ExtractErrorKind,
    pub message: String,
}

impl ExtractError {
    pub fn new(kind: ExtractErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// What became of one row's extraction, for the runners.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// A result to write: data or a row error.
    Finished(Result<Value, crate::record::RowError>),
    /// Stopped before a result (cancelled); the row stays to do.
    Stopped,
    /// The engine is gone; the row stays to do and the run should stop.
    EngineDown(ExtractError),
}

/// Extracts one row: retries while the engine is merely overloaded (batch
/// work waits its turn instead of failing), turns a panic in the extractor
/// into an error row, and gives up when `stop` says so.
pub(crate) fn attempt<E: Extractor + ?Sized>(
    extractor: &E,
    request: &ExtractRequest<'_>,
    stop: &dyn Fn() -> bool,
) -> Attempt {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::time::Duration;

    let mut backoff = Duration::from_millis(50);
    loop {
        if stop() {
            return Attempt::Stopped;
        }
        let result =
            catch_unwind(AssertUnwindSafe(|| extractor.extract(request))).unwrap_or_else(|_| {
                Err(ExtractError::new(
                    ExtractErrorKind::Internal,
                    "the extractor panicked on this row",
                ))
            });
        match result {
            Ok(data) => return Attempt::Finished(Ok(data)),
            Err(err) if err.kind.is_row_outcome() => return Attempt::Finished(Err(err.into())),
            Err(err) if err.kind == ExtractErrorKind::Overloaded => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(err) if err.kind == ExtractErrorKind::Unavailable => {
                return Attempt::EngineDown(err);
            }
            Err(_) => return Attempt::Stopped,
        }
    }
}
