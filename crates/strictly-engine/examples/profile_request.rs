//! Where an engine request's decode time goes, next to the bare model.
//!
//! Times a bare decode step of the model at a short and at a request-sized
//! context, steps that feed several tokens at once (a sampled token and the
//! grammar's forced ones; the layers' projections by rows are in
//! `strictly-model`'s `profile_decode rows`), the same one-token steps through the engine's model adapter, and then one
//! extraction request through the whole engine, with each scheduler step's
//! forward and grammar time. With a third argument `N` it only runs steps of
//! `N` tokens, for a profiler; with `engine` instead, only the requests
//! (with `DRAFTS=k` in the environment setting the engine's draft tokens per
//! step). Run on an idle machine:
//!
//! ```text
//! cargo run --release -p strictly-engine --features qwen --example profile_request -- [threads] [example] [N|engine]
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use strictly_engine::qwen::{QwenModel, parts};
use strictly_engine::{
    EngineConfig, EngineObserver, ForwardItem, GenerateRequest, LanguageModel, StepStats,
};
use strictly_model::host::{argmax, to_f32_vec};
use strictly_model::source::ModelSource;
use strictly_model::{LogitRows, Qwen2};

/// Collects every scheduler step.
#[derive(Default)]
struct Steps(Mutex<Vec<StepStats>>);

