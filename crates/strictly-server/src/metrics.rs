//! Prometheus metrics: requests by route and status, latency, tokens,
//! queue depth, batch size, step and mask time. [`Metrics`] is also the
//! engine's observer, so scheduler figures arrive without polling.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use strictly_engine::{EngineObserver, StepStats, Usage};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 5 ms .. ~160 s
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// All metrics of the server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabel>,
    tokens: Family<KindLabel, Counter>,
    queue_depth: Gauge,
    running: Gauge,
    restarts: Gauge,
    batch_size: Histogram,
    step_seconds: Histogram,
    mask_seconds: Histogram,
    mask_share: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("strictly");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = HistogramFamily::<RouteLabel>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head by route",
            latency.clone(),
        );
        let tokens = Family::<KindLabel, Counter>::default();
        registry.register(
            "tokens",
            "Tokens processed: prompt, completion, forced, cached_prompt, draft, accepted_draft",
            tokens.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Requests waiting for a KV slot",
            queue_depth.clone(),
        );
        let running = Gauge::default();
        registry.register(
            "running_sequences",
            "Sequences in the running batch",
            running.clone(),
        );
        let restarts = Gauge::default();
        registry.register(
            "engine_restarts",
            "Times the engine's scheduler loop died and restarted with a reloaded model",
            restarts.clone(),
        );
        let batch_size = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
        registry.register(
            "batch_size",
            "Sequences per forward pass",
            batch_size.clone(),
        );
        let step_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "step_seconds",
            "Scheduler step time (forward pass and grammar)",
            step_seconds.clone(),
        );
        let mask_seconds = Histogram::new(exponential_buckets(0.00001, 2.0, 20));
        registry.register(
            "mask_seconds",
            "Grammar time per step (masks, forced tokens)",
            mask_seconds.clone(),
        );
        let mask_share = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "mask_share",
            "Share of the last step's time spent in the grammar",
            mask_share.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            tokens,
            queue_depth,
            running,
            restarts,
            batch_size,
            step_seconds,
            mask_seconds,
            mask_share,
        }
    }

    /// Records a finished HTTP exchange.
    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records a finished generation's token counts.
    pub fn observe_usage(&self, usage: &Usage) {
        let add = |kind, n: usize| {
            self.tokens
                .get_or_create(&KindLabel { kind })
                .inc_by(n as u64);
        };
        add("prompt", usage.prompt_tokens);
        add("completion", usage.completion_tokens);
        add("forced", usage.forced_tokens);
        add("cached_prompt", usage.cached_prompt_tokens);
        add("draft", usage.draft_tokens);
        add("accepted_draft", usage.accepted_draft_tokens);
    }

    /// The text exposition, with the live engine counts.
    pub fn render(&self, queue_depth: usize, running: usize, restarts: usize) -> String {
        self.queue_depth.set(queue_depth as i64);
        self.running.set(running as i64);
        self.restarts.set(restarts as i64);
        let mut out = String::new();
        if let Err(err) = encode(&mut out, &self.registry) {
            tracing::error!(%err, "could not encode metrics");
        }
        out
    }
}

impl EngineObserver for Metrics {
    fn on_step(&self, stats: &StepStats) {
        let step = stats.forward + stats.mask;
        self.batch_size.observe(stats.sequences as f64);
        self.step_seconds.observe(step.as_secs_f64());
        self.mask_seconds.observe(stats.mask.as_secs_f64());
        if !step.is_zero() {
            self.mask_share
                .set(stats.mask.as_secs_f64() / step.as_secs_f64());
        }
        self.queue_depth.set(stats.waiting as i64);
    }
}
