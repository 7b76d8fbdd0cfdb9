//! CSV output layout: bookkeeping columns, then one column per top-level
//! property of the schema, in the schema's order, so the file opens in a
//! spreadsheet as a table of the extracted fields.
//!
//! The bookkeeping columns start with `_` so they cannot collide with
//! ordinary property names such as `id` or `error`.

use serde_json::Value;

use crate::record::OutputRecord;

/// Column of the row number (the resume key).
pub const ROW: &str = "_row";
/// Column of the row id.
pub const ID: &str = "_id";
/// Column of the error category; empty for rows with data.
pub const ERROR_TYPE: &str = "_error_type";
/// Column of the error message; empty for rows with data.
pub const ERROR: &str = "_error";
/// The single data column of a schema without top-level properties (an
/// array or a scalar): the whole value as JSON text.
pub const DATA: &str = "_data";

/// The columns of a CSV output for one schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvColumns {
    /// Top-level property names; empty when the schema has none.
    properties: Vec<String>,
}

impl CsvColumns {
    /// Columns for the instances of `schema`: its top-level `properties`.
    pub fn for_schema(schema: &Value) -> Self {
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        Self { properties }
    }

    /// The header row.
    pub fn header(&self) -> Vec<String> {
        let mut header = vec![ROW.to_owned(), ID.to_owned()];
        if self.properties.is_empty() {
            header.push(DATA.to_owned());
        } else {
            header.extend(self.properties.iter().cloned());
        }
        header.push(ERROR_TYPE.to_owned());
        header.push(ERROR.to_owned());
        header
    }

    /// The fields of one record, in header order. Strings are written as
    /// they are; nested values, numbers and booleans as JSON text; a
    /// missing or null property as an empty cell.
    pub fn fields(&self, record: &OutputRecord) -> Vec<String> {
        let mut fields = vec![record.row.to_string(), record.id.clone()];
        let width = self.properties.len().max(1);
        match &record.outcome {
            Ok(value) if self.properties.is_empty() => {
                fields.push(cell(Some(value)));
                fields.extend([String::new(), String::new()]);
            }
            Ok(value) => {
                fields.extend(self.properties.iter().map(|p| cell(value.get(p))));
                fields.extend([String::new(), String::new()]);
            }
            Err(err) => {
                fields.extend(std::iter::repeat_n(String::new(), width));
                fields.push(err.kind.as_str().to_owned());
                fields.push(err.message.clone());
            }
        }
        fields
    }
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RowError, RowErrorKind};
    use serde_json::json;

    #[test]
    fn properties_in_schema_order_with_nested_values_as_json() {
        let schema = json!({"type": "object", "properties": {
            "vendor": {"type": "string"}, "total": {"type": "number"},
            "items": {"type": "array"}, "paid": {"type": "boolean"}, "note": {}
        }});
        let cols = CsvColumns::for_schema(&schema);
        assert_eq!(
            cols.header(),
            [
                "_row",
                "_id",
                "vendor",
                "total",
                "items",
                "paid",
                "note",
                "_error_type",
                "_error"
            ]
        );
        let record = OutputRecord {
            row: 2,
            id: "a".into(),
            outcome: Ok(json!({"vendor": "ACME, Inc.", "total": 9.5,
                "items": [{"q": 1}], "paid": true, "note": null})),
        };
        assert_eq!(
            cols.fields(&record),
            [
                "2",
                "a",
                "ACME, Inc.",
                "9.5",
                r#"[{"q":1}]"#,
                "true",
                "",
                "",
                ""
            ]
        );
        let failed = OutputRecord {
            row: 3,
            id: "b".into(),
            outcome: Err(RowError::new(RowErrorKind::NotUtf8, "bad bytes")),
        };
        assert_eq!(
            cols.fields(&failed),
            ["3", "b", "", "", "", "", "", "not_utf8", "bad bytes"]
        );
    }

    #[test]
    fn schemas_without_properties_get_one_data_column() {
        let cols = CsvColumns::for_schema(&json!({"type": "array"}));
        assert_eq!(
            cols.header(),
            ["_row", "_id", "_data", "_error_type", "_error"]
        );
        let record = OutputRecord {
            row: 1,
            id: "1".into(),
            outcome: Ok(json!([1, 2])),
        };
        assert_eq!(cols.fields(&record), ["1", "1", "[1,2]", "", ""]);
    }
}
