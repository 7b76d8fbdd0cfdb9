//! The last check before an answer leaves, independent of the grammar that
//! produced it where a independent judge exists: JSON answers are parsed
//! and validated with the `jsonschema` crate, regex answers matched with
//! the `regex` crate, choices looked up. A GBNF answer has no other judge:
//! it is replayed through a fresh matcher of its grammar.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::constraint::Grammar;
use crate::error::EngineError;
use crate::request::TextFormat;

/// How an answer is checked.
pub(crate) enum Validator {
    /// Against a JSON Schema.
    Schema(Box<jsonschema::Validator>),
    /// Any JSON object.
    Object,
    /// The whole text matches a regex.
    Regex(regex::Regex),
    /// The text is one of these.
    Choice(HashSet<String>),
    /// The grammar accepts the whole text.
    Grammar(Arc<dyn Grammar>),
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Schema(_) => "Validator::Schema",
            Self::Object => "Validator::Object",
            Self::Regex(_) => "Validator::Regex",
            Self::Choice(_) => "Validator::Choice",
            Self::Grammar(_) => "Validator::Grammar",
        })
    }
}

impl Validator {
    /// A validator for `schema`; a schema the validator cannot build is an
    /// invalid schema, reported with the location of the problem. `format`
    /// is asserted in every draft, as the grammar enforces it (draft
    /// 2020-12 validators make it an annotation by default).
    pub(crate) fn for_schema(schema: &Value) -> Result<Self, EngineError> {
        jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .map(|v| Self::Schema(Box::new(v)))
            .map_err(|err| EngineError::InvalidSchema {
                pointer: err.schema_path().to_string(),
                message: err.to_string(),
            })
    }

    /// The validator of a plain-text answer compiled into `grammar`.
    pub(crate) fn for_text(
        format: &TextFormat,
        grammar: &Arc<dyn Grammar>,
    ) -> Result<Self, EngineError> {
        Ok(match format {
            // The grammar compiled the same pattern already; a pattern only
            // this crate refuses is reported like any invalid pattern.
            TextFormat::Regex(p) => {
                Self::Regex(regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    crate::constraint::TextFormatError {
                        kind: "regex",
                        message: e.to_string(),
                    }
                })?)
            }
            TextFormat::Choice(list) => Self::Choice(list.iter().cloned().collect()),
            TextFormat::Gbnf(_) => Self::Grammar(grammar.clone()),
        })
    }

    /// The parsed answer (`None` for plain-text answers), or why it is not
    /// acceptable.
    pub(crate) fn check(&self, text: &str) -> Result<Option<Value>, EngineError> {
        let refuse = |what: &str| Err(EngineError::InvalidOutput(format!("not {what}: {text:?}")));
        match self {
            Self::Regex(re) if !re.is_match(text) => return refuse("a match of the regex"),
            Self::Choice(set) if !set.contains(text) => return refuse("one of the choices"),
            Self::Grammar(g) if !g.accepts(text) => return refuse("in the grammar"),
            Self::Regex(_) | Self::Choice(_) | Self::Grammar(_) => return Ok(None),
            Self::Schema(_) | Self::Object => {}
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| EngineError::InvalidOutput(format!("not JSON: {e}")))?;
        match self {
            Self::Schema(v) => {
                if let Some(err) = v.iter_errors(&value).next() {
                    return Err(EngineError::InvalidOutput(format!(
                        "at '{}': {err}",
                        err.instance_path()
                    )));
                }
            }
            Self::Object if !value.is_object() => {
                return Err(EngineError::InvalidOutput("not a JSON object".into()));
            }
            Self::Object | Self::Regex(_) | Self::Choice(_) | Self::Grammar(_) => {}
        }
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_violations_are_reported() {
        let v = Validator::for_schema(&json!({"type": "object", "required": ["a"]})).unwrap();
        assert_eq!(v.check(r#"{"a":1}"#).unwrap(), Some(json!({"a": 1})));
        assert!(matches!(
            v.check(r#"{"b":1}"#),
            Err(EngineError::InvalidOutput(_))
        ));
        assert!(matches!(
            v.check(r#"{"a":"#),
            Err(EngineError::InvalidOutput(_))
        ));
    }

    #[test]
    fn object_mode_wants_an_object() {
        assert!(Validator::Object.check("{}").is_ok());
        assert!(Validator::Object.check("[1]").is_err());
    }

    #[test]
    fn plain_text_answers_are_judged_by_their_own_validators() {
        use crate::constraint::ConstraintCompiler;
        let grammar = crate::testing::ChoiceCompiler
            .compile_text(&TextFormat::Choice(vec!["ok".into()]))
            .unwrap();
        let regex = Validator::for_text(&TextFormat::Regex(r"\d+|x".into()), &grammar).unwrap();
        assert_eq!(regex.check("123").unwrap(), None);
        assert!(regex.check("12x").is_err(), "the whole text must match");
        let choice =
            Validator::for_text(&TextFormat::Choice(vec!["a".into(), "b".into()]), &grammar)
                .unwrap();
        assert!(choice.check("a").is_ok() && choice.check("ab").is_err());
        let replay = Validator::for_text(&TextFormat::Gbnf(String::new()), &grammar).unwrap();
        assert!(replay.check("ok").is_ok() && replay.check("no").is_err());
    }

    #[test]
    fn a_malformed_schema_is_an_invalid_schema() {
        let err = Validator::for_schema(&json!({"type": 12})).unwrap_err();
        assert!(matches!(err, EngineError::InvalidSchema { .. }), "{err}");
    }
}
