//! Compiled constraints, cached by schema text. Compiling a schema (grammar
//! and validator) costs far more than a request's other preparation, and an
//! extraction service sees the same few schemas again and again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::constraint::{ConstraintCompiler, Grammar, SchemaError};
use crate::error::EngineError;
use crate::request::TextFormat;
use crate::validate::Validator;

/// Stack of the thread that compiles schemas and plans their shortest
/// answers. Schemas are user input: however the compiler and the validator
/// recurse over them, they run here, not on an async worker's 2 MiB stack.
pub(crate) const COMPILE_STACK_BYTES: usize = 256 << 20;

/// Runs `f` on a thread with [`COMPILE_STACK_BYTES`] of stack (reserved,
/// not committed: untouched pages cost nothing). A panic inside becomes an
/// internal error of this request alone.
pub(crate) fn on_compile_stack<T: Send>(
    f: impl FnOnce() -> Result<T, EngineError> + Send,
) -> Result<T, EngineError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("strictly-compile".into())
            .stack_size(COMPILE_STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| EngineError::Internal(format!("could not start a compile thread: {e}")))?;
        handle.join().unwrap_or_else(|panic| {
            let msg = crate::panic_message(&*panic);
            tracing::error!(panic = %msg, "schema compilation panicked");
            Err(EngineError::Internal(format!(
                "schema compilation failed: {msg}"
            )))
        })
    })
}

/// A constraint ready for use: the grammar that steers generation and the
/// validator that checks the result.
pub(crate) struct Compiled {
    pub(crate) grammar: Arc<dyn Grammar>,
    pub(crate) validator: Validator,
}

/// Least-recently-used cache of compiled constraints.
pub(crate) struct SchemaCache {
    compiler: Arc<dyn ConstraintCompiler>,
    capacity: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// Keyed by the schema's serialization: property order is part of the
    /// key on purpose, since generated objects follow it.
    entries: HashMap<String, (Arc<Compiled>, u64)>,
    clock: u64,
    json_object: Option<Arc<Compiled>>,
}

impl SchemaCache {
    pub(crate) fn new(compiler: Arc<dyn ConstraintCompiler>, capacity: usize) -> Self {
        Self {
            compiler,
            capacity: capacity.max(1),
            state: Mutex::default(),
        }
    }

    /// The compiled form of `schema`, compiling on a miss. Compilation runs
    /// outside the lock so one slow schema does not hold up others.
    pub(crate) fn schema(&self, schema: &Value) -> Result<Arc<Compiled>, EngineError> {
        self.cached(schema.to_string(), || {
            let grammar = self
                .compiler
                .compile_schema(schema)
                .map_err(SchemaError::into_engine_error)?;
            Ok(Compiled {
                grammar,
                validator: Validator::for_schema(schema)?,
            })
        })
    }

    /// The entry for `key`, compiled with `compile` on a miss (outside the
    /// lock), evicting the least recently used entry when full.
    fn cached(
        &self,
        key: String,
        compile: impl FnOnce() -> Result<Compiled, EngineError>,
    ) -> Result<Arc<Compiled>, EngineError> {
        if let Some(hit) = self.with_state(|s| {
            s.clock += 1;
            let now = s.clock;
            s.entries.get_mut(&key).map(|(c, used)| {
                *used = now;
                c.clone()
            })
        }) {
            return Ok(hit);
        }
        let compiled = Arc::new(compile()?);
        self.with_state(|s| {
            if s.entries.len() >= self.capacity
                && let Some(oldest) = s
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone())
            {
                s.entries.remove(&oldest);
            }
            s.clock += 1;
            let now = s.clock;
            s.entries.insert(key, (compiled.clone(), now));
        });
        Ok(compiled)
    }

    /// The compiled form of a plain-text constraint, cached beside schemas.
    pub(crate) fn text(&self, format: &TextFormat) -> Result<Arc<Compiled>, EngineError> {
        // No schema's JSON text starts with NUL.
        let key = match format {
            TextFormat::Regex(p) => format!("\0regex\0{p}"),
            TextFormat::Choice(list) => format!("\0choice\0{}", Value::from(list.clone())),
            TextFormat::Gbnf(g) => format!("\0grammar\0{g}"),
        };
        self.cached(key, || {
            let grammar = self.compiler.compile_text(format)?;
            let validator = Validator::for_text(format, &grammar)?;
            Ok(Compiled { grammar, validator })
        })
    }

    /// The compiled "any JSON object" constraint.
    pub(crate) fn json_object(&self) -> Result<Arc<Compiled>, EngineError> {
        if let Some(hit) = self.with_state(|s| s.json_object.clone()) {
            return Ok(hit);
        }
        let grammar = self
            .compiler
            .compile_json_object()
            .map_err(SchemaError::into_engine_error)?;
        let compiled = Arc::new(Compiled {
            grammar,
            validator: Validator::Object,
        });
        self.with_state(|s| s.json_object = Some(compiled.clone()));
        Ok(compiled)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.with_state(|s| s.entries.len())
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut CacheState) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-update of a
        // cache; its contents are still usable.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ChoiceCompiler;
    use serde_json::json;

    #[test]
    fn hits_reuse_the_compiled_grammar_and_old_entries_are_evicted() {
        let cache = SchemaCache::new(Arc::new(ChoiceCompiler), 2);
        let a = json!({"enum": [1]});
        let first = cache.schema(&a).unwrap();
        assert!(Arc::ptr_eq(&first, &cache.schema(&a).unwrap()));
        cache.schema(&json!({"enum": [2]})).unwrap();
        cache.schema(&a).unwrap();
        cache.schema(&json!({"enum": [3]})).unwrap();
        assert_eq!(cache.len(), 2);
        assert!(
            Arc::ptr_eq(&first, &cache.schema(&a).unwrap()),
            "recently used entry was evicted"
        );
    }

    #[test]
    fn compiler_errors_keep_the_pointer() {
        let cache = SchemaCache::new(Arc::new(ChoiceCompiler), 2);
        match cache.schema(&json!({"enum": 5})).err() {
            Some(EngineError::InvalidSchema { pointer, .. }) => assert_eq!(pointer, "/enum"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
