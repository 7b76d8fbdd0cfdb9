//! Deterministic doubles of the model, tokenizer and grammar, so the
//! scheduler, the server and their error paths are tested in milliseconds
//! without weights.
//!
//! - [`ByteCodec`]: one token per byte plus Qwen-style control tokens and a
//!   ChatML template.
//! - [`ScriptedModel`]: logits that favour a scripted answer after the
//!   assistant header and are otherwise a fixed pseudo-random function of the
//!   position and token, so greedy decoding under any mask is reproducible.
//!   Records every forward pass for assertions on batching.
//! - [`ChoiceCompiler`]: grammars accepting one of a fixed set of JSON texts
//!   (`enum` / `const` schemas), with forced tokens and rollback.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::constraint::{
    ConstraintCompiler, Grammar, MatchError, Matcher, SchemaError, TextFormatError, TokenMask,
};
use crate::model::{CodecError, ForwardItem, LanguageModel, ModelError, TextCodec};
use crate::request::{ChatMessage, TextFormat};
use crate::{Engine, EngineConfig};

/// `<|im_start|>` of the byte vocabulary.
pub const IM_START: u32 = 256;
/// `<|im_end|>` of the byte vocabulary.
pub const IM_END: u32 = 257;
/// `<|endoftext|>` of the byte vocabulary.
pub const END_OF_TEXT: u32 = 258;
/// A padding id that must never be generated.
pub const PAD: u32 = 259;
const VOCAB: usize = 260;
const SPECIALS: [(&str, u32); 3] = [
    ("<|im_start|>", IM_START),
    ("<|im_end|>", IM_END),
    ("<|endoftext|>", END_OF_TEXT),
];

/// A tokenizer with one token per byte and ChatML control tokens.
#[derive(Debug, Clone)]
pub struct ByteCodec {
    bytes: Vec<Vec<u8>>,
    stops: [u32; 2],
}

impl Default for ByteCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteCodec {
    pub fn new() -> Self {
        let mut bytes: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        bytes.resize(VOCAB, Vec::new());
        Self {
            bytes,
            stops: [IM_END, END_OF_TEXT],
        }
    }
}

impl TextCodec for ByteCodec {
    fn encode(&self, text: &str) -> Result<Vec<u32>, CodecError> {
        Ok(text.bytes().map(u32::from).collect())
    }

    fn encode_template(&self, text: &str) -> Result<Vec<u32>, CodecError> {
        let mut ids = Vec::with_capacity(text.len());
        let mut rest = text;
        'outer: while !rest.is_empty() {
            for (name, id) in SPECIALS {
                if let Some(after) = rest.strip_prefix(name) {
                    ids.push(id);
                    rest = after;
                    continue 'outer;
                }
            }
            let ch = rest.chars().next().map_or(1, char::len_utf8);
            ids.extend(rest.as_bytes()[..ch].iter().map(|&b| b as u32));
            rest = &rest[ch..];
        }
        Ok(ids)
    }

    fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    fn is_special(&self, id: u32) -> bool {
        id >= 256
    }

    fn stop_tokens(&self) -> &[u32] {
        &self.stops
    }

    fn vocab_size(&self) -> usize {
        VOCAB
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, CodecError> {
        let mut out = String::new();
        for m in messages {
            out.push_str(&format!(
                "<|im_start|>{}\n{}<|im_end|>\n",
                m.role.as_str(),
                m.content
            ));
        }
        if add_generation_prompt {
            out.push_str("<|im_start|>assistant\n");
        }
        Ok(out)
    }
}

/// Tokens of every forward pass: one inner vector per pass, holding the
/// number of tokens fed for each sequence in it.
pub type ForwardLog = Arc<Mutex<Vec<Vec<usize>>>>;

/// A model whose greedy answer is a scripted text (see the module docs).
#[derive(Debug, Clone)]
pub struct ScriptedModel {
    script: Vec<u8>,
    context: usize,
    delay: Duration,
    log: ForwardLog,
    /// Forward passes to run before one panics (`None`: never).
    panic_after: Option<usize>,
    /// The next KV cache made panics (once), shared by clones.
    panic_in_new_cache: Arc<std::sync::atomic::AtomicBool>,
}

impl ScriptedModel {
    pub fn new(script: &str) -> Self {
        Self {
            script: script.as_bytes().to_vec(),
            context: 4096,
            delay: Duration::ZERO,
            log: ForwardLog::default(),
            panic_after: None,
            panic_in_new_cache: Arc::default(),
        }
    }

