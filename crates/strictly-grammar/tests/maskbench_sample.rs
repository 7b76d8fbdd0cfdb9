//! The MaskBench ratchet on the committed sample (`maskbench/sample/`, every
//! 40th file of the dev set, with their valid and invalid instances), run
//! with the default model's tokenizer: no file may do worse than the status
//! recorded in `maskbench/dev-expected.json`, and none may crash, time out or
//! accept an invalid instance. The whole dev set is checked the same way by
//! `strictly maskbench DIR --ratchet crates/strictly-grammar/maskbench/dev-expected.json`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use strictly_grammar::maskbench::{self, BenchOptions, Status};
use strictly_grammar::{Factory, Vocabulary};

fn factory_and_tokenizer() -> (Arc<Factory>, Arc<maskbench::Tokenize>) {
    let path = strictly_model::fetch::ensure_default_model().expect("the default model");
    let gguf = strictly_model::gguf::GgufFile::open(&path).expect("a readable GGUF");
    let tok =
        strictly_model::tokenizer::Tokenizer::from_gguf_for_model(&gguf).expect("its tokenizer");
    let eos = tok.im_end().expect("<|im_end|>");
    let vocab = Vocabulary::new(tok.vocab_entries(), vec![eos]).expect("a vocabulary");
    let tok = Arc::new(tok);
    let tokenize: Arc<maskbench::Tokenize> =
        Arc::new(move |s: &str| tok.encode(s, false).map_err(|e| e.to_string()));
    (Factory::new(vocab), tokenize)
}

#[test]
fn the_committed_sample_does_no_worse_than_recorded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("maskbench");
    let files = maskbench::list_files(&root.join("sample")).expect("the sample folder");
    assert!(files.len() > 150, "the sample holds {} files", files.len());
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("dev-expected.json")).expect("the ratchet file"),
    )
    .expect("the ratchet file is JSON");

    let (factory, tokenize) = factory_and_tokenizer();
    let opts = BenchOptions {
        timeout: Duration::from_secs(120),
        ..BenchOptions::default()
    };
    let report = maskbench::run_dir(&factory, &files, tokenize, &opts, &mut |_| {});

    let (worse, better) = maskbench::ratchet(&expected, &report);
    assert!(
        worse.is_empty(),
        "worse than recorded:\n{}",
        worse.join("\n")
    );
    assert!(
        better.is_empty(),
        "better than recorded (update maskbench/dev-expected.json with \
         `strictly maskbench DIR --ratchet`): {better:?}"
    );
    for bad in [Status::Crash, Status::Timeout, Status::InvalidationError] {
        assert_eq!(report.count(&bad), 0, "{}", bad.as_str());
    }
    let passing = report.count(&Status::Passing);
    eprintln!(
        "{} files, {passing} passing; mask p50 {:.1} µs",
        files.len(),
        report.tbm().p50
    );
}
