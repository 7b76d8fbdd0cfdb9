//! The generated OpenAPI description, served at `/openapi.json`; a test
//! keeps the committed copy (`openapi.json` in this crate) in step with it.

use utoipa::OpenApi;

use crate::dto;
use crate::routes;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "strictly",
        description = "Typed JSON from documents, guaranteed to match a JSON Schema. \
            Errors are JSON bodies `{\"error\": {\"type\", \"message\"}}` with a stable `type`."
    ),
    paths(
        routes::extract::extract,
        routes::chat::completions,
        routes::models::list,
        routes::batches::create,
        routes::batches::status,
        routes::batches::results,
        routes::batches::cancel,
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
        routes::health::openapi,
    ),
    components(schemas(
        dto::ExtractRequest, dto::ExtractOptions, dto::ExtractResponse, dto::ExtractUsage, dto::TimingsMs,
        dto::ChatCompletionRequest, dto::ChatMessageIn, dto::MessageContent, dto::ContentPart,
        dto::ResponseFormat, dto::FieldEvidence, dto::JsonSchemaFormat, dto::StructuredOutputs, dto::StreamOptions, dto::ChatCompletion, dto::Choice,
        dto::AssistantMessage, dto::ChatUsage, dto::ChatCompletionChunk, dto::ChunkChoice, dto::Delta,
        dto::ModelList, dto::ModelCard, dto::Status, dto::ErrorBody, dto::ErrorDetail,
        routes::batches::CreateBatch, routes::batch_upload::CreateBatchUpload, routes::batches::BatchStatus,
    )),
    tags(
        (name = "extraction", description = "Documents in, schema-valid JSON out"),
        (name = "openai", description = "OpenAI-compatible endpoints"),
        (name = "batches", description = "Persisted batch jobs over many documents"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// The description as pretty JSON, as committed.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}
