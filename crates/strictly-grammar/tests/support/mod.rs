//! What the integration tests share: the default model's vocabulary.

use std::sync::{Arc, OnceLock};

use strictly_grammar::maskbench::Tokenize;
use strictly_grammar::{Factory, Vocabulary};

/// A factory over the default model's vocabulary (the model is fetched if
/// needed) and its tokenizer, built once per test binary.
pub fn model_factory() -> &'static (Arc<Factory>, Arc<Tokenize>) {
    static SHARED: OnceLock<(Arc<Factory>, Arc<Tokenize>)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let path = strictly_model::fetch::ensure_default_model().expect("the default model");
        let gguf = strictly_model::gguf::GgufFile::open(&path).expect("a readable GGUF");
        let tok = strictly_model::tokenizer::Tokenizer::from_gguf_for_model(&gguf)
            .expect("its tokenizer");
        let eos = tok.im_end().expect("<|im_end|>");
        let vocab = Vocabulary::new(tok.vocab_entries(), vec![eos]).expect("a vocabulary");
        let tok = Arc::new(tok);
        let tokenize: Arc<Tokenize> =
            Arc::new(move |s: &str| tok.encode(s, false).map_err(|e| e.to_string()));
        (Factory::new(vocab), tokenize)
    })
}
