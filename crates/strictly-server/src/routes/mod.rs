//! Route handlers, one module per resource.

pub(crate) mod batch_upload;
pub(crate) mod batches;
pub(crate) mod chat;
pub(crate) mod extract;
pub(crate) mod health;
pub(crate) mod models;
mod sse;

use std::collections::BTreeMap;

use serde_json::Value;
use strictly_engine::{Completion, Engine, EngineError, EventStream, GenerateRequest};

use crate::config::ServerConfig;
use crate::dto::FieldEvidence;
use crate::error::ApiError;

/// The `fields` of a finished JSON answer to `document` (evidence and
/// confidence by JSON Pointer), computed on a blocking thread: approximate
/// matching costs the document's length times each value's.
pub(crate) async fn fields(
    document: String,
    done: Completion,
) -> Result<(Completion, BTreeMap<String, FieldEvidence>), ApiError> {
    actix_web::web::block(move || {
        let fields = strictly_engine::evidence::fields(&document, &done)
            .into_iter()
            .map(|(pointer, f)| (pointer, f.into()))
            .collect();
        (done, fields)
    })
    .await
    .map_err(|e| ApiError::from(EngineError::Internal(e.to_string())))
}

/// Prepares and queues a request on a blocking thread: preparation compiles
/// schemas and tokenizes documents, which must not stall the HTTP workers.
pub(crate) async fn submit(
    engine: &Engine,
    request: GenerateRequest,
) -> Result<EventStream, ApiError> {
    let engine = engine.clone();
    actix_web::web::block(move || engine.submit(request))
        .await
        .map_err(|e| {
            ApiError::new(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                e.to_string(),
            )
        })?
        .map_err(ApiError::from)
}

/// Runs `work` until it finishes or the client goes away. In the second
/// case `work` is dropped, and with it the engine's event stream, which
/// cancels the request and frees its KV slot.
pub(crate) async fn until_gone<T>(
    req: &actix_web::HttpRequest,
    work: impl Future<Output = T>,
) -> Result<T, ApiError> {
    tokio::select! {
        out = work => Ok(out),
        () = crate::peer::gone(req) => Err(ApiError::from(strictly_engine::EngineError::Cancelled)),
    }
}

/// Refuses schemas above the configured size before any work is done.
pub(crate) fn check_schema_size(config: &ServerConfig, schema: &Value) -> Result<(), ApiError> {
    let size = schema.to_string().len();
    if size > config.max_schema_bytes {
        return Err(ApiError::too_large(
            "schema_too_large",
            format!(
                "the schema is {size} bytes; at most {} are accepted",
                config.max_schema_bytes
            ),
        )
        .with_param("schema"));
    }
    Ok(())
}

/// Sampling options as the engine wants them; OpenAI's default temperature
/// of 1 is not used: extraction wants the most likely answer unless asked.
pub(crate) fn sampling(
    temperature: Option<f32>,
    top_p: Option<f32>,
    seed: Option<u64>,
) -> strictly_engine::SamplingParams {
    let defaults = strictly_engine::SamplingParams::default();
    strictly_engine::SamplingParams {
        temperature: temperature.unwrap_or(defaults.temperature),
        top_p: top_p.unwrap_or(defaults.top_p),
        seed,
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
