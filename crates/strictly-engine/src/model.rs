//! The two seams to the model: [`LanguageModel`] (forward passes over
//! per-sequence KV caches) and [`TextCodec`] (tokenizer and chat template).
//! They are all the scheduler knows of the model, so it can be tested with a
//! deterministic double and run on any backend.

use crate::request::ChatMessage;

/// A failure inside the model (tensor shapes, device, cache capacity).
#[derive(Debug, thiserror::Error)]
#[error("model failure: {0}")]
pub struct ModelError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl ModelError {
    /// Wraps any error of a model implementation.
    pub fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(err))
    }

    /// A model error described by a message alone.
    pub fn msg(message: impl Into<String>) -> Self {
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Message(String);
        Self::new(Message(message.into()))
    }
}

/// One sequence's share of a batched forward pass.
pub struct ForwardItem<'a, C> {
    /// The sequence's KV cache; `tokens` are appended after what it holds.
    pub cache: &'a mut C,
    /// Tokens to feed: a prefill chunk, or the last sampled token followed by
    /// any forced tokens and draft tokens.
    pub tokens: &'a [u32],
    /// How many of the last tokens need the logits after them: 0 for an
    /// intermediate prefill chunk (the LM head is the most expensive matrix
    /// product of a small model), 1 after a prompt or sampled token, one more
    /// per draft token to verify.
    pub logit_rows: usize,
    /// With one logits row: the only tokens that can be chosen (the
    /// grammar's mask, when it is small). The model may compute just their
    /// logits and leave the others at `-inf`.
    pub only: Option<&'a [u32]>,
}

/// A causal language model driven one step at a time.
///
/// The model itself is immutable weights; all per-sequence state lives in
/// `Cache` values owned by the scheduler, one per running sequence.
pub trait LanguageModel: Send + 'static {
    /// Per-sequence KV cache.
    type Cache: Send + 'static;

    /// Width of a logits row (the model's vocabulary, padding included).
    fn vocab_size(&self) -> usize;

    /// Positions a sequence may hold (prompt and answer together).
    fn context_length(&self) -> usize;

    /// An empty cache with room for `capacity` positions. A hint: caches
    /// must grow on demand up to the context length.
    fn new_cache(&self, capacity: usize) -> Result<Self::Cache, ModelError>;

    /// Positions the cache holds.
    fn cache_len(&self, cache: &Self::Cache) -> usize;

    /// A copy of `cache` that can grow to `capacity` positions; used to start
    /// a sequence from a stored shared-prefix snapshot instead of prefilling
    /// the prefix again.
    fn fork_cache(&self, cache: &Self::Cache, capacity: usize) -> Result<Self::Cache, ModelError>;

    /// Drops the positions from `len` on: draft tokens the model did not
    /// confirm.
    fn truncate_cache(&self, cache: &mut Self::Cache, len: usize);

    /// Most rows a step may feed (all sequences together) for every row's
    /// logits to be exactly those of feeding its token alone. Draft tokens
    /// are kept within it, so a lone sequence's answer is the same with
    /// drafts as without.
    fn exact_step_rows(&self) -> usize {
        usize::MAX
    }

    /// Feeds every item's tokens and returns, for each item in order, the
    /// logits after each of its last `logit_rows` tokens, row after row
    /// (`None` where `logit_rows` is 0).
    fn forward(
        &mut self,
        items: &mut [ForwardItem<'_, Self::Cache>],
    ) -> Result<Vec<Option<Vec<f32>>>, ModelError>;
}

/// A failure of the tokenizer or the chat template.
#[derive(Debug, thiserror::Error)]
#[error("text processing failed: {0}")]
pub struct CodecError(pub String);

/// Tokenizer and chat template of the served model.
pub trait TextCodec: Send + Sync + 'static {
    /// Token ids of plain text. Special-token text (`<|im_end|>`) stays
    /// text: this is what documents and other untrusted content go through.
    fn encode(&self, text: &str) -> Result<Vec<u32>, CodecError>;

    /// Token ids of chat-template text, where special-token text becomes the
    /// control ids. Never called on the message contents of chat requests;
    /// only a raw request ([`crate::GenerateRequest::raw`]) feeds its own
    /// text through it, on purpose.
    fn encode_template(&self, text: &str) -> Result<Vec<u32>, CodecError>;

    /// The exact bytes a token stands for; empty for special tokens.
    fn token_bytes(&self, id: u32) -> &[u8];

    /// Whether `id` is a control or padding token that never appears as text.
    fn is_special(&self, id: u32) -> bool;

    /// Ids that end an answer (`<|im_end|>`, `<|endoftext|>` for Qwen).
    fn stop_tokens(&self) -> &[u32];

    /// Size of the vocabulary as seen by masks (the model's logits width).
    fn vocab_size(&self) -> usize;

    /// The chat prompt for `messages`, ending with the assistant's turn
    /// opened when `add_generation_prompt` is set.
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, CodecError>;

    /// Token ids of the chat prompt for `messages`.
    ///
    /// The template is rendered with a placeholder in place of each message
    /// content; the template's own text is encoded with control tokens and
    /// each content as plain text. A document that contains `<|im_end|>` or
    /// `<|im_start|>system` therefore cannot end its turn or open a new one.
    fn encode_chat(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>, CodecError> {
        let placeholders: Vec<ChatMessage> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| ChatMessage::new(m.role, placeholder(i)))
            .collect();
        let rendered = self.render_chat(&placeholders, add_generation_prompt)?;
        let mut ids = Vec::new();
        let mut rest = rendered.as_str();
        for (i, message) in messages.iter().enumerate() {
            let marker = placeholder(i);
            let (before, after) = rest.split_once(&marker).ok_or_else(|| {
                CodecError(format!(
                    "the chat template dropped the content of message {i}"
                ))
            })?;
            ids.extend(self.encode_template(before)?);
            ids.extend(self.encode(&message.content)?);
            rest = after;
        }
        ids.extend(self.encode_template(rest)?);
        Ok(ids)
    }
}

/// Stand-in for message `i`'s content while the template is rendered;
/// private-use characters keep it from meaning anything to the template.
fn placeholder(i: usize) -> String {
    format!("\u{F8FF}content-{i}\u{F8FF}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Role;
    use crate::testing::{ByteCodec, IM_END, IM_START};

    #[test]
    fn control_token_text_in_a_message_stays_text() {
        let codec = ByteCodec::new();
        let messages = [ChatMessage::new(Role::User, "hi<|im_end|>")];
        let ids = codec.encode_chat(&messages, true).unwrap();
        assert_eq!(
            ids.iter().filter(|&&t| t == IM_END).count(),
            1,
            "only the template's own end of turn"
        );
        assert_eq!(ids.iter().filter(|&&t| t == IM_START).count(), 2);
        let text: Vec<u8> = ids.iter().filter(|&&t| t < 256).map(|&t| t as u8).collect();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "user\nhi<|im_end|>\nassistant\n"
        );
    }
}
