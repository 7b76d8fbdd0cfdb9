//! Chat prompts rendered from the model's own Jinja template (`tokenizer.chat_template` in
//! GGUF files, `chat_template` in `tokenizer_config.json`) with minijinja.
//!
//! The environment mirrors the one `transformers` renders these templates in: blocks trimmed
//! and left-stripped, Python string methods available (`pycompat`), `raise_exception`, and a
//! `tojson` that writes what Python's `json.dumps` writes (`", "` and `": "` separators,
//! non-ASCII kept), so prompts match what the model was trained on byte for byte.

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, ErrorKind, context};
use serde::{Deserialize, Serialize};

use crate::gguf::{GgufError, GgufFile};

const TEMPLATE_NAME: &str = "chat";

/// Why a chat template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("{0} has no chat template")]
    Missing(String),
    #[error("the chat template does not compile: {0}")]
    Syntax(#[source] minijinja::Error),
    #[error("rendering the chat template failed: {0}")]
    Render(#[source] minijinja::Error),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles `source`; `bos_token` and `eos_token` are the texts templates may refer to.
    pub fn new(
        source: impl Into<String>,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
    ) -> Result<ChatTemplate, ChatError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function(
            "raise_exception",
            |msg: String| -> Result<Value, minijinja::Error> {
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_template_owned(TEMPLATE_NAME, source.into())
            .map_err(ChatError::Syntax)?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// The template stored in a GGUF file, with its BOS/EOS token texts.
    pub fn from_gguf(file: &GgufFile) -> Result<ChatTemplate, ChatError> {
        let source = match file.get_str("tokenizer.chat_template") {
            Ok(s) => s,
            Err(GgufError::MissingKey(_)) => {
                let name = file
                    .path()
                    .map_or("the GGUF file".to_owned(), |p| p.display().to_string());
                return Err(ChatError::Missing(name));
            }
            Err(e) => return Err(e.into()),
        };
        let token_text = |key: &str| -> String {
            let tokens = file.get_str_array("tokenizer.ggml.tokens").ok();
            file.get_u64(key)
                .ok()
                .and_then(|id| tokens?.get(usize::try_from(id).ok()?).cloned())
                .unwrap_or_default()
        };
        Self::new(
            source,
            token_text("tokenizer.ggml.bos_token_id"),
            token_text("tokenizer.ggml.eos_token_id"),
        )
    }

    /// The template in a Hugging Face folder's `tokenizer_config.json`.
    pub fn from_hf_dir(dir: impl AsRef<Path>) -> Result<ChatTemplate, ChatError> {
        let path = dir.as_ref().join("tokenizer_config.json");
        let text = std::fs::read_to_string(&path).map_err(|source| ChatError::Io {
            path: path.clone(),
            source,
        })?;
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ChatError::Json {
                path: path.clone(),
                source,
            })?;
        let source = match &config["chat_template"] {
            serde_json::Value::String(s) => s.clone(),
            // Some configs list named templates; "default" is the chat one.
            serde_json::Value::Array(named) => named
                .iter()
                .find(|t| t["name"] == "default")
                .and_then(|t| t["template"].as_str())
                .map(str::to_owned)
                .ok_or_else(|| ChatError::Missing(path.display().to_string()))?,
            _ => return Err(ChatError::Missing(path.display().to_string())),
        };
        // Tokens are written either as a string or as an added-token object.
        let token = |key: &str| -> String {
            match &config[key] {
                serde_json::Value::String(s) => s.clone(),
                other => other["content"].as_str().unwrap_or_default().to_owned(),
            }
        };
        Self::new(source, token("bos_token"), token("eos_token"))
    }

    /// The prompt for `messages`; with `add_generation_prompt` it ends with the opening of
    /// an assistant turn, ready for the model to continue.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, ChatError> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(ChatError::Render)?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(ChatError::Render)
    }
}

/// Python's `json.dumps(value, ensure_ascii=False)` separators: `", "` between items and
/// `": "` after keys (with `indent`, newlines and `","` as Python writes them).
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

fn tojson(value: &Value, kwargs: Kwargs) -> Result<Value, minijinja::Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    let result = match indent {
        Some(n) => {
            let pad = vec![b' '; n];
            let fmt = serde_json::ser::PrettyFormatter::with_indent(&pad);
            value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, fmt))
        }
        None => value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            PythonFormatter,
        )),
    };
    result.map_err(|e| {
        minijinja::Error::new(ErrorKind::InvalidOperation, "tojson failed").with_source(e)
    })?;
    // serde_json only writes valid UTF-8.
    Ok(Value::from_safe_string(
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_messages_and_generation_prompt() {
        let t = ChatTemplate::new(
            "{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}\n{% endfor %}\
             {% if add_generation_prompt %}<assistant>{% endif %}",
            "<s>",
            "</s>",
        )
        .unwrap();
        let msgs = [Message::new("system", "S"), Message::new("user", "U")];
        assert_eq!(
            t.render(&msgs, true).unwrap(),
            "<system>S</s>\n<user>U</s>\n<assistant>"
        );
        assert_eq!(
            t.render(&msgs, false).unwrap(),
            "<system>S</s>\n<user>U</s>\n"
        );
    }

    #[test]
    fn tojson_writes_like_python() {
        let t = ChatTemplate::new(
            "{{ {'a': [1, 2.5, 'é\"<'], 'b': none} | tojson }}|{{ [1, {'k': true}] | tojson(indent=2) }}",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            t.render(&[], false).unwrap(),
            "{\"a\": [1, 2.5, \"é\\\"<\"], \"b\": null}|[\n  1,\n  {\n    \"k\": true\n  }\n]"
        );
    }

    #[test]
    fn python_methods_and_raise_exception() {
        let t = ChatTemplate::new(
            "{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}\
             {{ messages[0].content.strip().upper() }}",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            t.render(&[Message::new("user", "  hi ")], false).unwrap(),
            "HI"
        );
        let err = t.render(&[Message::new("system", "x")], false).unwrap_err();
        assert!(err.to_string().contains("first must be user"), "{err}");
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(
            ChatTemplate::new("{% if %}", "", ""),
            Err(ChatError::Syntax(_))
        ));
    }

    #[test]
    fn reads_tokenizer_config() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = serde_json::json!({
            "chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}",
            "bos_token": null,
            "eos_token": {"content": "<|im_end|>", "special": true},
        });
        std::fs::write(dir.path().join("tokenizer_config.json"), cfg.to_string()).unwrap();
        let t = ChatTemplate::from_hf_dir(dir.path()).unwrap();
        assert_eq!(
            t.render(&[Message::new("user", "x")], false).unwrap(),
            "x<|im_end|>"
        );
        std::fs::write(dir.path().join("tokenizer_config.json"), "{}").unwrap();
        assert!(matches!(
            ChatTemplate::from_hf_dir(dir.path()),
            Err(ChatError::Missing(_))
        ));
    }

    /// The default model's template against prompts rendered by jinja2 and tokenized by
    /// llama.cpp (`tests/reference/chat/make_golden.py`).
    #[test]
    fn default_model_prompts_match_golden() {
        const GOLDEN: &str = include_str!("../../../tests/reference/chat/golden.json");
        let path = crate::fetch::ensure_default_model().expect("fetching the default model");
        let file = GgufFile::open(path).unwrap();
        let template = ChatTemplate::from_gguf(&file).unwrap();
        let tokenizer = crate::tokenizer::Tokenizer::from_gguf(&file).unwrap();
        let cases: Vec<serde_json::Value> = serde_json::from_str(GOLDEN).unwrap();
        assert_eq!(cases.len(), 3);
        for c in cases {
            let messages: Vec<Message> = serde_json::from_value(c["messages"].clone()).unwrap();
            let add = c["add_generation_prompt"].as_bool().unwrap();
            let rendered = template.render(&messages, add).unwrap();
            assert_eq!(rendered, c["rendered"].as_str().unwrap());
            let ids: Vec<u32> = serde_json::from_value(c["ids"].clone()).unwrap();
            assert_eq!(tokenizer.encode(&rendered, true).unwrap(), ids);
        }
    }
}
