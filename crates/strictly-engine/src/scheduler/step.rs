//! The scheduler loop: the one place where the model runs.
//!
//! Each iteration takes new requests, gives free KV slots to waiting ones
//! (continuous batching: they join the batch that is already decoding),
//! drops requests nobody waits for, and runs one forward pass over a batch
//! built under a token budget. Decoding sequences come first, one or more
//! tokens each (the sampled token plus any forced ones); prompt chunks fill
//! the rest of the budget, so a long document is prefilled over several
//! steps while the other sequences keep streaming.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::admission::{Slots, WaitQueue};
use super::sequence::{Job, Sequence};
use super::{Ctx, StepStats};
use crate::error::EngineError;
use crate::model::{LanguageModel, ModelError};
use crate::prefix::PrefixCache;
use crate::request::Priority;

/// What a sequence feeds in a step.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// Prompt tokens `fed..end`.
    Prefill { end: usize },
    /// Its pending answer tokens.
    Decode,
}

/// Runs until every engine handle is gone and no request is left.
pub(crate) fn run<M: LanguageModel>(mut model: M, jobs: &Receiver<Job>, ctx: &Ctx) {
    let mut waiting: WaitQueue<Job> = WaitQueue::default();
    let mut running: Vec<Sequence<M::Cache>> = Vec::new();
    let mut prefixes = PrefixCache::new(ctx.config.prefix_cache_entries);
    let slots = Slots {
        max_batch: ctx.config.max_batch,
        interactive_slots: ctx.config.interactive_slots,
    };
    loop {
        if running.is_empty() && waiting.is_empty() {
            match jobs.recv() {
                Ok(job) => {
                    let priority = job.priority;
                    waiting.push(job, priority);
                }
                Err(_) => return,
            }
        }
        for job in jobs.try_iter() {
            let priority = job.priority;
            waiting.push(job, priority);
        }
        let now = Instant::now();
        drop_stale_jobs(&mut waiting, now, ctx);
        while running.len() < ctx.config.max_batch {
            let running_batch = running
                .iter()
                .filter(|s| s.priority() == Priority::Batch)
                .count();
            let Some((job, _)) = waiting.next(running_batch, slots) else {
                break;
            };
            // A panic here (a cache the model could not make) fails this
            // request only; the job is gone with the unwinding, so its
            // client sees the engine as unavailable for it.
            let admitted = panic::catch_unwind(AssertUnwindSafe(|| {
                Sequence::admit(job, &model, &mut prefixes, ctx.vocab_size)
            }));
            match admitted {
                Ok(Ok(seq)) => running.push(seq),
                Ok(Err(failed)) => {
                    let (job, err) = *failed;
                    job.fail(err.into());
                }
                Err(payload) => {
                    let msg = crate::panic_message(&*payload);
                    tracing::error!(panic = %msg, "admitting a request panicked; it fails");
                }
            }
        }
        retire_stale_sequences(&mut running, now, ctx);
        ctx.counters.waiting.store(waiting.len(), Ordering::Relaxed);
        ctx.counters.running.store(running.len(), Ordering::Relaxed);
        if running.is_empty() {
            continue;
        }
        let mut stats = step(&mut model, &mut running, &mut prefixes, ctx);
        stats.waiting = waiting.len();
        ctx.counters.running.store(running.len(), Ordering::Relaxed);
        ctx.observer.on_step(&stats);
    }
}

/// Fails queued requests that timed out, and forgets abandoned ones.
fn drop_stale_jobs(waiting: &mut WaitQueue<Job>, now: Instant, ctx: &Ctx) {
    let mut kept = WaitQueue::default();
    for (job, priority) in waiting.drain() {
        if job.abandoned() {
            job.fail(EngineError::Cancelled);
        } else if now >= job.deadline {
            job.fail(EngineError::Timeout(ctx.config.request_timeout));
        } else {
            kept.push(job, priority);
        }
    }
    *waiting = kept;
}

