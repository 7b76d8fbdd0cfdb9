//! Running regression cases and the report.
//!
//! Decoding is greedy, so the same model and schema give the same answer
//! on every run: any difference from `expected.json` is a real change in
//! the schema, the prompt or the engine, and is reported field by field.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use strictly_batch::{ExtractRequest, Extractor};

use crate::case::{self, Case};
use crate::diff::{Mismatch, diff};

/// How one case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseOutcome {
    Passed,
    /// The answer differs from `expected.json` in these fields.
    Failed(Vec<Mismatch>),
    /// `--update` wrote `expected.json` (`created`: there was none).
    Updated {
        created: bool,
    },
    /// The case could not be run: a broken case directory, or an
    /// extraction error (`kind` is its category).
    Error {
        kind: String,
        message: String,
    },
}

/// One case's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub name: String,
    pub outcome: CaseOutcome,
    pub elapsed: Duration,
}

/// All cases of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Name of the cases directory (the JUnit suite name).
    pub suite: String,
    pub cases: Vec<CaseResult>,
    pub elapsed: Duration,
}

impl Report {
    fn count(&self, f: impl Fn(&CaseOutcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }

    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, CaseOutcome::Passed))
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, CaseOutcome::Failed(_)))
    }

    pub fn errors(&self) -> usize {
        self.count(|o| matches!(o, CaseOutcome::Error { .. }))
    }

    pub fn updated(&self) -> usize {
        self.count(|o| matches!(o, CaseOutcome::Updated { .. }))
    }

    /// No failure and no error (updated cases count as success: they were
    /// asked for).
    pub fn success(&self) -> bool {
        self.failed() == 0 && self.errors() == 0
    }

    /// The text report: a line per case, the diff under each failure, and
    /// a closing count line.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for case in &self.cases {
            let secs = case.elapsed.as_secs_f64();
            let _ = match &case.outcome {
                CaseOutcome::Passed => writeln!(out, "PASS    {} ({secs:.2}s)", case.name),
                CaseOutcome::Updated { created: true } => {
                    writeln!(out, "CREATED {} ({secs:.2}s)", case.name)
                }
                CaseOutcome::Updated { created: false } => {
                    writeln!(out, "UPDATED {} ({secs:.2}s)", case.name)
                }
                CaseOutcome::Failed(mismatches) => {
                    let _ = writeln!(out, "FAIL    {} ({secs:.2}s)", case.name);
                    mismatches
                        .iter()
                        .try_for_each(|m| writeln!(out, "          {m}"))
                }
                CaseOutcome::Error { kind, message } => {
                    writeln!(out, "ERROR   {}: {kind}: {message}", case.name)
                }
            };
        }
        let _ = write!(
            out,
            "{} passed, {} failed, {} errors",
            self.passed(),
            self.failed(),
            self.errors()
        );
        if self.updated() > 0 {
            let _ = write!(out, ", {} updated", self.updated());
        }
        let _ = writeln!(out, " in {:.1}s", self.elapsed.as_secs_f64());
        out
    }
}

/// How to run the cases.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Rewrite `expected.json` of failing cases (and create missing ones)
    /// instead of failing.
    pub update: bool,
    /// Cases extracted at once (the engine batches them).
    pub concurrency: usize,
    /// Where `schema_ref` names are looked up; found by walking up from
    /// the cases directory when absent.
    pub schemas_dir: Option<PathBuf>,
    /// Only cases whose name contains this text.
    pub filter: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            update: false,
            concurrency: 1,
            schemas_dir: None,
            filter: None,
        }
    }
}

/// Why no case could be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read the cases directory {path:?}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no regression cases in {0:?} (a case is a directory with a document.txt)")]
    NoCases(PathBuf),
}

/// Runs every case under `dir`.
pub fn run(
    dir: &Path,
    extractor: &dyn Extractor,
    options: &RunOptions,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let mut dirs = case::discover(dir).map_err(|source| RunError::Dir {
        path: dir.to_owned(),
        source,
    })?;
    if let Some(filter) = &options.filter {
        dirs.retain(|d| case::case_name(d).contains(filter.as_str()));
    }
    if dirs.is_empty() {
        return Err(RunError::NoCases(dir.to_owned()));
    }
    let schemas_dir = options
        .schemas_dir
        .clone()
        .or_else(|| case::find_schemas_dir(dir));
    let results: Mutex<Vec<(usize, CaseResult)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..options.concurrency.clamp(1, dirs.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case_dir) = dirs.get(i) else { break };
                    let result =
                        run_case(case_dir, schemas_dir.as_deref(), extractor, options.update);
                    if let Ok(mut r) = results.lock() {
                        r.push((i, result));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    Ok(Report {
        suite: case::case_name(dir),
        cases: results.into_iter().map(|(_, r)| r).collect(),
        elapsed: started.elapsed(),
    })
}

/// Loads, extracts and compares one case (and updates it if asked).
pub fn run_case(
    dir: &Path,
    schemas_dir: Option<&Path>,
    extractor: &dyn Extractor,
    update: bool,
) -> CaseResult {
    let started = Instant::now();
    let name = case::case_name(dir);
    let outcome = match case::load(dir, schemas_dir) {
        Err(err) => CaseOutcome::Error {
            kind: err.kind().to_owned(),
            message: err.to_string(),
        },
        Ok(case) => check(&case, extractor, update),
    };
    CaseResult {
        name,
        outcome,
        elapsed: started.elapsed(),
    }
}

fn check(case: &Case, extractor: &dyn Extractor, update: bool) -> CaseOutcome {
    let request = ExtractRequest {
        schema: &case.schema,
        document: &case.document,
        instructions: case.instructions.as_deref(),
    };
    let got = match extractor.extract(&request) {
        Ok(got) => got,
        Err(err) => {
            return CaseOutcome::Error {
                kind: err.kind.as_str().to_owned(),
                message: err.message,
            };
        }
    };
    let mismatches = match &case.expected {
        Some(expected) => diff(expected, &got, &case.tolerances),
        None if update => Vec::new(),
        None => {
            return CaseOutcome::Error {
                kind: "no_expected".into(),
                message: format!(
                    "{:?} has no {}; run with --update to record the current answer",
                    case.dir,
                    case::EXPECTED
                ),
            };
        }
    };
    let needs_write = case.expected.is_none() || !mismatches.is_empty();
    match (update && needs_write, mismatches.is_empty()) {
        (true, _) => match case::write_expected(&case.dir, &got) {
            Ok(()) => CaseOutcome::Updated {
                created: case.expected.is_none(),
            },
            Err(err) => CaseOutcome::Error {
                kind: "io".into(),
                message: format!("cannot write {}: {err}", case::EXPECTED),
            },
        },
        (false, true) => CaseOutcome::Passed,
        (false, false) => CaseOutcome::Failed(mismatches),
    }
}

#[cfg(test)]
mod tests;