    /// Panics when making the next KV cache, once: a stand-in for a bug
    /// while a request is admitted.
    pub fn with_panic_in_new_cache(self) -> Self {
        self.panic_in_new_cache
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// Panics in forward pass number `n` (0 = the first), once: a stand-in
    /// for a bug anywhere in a step.
    pub fn with_panic_after(mut self, n: usize) -> Self {
        self.panic_after = Some(n);
        self
    }

    /// Sleeps this long in every forward pass, to make requests overlap.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn with_context(mut self, context: usize) -> Self {
        self.context = context;
        self
    }

    /// The record of forward passes, shared with the model.
    pub fn log(&self) -> ForwardLog {
        self.log.clone()
    }

    fn logits(&self, seq: &[u32]) -> Vec<f32> {
        let header = ByteCodec::new()
            .encode_template("<|im_start|>assistant\n")
            .unwrap_or_default();
        let answer_start = seq
            .windows(header.len())
            .rposition(|w| w == header.as_slice())
            .map(|p| p + header.len());
        let mut logits: Vec<f32> = (0..VOCAB as u32)
            .map(|id| {
                let mut h = DefaultHasher::new();
                (seq.len(), id).hash(&mut h);
                (h.finish() % 1000) as f32 / 1000.0
            })
            .collect();
        if let Some(start) = answer_start {
            let k = seq.len() - start;
            let favoured = self.script.get(k).map_or(IM_END, |&b| b as u32);
            logits[favoured as usize] = 10.0;
        }
        logits
    }
}

impl LanguageModel for ScriptedModel {
    type Cache = Vec<u32>;

    fn vocab_size(&self) -> usize {
        VOCAB
    }

    fn context_length(&self) -> usize {
        self.context
    }

    fn new_cache(&self, capacity: usize) -> Result<Vec<u32>, ModelError> {
        if self
            .panic_in_new_cache
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            panic!("injected panic in new_cache");
        }
        Ok(Vec::with_capacity(capacity))
    }

    fn cache_len(&self, cache: &Vec<u32>) -> usize {
        cache.len()
    }

    fn truncate_cache(&self, cache: &mut Vec<u32>, len: usize) {
        cache.truncate(len);
    }

    fn fork_cache(&self, cache: &Vec<u32>, capacity: usize) -> Result<Vec<u32>, ModelError> {
        let mut copy = Vec::with_capacity(capacity.max(cache.len()));
        copy.extend_from_slice(cache);
        Ok(copy)
    }

    fn forward(
        &mut self,
        items: &mut [ForwardItem<'_, Vec<u32>>],
    ) -> Result<Vec<Option<Vec<f32>>>, ModelError> {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        if let Ok(mut log) = self.log.lock() {
            log.push(items.iter().map(|i| i.tokens.len()).collect());
        }
        match self.panic_after {
            Some(0) => {
                self.panic_after = None;
                panic!("injected panic in a forward pass");
            }
            Some(n) => self.panic_after = Some(n - 1),
            None => {}
        }
        items
            .iter_mut()
            .map(|item| {
                if item.cache.len() + item.tokens.len() > self.context {
                    return Err(ModelError::msg("context exceeded"));
                }
                item.cache.extend_from_slice(item.tokens);
                let len = item.cache.len();
                let rows = item.logit_rows.min(item.tokens.len());
                Ok((rows > 0).then(|| {
                    let mut logits: Vec<f32> = (len - rows + 1..=len)
                        .flat_map(|end| self.logits(&item.cache[..end]))
                        .collect();
                    if let (Some(only), 1) = (item.only, rows) {
                        // As the real model may: nothing outside `only`.
                        for (id, l) in logits.iter_mut().enumerate() {
                            if !only.contains(&(id as u32)) {
                                *l = f32::NEG_INFINITY;
                            }
                        }
                    }
                    logits
                }))
            })
            .collect()
    }
}

/// A grammar accepting exactly one of a fixed set of byte strings.
#[derive(Debug)]
pub struct ChoiceGrammar {
    choices: Arc<Vec<Vec<u8>>>,
}

impl Grammar for ChoiceGrammar {
    fn matcher(&self) -> Box<dyn Matcher> {
        Box::new(ChoiceMatcher {
            choices: self.choices.clone(),
            text: Vec::new(),
        })
    }

    fn accepts(&self, text: &str) -> bool {
        self.choices.iter().any(|c| c == text.as_bytes())
    }
}

/// Matcher of a [`ChoiceGrammar`] over the byte vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceMatcher {
    choices: Arc<Vec<Vec<u8>>>,
    text: Vec<u8>,
}

impl ChoiceMatcher {
    pub fn new(choices: Vec<Vec<u8>>) -> Self {
        Self {
            choices: Arc::new(choices),
            text: Vec::new(),
        }
    }

