//! What one processed row becomes: its place in the input, its id, and
//! either the extracted data or a typed error. The same record is written
//! to JSONL and CSV files by the CLI and returned by the HTTP results
//! endpoint, so the wire shape lives here once.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::{ExtractError, ExtractErrorKind};

/// Category of a row failure; its `snake_case` spelling is the `type` field
/// of the output's `error` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorKind {
    /// The text cell is empty (or only whitespace): nothing to extract from.
    EmptyText,
    /// The text cell is not valid UTF-8.
    NotUtf8,
    /// The row has fewer fields than the header, so the text cell is absent.
    MissingField,
    /// The engine refused or failed the extraction.
    #[serde(untagged)]
    Extract(ExtractErrorKind),
}

impl RowErrorKind {
    /// The `snake_case` name used in output rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmptyText => "empty_text",
            Self::NotUtf8 => "not_utf8",
            Self::MissingField => "missing_field",
            Self::Extract(kind) => kind.as_str(),
        }
    }
}

/// Why a row has no data. A row error is an output row like any other: a
/// bad row never stops the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct RowError {
    #[serde(rename = "type")]
    pub kind: RowErrorKind,
    pub message: String,
}

impl RowError {
    pub fn new(kind: RowErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<ExtractError> for RowError {
    fn from(err: ExtractError) -> Self {
        Self::new(RowErrorKind::Extract(err.kind), err.message)
    }
}

/// One finished row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    /// 1-based position of the row among the input's data rows; the key
    /// that resume uses, unique even when ids repeat.
    pub row: u64,
    /// The id column's value, or the row number when there is no id column.
    pub id: String,
    pub outcome: Result<Value, RowError>,
}

/// The JSON shape of an [`OutputRecord`] (one JSONL line).
#[derive(Serialize, Deserialize)]
struct Wire {
    row: u64,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    error: Option<RowError>,
}

impl OutputRecord {
    /// The record as a JSON object: `{"row", "id", "data"}` or
    /// `{"row", "id", "error": {"type", "message"}}`.
    pub fn to_json(&self) -> Value {
        let (data, error) = match &self.outcome {
            Ok(value) => (Some(value.clone()), None),
            Err(err) => (None, Some(err.clone())),
        };
        let wire = Wire {
            row: self.row,
            id: self.id.clone(),
            data,
            error,
        };
        // Serializing plain data (strings, numbers, `Value`) into a `Value`
        // cannot fail.
        serde_json::to_value(wire).unwrap_or(Value::Null)
    }

    /// Reads back a record written by [`OutputRecord::to_json`].
    pub fn from_json(value: Value) -> Result<Self, serde_json::Error> {
        let wire: Wire = serde_json::from_value(value)?;
        let outcome = match (wire.data, wire.error) {
            (_, Some(err)) => Err(err),
            (Some(data), None) => Ok(data),
            (None, None) => Ok(Value::Null),
        };
        Ok(Self {
            row: wire.row,
            id: wire.id,
            outcome,
        })
    }

    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_round_trip_through_json() {
        let ok = OutputRecord {
            row: 3,
            id: "inv-7".into(),
            outcome: Ok(json!({"total": 12.5})),
        };
        assert_eq!(
            ok.to_json(),
            json!({"row": 3, "id": "inv-7", "data": {"total": 12.5}})
        );
        assert_eq!(OutputRecord::from_json(ok.to_json()).unwrap(), ok);

        let failed = OutputRecord {
            row: 4,
            id: "4".into(),
            outcome: Err(RowError::new(RowErrorKind::EmptyText, "empty")),
        };
        assert_eq!(
            failed.to_json(),
            json!({"row": 4, "id": "4", "error": {"type": "empty_text", "message": "empty"}})
        );
        assert_eq!(OutputRecord::from_json(failed.to_json()).unwrap(), failed);
    }

    #[test]
    fn engine_error_kinds_keep_their_names() {
        let err: RowError = ExtractError::new(ExtractErrorKind::DocumentTooLong, "too long").into();
        let value = serde_json::to_value(&err).unwrap();
        assert_eq!(
            value,
            json!({"type": "document_too_long", "message": "too long"})
        );
        assert_eq!(serde_json::from_value::<RowError>(value).unwrap(), err);
        assert_eq!(err.kind.as_str(), "document_too_long");
    }
}
