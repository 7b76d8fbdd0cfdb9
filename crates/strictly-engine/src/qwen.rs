//! The real model behind the engine's seams: Qwen2 in Burn
//! ([`strictly_model::Qwen2`]) as a [`LanguageModel`], its tokenizer and chat
//! template as a [`TextCodec`].

use std::path::Path;
use std::sync::Arc;

use strictly_model::chat::{ChatTemplate, Message};
use strictly_model::source::ModelSource;
use strictly_model::tokenizer::Tokenizer;
use strictly_model::{KvCache, LogitsWanted, Qwen2};

use crate::grammar::GrammarCompiler;
use crate::model::{CodecError, ForwardItem, LanguageModel, ModelError, TextCodec};
use crate::request::ChatMessage;
use crate::{Engine, EngineConfig, EngineObserver, Reload};

/// Why the model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Source(#[from] strictly_model::source::SourceError),
    #[error(transparent)]
    Backend(#[from] strictly_model::device::BackendError),
    #[error(transparent)]
    Model(#[from] strictly_model::LoadError),
    #[error(transparent)]
    Tokenizer(#[from] strictly_model::tokenizer::TokenizerError),
    #[error(transparent)]
    Template(#[from] strictly_model::chat::ChatError),
    #[error("the tokenizer has no <|im_end|> or <|endoftext|> token to end an answer")]
    NoStopToken,
    #[error(transparent)]
    Vocabulary(#[from] strictly_grammar::VocabError),
}

/// Everything the engine needs from a model file or folder.
pub struct QwenParts {
    pub model: QwenModel,
    pub codec: QwenCodec,
    /// File or folder name, as shown by `/v1/models`.
    pub name: String,
    /// Loads the model afresh if the engine's scheduler loop dies.
    pub reload: Option<Reload<QwenModel>>,
}

/// Loads the model at `path`, or the default model (fetched on first use)
/// when `path` is `None`, onto `backend`.
pub fn load(path: Option<&Path>, backend: strictly_model::Backend) -> Result<QwenParts, LoadError> {
    let source = ModelSource::resolve(path)?;
    let device = backend.device()?;
    let loaded =
        strictly_model::load_source(&source, &device, strictly_model::LoadOptions::default())?;
    Ok(parts(loaded.model, &source)?.reloadable(
        source,
        backend,
        strictly_model::LoadOptions::default(),
    ))
}

/// The engine's parts for an already loaded model and where it came from.
pub fn parts(model: Qwen2, source: &ModelSource) -> Result<QwenParts, LoadError> {
    let mut tokenizer = source.tokenizer()?;
    tokenizer.pad_vocab(model.config().vocab_size);
    let codec = QwenCodec::new(tokenizer, source.chat_template()?)?;
    let path = source.path();
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(QwenParts {
        model: QwenModel::new(model),
        codec,
        name,
        reload: None,
    })
}

impl QwenParts {
    /// Lets the engine restart itself over a model loaded again from
    /// `source` (read in place from its memory map, so this is quick).
    pub fn reloadable(
        mut self,
        source: ModelSource,
        backend: strictly_model::Backend,
        options: strictly_model::LoadOptions,
    ) -> Self {
        self.reload = Some(Box::new(move || {
            let device = backend.device().map_err(ModelError::new)?;
            let loaded =
                strictly_model::load_source(&source, &device, options).map_err(ModelError::new)?;
            Ok(QwenModel::new(loaded.model))
        }));
        self
    }

    /// Starts an engine over these parts with the real grammar engine.
    pub fn start(
        self,
        config: EngineConfig,
        observer: Option<Arc<dyn EngineObserver>>,
    ) -> Result<Engine, LoadError> {
        let vocab_size = self.model.vocab_size();
        let compiler =
            GrammarCompiler::new(&self.codec, vocab_size)?.with_time_budget(config.compile_budget);
        let mut builder =
            Engine::builder(self.model, Arc::new(self.codec), Arc::new(compiler)).config(config);
        if let Some(observer) = observer {
            builder = builder.observer(observer);
        }
        if let Some(reload) = self.reload {
            builder = builder.reload(reload);
        }
        Ok(builder.start())
    }
}

/// Qwen2 as a [`LanguageModel`].
pub struct QwenModel {
    model: Qwen2,
    /// [`Qwen2::exact_step_rows`], fixed for the model's life.
    exact_rows: usize,
}

impl QwenModel {
    pub fn new(model: Qwen2) -> Self {
        let exact_rows = model.exact_step_rows();
        Self { model, exact_rows }
    }

    /// The wrapped model.
    pub fn into_inner(self) -> Qwen2 {
        self.model
    }
}

impl LanguageModel for QwenModel {
    type Cache = KvCache;

    fn vocab_size(&self) -> usize {
        self.model.config().vocab_size
    }

    fn context_length(&self) -> usize {
        self.model.config().max_position_embeddings
    }

    fn new_cache(&self, capacity: usize) -> Result<KvCache, ModelError> {
        Ok(self.model.new_cache(capacity))
    }

    fn cache_len(&self, cache: &KvCache) -> usize {
        cache.len()
    }

    /// Burn tensors are copy-on-write handles: the copy shares the prefix's
    /// storage until either side writes, and the cache grows on demand, so
    /// the capacity needs no special handling.
    fn fork_cache(&self, cache: &KvCache, _capacity: usize) -> Result<KvCache, ModelError> {
        Ok(cache.clone())
    }

    fn truncate_cache(&self, cache: &mut KvCache, len: usize) {
        cache.truncate(len);
    }

    fn exact_step_rows(&self) -> usize {
        self.exact_rows
    }

    fn forward(
        &mut self,
        items: &mut [ForwardItem<'_, KvCache>],
    ) -> Result<Vec<Option<Vec<f32>>>, ModelError> {
        let tokens: Vec<&[u32]> = items.iter().map(|i| i.tokens).collect();
        let wanted: Vec<usize> = items
            .iter()
            .map(|i| i.logit_rows.min(i.tokens.len()))
            .collect();
        // An item that needs no logits still gets its last row: the model
        // returns at least one per sequence, and one row is cheap.
        let tails: Vec<usize> = wanted.iter().map(|&w| w.max(1)).collect();
        let select: Vec<LogitsWanted<'_>> = items
            .iter()
            .zip(&tails)
            .map(|(i, &rows)| LogitsWanted { rows, only: i.only })
            .collect();
        let mut caches: Vec<&mut KvCache> = items.iter_mut().map(|i| &mut *i.cache).collect();
        let rows = self
            .model
            .forward_host(&tokens, &mut caches, &select)
            .map_err(ModelError::new)?;
        let vocab = self.vocab_size();
        let total: usize = tails.iter().sum();
        if rows.len() != vocab * total {
            return Err(ModelError::msg(format!(
                "{} logits for {total} rows of {vocab}",
                rows.len(),
            )));
        }
        if let [want] = wanted[..] {
            // One sequence (every single-request decode step): hand over the
            // read-back buffer itself instead of copying its rows.
            return Ok(vec![(want > 0).then_some(rows)]);
        }
        let mut out = Vec::with_capacity(items.len());
        let mut at = 0;
        for (&want, &tail) in wanted.iter().zip(&tails) {
            out.push((want > 0).then(|| rows[at * vocab..(at + tail) * vocab].to_vec()));
            at += tail;
        }
        Ok(out)
    }
}

/// The Qwen tokenizer and chat template as a [`TextCodec`].
pub struct QwenCodec {
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stops: Vec<u32>,
}

impl QwenCodec {
    pub fn new(tokenizer: Tokenizer, template: ChatTemplate) -> Result<Self, LoadError> {
        let stops = tokenizer.eos_ids();
        if stops.is_empty() {
            return Err(LoadError::NoStopToken);
        }
        Ok(Self {
            tokenizer,
            template,
            stops,
        })
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
}

impl TextCodec for QwenCodec {
    fn encode(&self, text: &str) -> Result<Vec<u32>, CodecError> {
        self.tokenizer
            .encode(text, false)
            .map_err(|e| CodecError(e.to_string()))
    }

    fn encode_template(&self, text: &str) -> Result<Vec<u32>, CodecError> {
        self.tokenizer
            .encode(text, true)
            .map_err(|e| CodecError(e.to_string()))
    }

    fn token_bytes(&self, id: u32) -> &[u8] {
        self.tokenizer.token_bytes(id)
    }

    fn is_special(&self, id: u32) -> bool {
        self.tokenizer.is_special(id)
    }

    fn stop_tokens(&self) -> &[u32] {
        &self.stops
    }

    fn vocab_size(&self) -> usize {
        self.tokenizer.vocab_size()
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, CodecError> {
        let messages: Vec<Message> = messages
            .iter()
            .map(|m| Message::new(m.role.as_str(), m.content.clone()))
            .collect();
        self.template
            .render(&messages, add_generation_prompt)
            .map_err(|e| CodecError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FinishReason, GenerateRequest};

    fn repo_file(path: &str) -> String {
        std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// The real default model through the whole engine: a schema-valid
    /// answer, close to the expected one, and the second request with the
    /// same schema reuses the system prompt's KV cache.
    #[test]
    fn real_model_extracts_an_example_and_reuses_the_prompt_prefix() {
        let parts = load(None, strictly_model::Backend::Cpu).expect("loading the default model");
        let engine = parts.start(EngineConfig::default(), None).unwrap();
        let schema: serde_json::Value =
            serde_json::from_str(&repo_file("schemas/support_email.schema.json")).unwrap();
        let expected: serde_json::Value =
            serde_json::from_str(&repo_file("examples/support_email/expected.json")).unwrap();
        let document = repo_file("examples/support_email/document.txt");
        let run = || {
            engine
                .submit(GenerateRequest::extraction(
                    schema.clone(),
                    document.clone(),
                    None,
                ))
                .unwrap()
                .wait()
        };
        let first = run().expect("first extraction");
        let answer = first.json.clone().unwrap();
        eprintln!(
            "answer {answer}\nusage {:?}\ntimings {:?}",
            first.usage, first.timings
        );
        assert!(jsonschema::is_valid(&schema, &answer));
        assert_eq!(first.finish_reason, FinishReason::Stop);
        for key in ["customer_name", "category", "order_id"] {
            assert_eq!(answer.get(key), expected.get(key), "{key} in {answer}");
        }
        let second = run().expect("second extraction");
        eprintln!(
            "second usage {:?}\ntimings {:?}",
            second.usage, second.timings
        );
        assert!(
            second.usage.cached_prompt_tokens > 100,
            "{:?}",
            second.usage
        );
        assert_eq!(
            second.json, first.json,
            "reusing the prefix changed the answer"
        );
    }

    /// Draft tokens copied from the document save forward passes and never
    /// change a greedy answer: each is kept only when it is the model's own
    /// choice, computed exactly as a one-token step would compute it.
    #[test]
    fn drafts_leave_the_real_model_answer_unchanged() {
        let schema: serde_json::Value =
            serde_json::from_str(&repo_file("schemas/invoice.schema.json")).unwrap();
        let document = repo_file("examples/invoice/document.txt");
        let run = |max_draft_tokens: usize| {
            let parts =
                load(None, strictly_model::Backend::Cpu).expect("loading the default model");
            let config = EngineConfig {
                max_draft_tokens,
                ..EngineConfig::default()
            };
            let engine = parts.start(config, None).unwrap();
            let request = GenerateRequest::extraction(schema.clone(), document.clone(), None);
            engine.submit(request).unwrap().wait().expect("extraction")
        };
        let plain = run(0);
        let drafted = run(EngineConfig::default().max_draft_tokens);
        eprintln!("plain {:?}\ndrafted {:?}", plain.usage, drafted.usage);
        assert_eq!(drafted.text, plain.text, "drafts changed the answer");
        assert_eq!(plain.usage.draft_tokens, 0);
        assert!(
            drafted.usage.accepted_draft_tokens > 20,
            "{:?}",
            drafted.usage
        );
    }
}
