use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable category: `invalid_request_error`, `invalid_json`,
    /// `invalid_schema`, `unauthorized`, `payload_too_large`,
    /// `schema_too_large`, `document_too_large`, `unsatisfiable`,
    /// `queue_full`, `not_ready`, `unavailable`, `timeout`, `internal_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The same as `type`, where OpenAI clients look for it.
    pub code: String,
    /// Human-readable explanation; may change between versions.
    pub message: String,
    /// Request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// JSON Pointer of the offending keyword inside the schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}
