//! `compute_mask` over the default model's vocabulary (151,936 ids) at the
//! kinds of positions that dominate MaskBench: the start of an instance,
//! inside a free string (the shared inside-token cache), inside a property
//! name next to literal names, after a number (a full trie walk from an
//! accepting lexer state) and inside a bounded string. Run with
//! `cargo bench -p strictly-grammar --bench compute_mask`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use strictly_grammar::{Factory, JsonOptions, TokenMask, Vocabulary};

fn factory() -> Arc<Factory> {
    let path = strictly_model::fetch::ensure_default_model().expect("default model");
    let gguf = strictly_model::gguf::GgufFile::open(&path).expect("GGUF");
    let tok = strictly_model::tokenizer::Tokenizer::from_gguf_for_model(&gguf).expect("tokenizer");
    let eos = tok.im_end().expect("<|im_end|>");
    Factory::new(Vocabulary::new(tok.vocab_entries(), vec![eos]).expect("vocabulary"))
}

fn bench(c: &mut Criterion) {
    let f = factory();
    let schema = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "count": {"type": "integer"},
            "note": {"type": "string", "maxLength": 20}
        },
        "additionalProperties": {"type": "number"}
    });
    let g = f
        .compile_json_schema(&schema, &JsonOptions::lenient())
        .expect("compiles");
    let cases: [(&str, &[u8]); 6] = [
        ("start", b""),
        ("property name", b"{\"na"),
        ("free string", b"{\"name\": \"Hello wor"),
        ("pattern string", b"{\"code\": \"A"),
        ("after a number", b"{\"count\": 12"),
        ("bounded string", b"{\"note\": \"abcdefghijklmno"),
    ];
    let mut mask = TokenMask::new(f.vocab().len());
    for (name, prefix) in cases {
        let mut m = f.matcher(&g);
        m.commit_bytes(prefix).expect("prefix is valid");
        // Warm the shared caches once, as a running service has them.
        m.compute_mask_into(&mut mask);
        c.bench_function(&format!("compute_mask/{name}"), |b| {
            b.iter(|| {
                m.compute_mask_into(&mut mask);
                black_box(mask.count())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
