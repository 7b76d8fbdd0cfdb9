//! [`Extractor`] over the generation engine.
//!
//! Each row becomes the engine's standard extraction request (instructions
//! and schema in a shared system message, the document as the user
//! message), so every row after the first reuses the prompt prefix's KV
//! cache. Rows go in with [`Priority::Batch`], so the engine admits them
//! only into the slots interactive requests leave. Batch rows are submitted by at most `concurrency` threads, which
//! caps how many scheduler slots a batch holds; the engine's queue-full
//! refusal is retried by the runner with backoff rather than failing rows.

use serde_json::Value;
use strictly_engine::{Engine, EngineError, ErrorKind, GenerateRequest, Priority};

use crate::extract::{ExtractError, ExtractErrorKind, ExtractRequest, Extractor};

/// Runs extractions on a running [`Engine`].
#[derive(Clone)]
pub struct EngineExtractor {
    engine: Engine,
    max_tokens: Option<usize>,
    priority: Priority,
}

impl std::fmt::Debug for EngineExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineExtractor")
            .field("max_tokens", &self.max_tokens)
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

impl EngineExtractor {
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            max_tokens: None,
            priority: Priority::Batch,
        }
    }

    /// Admission priority of the rows ([`Priority::Batch`] by default).
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Completion budget per row; the engine's default when unset.
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Extractor for EngineExtractor {
    /// Blocks until the answer is complete; call it from a plain thread,
    /// never from inside an async runtime.
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError> {
        let mut generate = GenerateRequest::extraction(
            request.schema.clone(),
            request.document,
            request.instructions,
        );
        generate.max_tokens = self.max_tokens;
        generate.priority = self.priority;
        let completion = self
            .engine
            .submit(generate)
            .map_err(convert)?
            .wait()
            .map_err(convert)?;
        completion.json.ok_or_else(|| {
            ExtractError::new(
                ExtractErrorKind::Internal,
                "the engine finished without a JSON answer",
            )
        })
    }

    fn check_schema(&self, schema: &Value) -> Result<(), ExtractError> {
        self.engine.check_schema(schema).map_err(convert)
    }
}

/// The engine's error in extraction terms, message kept.
pub fn convert(err: EngineError) -> ExtractError {
    let kind = match err.kind() {
        ErrorKind::Overloaded => ExtractErrorKind::Overloaded,
        ErrorKind::InvalidSchema => ExtractErrorKind::InvalidSchema,
        ErrorKind::SchemaTooComplex => ExtractErrorKind::SchemaTooComplex,
        ErrorKind::PromptTooLong => ExtractErrorKind::DocumentTooLong,
        ErrorKind::Unsatisfiable => ExtractErrorKind::Unsatisfiable,
        ErrorKind::Timeout => ExtractErrorKind::Timeout,
        ErrorKind::Cancelled => ExtractErrorKind::Cancelled,
        ErrorKind::Unavailable => ExtractErrorKind::Unavailable,
        // Extraction sends schemas only: a text format cannot occur here.
        ErrorKind::InvalidRequest | ErrorKind::InvalidFormat | ErrorKind::Internal => {
            ExtractErrorKind::Internal
        }
    };
    ExtractError::new(kind, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use strictly_engine::{EngineConfig, testing};

    #[test]
    fn extracts_through_the_engine() {
        let engine = testing::engine_with_script(EngineConfig::default(), r#"{"name":"Ada"}"#);
        let extractor = EngineExtractor::new(engine);
        let schema = json!({"enum": [{"name": "Ada"}, {"name": "Bob"}]});
        extractor.check_schema(&schema).unwrap();
        let got = extractor
            .extract(&ExtractRequest::new(
                &schema,
                "Ada wrote the first program.",
            ))
            .unwrap();
        assert_eq!(got, json!({"name": "Ada"}));
    }

    #[test]
    fn rows_wait_for_interactive_requests() {
        // One slot, kept busy by an interactive request: a row submitted now
        // must not start before a second interactive request sent after it.
        let model = testing::ScriptedModel::new(&"{}".repeat(100))
            .with_delay(std::time::Duration::from_millis(2));
        let engine = testing::engine_with_model(
            EngineConfig {
                max_batch: 1,
                ..EngineConfig::default()
            },
            model,
        );
        let chat = |n| {
            engine
                .submit(GenerateRequest::chat("hi").with_max_tokens(n))
                .unwrap()
        };
        let first = chat(30);
        let schema = json!({"const": {}});
        let order = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            let extractor = EngineExtractor::new(engine.clone());
            let (order, schema) = (&order, &schema);
            scope.spawn(move || {
                extractor
                    .extract(&ExtractRequest::new(schema, "row"))
                    .unwrap();
                order.lock().unwrap().push("row");
            });
            // Give the row time to reach the engine's queue first.
            std::thread::sleep(std::time::Duration::from_millis(20));
            let second = chat(3);
            second.wait().unwrap();
            order.lock().unwrap().push("chat");
            first.wait().unwrap();
        });
        assert_eq!(*order.lock().unwrap(), ["chat", "row"]);
    }

    #[test]
    fn engine_errors_keep_their_category() {
        let err = convert(EngineError::PromptTooLong {
            prompt_tokens: 10,
            max_prompt_tokens: 5,
            context_tokens: 8,
            max_tokens: 3,
        });
        assert_eq!(err.kind, ExtractErrorKind::DocumentTooLong);
        assert!(err.message.contains("10 tokens"), "{}", err.message);
        assert_eq!(
            convert(EngineError::Unavailable).kind,
            ExtractErrorKind::Unavailable
        );
        assert!(!convert(EngineError::Cancelled).kind.is_row_outcome());
    }

    #[test]
    fn a_schema_the_engine_cannot_compile_is_refused_up_front() {
        let engine = testing::engine_with_script(EngineConfig::default(), "{}");
        let extractor = EngineExtractor::new(engine);
        let err = extractor
            .check_schema(&json!({"type": "object"}))
            .unwrap_err();
        assert_eq!(err.kind, ExtractErrorKind::InvalidSchema, "{err:?}");
    }
}
