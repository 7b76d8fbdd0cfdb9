//! Runs persisted batch jobs in the background of `strictly serve`.
//!
//! One dispatcher thread takes queued jobs oldest first and runs each with
//! `concurrency` worker threads; every result is recorded in the store as
//! it arrives. Jobs interrupted by a restart are queued again at start-up
//! and continue with their pending rows only.
//!
//! Interactive requests keep priority: a batch job never has more than
//! `concurrency` requests in the engine (one job at a time), so the
//! engine's remaining slots and queue stay free for interactive traffic,
//! and a queue-full refusal makes batch rows back off and retry rather
//! than fail.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::extract::{Attempt, ExtractError, ExtractRequest, Extractor, attempt};
use crate::input::{InputError, InputRow};
use crate::store::{BatchStore, JobInfo, JobSpec, JobStatus, PendingRow, StoreError};

/// Tuning of the job runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Extractions in flight for the running job. Keep it below the
    /// engine's batch size so interactive requests always find a slot.
    pub concurrency: usize,
    /// Pending rows read from the store at a time.
    pub page: usize,
    /// Wait before retrying a job after the engine was unavailable.
    pub retry_delay: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            concurrency: 2,
            page: 64,
            retry_delay: Duration::from_secs(5),
        }
    }
}

/// Why a job could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The schema cannot be used (HTTP 400).
    #[error("invalid schema: {0}")]
    Schema(ExtractError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InputError> for SubmitError {
    fn from(err: InputError) -> Self {
        Self::Store(StoreError::Input(err))
    }
}

/// Wake-up reasons of the dispatcher.
#[derive(Debug, Default)]
struct Signal {
    wake: bool,
    shutdown: bool,
}

struct Inner {
    store: Arc<BatchStore>,
    extractor: Arc<dyn Extractor>,
    config: RunnerConfig,
    signal: Mutex<Signal>,
    cv: Condvar,
    /// Jobs cancelled while running; their workers stop taking rows.
    cancelled: Mutex<HashSet<String>>,
    shutdown: AtomicBool,
}

/// The background runner; dropping it stops the workers after the rows in
/// flight (their jobs resume at the next start).
pub struct JobRunner {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for JobRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRunner")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl JobRunner {
    /// Queues the jobs a previous process left running and starts the
    /// dispatcher thread.
    pub fn start(
        store: Arc<BatchStore>,
        extractor: Arc<dyn Extractor>,
        config: RunnerConfig,
    ) -> Result<Self, StoreError> {
        let requeued = store.requeue_interrupted()?;
        if requeued > 0 {
            tracing::info!(requeued, "resuming batch jobs interrupted by a restart");
        }
        let inner = Arc::new(Inner {
            store,
            extractor,
            config,
            signal: Mutex::new(Signal {
                wake: true,
                shutdown: false,
            }),
            cv: Condvar::new(),
            cancelled: Mutex::default(),
            shutdown: AtomicBool::new(false),
        });
        let thread_inner = inner.clone();
        let thread = std::thread::Builder::new()
            .name("strictly-batch-jobs".into())
            .spawn(move || thread_inner.dispatch())
            .map_err(|e| StoreError::Corrupt(format!("cannot start the job runner: {e}")))?;
        Ok(Self {
            inner,
            thread: Some(thread),
        })
    }

    pub fn store(&self) -> &Arc<BatchStore> {
        &self.inner.store
    }

    /// Checks the schema, stores the job with its rows and wakes the
    /// dispatcher. Blocking (SQLite writes): async callers use a blocking
    /// thread.
    pub fn submit(
        &self,
        spec: &JobSpec,
        rows: impl IntoIterator<Item = Result<InputRow, InputError>>,
    ) -> Result<JobInfo, SubmitError> {
        self.inner
            .extractor
            .check_schema(&spec.schema)
            .map_err(SubmitError::Schema)?;
        let info = self.inner.store.create_job(spec, rows)?;
        self.inner.wake();
        Ok(info)
    }

    /// Cancels a job: no new row starts; rows in flight finish and keep
    /// their results. A finished job is returned unchanged.
    pub fn cancel(&self, id: &str) -> Result<JobInfo, StoreError> {
        let info = self.inner.store.cancel(id)?;
        if info.status == JobStatus::Cancelled
            && let Ok(mut set) = self.inner.cancelled.lock()
        {
            set.insert(id.to_owned());
        }
        Ok(info)
    }

    /// Stops the runner and waits for the rows in flight.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        if let Ok(mut s) = self.inner.signal.lock() {
            s.shutdown = true;
        }
        self.inner.cv.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for JobRunner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn wake(&self) {
        if let Ok(mut s) = self.signal.lock() {
            s.wake = true;
        }
        self.cv.notify_all();
    }

    /// Waits for a wake-up (or the timeout); false on shutdown.
    fn wait(&self, timeout: Duration) -> bool {
        let Ok(guard) = self.signal.lock() else {
            return false;
        };
        let Ok((mut guard, _)) = self
            .cv
            .wait_timeout_while(guard, timeout, |s| !s.wake && !s.shutdown)
        else {
            return false;
        };
        guard.wake = false;
        !guard.shutdown
    }

    fn dispatch(&self) {
        loop {
            if self.shutdown.load(Ordering::SeqCst) {
                return;
            }
            let next = match self.store.next_queued() {
                Ok(next) => next,
                Err(err) => {
                    tracing::error!(%err, "cannot read the batch job queue");
                    None
                }
            };
            let Some(id) = next else {
                // The timeout is a safety net; submissions wake us at once.
                if !self.wait(Duration::from_secs(5)) {
                    return;
                }
                continue;
            };
            match self.run_job(&id) {
                Ok(JobEnd::EngineDown) => {
                    if !self.wait(self.config.retry_delay) {
                        return;
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(job = %id, %err, "batch job failed");
                    let _ = self.store.transition(
                        &id,
                        JobStatus::Running,
                        JobStatus::Failed,
                        Some(&err.to_string()),
                    );
                }
            }
        }
    }

    fn is_cancelled(&self, id: &str) -> bool {
        self.cancelled.lock().is_ok_and(|set| set.contains(id))
    }

    fn run_job(&self, id: &str) -> Result<JobEnd, StoreError> {
        if !self
            .store
            .transition(id, JobStatus::Queued, JobStatus::Running, None)?
        {
            return Ok(JobEnd::Skipped);
        }
        tracing::info!(job = %id, "batch job started");
        let spec = self.store.spec(id)?;
        let halt = AtomicBool::new(false);
        let engine_down: Mutex<Option<ExtractError>> = Mutex::new(None);
        let stop = || {
            halt.load(Ordering::Relaxed)
                || self.shutdown.load(Ordering::Relaxed)
                || self.is_cancelled(id)
        };
        let concurrency = self.config.concurrency.max(1);
        let (tx, rx) = mpsc::sync_channel::<PendingRow>(concurrency);
        let rx = Mutex::new(rx);
        let feed_result = std::thread::scope(|scope| {
            for _ in 0..concurrency {
                let (rx, spec, stop, halt, engine_down) = (&rx, &spec, &stop, &halt, &engine_down);
                scope.spawn(move || {
                    loop {
                        let next = rx.lock().map_err(drop).and_then(|r| r.recv().map_err(drop));
                        let Ok(row) = next else { break };
                        let request = ExtractRequest {
                            schema: &spec.schema,
                            document: &row.document,
                            instructions: spec.instructions.as_deref(),
                        };
                        match attempt(self.extractor.as_ref(), &request, stop) {
                            Attempt::Finished(outcome) => {
                                if let Err(err) = self.store.record(id, row.row, &outcome) {
                                    tracing::error!(job = %id, row = row.row, %err, "cannot record a result");
                                    halt.store(true, Ordering::Relaxed);
                                }
                            }
                            Attempt::Stopped => {}
                            Attempt::EngineDown(err) => {
                                if let Ok(mut slot) = engine_down.lock() {
                                    slot.get_or_insert(err);
                                }
                                halt.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                });
            }
            let mut after = 0;
            while !stop() {
                let page = self.store.pending_rows(id, after, self.config.page)?;
                let Some(last) = page.last() else { break };
                after = last.row;
                for row in page {
                    if stop() || tx.send(row).is_err() {
                        break;
                    }
                }
            }
            drop(tx);
            Ok::<(), StoreError>(())
        });
        if let Ok(mut set) = self.cancelled.lock() {
            set.remove(id);
        }
        feed_result?;
        if let Some(err) = engine_down.into_inner().ok().flatten() {
            tracing::warn!(job = %id, %err, "the engine is unavailable; the job waits");
            self.store
                .transition(id, JobStatus::Running, JobStatus::Queued, None)?;
            return Ok(JobEnd::EngineDown);
        }
        let info = self.store.complete_if_done(id)?;
        if info.status == JobStatus::Running {
            // Shutdown, or rows left by a transient failure: run them later.
            self.store
                .transition(id, JobStatus::Running, JobStatus::Queued, None)?;
        }
        tracing::info!(job = %id, status = info.status.as_str(), done = info.done, failed = info.failed, "batch job stopped");
        Ok(JobEnd::Ran)
    }
}

/// How a run of a job ended.
enum JobEnd {
    /// Not queued any more (cancelled meanwhile).
    Skipped,
    Ran,
    EngineDown,
}

#[cfg(test)]
mod tests;
