//! `strictly bench soak`: the service under sustained mixed load.
//!
//! `--clients` threads send requests back to back for `--minutes`: each
//! picks, with its own seeded generator, an example and a kind of request —
//! `/v1/extract`, chat completions with a JSON-schema response format,
//! the same streamed, or a schema the service must refuse with `400`. A
//! batch job runs alongside the whole time (one after another), and each
//! job's results are checked to hold every row exactly once. The report
//! tallies status codes per kind, latency percentiles, and the server's
//! resident memory after a warm-up against after the run. The command
//! fails (after printing the report) on any `5xx`, any status other than
//! the ones a kind documents, a transport error, a batch whose results are
//! not exactly its rows, or resident memory grown by more than 5 %.

mod tally;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use strictly_engine::EngineConfig;

use self::tally::{Kind, Record, Tally};
use super::bench_serve::client::Client;
use super::bench_serve::{Example, load_examples, start_server};
use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Base URL of a running server; without it a server is started in
    /// this process.
    #[arg(long)]
    url: Option<String>,
    /// Process id of the server at `--url`, for its resident memory
    /// (`/proc/PID/status`); the in-process server is measured by itself.
    #[arg(long)]
    pid: Option<u32>,
    /// Bearer key for a server that requires one.
    #[arg(long, env = "STRICTLY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Client threads sending requests back to back.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// How long the clients run (fractions allowed).
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Rows of each batch job run alongside.
    #[arg(long, default_value_t = 24)]
    batch_rows: usize,
    /// Answer tokens allowed per request.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Seed of the clients' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Allowed growth of resident memory over the run, in percent.
    #[arg(long, default_value_t = 5.0)]
    rss_tolerance: f64,
    /// Folder of examples: `<name>/document.txt` and `<name>/expected.json`.
    #[arg(long, default_value = "examples")]
    examples: PathBuf,
    /// Folder of the schemas, `<name>.schema.json`.
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// In-process server: sequences decoded together.
    #[arg(long, default_value_t = EngineConfig::default().max_batch)]
    max_batch: usize,
    #[command(flatten)]
    model: ModelArgs,
}

/// SplitMix64: a small, seedable generator for the clients' choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Resident memory in MiB of `pid` (this process when `None`).
fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(
        || "/proc/self/status".to_owned(),
        |p| format!("/proc/{p}/status"),
    );
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The request of `kind` for `example`: its path and body.
fn request(kind: Kind, example: &Example, max_tokens: usize) -> (&'static str, Value) {
    let chat = |stream: bool| {
        json!({
            "messages": [
                {"role": "system", "content": "Extract the fields of the document as JSON."},
                {"role": "user", "content": example.document},
            ],
            "max_tokens": max_tokens,
            "stream": stream,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": example.name, "schema": example.schema, "strict": true}},
        })
    };
    match kind {
        Kind::Extract => (
            "/v1/extract",
            json!({"document": example.document, "schema": example.schema,
                   "options": {"max_tokens": max_tokens}}),
        ),
        Kind::Chat => ("/v1/chat/completions", chat(false)),
        Kind::ChatStream => ("/v1/chat/completions", chat(true)),
        // Valid JSON that is not a schema: always a typed 400.
        Kind::BadSchema => (
            "/v1/extract",
            json!({"document": example.document, "schema": {"type": 5}}),
        ),
    }
}

/// Sends one request and records what came back.
fn send(client: &Client, kind: Kind, example: &Example, max_tokens: usize) -> Record {
    let (path, body) = request(kind, example, max_tokens);
    let started = Instant::now();
    let result = client.post(path, &body);
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok((status, text)) => Record::answered(kind, status, latency_ms, &text),
        Err(err) => Record::transport(kind, err.to_string()),
    }
}

