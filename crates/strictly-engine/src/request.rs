//! What a client asks the engine for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

/// Speaker of a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The role's name in chat templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// One message of a chat prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// What the answer must look like.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Constraint {
    /// Free text.
    #[default]
    None,
    /// Any JSON object.
    JsonObject,
    /// A JSON instance valid against this JSON Schema.
    JsonSchema(Value),
    /// Plain text of a given shape (a regex, a choice, a GBNF grammar).
    Text(TextFormat),
}

/// The shape of a plain-text answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextFormat {
    /// Text the whole of which matches this regex (Rust `regex` syntax).
    Regex(String),
    /// Exactly one of these strings.
    Choice(Vec<String>),
    /// Text derived from the `root` rule of this GBNF grammar (llama.cpp's
    /// format), or `@name` for a grammar shipped in `grammars/`.
    Gbnf(String),
}

impl TextFormat {
    /// The request field it comes from, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Regex(_) => "regex",
            Self::Choice(_) => "choice",
            Self::Gbnf(_) => "grammar",
        }
    }
}

/// How the next token is chosen among the allowed ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// 0 picks the most likely token (greedy), the default for extraction.
    pub temperature: f32,
    /// Nucleus sampling: sample among the most likely tokens whose
    /// probabilities add up to `top_p`.
    pub top_p: f32,
    /// Seed for reproducible sampling; random when absent.
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            seed: None,
        }
    }
}

/// Who waits for an answer, which decides the order of admission to the
/// running batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Priority {
    /// A client waiting on the other end (HTTP, `strictly extract`): takes
    /// free slots first and may use every slot.
    #[default]
    Interactive,
    /// A row of a batch job: admitted only when no interactive request
    /// waits, and never into the slots kept for interactive requests
    /// ([`crate::EngineConfig::interactive_slots`]), so a batch job cannot
    /// add its rows' latency to a person's request.
    Batch,
}

/// Cancels a request from outside the engine (a client that went away, a
/// shutdown). Dropping the [`crate::EventStream`] cancels as well.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A generation request.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub messages: Vec<ChatMessage>,
    pub constraint: Constraint,
    /// Completion tokens allowed; the engine's default when absent.
    pub max_tokens: Option<usize>,
    pub sampling: SamplingParams,
    pub cancel: CancelToken,
    /// Length of the prompt prefix (in messages) worth keeping as a KV
    /// snapshot for later requests, typically the system message holding the
    /// instructions and schema. Zero disables prefix reuse.
    pub shared_prefix_messages: usize,
    pub priority: Priority,
    /// Feed the messages' contents as they are, one after the other, without
    /// the chat template (special tokens written in them are honoured).
    pub raw: bool,
}

impl GenerateRequest {
    /// A request from chat messages, unconstrained, with default sampling.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            constraint: Constraint::None,
            max_tokens: None,
            sampling: SamplingParams::default(),
            cancel: CancelToken::new(),
            shared_prefix_messages: 0,
            priority: Priority::Interactive,
            raw: false,
        }
    }

    /// A one-message user request.
    pub fn chat(user: impl Into<String>) -> Self {
        Self::new(vec![ChatMessage::new(Role::User, user)])
    }

    pub fn with_constraint(mut self, constraint: Constraint) -> Self {
        self.constraint = constraint;
        self
    }

    pub fn with_max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    pub fn with_sampling(mut self, sampling: SamplingParams) -> Self {
        self.sampling = sampling;
        self
    }

    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// A prompt fed exactly as written, without the chat template.
    pub fn raw(prompt: impl Into<String>) -> Self {
        let mut request = Self::new(vec![ChatMessage::new(Role::User, prompt)]);
        request.raw = true;
        request
    }
}
