//! Fuzz loops that run on the stable toolchain (the libFuzzer targets in
//! `crates/*/fuzz` need a nightly compiler).
//!
//! Each [`Target`] takes bytes and either returns an outcome signature or
//! reports a finding: a panic, or a broken promise it checks itself (an
//! answer the validator rejects, a 5xx over HTTP). The [`run`] loop starts
//! from the checked-in corpus, mutates its entries and generates structured
//! inputs with `arbitrary`, keeps inputs whose outcome signature is new (a
//! cheap stand-in for coverage feedback), and stops at an iteration or time
//! budget. A fixed seed gives the same inputs in the same order, so a run
//! with an iteration budget is reproducible.

pub mod mutate;
pub mod targets;

use std::collections::{BTreeMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What one input did: a signature of its outcome, or a finding.
pub type Outcome = Result<u64, String>;

/// A fuzzed component.
pub trait Target {
    /// Name, also the corpus folder's.
    fn name(&self) -> &'static str;
    /// Runs one input. Panics are caught by the loop.
    fn run(&mut self, input: &[u8]) -> Outcome;
    /// A structured input built from raw entropy (a schema, a GGUF file).
    fn generate(&self, entropy: &[u8]) -> Vec<u8>;
    /// Tokens worth splicing into inputs.
    fn dictionary(&self) -> &[&[u8]] {
        &[]
    }
    /// Inputs longer than this are cut.
    fn max_len(&self) -> usize {
        1 << 16
    }
}

/// How long a run goes on.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub iterations: Option<u64>,
    pub time: Option<Duration>,
}

impl Budget {
    fn spent(&self, executions: u64, started: Instant) -> bool {
        self.iterations.is_some_and(|n| executions >= n)
            || self.time.is_some_and(|t| started.elapsed() >= t)
    }
}

/// One distinct failure, with the smallest input seen for it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub message: String,
    pub input: Vec<u8>,
    pub hits: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub executions: u64,
    pub elapsed: Duration,
    pub corpus_start: usize,
    pub corpus_end: usize,
    /// Distinct outcome signatures seen.
    pub signatures: usize,
    /// The slowest single input.
    pub slowest: Duration,
    pub findings: Vec<Finding>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} executions in {:.1} s ({:.0}/s), corpus {} -> {}, {} outcome signatures, slowest input {:.0} ms, {} findings",
            self.target,
            self.executions,
            self.elapsed.as_secs_f64(),
            self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9),
            self.corpus_start,
            self.corpus_end,
            self.signatures,
            self.slowest.as_secs_f64() * 1000.0,
            self.findings.len()
        )?;
        for finding in &self.findings {
            write!(
                f,
                "\n  {} ({} hits, {}-byte input)",
                finding.message,
                finding.hits,
                finding.input.len()
            )?;
        }
        Ok(())
    }
}

/// Most inputs kept in memory besides the seeds.
const MAX_CORPUS: usize = 8192;

/// Reads every file of `dir` (sorted by name, so runs are reproducible).
pub fn read_corpus(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.into_iter().map(std::fs::read).collect()
}

/// Fuzzes `target` from `seeds` under `budget`.
pub fn run(target: &mut dyn Target, seeds: Vec<Vec<u8>>, seed: u64, budget: Budget) -> Report {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut corpus = seeds;
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let corpus_start = corpus.len();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    let mut executions = 0u64;
    let started = Instant::now();
    let quiet = QuietPanics::install();
    // The seeds first, as they are; then mutated and generated inputs.
    let mut pending: Vec<Vec<u8>> = corpus.iter().rev().cloned().collect();
    while !budget.spent(executions, started) {
        let input = match pending.pop() {
            Some(input) => input,
            None => next_input(target, &corpus, &mut rng),
        };
        let one = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| target.run(&input)))
            .unwrap_or_else(|payload| Err(format!("panic: {}", panic_message(&*payload))));
        slowest = slowest.max(one.elapsed());
        executions += 1;
        match outcome {
            Ok(signature) => {
                if seen.insert(signature) && corpus.len() < MAX_CORPUS {
                    corpus.push(input);
                }
            }
            Err(message) => {
                let message = first_line(&message);
                let entry = findings.entry(message.clone()).or_insert(Finding {
                    message,
                    input: input.clone(),
                    hits: 0,
                });
                entry.hits += 1;
                if input.len() < entry.input.len() {
                    entry.input = input;
                }
            }
        }
    }
    drop(quiet);
    Report {
        target: target.name(),
        executions,
        elapsed: started.elapsed(),
        corpus_start,
        corpus_end: corpus.len(),
        signatures: seen.len(),
        slowest,
        findings: findings.into_values().collect(),
    }
}

fn next_input(target: &dyn Target, corpus: &[Vec<u8>], rng: &mut StdRng) -> Vec<u8> {
    let mut input = if rng.random_ratio(1, 4) {
        let len = rng.random_range(0..4096);
        let entropy: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        target.generate(&entropy)
    } else {
        let base = &corpus[rng.random_range(0..corpus.len())];
        let other = &corpus[rng.random_range(0..corpus.len())];
        mutate::mutate(base, other, target.dictionary(), rng)
    };
    input.truncate(target.max_len());
    input
}

fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    line.chars().take(300).collect()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Silences the default panic hook while fuzzing (panics are findings,
/// reported once each, not printed thousands of times).
struct QuietPanics(Option<Box<dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send>>);

impl QuietPanics {
    fn install() -> Self {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        Self(Some(previous))
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            panic::set_hook(previous);
        }
    }
}

/// A stable 64-bit hash for outcome signatures.
pub fn signature(parts: impl std::hash::Hash) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// Buckets a count so that signatures track its order of magnitude only.
pub fn bucket(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}
