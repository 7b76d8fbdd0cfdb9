//! What the soak's requests came to: status codes per kind of request,
//! latency percentiles, and the outcomes a kind does not document.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// The kinds of request a soak client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Extract,
    Chat,
    ChatStream,
    /// A schema that is valid JSON but not a schema.
    BadSchema,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Extract => "extract",
            Self::Chat => "chat",
            Self::ChatStream => "chat_stream",
            Self::BadSchema => "bad_schema",
        }
    }

    /// The statuses the API documents for this request: an answer, or
    /// `429` when the queue is full; the refusal for a bad schema.
    fn expected(self, status: u16) -> bool {
        match self {
            Self::BadSchema => status == 400,
            _ => matches!(status, 200 | 429),
        }
    }
}

/// One request's outcome.
pub struct Record {
    pub kind: Kind,
    /// `None` when no HTTP answer came (connection refused or cut).
    pub status: Option<u16>,
    pub latency_ms: f64,
    /// What was wrong with it, if anything.
    problem: Option<String>,
}

fn snippet(text: &str) -> String {
    text.chars().take(300).collect()
}

impl Record {
    /// An HTTP answer. A `200` stream must end with `[DONE]` and carry no
    /// error event; an error body must be the API's JSON error.
    pub fn answered(kind: Kind, status: u16, latency_ms: f64, body: &str) -> Self {
        let problem = if !kind.expected(status) {
            Some(format!("HTTP {status}: {}", snippet(body)))
        } else if status == 200 && kind == Kind::ChatStream {
            let events: Vec<&str> = body
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            if events.last() != Some(&"[DONE]") {
                Some(format!("a stream without [DONE]: {}", snippet(body)))
            } else if events.iter().any(|e| e.starts_with("{\"error\"")) {
                Some(format!("an error event in a stream: {}", snippet(body)))
            } else {
                None
            }
        } else if status != 200
            && serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["error"]["type"].as_str().map(str::to_owned))
                .is_none()
        {
            Some(format!(
                "HTTP {status} without a typed JSON error: {}",
                snippet(body)
            ))
        } else {
            None
        };
        Self {
            kind,
            status: Some(status),
            latency_ms,
            problem,
        }
    }

    pub fn transport(kind: Kind, error: String) -> Self {
        Self {
            kind,
            status: None,
            latency_ms: 0.0,
            problem: Some(format!("no answer: {error}")),
        }
    }

    pub fn describe(&self) -> String {
        match (&self.problem, self.status) {
            (Some(p), _) => p.clone(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "no answer".to_owned(),
        }
    }
}

pub fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The records of a run.
pub struct Tally {
    records: Vec<Record>,
}

impl Tally {
    pub fn new(records: Vec<Record>) -> Self {
        Self { records }
    }

    /// Every problem, at most five examples of each kind of problem.
    pub fn failures(&self) -> Vec<String> {
        let mut by_class: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &self.records {
            if let Some(p) = &r.problem {
                let class = format!(
                    "{} {}",
                    r.kind.name(),
                    r.status.map_or("transport".to_owned(), |s| s.to_string())
                );
                by_class.entry(class).or_default().push(p.clone());
            }
        }
        by_class
            .into_iter()
            .flat_map(|(class, problems)| {
                let n = problems.len();
                problems
                    .into_iter()
                    .take(5)
                    .map(move |p| format!("{class} ({n} in all): {p}"))
            })
            .collect()
    }

