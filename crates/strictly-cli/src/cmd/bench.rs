//! `strictly bench`: prefill and decode throughput and peak memory of the
//! model on this machine, as JSON (`--json`) or a table.
//!
//! Prefill feeds a fresh sequence of N synthetic tokens in chunks of 512 and
//! excludes the first call's warm-up. Decode prefills each of B sequences
//! with a short, distinct context, then times steps of one new token per
//! sequence (greedy choices, read back to the host as a server would).

use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use strictly_model::Qwen2;
use strictly_model::host::{argmax, to_f32_vec};

use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Prompt lengths to time.
    #[arg(long, value_delimiter = ',', default_value = "512,2048")]
    prefill: Vec<usize>,
    /// Batch sizes to time decode at.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    decode: Vec<usize>,
    /// Decode steps timed per batch size.
    #[arg(long, default_value_t = 32)]
    steps: usize,
    /// Tokens already in each sequence's cache when decode is timed.
    #[arg(long, default_value_t = 128)]
    context: usize,
    #[command(flatten)]
    model: ModelArgs,
}

/// `strictly bench` subcommands; without one, the model benchmark runs.
#[derive(clap::Subcommand)]
enum Command {
    /// The HTTP service on the examples: requests/s, latency, forced tokens,
    /// mask time, accuracy and shared-prefix reuse, as JSON.
    Serve(super::bench_serve::Args),
    /// Sustained mixed load with a batch job alongside: status codes,
    /// p50/p99 latency, exactly-once batch results and resident memory.
    Soak(super::bench_soak::Args),
}

/// Deterministic, varied token ids below the special tokens.
fn synthetic_tokens(n: usize, seed: usize) -> Vec<u32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % 150_000 + 10) as u32)
        .collect()
}

fn time_prefill(model: &Qwen2, n: usize) -> anyhow::Result<f64> {
    let tokens = synthetic_tokens(n, 1);
    let mut cache = model.new_cache(n);
    let started = Instant::now();
    let logits = model.prefill(&tokens, &mut cache, 512)?;
    to_f32_vec(logits)?; // wait for the device
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

fn time_decode(model: &Qwen2, batch: usize, steps: usize, context: usize) -> anyhow::Result<f64> {
    let mut caches = Vec::with_capacity(batch);
    let mut next = Vec::with_capacity(batch);
    for b in 0..batch {
        // Distinct lengths, as in a real batch.
        let prompt = synthetic_tokens(context + b, b + 2);
        let mut cache = model.new_cache(prompt.len() + steps + 1);
        let logits = to_f32_vec(model.prefill(&prompt, &mut cache, 512)?)?;
        next.push(argmax(&logits).context("empty logits")?);
        caches.push(cache);
    }
    let vocab = model.config().vocab_size;
    let started = Instant::now();
    for _ in 0..steps {
        let mut refs: Vec<_> = caches.iter_mut().collect();
        let logits = to_f32_vec(model.decode(&next, &mut refs)?)?;
        for (b, row) in logits.chunks(vocab).enumerate() {
            next[b] = argmax(row).context("empty logits")?;
        }
    }
    Ok((batch * steps) as f64 / started.elapsed().as_secs_f64())
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Some(Command::Serve(serve)) => return super::bench_serve::run(serve),
        Some(Command::Soak(soak)) => return super::bench_soak::run(soak),
        None => {}
    }
    let rt = args.model.load()?;
    let model = &rt.model;
    // Warm-up: first calls allocate and (on GPUs) compile kernels.
    time_prefill(model, 16)?;
    time_decode(model, 1, 2, 8)?;

    let mut prefill = serde_json::Map::new();
    for &n in &args.prefill {
        let rate = time_prefill(model, n).with_context(|| format!("prefill of {n}"))?;
        prefill.insert(n.to_string(), json!(round(rate)));
    }
    let mut decode = serde_json::Map::new();
    for &b in &args.decode {
        let rate = time_decode(model, b, args.steps, args.context)
            .with_context(|| format!("decode at batch {b}"))?;
        decode.insert(b.to_string(), json!(round(rate)));
    }
    let rss = peak_rss_mib().map(round);
    let report = json!({
        "backend": args.model.backend.to_string(),
        "threads": rt.threads,
        "prefill_tokens_per_s": prefill,
        "decode_tokens_per_s": decode,
        "peak_rss_mib": rss,
    });
    if args.json {
        println!("{report}");
        return Ok(());
    }
    println!("backend  {}   threads  {}", args.model.backend, rt.threads);
    println!("{:<22} {:>12}", "measure", "tokens/s");
    let row = |label: String, value: Option<f64>| {
        let value = value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"));
        println!("{label:<22} {value:>12}");
    };
    for (n, rate) in &prefill {
        row(format!("prefill {n}"), rate.as_f64());
    }
    for (b, rate) in &decode {
        row(format!("decode batch {b}"), rate.as_f64());
    }
    row("peak RSS (MiB)".to_owned(), rss);
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
