//! The MaskBench harness: compile each file's schema, force every test
//! instance through a matcher token by token (computing the full mask before
//! each token), and check end-of-sequence at the end.
//!
//! Instances are serialized as Python's `json.dumps(data, ensure_ascii=False)`
//! does (`", "` and `": "` separators, shortest float repr), since that is
//! how the benchmark's instances are defined. Tokenization is a callback so
//! that this crate stays independent of any tokenizer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::factory::Factory;
use crate::json::JsonOptions;
use crate::mask::TokenMask;

/// Tokenizes an instance's text.
pub type Tokenize = dyn Fn(&str) -> Result<Vec<u32>, String> + Send + Sync;

/// Harness settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Time allowed per file (compilation and all instances).
    pub timeout: Duration,
    pub json: JsonOptions,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            timeout: Duration::from_secs(900),
            json: JsonOptions::lenient(),
        }
    }
}

/// How one file ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passing,
    CompileError,
    Timeout,
    Crash,
    ValidationError,
    InvalidationError,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Passing => "passing",
            Status::CompileError => "compile_error",
            Status::Timeout => "timeout",
            Status::Crash => "crash",
            Status::ValidationError => "validation_error",
            Status::InvalidationError => "invalidation_error",
        }
    }
}

/// The result of one file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub name: String,
    pub status: Status,
    /// Why it did not pass (compile error text, failing instance...).
    pub detail: String,
    pub ttfm_us: Option<f64>,
    pub tbm_us: Vec<f32>,
}

impl FileOutcome {
    /// `name  status  detail`, tab-separated on one line: what `--details`
    /// writes for a file that did not pass.
    pub fn detail_line(&self) -> String {
        format!(
            "{}\t{}\t{}",
            self.name,
            self.status.as_str(),
            self.detail.replace('\n', " ")
        )
    }

