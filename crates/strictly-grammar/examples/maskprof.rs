//! Prints the slow masks of one MaskBench file: the instance prefix and the
//! lexer position before each mask slower than a threshold.
//!
//! ```text
//! cargo run --release -p strictly-grammar --example maskprof -- FILE [MIN_US]
//! ```

use std::time::Instant;

use strictly_grammar::maskbench::python_json;
use strictly_grammar::{Factory, JsonOptions, TokenMask, Vocabulary};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args.next().ok_or("usage: maskprof FILE [MIN_US]")?;
    let min_us: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(500.0);
    let path = strictly_model::fetch::ensure_default_model()?;
    let gguf = strictly_model::gguf::GgufFile::open(&path)?;
    let tok = strictly_model::tokenizer::Tokenizer::from_gguf_for_model(&gguf)?;
    let eos = tok.im_end().ok_or("no <|im_end|>")?;
    let vocab = Vocabulary::new(tok.vocab_entries(), vec![eos])?;
    let factory = Factory::new(vocab);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    let t0 = Instant::now();
    let g = factory.compile_json_schema(&v["schema"], &JsonOptions::lenient())?;
    let tc = t0.elapsed();
    let mut m = factory.matcher(&g);
    let mut mask = TokenMask::new(factory.vocab().len());
    m.compute_mask_into(&mut mask);
    println!(
        "compile {:?} first mask {:?} lexemes {}",
        tc,
        t0.elapsed() - tc,
        g.grammar().num_lexemes()
    );
    let tests = v["tests"].as_array().cloned().unwrap_or_default();
    for (ti, t) in tests.iter().enumerate() {
        let text = python_json(&t["data"]);
        let toks = tok.encode(&text, false)?;
        m.reset();
        let mut prefix = Vec::new();
        for &id in &toks {
            let pos = m.debug_position();
            let s = Instant::now();
            m.compute_mask_into(&mut mask);
            let us = s.elapsed().as_secs_f64() * 1e6;
            if us >= min_us {
                let p = String::from_utf8_lossy(&prefix);
                let tail: String = p
                    .chars()
                    .rev()
                    .take(60)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                println!("t{ti} {us:8.0}us {} | {tail:?} | {pos}", mask.count());
            }
            if !mask.contains(id) || m.commit_token(id).is_err() {
                break;
            }
            prefix.extend_from_slice(factory.vocab().token_bytes(id));
        }
    }
    Ok(())
}
