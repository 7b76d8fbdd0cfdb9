//! `strictly-fuzz TARGET... [--seconds N | --iterations N] [--seed S]`:
//! runs the stable fuzz loops from the checked-in corpus and prints one
//! report per target; exits non-zero when any finding is made, writing each
//! finding's smallest input under `--findings DIR`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use strictly_fuzz::{Budget, read_corpus, run, targets};

#[derive(Parser)]
#[command(about = "Fuzz loops over strictly's input parsers and grammar engine")]
struct Args {
    /// Targets to run (schema, gguf, csv, http); all when none is given.
    targets: Vec<String>,
    /// Time budget per target.
    #[arg(long)]
    seconds: Option<u64>,
    /// Iteration budget per target (reproducible with the same seed).
    #[arg(long)]
    iterations: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder with one corpus folder per target.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus"))]
    corpus: PathBuf,
    /// Where findings' inputs are written.
    #[arg(long, default_value = "target/fuzz-findings")]
    findings: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let names: Vec<String> = if args.targets.is_empty() {
        targets::NAMES.iter().map(|s| s.to_string()).collect()
    } else {
        args.targets.clone()
    };
    let budget = Budget {
        iterations: args.iterations,
        time: args
            .seconds
            .map(Duration::from_secs)
            .or(match args.iterations {
                Some(_) => None,
                None => Some(Duration::from_secs(60)),
            }),
    };
    let mut found = 0;
    for name in &names {
        let mut target = targets::by_name(name).with_context(|| format!("starting {name}"))?;
        let dir = args.corpus.join(name);
        let seeds = read_corpus(&dir).with_context(|| format!("reading {}", dir.display()))?;
        let report = run(target.as_mut(), seeds, args.seed, budget);
        println!("{report}");
        for (i, finding) in report.findings.iter().enumerate() {
            let dir = args.findings.join(name);
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("finding-{i}.bin"));
            std::fs::write(&path, &finding.input)?;
            println!("  input of finding {i}: {}", path.display());
        }
        found += report.findings.len();
    }
    if found > 0 {
        bail!("{found} findings");
    }
    Ok(())
}
