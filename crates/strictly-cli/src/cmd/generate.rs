//! `strictly generate`: free text for a prompt, streamed to stdout as it is
//! decoded (greedy), through the model's own chat template.

use std::io::{Read, Write};

use anyhow::Context;
use strictly_model::chat::Message;
use strictly_model::host::{argmax, to_f32_vec};

use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The user message (default: read from stdin).
    prompt: Option<String>,
    /// System message placed before the user turn.
    #[arg(long)]
    system: Option<String>,
    /// Feed the prompt as is, without the chat template.
    #[arg(long)]
    raw: bool,
    /// Stop after this many new tokens.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let prompt = match args.prompt {
        Some(p) => p,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the prompt from stdin")?;
            text
        }
    };
    let rt = args.model.load()?;
    let tokenizer = rt.source.tokenizer().context("loading the tokenizer")?;
    let text = if args.raw {
        prompt
    } else {
        let template = rt
            .source
            .chat_template()
            .context("loading the chat template")?;
        let mut messages = Vec::new();
        if let Some(system) = args.system {
            messages.push(Message::new("system", system));
        }
        messages.push(Message::new("user", prompt));
        template.render(&messages, true)?
    };
    let ids = tokenizer.encode(&text, true)?;
    let stop = tokenizer.eos_ids();

    let model = &rt.model;
    let mut cache = model.new_cache(ids.len() + args.max_tokens);
    let mut logits = to_f32_vec(model.prefill(&ids, &mut cache, 512)?)?;
    let mut out = std::io::stdout().lock();
    // Tokens can end inside a UTF-8 sequence; hold bytes until they form text.
    let mut pending: Vec<u8> = Vec::new();
    for _ in 0..args.max_tokens {
        let next = argmax(&logits).context("empty logits")?;
        if stop.contains(&next) {
            break;
        }
        if !tokenizer.is_special(next) {
            pending.extend_from_slice(tokenizer.token_bytes(next));
            let valid = match std::str::from_utf8(&pending) {
                Ok(s) => s.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => pending.len(), // not UTF-8 at all: pass the bytes through
            };
            out.write_all(&pending[..valid])?;
            out.flush()?;
            pending.drain(..valid);
        }
        if cache.len() >= cache.max_len() {
            break;
        }
        logits = to_f32_vec(model.decode(&[next], &mut [&mut cache])?)?;
    }
    out.write_all(&pending)?;
    writeln!(out)?;
    Ok(())
}
