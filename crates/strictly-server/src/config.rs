//! Server limits. Engine limits (queue length, request timeout, prompt
//! tokens) live in [`strictly_engine::EngineConfig`]; these are the ones the
//! HTTP layer enforces before a request reaches the engine.

use std::time::Duration;

/// HTTP server settings, with defaults that suit a local deployment.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Largest request body. Bigger bodies get 413 before being parsed.
    pub max_body_bytes: usize,
    /// Largest schema (serialized). A huge schema costs compile time and
    /// prompt tokens for every request that uses it.
    pub max_schema_bytes: usize,
    /// Largest CSV file uploaded to `POST /v1/batches`. Uploads are spooled
    /// to disk, not held in memory, so this may be far above the body limit.
    pub max_upload_bytes: u64,
    /// Accepted bearer keys for `/v1/*`; empty disables authentication.
    pub api_keys: Vec<String>,
    /// HTTP worker threads (the model runs on its own thread regardless).
    pub workers: usize,
    /// Time a client has to send a request's head once connected; idle
    /// connections are answered 408 and closed after it.
    pub header_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            max_body_bytes: 4 << 20,
            max_schema_bytes: 64 << 10,
            max_upload_bytes: 1 << 30,
            api_keys: Vec::new(),
            workers: 2,
            header_timeout: Duration::from_secs(5),
        }
    }
}
