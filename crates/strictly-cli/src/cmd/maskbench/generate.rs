//! `strictly maskbench DIR --generate`: generation conformance. For every
//! schema the engine compiles (with the service's options and the model's
//! vocabulary): the pre-flight's shortest answer, then seeded random walks
//! that pick uniformly among the tokens the mask allows (end of sequence
//! included once the answer may end) until the walk ends. Every answer is
//! judged by the `jsonschema` crate exactly as the service judges answers.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use strictly_grammar::{Factory, JsonOptions, TokenMask};

/// Bytes the pre-flight may spend per token of budget (as the service does).
const BYTES_PER_TOKEN: usize = 64;

/// Harness settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Random walks per schema.
    pub walks: u64,
    /// Tokens a walk (and the pre-flight) may take.
    pub max_tokens: usize,
    /// Compile time budget per schema.
    pub budget: std::time::Duration,
}

/// What the run found; `stuck`, `invalid` and `refused` must be 0.
#[derive(Debug, Default, serde::Serialize)]
pub struct Figures {
    pub files: usize,
    pub compiled: usize,
    pub compile_errors: usize,
    /// Schemas the validator itself cannot build (not judged).
    pub unjudged: usize,
    /// Compiled schemas for which the pre-flight found no answer.
    pub refused: usize,
    pub walks: usize,
    pub walks_ended: usize,
    /// Walks still going at `max_tokens` (not a failure: uniform choice
    /// inside a long string rarely closes it).
    pub walks_too_long: usize,
    /// Walks whose mask was empty before the end.
    pub stuck: usize,
    /// Answers (shortest or walked) the validator rejects.
    pub invalid: usize,
    pub failures: Vec<String>,
}

impl Figures {
    pub fn passed(&self) -> bool {
        self.refused == 0 && self.stuck == 0 && self.invalid == 0
    }

    pub fn table(&self) -> String {
        format!(
            "files {}\ncompiled {}\ncompile errors {}\nnot judged (validator refused the schema) {}\n\
             pre-flight refusals {}\nwalks {}\nwalks ended {}\nwalks past the token limit {}\n\
             walks stuck {}\ninvalid answers {}\n",
            self.files,
            self.compiled,
            self.compile_errors,
            self.unjudged,
            self.refused,
            self.walks,
            self.walks_ended,
            self.walks_too_long,
            self.stuck,
            self.invalid
        )
    }
}

/// A small seeded generator (SplitMix64): walks are reproducible from the
/// file's position and the walk number.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z as u128 * n as u128) >> 64) as usize
    }
}

enum Walk {
    Ended(Vec<u8>),
    TooLong,
    Stuck(Vec<u8>),
}

fn walk(f: &Arc<Factory>, m: &mut strictly_grammar::Matcher, seed: u64, max: usize) -> Walk {
    let mut rng = SplitMix(seed);
    let mut mask = TokenMask::new(f.vocab().len());
    let mut out = Vec::new();
    let mut allowed = Vec::new();
    for _ in 0..max {
        m.compute_mask_into(&mut mask);
        allowed.clear();
        allowed.extend(mask.iter());
        if allowed.is_empty() {
            return Walk::Stuck(out);
        }
        let t = allowed[rng.below(allowed.len())];
        if m.commit_token(t).is_err() {
            return Walk::Stuck(out);
        }
        if f.vocab().is_eos(t) {
            return Walk::Ended(out);
        }
        out.extend_from_slice(f.vocab().token_bytes(t));
    }
    Walk::TooLong
}

/// Why `bytes` is not an answer the service would send, if it is not.
fn judge(validator: &jsonschema::Validator, bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => validator
            .iter_errors(&v)
            .next()
            .map(|e| format!("{e} at '{}': {}", e.instance_path(), short(&text))),
        Err(e) => Some(format!("not JSON ({e}): {}", short(&text))),
    }
}

fn short(s: &str) -> String {
    if s.chars().count() <= 300 {
        return s.to_string();
    }
    let head: String = s.chars().take(300).collect();
    format!("{head}…")
}

/// Runs the harness over `files`; `progress` sees each file's name.
pub fn run(
    factory: &Arc<Factory>,
    files: &[PathBuf],
    settings: Settings,
    progress: &mut dyn FnMut(&str),
) -> Figures {
    let mut fig = Figures::default();
    let options = JsonOptions::compact().with_time_budget(settings.budget);
    for (i, path) in files.iter().enumerate() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        progress(&name);
        fig.files += 1;
        let Some(schema) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|mut v| v.get_mut("schema").map(Value::take))
        else {
            fig.compile_errors += 1;
            continue;
        };
        let Ok(grammar) = factory.compile_json_schema(&schema, &options) else {
            fig.compile_errors += 1;
            continue;
        };
        fig.compiled += 1;
        let Ok(validator) = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
        else {
            fig.unjudged += 1;
            continue;
        };
        let mut m = factory.matcher(&grammar);
        let preflight = m.shortest_completion_tokens(settings.max_tokens * BYTES_PER_TOKEN);
        match preflight {
            None => {
                fig.refused += 1;
                fig.failures
                    .push(format!("{name}: pre-flight found no answer"));
            }
            Some(tokens) => {
                let bytes: Vec<u8> = tokens
                    .iter()
                    .flat_map(|&t| factory.vocab().token_bytes(t).to_vec())
                    .collect();
                if let Some(why) = judge(&validator, &bytes) {
                    fig.invalid += 1;
                    fig.failures.push(format!("{name}: shortest answer {why}"));
                }
            }
        }
        for w in 0..settings.walks {
            m.reset();
            fig.walks += 1;
            match walk(factory, &mut m, i as u64 * 1000 + w, settings.max_tokens) {
                Walk::Ended(bytes) => {
                    fig.walks_ended += 1;
                    if let Some(why) = judge(&validator, &bytes) {
                        fig.invalid += 1;
                        fig.failures.push(format!("{name}: walk {w} {why}"));
                    }
                }
                Walk::TooLong => fig.walks_too_long += 1,
                Walk::Stuck(bytes) => {
                    fig.stuck += 1;
                    fig.failures.push(format!(
                        "{name}: walk {w} stuck after {}",
                        short(&String::from_utf8_lossy(&bytes))
                    ));
                }
            }
        }
    }
    fig
}

/// The figures as one JSON object.
pub fn to_json(fig: &Figures) -> Value {
    json!(fig)
}
