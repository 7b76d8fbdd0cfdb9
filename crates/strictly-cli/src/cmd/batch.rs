//! `strictly batch`: a CSV of documents through one schema, one result per
//! row in a JSONL or CSV file.
//!
//! Everything cheap is checked before the model loads (the schema parses,
//! the columns exist, the output can be resumed), so a typo in a column
//! name fails in milliseconds. The output is append-only and synced: run
//! the same command again after an interruption, even `kill -9`, and it
//! continues where it stopped, every row exactly once.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use strictly_batch::{Batch, BatchProgress, CsvOptions, CsvRows, OutputFile, OutputFormat};

use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The CSV file of documents; `-` reads stdin.
    #[arg(long)]
    input: PathBuf,
    /// The JSON Schema every row is extracted with.
    #[arg(long)]
    schema: PathBuf,
    /// Header of the column holding the document text.
    #[arg(long)]
    text_column: String,
    /// Header of the column holding a row id (default: row numbers).
    #[arg(long)]
    id_column: Option<String>,
    /// Results file, `.jsonl` or `.csv` (default: `<input>.results.jsonl`).
    /// Rerunning with the same file skips the rows it already holds.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Rows extracted at once; the engine decodes them as one batch.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Field separator: one character, or `tab`.
    #[arg(long, default_value = ",", value_parser = parse_delimiter)]
    delimiter: u8,
    /// Replaces the default extraction instructions.
    #[arg(long)]
    instructions: Option<String>,
    /// Answer tokens allowed per row.
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Exit non-zero when any row failed (by default only a run that could
    /// not go on fails).
    #[arg(long)]
    fail_on_error: bool,
    #[command(flatten)]
    model: ModelArgs,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        other => Err(format!(
            "the delimiter must be one ASCII character or `tab`, got {other:?}"
        )),
    }
}

/// `<input>.results.jsonl` next to the input.
fn default_output(input: &Path) -> anyhow::Result<PathBuf> {
    if input.as_os_str() == "-" {
        bail!("reading stdin needs --output FILE (the output is what makes a run resumable)");
    }
    let mut name = input.file_stem().unwrap_or_default().to_os_string();
    name.push(".results.jsonl");
    Ok(input.with_file_name(name))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let schema_text = std::fs::read_to_string(&args.schema)
        .with_context(|| format!("reading {}", args.schema.display()))?;
    let schema: serde_json::Value = serde_json::from_str(&schema_text)
        .with_context(|| format!("{} is not JSON", args.schema.display()))?;

    let mut options = CsvOptions::new(&args.text_column).with_delimiter(args.delimiter);
    if let Some(id) = &args.id_column {
        options = options.with_id_column(id);
    }
    let (input, total_bytes): (Box<dyn Read>, Option<u64>) = if args.input.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file =
            File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    let rows = CsvRows::new(input, &options)
        .with_context(|| format!("reading {}", args.input.display()))?;

    let output_path = match &args.output {
        Some(path) => path.clone(),
        None => default_output(&args.input)?,
    };
    let format = OutputFormat::from_path(&output_path)?;
    let (mut output, resume) = OutputFile::open(&output_path, format, &schema)
        .with_context(|| format!("opening {}", output_path.display()))?;
    if !resume.done.is_empty() {
        eprintln!(
            "resuming: {} rows already in {}",
            resume.done.len(),
            output_path.display()
        );
    }

    let concurrency = args.concurrency.max(1);
    let mut extractor = args.model.batch_extractor(concurrency)?;
    if let Some(n) = args.max_tokens {
        extractor = extractor.with_max_tokens(n);
    }

    let progress = BatchProgress::new(total_bytes);
    let result = Batch {
        extractor: &extractor,
        schema: &schema,
        instructions: args.instructions.as_deref(),
        concurrency,
        cancel: &AtomicBool::new(false),
        observer: &progress,
    }
    .run(rows, &mut output, &resume);
    progress.finish();
    let summary = result?;
    eprintln!("{summary}; results in {}", output_path.display());
    if args.fail_on_error && summary.failed > 0 {
        bail!("{} rows failed (--fail-on-error)", summary.failed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_default_output() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert!(parse_delimiter(";;").is_err());
        assert_eq!(
            default_output(Path::new("data/rows.csv")).unwrap(),
            Path::new("data/rows.results.jsonl")
        );
        assert!(default_output(Path::new("-")).is_err());
    }
}
