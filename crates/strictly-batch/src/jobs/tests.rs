use std::time::Instant;

use serde_json::{Value, json};

use super::*;
use crate::store::{JsonRow, json_rows};
use crate::testing::EchoExtractor;

fn spec() -> JobSpec {
    JobSpec {
        schema: json!({"type": "object"}),
        instructions: None,
    }
}

fn rows(n: u64) -> impl Iterator<Item = Result<InputRow, InputError>> {
    json_rows((1..=n).map(|i| JsonRow {
        id: Some(format!("r{i}")),
        document: Some(format!("document number {i}")),
    }))
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn config() -> RunnerConfig {
    RunnerConfig {
        concurrency: 3,
        page: 4,
        retry_delay: Duration::from_millis(20),
    }
}

#[test]
fn a_submitted_job_runs_to_completion() {
    let store = Arc::new(BatchStore::open_in_memory().unwrap());
    let runner = JobRunner::start(store.clone(), Arc::new(EchoExtractor::new()), config()).unwrap();
    let mut with_empty: Vec<JsonRow> = (1..=9)
        .map(|i| JsonRow {
            id: None,
            document: Some(format!("document number {i}")),
        })
        .collect();
    with_empty.push(JsonRow {
        id: None,
        document: None,
    });
    let id = runner.submit(&spec(), json_rows(with_empty)).unwrap().id;
    wait_for("completion", || {
        store.job(&id).unwrap().status == JobStatus::Completed
    });
    let info = store.job(&id).unwrap();
    assert_eq!(
        (info.total, info.done, info.failed, info.pending),
        (10, 9, 1, 0)
    );
    let results = store.results(&id, 0, 100).unwrap();
    assert_eq!(
        results[2].outcome,
        Ok(EchoExtractor::answer("document number 3"))
    );
}

#[test]
fn a_bad_schema_is_refused_at_submission() {
    let store = Arc::new(BatchStore::open_in_memory().unwrap());
    let runner = JobRunner::start(store.clone(), Arc::new(EchoExtractor::new()), config()).unwrap();
    let spec = JobSpec {
        schema: json!({"$ref": "https://example.com/schema.json"}),
        instructions: None,
    };
    assert!(matches!(
        runner.submit(&spec, rows(2)),
        Err(SubmitError::Schema(_))
    ));
    assert!(store.list(10).unwrap().is_empty());
}

#[test]
fn a_restart_in_the_middle_of_a_job_resumes_it_with_nothing_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    let store = Arc::new(BatchStore::open(&path).unwrap());
    let first = Arc::new(EchoExtractor::new().with_delay(Duration::from_millis(15)));
    let runner = JobRunner::start(store.clone(), first.clone(), config()).unwrap();
    let id = runner.submit(&spec(), rows(40)).unwrap().id;
    wait_for("some rows", || store.job(&id).unwrap().done >= 8);
    runner.shutdown();
    drop(store);

    // Simulate a crash rather than a clean stop: the job is left running.
    let store = Arc::new(BatchStore::open(&path).unwrap());
    let before = store.job(&id).unwrap();
    assert!(before.pending > 0, "{before:?}");
    store
        .transition(&id, JobStatus::Queued, JobStatus::Running, None)
        .unwrap();

    let second = Arc::new(EchoExtractor::new());
    let runner = JobRunner::start(store.clone(), second.clone(), config()).unwrap();
    wait_for("completion", || {
        store.job(&id).unwrap().status == JobStatus::Completed
    });
    drop(runner);
    let info = store.job(&id).unwrap();
    assert_eq!((info.done, info.failed, info.pending), (40, 0, 0));
    // The second run did only what was left.
    assert_eq!(second.calls(), before.pending);
    let results = store.results(&id, 0, 100).unwrap();
    assert_eq!(
        results.iter().map(|r| r.row).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    let mut docs = first.documents();
    docs.extend(second.documents());
    docs.sort();
    docs.dedup();
    assert!(docs.len() >= 40);
}

#[test]
fn cancelling_stops_a_running_job_and_keeps_what_is_done() {
    let store = Arc::new(BatchStore::open_in_memory().unwrap());
    let extractor = Arc::new(EchoExtractor::new().with_delay(Duration::from_millis(10)));
    let runner = JobRunner::start(store.clone(), extractor.clone(), config()).unwrap();
    let id = runner.submit(&spec(), rows(200)).unwrap().id;
    wait_for("some rows", || store.job(&id).unwrap().done >= 3);
    assert_eq!(runner.cancel(&id).unwrap().status, JobStatus::Cancelled);
    // Rows in flight may still land; after that nothing moves.
    std::thread::sleep(Duration::from_millis(100));
    let settled = store.job(&id).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(store.job(&id).unwrap().done, settled.done);
    assert_eq!(settled.status, JobStatus::Cancelled);
    assert!(settled.pending > 100, "{settled:?}");
    // A later job still runs.
    let next = runner.submit(&spec(), rows(2)).unwrap().id;
    wait_for("the next job", || {
        store.job(&next).unwrap().status == JobStatus::Completed
    });
}

/// Unavailable until switched on, like an engine still loading.
struct Flaky(AtomicBool);

impl Extractor for Flaky {
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError> {
        if self.0.load(Ordering::SeqCst) {
            Ok(EchoExtractor::answer(request.document))
        } else {
            Err(ExtractError::new(
                crate::ExtractErrorKind::Unavailable,
                "loading",
            ))
        }
    }
}

#[test]
fn a_job_waits_while_the_engine_is_unavailable() {
    let store = Arc::new(BatchStore::open_in_memory().unwrap());
    let flaky = Arc::new(Flaky(AtomicBool::new(false)));
    let runner = JobRunner::start(store.clone(), flaky.clone(), config()).unwrap();
    let id = runner.submit(&spec(), rows(5)).unwrap().id;
    std::thread::sleep(Duration::from_millis(60));
    let info = store.job(&id).unwrap();
    assert_eq!((info.done, info.failed), (0, 0), "{info:?}");
    assert_ne!(info.status, JobStatus::Failed);
    flaky.0.store(true, Ordering::SeqCst);
    wait_for("completion", || {
        store.job(&id).unwrap().status == JobStatus::Completed
    });
    assert_eq!(store.job(&id).unwrap().done, 5);
}
