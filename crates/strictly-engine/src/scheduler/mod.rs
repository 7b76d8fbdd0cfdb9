//! The engine handle and request preparation.
//!
//! [`Engine::submit`] does everything that needs no model on the caller's
//! thread (constraint compilation, prompt rendering and tokenization, length
//! and satisfiability checks), so the scheduler thread spends its time on
//! forward passes only. Admission is a counter checked before any work: when
//! `max_batch + max_queue` requests are in flight the request is refused at
//! once with [`EngineError::QueueFull`] rather than queued behind work that
//! would make it time out anyway.

mod admission;
mod sequence;
mod step;
mod supervise;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::mpsc as events;

use crate::config::EngineConfig;
use crate::constraint::{ConstraintCompiler, Matcher, TokenMask};
use crate::draft::CopySource;
use crate::error::EngineError;
use crate::event::EventStream;
use crate::model::{LanguageModel, TextCodec};
use crate::request::{Constraint, GenerateRequest, Priority, Role};
use crate::sampler::Sampler;
use crate::schema_cache::{Compiled, SchemaCache, on_compile_stack};
use crate::steer::{self, CloserTable};

pub(crate) use sequence::Job;
pub use supervise::Reload;

/// Figures of one scheduler step, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepStats {
    /// Sequences fed in this step.
    pub sequences: usize,
    pub prefill_tokens: usize,
    /// Answer tokens fed (sampled and forced).
    pub decode_tokens: usize,
    /// Time in the model's forward pass.
    pub forward: Duration,
    /// Time in the grammar (masks, commits, steering searches) after it.
    pub mask: Duration,
    /// Requests waiting for a KV slot after this step.
    pub waiting: usize,
}

/// Receives scheduler figures; the server turns them into metrics.
pub trait EngineObserver: Send + Sync + 'static {
    fn on_step(&self, stats: &StepStats);
}

struct NoObserver;

impl EngineObserver for NoObserver {
    fn on_step(&self, _: &StepStats) {}
}

/// Live request counts, shared by the handle and the scheduler thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
    running: AtomicUsize,
    /// The scheduler loop is serving (false while it restarts).
    alive: AtomicBool,
    /// Times the scheduler loop died and was restarted.
    restarts: AtomicUsize,
}

/// Clears [`Counters::alive`] however the scheduler thread ends.
struct AliveGuard(Arc<Counters>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
    }
}

