//! The scheduler thread's outermost loop: a panic that escapes the per-step
//! isolation (admission, the loop's own bookkeeping, an observer) ends only
//! the loop, never the engine. The requests it held fail as unavailable
//! (callers retry them: batch rows do), the engine reports itself not ready
//! while a fresh model is loaded, then serves again.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use super::Ctx;
use super::sequence::Job;
use super::step;
use crate::error::EngineError;
use crate::model::{LanguageModel, ModelError};

/// Builds a fresh model after the scheduler loop died, so that no state a
/// panic may have left half-updated (KV caches, kernel scratch) is reused.
pub type Reload<M> = Box<dyn FnMut() -> Result<M, ModelError> + Send>;

/// First wait after a failed reload; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs the scheduler loop until every handle is gone, restarting it with a
/// reloaded model after a panic. Without `reload` a panic ends the thread
/// (and `Engine::is_running` turns false for good).
pub(crate) fn supervise<M: LanguageModel>(
    mut model: M,
    mut reload: Option<Reload<M>>,
    jobs: Receiver<Job>,
    ctx: &Ctx,
) {
    loop {
        let ran = panic::catch_unwind(AssertUnwindSafe(|| step::run(model, &jobs, ctx)));
        let Err(payload) = ran else {
            return; // every handle is gone
        };
        ctx.counters.alive.store(false, Ordering::Release);
        ctx.counters.restarts.fetch_add(1, Ordering::Relaxed);
        let msg = crate::panic_message(&*payload);
        tracing::error!(panic = %msg, "the scheduler loop panicked; its requests fail as unavailable");
        let Some(reload) = reload.as_mut() else {
            return;
        };
        match reload_until_done(reload, &jobs) {
            Some(fresh) => model = fresh,
            None => return,
        }
        tracing::info!("the engine restarted with a reloaded model");
        ctx.counters.alive.store(true, Ordering::Release);
    }
}

/// Calls `reload` until it gives a model, backing off between failures;
/// queued jobs fail as unavailable meanwhile. `None` when every handle is
/// gone.
fn reload_until_done<M>(reload: &mut Reload<M>, jobs: &Receiver<Job>) -> Option<M> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match panic::catch_unwind(AssertUnwindSafe(&mut *reload)) {
            Ok(Ok(model)) => return Some(model),
            Ok(Err(err)) => tracing::error!(%err, "reloading the model failed; retrying"),
            Err(payload) => {
                let msg = crate::panic_message(&*payload);
                tracing::error!(panic = %msg, "reloading the model panicked; retrying");
            }
        }
        // Wait out the backoff while refusing what arrives.
        let until = std::time::Instant::now() + backoff;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match jobs.recv_timeout(left) {
                Ok(job) => job.fail(EngineError::Unavailable),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