    fn live(&self) -> impl Iterator<Item = &[u8]> {
        self.choices
            .iter()
            .filter(|c| c.starts_with(&self.text))
            .map(|c| &c[self.text.len()..])
    }
}

impl Matcher for ChoiceMatcher {
    fn fill_mask(&mut self, mask: &mut TokenMask) {
        mask.fill(false);
        for rest in self.live() {
            if let Some(&b) = rest.first() {
                mask.allow(b as u32);
            }
        }
    }

    fn commit(&mut self, token: u32) -> Result<(), MatchError> {
        let byte = u8::try_from(token).map_err(|_| MatchError {
            token,
            reason: "not a byte".into(),
        })?;
        self.text.push(byte);
        if self.live().next().is_none() {
            self.text.pop();
            return Err(MatchError {
                token,
                reason: "no choice continues this way".into(),
            });
        }
        Ok(())
    }

    fn forced_tokens(&mut self) -> Vec<u32> {
        let rests: Vec<&[u8]> = self.live().collect();
        let Some(first) = rests.first() else {
            return Vec::new();
        };
        let common = first
            .iter()
            .enumerate()
            .take_while(|&(i, b)| rests.iter().all(|r| r.get(i) == Some(b)))
            .count();
        first[..common].iter().map(|&b| b as u32).collect()
    }

    fn is_accepting(&mut self) -> bool {
        self.choices.contains(&self.text)
    }

    fn rollback(&mut self, n: usize) {
        self.text.truncate(self.text.len().saturating_sub(n));
    }
}

/// Compiles `enum` and `const` schemas into [`ChoiceGrammar`]s; any other
/// keyword is refused with its JSON Pointer, like the real compiler does for
/// what it does not support.
#[derive(Debug, Clone, Default)]
pub struct ChoiceCompiler;

impl ChoiceCompiler {
    fn grammar(values: &[Value]) -> Arc<dyn Grammar> {
        let choices = values.iter().map(|v| v.to_string().into_bytes()).collect();
        Arc::new(ChoiceGrammar {
            choices: Arc::new(choices),
        })
    }
}

/// Keywords the choice compiler passes over (annotations, and keywords the
/// safety-net tests rely on the validator to enforce).
const IGNORED: [&str; 5] = ["title", "description", "$schema", "maxLength", "minimum"];

impl ConstraintCompiler for ChoiceCompiler {
    fn compile_schema(&self, schema: &Value) -> Result<Arc<dyn Grammar>, SchemaError> {
        let obj = schema.as_object().ok_or_else(|| SchemaError {
            pointer: String::new(),
            message: "a schema must be an object".into(),
            too_complex: false,
        })?;
        let mut values = None;
        for (key, value) in obj {
            match key.as_str() {
                "enum" => {
                    let list = value.as_array().ok_or_else(|| SchemaError {
                        pointer: "/enum".into(),
                        message: "'enum' must be an array".into(),
                        too_complex: false,
                    })?;
                    values = Some(list.clone());
                }
                "const" => values = Some(vec![value.clone()]),
                k if IGNORED.contains(&k) => {}
                other => {
                    return Err(SchemaError {
                        pointer: format!("/{other}"),
                        message: format!("keyword '{other}' is not supported"),
                        too_complex: false,
                    });
                }
            }
        }
        values
            .map(|v| Self::grammar(&v))
            .ok_or_else(|| SchemaError {
                pointer: String::new(),
                message: "the schema needs 'enum' or 'const'".into(),
                too_complex: false,
            })
    }

    fn compile_json_object(&self) -> Result<Arc<dyn Grammar>, SchemaError> {
        Ok(Self::grammar(&[
            serde_json::json!({"answer": 42}),
            serde_json::json!({}),
        ]))
    }

    /// Choices compile; regexes and grammars are refused.
    fn compile_text(&self, format: &TextFormat) -> Result<Arc<dyn Grammar>, TextFormatError> {
        match format {
            TextFormat::Choice(list) => Ok(Arc::new(ChoiceGrammar {
                choices: Arc::new(list.iter().map(|c| c.as_bytes().to_vec()).collect()),
            })),
            other => Err(TextFormatError {
                kind: other.kind(),
                message: "the test compiler knows choices only".into(),
            }),
        }
    }
}

/// An engine over the doubles, whose model favours `script` as its answer.
pub fn engine_with_script(config: EngineConfig, script: &str) -> Engine {
    engine_with_model(config, ScriptedModel::new(script))
}

/// An engine over the doubles with a given scripted model.
pub fn engine_with_model(config: EngineConfig, model: ScriptedModel) -> Engine {
    Engine::builder(model, Arc::new(ByteCodec::new()), Arc::new(ChoiceCompiler))
        .config(config)
        .start()
}