/// A client thread's loop until `deadline`.
fn client_loop(
    client: &Client,
    examples: &[Example],
    seed: u64,
    deadline: Instant,
    max_tokens: usize,
) -> Vec<Record> {
    let mut rng = Rng(seed);
    let mut records = Vec::new();
    while Instant::now() < deadline {
        let example = &examples[rng.below(examples.len())];
        // Mostly extractions; some chat, streamed or not; a few refusals.
        let kind = match rng.below(20) {
            0..=11 => Kind::Extract,
            12..=14 => Kind::Chat,
            15..=17 => Kind::ChatStream,
            _ => Kind::BadSchema,
        };
        let record = send(client, kind, example, max_tokens);
        if record.status == Some(429) {
            std::thread::sleep(Duration::from_millis(200));
        }
        records.push(record);
    }
    records
}

/// What one batch job came to.
struct JobCheck {
    id: String,
    rows: usize,
    seconds: f64,
    status: String,
    /// Rows with data and rows with an error in the results.
    data: usize,
    errors: usize,
    /// Ids missing from the results, and ids there more than once or never sent.
    missing: usize,
    extra: usize,
}

impl JobCheck {
    fn exact(&self) -> bool {
        self.status == "completed"
            && self.missing == 0
            && self.extra == 0
            && self.data + self.errors == self.rows
    }

    fn to_json(&self) -> Value {
        json!({"id": self.id, "rows": self.rows, "seconds": tally::round(self.seconds),
               "status": self.status, "data_rows": self.data, "error_rows": self.errors,
               "missing": self.missing, "duplicate_or_unknown": self.extra,
               "exactly_once": self.exact()})
    }
}

