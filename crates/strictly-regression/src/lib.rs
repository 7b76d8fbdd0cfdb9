//! Schema regression testing for CI: `strictly test` and `strictly lint`.
//!
//! - [`accuracy`]: the share of expected fields an answer got right, for
//!   benchmarks and end-to-end tests.
//! - [`case`]: the on-disk layout of a case (document, schema or a
//!   reference to one, expected output, optional tolerances).
//! - [`diff`] and [`tolerance`]: field-level comparison by JSON Pointer,
//!   with per-field tolerances (numbers within an epsilon, strings up to
//!   case or whitespace, ignored fields).
//! - [`runner`]: runs cases through an [`strictly_batch::Extractor`],
//!   with `--update` to rewrite expectations after a reviewed change.
//! - [`junit`]: the JUnit XML report CI systems display.
//! - [`lint`]: every problem of a schema, from the grammar compiler and a
//!   walk over all subschemas, without loading the model.

pub mod accuracy;
pub mod case;
pub mod diff;
pub mod junit;
pub mod lint;
pub mod runner;
pub mod tolerance;

pub use diff::{Mismatch, diff};
pub use junit::to_junit;
pub use runner::{CaseOutcome, CaseResult, Report, RunError, RunOptions, run};
pub use tolerance::{Rule, Tolerances};
