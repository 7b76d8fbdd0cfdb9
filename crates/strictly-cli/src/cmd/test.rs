//! `strictly test [DIR]`: regression cases through the real model, a
//! field-level diff for every mismatch, a JUnit report for CI, and
//! `--update` to accept reviewed changes. See `strictly_regression::case`
//! for the layout of a case.

use std::path::PathBuf;

use anyhow::{Context, bail};
use strictly_regression::{RunOptions, to_junit};

use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Directory of cases (or one case directory).
    #[arg(default_value = "tests/extraction")]
    dir: PathBuf,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Rewrite expected.json of failing cases (and create missing ones)
    /// with the current answers, after review.
    #[arg(long)]
    update: bool,
    /// Where `schema_ref` files point (default: the nearest `schemas/`).
    #[arg(long)]
    schemas: Option<PathBuf>,
    /// Only cases whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Cases extracted at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.dir.is_dir() {
        bail!(
            "{} is not a directory of regression cases",
            args.dir.display()
        );
    }
    let concurrency = args.concurrency.max(1);
    let extractor = args.model.batch_extractor(concurrency)?;
    let options = RunOptions {
        update: args.update,
        concurrency,
        schemas_dir: args.schemas.clone(),
        filter: args.filter.clone(),
    };
    let report = strictly_regression::run(&args.dir, &extractor, &options)?;
    print!("{}", report.render_text());
    if let Some(path) = &args.junit {
        std::fs::write(path, to_junit(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !report.success() {
        std::process::exit(1);
    }
    Ok(())
}
