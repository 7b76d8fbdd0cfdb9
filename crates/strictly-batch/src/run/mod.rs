//! The batch loop: stream rows in, extract them concurrently, write them
//! out in input order.
//!
//! Three kinds of threads, connected by bounded channels so memory stays
//! flat however large the input:
//! - the caller's thread reads rows, skips those already done, and hands
//!   the rest to the workers (rows with an input error go straight to the
//!   writer: they need no extraction);
//! - `concurrency` workers call the extractor, so the engine always has
//!   that many requests to batch together;
//! - one writer puts results back into input order and appends them, one
//!   sync per group of ready rows.
//!
//! A window of permits bounds the rows between reader and writer: a slow
//! row holds back at most that many finished ones.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use serde_json::Value;

use crate::extract::{Attempt, ExtractError, ExtractRequest, Extractor, attempt};
use crate::input::{CsvRows, InputError};
use crate::output::{OutputError, OutputFile, Resume};
use crate::record::OutputRecord;
use crate::summary::Summary;

/// Why a batch run stopped before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The schema cannot be used; no row was run.
    #[error("the schema cannot be used: {0}")]
    Schema(ExtractError),
    /// The engine stopped; rows not yet written are run by the next run.
    #[error("the extraction engine stopped: {0}")]
    Engine(ExtractError),
}

/// Live counts, readable while a run goes on.
#[derive(Debug, Default)]
pub struct Counts {
    /// Rows written with data.
    pub done: AtomicU64,
    /// Rows written with an error.
    pub failed: AtomicU64,
    /// Rows skipped because an earlier run wrote them.
    pub skipped: AtomicU64,
    /// Input bytes consumed.
    pub bytes_read: AtomicU64,
}

/// A snapshot of [`Counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub failed: u64,
    pub skipped: u64,
    pub bytes_read: u64,
}

impl Counts {
    pub fn snapshot(&self) -> Progress {
        Progress {
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
        }
    }
}

/// Receives progress as rows are written (a progress bar, a log line).
pub trait RunObserver: Sync {
    fn update(&self, progress: &Progress);
}

impl RunObserver for () {
    fn update(&self, _: &Progress) {}
}

/// One batch run's settings.
pub struct Batch<'a, E: Extractor + ?Sized> {
    pub extractor: &'a E,
    pub schema: &'a Value,
    /// Replaces the engine's default instructions when present.
    pub instructions: Option<&'a str>,
    /// Extractions in flight at once.
    pub concurrency: usize,
    /// Set to stop: no new row starts; rows in flight are still written.
    pub cancel: &'a AtomicBool,
    pub observer: &'a dyn RunObserver,
}

/// A row on its way to a worker.
struct Work {
    seq: u64,
    row: u64,
    id: String,
    text: String,
}

/// A finished row, or `None` for a row that must not be written (the run
/// was cancelled or the engine stopped before it ran); `seq` keeps order.
type Finished = (u64, Option<OutputRecord>);

