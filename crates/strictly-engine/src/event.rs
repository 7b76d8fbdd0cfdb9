//! What the engine sends back: a stream of tokens, then one final
//! [`Completion`] or one [`EngineError`].

use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::EngineError;

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The answer was complete and the model ended it.
    Stop,
    /// `max_tokens` ended it. For a constrained request the answer is still
    /// complete and valid: it was steered onto the shortest completion.
    Length,
}

impl FinishReason {
    /// The OpenAI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// Token counts of a finished request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: usize,
    /// Tokens of the answer, forced ones included.
    pub completion_tokens: usize,
    /// Answer tokens the grammar forced, appended without sampling.
    pub forced_tokens: usize,
    /// Prompt tokens restored from a shared-prefix KV snapshot instead of
    /// being prefilled.
    pub cached_prompt_tokens: usize,
    /// Tokens copied from the document as drafts and fed for verification.
    pub draft_tokens: usize,
    /// Draft tokens the model confirmed (each saved a forward pass).
    pub accepted_draft_tokens: usize,
}

/// Where a request's time went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Preparation (compile, tokenize) and waiting for a KV slot.
    pub queue_ms: f64,
    /// From getting a slot to the first answer token's logits.
    pub prefill_ms: f64,
    /// From the first answer token to the end.
    pub decode_ms: f64,
    /// Time spent computing grammar masks (included in decode).
    pub mask_ms: f64,
    pub total_ms: f64,
}

/// One answer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEvent {
    pub id: u32,
    /// Text completed by this token. Empty while a multi-byte character is
    /// split across tokens; the text arrives with the token that completes it.
    pub text: String,
    /// Appended because the grammar allowed nothing else, without sampling.
    pub forced: bool,
}

/// Where one answer token is in the answer and how sure the model was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerToken {
    /// Byte offsets `[start, end)` of its bytes in `Completion::text`.
    pub start: usize,
    pub end: usize,
    /// Its probability among the tokens the grammar allowed at that step
    /// (the model's distribution renormalised over the mask, temperature
    /// 1); `1.0` for forced tokens.
    pub prob: f32,
    /// Appended because the grammar allowed nothing else.
    pub forced: bool,
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    /// Every answer token in order, for per-value confidence.
    pub tokens: Vec<AnswerToken>,
    /// The parsed answer of a JSON-constrained request, already validated
    /// (plain-text constraints are validated too; their answer is `text`).
    pub json: Option<Value>,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    pub timings: Timings,
}

/// An item of a request's stream.
#[derive(Debug)]
pub enum Event {
    Token(TokenEvent),
    /// The last event of a successful request.
    Done(Completion),
    /// The last event of a failed request.
    Error(EngineError),
}

/// The events of one request. Dropping it cancels the request and frees its
/// KV slot at the next step.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<Event>,
    prompt_tokens: usize,
}

impl EventStream {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<Event>, prompt_tokens: usize) -> Self {
        Self { rx, prompt_tokens }
    }

    /// Tokens of the rendered prompt.
    pub fn prompt_tokens(&self) -> usize {
        self.prompt_tokens
    }

    /// The next event; `None` after the final one.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event, blocking the thread. Not for use inside an async
    /// runtime.
    pub fn blocking_next(&mut self) -> Option<Event> {
        self.rx.blocking_recv()
    }

    /// Waits for the end of the request, ignoring token events (blocking).
    pub fn wait(mut self) -> Result<Completion, EngineError> {
        loop {
            match self.blocking_next() {
                Some(Event::Token(_)) => {}
                Some(Event::Done(done)) => return Ok(done),
                Some(Event::Error(err)) => return Err(err),
                None => return Err(EngineError::Unavailable),
            }
        }
    }

    /// Waits for the end of the request, ignoring token events.
    pub async fn finish(mut self) -> Result<Completion, EngineError> {
        loop {
            match self.next().await {
                Some(Event::Token(_)) => {}
                Some(Event::Done(done)) => return Ok(done),
                Some(Event::Error(err)) => return Err(err),
                None => return Err(EngineError::Unavailable),
            }
        }
    }
}
