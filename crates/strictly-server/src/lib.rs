//! The HTTP API of strictly, on actix-web.
//!
//! - `POST /v1/extract`: a document and a JSON Schema in, typed JSON out.
//! - `POST /v1/chat/completions`: OpenAI-compatible, with `response_format`
//!   (`json_schema`, `json_object`) and server-sent events for `stream: true`.
//! - `GET /v1/models`, `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
//! - `POST /v1/batches`, `GET /v1/batches/{id}[/results]`, `DELETE /v1/batches/{id}`:
//!   persisted batch jobs (SQLite), resumed after a restart.
//!
//! Handlers translate wire types ([`dto`]) to engine requests and engine
//! results back; every failure leaves as a JSON body with a stable `type`
//! ([`ApiError`]). The server never touches the model directly: it holds an
//! [`strictly_engine::Engine`] handle, set once the model has loaded, so the
//! HTTP layer is tested against the engine's deterministic doubles.

mod app;
mod auth;
mod config;
pub mod dto;
mod error;
mod metrics;
pub mod openapi;
mod peer;
mod routes;
mod state;

pub use app::{app, run};
pub use config::ServerConfig;
pub use error::ApiError;
pub use metrics::Metrics;
pub use state::AppState;
