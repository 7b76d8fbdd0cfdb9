//! Batch extraction: a CSV of documents in, one typed JSON record per row
//! out, resumable after any interruption.
//!
//! - [`input`]: streaming CSV reading (byte-order mark, quoted newlines,
//!   any delimiter); bad cells become error rows, a missing column fails
//!   up front.
//! - [`output`]: append-only JSONL or CSV output with a sync per group of
//!   rows; reopening cuts a torn last record and reads back the done rows.
//! - [`run`]: the concurrent, order-preserving batch loop.
//! - [`store`] (feature `store`): batch jobs persisted in SQLite for the
//!   HTTP API, resumed after a restart, run by [`jobs::JobRunner`].
//!
//! The engine is reached through the [`Extractor`] trait only, so all of
//! the above is tested with deterministic doubles; [`EngineExtractor`]
//! (feature `engine`) adapts the real engine.

pub mod done;
mod extract;
pub mod input;
pub mod output;
pub mod progress;
pub mod record;
pub mod run;
mod summary;

#[cfg(feature = "engine")]
mod engine;
#[cfg(feature = "store")]
pub mod jobs;
#[cfg(feature = "store")]
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use done::DoneSet;
#[cfg(feature = "engine")]
pub use engine::{EngineExtractor, convert as convert_engine_error};
pub use extract::{ExtractError, ExtractErrorKind, ExtractRequest, Extractor};
pub use input::{CsvOptions, CsvRows, InputError, InputRow};
pub use output::{OutputError, OutputFile, OutputFormat, Resume};
pub use progress::BatchProgress;
pub use record::{OutputRecord, RowError, RowErrorKind};
pub use run::{Batch, BatchError, Progress, RunObserver};
pub use summary::Summary;
