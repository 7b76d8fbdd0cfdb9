//! Reading back an existing output file before appending to it.
//!
//! Records are appended whole and synced, so after a crash only the last
//! record can be incomplete. A record is complete exactly when its
//! terminating newline was written: in JSONL every newline ends a record
//! (JSON strings escape their newlines); in CSV a newline ends a record
//! when it lies outside double quotes (quotes inside a quoted field are
//! doubled, so counting quotes tells inside from outside). Everything
//! after the last terminator is the torn tail, cut off before appending.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};

use serde::Deserialize;

use super::{OutputError, OutputFormat, columns::CsvColumns};
use crate::done::DoneSet;

/// Ids of at most this many done rows are kept to check, while skipping
/// them, that the output belongs to this input.
const IDS_KEPT: usize = 1024;

/// What an existing output already holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// Rows already written.
    pub done: DoneSet,
    /// Ids of the first done rows (by row number), for
    /// [`Resume::check_id`].
    ids: BTreeMap<u64, String>,
    /// Bytes of a torn last record that were cut off.
    pub torn_bytes: u64,
    /// Rows written more than once (only possible if the file was edited or
    /// two runs were merged); reported, never written again.
    pub duplicates: u64,
}

impl Resume {
    /// Checks that done row `row` had id `id` in the output. A different id
    /// means the output was produced from another input, and skipping rows
    /// by number would silently drop work.
    pub fn check_id(&self, row: u64, id: &str) -> Result<(), OutputError> {
        match self.ids.get(&row) {
            Some(written) if written != id => Err(OutputError::DifferentInput {
                row,
                output_id: written.clone(),
                input_id: id.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    fn add(&mut self, row: u64, id: String) {
        if !self.done.insert(row) {
            self.duplicates += 1;
        } else if self.ids.len() < IDS_KEPT {
            self.ids.insert(row, id);
        } else if let Some(last) = self.ids.keys().next_back().copied().filter(|&l| row < l) {
            self.ids.remove(&last);
            self.ids.insert(row, id);
        }
    }
}

/// Offset just past the last complete record of `input`.
pub(crate) fn complete_prefix(input: impl Read, format: OutputFormat) -> io::Result<u64> {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let (mut offset, mut end, mut in_quotes) = (0u64, 0u64, false);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(end);
        }
        for (i, &b) in buf.iter().enumerate() {
            match (format, b) {
                (OutputFormat::Csv, b'"') => in_quotes = !in_quotes,
                (OutputFormat::Jsonl, b'\n') => end = offset + i as u64 + 1,
                (OutputFormat::Csv, b'\n') if !in_quotes => end = offset + i as u64 + 1,
                _ => {}
            }
        }
        let n = buf.len();
        offset += n as u64;
        reader.consume(n);
    }
}

/// The fields resume needs from a JSONL record.
#[derive(Deserialize)]
struct Key {
    row: u64,
    id: String,
}

/// Reads the complete records of a JSONL output.
pub(crate) fn read_jsonl(input: impl Read) -> Result<Resume, OutputError> {
    let mut resume = Resume::default();
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let key: Key = serde_json::from_slice(&line).map_err(|err| OutputError::Corrupt {
            line: number,
            message: err.to_string(),
        })?;
        resume.add(key.row, key.id);
    }
    Ok(resume)
}

/// Reads the complete records of a CSV output; `None` when the file holds
/// no header yet.
pub(crate) fn read_csv(
    input: impl Read,
    columns: &CsvColumns,
) -> Result<Option<Resume>, OutputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.byte_records();
    let corrupt = |err: csv::Error| OutputError::Corrupt {
        line: err.position().map_or(0, |p| p.line()),
        message: err.to_string(),
    };
    let header = match records.next() {
        None => return Ok(None),
        Some(header) => header.map_err(corrupt)?,
    };
    let expected = columns.header();
    let found: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    if found != expected {
        return Err(OutputError::ColumnsChanged { expected, found });
    }
    let mut resume = Resume::default();
    for record in records {
        let record = record.map_err(corrupt)?;
        let line = record.position().map_or(0, |p| p.line());
        let row = record
            .get(0)
            .and_then(|r| std::str::from_utf8(r).ok())
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| OutputError::Corrupt {
                line,
                message: "the _row field is not a row number".into(),
            })?;
        let id = String::from_utf8_lossy(record.get(1).unwrap_or_default()).into_owned();
        resume.add(row, id);
    }
    Ok(Some(resume))
}
