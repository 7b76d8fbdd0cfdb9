//! One running sequence: its KV cache, its grammar state, and what happens
//! to it after each forward pass (mask, sample, commit, forced tokens,
//! steering, stop).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::{Ctx, Permit};
use crate::constraint::{Matcher, TokenMask};
use crate::detok::Utf8Stream;
use crate::draft::{CopySource, MAX_MATCH};
use crate::error::EngineError;
use crate::event::{AnswerToken, Completion, Event, FinishReason, Timings, TokenEvent, Usage};
use crate::model::{ForwardItem, LanguageModel, ModelError};
use crate::prefix::PrefixCache;
use crate::request::{CancelToken, Priority};
use crate::sampler::{Sampler, masked_probability};
use crate::schema_cache::Compiled;
use crate::steer;

mod drafts;

/// How often (in answer tokens) the shortest-completion estimate is
/// refreshed while the budget is within a few times of it.
const REFRESH_EVERY: usize = 16;

/// Answer positions reserved up front in a new KV cache.
const INITIAL_ANSWER_CAPACITY: usize = 256;

/// Largest grammar mask whose tokens are handed to the model as the only
/// logits to compute; larger masks (string contents) get the full row.
const ONLY_MAX: usize = 8192;

/// Document bytes looked at for one draft; more than the longest draft
/// needs, so the last drafted token is rarely cut short.
const DRAFT_BYTES: usize = 64;

/// A prepared request waiting for a KV slot.
pub(crate) struct Job {
    pub(crate) prompt: Vec<u32>,
    /// Prompt tokens shared with requests that have the same system message.
    pub(crate) prefix_len: usize,
    pub(crate) compiled: Option<Arc<Compiled>>,
    pub(crate) matcher: Option<Box<dyn Matcher>>,
    /// A valid answer that fits in `max_tokens`, found at preparation.
    pub(crate) plan: Option<Vec<u32>>,
    pub(crate) max_tokens: usize,
    /// The document, for draft tokens copied from it.
    pub(crate) source: Option<CopySource>,
    pub(crate) sampler: Sampler,
    pub(crate) cancel: CancelToken,
    pub(crate) priority: Priority,
    pub(crate) events: UnboundedSender<Event>,
    pub(crate) submitted: Instant,
    pub(crate) deadline: Instant,
    pub(crate) _permit: Permit,
}

impl Job {
    /// Whether nobody waits for this request any more.
    pub(crate) fn abandoned(&self) -> bool {
        self.cancel.is_cancelled() || self.events.is_closed()
    }

    /// Ends the request with `err` (sent if the client still listens).
    pub(crate) fn fail(self, err: EngineError) {
        let _ = self.events.send(Event::Error(err));
    }
}

/// A request holding a KV slot.
pub(crate) struct Sequence<C> {
    job: Job,
    pub(crate) cache: C,
    /// Prompt tokens already in the cache.
    pub(crate) fed: usize,
    /// Answer tokens committed but not yet in the cache, followed by the
    /// draft tokens to verify.
    pub(crate) pending: Vec<u32>,
    /// The draft tokens at the end of `pending` (not committed).
    draft: Vec<u32>,
    /// The tokens the next step's row may take, when few (see [`ONLY_MAX`]);
    /// empty for a full row.
    only: Vec<u32>,
    /// Draft tokens of the last step the model did not confirm: their
    /// positions are dropped from the cache.
    unconfirmed: usize,
    cached_prompt: usize,
    generated: usize,
    forced: usize,
    drafted: usize,
    accepted: usize,
    /// Answer length at which the steering estimate is next refreshed.
    next_refresh: usize,
    /// Length of the last known short completion (the steering estimate).
    shortest: usize,
    steered: bool,
    utf8: Utf8Stream,
    /// Every produced token: its place in the answer and its probability.
    tokens: Vec<AnswerToken>,
    mask: TokenMask,
    /// `mask` already holds the allowed tokens of the current state.
    mask_ready: bool,
    admitted: Instant,
    first_logits: Option<Instant>,
    grammar_time: Duration,
}