impl<E: Extractor + ?Sized> Batch<'_, E> {
    /// Runs every row of `rows` not in `resume` and appends the results to
    /// `output`.
    pub fn run<R: Read>(
        &self,
        rows: CsvRows<R>,
        output: &mut OutputFile,
        resume: &Resume,
    ) -> Result<Summary, BatchError> {
        self.extractor
            .check_schema(self.schema)
            .map_err(BatchError::Schema)?;
        let started = Instant::now();
        let counts = Counts::default();
        let concurrency = self.concurrency.max(1);
        // Stops the reader when the engine is gone or the writer failed.
        let halt = AtomicBool::new(false);
        let fatal: Mutex<Option<ExtractError>> = Mutex::new(None);

        let (work_tx, work_rx) = mpsc::sync_channel::<Work>(concurrency);
        let work_rx = Mutex::new(work_rx);
        let (done_tx, done_rx) = mpsc::channel::<Finished>();
        let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(concurrency * 4 + 16);
        let (read_result, write_result) = std::thread::scope(|scope| {
            for _ in 0..concurrency {
                let done_tx = done_tx.clone();
                let (work_rx, halt, fatal) = (&work_rx, &halt, &fatal);
                scope.spawn(move || {
                    loop {
                        // The guard is dropped before the work starts.
                        let next = work_rx
                            .lock()
                            .map_err(drop)
                            .and_then(|rx| rx.recv().map_err(drop));
                        let Ok(work) = next else { break };
                        let record = self.process(work.row, work.id, &work.text, halt, fatal);
                        if done_tx.send((work.seq, record)).is_err() {
                            break;
                        }
                    }
                });
            }

            let writer = {
                let (counts, halt) = (&counts, &halt);
                let output = &mut *output;
                scope.spawn(move || {
                    let result = write_in_order(done_rx, permit_rx, output, counts, self.observer);
                    if result.is_err() {
                        halt.store(true, Ordering::Relaxed);
                    }
                    result
                })
            };

            let read_result =
                self.feed(rows, resume, &counts, &halt, &work_tx, &done_tx, &permit_tx);
            if read_result.is_err() {
                halt.store(true, Ordering::Relaxed);
            }
            drop((work_tx, done_tx, permit_tx));
            let write_result = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (read_result, write_result)
        });
        write_result?;
        read_result?;
        if let Some(err) = fatal.into_inner().ok().flatten() {
            return Err(BatchError::Engine(err));
        }
        let progress = counts.snapshot();
        self.observer.update(&progress);
        Ok(Summary {
            done: progress.done,
            failed: progress.failed,
            skipped: progress.skipped,
            torn_bytes: resume.torn_bytes,
            elapsed: started.elapsed(),
            cancelled: self.cancel.load(Ordering::Relaxed),
        })
    }

    /// The reader: skips done rows, sends the others on.
    #[allow(clippy::too_many_arguments)]
    fn feed<R: Read>(
        &self,
        mut rows: CsvRows<R>,
        resume: &Resume,
        counts: &Counts,
        halt: &AtomicBool,
        work_tx: &mpsc::SyncSender<Work>,
        done_tx: &mpsc::Sender<Finished>,
        permit_tx: &mpsc::SyncSender<()>,
    ) -> Result<(), BatchError> {
        let mut seq = 0u64;
        while !self.cancel.load(Ordering::Relaxed) && !halt.load(Ordering::Relaxed) {
            let Some(row) = rows.next() else { break };
            let row = row?;
            counts
                .bytes_read
                .store(rows.bytes_read(), Ordering::Relaxed);
            if resume.done.contains(row.row) {
                resume.check_id(row.row, &row.id)?;
                let skipped = counts.skipped.fetch_add(1, Ordering::Relaxed) + 1;
                if skipped.is_multiple_of(1024) {
                    self.observer.update(&counts.snapshot());
                }
                continue;
            }
            if permit_tx.send(()).is_err() {
                break; // the writer stopped; its error is reported
            }
            let sent = match row.text {
                Err(err) => done_tx
                    .send((
                        seq,
                        Some(OutputRecord {
                            row: row.row,
                            id: row.id,
                            outcome: Err(err),
                        }),
                    ))
                    .is_ok(),
                Ok(text) => work_tx
                    .send(Work {
                        seq,
                        row: row.row,
                        id: row.id,
                        text,
                    })
                    .is_ok(),
            };
            if !sent {
                break;
            }
            seq += 1;
        }
        Ok(())
    }

    /// A worker's job: one row through [`attempt`].
    fn process(
        &self,
        row: u64,
        id: String,
        text: &str,
        halt: &AtomicBool,
        fatal: &Mutex<Option<ExtractError>>,
    ) -> Option<OutputRecord> {
        let request = ExtractRequest {
            schema: self.schema,
            document: text,
            instructions: self.instructions,
        };
        let stop = || self.cancel.load(Ordering::Relaxed) || halt.load(Ordering::Relaxed);
        match attempt(self.extractor, &request, &stop) {
            Attempt::Finished(outcome) => Some(OutputRecord { row, id, outcome }),
            Attempt::Stopped => None,
            Attempt::EngineDown(err) => {
                if let Ok(mut slot) = fatal.lock() {
                    slot.get_or_insert(err);
                }
                halt.store(true, Ordering::Relaxed);
                None
            }
        }
    }
}

/// The writer: reorders finished rows and appends each contiguous run of
/// them with one sync.
fn write_in_order(
    done_rx: mpsc::Receiver<Finished>,
    permit_rx: mpsc::Receiver<()>,
    output: &mut OutputFile,
    counts: &Counts,
    observer: &dyn RunObserver,
) -> Result<(), OutputError> {
    let mut waiting: BTreeMap<u64, Option<OutputRecord>> = BTreeMap::new();
    let mut next = 0u64;
    while let Ok((seq, record)) = done_rx.recv() {
        waiting.insert(seq, record);
        // Take whatever else is already finished, so it shares the sync.
        while let Ok((seq, record)) = done_rx.try_recv() {
            waiting.insert(seq, record);
        }
        while let Some(record) = waiting.remove(&next) {
            if let Some(record) = record {
                output.push(&record)?;
                let counter = if record.is_ok() {
                    &counts.done
                } else {
                    &counts.failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            next += 1;
            let _ = permit_rx.try_recv();
        }
        output.flush()?;
        observer.update(&counts.snapshot());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
