//! What every handler shares: the engine once it is ready, the limits and
//! the metrics.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use strictly_engine::Engine;

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// A loaded model's engine and the name clients see.
#[derive(Clone)]
pub struct Ready {
    pub engine: Engine,
    pub model: String,
    /// Unix time the model became ready (`created` in `/v1/models`).
    pub created: u64,
}

/// Shared server state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    ready: Arc<OnceLock<Ready>>,
    /// The batch job runner, set once the engine is ready.
    batches: Arc<OnceLock<crate::routes::batches::Runner>>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// State of a server whose model is still loading: `/readyz` and the
    /// API answer 503 until [`AppState::set_ready`].
    pub fn loading(config: ServerConfig) -> Self {
        Self {
            ready: Arc::default(),
            batches: Arc::default(),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Marks the model loaded. The engine should report to
    /// [`AppState::metrics`] (see [`Metrics`] as an engine observer).
    pub fn set_ready(&self, engine: Engine, model: impl Into<String>) {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self
            .ready
            .set(Ready {
                engine,
                model: model.into(),
                created,
            })
            .is_err()
        {
            tracing::warn!("the model was already set; ignoring a second one");
        }
    }

    /// The engine, or 503 while the model loads.
    pub fn ready(&self) -> Result<&Ready, ApiError> {
        self.ready.get().ok_or_else(ApiError::not_ready)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.get().is_some()
    }

    /// Enables the batch API with a runner over the persisted job store
    /// (usually started once the engine is ready).
    pub fn set_batches(&self, runner: strictly_batch::jobs::JobRunner) {
        if self.batches.set(Arc::new(runner)).is_err() {
            tracing::warn!("the batch runner was already set; ignoring a second one");
        }
    }

    /// The batch runner, or 503 until it is set.
    pub(crate) fn batches(&self) -> Result<crate::routes::batches::Runner, ApiError> {
        self.batches.get().cloned().ok_or_else(ApiError::not_ready)
    }
}
