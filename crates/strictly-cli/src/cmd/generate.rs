//! `strictly generate`: text for a prompt, streamed to stdout as it is
//! decoded (greedy), through the model's own chat template; free, or held
//! to a GBNF grammar (`--grammar`), a regex (`--regex`) or a choice
//! (`--choice`).
//!
//! It runs on the same engine as `serve` and `extract`, so there is one
//! generation loop to trust and to measure.

use std::io::{Read, Write};

use anyhow::Context;
use strictly_engine::{
    ChatMessage, Constraint, EngineConfig, Event, GenerateRequest, Role, TextFormat,
};

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
    /// A GBNF grammar file the answer follows, or `@name` of a shipped
    /// grammar (`@json`, `@sql_select`, …).
    #[arg(long, group = "format")]
    grammar: Option<String>,
    /// A regex the whole answer matches.
    #[arg(long, group = "format")]
    regex: Option<String>,
    /// The answer is exactly one of these (repeat the flag).
    #[arg(long, group = "format")]
    choice: Vec<String>,
    #[command(flatten)]
    model: ModelArgs,
}

impl Args {
    /// The constraint the flags ask for; a grammar path is read here.
    fn constraint(&self) -> anyhow::Result<Constraint> {
        Ok(match (&self.grammar, &self.regex) {
            (Some(g), _) if g.starts_with('@') => Constraint::Text(TextFormat::Gbnf(g.clone())),
            (Some(path), _) => Constraint::Text(TextFormat::Gbnf(
                std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
            )),
            (None, Some(r)) => Constraint::Text(TextFormat::Regex(r.clone())),
            (None, None) if !self.choice.is_empty() => {
                Constraint::Text(TextFormat::Choice(self.choice.clone()))
            }
            (None, None) => Constraint::None,
        })
    }
}

/// The engine request for the command's arguments.
fn request(
    prompt: String,
    system: Option<String>,
    raw: bool,
    max_tokens: usize,
) -> GenerateRequest {
    let request = if raw {
        GenerateRequest::raw(prompt)
    } else {
        let mut messages = Vec::new();
        if let Some(system) = system {
            messages.push(ChatMessage::new(Role::System, system));
        }
        messages.push(ChatMessage::new(Role::User, prompt));
        GenerateRequest::new(messages)
    };
    request.with_max_tokens(max_tokens.max(1))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let constraint = args.constraint()?;
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
    let parts = args.model.load_parts()?;
    let config = EngineConfig {
        max_batch: 1,
        interactive_slots: 0,
        ..args.model.engine_config()
    };
    let engine = parts.start(config, None)?;
    let request =
        request(prompt, args.system, args.raw, args.max_tokens).with_constraint(constraint);
    let mut events = engine.submit(request)?;
    let mut out = std::io::stdout().lock();
    // Token texts arrive already cut at UTF-8 character boundaries.
    while let Some(event) = events.blocking_next() {
        match event {
            Event::Token(token) => {
                out.write_all(token.text.as_bytes())?;
                out.flush()?;
            }
            Event::Done(_) => break,
            Event::Error(err) => return Err(err.into()),
        }
    }
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_and_raw_requests() {
        let chat = request("hi".into(), Some("be brief".into()), false, 0);
        assert_eq!(chat.messages.len(), 2);
        assert_eq!(chat.messages[0].role, Role::System);
        assert!(!chat.raw);
        assert_eq!(chat.max_tokens, Some(1));
        let raw = request("<|im_start|>hi".into(), None, true, 7);
        assert!(raw.raw);
        assert_eq!(raw.messages[0].content, "<|im_start|>hi");
        assert_eq!(raw.max_tokens, Some(7));
    }
}
