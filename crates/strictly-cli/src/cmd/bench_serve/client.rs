//! A small blocking HTTP client for the benchmark: extraction requests,
//! readiness, and the step-time counters of `/metrics`.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::Value;

/// Talks to one server.
pub struct Client {
    agent: ureq::Agent,
    url: String,
    key: Option<String>,
}

/// A successful extraction.
pub struct Answer {
    /// Client-side time from sending the request to reading the answer.
    pub latency_ms: f64,
    pub body: Value,
}

impl Answer {
    /// A count from the answer's `usage`.
    pub fn usage(&self, key: &str) -> u64 {
        self.body["usage"][key].as_u64().unwrap_or(0)
    }

    /// A figure from the answer's `timings_ms`.
    pub fn timing(&self, key: &str) -> f64 {
        self.body["timings_ms"][key].as_f64().unwrap_or(0.0)
    }

    /// Time to first token as the server measured it: preparation and
    /// queueing, then prefill up to the first answer token's logits.
    pub fn ttft_ms(&self) -> f64 {
        super::report::round(self.timing("queue") + self.timing("prefill"))
    }
}

/// What became of one request.
pub enum Outcome {
    Ok(Answer),
    /// The server answered with an error status.
    Failed {
        status: u16,
        body: String,
    },
    /// No answer (connection refused or cut, timeout).
    Transport(String),
}

impl Outcome {
    pub fn describe(&self) -> String {
        match self {
            Self::Ok(_) => "ok".to_owned(),
            Self::Failed { status, body } => format!("HTTP {status}: {body}"),
            Self::Transport(err) => err.clone(),
        }
    }
}

/// Sum of a metric's samples in Prometheus text (all label sets).
fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

impl Client {
    pub fn new(url: &str, key: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(900)))
            .build()
            .into();
        Self {
            agent,
            url: url.to_owned(),
            key,
        }
    }

    /// `GET path`: the status and the body as text.
    pub fn get(&self, path: &str) -> Result<(u16, String), ureq::Error> {
        let mut req = self.agent.get(format!("{}{path}", self.url));
        if let Some(key) = &self.key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        let mut response = req.call()?;
        let status = response.status().as_u16();
        Ok((status, response.body_mut().read_to_string()?))
    }

    /// Waits up to ten minutes for `/readyz` (the model may be loading).
    pub fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match self.get("/readyz") {
                Ok((200, _)) => return Ok(()),
                Ok(_) | Err(_) if started.elapsed() < Duration::from_secs(600) => {
                    std::thread::sleep(Duration::from_millis(500));
                }
                Ok((status, body)) => bail!("{} is not ready: HTTP {status}: {body}", self.url),
                Err(err) => bail!("{} is not reachable: {err}", self.url),
            }
        }
    }

    /// The served model's name, from `/v1/models`.
    pub fn model_name(&self) -> Option<String> {
        let (_, text) = self.get("/v1/models").ok()?;
        let list: Value = serde_json::from_str(&text).ok()?;
        list["data"][0]["id"].as_str().map(str::to_owned)
    }

    /// Total scheduler step time and grammar time so far, in seconds, from
    /// `/metrics`; `None` when the server does not expose them.
    pub fn step_seconds(&self) -> anyhow::Result<Option<(f64, f64)>> {
        let Ok((200, text)) = self.get("/metrics") else {
            return Ok(None);
        };
        Ok(metric_sum(&text, "strictly_step_seconds_sum")
            .zip(metric_sum(&text, "strictly_mask_seconds_sum")))
    }

    /// `POST path` with a JSON body: the status and the body as text.
    pub fn post(&self, path: &str, body: &Value) -> Result<(u16, String), ureq::Error> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json");
        if let Some(key) = &self.key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        let mut response = req.send(body.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.body_mut().read_to_string()?))
    }

    /// `POST /v1/extract`.
    pub fn extract(&self, body: &Value) -> Outcome {
        let started = Instant::now();
        let result = self.post("/v1/extract", body);
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok((200, text)) => match serde_json::from_str(&text) {
                Ok(body) => Outcome::Ok(Answer { latency_ms, body }),
                Err(err) => Outcome::Transport(format!("the answer is not JSON: {err}")),
            },
            Ok((status, body)) => Outcome::Failed { status, body },
            Err(err) => Outcome::Transport(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_a_metric_over_its_label_sets_only() {
        let text = "# HELP x\n\
            strictly_step_seconds_sum 1.5\n\
            strictly_step_seconds_sum_other 100\n\
            strictly_mask_seconds_sum{a=\"1\"} 0.25\n\
            strictly_mask_seconds_sum{a=\"2\"} 0.25\n";
        assert_eq!(metric_sum(text, "strictly_step_seconds_sum"), Some(1.5));
        assert_eq!(metric_sum(text, "strictly_mask_seconds_sum"), Some(0.5));
        assert_eq!(metric_sum(text, "strictly_missing"), None);
    }
}
