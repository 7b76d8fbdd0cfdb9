//! `POST /v1/chat/completions`, OpenAI-compatible.

use actix_web::{HttpRequest, HttpResponse, post, web};
use strictly_engine::{ChatMessage, Completion, Constraint, GenerateRequest, Role, TextFormat};

use super::{check_schema_size, sampling, sse, submit, unix_now, until_gone};
use crate::dto::{
    AssistantMessage, ChatCompletion, ChatCompletionRequest, ChatMessageIn, ChatUsage, Choice,
    ErrorBody, MessageContent, ResponseFormat,
};
use crate::error::ApiError;
use crate::state::AppState;

/// Chat completion; with `response_format` the answer is JSON valid against
/// the schema (or any JSON object), guaranteed.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", request_body = ChatCompletionRequest, responses(
    (status = 200, description = "A completion, or server-sent `chat.completion.chunk` events with `stream: true`", body = ChatCompletion),
    (status = 400, description = "Invalid JSON, request or schema", body = ErrorBody),
    (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    (status = 413, description = "Body, schema or prompt too large", body = ErrorBody),
    (status = 422, description = "No valid answer fits in max_tokens", body = ErrorBody),
    (status = 429, description = "Queue full; see Retry-After", body = ErrorBody),
    (status = 503, description = "The model is still loading", body = ErrorBody),
    (status = 504, description = "The request timed out", body = ErrorBody),
))]
#[post("/chat/completions")]
pub(crate) async fn completions(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ChatCompletionRequest>,
) -> Result<HttpResponse, ApiError> {
    let ready = state.ready()?;
    let mut body = body.into_inner();
    if body.n.is_some_and(|n| n != 1) {
        return Err(ApiError::invalid_request("only n = 1 is supported").with_param("n"));
    }
    let constraint = constraint(&state, &body)?;
    let mut messages = std::mem::take(&mut body.messages)
        .into_iter()
        .map(message)
        .collect::<Result<Vec<_>, _>>()?;
    if messages.is_empty() {
        return Err(ApiError::invalid_request("messages must not be empty").with_param("messages"));
    }
    // What the values of a JSON answer are looked up in (non-streamed).
    let json_answer = matches!(
        constraint,
        Constraint::JsonObject | Constraint::JsonSchema(_)
    );
    let source = (json_answer && !body.stream).then(|| {
        messages
            .iter()
            .filter(|m| m.role == Role::User)
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    });
    let shared_prefix_messages = describe_format(&mut messages, &constraint);
    let mut request = GenerateRequest::new(messages)
        .with_constraint(constraint)
        .with_sampling(sampling(body.temperature, body.top_p, body.seed));
    request.max_tokens = body
        .max_completion_tokens
        .or(body.max_tokens)
        .map(|n| n as usize);
    request.shared_prefix_messages = shared_prefix_messages;
    let stream = submit(&ready.engine, request).await?;
    let meta = sse::ChunkMeta {
        id: completion_id(),
        created: unix_now(),
        model: ready.model.clone(),
    };
    if body.stream {
        let include_usage = body.stream_options.is_some_and(|o| o.include_usage);
        return Ok(sse::response(
            stream,
            meta,
            include_usage,
            state.metrics.clone(),
        ));
    }
    let done = until_gone(&req, stream.finish()).await??;
    state.metrics.observe_usage(&done.usage);
    let (done, fields) = match source {
        Some(source) if done.json.is_some() => {
            let (done, fields) = super::fields(source, done).await?;
            (done, Some(fields))
        }
        _ => (done, None),
    };
    let mut response = completion(done, meta);
    response.fields = fields;
    Ok(HttpResponse::Ok().json(response))
}

fn completion(done: Completion, meta: sse::ChunkMeta) -> ChatCompletion {
    ChatCompletion {
        id: meta.id,
        object: "chat.completion".into(),
        created: meta.created,
        model: meta.model,
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant".into(),
                content: done.text,
                refusal: None,
            },
            finish_reason: done.finish_reason.as_str().into(),
            logprobs: None,
        }],
        usage: usage(&done.usage),
        fields: None,
    }
}

pub(crate) fn usage(u: &strictly_engine::Usage) -> ChatUsage {
    ChatUsage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.prompt_tokens + u.completion_tokens,
    }
}

fn message(m: ChatMessageIn) -> Result<ChatMessage, ApiError> {
    let role = match m.role.as_str() {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => {
            return Err(
                ApiError::invalid_request(format!("unsupported message role '{other}'"))
                    .with_param("messages"),
            );
        }
    };
    let content = match m.content {
        None => String::new(),
        Some(MessageContent::Text(text)) => text,
        Some(MessageContent::Parts(parts)) => {
            let mut text = String::new();
            for part in parts {
                match (part.kind.as_str(), part.text) {
                    ("text", Some(t)) => text.push_str(&t),
                    (kind, _) => {
                        return Err(ApiError::invalid_request(format!(
                            "unsupported content part '{kind}'"
                        ))
                        .with_param("messages"));
                    }
                }
            }
            text
        }
    };
    Ok(ChatMessage::new(role, content))
}

