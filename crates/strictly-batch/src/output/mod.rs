//! Crash-safe, resumable output files (JSONL or CSV).
//!
//! The contract: rerunning the same command after any interruption, even
//! `kill -9` or a power cut, yields every input row exactly once. It rests
//! on three rules:
//! - records are only ever appended, each as one `write` of whole lines,
//!   and the file is synced (`fdatasync`) after each group of records, so a
//!   record that was reported written survives a power cut;
//! - on open, a torn last record is cut off (see [`recover`]) and the rows
//!   of the complete records are read back as the done set, so those rows
//!   are skipped and the torn one is run again;
//! - the file is locked while a run writes it, so two runs cannot
//!   interleave their records.

mod columns;
mod recover;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::record::OutputRecord;

pub use columns::{CsvColumns, DATA, ERROR, ERROR_TYPE, ID, ROW};
pub use recover::Resume;

/// Layout of an output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line: `{"row", "id", "data"}` or `{"row", "id", "error"}`.
    Jsonl,
    /// A header row and one row per record; see [`CsvColumns`].
    Csv,
}

impl OutputFormat {
    /// The format named by a file's extension: `.csv`, or `.jsonl` /
    /// `.ndjson`.
    pub fn from_path(path: &Path) -> Result<Self, OutputError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(Self::Csv),
            Some("jsonl" | "ndjson") => Ok(Self::Jsonl),
            _ => Err(OutputError::UnknownFormat(path.to_owned())),
        }
    }
}

/// Why an output file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("output I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("cannot tell the output format of {0:?}: use a .jsonl or .csv file name")]
    UnknownFormat(PathBuf),
    #[error("{0:?} is being written by another run")]
    Locked(PathBuf),
    #[error("the output is not a file this tool wrote: record at line {line}: {message}")]
    Corrupt { line: u64, message: String },
    #[error(
        "the output's columns do not match the schema (was it written for another schema?): \
         expected {expected:?}, found {found:?}"
    )]
    ColumnsChanged {
        expected: Vec<String>,
        found: Vec<String>,
    },
    #[error(
        "the output was written from another input: row {row} has id {output_id:?} there \
         but {input_id:?} in the input"
    )]
    DifferentInput {
        row: u64,
        output_id: String,
        input_id: String,
    },
}

/// An output file open for appending, locked for this run.
#[derive(Debug)]
pub struct OutputFile {
    file: File,
    format: OutputFormat,
    columns: CsvColumns,
    /// Encoded records not yet written.
    pending: Vec<u8>,
}

impl OutputFile {
    /// Opens (or creates) `path`, cuts off a torn last record and reads back
    /// which rows are done. `schema` fixes the CSV columns.
    pub fn open(
        path: &Path,
        format: OutputFormat,
        schema: &Value,
    ) -> Result<(Self, Resume), OutputError> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(OutputError::Locked(path.to_owned()));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(err.into()),
        }
        if !existed {
            sync_parent(path)?;
        }
        let columns = CsvColumns::for_schema(schema);
        let mut output = Self {
            file,
            format,
            columns,
            pending: Vec::new(),
        };
        let resume = output.recover()?;
        Ok((output, resume))
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    fn recover(&mut self) -> Result<Resume, OutputError> {
        let len = self.file.metadata()?.len();
        self.file.seek(SeekFrom::Start(0))?;
        let complete = recover::complete_prefix(&mut self.file, self.format)?;
        // Read the complete records before cutting anything, so a file this
        // tool did not write is refused untouched.
        self.file.seek(SeekFrom::Start(0))?;
        let body = (&mut self.file).take(complete);
        let resume = match self.format {
            OutputFormat::Jsonl => Some(recover::read_jsonl(body)?),
            OutputFormat::Csv => recover::read_csv(body, &self.columns)?,
        };
        if complete < len {
            tracing::warn!(
                torn_bytes = len - complete,
                "cutting off the incomplete last record of the output"
            );
            self.file.set_len(complete)?;
            self.file.sync_data()?;
        }
        self.file.seek(SeekFrom::End(0))?;
        let mut resume = match resume {
            Some(resume) => resume,
            None => {
                // A new CSV file (or one torn inside its header).
                self.pending = encode_csv(&self.columns.header())?;
                self.flush()?;
                Resume::default()
            }
        };
        resume.torn_bytes = len - complete;
        Ok(resume)
    }

    /// Queues a record; it is on disk after the next [`OutputFile::flush`].
    pub fn push(&mut self, record: &OutputRecord) -> Result<(), OutputError> {
        encode_record(self.format, &self.columns, record, &mut self.pending)
    }

    /// Writes queued records in one append and syncs them to disk.
    pub fn flush(&mut self) -> Result<(), OutputError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.pending)?;
        self.file.sync_data()?;
        self.pending.clear();
        Ok(())
    }

    /// Appends one record and syncs it.
    pub fn append(&mut self, record: &OutputRecord) -> Result<(), OutputError> {
        self.push(record)?;
        self.flush()
    }
}

/// Appends `record` to `out` as one JSONL line or one CSV record (the
/// header is not included; see [`CsvColumns::header`] and [`encode_csv`]).
pub fn encode_record(
    format: OutputFormat,
    columns: &CsvColumns,
    record: &OutputRecord,
    out: &mut Vec<u8>,
) -> Result<(), OutputError> {
    match format {
        OutputFormat::Jsonl => {
            serde_json::to_writer(&mut *out, &record.to_json()).map_err(io::Error::from)?;
            out.push(b'\n');
        }
        OutputFormat::Csv => out.extend_from_slice(&encode_csv(&columns.fields(record))?),
    }
    Ok(())
}

/// One CSV record with `\n` line ends and quotes only where needed.
pub fn encode_csv(fields: &[String]) -> Result<Vec<u8>, OutputError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(fields).map_err(csv_io)?;
    writer
        .into_inner()
        .map_err(|err| OutputError::Io(io::Error::other(err.to_string())))
}

fn csv_io(err: csv::Error) -> OutputError {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => OutputError::Io(io),
        other => OutputError::Io(io::Error::other(format!("{other:?}"))),
    }
}

/// Syncs the directory holding a new file, so the file's name survives a
/// power cut together with its contents.
fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Directories cannot be opened for syncing on every platform; the
    // file's own syncs still hold there.
    match File::open(parent) {
        Ok(dir) => dir.sync_all().or(Ok(())),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
