//! Arbitrary bytes through the GGUF reader and everything built from a GGUF file's
//! contents: no input may panic, read out of bounds, or allocate beyond what it holds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strictly_model::chat::ChatTemplate;
use strictly_model::gguf::GgufFile;
use strictly_model::tokenizer::Tokenizer;
use strictly_model::weights::TensorSource;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = GgufFile::from_bytes(data.to_vec()) else {
        return;
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
    for t in file.tensors() {
        let _ = t.shape();
        let _ = file.tensor_f32(&t.name);
    }
    for name in file.names() {
        let _ = (file.shape(&name), file.raw(&name));
        let _ = file.load_f32(&name);
    }
    if let Ok(tokenizer) = Tokenizer::from_gguf(&file) {
        let _ = tokenizer.encode("<|im_start|>user\nhello wörld 123<|im_end|>", true);
        let _ = tokenizer.encode("plain <|im_end|>", false);
        let _ = tokenizer.vocab_entries();
    }
    if let Ok(template) = ChatTemplate::from_gguf(&file) {
        let _ = template.render(&[], true);
    }
});
