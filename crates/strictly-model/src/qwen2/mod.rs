//! Qwen2 decoder in Burn, one definition for every weight format.
//!
//! Field names mirror the checkpoint's tensor names (`embed_tokens`,
//! `layers.N.self_attn.q_proj`, …) so that binding weights needs no renaming
//! beyond the GGUF map. The model is immutable during inference: per-sequence
//! state lives in [`KvCache`], which callers pass in as `&mut`.
//!
//! One entry point, [`Qwen2::forward`], runs any mix of sequences, each with
//! any number of new tokens: prefill is one sequence with many tokens, batched
//! decode is many sequences with one token each.

mod attention;
mod host_attention;
mod layer;
mod mlp;
mod rope;
mod vocab;

use std::ops::Range;

use burn::module::Module;
use burn::nn::RmsNorm;
use burn::tensor::{Device, Tensor};

pub use attention::Attention;
pub use layer::DecoderLayer;
pub use mlp::Mlp;
pub use vocab::{VocabMatrix, VocabStore};

use crate::config::Qwen2Config;
use crate::host::{ReadbackError, to_f32_vec};
use crate::kernels::KernelError;
use crate::kv_cache::{KvCache, KvCacheError};
use crate::linear::Linear;
use rope::Rope;

/// Errors from a forward step.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// A step needs at least one sequence with at least one token.
    #[error("empty input: every sequence in a step needs at least one token")]
    EmptyInput,
    /// The number of token lists and caches differ.
    #[error("{tokens} token lists but {caches} caches")]
    BatchMismatch {
        /// Token lists given.
        tokens: usize,
        /// Caches given.
        caches: usize,
    },
    /// The number of token lists and logit row counts differ.
    #[error("{tokens} token lists but {tails} logit row counts")]
    TailsMismatch {
        /// Token lists given.
        tokens: usize,
        /// Row counts given.
        tails: usize,
    },
    /// A token id is outside the model's vocabulary.
    #[error("token id {id} is outside the vocabulary of {vocab}")]
    TokenOutOfRange {
        /// The id.
        id: u32,
        /// Vocabulary size.
        vocab: usize,
    },
    /// The cache cannot hold the step.
    #[error(transparent)]
    Cache(#[from] KvCacheError),
    /// A quantized weight could not be read.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The logits could not be read back from the device.
    #[error(transparent)]
    Readback(#[from] ReadbackError),
}

/// Which positions get logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogitRows {
    /// Only the last new token of each sequence: `[sequences, vocab]`.
    /// The LM head is the most expensive matrix, so prefill asks for this.
    Last,
    /// Every new token, sequences concatenated: `[total tokens, vocab]`.
    All,
}

/// Which logits one sequence needs from [`Qwen2::forward_host`].
#[derive(Debug, Clone, Copy)]
pub struct LogitsWanted<'a> {
    /// After each of its last `rows` new tokens (at least one).
    pub rows: usize,
    /// With `rows` 1: only these tokens can be chosen (a grammar's allowed
    /// set), so only their logits are needed.
    pub only: Option<&'a [u32]>,
}

/// Qwen2 causal language model.
#[derive(Module, Debug)]
pub struct Qwen2 {
    /// Token embedding `[vocab, hidden]`.
    pub embed_tokens: VocabMatrix,
    /// Decoder layers.
    pub layers: Vec<DecoderLayer>,
    /// Final norm.
    pub norm: RmsNorm,
    /// Separate LM head, or `None` when tied to `embed_tokens`.
    pub lm_head: Option<VocabMatrix>,
    /// Hyper-parameters (not weights).
    #[module(skip)]
    pub config: Qwen2Config,
    /// Where the weights live.
    #[module(skip)]
    pub device: Device,
}

impl Qwen2 {
    /// The model's hyper-parameters.
    pub fn config(&self) -> &Qwen2Config {
        &self.config
    }

    /// The device holding the weights; caches must be created on it.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Most new tokens a step may feed (all sequences together) for every
    /// token's logits to be exactly those of feeding it alone: every matrix
    /// product and the attention then compute each row the same way
    /// whatever the number of rows. 1 where that is not guaranteed (dense
    /// weights, GPU backends).
    pub fn exact_step_rows(&self) -> usize {
        if !crate::device::is_cpu(&self.device) {
            return 1;
        }
        let layers = self.layers.iter().flat_map(|l| {
            let a = &l.self_attn;
            let m = &l.mlp;
            [
                &a.q_proj,
                &a.k_proj,
                &a.v_proj,
                &a.o_proj,
                &m.gate_proj,
                &m.up_proj,
                &m.down_proj,
            ]
        });
        layers
            .map(Linear::row_invariant_rows)
            .chain([self.head().row_invariant_rows(), attention::ROW_BY_ROW])
            .min()
            .unwrap_or(1)
    }

