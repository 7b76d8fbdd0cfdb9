//! `strictly logits`: the top-k logits after a token sequence and its greedy
//! continuation, as JSON — the shape reference comparisons use.

use anyhow::{Context, bail};
use strictly_model::host::{argmax, to_f32_vec, top_k};

use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Comma-separated prompt token ids, e.g. `151644,8948,198`.
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    tokens: Vec<u32>,
    /// How many of the largest logits at the last prompt position to print.
    #[arg(long, default_value_t = 20)]
    top_k: usize,
    /// Greedy continuation length (exactly this many tokens; end-of-turn
    /// tokens do not stop it, so runs compare position by position).
    #[arg(long, default_value_t = 0)]
    greedy: usize,
    /// Prompt tokens per prefill call.
    #[arg(long, default_value_t = 512)]
    chunk: usize,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.tokens.is_empty() {
        bail!("--tokens needs at least one id");
    }
    let rt = args.model.load()?;
    let model = &rt.model;
    let mut cache = model.new_cache(args.tokens.len() + args.greedy);
    let logits = model
        .prefill(&args.tokens, &mut cache, args.chunk)
        .context("running the prompt")?;
    let mut logits = to_f32_vec(logits)?;
    let top: Vec<(u32, f32)> = top_k(&logits, args.top_k);
    let mut greedy = Vec::with_capacity(args.greedy);
    for _ in 0..args.greedy {
        let next = argmax(&logits).context("empty logits")?;
        greedy.push(next);
        logits = to_f32_vec(model.decode(&[next], &mut [&mut cache])?)?;
    }
    println!(
        "{}",
        serde_json::json!({
            "top": top.iter().map(|&(id, l)| serde_json::json!([id, l])).collect::<Vec<_>>(),
            "greedy": greedy,
        })
    );
    Ok(())
}