    fn statuses<'a>(records: impl Iterator<Item = &'a Record>) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in records {
            let key = r.status.map_or("transport".to_owned(), |s| s.to_string());
            *out.entry(key).or_default() += 1;
        }
        out
    }

    /// Counts per status overall and per kind, `5xx` count, and latency
    /// percentiles of the answered (`200`) requests of each kind.
    pub fn to_json(&self, wall: Duration) -> Value {
        let mut kinds = serde_json::Map::new();
        let mut names: Vec<Kind> = self.records.iter().map(|r| r.kind).collect();
        names.sort();
        names.dedup();
        for kind in names {
            let of_kind = || self.records.iter().filter(move |r| r.kind == kind);
            let mut ok: Vec<f64> = of_kind()
                .filter(|r| r.status == Some(200))
                .map(|r| r.latency_ms)
                .collect();
            ok.sort_by(f64::total_cmp);
            kinds.insert(
                kind.name().to_owned(),
                json!({
                    "requests": of_kind().count(),
                    "statuses": Self::statuses(of_kind()),
                    "latency_ms": {
                        "p50": round(percentile(&ok, 0.5)),
                        "p99": round(percentile(&ok, 0.99)),
                        "max": round(ok.last().copied().unwrap_or(0.0)),
                    },
                }),
            );
        }
        let answered = self
            .records
            .iter()
            .filter(|r| r.status == Some(200))
            .count();
        json!({
            "total": self.records.len(),
            "answered_per_s": round(answered as f64 / wall.as_secs_f64().max(1e-9) * 10.0) / 10.0,
            "statuses": Self::statuses(self.records.iter()),
            "server_errors": self.records.iter().filter(|r| r.status.is_some_and(|s| s >= 500)).count(),
            "unexpected": self.records.iter().filter(|r| r.problem.is_some()).count(),
            "by_kind": kinds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR: &str = r#"{"error":{"type":"overloaded","message":"m"}}"#;

    #[test]
    fn documented_statuses_are_not_problems() {
        assert!(
            Record::answered(Kind::Extract, 200, 1.0, "{}")
                .problem
                .is_none()
        );
        assert!(
            Record::answered(Kind::Chat, 429, 1.0, ERROR)
                .problem
                .is_none()
        );
        assert!(
            Record::answered(Kind::BadSchema, 400, 1.0, ERROR)
                .problem
                .is_none()
        );
    }

    #[test]
    fn server_errors_wrong_refusals_and_untyped_errors_are() {
        assert!(
            Record::answered(Kind::Extract, 500, 1.0, ERROR)
                .problem
                .is_some()
        );
        assert!(
            Record::answered(Kind::Extract, 422, 1.0, ERROR)
                .problem
                .is_some()
        );
        assert!(
            Record::answered(Kind::BadSchema, 200, 1.0, "{}")
                .problem
                .is_some()
        );
        assert!(
            Record::answered(Kind::Chat, 429, 1.0, "busy")
                .problem
                .is_some()
        );
        assert!(
            Record::transport(Kind::Chat, "reset".into())
                .problem
                .is_some()
        );
    }

    #[test]
    fn a_stream_must_end_with_done_and_carry_no_error() {
        let good = "data: {\"choices\":[]}\n\ndata: [DONE]\n\n";
        let cut = "data: {\"choices\":[]}\n\n";
        let failed = "data: {\"error\":{\"type\":\"internal_error\"}}\n\ndata: [DONE]\n\n";
        assert!(
            Record::answered(Kind::ChatStream, 200, 1.0, good)
                .problem
                .is_none()
        );
        assert!(
            Record::answered(Kind::ChatStream, 200, 1.0, cut)
                .problem
                .is_some()
        );
        assert!(
            Record::answered(Kind::ChatStream, 200, 1.0, failed)
                .problem
                .is_some()
        );
    }

    #[test]
    fn the_report_counts_statuses_per_kind_and_server_errors() {
        let tally = Tally::new(vec![
            Record::answered(Kind::Extract, 200, 10.0, "{}"),
            Record::answered(Kind::Extract, 200, 30.0, "{}"),
            Record::answered(Kind::Extract, 503, 1.0, ERROR),
            Record::answered(Kind::BadSchema, 400, 1.0, ERROR),
        ]);
        let out = tally.to_json(Duration::from_secs(2));
        assert_eq!(out["total"], 4);
        assert_eq!(out["server_errors"], 1);
        assert_eq!(out["unexpected"], 1);
        assert_eq!(out["by_kind"]["extract"]["statuses"]["200"], 2);
        assert_eq!(out["by_kind"]["extract"]["latency_ms"]["p50"], 10.0);
        assert_eq!(out["by_kind"]["extract"]["latency_ms"]["p99"], 30.0);
        assert_eq!(tally.failures().len(), 1);
        assert!(tally.failures()[0].contains("503"));
    }
}
