//! Engine limits. Every limit has a default that suits the default 0.5B model
//! on a small CPU machine; the server exposes them as configuration.

use std::time::Duration;

/// Limits and tuning knobs of the scheduler.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Sequences decoded together (one KV cache slot each). More slots raise
    /// throughput until the machine is compute bound, at the cost of memory.
    pub max_batch: usize,
    /// Requests allowed to wait for a slot; beyond this, submissions are
    /// refused with [`crate::EngineError::QueueFull`] (HTTP 429) instead of
    /// piling up latency nobody will wait for.
    pub max_queue: usize,
    /// Slots that batch rows ([`crate::Priority::Batch`]) never take, so an
    /// interactive request arriving while a batch job runs starts at once
    /// instead of waiting for a row to finish. Capped at `max_batch - 1` so
    /// batches always progress; 0 in processes that only run batches.
    pub interactive_slots: usize,
    /// Tokens fed to the model in one step, prefill and decode together.
    /// Bounds step latency so running sequences keep streaming while a long
    /// prompt is being prefilled.
    pub max_batch_tokens: usize,
    /// Largest prefill chunk of one sequence in one step.
    pub prefill_chunk: usize,
    /// Completion length used when a request does not say.
    pub default_max_tokens: usize,
    /// Prompt length limit (document plus instructions), below the context
    /// length so a too-long document is refused early with its token count.
    pub max_prompt_tokens: usize,
    /// How long a request may take, queueing included, before it fails with
    /// [`crate::EngineError::Timeout`].
    pub request_timeout: Duration,
    /// Compiled constraints kept in memory, keyed by the canonical schema.
    pub schema_cache_entries: usize,
    /// KV snapshots of shared prompt prefixes (system message with the same
    /// instructions and schema) kept for reuse.
    pub prefix_cache_entries: usize,
    /// Remaining-budget window, in tokens above the shortest valid completion,
    /// in which every step checks that the answer can still be finished.
    pub steer_slack: usize,
    /// Work budget of one shortest-completion search, in matcher commits.
    pub steer_search_budget: usize,
    /// Most draft tokens copied from the document and verified in one
    /// forward pass (0 turns drafting off). Each costs a row of the step
    /// whether the model confirms it or not.
    pub max_draft_tokens: usize,
    /// Wall time one schema's compilation may take before the request is
    /// refused as too complex (the grammar compiler's own budget).
    pub compile_budget: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_batch: 8,
            max_queue: 64,
            interactive_slots: 2,
            max_batch_tokens: 512,
            prefill_chunk: 256,
            default_max_tokens: 1024,
            max_prompt_tokens: 30_000,
            request_timeout: Duration::from_secs(300),
            schema_cache_entries: 64,
            prefix_cache_entries: 8,
            steer_slack: 24,
            steer_search_budget: 4096,
            max_draft_tokens: 4,
            compile_budget: Duration::from_secs(2),
        }
    }
}
