//! `POST /v1/extract`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use strictly_engine::GenerateRequest;

use super::{check_schema_size, sampling, submit, until_gone};
use crate::dto::{ErrorBody, ExtractRequest, ExtractResponse};
use crate::error::ApiError;
use crate::state::AppState;

/// Extracts typed JSON from a document. The answer is valid against the
/// schema, or the request fails with a typed error.
#[utoipa::path(post, path = "/v1/extract", tag = "extraction", request_body = ExtractRequest, responses(
    (status = 200, body = ExtractResponse),
    (status = 400, description = "Invalid JSON, request or schema (with the JSON Pointer of the keyword)", body = ErrorBody),
    (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    (status = 413, description = "Body, schema or document too large", body = ErrorBody),
    (status = 422, description = "No valid answer fits in max_tokens", body = ErrorBody),
    (status = 429, description = "Queue full; see Retry-After", body = ErrorBody),
    (status = 503, description = "The model is still loading", body = ErrorBody),
    (status = 504, description = "The request timed out", body = ErrorBody),
))]
#[post("/extract")]
pub(crate) async fn extract(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ExtractRequest>,
) -> Result<HttpResponse, ApiError> {
    let ready = state.ready()?;
    let body = body.into_inner();
    check_schema_size(&state.config, &body.schema)?;
    let options = body.options;
    let document = body.document.clone();
    let mut request =
        GenerateRequest::extraction(body.schema, body.document, body.instructions.as_deref())
            .with_sampling(sampling(options.temperature, options.top_p, options.seed));
    request.max_tokens = options.max_tokens.map(|n| n as usize);
    let stream = submit(&ready.engine, request).await?;
    let done = until_gone(&req, stream.finish()).await??;
    state.metrics.observe_usage(&done.usage);
    let (done, fields) = super::fields(document, done).await?;
    let data = done.json.ok_or_else(|| {
        ApiError::from(strictly_engine::EngineError::InvalidOutput(
            "no JSON answer".into(),
        ))
    })?;
    Ok(HttpResponse::Ok().json(ExtractResponse {
        data,
        fields,
        finish_reason: done.finish_reason.as_str().into(),
        usage: done.usage.into(),
        timings_ms: done.timings.into(),
        model: ready.model.clone(),
    }))
}
