//! Options shared by every command that runs the model: which weights,
//! which backend, how many CPU threads.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use strictly_batch::EngineExtractor;
use strictly_engine::EngineConfig;
use strictly_engine::qwen::QwenParts;
use strictly_model::burn::tensor::FloatDType;
use strictly_model::device::init_cpu_threads;
use strictly_model::source::ModelSource;
use strictly_model::{Backend, LoadOptions, Qwen2, load_source};

/// `--model`, `--backend`, `--threads`, `--dtype`, `--dense`, `--draft-tokens`,
/// `--compile-budget-ms`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// A GGUF file or Hugging Face folder; default: the default model (fetched if needed).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Compute backend: `cpu` (pure Rust) or `wgpu` (needs a build with `--features wgpu`).
    #[arg(long, default_value = "cpu")]
    pub backend: Backend,
    /// CPU worker threads (default: one per core).
    #[arg(long, env = "STRICTLY_THREADS")]
    pub threads: Option<usize>,
    /// Storage of the weight matrices: `f16` or `f32` (default: f16 where supported).
    #[arg(long, value_parser = parse_dtype)]
    pub dtype: Option<FloatDType>,
    /// Decode quantized GGUF matrices to floats instead of running the
    /// integer CPU kernels on them.
    #[arg(long)]
    pub dense: bool,
    /// Tokens copied from the document as a guess and checked by the model
    /// in the same forward pass (0: off). The answer does not depend on it.
    #[arg(long, default_value_t = EngineConfig::default().max_draft_tokens)]
    pub draft_tokens: usize,
    #[command(flatten)]
    pub compile_budget: super::budget::CompileBudget,
}

fn parse_dtype(s: &str) -> Result<FloatDType, String> {
    match s {
        "f16" => Ok(FloatDType::F16),
        "f32" => Ok(FloatDType::F32),
        other => Err(format!("unknown dtype {other:?}: expected f16 or f32")),
    }
}

/// A model ready to run, with where it came from.
pub struct Runtime {
    pub model: Qwen2,
    pub source: ModelSource,
    pub threads: usize,
}

impl ModelArgs {
    /// Sizes the thread pool, locates (fetching if needed) and loads the model.
    pub fn load(&self) -> anyhow::Result<Runtime> {
        let threads = init_cpu_threads(self.threads);
        let source = super::model::resolve(self.model.as_deref())?;
        let device = self.backend.device()?;
        let started = Instant::now();
        let loaded = load_source(&source, &device, self.load_options())
            .with_context(|| format!("loading {}", source.path().display()))?;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            backend = %self.backend,
            threads,
            "model ready"
        );
        Ok(Runtime {
            model: loaded.model,
            source,
            threads,
        })
    }

    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            weight_dtype: self.dtype,
            quantized: self.dense.then_some(false),
            ..Default::default()
        }
    }

    /// [`ModelArgs::load`], then the engine's parts: the model with its
    /// tokenizer and chat template, reloadable should the engine restart.
    pub fn load_parts(&self) -> anyhow::Result<QwenParts> {
        let rt = self.load()?;
        let parts = strictly_engine::qwen::parts(rt.model, &rt.source)
            .context("loading the tokenizer and chat template")?;
        Ok(parts.reloadable(rt.source, self.backend, self.load_options()))
    }

    /// The engine settings these options choose; commands add their own.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            max_draft_tokens: self.draft_tokens,
            compile_budget: self.compile_budget.duration(),
            ..EngineConfig::default()
        }
    }

    /// Loads the model and starts an engine that runs batch rows only
    /// (`strictly batch`, `strictly test`): `concurrency` slots, none kept
    /// free for interactive requests since none arrive.
    pub fn batch_extractor(&self, concurrency: usize) -> anyhow::Result<EngineExtractor> {
        let engine = self.load_parts()?.start(
            EngineConfig {
                max_batch: concurrency.max(1),
                interactive_slots: 0,
                ..self.engine_config()
            },
            None,
        )?;
        Ok(EngineExtractor::new(engine))
    }
}
