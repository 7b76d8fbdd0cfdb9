//! Runs the MaskBench harness with the default model's tokenizer; the same
//! as `strictly maskbench`, without building the model runtime.
//!
//! ```text
//! cargo run -p strictly-grammar --example maskbench -- DIR [--json] [--timeout-s N]
//!     [--filter SUBSTRING] [--only LIST] [--details FILE] [--stats FILE]
//!     [--ratchet FILE]
//! ```
//!
//! `--only` reads file names (the first tab-separated field of each line,
//! as in `--details` and `--stats` output); `--stats` writes one line per
//! file: name, TTFM, slowest mask, masks, total mask time (µs) and masks
//! over 500 µs. `--ratchet` checks the per-file statuses against a
//! committed file (see `maskbench::check_ratchet`): exit status 1 when a
//! file got worse, the file updated when some got better.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use strictly_grammar::maskbench::{self, BenchOptions, Status};
use strictly_grammar::{Factory, Vocabulary};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut json = false;
    let mut timeout = 900u64;
    let mut filter = String::new();
    let mut details: Option<PathBuf> = None;
    let mut only: Option<Vec<String>> = None;
    let mut stats: Option<PathBuf> = None;
    let mut ratchet: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json = true,
            "--timeout-s" => timeout = args.next().ok_or("--timeout-s N")?.parse()?,
            "--filter" => filter = args.next().ok_or("--filter S")?,
            "--details" => details = Some(args.next().ok_or("--details FILE")?.into()),
            "--stats" => stats = Some(args.next().ok_or("--stats FILE")?.into()),
            "--ratchet" => ratchet = Some(args.next().ok_or("--ratchet FILE")?.into()),
            "--only" => {
                let list = std::fs::read_to_string(args.next().ok_or("--only FILE")?)?;
                only = Some(
                    list.lines()
                        .map(|l| l.split('\t').next().unwrap_or("").to_string())
                        .collect(),
                );
            }
            d => dir = Some(PathBuf::from(d)),
        }
    }
    let dir = dir.ok_or("usage: maskbench DIR [--json] [--timeout-s N]")?;
    let path = strictly_model::fetch::ensure_default_model()?;
    let gguf = strictly_model::gguf::GgufFile::open(&path)?;
    let tok = strictly_model::tokenizer::Tokenizer::from_gguf_for_model(&gguf)?;
    let eos = tok.im_end().ok_or("no <|im_end|>")?;
    let vocab = Vocabulary::new(tok.vocab_entries(), vec![eos])?;
    let factory = Factory::new(vocab);
    let tok = Arc::new(tok);
    let tokenize: Arc<maskbench::Tokenize> =
        Arc::new(move |s: &str| tok.encode(s, false).map_err(|e| e.to_string()));
    let files: Vec<PathBuf> = maskbench::list_files(&dir)?
        .into_iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.contains(&filter) && only.as_ref().is_none_or(|o| o.iter().any(|x| *x == n))
            })
        })
        .collect();
    let opts = BenchOptions {
        timeout: Duration::from_secs(timeout),
        ..Default::default()
    };
    let mut done = 0;
    let total = files.len();
    let mut detail_lines = Vec::new();
    let mut stat_lines = Vec::new();
    let report = maskbench::run_dir(&factory, &files, tokenize, &opts, &mut |o| {
        done += 1;
        stat_lines.push(o.stats_line());
        if o.status != Status::Passing {
            detail_lines.push(o.detail_line());
        }
        if done % 500 == 0 {
            eprintln!("{done}/{total}");
        }
    });
    if let Some(p) = stats {
        std::fs::write(p, stat_lines.join("\n") + "\n")?;
    }
    if let Some(p) = details {
        std::fs::write(p, detail_lines.join("\n") + "\n")?;
    }
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.table());
    }
    if let Some(p) = ratchet {
        let r = maskbench::check_ratchet(&p, &report)?;
        if let Err(e) = r.report(&p) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    Ok(())
}
