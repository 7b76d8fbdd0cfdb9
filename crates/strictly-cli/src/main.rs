//! `strictly`: typed JSON out of documents, guaranteed to match a JSON Schema.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "strictly",
    version,
    about = "Typed JSON from documents, guaranteed to match a JSON Schema"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (extraction and OpenAI-compatible chat completions).
    Serve(cmd::serve::Args),
    /// Extract typed JSON from a document (a file, or stdin) with a JSON Schema.
    Extract(cmd::extract::Args),
    /// Extract every row of a CSV file into a JSONL or CSV file (resumable).
    Batch(cmd::batch::Args),
    /// Run the regression cases (document, schema, expected JSON) of a directory.
    Test(cmd::test::Args),
    /// Check JSON Schemas against the grammar engine without loading the model.
    Lint(cmd::lint::Args),
    /// Manage the model weights (download the default model, show what is cached).
    Model(cmd::model::Args),
    /// Tokenize UTF-8 text from stdin and print `{"ids": [...]}`.
    Tokenize(cmd::tokenize::Args),
    /// Print the top-k logits after a token sequence and its greedy continuation.
    Logits(cmd::logits::Args),
    /// Generate free text for a prompt, streamed to stdout.
    Generate(cmd::generate::Args),
    /// Measure prefill and decode speed and peak memory.
    Bench(cmd::bench::Args),
    /// Run the grammar engine over a directory of MaskBench files.
    Maskbench(cmd::maskbench::Args),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRICTLY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => cmd::serve::run(args),
        Command::Extract(args) => cmd::extract::run(args),
        Command::Batch(args) => cmd::batch::run(args),
        Command::Test(args) => cmd::test::run(args),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Model(args) => cmd::model::run(args),
        Command::Tokenize(args) => cmd::tokenize::run(args),
        Command::Logits(args) => cmd::logits::run(args),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Maskbench(args) => cmd::maskbench::run(args),
    }
}
