//! `strictly tokenize`: UTF-8 text on stdin to `{"ids": [...]}` on stdout.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// A GGUF file or Hugging Face folder; default: the default model (fetched if needed).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Tokenize special-token text such as `<|im_end|>` as ordinary text instead of
    /// turning it into the special token's id.
    #[arg(long)]
    no_special: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading stdin")?;
    let text = String::from_utf8(input).context("stdin is not valid UTF-8")?;
    let source = super::model::resolve(args.model.as_deref())?;
    let tokenizer = source.tokenizer().context("loading the tokenizer")?;
    let ids = tokenizer.encode(&text, !args.no_special)?;
    super::model::print_line(&serde_json::json!({ "ids": ids }).to_string())
}
