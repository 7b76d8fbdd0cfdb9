//! `strictly maskbench DIR`: the grammar engine over a directory of
//! MaskBench files, with the model's tokenizer, single-threaded; with
//! `--generate`, generation conformance over the same files (`generate`).

mod generate;

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
    /// Generation conformance instead: for every schema that compiles, the
    /// pre-flight's answer and `--walks` random walks inside the mask, each
    /// judged by the validator; fails unless none is refused, stuck or
    /// invalid.
    #[arg(long)]
    generate: bool,
    /// Random walks per schema (with `--generate`).
    #[arg(long, default_value_t = 3)]
    walks: u64,
    /// Tokens a walk and the pre-flight may take (with `--generate`).
    #[arg(long, default_value_t = 1024)]
    max_tokens: usize,
    #[command(flatten)]
    compile_budget: super::budget::CompileBudget,
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
    let budget = args.compile_budget.duration();
    if args.generate {
        return run_generate(&args, &factory, &files, budget);
    }
    let opts = BenchOptions {
        timeout: Duration::from_secs(args.timeout_s),
        json: strictly_grammar::JsonOptions::lenient().with_time_budget(budget),
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
        r.report(p).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

fn run_generate(
    args: &Args,
    factory: &Arc<Factory>,
    files: &[PathBuf],
    budget: Duration,
) -> anyhow::Result<()> {
    let settings = generate::Settings {
        walks: args.walks,
        max_tokens: args.max_tokens,
        budget,
    };
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    let fig = generate::run(factory, files, settings, &mut |_| bar.inc(1));
    bar.finish_and_clear();
    if let Some(p) = &args.details {
        std::fs::write(p, fig.failures.join("\n") + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if args.json {
        println!("{}", generate::to_json(&fig));
    } else {
        print!("{}", fig.table());
        for f in fig.failures.iter().take(20) {
            eprintln!("{f}");
        }
    }
    if !fig.passed() {
        anyhow::bail!(
            "{} refused, {} stuck, {} invalid",
            fig.refused,
            fig.stuck,
            fig.invalid
        );
    }
    Ok(())
}