impl EngineObserver for Steps {
    fn on_step(&self, stats: &StepStats) {
        if let Ok(mut steps) = self.0.lock() {
            steps.push(stats.clone());
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let example = args.next().unwrap_or_else(|| "contract_parties".into());
    strictly_model::device::init_cpu_threads(Some(threads));
    let source = ModelSource::resolve(None)?;
    let device = strictly_model::Backend::Cpu.device()?;
    let model = strictly_model::load_source(&source, &device, Default::default())?.model;

    let mode = args.next();
    // `... threads example N`: only steps of N tokens, for a profiler.
    if let Some(n) = mode.as_deref().and_then(|s| s.parse::<usize>().ok()) {
        let prompt: Vec<u32> = (0..480).map(|i| (i * 7919 % 150_000 + 10) as u32).collect();
        let mut cache = model.new_cache(prompt.len() + 64);
        model.prefill(&prompt, &mut cache, 512)?;
        let feed: Vec<u32> = (0..n as u32).map(|i| 1000 + i).collect();
        let started = Instant::now();
        for _ in 0..100 {
            to_f32_vec(model.forward(&[&feed], &mut [&mut cache], LogitRows::Last)?)?;
            cache.truncate(prompt.len());
        }
        println!(
            "step of {n} tokens: {:.2} ms",
            ms(started.elapsed()) / 100.0
        );
        return Ok(());
    }

    let timings = mode.as_deref() != Some("engine");
    if timings {
        bare_timings(&model)?;
    }
    let mut adapter = QwenModel::new(model);
    if timings {
        adapter_timings(&mut adapter)?;
    }

    let engine_parts = parts_from(adapter, &source)?;
    let observer = Arc::new(Steps::default());
    let mut config = EngineConfig::default();
    if let Some(k) = std::env::var("DRAFTS").ok().and_then(|v| v.parse().ok()) {
        config.max_draft_tokens = k;
    }
    let engine = engine_parts.start(config, Some(observer.clone()))?;
    let root = format!("{}/../..", env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!(
        "{root}/schemas/{example}.schema.json"
    ))?)?;
    let document = std::fs::read_to_string(format!("{root}/examples/{example}/document.txt"))?;
    for round in 0..2 {
        observer.0.lock().map_err(|_| "poisoned")?.clear();
        let done = engine
            .submit(GenerateRequest::extraction(
                schema.clone(),
                document.clone(),
                None,
            ))?
            .wait()?;
        let steps = observer.0.lock().map_err(|_| "poisoned")?.clone();
        let decode: Vec<&StepStats> = steps.iter().filter(|s| s.prefill_tokens == 0).collect();
        let forward: Duration = decode.iter().map(|s| s.forward).sum();
        let mask: Duration = decode.iter().map(|s| s.mask).sum();
        let single: Vec<&&StepStats> = decode.iter().filter(|s| s.decode_tokens == 1).collect();
        let single_forward: Duration = single.iter().map(|s| s.forward).sum();
        println!(
            "request {round}: {:?}\n  {:?}\n  {} decode steps, forward {:.2} ms/step, mask {:.3} ms/step; \
             {} one-token steps at {:.2} ms",
            done.usage,
            done.timings,
            decode.len(),
            ms(forward) / decode.len().max(1) as f64,
            ms(mask) / decode.len().max(1) as f64,
            single.len(),
            ms(single_forward) / single.len().max(1) as f64,
        );
        let mut by_size = std::collections::BTreeMap::<usize, (usize, Duration)>::new();
        for s in &decode {
            let e = by_size.entry(s.decode_tokens).or_default();
            e.0 += 1;
            e.1 += s.forward;
        }
        let sizes: Vec<String> = by_size
            .iter()
            .map(|(n, (c, d))| format!("{n}:{c}x{:.1}ms", ms(*d) / *c as f64))
            .collect();
        println!("  steps by tokens fed: {}", sizes.join(" "));
        if std::env::var_os("SHOW").is_some() {
            println!("  answer: {}", done.text);
        }
    }
    Ok(())
}

/// The engine's parts around an adapter that was already used for timing.
fn parts_from(
    adapter: QwenModel,
    source: &ModelSource,
) -> Result<strictly_engine::qwen::QwenParts, Box<dyn std::error::Error>> {
    Ok(parts(adapter.into_inner(), source)?)
}

/// Decode steps and multi-token steps of the bare model.
fn bare_timings(model: &Qwen2) -> Result<(), Box<dyn std::error::Error>> {
    let steps = 32;
    for context in [128usize, 480] {
        let prompt: Vec<u32> = (0..context)
            .map(|i| (i * 7919 % 150_000 + 10) as u32)
            .collect();
        let mut cache = model.new_cache(context + steps + 8);
        let mut logits = to_f32_vec(model.prefill(&prompt, &mut cache, 512)?)?;
        let mut next = argmax(&logits).ok_or("empty logits")?;
        let started = Instant::now();
        for _ in 0..steps {
            logits = to_f32_vec(model.decode(&[next], &mut [&mut cache])?)?;
            next = argmax(&logits).unwrap_or(0);
        }
        println!(
            "bare decode at context {context}: {:.2} ms/step",
            ms(started.elapsed()) / steps as f64
        );
    }

    // Steps that feed the sampled token with forced ones after it.
    let prompt: Vec<u32> = (0..480).map(|i| (i * 7919 % 150_000 + 10) as u32).collect();
    let mut cache = model.new_cache(prompt.len() + 64);
    model.prefill(&prompt, &mut cache, 512)?;
    for n in [1usize, 2, 3, 4, 5, 6, 8] {
        let feed: Vec<u32> = (0..n as u32).map(|i| 1000 + i).collect();
        let reps = 8;
        let started = Instant::now();
        for _ in 0..reps {
            let logits = model.forward(&[&feed], &mut [&mut cache], LogitRows::Last)?;
            to_f32_vec(logits)?;
            cache.truncate(prompt.len());
        }
        println!(
            "bare step of {n} tokens at context 480: {:.2} ms",
            ms(started.elapsed()) / reps as f64
        );
    }
    Ok(())
}

/// One-token steps through the engine's model adapter.
fn adapter_timings(adapter: &mut QwenModel) -> Result<(), Box<dyn std::error::Error>> {
    let steps = 32;
    for context in [128usize, 480] {
        let prompt: Vec<u32> = (0..context)
            .map(|i| (i * 7919 % 150_000 + 10) as u32)
            .collect();
        let mut cache = adapter.new_cache(context + 256)?;
        let mut items = [ForwardItem {
            cache: &mut cache,
            tokens: &prompt,
            logit_rows: 1,
            only: None,
        }];
        adapter.forward(&mut items)?;
        let mut next = 10u32;
        let started = Instant::now();
        for _ in 0..steps {
            let token = [next];
            let mut items = [ForwardItem {
                cache: &mut cache,
                tokens: &token,
                logit_rows: 1,
                only: None,
            }];
            let rows = adapter.forward(&mut items)?;
            let row = rows.into_iter().next().flatten().ok_or("no logits")?;
            next = argmax(&row).unwrap_or(0);
        }
        println!(
            "adapter decode at context {context}: {:.2} ms/step",
            ms(started.elapsed()) / steps as f64
        );
    }
    Ok(())
}
