//! `strictly bench serve`: the HTTP service measured the way clients use it.
//!
//! Posts the example documents (`examples/<name>/document.txt` with
//! `schemas/<name>.schema.json`) to `POST /v1/extract` of a running server
//! (`--url`) or of one started in this process, at each concurrency level,
//! and prints one JSON object: requests/s, p50/p95 latency, the share of
//! forced tokens, grammar time as a share of scheduler step time (from
//! `/metrics`), and field-level accuracy against `expected.json` (the
//! scorer of the end-to-end test). It also measures shared-prefix reuse:
//! time to first token of a request whose instructions and schema were
//! seen before, against the same request with a prompt prefix never seen.

pub(super) mod client;
pub(super) mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use strictly_batch::EngineExtractor;
use strictly_batch::jobs::{JobRunner, RunnerConfig};
use strictly_batch::store::BatchStore;
use strictly_engine::{EngineConfig, EngineObserver};
use strictly_regression::accuracy::field_accuracy;
use strictly_server::{AppState, ServerConfig};

use self::client::{Client, Outcome};
use self::report::{Level, Sample};
use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Base URL of a running server, e.g. `http://127.0.0.1:8080`; without
    /// it a server is started in this process.
    #[arg(long)]
    url: Option<String>,
    /// Bearer key for a server that requires one.
    #[arg(long, env = "STRICTLY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Concurrency levels (requests in flight).
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    concurrency: Vec<usize>,
    /// Passes over the examples at each level.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Folder of examples: `<name>/document.txt` and `<name>/expected.json`.
    #[arg(long, default_value = "examples")]
    examples: PathBuf,
    /// Folder of the schemas, `<name>.schema.json`.
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// Only these examples (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Answer tokens allowed per request (the server's default when absent).
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Skip the untimed pass that compiles each schema and caches its
    /// prompt prefix before the timed levels.
    #[arg(long)]
    no_warmup: bool,
    /// In-process server: sequences decoded together.
    #[arg(long, default_value_t = EngineConfig::default().max_batch)]
    max_batch: usize,
    #[command(flatten)]
    model: ModelArgs,
}

/// One example document with its schema and expected answer.
pub(super) struct Example {
    pub name: String,
    pub document: String,
    pub schema: Value,
    pub expected: Value,
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The examples that have a document, an expected answer and a schema;
/// all of them when `only` is empty.
pub(super) fn load_examples(
    examples_dir: &Path,
    schemas_dir: &Path,
    only: &[String],
) -> anyhow::Result<Vec<Example>> {
    let entries = std::fs::read_dir(examples_dir)
        .with_context(|| format!("reading {}", examples_dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("document.txt").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| only.is_empty() || only.contains(n))
        .collect();
    names.sort();
    let mut examples = Vec::new();
    for name in names {
        let schema_path = schemas_dir.join(format!("{name}.schema.json"));
        if !schema_path.is_file() {
            continue;
        }
        let dir = examples_dir.join(&name);
        examples.push(Example {
            document: std::fs::read_to_string(dir.join("document.txt"))
                .with_context(|| format!("reading {}", dir.display()))?,
            schema: read_json(&schema_path)?,
            expected: read_json(&dir.join("expected.json"))?,
            name,
        });
    }
    if examples.is_empty() {
        bail!(
            "no examples with a schema in {} and {}",
            examples_dir.display(),
            schemas_dir.display()
        );
    }
    Ok(examples)
}

/// Starts the HTTP server on a free local port in this process, with a
/// batch job store in a fresh file under the temporary directory, and
/// returns its URL. The server lives until the process ends.
pub(super) fn start_server(model: &ModelArgs, max_batch: usize) -> anyhow::Result<String> {
    let parts = model.load_parts()?;
    let name = parts.name.clone();
    let state = AppState::loading(ServerConfig {
        port: 0,
        ..ServerConfig::default()
    });
    let observer: Arc<dyn EngineObserver> = state.metrics.clone();
    let config = EngineConfig {
        max_batch: max_batch.max(1),
        ..model.engine_config()
    };
    let engine = parts.start(config, Some(observer))?;
    state.set_ready(engine.clone(), name);
    let db = std::env::temp_dir().join(format!("strictly-bench-{}.sqlite", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let store = BatchStore::open(&db).with_context(|| format!("opening {}", db.display()))?;
    let runner = JobRunner::start(
        Arc::new(store),
        Arc::new(EngineExtractor::new(engine)),
        RunnerConfig::default(),
    )?;
    state.set_batches(runner);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match strictly_server::run(state) {
                    Ok((server, addrs)) => {
                        let _ = tx.send(Ok(addrs));
                        let _ = server.await;
                    }
                    Err(err) => {
                        let _ = tx.send(Err(err));
                    }
                }
            })
        })?;
    let addrs = rx.recv().context("the server thread stopped")??;
    let addr = addrs.first().context("the server bound no address")?;
    Ok(format!("http://{addr}"))
}

