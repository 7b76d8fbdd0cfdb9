use super::*;
use crate::gguf::{Array, GgufFile, GgufWriter, Value};

/// The byte-level character for each byte, in byte order (ids 0..256 of the toy vocab).
fn byte_chars() -> Vec<String> {
    let mut chars = vec![String::new(); 256];
    for c in 0..324u32 {
        let s = char::from_u32(c).unwrap().to_string();
        if let Some(b) = byte_level::decode(&s) {
            chars[b[0] as usize] = s;
        }
    }
    chars
}

/// A toy vocabulary in GGUF form: the 256 bytes, three merges, two control tokens, one
/// user-defined token and one unused padding slot.
fn toy_gguf() -> GgufFile {
    let mut tokens = byte_chars();
    let mut types = vec![1i32; 256];
    for (t, ty) in [
        ("Ġt", 1),
        ("he", 1),
        ("Ġthe", 1),
        ("<|im_start|>", 3),
        ("<|im_end|>", 3),
        ("<tool_call>", 4),
        ("[PAD262]", 5),
    ] {
        tokens.push(t.into());
        types.push(ty);
    }
    let merges = ["Ġ t", "h e", "Ġt he"].map(String::from).to_vec();
    let bytes = GgufWriter::new(3)
        .metadata("tokenizer.ggml.model", Value::String("gpt2".into()))
        .metadata("tokenizer.ggml.pre", Value::String("qwen2".into()))
        .metadata("tokenizer.ggml.tokens", Value::Array(Array::String(tokens)))
        .metadata("tokenizer.ggml.token_type", Value::Array(Array::I32(types)))
        .metadata("tokenizer.ggml.merges", Value::Array(Array::String(merges)))
        .to_bytes();
    GgufFile::from_bytes(bytes).unwrap()
}

fn toy() -> Tokenizer {
    Tokenizer::from_gguf(&toy_gguf()).unwrap()
}

/// The service shares one tokenizer, template and model file across request threads.
#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tokenizer>();
    assert_send_sync::<crate::chat::ChatTemplate>();
    assert_send_sync::<GgufFile>();
}

#[test]
fn bpe_merges_by_rank() {
    let t = toy();
    assert_eq!(t.encode("the the", true).unwrap(), [b't' as u32, 257, 258]);
    assert_eq!(
        t.decode(&[b't' as u32, 257, 258], false).unwrap(),
        "the the"
    );
}

#[test]
fn special_text_is_matched_only_when_allowed() {
    let t = toy();
    assert_eq!(t.encode("<|im_end|>", true).unwrap(), [260]);
    let plain = t.encode("<|im_end|>", false).unwrap();
    assert!(plain.len() > 1 && !plain.contains(&260), "{plain:?}");
    assert_eq!(t.decode(&plain, false).unwrap(), "<|im_end|>");
    // User-defined tokens are text and always matched, as in llama.cpp.
    assert_eq!(t.encode("<tool_call>", false).unwrap(), [261]);
    assert_eq!(t.encode("<tool_call>", true).unwrap(), [261]);
}

#[test]
fn padding_slots_are_never_text() {
    let t = toy();
    assert!(!t.encode("[PAD262]", true).unwrap().contains(&262));
    assert!(t.token_bytes(262).is_empty());
    assert!(t.is_special(262));
    assert_eq!(t.decode(&[262], false).unwrap(), "");
}

