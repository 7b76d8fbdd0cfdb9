//! OpenAI's chat completion wire format, the subset strictly serves.
//! Unknown request fields are ignored, as clients send many optional ones.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /v1/chat/completions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// Accepted and echoed; the server has one model.
    #[serde(default)]
    pub model: Option<String>,
    pub messages: Vec<ChatMessageIn>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Newer spelling of `max_tokens`; wins when both are given.
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub top_p: Option<f32>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Number of choices; only 1 is supported.
    #[serde(default)]
    pub n: Option<u32>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    pub response_format: Option<ResponseFormat>,
    /// A GBNF grammar the answer follows from its `root` rule, as llama.cpp's
    /// server takes it; `@name` names a grammar shipped with strictly
    /// (`@json`, `@sql_select`, …; see `grammars/`).
    #[serde(default)]
    pub grammar: Option<String>,
    /// vLLM's constraint object: exactly one of `json`, `regex`, `choice`
    /// or `grammar`.
    #[serde(default)]
    pub structured_outputs: Option<StructuredOutputs>,
    /// Older vLLM spelling of `structured_outputs.regex`.
    #[serde(default)]
    pub guided_regex: Option<String>,
    /// Older vLLM spelling of `structured_outputs.choice`.
    #[serde(default)]
    pub guided_choice: Option<Vec<String>>,
    /// Older vLLM spelling of `structured_outputs.grammar`.
    #[serde(default)]
    pub guided_grammar: Option<String>,
}

/// vLLM's `structured_outputs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StructuredOutputs {
    /// A JSON Schema (an object) or its text.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub json: Option<Value>,
    /// A regex the whole answer matches (Rust `regex` syntax, which covers
    /// Python's common forms).
    #[serde(default)]
    pub regex: Option<String>,
    /// The answer is exactly one of these strings.
    #[serde(default)]
    pub choice: Option<Vec<String>>,
    /// A GBNF grammar, or `@name` of a shipped one.
    #[serde(default)]
    pub grammar: Option<String>,
}

/// Options of a streamed response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StreamOptions {
    /// Send a last chunk with the token usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// One input message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatMessageIn {
    /// `system`, `developer` (treated as `system`), `user` or `assistant`.
    pub role: String,
    #[serde(default)]
    pub content: Option<MessageContent>,
}

/// A message's content: a string or a list of text parts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A content part; only `text` parts are supported.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// The shape of the answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON valid against a schema (always enforced, whatever `strict` says).
    JsonSchema { json_schema: JsonSchemaFormat },
    /// Text the whole of which matches `pattern` (Rust `regex` syntax).
    Regex { pattern: String },
}

/// A named schema.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JsonSchemaFormat {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// A non-streamed response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletion {
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: ChatUsage,
    /// strictly's extension, for JSON answers (non-streamed): where each
    /// string and number of the answer is in the user messages, and how far
    /// to trust it, by JSON Pointer (as `fields` of `/v1/extract`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<std::collections::BTreeMap<String, super::FieldEvidence>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Choice {
    pub index: u32,
    pub message: AssistantMessage,
    /// `stop` or `length`.
    pub finish_reason: String,
    /// Never computed; always null.
    #[schema(value_type = Option<Object>)]
    pub logprobs: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: String,
    pub content: String,
    /// Always null: the model cannot refuse outside the schema.
    #[schema(value_type = Option<String>)]
    pub refusal: Option<String>,
}

/// Token counts, OpenAI style.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct ChatUsage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub total_tokens: usize,
}

/// One server-sent event of a streamed response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletionChunk {
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChunkChoice>,
    /// Only in the last chunk, when `stream_options.include_usage` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: Delta,
    pub finish_reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub logprobs: Option<Value>,
}

/// The new part of the message.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Delta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}
