//! The actix-web application: routes, JSON limits, middleware.

use std::net::SocketAddr;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, Error, HttpRequest, HttpServer, web};

use crate::auth::require_key;
use crate::error::ApiError;
use crate::routes::{batch_upload, batches, chat, extract, health, models};
use crate::state::AppState;

/// The application for one worker.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let json = web::JsonConfig::default()
        .limit(state.config.max_body_bytes)
        .error_handler(json_error);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(json)
        .wrap(from_fn(track))
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(health::openapi)
        .service(
            web::scope("/v1")
                .wrap(from_fn(require_key))
                .service(extract::extract)
                .service(chat::completions)
                .service(models::list)
                // Before the JSON form: it takes only multipart bodies.
                .service(batch_upload::create)
                .service(batches::create)
                .service(batches::status)
                .service(batches::results)
                .service(batches::cancel),
        )
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(ApiError::not_found())
        }))
}

/// Binds the server; the returned [`Server`] runs when awaited and stops
/// through its handle.
pub fn run(state: AppState) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let config = state.config.clone();
    let server = HttpServer::new(move || app(state.clone()))
        .on_connect(crate::peer::on_connect)
        .workers(config.workers.max(1))
        // A client that opens a connection and sends nothing (slowloris)
        // holds it for this long at most.
        .client_request_timeout(config.header_timeout)
        .client_disconnect_timeout(std::time::Duration::from_secs(1))
        .bind((config.host.as_str(), config.port))?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}

/// Maps body-parsing failures to typed errors: 413 for size, 400 otherwise.
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::too_large(
            "payload_too_large",
            format!("the body is {length} bytes; the limit is {limit}"),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::too_large(
            "payload_too_large",
            format!("the body exceeds the limit of {limit} bytes"),
        ),
        JsonPayloadError::ContentType => {
            ApiError::unsupported_media_type("Content-Type must be application/json")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::invalid_request(e.to_string()),
        other => ApiError::invalid_json(other.to_string()),
    };
    api.into()
}

/// Records every exchange in the metrics and the log (route pattern, not
/// the raw path, so ids in paths cannot blow up label sets; headers,
/// and so API keys, are never logged).
async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().clone();
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe_request(&route, status, elapsed);
    }
    tracing::info!(%method, %route, status, ms = elapsed.as_millis() as u64, "request");
    Ok(response)
}
