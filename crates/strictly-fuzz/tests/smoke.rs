//! A short, seeded run of every fuzz target: the checked-in corpus and the
//! inputs derived from it with seed 1 must give no finding. The long runs
//! are `just fuzz` (ten minutes per target).

use strictly_fuzz::{Budget, read_corpus, run, targets};

fn fuzz(name: &str, iterations: u64) {
    let mut target = targets::by_name(name).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    let seeds = read_corpus(&dir).unwrap();
    assert!(!seeds.is_empty(), "no corpus in {}", dir.display());
    let report = run(
        target.as_mut(),
        seeds,
        1,
        Budget {
            iterations: Some(iterations),
            time: None,
        },
    );
    eprintln!("{report}");
    assert_eq!(report.executions, iterations);
    assert!(report.findings.is_empty(), "{report}");
}

#[test]
fn schema_compilation_and_generation() {
    fuzz("schema", 2000);
}

#[test]
fn grammars_and_regexes() {
    fuzz("grammar", 3000);
}

#[test]
fn gguf_files() {
    fuzz("gguf", 20_000);
}

#[test]
fn csv_rows() {
    fuzz("csv", 20_000);
}

#[test]
fn http_bodies() {
    fuzz("http", 300);
}
