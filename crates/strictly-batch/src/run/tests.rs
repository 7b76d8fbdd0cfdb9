use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::extract::ExtractErrorKind;
use crate::input::CsvOptions;
use crate::output::OutputFormat;
use crate::record::RowErrorKind;
use crate::testing::EchoExtractor;

fn schema() -> Value {
    json!({"type": "object", "properties": {
        "first_word": {"type": "string"}, "words": {"type": "integer"}, "chars": {"type": "integer"}
    }})
}

fn csv_of(texts: &[&str]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "body"]).unwrap();
    for (i, t) in texts.iter().enumerate() {
        w.write_record([format!("r{}", i + 1).as_str(), t]).unwrap();
    }
    w.into_inner().unwrap()
}

fn run_once(
    input: &[u8],
    path: &Path,
    extractor: &dyn Extractor,
    concurrency: usize,
    cancel: &AtomicBool,
    observer: &dyn RunObserver,
) -> Result<Summary, BatchError> {
    let format = OutputFormat::from_path(path).unwrap();
    let (mut output, resume) = OutputFile::open(path, format, &schema())?;
    let rows = CsvRows::new(input, &CsvOptions::new("body").with_id_column("id"))?;
    Batch {
        extractor,
        schema: &schema(),
        instructions: None,
        concurrency,
        cancel,
        observer,
    }
    .run(rows, &mut output, &resume)
}

fn records(path: &Path) -> Vec<OutputRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| OutputRecord::from_json(serde_json::from_str(l).unwrap()).unwrap())
        .collect()
}

#[test]
fn every_row_is_written_once_in_input_order_with_bad_rows_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let mut input = csv_of(&["alpha beta", "", "gamma #unsatisfiable", "delta"]);
    input.extend_from_slice(b"r5,caf\xE9\nr6,last one\n");
    let extractor = EchoExtractor::new();
    let summary = run_once(&input, &path, &extractor, 3, &AtomicBool::new(false), &()).unwrap();
    assert_eq!((summary.done, summary.failed, summary.skipped), (3, 3, 0));
    assert!(!summary.cancelled);

    let got = records(&path);
    assert_eq!(
        got.iter().map(|r| r.row).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(got[0].id, "r1");
    assert_eq!(got[0].outcome, Ok(EchoExtractor::answer("alpha beta")));
    let kinds: Vec<_> = got
        .iter()
        .map(|r| r.outcome.as_ref().err().map(|e| e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            None,
            Some(RowErrorKind::EmptyText),
            Some(RowErrorKind::Extract(ExtractErrorKind::Unsatisfiable)),
            None,
            Some(RowErrorKind::NotUtf8),
            None
        ]
    );
    // Rows with input errors never reach the extractor.
    assert_eq!(extractor.calls(), 4);
}

/// Delays that make later rows finish first, to exercise the reordering.
struct Staggered(EchoExtractor);

impl Extractor for Staggered {
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError> {
        let n: u64 = request
            .document
            .trim_start_matches("doc ")
            .parse()
            .unwrap_or(0);
        std::thread::sleep(Duration::from_millis((20 - n % 20) * 2));
        self.0.extract(request)
    }
}

#[test]
fn concurrent_rows_are_written_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let texts: Vec<String> = (1..=60).map(|i| format!("doc {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let extractor = Staggered(EchoExtractor::new());
    let summary = run_once(
        &csv_of(&refs),
        &path,
        &extractor,
        8,
        &AtomicBool::new(false),
        &(),
    )
    .unwrap();
    assert_eq!(summary.done, 60);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let rows: Vec<u64> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    assert_eq!(rows, (1..=60).collect::<Vec<_>>());
}

#[test]
fn a_rerun_skips_what_is_written_and_runs_only_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let input = csv_of(&["one", "two", "three", "four", "five"]);
    // Stop after two rows, as a cancelled run would.
    let cancel = AtomicBool::new(false);
    struct StopAfter<'a>(&'a AtomicBool, u64);
    impl RunObserver for StopAfter<'_> {
        fn update(&self, p: &Progress) {
            if p.done >= self.1 {
                self.0.store(true, Ordering::Relaxed);
            }
        }
    }
    let first = EchoExtractor::new().with_delay(Duration::from_millis(30));
    let summary = run_once(&input, &path, &first, 1, &cancel, &StopAfter(&cancel, 2)).unwrap();
    assert!(summary.cancelled);
    let written = records(&path).len() as u64;
    assert!((2..5).contains(&written), "{written}");

    let second = EchoExtractor::new();
    let summary = run_once(&input, &path, &second, 2, &AtomicBool::new(false), &()).unwrap();
    assert_eq!(summary.skipped, written);
    assert_eq!(summary.done, 5 - written);
    assert_eq!(second.calls(), 5 - written);
    let mut rows: Vec<u64> = records(&path).iter().map(|r| r.row).collect();
    rows.sort_unstable();
    assert_eq!(rows, [1, 2, 3, 4, 5]);

    // A third run has nothing left to do.
    let third = EchoExtractor::new();
    let summary = run_once(&input, &path, &third, 2, &AtomicBool::new(false), &()).unwrap();
    assert_eq!((summary.done, summary.skipped, third.calls()), (0, 5, 0));
}