#[test]
fn bytes_and_flags_per_id() {
    let mut t = toy();
    assert_eq!(t.vocab_size(), 263);
    assert_eq!(t.token_bytes(b'a' as u32), b"a");
    assert_eq!(t.token_bytes(b' ' as u32), b" ");
    assert_eq!(t.token_bytes(0xff), [0xff]);
    assert_eq!(t.token_bytes(258), b" the");
    assert_eq!(t.token_bytes(260), b"<|im_end|>");
    assert!(t.is_special(260) && t.is_special(259));
    assert!(!t.is_special(261) && !t.is_special(258));
    assert_eq!(
        (t.im_start(), t.im_end(), t.endoftext()),
        (Some(259), Some(260), None)
    );
    assert_eq!(t.eos_ids(), [260]);
    assert!(t.is_special(10_000) && t.token_bytes(10_000).is_empty());
    assert!(matches!(
        t.decode(&[10_000], false),
        Err(TokenizerError::UnknownId { id: 10_000, .. })
    ));
    t.pad_vocab(300);
    assert_eq!(t.vocab_size(), 300);
    assert!(t.is_special(299) && t.token_bytes(299).is_empty());
    let entries = t.vocab_entries();
    assert_eq!(entries.len(), 300);
    assert_eq!(entries[258], (b" the".to_vec(), false));
    assert_eq!(entries[260], (b"<|im_end|>".to_vec(), true));
}

#[test]
fn decode_skips_special_on_request() {
    let t = toy();
    assert_eq!(
        t.decode(&[259, 258, 260], false).unwrap(),
        "<|im_start|> the<|im_end|>"
    );
    assert_eq!(t.decode(&[259, 258, 260], true).unwrap(), " the");
}

#[test]
fn rejects_other_tokenizer_kinds() {
    let base = || {
        GgufWriter::new(3)
            .metadata(
                "tokenizer.ggml.tokens",
                Value::Array(Array::String(vec!["a".into()])),
            )
            .metadata(
                "tokenizer.ggml.token_type",
                Value::Array(Array::I32(vec![1])),
            )
            .metadata("tokenizer.ggml.merges", Value::Array(Array::String(vec![])))
    };
    let llama = base().metadata("tokenizer.ggml.model", Value::String("llama".into()));
    assert!(matches!(
        Tokenizer::from_gguf(&GgufFile::from_bytes(llama.to_bytes()).unwrap()),
        Err(TokenizerError::UnsupportedModel(m)) if m == "llama"
    ));
    let pre = base()
        .metadata("tokenizer.ggml.model", Value::String("gpt2".into()))
        .metadata("tokenizer.ggml.pre", Value::String("llama-bpe".into()));
    assert!(matches!(
        Tokenizer::from_gguf(&GgufFile::from_bytes(pre.to_bytes()).unwrap()),
        Err(TokenizerError::UnsupportedPreTokenizer(_))
    ));
    let bad_merge = GgufWriter::new(3)
        .metadata("tokenizer.ggml.model", Value::String("gpt2".into()))
        .metadata(
            "tokenizer.ggml.tokens",
            Value::Array(Array::String(vec!["a".into()])),
        )
        .metadata(
            "tokenizer.ggml.token_type",
            Value::Array(Array::I32(vec![1])),
        )
        .metadata(
            "tokenizer.ggml.merges",
            Value::Array(Array::String(vec!["ab".into()])),
        );
    assert!(matches!(
        Tokenizer::from_gguf(&GgufFile::from_bytes(bad_merge.to_bytes()).unwrap()),
        Err(TokenizerError::BadMerge { index: 0, .. })
    ));
    let missing = GgufWriter::new(3).metadata("tokenizer.ggml.model", Value::String("gpt2".into()));
    assert!(matches!(
        Tokenizer::from_gguf(&GgufFile::from_bytes(missing.to_bytes()).unwrap()),
        Err(TokenizerError::Gguf(crate::gguf::GgufError::MissingKey(_)))
    ));
}

/// A `tokenizer.json` equivalent to the toy GGUF vocabulary, with the padding slot absent.
fn toy_tokenizer_json() -> String {
    let mut vocab = serde_json::Map::new();
    for (i, c) in byte_chars().into_iter().enumerate() {
        vocab.insert(c, i.into());
    }
    for (t, id) in [("Ġt", 256), ("he", 257), ("Ġthe", 258)] {
        vocab.insert(t.into(), id.into());
    }
    let added = |id: u32, content: &str, special: bool| {
        serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": !special, "special": special})
    };
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [added(259, "<|im_start|>", true), added(260, "<|im_end|>", true),
            added(261, "<tool_call>", false)],
        "normalizer": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
        ]},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": ["Ġ t", "h e", "Ġt he"]}
    })
    .to_string()
}

