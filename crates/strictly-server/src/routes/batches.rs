//! Batch jobs: `POST /v1/batches`, `GET /v1/batches/{id}`,
//! `GET /v1/batches/{id}/results`, `DELETE /v1/batches/{id}`.
//!
//! Jobs live in the SQLite store of `strictly_batch` and run on its job
//! runner, a few rows at a time, so interactive requests keep most of the
//! engine. Every store call blocks (SQLite), so each runs on a blocking
//! thread; results stream page by page.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, web};
use futures_util::stream;
use serde::Deserialize;
use serde_json::Value;
use strictly_batch::jobs::{JobRunner, SubmitError};
use strictly_batch::store::{JobInfo, JobSpec, JsonRow, ResultChunks, StoreError, json_rows};
use strictly_batch::{CsvOptions, CsvRows, OutputFormat};
use utoipa::ToSchema;

use super::check_schema_size;
use crate::dto::ErrorBody;
use crate::error::ApiError;
use crate::state::AppState;

/// A new batch job: a schema and either JSON rows or CSV text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    /// The JSON Schema every row is extracted with.
    #[schema(value_type = Object)]
    pub schema: Value,
    /// Replaces the default extraction instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Rows as JSON: `[{"id": "a", "document": "..."}]`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub rows: Option<Vec<JsonRow>>,
    /// Rows as CSV text with a header row (instead of `rows`).
    #[serde(default)]
    pub csv: Option<String>,
    /// CSV: header of the document column (required with `csv`).
    #[serde(default)]
    pub text_column: Option<String>,
    /// CSV: header of the id column (row numbers when absent).
    #[serde(default)]
    pub id_column: Option<String>,
    /// CSV: field separator, one character (default `,`).
    #[serde(default)]
    pub delimiter: Option<String>,
}

/// A job's state.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct BatchStatus {
    pub id: String,
    /// `queued`, `running`, `completed`, `cancelled` or `failed`.
    pub status: String,
    /// Unix time in milliseconds.
    pub created_at: u64,
    pub updated_at: u64,
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub pending: u64,
    /// Share of rows finished, 0 to 1.
    pub progress: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<JobInfo> for BatchStatus {
    fn from(info: JobInfo) -> Self {
        Self {
            id: info.id,
            status: info.status.as_str().to_owned(),
            created_at: info.created_at,
            updated_at: info.updated_at,
            total: info.total,
            done: info.done,
            failed: info.failed,
            pending: info.pending,
            progress: info.progress,
            error: info.error,
        }
    }
}

/// `?format=` of the results endpoint.
#[derive(Debug, Deserialize)]
pub struct ResultsQuery {
    #[serde(default)]
    format: Option<String>,
}

fn store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound(id) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no batch job {id:?}"),
        ),
        StoreError::Input(e) => ApiError::invalid_request(e.to_string()),
        StoreError::NoRows => ApiError::invalid_request(err.to_string()),
        other => {
            tracing::error!(error = %other, "batch store failure");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                other.to_string(),
            )
        }
    }
}

pub(super) fn blocking_error(err: actix_web::error::BlockingError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        err.to_string(),
    )
}

/// Runs a store call on a blocking thread.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(work).await.map_err(blocking_error)?
}

/// The CSV reading options from the request's column names and delimiter.
pub(super) fn csv_options(
    text_column: Option<String>,
    id_column: Option<String>,
    delimiter: Option<&str>,
    with: &str,
) -> Result<CsvOptions, ApiError> {
    let column = text_column.ok_or_else(|| {
        ApiError::invalid_request(format!("`text_column` is required with `{with}`"))
            .with_param("text_column")
    })?;
    let mut options = CsvOptions::new(column);
    if let Some(id) = id_column {
        options = options.with_id_column(id);
    }
    match delimiter.map(str::as_bytes) {
        None => {}
        Some([b]) => options = options.with_delimiter(*b),
        Some(_) => {
            return Err(
                ApiError::invalid_request("`delimiter` must be one ASCII character")
                    .with_param("delimiter"),
            );
        }
    }
    Ok(options)
}

/// Stores a job with the rows of a CSV stream (blocking).
pub(super) fn submit_csv(
    runner: &JobRunner,
    spec: &JobSpec,
    input: impl std::io::Read,
    options: &CsvOptions,
    param: &'static str,
) -> Result<JobInfo, ApiError> {
    let rows = CsvRows::new(input, options)
        .map_err(|e| ApiError::invalid_request(e.to_string()).with_param(param))?;
    runner.submit(spec, rows).map_err(submit_error)
}

fn submit_error(err: SubmitError) -> ApiError {
    match err {
        SubmitError::Schema(e) => ApiError {
            param: Some("schema"),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_schema", e.message)
        },
        SubmitError::Store(e) => store_error(e),
    }
}

