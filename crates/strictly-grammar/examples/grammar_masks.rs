//! Mask times of the shipped grammars (`grammars/`) with the default
//! model's vocabulary: compile time, time to the first mask, and the
//! median, p99 and slowest mask along seeded random walks.
//!
//! ```text
//! cargo run -p strictly-grammar --example grammar_masks [WALKS]
//! ```

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strictly_grammar::library::GRAMMARS;
use strictly_grammar::{Factory, TokenMask, Vocabulary};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let walks: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20);
    let path = strictly_model::fetch::ensure_default_model()?;
    let gguf = strictly_model::gguf::GgufFile::open(&path)?;
    let tok = strictly_model::tokenizer::Tokenizer::from_gguf_for_model(&gguf)?;
    let eos = tok.im_end().ok_or("no <|im_end|>")?;
    let factory = Factory::new(Vocabulary::new(tok.vocab_entries(), vec![eos])?);
    let mut mask = TokenMask::new(factory.vocab().len());
    println!("grammar              compile ms  first mask ms  masks   p50 µs   p99 µs   max µs");
    for g in GRAMMARS {
        let t0 = Instant::now();
        let grammar = factory.compile_gbnf(g.text)?;
        let compile = t0.elapsed();
        let mut m = factory.matcher(&grammar);
        let t1 = Instant::now();
        m.compute_mask_into(&mut mask);
        let first = t1.elapsed();
        let mut times = Vec::new();
        for seed in 0..walks {
            let mut rng = StdRng::seed_from_u64(seed);
            m.reset();
            for _ in 0..60 {
                let t = Instant::now();
                m.compute_mask_into(&mut mask);
                times.push(t.elapsed().as_secs_f64() * 1e6);
                let allowed: Vec<u32> = mask.iter().collect();
                let pick = allowed[rng.random_range(0..allowed.len())];
                if factory.vocab().is_eos(pick) {
                    break;
                }
                m.commit_token(pick)?;
            }
        }
        times.sort_by(f64::total_cmp);
        let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
        println!(
            "{:<20} {:>10.2} {:>14.2} {:>6} {:>8.1} {:>8.1} {:>8.1}",
            g.name,
            compile.as_secs_f64() * 1e3,
            first.as_secs_f64() * 1e3,
            times.len(),
            q(0.5),
            q(0.99),
            times[times.len() - 1]
        );
    }
    Ok(())
}