impl<C> Sequence<C> {
    /// Gives `job` a KV cache, restored from a shared-prefix snapshot when
    /// one matches.
    pub(crate) fn admit<M: LanguageModel<Cache = C>>(
        job: Job,
        model: &M,
        prefixes: &mut PrefixCache<C>,
        vocab_size: usize,
    ) -> Result<Self, Box<(Job, ModelError)>> {
        // Most answers are far shorter than `max_tokens`; caches grow on
        // demand, so reserving for the typical answer saves memory per slot.
        let capacity = job.prompt.len() + job.max_tokens.min(INITIAL_ANSWER_CAPACITY);
        let restored = match prefixes.get(&job.prompt[..job.prefix_len]) {
            Some(snapshot) if job.prefix_len > 0 => Some(model.fork_cache(snapshot, capacity)),
            _ => None,
        };
        let (cache, fed) = match restored {
            Some(Ok(cache)) => (Ok(cache), job.prefix_len),
            // A failed restore only costs a full prefill.
            Some(Err(_)) | None => (model.new_cache(capacity), 0),
        };
        let cache = match cache {
            Ok(c) => c,
            Err(e) => return Err(Box::new((job, e))),
        };
        let shortest = job.plan.as_ref().map_or(0, Vec::len);
        Ok(Self {
            cache,
            fed,
            pending: Vec::new(),
            draft: Vec::new(),
            only: Vec::new(),
            unconfirmed: 0,
            cached_prompt: fed,
            generated: 0,
            forced: 0,
            drafted: 0,
            accepted: 0,
            next_refresh: 0,
            shortest,
            steered: false,
            utf8: Utf8Stream::default(),
            tokens: Vec::new(),
            mask: TokenMask::new(vocab_size),
            mask_ready: false,
            admitted: Instant::now(),
            first_logits: None,
            grammar_time: Duration::ZERO,
            job,
        })
    }

