//! The real grammar engine ([`strictly_grammar`]) behind the engine's
//! constraint seam: one [`Factory`] per vocabulary, shared; one matcher per
//! sequence. Generation always uses compact JSON (no whitespace), so a small
//! model can never loop on spaces and every answer costs fewer tokens.

use std::sync::Arc;

use serde_json::Value;
use strictly_grammar::JsonOptions;
use strictly_grammar::{CompileError, CompiledGrammar, Factory, Vocabulary};

use crate::constraint::{
    self, ConstraintCompiler, MatchError, SchemaError, TextFormatError, TokenMask,
};
use crate::model::TextCodec;
use crate::request::TextFormat;

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

    /// The same compiler with another compile time budget
    /// ([`JsonOptions::time_budget`]).
    pub fn with_time_budget(self, budget: std::time::Duration) -> Self {
        Self {
            options: self.options.with_time_budget(budget),
            ..self
        }
    }

    fn compile(&self, schema: &Value) -> Result<Arc<dyn constraint::Grammar>, SchemaError> {
        let grammar = self
            .factory
            .compile_json_schema(schema, &self.options)
            .map_err(schema_error)?;
        Ok(Arc::new(Compiled {
            factory: self.factory.clone(),
            grammar,
        }))
    }
}

/// The API reports the plain JSON Pointer of the offending keyword
/// (`/properties/a/pattern`).
fn schema_error(err: CompileError) -> SchemaError {
    SchemaError {
        pointer: err.keyword_pointer().unwrap_or_default(),
        message: err.to_string(),
        too_complex: matches!(err, CompileError::TooComplex { .. }),
    }
}

impl ConstraintCompiler for GrammarCompiler {
    fn compile_schema(&self, schema: &Value) -> Result<Arc<dyn constraint::Grammar>, SchemaError> {
        self.compile(schema)
    }

    fn compile_json_object(&self) -> Result<Arc<dyn constraint::Grammar>, SchemaError> {
        self.compile(&serde_json::json!({"type": "object"}))
    }