/// Frees the slots of sequences whose client left or whose time is up.
fn retire_stale_sequences<C>(running: &mut Vec<Sequence<C>>, now: Instant, ctx: &Ctx) {
    let mut i = 0;
    while i < running.len() {
        if running[i].abandoned() {
            tracing::debug!("request abandoned by its client; slot freed");
            running.swap_remove(i).fail(EngineError::Cancelled);
        } else if running[i].expired(now) {
            running
                .swap_remove(i)
                .fail(EngineError::Timeout(ctx.config.request_timeout));
        } else {
            i += 1;
        }
    }
}

/// Chooses what each sequence feeds under the token budget.
fn plan<C>(running: &[Sequence<C>], ctx: &Ctx) -> Vec<(usize, Feed)> {
    let mut budget = ctx.config.max_batch_tokens;
    let mut feeds = Vec::with_capacity(running.len());
    for (i, seq) in running.iter().enumerate() {
        if !seq.pending.is_empty() {
            feeds.push((i, Feed::Decode));
            budget = budget.saturating_sub(seq.pending.len());
        }
    }
    // Interactive prompts get the prefill budget before batch rows' prompts.
    let mut order: Vec<usize> = (0..running.len()).collect();
    order.sort_by_key(|&i| running[i].priority() == Priority::Batch);
    for i in order {
        let seq = &running[i];
        let prompt_len = seq.prompt().len();
        if seq.fed >= prompt_len || !seq.pending.is_empty() {
            continue;
        }
        if budget == 0 && !feeds.is_empty() {
            break;
        }
        let mut end = prompt_len
            .min(seq.fed + ctx.config.prefill_chunk.max(1))
            .min(seq.fed + budget.max(1));
        if seq.fed < seq.prefix_len() {
            // Stop at the shared prefix so its KV can be snapshotted.
            end = end.min(seq.prefix_len());
        }
        budget = budget.saturating_sub(end - seq.fed);
        feeds.push((i, Feed::Prefill { end }));
    }
    feeds.sort_unstable_by_key(|&(i, _)| i);
    feeds
}

/// One forward pass and everything after it. A panic anywhere in it (a
/// kernel's assert, the KV cache, the grammar) fails the requests fed in
/// this step with an internal error; the others keep their slots and the
/// engine keeps serving.
fn step<M: LanguageModel>(
    model: &mut M,
    running: &mut Vec<Sequence<M::Cache>>,
    prefixes: &mut PrefixCache<M::Cache>,
    ctx: &Ctx,
) -> StepStats {
    let feeds = plan(running, ctx);
    let mut stats = StepStats {
        sequences: feeds.len(),
        ..StepStats::default()
    };
    let stepped = panic::catch_unwind(AssertUnwindSafe(|| {
        forward_and_sample(model, running, &feeds, prefixes, ctx, &mut stats)
    }));
    let mut finished = match stepped {
        Ok(Ok(finished)) => finished,
        Ok(Err(err)) => {
            fail_fed(running, &feeds, &err);
            return stats;
        }
        Err(payload) => {
            let msg = crate::panic_message(&*payload);
            tracing::error!(panic = %msg, sequences = feeds.len(), "an engine step panicked; its requests fail");
            // Nothing was removed from `running` inside, so `feeds` still
            // indexes it (snapshots are stored whole or not at all).
            for &(i, _) in feeds.iter().rev() {
                running.swap_remove(i).fail(EngineError::Internal(format!(
                    "the engine step failed: {msg}"
                )));
            }
            return stats;
        }
    };
    // Highest index first so swap_remove leaves lower indices valid.
    finished.sort_unstable_by_key(|&(i, _)| std::cmp::Reverse(i));
    for (i, outcome) in finished {
        let seq = running.swap_remove(i);
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| seq.finish(outcome))) {
            let msg = crate::panic_message(&*payload);
            tracing::error!(panic = %msg, "finishing a request panicked");
        }
    }
    stats
}

/// Sequences that finished in a step: index in `running` and outcome.
type Finished = Vec<(usize, Result<crate::FinishReason, EngineError>)>;

