//! `strictly extract --schema schema.json [FILE|-]`: one document to typed
//! JSON on stdout, through the same engine the server uses. Errors go to
//! stderr with a non-zero exit.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use strictly_engine::{GenerateRequest, SamplingParams};

use super::runtime::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The JSON Schema the answer must match.
    #[arg(long)]
    schema: PathBuf,
    /// The document (plain text); `-` or nothing reads stdin.
    file: Option<PathBuf>,
    /// Replaces the default extraction instructions.
    #[arg(long)]
    instructions: Option<String>,
    /// Answer tokens allowed.
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Sampling temperature (0, the default, is greedy).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Seed for reproducible sampling.
    #[arg(long)]
    seed: Option<u64>,
    /// Indent the JSON.
    #[arg(long)]
    pretty: bool,
    /// Print `{"data": …, "fields": …}`: the answer and, per JSON Pointer,
    /// where each value is in the document and the model's confidence (as
    /// `/v1/extract` returns them).
    #[arg(long)]
    json: bool,
    /// Print token counts and timings to stderr.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let schema_text = std::fs::read_to_string(&args.schema)
        .with_context(|| format!("reading {}", args.schema.display()))?;
    let schema: serde_json::Value = serde_json::from_str(&schema_text)
        .with_context(|| format!("{} is not JSON", args.schema.display()))?;
    let document = read_document(args.file.as_ref())?;
    let source = args.json.then(|| document.clone());
    let parts = args.model.load_parts()?;
    let config = args.model.engine_config();
    let engine = parts.start(config, None)?;
    let mut request = GenerateRequest::extraction(schema, document, args.instructions.as_deref())
        .with_sampling(SamplingParams {
            temperature: args.temperature,
            seed: args.seed,
            ..SamplingParams::default()
        });
    request.max_tokens = args.max_tokens;
    let done = engine.submit(request)?.wait()?;
    let fields = source.map(|document| strictly_engine::evidence::fields(&document, &done));
    let mut json = done.json.context("the answer is not JSON")?;
    if let Some(fields) = fields {
        let fields: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(pointer, e)| Ok((pointer, serde_json::to_value(e)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        json = serde_json::json!({"data": json, "fields": fields});
    }
    let text = if args.pretty {
        serde_json::to_string_pretty(&json)?
    } else {
        json.to_string()
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    if args.stats {
        let (u, t) = (done.usage, done.timings);
        eprintln!(
            "prompt {} tokens ({} cached), answer {} tokens ({} forced), {:.0} ms (prefill {:.0}, decode {:.0}, mask {:.1}), finish {}",
            u.prompt_tokens,
            u.cached_prompt_tokens,
            u.completion_tokens,
            u.forced_tokens,
            t.total_ms,
            t.prefill_ms,
            t.decode_ms,
            t.mask_ms,
            done.finish_reason.as_str()
        );
    }
    Ok(())
}

fn read_document(file: Option<&PathBuf>) -> anyhow::Result<String> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the document from stdin")?;
            Ok(text)
        }
    }
}
