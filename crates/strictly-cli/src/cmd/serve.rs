//! `strictly serve`: the HTTP API. The server answers at once (`/healthz`,
//! and 503 on `/readyz` and the API) while the model loads on another
//! thread; a model that fails to load stops the server with the error.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use strictly_batch::EngineExtractor;
use strictly_batch::jobs::{JobRunner, RunnerConfig};
use strictly_batch::store::BatchStore;
use strictly_engine::{EngineConfig, EngineObserver};
use strictly_server::{AppState, ServerConfig};

use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[command(flatten)]
    model: ModelArgs,
    /// Accepted API keys, comma-separated (`Authorization: Bearer <key>`); none disables auth.
    #[arg(
        long = "api-key",
        env = "STRICTLY_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<String>,
    /// Sequences decoded together (one KV cache slot each).
    #[arg(long, default_value_t = EngineConfig::default().max_batch)]
    max_batch: usize,
    /// Slots batch-job rows never take, kept for interactive requests.
    #[arg(long, default_value_t = EngineConfig::default().interactive_slots)]
    interactive_slots: usize,
    /// Requests allowed to wait for a slot before new ones get 429.
    #[arg(long, default_value_t = EngineConfig::default().max_queue)]
    max_queue: usize,
    /// Seconds a request may take, queueing included, before it gets 504.
    #[arg(long, default_value_t = EngineConfig::default().request_timeout.as_secs())]
    timeout_secs: u64,
    /// Largest prompt (instructions, schema and document) in tokens; longer gets 413.
    #[arg(long, default_value_t = EngineConfig::default().max_prompt_tokens)]
    max_prompt_tokens: usize,
    /// Largest request body in bytes; larger gets 413.
    #[arg(long, default_value_t = ServerConfig::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Largest CSV file uploaded to `/v1/batches` in bytes (spooled to disk); larger gets 413.
    #[arg(long, default_value_t = ServerConfig::default().max_upload_bytes)]
    max_upload_bytes: u64,
    /// Largest schema in bytes; larger gets 413.
    #[arg(long, default_value_t = ServerConfig::default().max_schema_bytes)]
    max_schema_bytes: usize,
    /// SQLite file of the batch jobs (`/v1/batches`); jobs a previous run
    /// left unfinished resume (default: `batches.sqlite` in the cache directory).
    #[arg(long)]
    batch_db: Option<PathBuf>,
    /// Batch rows extracted at once; below `--max-batch`, so interactive
    /// requests always find a slot.
    #[arg(long, default_value_t = RunnerConfig::default().concurrency)]
    batch_concurrency: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let engine_config = EngineConfig {
        max_batch: args.max_batch.max(1),
        max_queue: args.max_queue,
        interactive_slots: args.interactive_slots,
        request_timeout: Duration::from_secs(args.timeout_secs.max(1)),
        max_prompt_tokens: args.max_prompt_tokens,
        ..args.model.engine_config()
    };
    let server_config = ServerConfig {
        host: args.host,
        port: args.port,
        api_keys: args
            .api_keys
            .into_iter()
            .filter(|k| !k.is_empty())
            .collect(),
        max_body_bytes: args.max_body_bytes,
        max_upload_bytes: args.max_upload_bytes,
        max_schema_bytes: args.max_schema_bytes,
        ..ServerConfig::default()
    };
    let state = AppState::loading(server_config);
    let load_error: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
    let failed = load_error.clone();
    let model = args.model;
    let batches = BatchOptions {
        db: match args.batch_db {
            Some(path) => path,
            None => strictly_model::fetch::cache_dir()?.join("batches.sqlite"),
        },
        concurrency: args.batch_concurrency.max(1),
    };
    actix_web::rt::System::new().block_on(async move {
        let (server, addrs) =
            strictly_server::run(state.clone()).context("binding the HTTP server")?;
        for addr in &addrs {
            eprintln!("strictly listening on http://{addr} (loading the model)");
        }
        let handle = server.handle();
        std::thread::spawn(
            move || match load(&model, engine_config, &state, &batches) {
                Ok(name) => eprintln!("model {name} ready"),
                Err(err) => {
                    if let Ok(mut slot) = failed.lock() {
                        *slot = Some(err);
                    }
                    stop_server(handle);
                }
            },
        );
        server.await.context("running the HTTP server")
    })?;
    match load_error.lock().ok().and_then(|mut e| e.take()) {
        Some(err) => Err(err.context("the model could not be loaded")),
        None => Ok(()),
    }
}

/// Where batch jobs are kept and how many rows run at once.
struct BatchOptions {
    db: PathBuf,
    concurrency: usize,
}

/// Loads the model and hands the engine to the server, then starts the
/// batch job runner (which resumes unfinished jobs) on the same engine.
fn load(
    model: &ModelArgs,
    config: EngineConfig,
    state: &AppState,
    batches: &BatchOptions,
) -> anyhow::Result<String> {
    let parts = model.load_parts()?;
    let name = parts.name.clone();
    let observer: Arc<dyn EngineObserver> = state.metrics.clone();
    let engine = parts.start(config, Some(observer))?;
    state.set_ready(engine.clone(), name.clone());
    if let Some(dir) = batches.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = BatchStore::open(&batches.db)
        .with_context(|| format!("opening the batch store {}", batches.db.display()))?;
    let runner_config = RunnerConfig {
        concurrency: batches.concurrency,
        ..RunnerConfig::default()
    };
    let runner = JobRunner::start(
        Arc::new(store),
        Arc::new(EngineExtractor::new(engine)),
        runner_config,
    )?;
    state.set_batches(runner);
    Ok(name)
}

/// Stops the server from outside its runtime (the loader thread).
fn stop_server(handle: actix_web::dev::ServerHandle) {
    let stop = handle.stop(false);
    actix_web::rt::System::new().block_on(stop);
}