    /// An empty cache for one sequence with room for `capacity` positions.
    pub fn new_cache(&self, capacity: usize) -> KvCache {
        KvCache::new(&self.config, capacity, &self.device)
    }

    /// Runs one step: `tokens[i]` are appended to sequence `i`, whose state is
    /// `caches[i]`. Returns logits as chosen by `rows`. Caches are advanced
    /// only when the whole step succeeds.
    pub fn forward(
        &self,
        tokens: &[&[u32]],
        caches: &mut [&mut KvCache],
        rows: LogitRows,
    ) -> Result<Tensor<2>, ForwardError> {
        let tails: Vec<usize> = match rows {
            LogitRows::Last => vec![1; tokens.len()],
            LogitRows::All => tokens.iter().map(|t| t.len()).collect(),
        };
        self.forward_tails(tokens, caches, &tails)
    }

    /// [`Self::forward`] returning, for each sequence `i`, the logits after
    /// each of its last `tails[i]` new tokens (at least one, at most all),
    /// sequences concatenated: `[Σ tails, vocab]`. Verifying draft tokens
    /// needs the logits after each of them, but not after the forced tokens
    /// before them.
    pub fn forward_tails(
        &self,
        tokens: &[&[u32]],
        caches: &mut [&mut KvCache],
        tails: &[usize],
    ) -> Result<Tensor<2>, ForwardError> {
        self.check_step(tokens, caches, tails)?;
        self.on_pool(|| {
            let x = self.hidden(tokens, caches, tails)?;
            Ok(self.head().logits(x))
        })
    }

