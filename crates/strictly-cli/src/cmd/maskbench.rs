//! `strictly maskbench DIR`: the grammar engine over a directory of
//! MaskBench files, with the model's tokenizer, single-threaded.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use strictly_grammar::maskbench::{self, BenchOptions, Status};
use strictly_grammar::{Factory, Vocabulary};
use strictly_model::gguf::GgufFile;
use strictly_model::source::ModelSource;

#[derive(clap::Args)]
pub struct Args {
    /// Directory of MaskBench `.json` files.
    dir: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Time limit per file, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout_s: u64,
    /// A GGUF file or Hugging Face folder; default: the default model (fetched if needed).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Write one line per file that did not pass (name, status, reason).
    #[arg(long)]
    details: Option<PathBuf>,
    /// Committed per-file statuses: fail when a file got worse, record the
    /// files that got better.
    #[arg(long)]
    ratchet: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let source = super::model::resolve(args.model.as_deref())?;
    let mut tokenizer = source.tokenizer().context("loading the tokenizer")?;
    // Masks span the model's embedding rows, which can outnumber the tokens.
    let rows = match &source {
        ModelSource::Gguf(p) => GgufFile::open(p)?
            .tensor_info("token_embd.weight")
            .and_then(|t| t.shape().first().copied()),
        _ => None,
    };
    tokenizer.pad_vocab(rows.unwrap_or(tokenizer.vocab_size()));
    let eos = tokenizer
        .im_end()
        .context("the tokenizer has no <|im_end|>")?;
    let vocab = Vocabulary::new(tokenizer.vocab_entries(), vec![eos])?;
    let factory = Factory::new(vocab);
    let tokenizer = Arc::new(tokenizer);
    let tokenize: Arc<maskbench::Tokenize> =
        Arc::new(move |s: &str| tokenizer.encode(s, false).map_err(|e| e.to_string()));
    let files = maskbench::list_files(&args.dir)
        .with_context(|| format!("reading {}", args.dir.display()))?;
    let opts = BenchOptions {
        timeout: Duration::from_secs(args.timeout_s),
        ..Default::default()
    };
    let mut failures = Vec::new();
    let report = maskbench::run_dir(&factory, &files, tokenize, &opts, &mut |o| {
        if o.status != Status::Passing {
            failures.push(o.detail_line());
        }
    });
    if let Some(p) = &args.details {
        std::fs::write(p, failures.join("\n") + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.table());
    }
    if let Some(p) = &args.ratchet {
        let r = maskbench::check_ratchet(p, &report)?;
        for w in &r.worse {
            eprintln!("worse: {w}");
        }
        if !r.worse.is_empty() {
            anyhow::bail!("{} file(s) got worse than {}", r.worse.len(), p.display());
        }
        if r.updated {
            eprintln!(
                "{} file(s) got better; {} updated",
                r.better.len(),
                p.display()
            );
        }
    }
    Ok(())
}