    /// `name  ttfm  slowest mask  masks  total mask time  masks over 500 µs`
    /// (times in µs), tab-separated: what `--stats` writes for every file.
    pub fn stats_line(&self) -> String {
        let max = self.tbm_us.iter().copied().fold(0.0f32, f32::max);
        let sum: f32 = self.tbm_us.iter().sum();
        let slow = self.tbm_us.iter().filter(|&&x| x > 500.0).count();
        format!(
            "{}\t{:.0}\t{:.0}\t{}\t{:.0}\t{slow}",
            self.name,
            self.ttfm_us.unwrap_or(0.0),
            max,
            self.tbm_us.len(),
            sum,
        )
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below
/// 1e-4 and from 1e16 on.
fn python_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp >= 0 {
            let int_len = exp + 1;
            if n <= int_len {
                format!("{sign}{}{}.0", digits, "0".repeat((int_len - n) as usize))
            } else {
                format!(
                    "{sign}{}.{}",
                    &digits[..int_len as usize],
                    &digits[int_len as usize..]
                )
            }
        } else {
            format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        }
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let es = if exp < 0 { "-" } else { "+" };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// `json.dumps(v, ensure_ascii=False)`.
pub fn python_json(v: &Value) -> String {
    let mut out = String::new();
    write_py(v, &mut out);
    out
}

fn write_py(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                out.push_str(&python_float(n.as_f64().unwrap_or(0.0)));
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => {
            let mut bytes = Vec::new();
            bytes.push(b'"');
            crate::regex::encode_str(s, &mut bytes);
            bytes.push(b'"');
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py(&Value::String(k.clone()), out);
                out.push_str(": ");
                write_py(x, out);
            }
            out.push('}');
        }
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Runs one MaskBench file given as parsed JSON.
pub fn run_file(
    factory: &Arc<Factory>,
    name: &str,
    file: &Value,
    tokenize: &Tokenize,
    opts: &BenchOptions,
    abort: &AtomicBool,
) -> FileOutcome {
    let mut out = FileOutcome {
        name: name.to_string(),
        status: Status::Passing,
        detail: String::new(),
        ttfm_us: None,
        tbm_us: Vec::new(),
    };
    let Some(schema) = file.get("schema") else {
        out.status = Status::CompileError;
        out.detail = "no schema".into();
        return out;
    };
    let eos = factory.vocab().eos_ids().first().copied();
    let t0 = Instant::now();
    let grammar = match factory.compile_json_schema(schema, &opts.json) {
        Ok(g) => g,
        Err(e) => {
            out.status = Status::CompileError;
            out.detail = e.to_string();
            return out;
        }
    };
    let mut m = factory.matcher(&grammar);
    let mut mask = TokenMask::new(factory.vocab().len());
    m.compute_mask_into(&mut mask);
    out.ttfm_us = Some(us(t0.elapsed()));
    let tests = file
        .get("tests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (ti, t) in tests.iter().enumerate() {
        if abort.load(Ordering::Relaxed) {
            out.status = Status::Timeout;
            return out;
        }
        let valid = t.get("valid").and_then(Value::as_bool).unwrap_or(false);
        let text = python_json(t.get("data").unwrap_or(&Value::Null));
        let tokens = match tokenize(&text) {
            Ok(t) => t,
            Err(e) => {
                out.status = Status::Crash;
                out.detail = format!("tokenizer: {e}");
                return out;
            }
        };
        m.reset();
        let mut accepted = true;
        let mut fail_at = None;
        for (i, &tok) in tokens.iter().enumerate() {
            let s = Instant::now();
            m.compute_mask_into(&mut mask);
            out.tbm_us.push(us(s.elapsed()) as f32);
            if !mask.contains(tok) {
                accepted = false;
                fail_at = Some(i);
                break;
            }
            if let Err(e) = m.commit_token(tok) {
                out.status = Status::Crash;
                out.detail = format!("test {ti}: token {tok} in the mask but not committed: {e}");
                return out;
            }
        }
        if accepted {
            let s = Instant::now();
            m.compute_mask_into(&mut mask);
            out.tbm_us.push(us(s.elapsed()) as f32);
            accepted = eos.is_some_and(|e| mask.contains(e));
        }
        if valid && !accepted && out.status == Status::Passing {
            out.status = Status::ValidationError;
            let prefix = match fail_at {
                Some(i) => tokens[..i]
                    .iter()
                    .map(|&t| String::from_utf8_lossy(factory.vocab().token_bytes(t)).into_owned())
                    .collect::<String>(),
                None => text.clone(),
            };
            out.detail = format!("test {ti} rejected after {:?}", truncate(&prefix, 300));
        }
        if !valid && accepted {
            out.status = Status::InvalidationError;
            out.detail = format!("test {ti} accepted: {}", truncate(&text, 300));
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Percentiles in microseconds, as reported.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Percentiles {
    pub avg: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(mut v: Vec<f64>) -> Percentiles {
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |p: f64| v[((p / 100.0) * (v.len() - 1) as f64).round() as usize];
        Percentiles {
            avg: v.iter().sum::<f64>() / v.len() as f64,
            p50: at(50.0),
            p75: at(75.0),
            p90: at(90.0),
            p95: at(95.0),
            p99: at(99.0),
            p999: at(99.9),
            max: v[v.len() - 1],
        }
    }
}

/// Totals over a directory.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub outcomes: Vec<FileOutcome>,
}

impl Report {
    pub fn count(&self, s: &Status) -> usize {
        self.outcomes.iter().filter(|o| o.status == *s).count()
    }

    pub fn tbm(&self) -> Percentiles {
        Percentiles::of(
            self.outcomes
                .iter()
                .flat_map(|o| o.tbm_us.iter().map(|&x| x as f64))
                .collect(),
        )
    }

    pub fn ttfm(&self) -> Percentiles {
        Percentiles::of(self.outcomes.iter().filter_map(|o| o.ttfm_us).collect())
    }

    /// The summary object: counts and timing percentiles.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "files": self.outcomes.len(),
            "passing": self.count(&Status::Passing),
            "compile_error": self.count(&Status::CompileError),
            "timeout": self.count(&Status::Timeout),
            "crash": self.count(&Status::Crash),
            "validation_error": self.count(&Status::ValidationError),
            "invalidation_error": self.count(&Status::InvalidationError),
            "tbm_us": self.tbm(),
            "ttfm_us": self.ttfm(),
        })
    }

    /// A human-readable table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let n = self.outcomes.len().max(1) as f64;
        s.push_str(&format!("{:<20}{:>10}\n", "files", self.outcomes.len()));
        for st in [
            Status::Passing,
            Status::CompileError,
            Status::Timeout,
            Status::Crash,
            Status::ValidationError,
            Status::InvalidationError,
        ] {
            let c = self.count(&st);
            s.push_str(&format!(
                "{:<20}{:>10}{:>9.1} %\n",
                st.as_str(),
                c,
                100.0 * c as f64 / n
            ));
        }
        s.push_str(&format!(
            "\n{:<8}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n",
            "µs", "avg", "p50", "p75", "p90", "p95", "p99", "p99.9", "max"
        ));
        for (name, p) in [("TBM", self.tbm()), ("TTFM", self.ttfm())] {
            s.push_str(&format!(
                "{:<8}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}\n",
                name, p.avg, p.p50, p.p75, p.p90, p.p95, p.p99, p.p999, p.max
            ));
        }
        s
    }

