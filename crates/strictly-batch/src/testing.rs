//! Deterministic [`Extractor`] doubles, so batch, job and regression logic
//! is tested without a model.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::extract::{ExtractError, ExtractErrorKind, ExtractRequest, Extractor};

/// Answers with facts computed from the document:
/// `{"first_word", "words", "chars"}`.
///
/// Markers in the document script failures: `#unsatisfiable` fails the row,
/// `#panic` panics, `#overloaded` is refused as overloaded on the first
/// attempt. Each call can be slowed down by a fixed delay.
#[derive(Debug, Default)]
pub struct EchoExtractor {
    delay: Duration,
    calls: AtomicU64,
    overloaded_once: Mutex<Vec<String>>,
    documents: Mutex<Vec<String>>,
}

impl EchoExtractor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Calls so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Documents extracted successfully or with a row error, in call order.
    pub fn documents(&self) -> Vec<String> {
        self.documents.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The answer for `document`.
    pub fn answer(document: &str) -> Value {
        json!({
            "first_word": document.split_whitespace().next().unwrap_or(""),
            "words": document.split_whitespace().count(),
            "chars": document.chars().count(),
        })
    }
}

impl Extractor for EchoExtractor {
    fn extract(&self, request: &ExtractRequest<'_>) -> Result<Value, ExtractError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(self.delay);
        let doc = request.document;
        if doc.contains("#overloaded") {
            let mut seen = self.overloaded_once.lock().map_err(|_| poisoned())?;
            if !seen.iter().any(|d| d == doc) {
                seen.push(doc.to_owned());
                return Err(ExtractError::new(
                    ExtractErrorKind::Overloaded,
                    "queue full",
                ));
            }
        }
        if doc.contains("#panic") {
            panic!("scripted panic");
        }
        if let Ok(mut docs) = self.documents.lock() {
            docs.push(doc.to_owned());
        }
        if doc.contains("#unsatisfiable") {
            return Err(ExtractError::new(
                ExtractErrorKind::Unsatisfiable,
                "no answer fits in max_tokens=8",
            ));
        }
        Ok(Self::answer(doc))
    }

    fn check_schema(&self, schema: &Value) -> Result<(), ExtractError> {
        if schema
            .get("$ref")
            .and_then(Value::as_str)
            .is_some_and(|r| r.starts_with("http"))
        {
            return Err(ExtractError::new(
                ExtractErrorKind::InvalidSchema,
                "remote `$ref` at /$ref is not fetched",
            ));
        }
        Ok(())
    }
}

fn poisoned() -> ExtractError {
    ExtractError::new(ExtractErrorKind::Internal, "a lock was poisoned")
}