/// The forward pass and the sampling after it; removes nothing from
/// `running` (see `step`).
fn forward_and_sample<M: LanguageModel>(
    model: &mut M,
    running: &mut [Sequence<M::Cache>],
    feeds: &[(usize, Feed)],
    prefixes: &mut PrefixCache<M::Cache>,
    ctx: &Ctx,
    stats: &mut StepStats,
) -> Result<Finished, ModelError> {
    let started = Instant::now();
    let result = {
        let mut items = Vec::with_capacity(feeds.len());
        let mut next = feeds.iter().peekable();
        for (i, seq) in running.iter_mut().enumerate() {
            let Some(&(_, feed)) = next.next_if(|(j, _)| *j == i) else {
                continue;
            };
            let prefill_end = match feed {
                Feed::Prefill { end } => {
                    stats.prefill_tokens += end - seq.fed;
                    Some(end)
                }
                Feed::Decode => {
                    stats.decode_tokens += seq.pending.len();
                    None
                }
            };
            items.push(seq.forward_item(prefill_end));
        }
        model.forward(&mut items)
    };
    stats.forward = started.elapsed();
    let logits = result?;
    if logits.len() != feeds.len() {
        return Err(ModelError::msg(format!(
            "{} logits rows for {} sequences",
            logits.len(),
            feeds.len()
        )));
    }
    let draft_room = draft_room(model, running, ctx);
    let mut finished = Vec::new();
    for (&(i, feed), logits) in feeds.iter().zip(logits) {
        let seq = &mut running[i];
        match feed {
            Feed::Prefill { end } => {
                seq.fed = end;
                snapshot_prefix(model, seq, prefixes);
            }
            Feed::Decode => seq.pending.clear(),
        }
        if let Some(logits) = logits {
            let before = seq.grammar_time();
            match seq.on_logits(&logits, draft_room, ctx) {
                Some(outcome) => finished.push((i, outcome)),
                None => {
                    // Draft tokens the model did not confirm leave the cache.
                    let refused = seq.take_unconfirmed();
                    if refused > 0 {
                        let len = model.cache_len(&seq.cache);
                        model.truncate_cache(&mut seq.cache, len - refused);
                    }
                }
            }
            stats.mask += seq.grammar_time() - before;
        }
    }
    Ok(finished)
}

/// Rows each sequence's next step may take, its real tokens and drafts
/// together. Drafts pay off when a step is bound by reading the weights:
/// several sequences decoding together already fill the rows, so the
/// draft budget is shared between them. A lone sequence also stays within
/// the rows the model computes exactly as one-token steps, so that drafts
/// never change its answer.
fn draft_room<M: LanguageModel>(model: &M, running: &[Sequence<M::Cache>], ctx: &Ctx) -> usize {
    let decoding = running
        .iter()
        .filter(|s| s.fed >= s.prompt().len())
        .count()
        .max(1);
    let share = ctx.config.max_draft_tokens / decoding;
    if share == 0 {
        return 0;
    }
    if decoding == 1 {
        (share + 1).min(model.exact_step_rows())
    } else {
        share + 1
    }
}

/// Fails every sequence of a failed forward pass (their caches are in an
/// unknown state).
fn fail_fed<C>(running: &mut Vec<Sequence<C>>, feeds: &[(usize, Feed)], err: &ModelError) {
    tracing::error!(%err, sequences = feeds.len(), "forward pass failed");
    for &(i, _) in feeds.iter().rev() {
        running
            .swap_remove(i)
            .fail(EngineError::Model(ModelError::msg(err.to_string())));
    }
}

/// Stores the KV of a shared prompt prefix the first time a sequence
/// reaches its end.
fn snapshot_prefix<M: LanguageModel>(
    model: &M,
    seq: &Sequence<M::Cache>,
    prefixes: &mut PrefixCache<M::Cache>,
) {
    let len = seq.prefix_len();
    if len == 0 || seq.fed != len || prefixes.contains(&seq.prompt()[..len]) {
        return;
    }
    match model.fork_cache(&seq.cache, len) {
        Ok(snapshot) => prefixes.insert(seq.prompt()[..len].to_vec(), snapshot),
        Err(err) => tracing::warn!(%err, "could not snapshot a shared prompt prefix"),
    }
}
