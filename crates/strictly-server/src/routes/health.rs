//! Liveness, readiness, metrics and the API description.

use actix_web::{HttpResponse, get, web};
use utoipa::OpenApi;

use crate::dto::{ErrorBody, Status};
use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// The process is up (the model may still be loading).
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Status)))]
#[get("/healthz")]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status {
        status: "ok".into(),
    })
}

/// The model is loaded and requests are served.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Status),
    (status = 503, description = "The model is still loading, or the engine has stopped", body = ErrorBody),
))]
#[get("/readyz")]
pub(crate) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.ready()?.engine.is_running() {
        return Err(ApiError::engine_stopped());
    }
    Ok(HttpResponse::Ok().json(Status {
        status: "ready".into(),
    }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let (waiting, running, restarts) = state.ready().map_or((0, 0, 0), |r| {
        (r.engine.waiting(), r.engine.running(), r.engine.restarts())
    });
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(waiting, running, restarts))
}

/// This API's OpenAPI description.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document")))]
#[get("/openapi.json")]
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
