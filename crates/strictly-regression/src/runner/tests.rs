use std::fs;

use serde_json::{Value, json};
use strictly_batch::{ExtractError, ExtractErrorKind};

use super::*;

/// Answers `{"text": <document>, "n": <length>}`; documents starting with
/// "FAIL" fail as unsatisfiable.
struct Fixed;

impl Extractor for Fixed {
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError> {
        if request.document.starts_with("FAIL") {
            return Err(ExtractError::new(
                ExtractErrorKind::Unsatisfiable,
                "no answer fits",
            ));
        }
        Ok(json!({"text": request.document, "n": request.document.len()}))
    }
}

fn case(root: &Path, name: &str, document: &str, expected: Option<Value>) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("document.txt"), document).unwrap();
    fs::write(dir.join("schema.json"), r#"{"type": "object"}"#).unwrap();
    if let Some(e) = expected {
        fs::write(dir.join("expected.json"), e.to_string()).unwrap();
    }
    dir
}

#[test]
fn passes_fails_with_a_diff_and_reports_errors() {
    let root = tempfile::tempdir().unwrap();
    case(
        root.path(),
        "a-pass",
        "hello",
        Some(json!({"text": "hello", "n": 5})),
    );
    case(
        root.path(),
        "b-fail",
        "hello",
        Some(json!({"text": "Hello", "n": 5})),
    );
    case(root.path(), "c-error", "FAIL now", Some(json!({})));
    case(root.path(), "d-new", "fresh", None);
    let options = RunOptions {
        concurrency: 3,
        ..RunOptions::default()
    };
    let report = run(root.path(), &Fixed, &options).unwrap();
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a-pass", "b-fail", "c-error", "d-new"]);
    assert_eq!(report.cases[0].outcome, CaseOutcome::Passed);
    assert_eq!(
        report.cases[1].outcome,
        CaseOutcome::Failed(vec![Mismatch {
            pointer: "/text".into(),
            expected: Some(json!("Hello")),
            got: Some(json!("hello")),
        }])
    );
    assert!(
        matches!(&report.cases[2].outcome, CaseOutcome::Error { kind, .. } if kind == "unsatisfiable")
    );
    assert!(
        matches!(&report.cases[3].outcome, CaseOutcome::Error { kind, .. } if kind == "no_expected")
    );
    assert!(!report.success());
    let text = report.render_text();
    assert!(text.contains("FAIL    b-fail"), "{text}");
    assert!(
        text.contains("          /text: expected \"Hello\", got \"hello\""),
        "{text}"
    );
    assert!(text.contains("1 passed, 1 failed, 2 errors in "), "{text}");
}

#[test]
fn tolerances_make_a_near_miss_pass() {
    let root = tempfile::tempdir().unwrap();
    let dir = case(
        root.path(),
        "c",
        "hello",
        Some(json!({"text": "HELLO", "n": 5})),
    );
    fs::write(
        dir.join("tolerances.json"),
        r#"{"/text": {"case_insensitive": true}}"#,
    )
    .unwrap();
    let report = run(root.path(), &Fixed, &RunOptions::default()).unwrap();
    assert!(report.success(), "{}", report.render_text());
}

#[test]
fn update_rewrites_only_what_changed_and_then_passes() {
    let root = tempfile::tempdir().unwrap();
    let same = case(
        root.path(),
        "same",
        "abc",
        Some(json!({"text": "abc", "n": 3})),
    );
    let changed = case(
        root.path(),
        "changed",
        "abc",
        Some(json!({"text": "old", "n": 3})),
    );
    let new = case(root.path(), "new", "xy", None);
    let before = fs::metadata(same.join("expected.json"))
        .unwrap()
        .modified()
        .unwrap();
    let update = RunOptions {
        update: true,
        ..RunOptions::default()
    };
    let report = run(root.path(), &Fixed, &update).unwrap();
    let outcomes: Vec<(&str, &CaseOutcome)> = report
        .cases
        .iter()
        .map(|c| (c.name.as_str(), &c.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("changed", &CaseOutcome::Updated { created: false }),
            ("new", &CaseOutcome::Updated { created: true }),
            ("same", &CaseOutcome::Passed),
        ]
    );
    assert!(report.success());
    assert_eq!(
        fs::metadata(same.join("expected.json"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    let written: Value =
        serde_json::from_str(&fs::read_to_string(changed.join("expected.json")).unwrap()).unwrap();
    assert_eq!(written, json!({"text": "abc", "n": 3}));
    assert!(new.join("expected.json").exists());
    let again = run(root.path(), &Fixed, &RunOptions::default()).unwrap();
    assert_eq!(again.passed(), 3);
}

#[test]
fn filter_and_empty_directories() {
    let root = tempfile::tempdir().unwrap();
    case(
        root.path(),
        "invoice-1",
        "a",
        Some(json!({"text": "a", "n": 1})),
    );
    case(
        root.path(),
        "receipt-1",
        "b",
        Some(json!({"text": "b", "n": 1})),
    );
    let options = RunOptions {
        filter: Some("receipt".into()),
        ..RunOptions::default()
    };
    let report = run(root.path(), &Fixed, &options).unwrap();
    assert_eq!(report.cases.len(), 1);
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        run(empty.path(), &Fixed, &RunOptions::default()),
        Err(RunError::NoCases(_))
    ));
    assert!(matches!(
        run(
            &empty.path().join("missing"),
            &Fixed,
            &RunOptions::default()
        ),
        Err(RunError::Dir { .. })
    ));
}

#[test]
fn a_broken_case_is_an_error_not_a_crash() {
    let root = tempfile::tempdir().unwrap();
    let dir = case(root.path(), "broken", "a", None);
    fs::write(dir.join("expected.json"), "{").unwrap();
    let report = run(root.path(), &Fixed, &RunOptions::default()).unwrap();
    assert!(
        matches!(&report.cases[0].outcome, CaseOutcome::Error { kind, .. } if kind == "invalid_json")
    );
    let xml = crate::to_junit(&report);
    assert!(xml.contains("type=\"invalid_json\""), "{xml}");
}
