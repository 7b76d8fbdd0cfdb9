//! `kill -9` in the middle of a run, then a rerun: every row exactly once.
//!
//! The child is this test binary itself, re-run with `--exact
//! child_batch_run` and an environment variable telling it where to work,
//! so no extra binary is needed. The parent kills it with SIGKILL once some
//! rows are on disk, several times over, then finishes the run and checks
//! the output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use strictly_batch::testing::EchoExtractor;
use strictly_batch::{Batch, CsvOptions, CsvRows, OutputFile, OutputFormat, OutputRecord};

const ROWS: u64 = 300;
const CHILD_ENV: &str = "STRICTLY_BATCH_KILL_TEST_OUTPUT";

fn schema() -> serde_json::Value {
    serde_json::json!({"type": "object", "properties": {
        "first_word": {"type": "string"}, "words": {"type": "integer"}, "chars": {"type": "integer"}
    }})
}

fn input_path(output: &Path) -> PathBuf {
    output.with_file_name("input.csv")
}

fn write_input(path: &Path) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(["id", "body"]).unwrap();
    for i in 1..=ROWS {
        // Quoted newlines and commas in every row, to make torn records
        // as awkward as they get.
        let body = format!("document {i}\nwith \"quotes\", commas\nand lines");
        w.write_record([format!("doc-{i}"), body]).unwrap();
    }
    w.flush().unwrap();
}

/// One batch run over the input into `output`; slow enough to be killed.
fn run_batch(output: &Path, delay: Duration) {
    let format = OutputFormat::from_path(output).unwrap();
    let (mut out, resume) = OutputFile::open(output, format, &schema()).unwrap();
    let file = std::fs::File::open(input_path(output)).unwrap();
    let rows = CsvRows::new(file, &CsvOptions::new("body").with_id_column("id")).unwrap();
    let extractor = EchoExtractor::new().with_delay(delay);
    Batch {
        extractor: &extractor,
        schema: &schema(),
        instructions: None,
        concurrency: 4,
        cancel: &AtomicBool::new(false),
        observer: &(),
    }
    .run(rows, &mut out, &resume)
    .unwrap();
}

/// The child's side: does nothing in a normal test run.
#[test]
fn child_batch_run() {
    if let Ok(output) = std::env::var(CHILD_ENV) {
        run_batch(Path::new(&output), Duration::from_millis(20));
    }
}

fn spawn_child(output: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_batch_run",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, output)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Rows (by `_row` / `row`) in the output, in file order.
fn written_rows(output: &Path) -> Vec<(u64, String)> {
    match OutputFormat::from_path(output).unwrap() {
        OutputFormat::Jsonl => std::fs::read_to_string(output)
            .unwrap()
            .lines()
            .map(|l| {
                let r = OutputRecord::from_json(serde_json::from_str(l).unwrap()).unwrap();
                assert!(r.is_ok(), "{r:?}");
                (r.row, r.id)
            })
            .collect(),
        OutputFormat::Csv => csv::Reader::from_path(output)
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                assert_eq!(r.len(), 7, "{r:?}");
                assert!(r[5].is_empty(), "{r:?}");
                (r[0].parse().unwrap(), r[1].to_owned())
            })
            .collect(),
    }
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

fn kill_and_resume(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join(name);
    write_input(&input_path(&output));
    let lines_per_row = if name.ends_with(".csv") { 3 } else { 1 };
    for round in 1..=4usize {
        let mut child = spawn_child(&output);
        // Kill once this round has added some rows.
        let target = round * 40 * lines_per_row;
        let deadline = Instant::now() + Duration::from_secs(60);
        while count_lines(&output) < target && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if round == 2 {
            // A power cut can also leave half a record behind.
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&output)
                .unwrap();
            let torn: &[u8] = if name.ends_with(".csv") {
                b"999,doc-999,\"half a\nquoted"
            } else {
                b"{\"row\":999,\"id\":\"doc-999\",\"da"
            };
            f.write_all(torn).unwrap();
        }
    }
    let before = written_rows_tolerant(&output);
    assert!(
        before < ROWS as usize,
        "the child finished before it was killed"
    );
    run_batch(&output, Duration::ZERO);

    let rows = written_rows(&output);
    let mut numbers: Vec<u64> = rows.iter().map(|(r, _)| *r).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=ROWS).collect::<Vec<_>>(),
        "{name}: each row exactly once"
    );
    assert!(rows.iter().all(|(r, id)| *id == format!("doc-{r}")));
    assert!(std::fs::read(&output).unwrap().ends_with(b"\n"));
}

/// Complete records before the final run (the tail may be torn).
fn written_rows_tolerant(output: &Path) -> usize {
    let bytes = std::fs::read(output).unwrap();
    if output.extension().is_some_and(|e| e == "csv") {
        bytes.iter().filter(|&&c| c == b'\n').count() / 3
    } else {
        bytes.iter().filter(|&&c| c == b'\n').count()
    }
}

#[test]
fn kill_9_mid_run_then_rerun_gives_every_row_once_jsonl() {
    kill_and_resume("out.jsonl");
}

#[test]
fn kill_9_mid_run_then_rerun_gives_every_row_once_csv() {
    kill_and_resume("out.csv");
}
