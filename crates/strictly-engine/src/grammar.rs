//! The real grammar engine ([`strictly_grammar`]) behind the engine's
//! constraint seam: one [`Factory`] per vocabulary, shared; one matcher per
//! sequence. Generation always uses compact JSON (no whitespace), so a small
//! model can never loop on spaces and every answer costs fewer tokens.

use std::sync::Arc;

use serde_json::Value;
use strictly_grammar::json::JsonOptions;
use strictly_grammar::{CompileError, CompiledGrammar, Factory, Vocabulary};

use crate::constraint::{self, ConstraintCompiler, MatchError, SchemaError, TokenMask};
use crate::model::TextCodec;

/// Compiles JSON Schemas with [`strictly_grammar`].
pub struct GrammarCompiler {
    factory: Arc<Factory>,
    options: JsonOptions,
}

impl GrammarCompiler {
    /// A compiler over the codec's vocabulary (every id below the model's
    /// logits width; ids without bytes count as special).
    pub fn new(
        codec: &dyn TextCodec,
        vocab_size: usize,
    ) -> Result<Self, strictly_grammar::VocabError> {
        let tokens = (0..vocab_size as u32)
            .map(|id| (codec.token_bytes(id).to_vec(), codec.is_special(id)))
            .collect();
        let vocab = Vocabulary::new(tokens, codec.stop_tokens().to_vec())?;
        Ok(Self {
            factory: Factory::new(vocab),
            options: JsonOptions::compact(),
        })
    }

    fn compile(&self, schema: &Value) -> Result<Arc<dyn constraint::Grammar>, SchemaError> {
        let grammar = self
            .factory
            .json_schema(schema, &self.options)
            .map_err(schema_error)?;
        Ok(Arc::new(Compiled {
            factory: self.factory.clone(),
            grammar,
        }))
    }
}

fn schema_error(err: CompileError) -> SchemaError {
    SchemaError {
        pointer: err.pointer().unwrap_or("").to_owned(),
        message: err.to_string(),
    }
}

impl ConstraintCompiler for GrammarCompiler {
    fn compile_schema(&self, schema: &Value) -> Result<Arc<dyn constraint::Grammar>, SchemaError> {
        self.compile(schema)
    }

    fn compile_json_object(&self) -> Result<Arc<dyn constraint::Grammar>, SchemaError> {
        self.compile(&serde_json::json!({"type": "object"}))
    }
}

struct Compiled {
    factory: Arc<Factory>,
    grammar: Arc<CompiledGrammar>,
}

impl constraint::Grammar for Compiled {
    fn matcher(&self) -> Box<dyn constraint::Matcher> {
        let inner = self.factory.matcher(&self.grammar);
        let scratch = strictly_grammar::TokenMask::new(inner.vocab_len());
        Box::new(GrammarMatcher { inner, scratch })
    }
}

struct GrammarMatcher {
    inner: strictly_grammar::Matcher,
    scratch: strictly_grammar::TokenMask,
}

impl constraint::Matcher for GrammarMatcher {
    fn fill_mask(&mut self, mask: &mut TokenMask) {
        self.inner.compute_mask_into(&mut self.scratch);
        let words = mask.words_mut();
        let src = self.scratch.as_words();
        let n = words.len().min(src.len());
        words[..n].copy_from_slice(&src[..n]);
        words[n..].fill(0);
    }

    fn commit(&mut self, token: u32) -> Result<(), MatchError> {
        self.inner.commit_token(token).map_err(|e| MatchError {
            token,
            reason: e.to_string(),
        })
    }

    fn forced_tokens(&mut self) -> Vec<u32> {
        self.inner.forced_tokens()
    }

    fn is_accepting(&mut self) -> bool {
        self.inner.is_accepting()
    }

    fn rollback(&mut self, n: usize) {
        if let Err(err) = self.inner.rollback(n) {
            tracing::error!(%err, "grammar rollback failed");
        }
    }
}
