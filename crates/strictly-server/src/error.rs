//! Every failure as a JSON body `{"error": {"type", "message", ...}}` with a
//! stable `type` (clients branch on it; messages may change) and the HTTP
//! status that goes with it. The shape follows OpenAI's, so its clients
//! surface the message.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use strictly_engine::EngineError;

use crate::dto::{ErrorBody, ErrorDetail};

/// A request failure, ready to be sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable category, e.g. `invalid_schema`.
    pub kind: &'static str,
    pub message: String,
    /// JSON Pointer of the offending schema keyword, for `invalid_schema`.
    pub pointer: Option<String>,
    /// Request field at fault, when there is one.
    pub param: Option<&'static str>,
    /// For 429: when to try again.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            pointer: None,
            param: None,
            retry_after: None,
        }
    }

    pub fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    pub fn too_large(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, kind, message)
    }

    pub fn not_ready() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the model is still loading; retry shortly",
        )
    }

    pub fn engine_stopped() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the engine is restarting after a failure; retry shortly",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key is required (Authorization: Bearer <key>)",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        let message = err.to_string();
        match err {
            EngineError::QueueFull { retry_after, .. } => Self {
                retry_after: Some(retry_after),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "queue_full", message)
            },
            EngineError::InvalidRequest(_) => Self::invalid_request(message),
            EngineError::InvalidSchema { pointer, .. } => Self {
                pointer: Some(pointer),
                param: Some("schema"),
                ..Self::new(StatusCode::BAD_REQUEST, "invalid_schema", message)
            },
            EngineError::SchemaTooComplex { pointer, .. } => Self {
                pointer: Some(pointer),
                param: Some("schema"),
                ..Self::new(StatusCode::BAD_REQUEST, "schema_too_complex", message)
            },
            EngineError::InvalidFormat(e) => Self {
                param: Some(e.kind),
                ..Self::new(StatusCode::BAD_REQUEST, "invalid_format", message)
            },
            EngineError::PromptTooLong { .. } => Self::too_large("document_too_large", message),
            EngineError::Unsatisfiable { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unsatisfiable", message)
                    .with_param("max_tokens")
            }
            EngineError::Timeout(_) => Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout", message),
            // The client is gone; whatever is sent is for the logs.
            EngineError::Cancelled => Self::new(
                StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
                "cancelled",
                message,
            ),
            EngineError::Unavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            EngineError::Model(_)
            | EngineError::Codec(_)
            | EngineError::InvalidOutput(_)
            | EngineError::Internal(_) => {
                tracing::error!(error = %message, "request failed inside the engine");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
            }
        }
    }
}

impl ApiError {
    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                kind: self.kind.to_owned(),
                code: self.kind.to_owned(),
                message: self.message.clone(),
                param: self.param.map(str::to_owned),
                pointer: self.pointer.clone(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(after) = self.retry_after {
            let seconds = after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.insert_header((header::RETRY_AFTER, value));
            }
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_statuses_and_stable_types() {
        let cases: Vec<(EngineError, u16, &str)> = vec![
            (
                EngineError::QueueFull {
                    waiting: 3,
                    retry_after: Duration::from_secs(2),
                },
                429,
                "queue_full",
            ),
            (
                EngineError::InvalidSchema {
                    pointer: "/a".into(),
                    message: "m".into(),
                },
                400,
                "invalid_schema",
            ),
            (
                EngineError::InvalidFormat(strictly_engine::TextFormatError {
                    kind: "grammar",
                    message: "GBNF error at line 1, column 3: m".into(),
                }),
                400,
                "invalid_format",
            ),
            (
                EngineError::PromptTooLong {
                    prompt_tokens: 9,
                    max_prompt_tokens: 5,
                    context_tokens: 8,
                    max_tokens: 3,
                },
                413,
                "document_too_large",
            ),
            (
                EngineError::Unsatisfiable {
                    max_tokens: 2,
                    shortest: Some(9),
                },
                422,
                "unsatisfiable",
            ),
            (
                EngineError::SchemaTooComplex {
                    pointer: "/allOf".into(),
                    message: "m".into(),
                },
                400,
                "schema_too_complex",
            ),
            (EngineError::Internal("boom".into()), 500, "internal_error"),
            (EngineError::Timeout(Duration::from_secs(1)), 504, "timeout"),
            (EngineError::Unavailable, 503, "unavailable"),
            (
                EngineError::InvalidOutput("x".into()),
                500,
                "internal_error",
            ),
        ];
        for (err, status, kind) in cases {
            let api = ApiError::from(err);
            assert_eq!((api.status.as_u16(), api.kind), (status, kind));
        }
    }

    #[test]
    fn queue_full_carries_retry_after() {
        let api = ApiError::from(EngineError::QueueFull {
            waiting: 1,
            retry_after: Duration::from_secs(3),
        });
        let response = api.error_response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "3");
    }
}
