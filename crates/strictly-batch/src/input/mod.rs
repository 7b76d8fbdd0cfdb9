//! Streaming CSV input as people really have it.
//!
//! Rows are read one at a time into a reused record, so a 1 GB file costs
//! the memory of its largest row. Cells are read as bytes: a cell that is
//! not UTF-8 or is empty becomes an error *row* (the job goes on), while
//! problems that make every row meaningless (no header, a missing column)
//! fail at open time with the column named. A UTF-8 byte-order mark, as
//! spreadsheet exports write it, is dropped before the header is parsed.

mod bom;

use std::io::Read;

use csv::ByteRecord;

use crate::record::{RowError, RowErrorKind};

pub use bom::SkipBom;

/// How to read the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field separator: `,` by default; `;` and tab are common exports.
    pub delimiter: u8,
    /// Header name of the column holding the document text.
    pub text_column: String,
    /// Header name of the column holding a row id; rows are numbered
    /// (1, 2, ...) when absent.
    pub id_column: Option<String>,
}

impl CsvOptions {
    pub fn new(text_column: impl Into<String>) -> Self {
        Self {
            delimiter: b',',
            text_column: text_column.into(),
            id_column: None,
        }
    }

    pub fn with_id_column(mut self, id_column: impl Into<String>) -> Self {
        self.id_column = Some(id_column.into());
        self
    }

    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// One data row of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    /// 1-based position among the data rows (the header is not counted).
    pub row: u64,
    /// 1-based line where the row starts (quoted newlines make lines and
    /// rows differ); for error messages.
    pub line: u64,
    pub id: String,
    /// The document, or why this row has none.
    pub text: Result<String, RowError>,
}

/// Why the input cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read the input: {0}")]
    Io(#[from] std::io::Error),
    #[error("the input is empty: a header row naming the columns is needed")]
    NoHeader,
    #[error("column {column:?} is not in the header; the columns are: {}", quoted(.available))]
    MissingColumn {
        column: String,
        available: Vec<String>,
    },
    #[error("column {column:?} appears more than once in the header")]
    DuplicateColumn { column: String },
    #[error("malformed CSV at line {line}: {message}")]
    Csv { line: u64, message: String },
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<csv::Error> for InputError {
    fn from(err: csv::Error) -> Self {
        let line = err.position().map_or(0, |p| p.line());
        match err.into_kind() {
            csv::ErrorKind::Io(io) => Self::Io(io),
            other => Self::Csv {
                line,
                message: format!("{other:?}"),
            },
        }
    }
}

/// Data rows of a CSV stream, in order.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<SkipBom<R>>,
    headers: Vec<String>,
    text_idx: usize,
    id_idx: Option<usize>,
    record: ByteRecord,
    row: u64,
    done: bool,
}

impl<R: Read> std::fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows")
            .field("headers", &self.headers)
            .field("row", &self.row)
            .finish()
    }
}

impl<R: Read> CsvRows<R> {
    /// Reads the header and finds the columns; fails on a missing column.
    pub fn new(input: R, options: &CsvOptions) -> Result<Self, InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .has_headers(true)
            // Short rows become error rows instead of stopping the run.
            .flexible(true)
            .from_reader(SkipBom::new(input));
        let header = reader.byte_headers()?.clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(InputError::NoHeader);
        }
        let headers: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_owned())
            .collect();
        let find = |name: &str| -> Result<usize, InputError> {
            let mut hits = headers
                .iter()
                .enumerate()
                .filter(|(_, h)| h.as_str() == name.trim());
            match (hits.next(), hits.next()) {
                (Some((i, _)), None) => Ok(i),
                (Some(_), Some(_)) => Err(InputError::DuplicateColumn {
                    column: name.to_owned(),
                }),
                (None, _) => Err(InputError::MissingColumn {
                    column: name.to_owned(),
                    available: headers.clone(),
                }),
            }
        };
        let text_idx = find(&options.text_column)?;
        let id_idx = options.id_column.as_deref().map(find).transpose()?;
        Ok(Self {
            reader,
            headers,
            text_idx,
            id_idx,
            record: ByteRecord::new(),
            row: 0,
            done: false,
        })
    }

    /// Column names of the header, trimmed.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Bytes consumed so far (byte-order mark included), for progress
    /// against the file size.
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte() + self.reader.get_ref().skipped()
    }

    fn convert(&self, line: u64) -> InputRow {
        let row = self.row;
        let id = match self.id_idx {
            Some(i) => self
                .record
                .get(i)
                .map(|b| String::from_utf8_lossy(b).trim().to_owned())
                .unwrap_or_default(),
            None => row.to_string(),
        };
        let column = &self.headers[self.text_idx];
        let text = match self.record.get(self.text_idx) {
            None => Err(RowError::new(
                RowErrorKind::MissingField,
                format!(
                    "line {line}: the row has {} fields, so column {column:?} (field {}) is missing",
                    self.record.len(),
                    self.text_idx + 1
                ),
            )),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Err(err) => Err(RowError::new(
                    RowErrorKind::NotUtf8,
                    format!(
                        "line {line}: column {column:?} is not valid UTF-8 (invalid byte at offset {})",
                        err.valid_up_to()
                    ),
                )),
                Ok(text) if text.trim().is_empty() => Err(RowError::new(
                    RowErrorKind::EmptyText,
                    format!("line {line}: column {column:?} is empty"),
                )),
                Ok(text) => Ok(text.to_owned()),
            },
        };
        InputRow {
            row,
            line,
            id,
            text,
        }
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<InputRow, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                // Blank lines never get here: the CSV parser skips them.
                self.row += 1;
                let line = self.record.position().map_or(0, |p| p.line());
                Some(Ok(self.convert(line)))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests;