#[test]
fn tokenizer_json_folder_matches_gguf() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokenizer.json"), toy_tokenizer_json()).unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"vocab_size": 263}"#).unwrap();
    let hf = Tokenizer::from_hf_dir(dir.path()).unwrap();
    let gguf = toy();
    assert_eq!(hf.vocab_size(), gguf.vocab_size());
    assert_eq!(hf.vocab_entries(), gguf.vocab_entries());
    for text in [
        "the the",
        "<|im_start|>the<|im_end|>",
        "<tool_call> x\n\n  y",
    ] {
        for allow in [true, false] {
            assert_eq!(
                hf.encode(text, allow).unwrap(),
                gguf.encode(text, allow).unwrap(),
                "{text:?}"
            );
        }
    }
    assert_eq!(hf.eos_ids(), [260]);
    assert!(matches!(
        Tokenizer::from_file(dir.path().join("absent.json")),
        Err(TokenizerError::Io { .. })
    ));
}

/// The default model's tokenizer against llama.cpp's ids on the committed corpus
/// (`tests/reference/tokenizer/make_ids.py`).
mod default_model {
    use super::*;

    const IDS: &str = include_str!("../../../../tests/reference/tokenizer/ids.json");

    fn tokenizer() -> Tokenizer {
        let path = crate::fetch::ensure_default_model().expect("fetching the default model");
        Tokenizer::from_gguf(&GgufFile::open(path).unwrap()).unwrap()
    }

    #[test]
    fn matches_llama_cpp_on_corpus() {
        let t = tokenizer();
        let cases: Vec<serde_json::Value> = serde_json::from_str(IDS).unwrap();
        assert!(cases.len() >= 50);
        for c in &cases {
            let text = c["text"].as_str().unwrap();
            for (key, allow) in [("special", true), ("plain", false)] {
                let want: Vec<u32> = serde_json::from_value(c[key].clone()).unwrap();
                assert_eq!(t.encode(text, allow).unwrap(), want, "{key} {text:?}");
            }
            // Without special parsing every text round-trips through token bytes.
            let plain = t.encode(text, false).unwrap();
            let bytes: Vec<u8> = plain
                .iter()
                .flat_map(|&id| t.token_bytes(id).to_vec())
                .collect();
            assert_eq!(bytes, text.as_bytes(), "{text:?}");
            assert!(plain.iter().all(|&id| !t.is_special(id)), "{text:?}");
        }
    }

    #[test]
    fn ids_and_flags_of_the_qwen_vocabulary() {
        let t = tokenizer();
        assert_eq!(t.vocab_size(), 151_936);
        assert_eq!(
            (t.endoftext(), t.im_start(), t.im_end()),
            (Some(151_643), Some(151_644), Some(151_645))
        );
        assert_eq!(t.eos_ids(), [151_645, 151_643]);
        for id in 151_643..151_665 {
            let tool = id == 151_657 || id == 151_658;
            assert_eq!(t.is_special(id), !tool, "{id}");
            assert!(!t.token_bytes(id).is_empty());
        }
        assert_eq!(t.token_bytes(151_657), b"<tool_call>");
        for id in 151_665..151_936 {
            assert!(t.is_special(id) && t.token_bytes(id).is_empty(), "{id}");
        }
        for id in 0..151_643 {
            assert!(!t.is_special(id) && !t.token_bytes(id).is_empty(), "{id}");
        }
        // Byte tokens: "!" is id 0, and every single byte has a token of its own.
        assert_eq!(t.token_bytes(0), b"!");
        let singles = (0..151_643u32)
            .filter(|&id| t.token_bytes(id).len() == 1)
            .count();
        assert_eq!(singles, 256);
        assert_eq!(
            t.decode(&[151_644, 872, 198], false).unwrap(),
            "<|im_start|>user\n"
        );
    }
}
