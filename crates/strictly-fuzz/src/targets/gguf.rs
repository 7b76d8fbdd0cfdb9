//! GGUF files through the reader and everything built from their contents
//! (metadata values, tensors, the model configuration, the tokenizer and
//! the chat template): no input may panic, read out of bounds or allocate
//! beyond what it holds.

use arbitrary::{Result, Unstructured};
use strictly_model::Qwen2Config;
use strictly_model::chat::ChatTemplate;
use strictly_model::gguf::GgufFile;
use strictly_model::tokenizer::Tokenizer;

use crate::{Outcome, Target, bucket, signature};

#[derive(Default)]
pub struct GgufTarget;

impl Target for GgufTarget {
    fn name(&self) -> &'static str {
        "gguf"
    }

    fn run(&mut self, input: &[u8]) -> Outcome {
        let file = match GgufFile::from_bytes(input.to_vec()) {
            Ok(file) => file,
            Err(err) => return Ok(signature(("refused", variant(&err)))),
        };
        for value in file.metadata().values() {
            let _ = (
                value.as_u64(),
                value.as_f64(),
                value.as_str(),
                value.as_array(),
            );
            if let Some(array) = value.as_array() {
                let _ = array.to_i64_vec();
            }
        }
        let mut loaded = 0usize;
        for t in file.tensors() {
            let _ = t.shape();
            loaded += usize::from(file.tensor_f32(&t.name).is_ok());
        }
        let config = Qwen2Config::from_gguf(&file).map_err(|e| variant(&e));
        let tokenizer = Tokenizer::from_gguf(&file).ok();
        if let Some(tokenizer) = &tokenizer {
            let _ = tokenizer.encode("<|im_start|>user\nhello wörld 123<|im_end|>", true);
            let _ = tokenizer.encode("plain <|im_end|>", false);
            let _ = tokenizer.vocab_entries();
        }
        let template = ChatTemplate::from_gguf(&file).ok();
        if let Some(template) = &template {
            let _ = template.render(&[], true);
        }
        Ok(signature((
            "read",
            file.metadata().len().min(64),
            bucket(file.tensors().len()),
            bucket(loaded),
            config.err(),
            tokenizer.is_some(),
            template.is_some(),
        )))
    }

    fn generate(&self, entropy: &[u8]) -> Vec<u8> {
        let mut u = Unstructured::new(entropy);
        gguf_from(&mut u).unwrap_or_default()
    }

    fn dictionary(&self) -> &[&[u8]] {
        &[
            b"GGUF",
            &[3, 0, 0, 0],
            &[2, 0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            b"general.architecture",
            b"qwen2",
            b"tokenizer.ggml.tokens",
            b"tokenizer.chat_template",
            b"token_embd.weight",
            b"general.alignment",
        ]
    }

    fn max_len(&self) -> usize {
        1 << 18
    }
}

fn variant(err: &dyn std::fmt::Debug) -> String {
    let text = format!("{err:?}");
    text.split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

const KEYS: [&str; 8] = [
    "general.architecture",
    "general.alignment",
    "qwen2.block_count",
    "qwen2.embedding_length",
    "tokenizer.ggml.model",
    "tokenizer.ggml.tokens",
    "tokenizer.chat_template",
    "x",
];

/// A GGUF v3 file with arbitrary metadata and tensor infos.
fn gguf_from(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&u.choose(&[3u32, 2, 1, 4])?.to_le_bytes());
    let tensors = u.int_in_range(0u64..=3)?;
    let kvs = u.int_in_range(0u64..=6)?;
    out.extend_from_slice(&tensors.to_le_bytes());
    out.extend_from_slice(&kvs.to_le_bytes());
    for _ in 0..kvs {
        put_str(&mut out, u.choose(&KEYS)?);
        let kind = u.int_in_range(0u32..=12)?;
        out.extend_from_slice(&kind.to_le_bytes());
        match kind {
            8 => {
                let s = if u.ratio(1, 2)? {
                    "qwen2".to_owned()
                } else {
                    u.arbitrary::<String>()?
                };
                put_str(&mut out, &s);
            }
            9 => {
                let inner = u.int_in_range(0u32..=12)?;
                let n = u.int_in_range(0u64..=8)?;
                out.extend_from_slice(&inner.to_le_bytes());
                out.extend_from_slice(&n.to_le_bytes());
                for _ in 0..n {
                    if inner == 8 {
                        put_str(&mut out, &u.arbitrary::<String>()?);
                    } else {
                        out.extend_from_slice(&u.arbitrary::<u32>()?.to_le_bytes());
                    }
                }
            }
            _ => {
                let width = match kind {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    _ => 8,
                };
                let bytes = u.bytes(width)?;
                out.extend_from_slice(bytes);
            }
        }
    }
    let mut data = 0u64;
    for i in 0..tensors {
        put_str(
            &mut out,
            if i == 0 {
                "token_embd.weight"
            } else {
                "blk.0.attn_q.weight"
            },
        );
        let dims = u.int_in_range(1u32..=4)?;
        out.extend_from_slice(&dims.to_le_bytes());
        let mut elements = 1u64;
        for _ in 0..dims {
            let d = *u.choose(&[1u64, 2, 32, 256, 0, u64::MAX / 2])?;
            elements = elements.saturating_mul(d);
            out.extend_from_slice(&d.to_le_bytes());
        }
        let ty = *u.choose(&[0u32, 1, 2, 6, 8, 12, 13, 14, 30, 99])?;
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&data.to_le_bytes());
        data = data.saturating_add(elements.min(1 << 12) * 4);
    }
    while out.len() % 32 != 0 {
        out.push(0);
    }
    let payload = u.int_in_range(0usize..=4096)?;
    out.extend((0..payload).map(|i| (i * 31) as u8));
    Ok(out)
}