fn submit(runner: &JobRunner, body: CreateBatch) -> Result<JobInfo, ApiError> {
    let spec = JobSpec {
        schema: body.schema,
        instructions: body.instructions,
    };
    match (body.rows, body.csv) {
        (Some(rows), None) => runner.submit(&spec, json_rows(rows)).map_err(submit_error),
        (None, Some(csv)) => {
            let options = csv_options(
                body.text_column,
                body.id_column,
                body.delimiter.as_deref(),
                "csv",
            )?;
            submit_csv(runner, &spec, csv.as_bytes(), &options, "csv")
        }
        _ => Err(ApiError::invalid_request(
            "give the rows either as `rows` (JSON) or as `csv` text, not both",
        )),
    }
}

/// Creates a batch job; it runs in the background and survives restarts.
///
/// The rows come in a JSON body (`rows`, or `csv` text), or as a CSV file
/// uploaded as `multipart/form-data`, which is spooled to disk on arrival
/// rather than held in memory.
#[utoipa::path(post, path = "/v1/batches", tag = "batches",
    request_body(content(
        (CreateBatch = "application/json"),
        (super::batch_upload::CreateBatchUpload = "multipart/form-data"),
    )),
    responses(
    (status = 202, description = "The job is queued", body = BatchStatus),
    (status = 400, description = "Invalid request, CSV (e.g. a missing column) or schema", body = ErrorBody),
    (status = 413, description = "Body, upload or schema too large", body = ErrorBody),
    (status = 503, description = "The model is still loading", body = ErrorBody),
))]
#[post("/batches")]
pub(crate) async fn create(
    state: web::Data<AppState>,
    body: web::Json<CreateBatch>,
) -> Result<HttpResponse, ApiError> {
    let runner = state.batches()?;
    let body = body.into_inner();
    check_schema_size(&state.config, &body.schema)?;
    let info = blocking(move || submit(&runner, body)).await?;
    Ok(HttpResponse::Accepted().json(BatchStatus::from(info)))
}

/// A job's status, counts and progress.
#[utoipa::path(get, path = "/v1/batches/{id}", tag = "batches", responses(
    (status = 200, body = BatchStatus),
    (status = 404, description = "No such job", body = ErrorBody),
))]
#[get("/batches/{id}")]
pub(crate) async fn status(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let runner = state.batches()?;
    let id = id.into_inner();
    let info = blocking(move || runner.store().job(&id).map_err(store_error)).await?;
    Ok(HttpResponse::Ok().json(BatchStatus::from(info)))
}

/// The finished rows so far, in row order: JSONL (default) or CSV with
/// `?format=csv`. Each row has its id and either `data` or `error`.
#[utoipa::path(get, path = "/v1/batches/{id}/results", tag = "batches",
    params(("format" = Option<String>, Query, description = "`jsonl` (default) or `csv`")),
    responses(
        (status = 200, description = "JSONL rows, or CSV with `?format=csv`", body = String, content_type = "application/x-ndjson"),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
#[get("/batches/{id}/results")]
pub(crate) async fn results(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<ResultsQuery>,
) -> Result<HttpResponse, ApiError> {
    let runner = state.batches()?;
    let format = match query.format.as_deref() {
        None | Some("jsonl" | "ndjson") => OutputFormat::Jsonl,
        Some("csv") => OutputFormat::Csv,
        Some(other) => {
            return Err(ApiError::invalid_request(format!(
                "unknown format {other:?}: jsonl or csv"
            ))
            .with_param("format"));
        }
    };
    let id = id.into_inner();
    let store = runner.store().clone();
    let chunks =
        blocking(move || ResultChunks::new(store, &id, format).map_err(store_error)).await?;
    let content_type = chunks.content_type();
    // Each page is read on a blocking thread as the client consumes the
    // body, so a large result never sits in memory whole.
    let body = stream::unfold(Some(chunks), |chunks| async move {
        let mut chunks = chunks?;
        let (next, chunks) = web::block(move || (chunks.next(), chunks)).await.ok()?;
        let item = next?.map(web::Bytes::from).map_err(|e| {
            tracing::error!(error = %e, "reading batch results");
            std::io::Error::other(e.to_string())
        });
        Some((item, Some(chunks)))
    });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .streaming(body))
}

/// Cancels a job: no new row starts; finished rows keep their results. A
/// finished job is returned unchanged.
#[utoipa::path(delete, path = "/v1/batches/{id}", tag = "batches", responses(
    (status = 200, body = BatchStatus),
    (status = 404, description = "No such job", body = ErrorBody),
))]
#[delete("/batches/{id}")]
pub(crate) async fn cancel(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let runner = state.batches()?;
    let id = id.into_inner();
    let info = blocking(move || runner.cancel(&id).map_err(store_error)).await?;
    Ok(HttpResponse::Ok().json(BatchStatus::from(info)))
}

/// Keeps the runner type in one place for [`AppState`].
pub(crate) type Runner = Arc<JobRunner>;
