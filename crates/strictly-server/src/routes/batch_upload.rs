//! `POST /v1/batches` with a CSV file uploaded as `multipart/form-data`.
//!
//! The file part is written to an anonymous temporary file as it arrives
//! (the operating system removes it even after a crash), in chunks of at
//! most [`SPOOL_CHUNK`] bytes, so a large spreadsheet never sits in memory;
//! the job store then reads the rows from that file. The other parts are
//! small text fields, read whole under a size limit.

use std::fs::File;
use std::io::{Seek, Write};

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::guard::GuardContext;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpResponse, post, web};
use futures_util::StreamExt;
use serde_json::Value;
use strictly_batch::store::JobSpec;
use utoipa::ToSchema;

use super::batches::{BatchStatus, blocking, blocking_error, csv_options, submit_csv};
use super::check_schema_size;
use crate::error::ApiError;
use crate::state::AppState;

/// Bytes of the upload gathered before one write to the spool file.
const SPOOL_CHUNK: usize = 1 << 20;

/// Largest text field other than the schema (instructions, column names).
const MAX_TEXT_FIELD: usize = 64 << 10;

/// The parts of a CSV upload (documentation of the multipart body).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct CreateBatchUpload {
    /// The CSV file, with a header row.
    #[schema(value_type = String, format = Binary, content_media_type = "text/csv")]
    pub file: Vec<u8>,
    /// The JSON Schema every row is extracted with, as JSON text.
    pub schema: String,
    /// Header of the document column.
    pub text_column: String,
    /// Header of the id column (row numbers when absent).
    pub id_column: Option<String>,
    /// Field separator, one character (default `,`).
    pub delimiter: Option<String>,
    /// Replaces the default extraction instructions.
    pub instructions: Option<String>,
}

/// Routes `multipart/form-data` bodies of `POST /v1/batches` here.
pub(crate) fn is_multipart(ctx: &GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// What the form held once read.
#[derive(Default)]
struct Upload {
    file: Option<File>,
    schema: Option<String>,
    text_column: Option<String>,
    id_column: Option<String>,
    delimiter: Option<String>,
    instructions: Option<String>,
}

fn multipart_error(err: MultipartError) -> ApiError {
    ApiError::invalid_request(format!("malformed multipart body: {err}"))
}

fn io_error(err: std::io::Error) -> ApiError {
    tracing::error!(error = %err, "spooling a batch upload");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        format!("could not store the upload: {err}"),
    )
}

/// Writes the file part to a temporary file, refusing it past `limit` bytes.
async fn spool(field: &mut Field, limit: u64) -> Result<File, ApiError> {
    let mut file = blocking(|| tempfile::tempfile().map_err(io_error)).await?;
    let mut size = 0u64;
    let mut buffer = Vec::with_capacity(SPOOL_CHUNK);
    loop {
        let chunk = field.next().await.transpose().map_err(multipart_error)?;
        if let Some(bytes) = &chunk {
            size += bytes.len() as u64;
            if size > limit {
                return Err(ApiError::too_large(
                    "payload_too_large",
                    format!("the uploaded file exceeds the limit of {limit} bytes"),
                )
                .with_param("file"));
            }
            buffer.extend_from_slice(bytes);
        }
        if buffer.len() >= SPOOL_CHUNK || (chunk.is_none() && !buffer.is_empty()) {
            let full = std::mem::take(&mut buffer);
            (file, buffer) = blocking(move || {
                file.write_all(&full).map_err(io_error)?;
                let mut full = full;
                full.clear();
                Ok((file, full))
            })
            .await?;
        }
        if chunk.is_none() {
            return Ok(file);
        }
    }
}

/// Reads a small text part whole, refusing it past `limit` bytes.
async fn text(field: &mut Field, limit: usize, name: &'static str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if bytes.len() + chunk.len() > limit {
            let kind = if name == "schema" {
                "schema_too_large"
            } else {
                "payload_too_large"
            };
            return Err(ApiError::too_large(
                kind,
                format!("the `{name}` field exceeds {limit} bytes"),
            )
            .with_param(name));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| {
        ApiError::invalid_request(format!("the `{name}` field is not UTF-8")).with_param(name)
    })
}

/// Reads every part of the form; unknown or repeated parts are refused.
async fn read_form(form: &mut Multipart, state: &AppState) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        let (slot, param, limit) = match name.as_str() {
            "file" => {
                if upload.file.is_some() {
                    return Err(
                        ApiError::invalid_request("only one `file` part is accepted")
                            .with_param("file"),
                    );
                }
                upload.file = Some(spool(&mut field, state.config.max_upload_bytes).await?);
                continue;
            }
            "schema" => (&mut upload.schema, "schema", state.config.max_schema_bytes),
            "text_column" => (&mut upload.text_column, "text_column", MAX_TEXT_FIELD),
            "id_column" => (&mut upload.id_column, "id_column", MAX_TEXT_FIELD),
            "delimiter" => (&mut upload.delimiter, "delimiter", MAX_TEXT_FIELD),
            "instructions" => (&mut upload.instructions, "instructions", MAX_TEXT_FIELD),
            other => {
                return Err(ApiError::invalid_request(format!(
                    "unknown form field {other:?}: expected file, schema, text_column, \
                     id_column, delimiter or instructions"
                )));
            }
        };
        if slot.is_some() {
            return Err(
                ApiError::invalid_request(format!("the `{param}` field is repeated"))
                    .with_param(param),
            );
        }
        *slot = Some(text(&mut field, limit, param).await?);
    }
    Ok(upload)
}

/// Room for the form's other fields and boundaries beside the file.
const FORM_OVERHEAD: u64 = 1 << 20;

/// Refuses a body whose declared length cannot fit, from its head alone,
/// so a client announcing gigabytes gets 413 before a byte is spooled.
fn refuse_declared_oversize(
    req: &actix_web::HttpRequest,
    state: &AppState,
) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = state.config.max_upload_bytes;
    match declared {
        Some(length) if length > limit.saturating_add(FORM_OVERHEAD) => Err(ApiError::too_large(
            "payload_too_large",
            format!("the upload is {length} bytes; the file limit is {limit}"),
        )
        .with_param("file")),
        _ => Ok(()),
    }
}

/// Creates a batch job from an uploaded CSV file (documented with the JSON
/// form on [`super::batches::create`]).
#[post("/batches", guard = "is_multipart")]
pub(crate) async fn create(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    refuse_declared_oversize(&req, &state)?;
    let runner = state.batches()?;
    let upload = read_form(&mut form, &state).await?;
    let mut file = upload.file.ok_or_else(|| {
        ApiError::invalid_request("the form needs a `file` part with the CSV").with_param("file")
    })?;
    let schema_text = upload.schema.ok_or_else(|| {
        ApiError::invalid_request("the form needs a `schema` field").with_param("schema")
    })?;
    let schema: Value = serde_json::from_str(&schema_text).map_err(|e| {
        ApiError::invalid_json(format!("the `schema` field is not JSON: {e}")).with_param("schema")
    })?;
    check_schema_size(&state.config, &schema)?;
    let options = csv_options(
        upload.text_column,
        upload.id_column,
        upload.delimiter.as_deref(),
        "file",
    )?;
    let spec = JobSpec {
        schema,
        instructions: upload.instructions,
    };
    let info = web::block(move || {
        file.rewind().map_err(io_error)?;
        submit_csv(
            &runner,
            &spec,
            std::io::BufReader::new(file),
            &options,
            "file",
        )
    })
    .await
    .map_err(blocking_error)??;
    Ok(HttpResponse::Accepted().json(BatchStatus::from(info)))
}
