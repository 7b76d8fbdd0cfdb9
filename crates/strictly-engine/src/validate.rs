//! The last check before an answer leaves: parse it and validate it with the
//! `jsonschema` crate, independently of the grammar that produced it.

use serde_json::Value;

use crate::error::EngineError;

/// How an answer is checked.
pub(crate) enum Validator {
    /// Against a JSON Schema.
    Schema(Box<jsonschema::Validator>),
    /// Any JSON object.
    Object,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Schema(_) => "Validator::Schema",
            Self::Object => "Validator::Object",
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

    /// The parsed answer, or why it is not acceptable.
    pub(crate) fn check(&self, text: &str) -> Result<Value, EngineError> {
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
            Self::Object => {}
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_violations_are_reported() {
        let v = Validator::for_schema(&json!({"type": "object", "required": ["a"]})).unwrap();
        assert_eq!(v.check(r#"{"a":1}"#).unwrap(), json!({"a": 1}));
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
    fn a_malformed_schema_is_an_invalid_schema() {
        let err = Validator::for_schema(&json!({"type": 12})).unwrap_err();
        assert!(matches!(err, EngineError::InvalidSchema { .. }), "{err}");
    }
}
