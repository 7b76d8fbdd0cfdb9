//! Figures of one concurrency level, from the samples of its requests.

use std::time::Duration;

use serde_json::{Value, json};

use super::client::Outcome;

/// One request's figures.
pub struct Sample {
    name: String,
    latency_ms: f64,
    error: Option<String>,
    accuracy: f64,
    completion_tokens: u64,
    forced_tokens: u64,
    mask_ms: f64,
}

impl Sample {
    /// Figures of `outcome`; `score` rates the extracted data from 0 to 1.
    pub fn new(name: &str, outcome: Outcome, score: impl Fn(&Value) -> f64) -> Self {
        match outcome {
            Outcome::Ok(answer) => Self {
                name: name.to_owned(),
                latency_ms: answer.latency_ms,
                error: None,
                accuracy: score(&answer.body["data"]),
                completion_tokens: answer.usage("completion_tokens"),
                forced_tokens: answer.usage("forced_tokens"),
                mask_ms: answer.timing("mask"),
            },
            failed => Self {
                name: name.to_owned(),
                latency_ms: 0.0,
                error: Some(failed.describe()),
                accuracy: 0.0,
                completion_tokens: 0,
                forced_tokens: 0,
                mask_ms: 0.0,
            },
        }
    }
}

/// The samples of one level and the step-time counters around it.
pub struct Level {
    concurrency: usize,
    samples: Vec<Sample>,
    wall: Duration,
    /// Scheduler step and grammar seconds spent during the level.
    steps: Option<(f64, f64)>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `a / b` to two decimals; `None` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| (a / b * 100.0).round() / 100.0)
}

fn share(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| (part / whole * 1000.0).round() / 1000.0)
}

impl Level {
    pub fn new(
        concurrency: usize,
        samples: Vec<Sample>,
        wall: Duration,
        before: Option<(f64, f64)>,
        after: Option<(f64, f64)>,
    ) -> Self {
        let steps = before
            .zip(after)
            .map(|((s0, m0), (s1, m1))| (s1 - s0, m1 - m0));
        Self {
            concurrency,
            samples,
            wall,
            steps,
        }
    }

    fn ok(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(|s| s.error.is_none())
    }

    fn latencies(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.ok().map(|s| s.latency_ms).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    fn accuracy(&self) -> f64 {
        let n = self.samples.len().max(1) as f64;
        (self.samples.iter().map(|s| s.accuracy).sum::<f64>() / n * 1000.0).round() / 1000.0
    }

    fn requests_per_s(&self) -> f64 {
        let ok = self.ok().count() as f64;
        (ok / self.wall.as_secs_f64().max(1e-9) * 1000.0).round() / 1000.0
    }

    pub fn to_json(&self) -> Value {
        let latencies = self.latencies();
        let completion: u64 = self.ok().map(|s| s.completion_tokens).sum();
        let forced: u64 = self.ok().map(|s| s.forced_tokens).sum();
        let mask_ms: f64 = self.ok().map(|s| s.mask_ms).sum();
        let (step_s, step_mask_s) = self.steps.unwrap_or_default();
        json!({
            "concurrency": self.concurrency,
            "requests": self.samples.len(),
            "errors": self.samples.len() - self.ok().count(),
            "wall_s": round(self.wall.as_secs_f64()),
            "requests_per_s": self.requests_per_s(),
            "latency_ms": {
                "p50": round(percentile(&latencies, 0.5)),
                "p95": round(percentile(&latencies, 0.95)),
                "max": round(latencies.last().copied().unwrap_or(0.0)),
            },
            "completion_tokens": completion,
            "forced_tokens": forced,
            "forced_share": share(forced as f64, completion as f64),
            "mask_ms": round(mask_ms),
            "step_s": self.steps.map(|_| round(step_s)),
            "mask_share_of_step": share(step_mask_s, step_s),
            "field_accuracy": self.accuracy(),
            "documents": self.samples.iter().map(|s| json!({
                "name": s.name,
                "latency_ms": round(s.latency_ms),
                "field_accuracy": (s.accuracy * 1000.0).round() / 1000.0,
                "completion_tokens": s.completion_tokens,
                "forced_tokens": s.forced_tokens,
                "error": s.error,
            })).collect::<Vec<_>>(),
        })
    }

    /// One line for the terminal while the benchmark runs.
    pub fn summary_line(&self) -> String {
        let latencies = self.latencies();
        format!(
            "concurrency {}: {} requests, {} errors, {:.3} req/s, p50 {:.0} ms, p95 {:.0} ms, accuracy {:.3}",
            self.concurrency,
            self.samples.len(),
            self.samples.len() - self.ok().count(),
            self.requests_per_s(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            self.accuracy()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::bench_serve::client::Answer;

    fn ok(latency_ms: f64, completion: u64, forced: u64) -> Outcome {
        Outcome::Ok(Answer {
            latency_ms,
            body: json!({
                "data": {"a": 1},
                "usage": {"completion_tokens": completion, "forced_tokens": forced},
                "timings_ms": {"mask": 2.0},
            }),
        })
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_level_sums_tokens_and_shares_and_counts_errors() {
        let samples = vec![
            Sample::new("a", ok(100.0, 10, 4), |_| 1.0),
            Sample::new("b", ok(300.0, 30, 6), |_| 0.5),
            Sample::new(
                "c",
                Outcome::Failed {
                    status: 422,
                    body: "{}".into(),
                },
                |_| 1.0,
            ),
        ];
        let level = Level::new(
            4,
            samples,
            Duration::from_secs(2),
            Some((1.0, 0.1)),
            Some((5.0, 0.5)),
        );
        let out = level.to_json();
        assert_eq!(out["requests"], 3);
        assert_eq!(out["errors"], 1);
        assert_eq!(out["requests_per_s"], 1.0);
        assert_eq!(out["latency_ms"]["p50"], 100.0);
        assert_eq!(out["latency_ms"]["p95"], 300.0);
        assert_eq!(out["forced_share"], 0.25);
        assert_eq!(out["mask_share_of_step"], 0.1);
        // A failed request scores 0.
        assert_eq!(out["field_accuracy"], 0.5);
        assert!(
            out["documents"][2]["error"]
                .as_str()
                .unwrap()
                .contains("422")
        );
    }
}