/// The one constraint a request asks for, from whichever field carries it:
/// `response_format` (OpenAI), `grammar` (llama.cpp), `structured_outputs`
/// or the `guided_*` fields (vLLM). Two at once is an error.
fn constraint(state: &AppState, body: &ChatCompletionRequest) -> Result<Constraint, ApiError> {
    let mut found: Vec<(&'static str, Constraint)> = Vec::new();
    match &body.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => found.push(("response_format", Constraint::JsonObject)),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.clone().ok_or_else(|| {
                ApiError::invalid_request("response_format.json_schema.schema is required")
                    .with_param("response_format")
            })?;
            found.push(("response_format", Constraint::JsonSchema(schema)));
        }
        Some(ResponseFormat::Regex { pattern }) => found.push((
            "response_format",
            Constraint::Text(TextFormat::Regex(pattern.clone())),
        )),
    }
    let text = |f: TextFormat| Constraint::Text(f);
    if let Some(g) = &body.grammar {
        found.push(("grammar", text(TextFormat::Gbnf(g.clone()))));
    }
    if let Some(r) = &body.guided_regex {
        found.push(("guided_regex", text(TextFormat::Regex(r.clone()))));
    }
    if let Some(c) = &body.guided_choice {
        found.push(("guided_choice", text(TextFormat::Choice(c.clone()))));
    }
    if let Some(g) = &body.guided_grammar {
        found.push(("guided_grammar", text(TextFormat::Gbnf(g.clone()))));
    }
    if let Some(so) = &body.structured_outputs {
        if let Some(json) = &so.json {
            let schema = match json {
                serde_json::Value::String(s) => serde_json::from_str(s).map_err(|e| {
                    ApiError::invalid_request(format!(
                        "structured_outputs.json is not a JSON Schema: {e}"
                    ))
                    .with_param("structured_outputs")
                })?,
                other => other.clone(),
            };
            found.push(("structured_outputs", Constraint::JsonSchema(schema)));
        }
        if let Some(r) = &so.regex {
            found.push(("structured_outputs", text(TextFormat::Regex(r.clone()))));
        }
        if let Some(c) = &so.choice {
            found.push(("structured_outputs", text(TextFormat::Choice(c.clone()))));
        }
        if let Some(g) = &so.grammar {
            found.push(("structured_outputs", text(TextFormat::Gbnf(g.clone()))));
        }
    }
    if found.len() > 1 {
        let fields: Vec<&str> = found.iter().map(|(f, _)| *f).collect();
        return Err(ApiError::invalid_request(format!(
            "give one constraint, not several ({})",
            fields.join(", ")
        ))
        .with_param(found[1].0));
    }
    let constraint = found.pop().map_or(Constraint::None, |(_, c)| c);
    if let Constraint::JsonSchema(schema) = &constraint {
        check_schema_size(&state.config, schema)?;
    }
    Ok(constraint)
}

/// Tells the model which JSON to write: the grammar guarantees the shape,
/// but a small model fills optional fields far better when it sees the
/// schema. Returns how many leading messages form a reusable prefix.
fn describe_format(messages: &mut Vec<ChatMessage>, constraint: &Constraint) -> usize {
    let hint = match constraint {
        // The user's messages say what text to write; the grammar holds it.
        Constraint::None | Constraint::Text(_) => return 0,
        Constraint::JsonObject => "Answer with a JSON object.".to_owned(),
        Constraint::JsonSchema(schema) => {
            format!("Answer with JSON that matches this JSON Schema:\n{schema}")
        }
    };
    match messages.first_mut() {
        Some(first) if first.role == Role::System => {
            first.content = format!("{}\n\n{hint}", first.content);
        }
        _ => messages.insert(0, ChatMessage::new(Role::System, hint)),
    }
    usize::from(messages.len() > 1)
}

fn completion_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "chatcmpl-{:x}{:06x}",
        unix_now(),
        NEXT.fetch_add(1, Ordering::Relaxed) & 0xff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_hint_joins_the_system_message_or_becomes_one() {
        let schema = Constraint::JsonSchema(serde_json::json!({"type": "object"}));
        let mut with_system = vec![
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "x"),
        ];
        assert_eq!(describe_format(&mut with_system, &schema), 1);
        assert!(
            with_system[0]
                .content
                .starts_with("Be brief.\n\nAnswer with JSON")
        );
        let mut user_only = vec![ChatMessage::new(Role::User, "x")];
        describe_format(&mut user_only, &schema);
        assert_eq!(user_only.len(), 2);
        assert_eq!(user_only[0].role, Role::System);
        let mut plain = vec![ChatMessage::new(Role::User, "x")];
        assert_eq!(describe_format(&mut plain, &Constraint::None), 0);
        assert_eq!(plain.len(), 1);
    }
}