#[test]
fn overload_is_retried_and_a_panic_is_an_error_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let input = csv_of(&["busy #overloaded", "bad #panic", "fine"]);
    let extractor = EchoExtractor::new();
    let summary = run_once(&input, &path, &extractor, 2, &AtomicBool::new(false), &()).unwrap();
    assert_eq!((summary.done, summary.failed), (2, 1));
    let got = records(&path);
    assert_eq!(
        got[0].outcome,
        Ok(EchoExtractor::answer("busy #overloaded"))
    );
    let err = got[1].outcome.as_ref().unwrap_err();
    assert_eq!(err.kind, RowErrorKind::Extract(ExtractErrorKind::Internal));
}

/// Fails with `Unavailable` from the `n`th call on, like an engine that died.
struct DiesAfter(AtomicUsize, usize);

impl Extractor for DiesAfter {
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError> {
        if self.0.fetch_add(1, Ordering::SeqCst) >= self.1 {
            return Err(ExtractError::new(
                ExtractErrorKind::Unavailable,
                "engine stopped",
            ));
        }
        Ok(EchoExtractor::answer(request.document))
    }
}

#[test]
fn an_engine_that_stops_ends_the_run_and_leaves_the_rest_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let input = csv_of(&["a", "b", "c", "d", "e", "f"]);
    let err = run_once(
        &input,
        &path,
        &DiesAfter(AtomicUsize::new(0), 3),
        1,
        &AtomicBool::new(false),
        &(),
    )
    .unwrap_err();
    assert!(matches!(err, BatchError::Engine(_)), "{err:?}");
    assert_eq!(records(&path).len(), 3);
    assert!(records(&path).iter().all(OutputRecord::is_ok));
    let summary = run_once(
        &input,
        &path,
        &EchoExtractor::new(),
        2,
        &AtomicBool::new(false),
        &(),
    )
    .unwrap();
    assert_eq!((summary.skipped, summary.done), (3, 3));
}

#[test]
fn an_output_from_another_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    run_once(
        &csv_of(&["a", "b"]),
        &path,
        &EchoExtractor::new(),
        1,
        &AtomicBool::new(false),
        &(),
    )
    .unwrap();
    let mut other = b"id,body\nX1,a\n".to_vec();
    other.extend_from_slice(b"X2,b\n");
    let err = run_once(
        &other,
        &path,
        &EchoExtractor::new(),
        1,
        &AtomicBool::new(false),
        &(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            BatchError::Output(OutputError::DifferentInput { row: 1, .. })
        ),
        "{err:?}"
    );
}

#[test]
fn a_bad_schema_stops_before_any_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let extractor = EchoExtractor::new();
    let schema = json!({"$ref": "https://example.com/s.json"});
    let (mut output, resume) = OutputFile::open(&path, OutputFormat::Jsonl, &schema).unwrap();
    let input = csv_of(&["a"]);
    let rows = CsvRows::new(&input[..], &CsvOptions::new("body")).unwrap();
    let err = Batch {
        extractor: &extractor,
        schema: &schema,
        instructions: None,
        concurrency: 1,
        cancel: &AtomicBool::new(false),
        observer: &(),
    }
    .run(rows, &mut output, &resume)
    .unwrap_err();
    assert!(matches!(err, BatchError::Schema(_)), "{err:?}");
    assert_eq!(extractor.calls(), 0);
}
