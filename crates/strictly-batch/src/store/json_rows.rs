//! Rows given as JSON (`POST /v1/batches` with `"rows": [...]`) instead of
//! a CSV upload, turned into the same [`InputRow`]s so both paths share
//! the empty-document check and the row numbering.

use serde::Deserialize;

use crate::input::{InputError, InputRow};
use crate::record::{RowError, RowErrorKind};

/// One row of a JSON batch request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JsonRow {
    /// The row's id; the row number when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The document text.
    #[serde(alias = "text", default)]
    pub document: Option<String>,
}

/// Input rows from JSON rows, numbered from 1.
pub fn json_rows(
    rows: impl IntoIterator<Item = JsonRow>,
) -> impl Iterator<Item = Result<InputRow, InputError>> {
    rows.into_iter().zip(1u64..).map(|(r, row)| {
        let text = match r.document {
            Some(doc) if !doc.trim().is_empty() => Ok(doc),
            _ => Err(RowError::new(
                RowErrorKind::EmptyText,
                format!("row {row}: the document is empty"),
            )),
        };
        Ok(InputRow {
            row,
            line: row,
            id: r.id.unwrap_or_else(|| row.to_string()),
            text,
        })
    })
}
