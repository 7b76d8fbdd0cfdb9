//! Streamed chat completions as server-sent events: a first chunk with the
//! role, one chunk per piece of text, a last chunk with the finish reason
//! (and usage when asked), then `data: [DONE]`. A failure after the stream
//! started is sent as an `error` event, which OpenAI clients raise.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use futures_util::stream;
use serde::Serialize;
use strictly_engine::{Event, EventStream};

use super::chat::usage;
use crate::dto::{ChatCompletionChunk, ChunkChoice, Delta};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// What every chunk of one response repeats.
pub(crate) struct ChunkMeta {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) model: String,
}

struct Sse {
    events: EventStream,
    meta: ChunkMeta,
    include_usage: bool,
    metrics: Arc<Metrics>,
    started: bool,
    finished: bool,
}

/// The streaming response. Dropping it (client gone) drops the engine
/// stream, which cancels the request.
pub(crate) fn response(
    events: EventStream,
    meta: ChunkMeta,
    include_usage: bool,
    metrics: Arc<Metrics>,
) -> HttpResponse {
    let state = Sse {
        events,
        meta,
        include_usage,
        metrics,
        started: false,
        finished: false,
    };
    let body = stream::unfold(state, |mut s| async move {
        let bytes = s.next_bytes().await?;
        Some((Ok::<_, actix_web::Error>(bytes), s))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(body)
}

impl Sse {
    async fn next_bytes(&mut self) -> Option<Bytes> {
        if self.finished {
            return None;
        }
        if !self.started {
            self.started = true;
            let delta = Delta {
                role: Some("assistant".into()),
                content: Some(String::new()),
            };
            return Some(self.chunk(delta, None));
        }
        loop {
            match self.events.next().await {
                Some(Event::Token(t)) if t.text.is_empty() => continue,
                Some(Event::Token(t)) => {
                    return Some(self.chunk(
                        Delta {
                            role: None,
                            content: Some(t.text),
                        },
                        None,
                    ));
                }
                Some(Event::Done(done)) => {
                    self.finished = true;
                    self.metrics.observe_usage(&done.usage);
                    let mut out = self
                        .chunk(Delta::default(), Some(done.finish_reason.as_str().into()))
                        .to_vec();
                    if self.include_usage {
                        let last = ChatCompletionChunk {
                            choices: Vec::new(),
                            usage: Some(usage(&done.usage)),
                            ..self.base()
                        };
                        out.extend_from_slice(&event(&last));
                    }
                    out.extend_from_slice(b"data: [DONE]\n\n");
                    return Some(Bytes::from(out));
                }
                Some(Event::Error(err)) => {
                    self.finished = true;
                    return Some(event(&ApiError::from(err).body()));
                }
                None => {
                    self.finished = true;
                    return Some(event(
                        &ApiError::from(strictly_engine::EngineError::Unavailable).body(),
                    ));
                }
            }
        }
    }

    fn base(&self) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.meta.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.meta.created,
            model: self.meta.model.clone(),
            choices: Vec::new(),
            usage: None,
        }
    }

    fn chunk(&self, delta: Delta, finish_reason: Option<String>) -> Bytes {
        let choice = ChunkChoice {
            index: 0,
            delta,
            finish_reason,
            logprobs: None,
        };
        event(&ChatCompletionChunk {
            choices: vec![choice],
            ..self.base()
        })
    }
}

fn event(value: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("data: {json}\n\n"))
}