    fn compile_text(
        &self,
        format: &TextFormat,
    ) -> Result<Arc<dyn constraint::Grammar>, TextFormatError> {
        let err = |message: String| TextFormatError {
            kind: format.kind(),
            message,
        };
        let grammar = match format {
            TextFormat::Regex(pattern) => self.factory.compile_regex(pattern),
            TextFormat::Choice(list) => self.factory.compile_choice(list),
            TextFormat::Gbnf(text) => {
                let text =
                    strictly_grammar::library::resolve(text).map_err(|e| err(e.to_string()))?;
                self.factory
                    .compile_gbnf_within(text, self.options.time_budget)
            }
        }
        .map_err(|e| err(e.to_string()))?;
        Ok(Arc::new(Compiled {
            factory: self.factory.clone(),
            grammar,
        }))
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

    fn accepts(&self, text: &str) -> bool {
        let mut m = self.factory.matcher(&self.grammar);
        m.commit_bytes(text.as_bytes()).is_ok() && m.is_accepting()
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

    fn shortest_completion(&mut self, max_bytes: usize) -> Option<Vec<u32>> {
        self.inner.shortest_completion_tokens(max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::testing::{ByteCodec, ScriptedModel};
    use crate::{Engine, EngineConfig, EngineError, FinishReason, GenerateRequest, TextFormat};

    fn engine(script: &str) -> Engine {
        let codec = ByteCodec::new();
        let compiler = GrammarCompiler::new(&codec, codec.vocab_size()).unwrap();
        Engine::builder(
            ScriptedModel::new(script),
            Arc::new(codec),
            Arc::new(compiler),
        )
        .config(EngineConfig::default())
        .start()
    }

    fn repo_schema(name: &str) -> Value {
        let path = format!(
            "{}/../../schemas/{name}.schema.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// A model that knows nothing (pseudo-random logits) still gets
    /// schema-valid answers for every shipped schema, within the budget.
    #[test]
    fn random_model_answers_are_valid_for_every_shipped_schema() {
        let engine = engine("");
        for name in [
            "invoice",
            "receipt",
            "job_posting",
            "support_email",
            "resume",
            "contract_parties",
        ] {
            let schema = repo_schema(name);
            let req = GenerateRequest::extraction(schema.clone(), "a document", None)
                .with_max_tokens(400);
            let done = engine
                .submit(req)
                .and_then(|s| s.wait())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let answer = done.json.unwrap();
            assert!(jsonschema::is_valid(&schema, &answer), "{name}: {answer}");
            assert!(done.usage.completion_tokens <= 400);
            assert!(
                done.usage.forced_tokens > 0,
                "{name}: keys should be forced"
            );
        }
    }

    /// Formats whose shortest instance needs characters no closing token
    /// offers (`@`, `:`, digits in order) still fit a small budget.
    #[test]
    fn string_formats_complete_within_a_small_budget() {
        let engine = engine("");
        for format in [
            "email",
            "date",
            "date-time",
            "time",
            "duration",
            "uri",
            "uri-reference",
            "uuid",
            "ipv4",
            "ipv6",
            "hostname",
        ] {
            let schema = json!({"type": "object", "properties": {"v": {"type": "string", "format": format}}, "required": ["v"]});
            let req = GenerateRequest::extraction(schema.clone(), "x", None).with_max_tokens(120);
            let done = engine
                .submit(req)
                .and_then(|s| s.wait())
                .unwrap_or_else(|e| panic!("{format}: {e}"));
            let answer = done.json.unwrap();
            assert!(jsonschema::is_valid(&schema, &answer), "{format}: {answer}");
        }
    }

    #[test]
    fn the_model_is_followed_where_the_schema_allows() {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
        let done = engine(r#"{"city":"Lyon"}"#)
            .submit(GenerateRequest::extraction(schema, "x", None))
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(done.json, Some(json!({"city": "Lyon"})));
        assert_eq!(done.finish_reason, FinishReason::Stop);
    }

    fn text(engine: &Engine, format: TextFormat, max_tokens: usize) -> Result<String, EngineError> {
        let req = GenerateRequest::chat("x")
            .with_constraint(crate::Constraint::Text(format))
            .with_max_tokens(max_tokens);
        let done = engine.submit(req)?.wait()?;
        assert_eq!(done.json, None, "plain text is not parsed as JSON");
        Ok(done.text)
    }

    /// A model that knows nothing still writes text of the requested shape.
    #[test]
    fn plain_text_constraints_hold_whatever_the_model_writes() {
        let engine = engine("");
        let id = text(&engine, TextFormat::Regex(r"[A-Z]{2}-\d{4}".into()), 40).unwrap();
        assert!(
            regex::Regex::new(r"^[A-Z]{2}-\d{4}$")
                .unwrap()
                .is_match(&id),
            "{id}"
        );
        let choices = vec!["positive".to_string(), "negative".into(), "neutral".into()];
        let pick = text(&engine, TextFormat::Choice(choices.clone()), 40).unwrap();
        assert!(choices.contains(&pick), "{pick}");
        let date = text(&engine, TextFormat::Gbnf("@iso_date".into()), 40).unwrap();
        assert!(
            regex::Regex::new(r"^\d{4}-\d{2}-\d{2}$")
                .unwrap()
                .is_match(&date),
            "{date}"
        );
        let word = text(
            &engine,
            TextFormat::Gbnf("root ::= [a-c]{2,4} \"!\"".into()),
            40,
        )
        .unwrap();
        assert!(
            regex::Regex::new("^[a-c]{2,4}!$").unwrap().is_match(&word),
            "{word}"
        );
    }

    #[test]
    fn the_model_is_followed_inside_a_grammar() {
        let engine = engine("SELECT * FROM \"users\" LIMIT 5");
        let sql = text(&engine, TextFormat::Gbnf("@sql_select".into()), 60).unwrap();
        assert_eq!(sql, "SELECT * FROM \"users\" LIMIT 5");
    }

    #[test]
    fn malformed_formats_are_typed_errors_that_say_where() {
        let engine = engine("");
        let cases = [
            (
                TextFormat::Gbnf("root ::= \"a\"\nb ::= [z-a]".into()),
                "line 2, column 8",
            ),
            (TextFormat::Gbnf("@no_such_grammar".into()), "@sql_select"),
            (TextFormat::Regex("ab(".into()), "offset 2"),
            (TextFormat::Choice(vec![]), "empty"),
        ];
        for (format, needle) in cases {
            let kind = format.kind();
            match text(&engine, format, 10) {
                Err(EngineError::InvalidFormat(e)) => {
                    assert_eq!(e.kind, kind);
                    assert!(e.message.contains(needle), "{kind}: {}", e.message);
                }
                other => panic!("{kind}: {other:?}"),
            }
        }
    }

    /// A model that wants to add keys nobody listed gets the listed ones.
    #[test]
    fn keys_the_schema_does_not_list_are_not_invented() {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let done = engine(r#"{"city":"Lyon","number":"12","date":"2024"}"#)
            .submit(GenerateRequest::extraction(schema, "x", None))
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(done.json, Some(json!({"city": "Lyon"})));
    }

    #[test]
    fn compile_errors_carry_the_keyword_pointer() {
        let schema =
            json!({"type": "object", "properties": {"n": {"$ref": "https://example.com/n.json"}}});
        match engine("").submit(GenerateRequest::extraction(schema, "x", None)) {
            Err(EngineError::InvalidSchema { pointer, .. }) => {
                assert!(pointer.starts_with("/properties/n"), "{pointer}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_tight_budget_ends_with_the_shortest_valid_answer() {
        let schema = json!({
            "type": "object",
            "properties": {"note": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["note", "tags"]
        });
        let script = r#"{"note":"a very long note that goes on and on","tags":["x","y"]}"#;
        let done = engine(script)
            .submit(GenerateRequest::extraction(schema.clone(), "x", None).with_max_tokens(30))
            .unwrap()
            .wait()
            .unwrap();
        let answer = done.json.unwrap();
        assert!(jsonschema::is_valid(&schema, &answer), "{answer}");
        assert_eq!(done.finish_reason, FinishReason::Length);
        assert!(done.usage.completion_tokens <= 30, "{:?}", done.usage);
    }
}