    /// File name → status, the shape of the committed ratchet.
    pub fn statuses(&self) -> Value {
        let mut m = serde_json::Map::new();
        let mut sorted: Vec<&FileOutcome> = self.outcomes.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for o in sorted {
            m.insert(o.name.clone(), Value::String(o.status.as_str().into()));
        }
        Value::Object(m)
    }
}

/// MaskBench files in `dir`, sorted by name.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Runs every file, one at a time, each on a worker thread so that a file
/// past its time limit is reported as a timeout (the worker is told to stop
/// and abandoned) and a panic as a crash. `on_file` sees each outcome.
pub fn run_dir(
    factory: &Arc<Factory>,
    files: &[PathBuf],
    tokenize: Arc<Tokenize>,
    opts: &BenchOptions,
    on_file: &mut dyn FnMut(&FileOutcome),
) -> Report {
    let mut report = Report::default();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = run_isolated(factory, path, &name, tokenize.clone(), opts);
        on_file(&outcome);
        report.outcomes.push(outcome);
    }
    report
}

fn run_isolated(
    factory: &Arc<Factory>,
    path: &Path,
    name: &str,
    tokenize: Arc<Tokenize>,
    opts: &BenchOptions,
) -> FileOutcome {
    let fail = |status: Status, detail: String| FileOutcome {
        name: name.to_string(),
        status,
        detail,
        ttfm_us: None,
        tbm_us: Vec::new(),
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return fail(Status::Crash, format!("reading: {e}")),
    };
    let file: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return fail(Status::Crash, format!("parsing: {e}")),
    };
    let abort = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let (f, n, o, a) = (
        factory.clone(),
        name.to_string(),
        opts.clone(),
        abort.clone(),
    );
    let spawned = std::thread::Builder::new()
        .name("maskbench".into())
        .stack_size(64 << 20)
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_file(&f, &n, &file, &*tokenize, &o, &a)
            }));
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return fail(Status::Crash, format!("spawning: {e}"));
    }
    match rx.recv_timeout(opts.timeout) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(p)) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            fail(Status::Crash, format!("panic: {msg}"))
        }
        Err(_) => {
            abort.store(true, Ordering::Relaxed);
            fail(Status::Timeout, format!("over {:?}", opts.timeout))
        }
    }
}

/// Compares a run with the committed expectations (file name → status):
/// returns the files that got worse and those that got better. Worse is a
/// passing file that no longer passes, or a file that newly crashes, times
/// out or accepts an invalid instance; better is a file that newly passes.
/// Files absent from the run (a filtered run) are not compared.
pub fn ratchet(expected: &Value, report: &Report) -> (Vec<String>, Vec<String>) {
    let mut worse = Vec::new();
    let mut better = Vec::new();
    for o in &report.outcomes {
        let before = expected.get(&o.name).and_then(Value::as_str);
        let now = o.status.as_str();
        let alarming = matches!(
            o.status,
            Status::Crash | Status::Timeout | Status::InvalidationError
        );
        match before {
            Some(b) if b == now => {}
            Some("passing") => worse.push(format!("{}: passing → {now} ({})", o.name, o.detail)),
            Some(b) if alarming => worse.push(format!("{}: {b} → {now} ({})", o.name, o.detail)),
            None if alarming => worse.push(format!("{}: new file, {now} ({})", o.name, o.detail)),
            _ if now == "passing" => better.push(o.name.clone()),
            _ => {}
        }
    }
    (worse, better)
}

/// Why a ratchet file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RatchetError {
    #[error("reading or writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a JSON object of file name → status: {reason}")]
    Format { path: String, reason: String },
}

/// What a ratchet check found.
#[derive(Debug, Default)]
pub struct RatchetOutcome {
    /// Files that got worse (the check fails when any).
    pub worse: Vec<String>,
    /// Files that got better (recorded in the file when nothing got worse).
    pub better: Vec<String>,
    /// Whether the file was rewritten.
    pub updated: bool,
}