    /// One step as [`Self::forward_tails`], with the logits read back to
    /// host memory (`[Σ rows, vocab]`, row-major). A sequence that wants
    /// one row and names the tokens it can take ([`LogitsWanted::only`])
    /// gets only their logits computed, `-inf` elsewhere, when the LM head
    /// is read by the CPU kernels (it is then most of a decoding step's
    /// work); the values are the same as in a full row.
    pub fn forward_host(
        &self,
        tokens: &[&[u32]],
        caches: &mut [&mut KvCache],
        wanted: &[LogitsWanted<'_>],
    ) -> Result<Vec<f32>, ForwardError> {
        let tails: Vec<usize> = wanted.iter().map(|w| w.rows).collect();
        self.check_step(tokens, caches, &tails)?;
        self.on_pool(|| {
            let x = self.hidden(tokens, caches, &tails)?;
            let head = self.head();
            fn subset<'w>(w: &LogitsWanted<'w>) -> Option<&'w [u32]> {
                w.only.filter(|_| w.rows == 1)
            }
            if wanted.iter().all(|w| subset(w).is_none()) {
                return Ok(to_f32_vec(head.logits(x))?);
            }
            let hidden = self.config.hidden_size;
            let vocab = self.config.vocab_size;
            let xs = to_f32_vec(x.clone())?;
            let mut out = vec![0.0f32; xs.len() / hidden * vocab];
            let mut full = Vec::new();
            let mut row = 0;
            for (w, seq) in wanted.iter().zip(tokens) {
                let rows = row..row + w.rows.clamp(1, seq.len());
                let computed = subset(w)
                    .and_then(|ids| head.logits_for(&xs[row * hidden..(row + 1) * hidden], ids));
                match computed {
                    Some(logits) => out[row * vocab..(row + 1) * vocab].copy_from_slice(&logits?),
                    None => full.extend(rows.clone()),
                }
                row = rows.end;
            }
            if !full.is_empty() {
                let picked: Vec<Tensor<2>> = full
                    .iter()
                    .map(|&r| x.clone().slice([r..r + 1, 0..hidden]))
                    .collect();
                let logits = to_f32_vec(head.logits(Tensor::cat(picked, 0)))?;
                for (&r, l) in full.iter().zip(logits.chunks_exact(vocab)) {
                    out[r * vocab..(r + 1) * vocab].copy_from_slice(l);
                }
            }
            Ok(out)
        })
    }

    /// The checks of a step, before any work: shapes, token ids, and room
    /// in every cache.
    fn check_step(
        &self,
        tokens: &[&[u32]],
        caches: &mut [&mut KvCache],
        tails: &[usize],
    ) -> Result<(), ForwardError> {
        if tokens.len() != caches.len() {
            return Err(ForwardError::BatchMismatch {
                tokens: tokens.len(),
                caches: caches.len(),
            });
        }
        if tokens.len() != tails.len() {
            return Err(ForwardError::TailsMismatch {
                tokens: tokens.len(),
                tails: tails.len(),
            });
        }
        if tokens.is_empty() || tokens.iter().any(|t| t.is_empty()) {
            return Err(ForwardError::EmptyInput);
        }
        let vocab = self.config.vocab_size;
        if let Some(&id) = tokens
            .iter()
            .flat_map(|t| t.iter())
            .find(|&&id| id as usize >= vocab)
        {
            return Err(ForwardError::TokenOutOfRange { id, vocab });
        }
        for (seq, cache) in tokens.iter().zip(caches.iter_mut()) {
            cache.check_layers(self.layers.len())?;
            cache.reserve(seq.len())?;
        }
        Ok(())
    }

    /// Runs `f` on a thread of the worker pool rather than the caller's
    /// (CPU backend): every parallel product of the step then splits with
    /// the other workers directly, instead of the caller handing each one to
    /// the pool and sleeping until it is done (a few wake-ups per product,
    /// ~170 products per decoded token).
    fn on_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        if rayon::current_thread_index().is_none() && crate::device::is_cpu(&self.device) {
            return rayon::scope(|_| f());
        }
        f()
    }

    /// The LM head (tied to the embedding when the checkpoint has none).
    fn head(&self) -> &VocabMatrix {
        self.lm_head.as_ref().unwrap_or(&self.embed_tokens)
    }

    /// The layers over a checked step, then the final norm of the last
    /// `tails[i]` rows of each sequence: `[Σ tails, hidden]`.
    fn hidden(
        &self,
        tokens: &[&[u32]],
        caches: &mut [&mut KvCache],
        tails: &[usize],
    ) -> Result<Tensor<2>, ForwardError> {
        let mut spans: Vec<Range<usize>> = Vec::with_capacity(tokens.len());
        let mut positions = Vec::new();
        let mut flat = Vec::new();
        for (seq, cache) in tokens.iter().zip(caches.iter()) {
            let start = flat.len();
            flat.extend_from_slice(seq);
            positions.extend(cache.len()..cache.len() + seq.len());
            spans.push(start..flat.len());
        }
        let rope = Rope::new(
            &positions,
            self.config.head_dim(),
            self.config.rope_theta,
            &self.device,
        );

        let mut x = self.embed_tokens.embed(&flat, &self.device)?;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x, &rope, &spans, caches, i);
        }
        for (seq, cache) in tokens.iter().zip(caches.iter_mut()) {
            cache.advance(seq.len());
        }

        let hidden = self.config.hidden_size;
        let x = if spans.iter().zip(tails).all(|(s, &t)| t >= s.len()) {
            x
        } else {
            let rows: Vec<Tensor<2>> = spans
                .iter()
                .zip(tails)
                .map(|(s, &t)| {
                    let start = s.end - t.clamp(1, s.len());
                    x.clone().slice([start..s.end, 0..hidden])
                })
                .collect();
            Tensor::cat(rows, 0)
        };
        Ok(self.norm.forward(x))
    }

    /// Feeds a prompt to one sequence in chunks of at most `chunk` tokens
    /// (bounding activation memory and attention cost per call) and returns
    /// the logits after its last token, `[vocab]`.
    pub fn prefill(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        chunk: usize,
    ) -> Result<Tensor<1>, ForwardError> {
        if tokens.is_empty() {
            return Err(ForwardError::EmptyInput);
        }
        // Reserve up front so a too-long prompt fails before any work.
        cache.reserve(tokens.len())?;
        let mut last = None;
        for part in tokens.chunks(chunk.max(1)) {
            last = Some(self.forward(&[part], &mut [&mut *cache], LogitRows::Last)?);
        }
        let logits = last.ok_or(ForwardError::EmptyInput)?;
        Ok(logits.reshape([self.config.vocab_size]))
    }

    /// One new token for each of several sequences (batched decode):
    /// returns `[sequences, vocab]`.
    pub fn decode(
        &self,
        tokens: &[u32],
        caches: &mut [&mut KvCache],
    ) -> Result<Tensor<2>, ForwardError> {
        let per_seq: Vec<&[u32]> = tokens.chunks(1).collect();
        self.forward(&per_seq, caches, LogitRows::Last)
    }
}
