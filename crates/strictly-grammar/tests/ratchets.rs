//! The committed ratchets, run with the default model's tokenizer: no file
//! may do worse than the status recorded for it, none may crash or time out,
//! and none may accept an invalid instance.
//!
//! - MaskBench: the committed sample (`maskbench/sample/`, every 40th file of
//!   the dev set, with their valid and invalid instances) against
//!   `maskbench/dev-expected.json`; the whole dev set is checked the same way
//!   by `strictly maskbench DIR --ratchet crates/strictly-grammar/maskbench/dev-expected.json`.
//! - The JSON Schema Test Suite, draft 2020-12 (`jsts/`, both the required
//!   and the optional folder) against `jsts/<folder>-expected.json`; update
//!   them with `strictly maskbench crates/strictly-grammar/jsts/<folder>
//!   --ratchet crates/strictly-grammar/jsts/<folder>-expected.json`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use strictly_grammar::maskbench::{self, BenchOptions, Status};

mod support;

/// Runs every file of `folder` and compares with the ratchet `expected`
/// (both relative to this crate); returns the report.
fn check(folder: &str, expected: &str, min_files: usize) -> maskbench::Report {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = maskbench::list_files(&root.join(folder)).expect("the folder");
    assert!(
        files.len() >= min_files,
        "{folder} holds {} files",
        files.len()
    );
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(expected)).expect("the ratchet file"),
    )
    .expect("the ratchet file is JSON");

    let (factory, tokenize) = support::model_factory();
    let opts = BenchOptions {
        timeout: Duration::from_secs(120),
        ..BenchOptions::default()
    };
    let report = maskbench::run_dir(factory, &files, tokenize.clone(), &opts, &mut |_| {});

    let (worse, better) = maskbench::ratchet(&recorded, &report);
    assert!(
        worse.is_empty(),
        "worse than recorded in {expected}:\n{}",
        worse.join("\n")
    );
    assert!(
        better.is_empty(),
        "better than recorded (update {expected} with `strictly maskbench {folder} --ratchet`): {better:?}"
    );
    for bad in [Status::Crash, Status::Timeout, Status::InvalidationError] {
        assert_eq!(report.count(&bad), 0, "{folder}: {}", bad.as_str());
    }
    eprintln!(
        "{folder}: {} files, {} passing; mask p50 {:.1} µs",
        files.len(),
        report.count(&Status::Passing),
        report.tbm().p50
    );
    report
}

#[test]
fn the_committed_maskbench_sample_does_no_worse_than_recorded() {
    check("maskbench/sample", "maskbench/dev-expected.json", 150);
}

#[test]
fn the_json_schema_test_suite_does_no_worse_than_recorded() {
    check("jsts/draft2020-12", "jsts/draft2020-12-expected.json", 383);
}

#[test]
fn the_suite_optional_tests_do_no_worse_than_recorded() {
    check(
        "jsts/draft2020-12-optional",
        "jsts/draft2020-12-optional-expected.json",
        78,
    );
}