/// Runs one batch job to its end and checks its results.
fn run_job(
    client: &Client,
    examples: &[Example],
    n: usize,
    rows: usize,
) -> anyhow::Result<JobCheck> {
    let schema = &examples[n % examples.len()].schema;
    let ids: Vec<String> = (0..rows).map(|i| format!("soak-{n}-{i}")).collect();
    let body = json!({
        "schema": schema,
        "rows": ids.iter().enumerate().map(|(i, id)| json!({
            "id": id, "document": examples[(n + i) % examples.len()].document,
        })).collect::<Vec<_>>(),
    });
    let started = Instant::now();
    let (status, text) = client.post("/v1/batches", &body)?;
    if status != 202 {
        bail!("creating a batch job: HTTP {status}: {text}");
    }
    let job: Value = serde_json::from_str(&text).context("the job status is not JSON")?;
    let id = job["id"].as_str().context("the job has no id")?.to_owned();
    let status = loop {
        std::thread::sleep(Duration::from_millis(500));
        let (code, text) = client.get(&format!("/v1/batches/{id}"))?;
        if code != 200 {
            bail!("job {id}: HTTP {code}: {text}");
        }
        let state: Value = serde_json::from_str(&text)?;
        let status = state["status"].as_str().unwrap_or_default().to_owned();
        if !matches!(status.as_str(), "queued" | "running") {
            break status;
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let (code, text) = client.get(&format!("/v1/batches/{id}/results"))?;
    if code != 200 {
        bail!("results of job {id}: HTTP {code}: {text}");
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let (mut data, mut errors) = (0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: Value = serde_json::from_str(line).context("a result line is not JSON")?;
        *seen
            .entry(row["id"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
        if row.get("data").is_some() {
            data += 1;
        } else if row.get("error").is_some() {
            errors += 1;
        }
    }
    let missing = ids.iter().filter(|i| !seen.contains_key(*i)).count();
    let extra = seen
        .iter()
        .map(|(k, &c)| if ids.contains(k) { c - 1 } else { c })
        .sum();
    Ok(JobCheck {
        id,
        rows,
        seconds,
        status,
        data,
        errors,
        missing,
        extra,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let examples = load_examples(&args.examples, &args.schemas, &[])?;
    let (url, pid) = match &args.url {
        Some(url) => (url.trim_end_matches('/').to_owned(), args.pid),
        None => (start_server(&args.model, args.max_batch)?, None),
    };
    let client = Client::new(&url, args.api_key.clone());
    client.wait_ready()?;

    // Warm-up: every schema compiled, both endpoints and the batch path
    // used, and as many requests in flight as the soak will have, so the
    // memory baseline holds the caches and buffers a run fills.
    eprintln!("warming up");
    for example in &examples {
        let record = send(&client, Kind::Extract, example, args.max_tokens);
        if record.status != Some(200) {
            bail!("warm-up on {}: {}", example.name, record.describe());
        }
    }
    let warm: Vec<Record> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.clients.max(1))
            .map(|c| {
                let (client, example) = (&client, &examples[c % examples.len()]);
                let kind = if c % 2 == 0 {
                    Kind::Extract
                } else {
                    Kind::ChatStream
                };
                scope.spawn(move || send(client, kind, example, args.max_tokens))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    if let Some(bad) = warm
        .iter()
        .find(|r| r.status != Some(200) && r.status != Some(429))
    {
        bail!("warm-up {}: {}", bad.kind.name(), bad.describe());
    }
    let warm_job = run_job(&client, &examples, usize::MAX / 2, 2)?;
    if !warm_job.exact() {
        bail!("the warm-up batch job is not exact: {}", warm_job.to_json());
    }
    let rss_before = rss_mib(pid);

    eprintln!(
        "soak: {} clients for {} min against {url}",
        args.clients, args.minutes
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.minutes.max(0.0) * 60.0);
    let (records, jobs) = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..args.clients.max(1))
            .map(|c| {
                let (client, examples) = (&client, &examples);
                let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(c as u64);
                scope.spawn(move || client_loop(client, examples, seed, deadline, args.max_tokens))
            })
            .collect();
        let batches = scope.spawn(|| {
            let mut jobs = Vec::new();
            let mut n = 0;
            // The last job starts before the deadline and runs to its end.
            while Instant::now() < deadline {
                jobs.push(run_job(&client, &examples, n, args.batch_rows));
                n += 1;
            }
            jobs
        });
        let records: Vec<Record> = clients
            .into_iter()
            .flat_map(|c| c.join().unwrap_or_default())
            .collect();
        (records, batches.join().unwrap_or_default())
    });
    let wall = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let rss_after = rss_mib(pid);

    let tally = Tally::new(records);
    let job_errors: Vec<String> = jobs
        .iter()
        .filter_map(|j| j.as_ref().err().map(|e| format!("{e:#}")))
        .collect();
    let checks: Vec<&JobCheck> = jobs.iter().filter_map(|j| j.as_ref().ok()).collect();
    let growth = rss_before.zip(rss_after).map(|(b, a)| (a - b) / b * 100.0);
    let mut failures = tally.failures();
    failures.extend(job_errors.iter().cloned());
    for job in checks.iter().filter(|j| !j.exact()) {
        failures.push(format!(
            "batch job {} is not exact: {}",
            job.id,
            job.to_json()
        ));
    }
    if let Some(g) = growth.filter(|g| *g > args.rss_tolerance) {
        failures.push(format!(
            "resident memory grew by {g:.1} % (allowed {} %)",
            args.rss_tolerance
        ));
    }
    let report = json!({
        "url": url,
        "model": client.model_name(),
        "clients": args.clients,
        "minutes": args.minutes,
        "wall_s": tally::round(wall.as_secs_f64()),
        "requests": tally.to_json(wall),
        "batch_jobs": checks.iter().map(|j| j.to_json()).collect::<Vec<_>>(),
        "batch_rows_exactly_once": checks.iter().all(|j| j.exact()) && job_errors.is_empty(),
        "rss_mib": {
            "before": rss_before.map(tally::round),
            "after": rss_after.map(tally::round),
            "growth_percent": growth.map(tally::round),
        },
        "failures": failures,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !failures.is_empty() {
        bail!("the soak found {} problem(s)", failures.len());
    }
    Ok(())
}
