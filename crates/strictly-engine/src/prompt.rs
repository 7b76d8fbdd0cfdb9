//! Extraction prompts: concise instructions and the schema in the system
//! message, the document alone in the user message.
//!
//! The system message comes first and depends only on the instructions and
//! the schema, so every document extracted with the same schema shares its
//! tokens; the engine keeps the KV cache of that prefix and prefills only the
//! document.

use serde_json::Value;

use crate::request::{ChatMessage, Constraint, GenerateRequest, Role};

/// Instructions used when a request brings none. Short on purpose: every
/// token of the system message is prefilled (once per schema) and a small
/// model follows a few direct sentences better than a long policy.
pub const DEFAULT_INSTRUCTIONS: &str = "You extract structured data from the document the user sends. \
Answer with one JSON value that matches the JSON Schema below. \
Copy names, numbers and dates exactly as the document states them. \
Leave out optional fields the document does not mention; never invent values.";

/// The system message for `schema`, with `instructions` or the defaults.
pub fn system_message(schema: &Value, instructions: Option<&str>) -> String {
    let instructions = instructions
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_INSTRUCTIONS);
    format!("{instructions}\n\nJSON Schema:\n{schema}")
}

impl GenerateRequest {
    /// An extraction request: `document` turned into an instance of `schema`.
    pub fn extraction(
        schema: Value,
        document: impl Into<String>,
        instructions: Option<&str>,
    ) -> Self {
        let messages = vec![
            ChatMessage::new(Role::System, system_message(&schema, instructions)),
            ChatMessage::new(Role::User, document),
        ];
        let mut request = Self::new(messages).with_constraint(Constraint::JsonSchema(schema));
        request.shared_prefix_messages = 1;
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extraction_puts_the_schema_in_the_shared_system_message() {
        let schema =
            serde_json::json!({"type": "object", "properties": {"total": {"type": "number"}}});
        let req = GenerateRequest::extraction(schema.clone(), "Total: 12 EUR", None);
        assert_eq!(req.messages.len(), 2);
        assert_eq!(req.messages[0].role, Role::System);
        assert!(req.messages[0].content.starts_with(DEFAULT_INSTRUCTIONS));
        assert!(req.messages[0].content.ends_with(&schema.to_string()));
        assert_eq!(req.messages[1].content, "Total: 12 EUR");
        assert_eq!(req.shared_prefix_messages, 1);
        assert_eq!(req.constraint, Constraint::JsonSchema(schema));
    }

    #[test]
    fn blank_instructions_fall_back_to_the_defaults() {
        let schema = serde_json::json!({});
        assert!(system_message(&schema, Some("  ")).starts_with(DEFAULT_INSTRUCTIONS));
        assert!(
            system_message(&schema, Some("Only the totals.")).starts_with("Only the totals.\n")
        );
    }
}