impl RatchetOutcome {
    /// Prints each file that got worse and what was recorded to stderr;
    /// `Err` with a one-line summary when anything got worse.
    pub fn report(&self, path: &Path) -> Result<(), String> {
        for w in &self.worse {
            eprintln!("worse: {w}");
        }
        if !self.worse.is_empty() {
            return Err(format!(
                "{} file(s) got worse than {}",
                self.worse.len(),
                path.display()
            ));
        }
        if self.updated {
            eprintln!(
                "{} file(s) got better; {} updated",
                self.better.len(),
                path.display()
            );
        }
        Ok(())
    }
}

/// Checks `report` against the ratchet file at `path`: a regression is
/// reported and leaves the file alone; otherwise improvements (and files
/// not recorded yet) are written back, so the file only ever gets better.
/// A missing file is created from the run.
pub fn check_ratchet(path: &Path, report: &Report) -> Result<RatchetOutcome, RatchetError> {
    let p = path.display().to_string();
    let mut expected = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str::<Value>(&text).map_err(|e| RatchetError::Format {
            path: p.clone(),
            reason: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Object(Default::default()),
        Err(source) => return Err(RatchetError::Io { path: p, source }),
    };
    let Some(map) = expected.as_object_mut() else {
        return Err(RatchetError::Format {
            path: p,
            reason: "not an object".into(),
        });
    };
    let probe = Value::Object(map.clone());
    let (worse, better) = ratchet(&probe, report);
    let mut out = RatchetOutcome {
        worse,
        better,
        updated: false,
    };
    if !out.worse.is_empty() {
        return Ok(out);
    }
    let mut changed = false;
    for o in &report.outcomes {
        let now = Value::String(o.status.as_str().into());
        if map.get(&o.name) != Some(&now) {
            map.insert(o.name.clone(), now);
            changed = true;
        }
    }
    if changed {
        let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut text = String::from("{\n");
        for (i, (k, v)) in sorted.iter().enumerate() {
            let sep = if i + 1 < sorted.len() { "," } else { "" };
            text.push_str(&format!("  {}: {}{sep}\n", Value::String((*k).clone()), v));
        }
        text.push_str("}\n");
        std::fs::write(path, text).map_err(|source| RatchetError::Io { path: p, source })?;
        out.updated = true;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_serialization() {
        let v: Value = serde_json::from_str(
            r#"{"a": [1, 2.5, 1e-05, 1e20, 100.0, 0.1, -3], "b": "é\n\"x\"\u0001", "c": {}}"#,
        )
        .unwrap();
        assert_eq!(
            python_json(&v),
            r#"{"a": [1, 2.5, 1e-05, 1e+20, 100.0, 0.1, -3], "b": "é\n\"x\"\u0001", "c": {}}"#
        );
        assert_eq!(python_float(1234567890123456.0), "1234567890123456.0");
        assert_eq!(python_float(12345678901234567.0), "1.2345678901234568e+16");
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(0.00001234), "1.234e-05");
        let _ = json!(null);
    }

    fn outcome(name: &str, status: Status) -> FileOutcome {
        FileOutcome {
            name: name.into(),
            status,
            detail: String::new(),
            ttfm_us: None,
            tbm_us: Vec::new(),
        }
    }

    #[test]
    fn ratchet_fails_on_regressions_and_records_improvements() {
        let dir = std::env::temp_dir().join(format!("ratchet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("expected.json");
        std::fs::write(
            &path,
            r#"{"a.json": "passing", "b.json": "compile_error", "c.json": "validation_error"}"#,
        )
        .unwrap();
        // c gets better, b unchanged: recorded.
        let report = Report {
            outcomes: vec![
                outcome("a.json", Status::Passing),
                outcome("b.json", Status::CompileError),
                outcome("c.json", Status::Passing),
            ],
        };
        let r = check_ratchet(&path, &report).unwrap();
        assert!(r.worse.is_empty() && r.updated);
        assert_eq!(r.better, vec!["c.json".to_string()]);
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(saved["c.json"], "passing");
        // a regresses, b now accepts an invalid instance: both fail, file kept.
        let report = Report {
            outcomes: vec![
                outcome("a.json", Status::ValidationError),
                outcome("b.json", Status::InvalidationError),
            ],
        };
        let before = std::fs::read_to_string(&path).unwrap();
        let r = check_ratchet(&path, &report).unwrap();
        assert_eq!(r.worse.len(), 2);
        assert!(!r.updated);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn percentiles() {
        let p = Percentiles::of((1..=100).map(|x| x as f64).collect());
        assert_eq!(p.max, 100.0);
        assert!((p.p50 - 50.0).abs() <= 1.0);
        assert!((p.avg - 50.5).abs() < 1e-9);
    }
}