/// The extraction request body for `example`.
fn body(example: &Example, instructions: Option<&str>, max_tokens: Option<usize>) -> Value {
    let mut body = json!({"document": example.document, "schema": example.schema});
    if let Some(text) = instructions {
        body["instructions"] = json!(text);
    }
    if let Some(n) = max_tokens {
        body["options"] = json!({"max_tokens": n});
    }
    body
}

/// Runs every example `rounds` times with `concurrency` requests in flight.
fn run_level(
    client: &Client,
    examples: &[Example],
    concurrency: usize,
    rounds: usize,
    max_tokens: Option<usize>,
) -> anyhow::Result<Level> {
    let jobs: Vec<&Example> = (0..rounds.max(1)).flat_map(|_| examples).collect();
    let next = AtomicUsize::new(0);
    let before = client.step_seconds()?;
    let started = Instant::now();
    let samples: Vec<Sample> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..concurrency.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    while let Some(example) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let outcome = client.extract(&body(example, None, max_tokens));
                        out.push(Sample::new(&example.name, outcome, |data| {
                            field_accuracy(&example.expected, data)
                        }));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let wall = started.elapsed();
    let after = client.step_seconds()?;
    Ok(Level::new(concurrency, samples, wall, before, after))
}

/// Time to first token with and without a reusable prompt prefix: the same
/// document and schema, first under instructions never seen (the prefix
/// is prefilled), then again (the prefix's KV cache is reused).
fn prefix_reuse(client: &Client, example: &Example, max_tokens: Option<usize>) -> Value {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let instructions = format!(
        "{} Benchmark run {nonce}.",
        strictly_engine::prompt::DEFAULT_INSTRUCTIONS
    );
    // Compiles the schema, so that neither timed request pays for it.
    let _ = client.extract(&body(example, None, max_tokens));
    let cold = client.extract(&body(example, Some(&instructions), max_tokens));
    let warm = client.extract(&body(example, Some(&instructions), max_tokens));
    match (cold, warm) {
        (Outcome::Ok(cold), Outcome::Ok(warm)) => {
            let figures = |a: &client::Answer| {
                json!({
                    "ttft_ms": a.ttft_ms(),
                    "queue_ms": a.timing("queue"),
                    "prefill_ms": a.timing("prefill"),
                    "prefix_tokens_reused": a.usage("cached_prompt_tokens"),
                    "completion_tokens": a.usage("completion_tokens"),
                    "latency_ms": report::round(a.latency_ms),
                })
            };
            json!({
                "example": example.name,
                "prompt_tokens": warm.usage("prompt_tokens"),
                "prefix_tokens_reused": warm.usage("cached_prompt_tokens"),
                "ttft_speedup": report::ratio(cold.ttft_ms(), warm.ttft_ms()),
                "cold": figures(&cold),
                "warm": figures(&warm),
            })
        }
        (cold, warm) => json!({
            "example": example.name,
            "error": format!("cold: {}; warm: {}", cold.describe(), warm.describe()),
        }),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let examples = load_examples(&args.examples, &args.schemas, &args.only)?;
    let (url, server) = match &args.url {
        Some(url) => (url.trim_end_matches('/').to_owned(), "external"),
        None => (start_server(&args.model, args.max_batch)?, "in-process"),
    };
    let client = Client::new(&url, args.api_key.clone());
    client.wait_ready()?;
    if !args.no_warmup {
        for example in &examples {
            let _ = client.extract(&body(example, None, args.max_tokens));
        }
    }
    let prefix = prefix_reuse(&client, &examples[0], args.max_tokens);
    let mut levels = Vec::new();
    for &c in &args.concurrency {
        let level = run_level(&client, &examples, c, args.rounds, args.max_tokens)?;
        eprintln!("{}", level.summary_line());
        levels.push(level.to_json());
    }
    let report = json!({
        "server": server,
        "url": url,
        "model": client.model_name(),
        "examples": examples.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        "rounds": args.rounds.max(1),
        "prefix_reuse": prefix,
        "levels": levels,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