    /// This sequence's part of a forward pass: the prompt up to
    /// `prefill_end`, or else its pending answer tokens.
    pub(crate) fn forward_item(&mut self, prefill_end: Option<usize>) -> ForwardItem<'_, C> {
        match prefill_end {
            Some(end) => ForwardItem {
                cache: &mut self.cache,
                tokens: &self.job.prompt[self.fed..end],
                logit_rows: usize::from(end == self.job.prompt.len()),
                only: None,
            },
            None => ForwardItem {
                cache: &mut self.cache,
                tokens: &self.pending,
                logit_rows: self.draft.len() + 1,
                only: (!self.only.is_empty()).then_some(self.only.as_slice()),
            },
        }
    }

    pub(crate) fn prompt(&self) -> &[u32] {
        &self.job.prompt
    }

    pub(crate) fn prefix_len(&self) -> usize {
        self.job.prefix_len
    }

    pub(crate) fn priority(&self) -> Priority {
        self.job.priority
    }

    pub(crate) fn abandoned(&self) -> bool {
        self.job.abandoned()
    }

    pub(crate) fn expired(&self, now: Instant) -> bool {
        now >= self.job.deadline
    }

    /// Handles the logits after the sequence's last fed tokens: one row for
    /// the last real token, then one per draft token. Returns the end of the
    /// request, or `None` if it continues.
    ///
    /// Each row is sampled as if it were the only one; a draft token is
    /// confirmed when what the step produced (the sampled token and the
    /// forced ones after it) is exactly what was drafted, and then the next
    /// row, computed after it, is used. The first difference ends the step.
    ///
    /// `step_rows` is how many tokens the next step may feed for this
    /// sequence, drafts included.
    pub(crate) fn on_logits(
        &mut self,
        logits: &[f32],
        step_rows: usize,
        ctx: &Ctx,
    ) -> Option<Result<FinishReason, EngineError>> {
        self.first_logits.get_or_insert_with(Instant::now);
        let started = Instant::now();
        let vocab = ctx.vocab_size;
        let draft = std::mem::take(&mut self.draft);
        let mut confirmed = 0;
        let outcome = loop {
            let Some(row) = logits.get(confirmed * vocab..(confirmed + 1) * vocab) else {
                break Some(Err(EngineError::Model(ModelError::msg(format!(
                    "{} logits for row {confirmed} of {vocab}",
                    logits.len()
                )))));
            };
            let outcome = if self.job.matcher.is_some() {
                self.constrained_step(row, ctx)
            } else {
                self.free_step(row, ctx)
            };
            // Produced tokens that were drafted are in the cache already.
            let same = self
                .pending
                .iter()
                .zip(&draft[confirmed..])
                .take_while(|(a, b)| a == b)
                .count();
            self.pending.drain(..same);
            confirmed += same;
            if outcome.is_some() || !self.pending.is_empty() {
                break outcome;
            }
            if same == 0 {
                break Some(Err(EngineError::InvalidOutput(
                    "a step produced no token".into(),
                )));
            }
        };
        self.drafted += draft.len();
        self.accepted += confirmed;
        self.unconfirmed = draft.len() - confirmed;
        self.only.clear();
        if outcome.is_none() {
            self.prepare_draft(step_rows, ctx);
            if self.draft.is_empty() {
                self.prepare_only(ctx);
            }
        }
        self.grammar_time += started.elapsed();
        outcome
    }

    /// Positions at the end of the cache that hold refused draft tokens;
    /// the caller drops them before the next step.
    pub(crate) fn take_unconfirmed(&mut self) -> usize {
        std::mem::take(&mut self.unconfirmed)
    }

    /// Grammar work done by this sequence so far.
    pub(crate) fn grammar_time(&self) -> Duration {
        self.grammar_time
    }

    fn free_step(
        &mut self,
        logits: &[f32],
        ctx: &Ctx,
    ) -> Option<Result<FinishReason, EngineError>> {
        let token = self.job.sampler.sample(logits, &ctx.free_mask)?;
        if ctx.stop_tokens.contains(&token) {
            return Some(Ok(FinishReason::Stop));
        }
        let prob = masked_probability(logits, &ctx.free_mask, token);
        self.accept(token, false, prob, ctx);
        (self.generated >= self.job.max_tokens).then_some(Ok(FinishReason::Length))
    }

    fn constrained_step(
        &mut self,
        logits: &[f32],
        ctx: &Ctx,
    ) -> Option<Result<FinishReason, EngineError>> {
        let remaining = self.job.max_tokens - self.generated;
        self.refresh_mask(ctx);
        if remaining <= self.shortest + ctx.config.steer_slack {
            return self.steered_step(logits, remaining, ctx);
        }
        if self.generated >= self.next_refresh
            && remaining <= 4 * (self.shortest + ctx.config.steer_slack)
        {
            self.next_refresh = self.generated + REFRESH_EVERY;
            // Keep the estimate honest while there is still room: the answer
            // may have opened structures that take long to close.
            self.job.plan = self.search(remaining, ctx);
            match &self.job.plan {
                Some(plan) => self.shortest = plan.len(),
                None => return self.steered_step(logits, remaining, ctx),
            }
        }
        let Some(token) = self.job.sampler.sample(logits, &self.mask) else {
            return Some(Err(dead_end()));
        };
        if ctx.stop_tokens.contains(&token) {
            return Some(Ok(FinishReason::Stop));
        }
        // A mask with a single token is a forced choice as well.
        let forced = self.mask.count() == 1;
        let prob = masked_probability(logits, &self.mask, token);
        if let Err(e) = self.commit(token) {
            return Some(Err(e));
        }
        self.job.plan = None;
        self.accept(token, forced, prob, ctx);
        self.after_commit(ctx)
    }

    /// A step close to the end of the budget: the sampled token is kept
    /// only if a valid answer still fits after it; otherwise the rest of the
    /// answer is the planned shortest completion.
    fn steered_step(
        &mut self,
        logits: &[f32],
        remaining: usize,
        ctx: &Ctx,
    ) -> Option<Result<FinishReason, EngineError>> {
        if self.job.plan.is_none() {
            self.job.plan = self.search(remaining, ctx);
        }
        let Some(plan) = self.job.plan.take() else {
            return Some(Err(EngineError::Unsatisfiable {
                max_tokens: self.job.max_tokens,
                shortest: None,
            }));
        };
        let Some(token) = self.job.sampler.sample(logits, &self.mask) else {
            return Some(Err(dead_end()));
        };
        if ctx.stop_tokens.contains(&token) {
            return Some(Ok(FinishReason::Stop));
        }
        let prob = masked_probability(logits, &self.mask, token);
        if let Err(e) = self.commit(token) {
            return Some(Err(e));
        }
        let next_plan = if plan.first() == Some(&token) {
            Some(plan[1..].to_vec())
        } else {
            self.search(remaining - 1, ctx)
        };
        match next_plan {
            Some(next) => {
                self.shortest = next.len();
                self.job.plan = Some(next);
                self.accept(token, false, prob, ctx);
                self.after_commit(ctx)
            }
            None => {
                // The model's choice would not leave room to finish: take the
                // plan instead and end the answer with it.
                self.rollback(1);
                self.steered = true;
                for token in plan {
                    if let Err(e) = self.commit(token) {
                        return Some(Err(e));
                    }
                    self.accept(token, true, 1.0, ctx);
                }
                Some(Ok(FinishReason::Length))
            }
        }
    }

    /// Appends the grammar's forced continuation and decides whether the
    /// answer is finished.
    fn after_commit(&mut self, ctx: &Ctx) -> Option<Result<FinishReason, EngineError>> {
        let forced: Vec<u32> = self
            .job
            .matcher
            .as_mut()
            .map(|m| m.forced_tokens())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !ctx.stop_tokens.contains(t))
            .collect();
        for token in forced {
            if self.generated >= self.job.max_tokens {
                break;
            }
            if let Err(e) = self.commit(token) {
                return Some(Err(e));
            }
            self.job.plan = match self.job.plan.take() {
                Some(plan) if plan.first() == Some(&token) => Some(plan[1..].to_vec()),
                _ => None,
            };
            self.accept(token, true, 1.0, ctx);
        }
        self.mask_ready = false;
        if self.accepting() {
            // A complete answer that allows nothing else needs no further
            // forward pass to be ended.
            self.refresh_mask(ctx);
            let only_stop = self.mask.iter().all(|t| ctx.stop_tokens.contains(&t));
            if only_stop || self.generated >= self.job.max_tokens {
                let reason = if self.steered || !only_stop {
                    FinishReason::Length
                } else {
                    FinishReason::Stop
                };
                return Some(Ok(reason));
            }
        } else if self.generated >= self.job.max_tokens {
            return Some(Err(EngineError::Unsatisfiable {
                max_tokens: self.job.max_tokens,
                shortest: None,
            }));
        }
        None
    }

    fn accepting(&mut self) -> bool {
        self.job.matcher.as_mut().is_some_and(|m| m.is_accepting())
    }

    /// Fills `mask` for the current grammar state, with the stop tokens
    /// allowed exactly when the answer is complete.
    fn refresh_mask(&mut self, ctx: &Ctx) {
        if self.mask_ready {
            return;
        }
        let Some(matcher) = self.job.matcher.as_mut() else {
            return;
        };
        matcher.fill_mask(&mut self.mask);
        let accepting = matcher.is_accepting();
        for &stop in &ctx.stop_tokens {
            if accepting {
                self.mask.allow(stop)
            } else {
                self.mask.forbid(stop)
            }
        }
        self.mask_ready = true;
    }

    fn search(&mut self, limit: usize, ctx: &Ctx) -> Option<Vec<u32>> {
        let matcher = self.job.matcher.as_mut()?;
        let mut scratch = TokenMask::new(ctx.vocab_size);
        steer::shortest_completion(
            matcher.as_mut(),
            &ctx.closers,
            &ctx.stop_tokens,
            &mut scratch,
            limit,
            ctx.config.steer_search_budget,
        )
    }

    fn commit(&mut self, token: u32) -> Result<(), EngineError> {
        self.mask_ready = false;
        match self.job.matcher.as_mut() {
            Some(m) => m
                .commit(token)
                .map_err(|e| EngineError::InvalidOutput(format!("grammar refused a token: {e}"))),
            None => Ok(()),
        }
    }

    fn rollback(&mut self, n: usize) {
        self.mask_ready = false;
        if let Some(m) = self.job.matcher.as_mut() {
            m.rollback(n);
        }
    }

    /// Records an answer token and streams its text.
    /// Appends a produced token; `prob` is its probability under the mask
    /// (`1.0` when forced).
    fn accept(&mut self, token: u32, forced: bool, prob: f32, ctx: &Ctx) {
        self.pending.push(token);
        self.generated += 1;
        self.forced += usize::from(forced);
        let bytes = ctx.codec.token_bytes(token);
        let start = self.tokens.last().map_or(0, |t| t.end);
        self.tokens.push(AnswerToken {
            start,
            end: start + bytes.len(),
            prob: if forced { 1.0 } else { prob },
            forced,
        });
        let text = self.utf8.push(bytes);
        let _ = self.job.events.send(Event::Token(TokenEvent {
            id: token,
            text,
            forced,
        }));
    }

    /// Ends the request: validates a constrained answer and sends the final
    /// event. Consumes the sequence, which frees its KV slot.
    pub(crate) fn finish(self, outcome: Result<FinishReason, EngineError>) {
        let now = Instant::now();
        let first = self.first_logits.unwrap_or(now);
        let timings = Timings {
            queue_ms: ms(self.admitted - self.job.submitted),
            prefill_ms: ms(first - self.admitted),
            decode_ms: ms(now - first),
            mask_ms: ms(self.grammar_time),
            total_ms: ms(now - self.job.submitted),
        };
        let usage = Usage {
            prompt_tokens: self.job.prompt.len(),
            completion_tokens: self.generated,
            forced_tokens: self.forced,
            cached_prompt_tokens: self.cached_prompt,
            draft_tokens: self.drafted,
            accepted_draft_tokens: self.accepted,
        };
        let text = self.utf8.finish();
        let event = outcome.and_then(|finish_reason| {
            let json = match &self.job.compiled {
                Some(c) => c.validator.check(&text)?,
                None => None,
            };
            Ok(Completion {
                text,
                tokens: self.tokens,
                json,
                finish_reason,
                usage,
                timings,
            })
        });
        let event = match event {
            Ok(done) => Event::Done(done),
            Err(err) => {
                if matches!(err, EngineError::InvalidOutput(_)) {
                    tracing::error!(%err, "an answer failed validation");
                }
                Event::Error(err)
            }
        };
        let _ = self.job.events.send(event);
    }

    /// Ends the request with an error, without validation.
    pub(crate) fn fail(self, err: EngineError) {
        self.job.fail(err);
    }
}

fn dead_end() -> EngineError {
    EngineError::InvalidOutput("the grammar allows no token in an incomplete answer".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