/// One admitted request; dropping it (request finished or refused) frees
/// its place in the admission count.
#[derive(Debug)]
pub(crate) struct Permit(Arc<Counters>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the scheduler thread and request preparation both need.
pub(crate) struct Ctx {
    pub(crate) config: EngineConfig,
    pub(crate) codec: Arc<dyn TextCodec>,
    pub(crate) closers: CloserTable,
    /// Mask of unconstrained generation: all text tokens and the stop tokens.
    pub(crate) free_mask: TokenMask,
    pub(crate) stop_tokens: Vec<u32>,
    pub(crate) vocab_size: usize,
    pub(crate) counters: Arc<Counters>,
    pub(crate) observer: Arc<dyn EngineObserver>,
}

/// A handle to a running engine; cheap to clone. The scheduler thread stops
/// when the last handle is dropped and running requests have finished.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

struct Shared {
    ctx: Arc<Ctx>,
    schemas: SchemaCache,
    context_length: usize,
    jobs: mpsc::Sender<Job>,
}

/// Assembles an engine; see [`Engine::builder`].
pub struct EngineBuilder<M> {
    model: M,
    codec: Arc<dyn TextCodec>,
    compiler: Arc<dyn ConstraintCompiler>,
    config: EngineConfig,
    observer: Arc<dyn EngineObserver>,
    reload: Option<Reload<M>>,
}

impl<M: LanguageModel> EngineBuilder<M> {
    /// How to build a fresh model if the scheduler loop dies: the engine
    /// then restarts itself instead of refusing every request.
    pub fn reload(
        mut self,
        reload: impl FnMut() -> Result<M, crate::ModelError> + Send + 'static,
    ) -> Self {
        self.reload = Some(Box::new(reload));
        self
    }

    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    pub fn observer(mut self, observer: Arc<dyn EngineObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Starts the scheduler thread, which takes ownership of the model.
    pub fn start(self) -> Engine {
        let vocab_size = self.model.vocab_size();
        let stop_tokens = self.codec.stop_tokens().to_vec();
        let mut free_mask = TokenMask::new(vocab_size);
        for id in 0..vocab_size as u32 {
            if !self.codec.is_special(id) && !self.codec.token_bytes(id).is_empty() {
                free_mask.allow(id);
            }
        }
        stop_tokens.iter().for_each(|&id| free_mask.allow(id));
        let ctx = Arc::new(Ctx {
            closers: CloserTable::new(self.codec.as_ref()),
            codec: self.codec,
            free_mask,
            stop_tokens,
            vocab_size,
            counters: Arc::default(),
            observer: self.observer,
            config: self.config,
        });
        let context_length = self.model.context_length();
        let (jobs, rx) = mpsc::channel();
        let thread_ctx = ctx.clone();
        let model = self.model;
        let reload = self.reload;
        ctx.counters.alive.store(true, Ordering::Release);
        let guard = AliveGuard(ctx.counters.clone());
        // A plain thread, not an async task: forward passes are long blocking
        // computations that would stall an async runtime's workers.
        let spawned = std::thread::Builder::new()
            .name("strictly-scheduler".into())
            .stack_size(16 << 20)
            .spawn(move || {
                let _guard = guard;
                supervise::supervise(model, reload, rx, &thread_ctx)
            });
        if let Err(err) = spawned {
            // Without a scheduler every submission fails with `Unavailable`
            // because the job channel is closed.
            tracing::error!(%err, "could not start the scheduler thread");
        }
        Engine {
            shared: Arc::new(Shared {
                schemas: SchemaCache::new(self.compiler, ctx.config.schema_cache_entries),
                ctx,
                context_length,
                jobs,
            }),
        }
    }
}

impl Engine {
    /// Starts building an engine over a model, its tokenizer and a grammar
    /// compiler.
    pub fn builder<M: LanguageModel>(
        model: M,
        codec: Arc<dyn TextCodec>,
        compiler: Arc<dyn ConstraintCompiler>,
    ) -> EngineBuilder<M> {
        EngineBuilder {
            model,
            codec,
            compiler,
            config: EngineConfig::default(),
            observer: Arc::new(NoObserver),
            reload: None,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.ctx.config
    }

    /// Positions of the model's context (prompt and answer).
    pub fn context_length(&self) -> usize {
        self.shared.context_length
    }

    /// Whether the scheduler is serving: `false` while it restarts after a
    /// panic, and for good once it has stopped (or never started).
    pub fn is_running(&self) -> bool {
        self.shared.ctx.counters.alive.load(Ordering::Acquire)
    }

    /// Times the scheduler loop died and was restarted with a fresh model.
    pub fn restarts(&self) -> usize {
        self.shared.ctx.counters.restarts.load(Ordering::Relaxed)
    }

    /// Requests waiting for a KV slot.
    pub fn waiting(&self) -> usize {
        self.shared.ctx.counters.waiting.load(Ordering::Relaxed)
    }

    /// Sequences in the running batch.
    pub fn running(&self) -> usize {
        self.shared.ctx.counters.running.load(Ordering::Relaxed)
    }

    /// Token count of `text` (without chat formatting).
    pub fn count_tokens(&self, text: &str) -> Result<usize, EngineError> {
        Ok(self.shared.ctx.codec.encode(text)?.len())
    }

    /// Checks that `schema` compiles (and caches it), without generating.
    pub fn check_schema(&self, schema: &serde_json::Value) -> Result<(), EngineError> {
        on_compile_stack(|| self.shared.schemas.schema(schema).map(drop))
    }

    /// Prepares a request and queues it. Blocks for the preparation
    /// (milliseconds; longer for a schema seen for the first time), so async
    /// callers run it on a blocking thread. The preparation runs on a thread
    /// with a large stack (see [`on_compile_stack`]).
    pub fn submit(&self, request: GenerateRequest) -> Result<EventStream, EngineError> {
        on_compile_stack(|| self.prepare(request))
    }

    fn prepare(&self, request: GenerateRequest) -> Result<EventStream, EngineError> {
        let submitted = Instant::now();
        if !self.is_running() {
            return Err(EngineError::Unavailable);
        }
        let permit = self.admit(request.priority)?;
        let ctx = &self.shared.ctx;
        check_sampling(&request)?;
        let compiled: Option<Arc<Compiled>> = match &request.constraint {
            Constraint::None => None,
            Constraint::JsonObject => Some(self.shared.schemas.json_object()?),
            Constraint::JsonSchema(schema) => Some(self.shared.schemas.schema(schema)?),
            Constraint::Text(format) => Some(self.shared.schemas.text(format)?),
        };
        let prompt = if request.raw {
            let text: String = request
                .messages
                .iter()
                .map(|m| m.content.as_str())
                .collect();
            ctx.codec.encode_template(&text)?
        } else {
            ctx.codec.encode_chat(&request.messages, true)?
        };
        if prompt.is_empty() {
            return Err(EngineError::InvalidRequest("the prompt is empty".into()));
        }
        let context = self.shared.context_length;
        let max_tokens = match request.max_tokens {
            Some(0) => {
                return Err(EngineError::InvalidRequest(
                    "max_tokens must be at least 1".into(),
                ));
            }
            Some(n) if n >= context => {
                return Err(EngineError::InvalidRequest(format!(
                    "max_tokens {n} leaves no room for the prompt in the model's context of {context} tokens"
                )));
            }
            Some(n) => n,
            None => ctx
                .config
                .default_max_tokens
                .min(context.saturating_sub(prompt.len()))
                .max(1),
        };
        let max_prompt_tokens = ctx
            .config
            .max_prompt_tokens
            .min(context.saturating_sub(max_tokens));
        if prompt.len() > max_prompt_tokens {
            return Err(EngineError::PromptTooLong {
                prompt_tokens: prompt.len(),
                max_prompt_tokens,
                context_tokens: context,
                max_tokens,
            });
        }
        let prefix_len = self.shared_prefix_len(&request, &prompt)?;
        let (matcher, plan) = match &compiled {
            Some(c) => {
                let mut matcher = c.grammar.matcher();
                let plan = self.plan_from_start(matcher.as_mut(), max_tokens)?;
                (Some(matcher), Some(plan))
            }
            None => (None, None),
        };
        let (tx, rx) = events::unbounded_channel();
        let prompt_tokens = prompt.len();
        let job = Job {
            prompt,
            prefix_len,
            compiled,
            matcher,
            plan,
            max_tokens,
            source: copy_source(&request, ctx.config.max_draft_tokens),
            sampler: Sampler::new(&request.sampling),
            cancel: request.cancel,
            priority: request.priority,
            events: tx,
            submitted,
            deadline: submitted + ctx.config.request_timeout,
            _permit: permit,
        };
        self.shared
            .jobs
            .send(job)
            .map_err(|_| EngineError::Unavailable)?;
        Ok(EventStream::new(rx, prompt_tokens))
    }

    /// Counts the request in, or refuses it when the queue is full. Batch
    /// rows may fill only half of the queue, so a running batch job never
    /// makes interactive requests get 429.
    fn admit(&self, priority: Priority) -> Result<Permit, EngineError> {
        let ctx = &self.shared.ctx;
        let queue = match priority {
            Priority::Interactive => ctx.config.max_queue,
            Priority::Batch => ctx.config.max_queue / 2,
        };
        let limit = ctx.config.max_batch + queue;
        let before = ctx.counters.in_flight.fetch_add(1, Ordering::AcqRel);
        let permit = Permit(ctx.counters.clone());
        if before >= limit {
            let waiting = before.saturating_sub(ctx.config.max_batch);
            // A rough wait: one "round" of the batch per batch-full of waiters.
            let rounds = waiting / ctx.config.max_batch.max(1) + 1;
            return Err(EngineError::QueueFull {
                waiting,
                retry_after: Duration::from_secs(rounds as u64),
            });
        }
        Ok(permit)
    }

    /// Prompt tokens shared with other requests that have the same leading
    /// messages, found by tokenizing those messages alone. At least one
    /// token is left to prefill, since the first answer token needs logits.
    fn shared_prefix_len(
        &self,
        request: &GenerateRequest,
        prompt: &[u32],
    ) -> Result<usize, EngineError> {
        let n = request.shared_prefix_messages;
        if request.raw
            || n == 0
            || n >= request.messages.len()
            || self.shared.ctx.config.prefix_cache_entries == 0
        {
            return Ok(0);
        }
        let codec = &self.shared.ctx.codec;
        let prefix = codec.encode_chat(&request.messages[..n], false)?;
        let common = prefix
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        Ok(common.min(prompt.len() - 1))
    }

    /// A short valid answer from the grammar's start within `max_tokens`, or
    /// the error saying it cannot fit.
    fn plan_from_start(
        &self,
        matcher: &mut dyn Matcher,
        max_tokens: usize,
    ) -> Result<Vec<u32>, EngineError> {
        let ctx = &self.shared.ctx;
        let mut mask = TokenMask::new(ctx.vocab_size);
        let budget = ctx.config.steer_search_budget;
        let search = |m: &mut dyn Matcher, mask: &mut TokenMask, limit| {
            steer::shortest_completion(m, &ctx.closers, &ctx.stop_tokens, mask, limit, budget)
        };
        if let Some(plan) = search(matcher, &mut mask, max_tokens) {
            return Ok(plan);
        }
        let shortest = search(matcher, &mut mask, budget).map(|p| p.len());
        Err(EngineError::Unsatisfiable {
            max_tokens,
            shortest,
        })
    }
}

fn check_sampling(request: &GenerateRequest) -> Result<(), EngineError> {
    let s = &request.sampling;
    if !(0.0..=2.0).contains(&s.temperature) {
        return Err(EngineError::InvalidRequest(format!(
            "temperature must be in [0, 2], got {}",
            s.temperature
        )));
    }
    if !(s.top_p > 0.0 && s.top_p <= 1.0) {
        return Err(EngineError::InvalidRequest(format!(
            "top_p must be in (0, 1], got {}",
            s.top_p
        )));
    }
    if request.messages.is_empty() {
        return Err(EngineError::InvalidRequest(
            "at least one message is needed".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod isolation_tests;
#[cfg(test)]
mod tests;

/// The text draft tokens are copied from: what the user sent (the document),
/// not the instructions and schema around it.
fn copy_source(request: &GenerateRequest, max_draft_tokens: usize) -> Option<CopySource> {
    if max_draft_tokens == 0 || request.raw {
        return None;
    }
    let text: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.content.as_str())
        .collect();
    CopySource::new(&text.join("\n"))
}
