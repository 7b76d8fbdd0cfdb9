//! A job's results as JSONL or CSV, produced page by page so the HTTP
//! handler can stream a million-row result without holding it in memory.

use std::sync::Arc;

use super::{BatchStore, StoreError};
use crate::output::{CsvColumns, OutputFormat, encode_csv, encode_record};

/// Rows read from the store per chunk.
const PAGE: usize = 500;

/// Chunks of a job's results, in row order; each chunk is a whole number of
/// JSONL lines or CSV records (the first CSV chunk starts with the header).
#[derive(Debug)]
pub struct ResultChunks {
    store: Arc<BatchStore>,
    job: String,
    format: OutputFormat,
    columns: CsvColumns,
    after: u64,
    started: bool,
    finished: bool,
}

impl ResultChunks {
    /// Results of job `job`; fails when the job does not exist.
    pub fn new(
        store: Arc<BatchStore>,
        job: &str,
        format: OutputFormat,
    ) -> Result<Self, StoreError> {
        let spec = store.spec(job)?;
        Ok(Self {
            columns: CsvColumns::for_schema(&spec.schema),
            store,
            job: job.to_owned(),
            format,
            after: 0,
            started: false,
            finished: false,
        })
    }

    /// The content type of the chunks.
    pub fn content_type(&self) -> &'static str {
        match self.format {
            OutputFormat::Jsonl => "application/x-ndjson",
            OutputFormat::Csv => "text/csv; charset=utf-8",
        }
    }

    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let mut chunk = Vec::new();
        if !self.started {
            self.started = true;
            if self.format == OutputFormat::Csv {
                chunk = encode_csv(&self.columns.header())?;
            }
        }
        let page = self.store.results(&self.job, self.after, PAGE)?;
        if page.len() < PAGE {
            self.finished = true;
        }
        for record in &page {
            encode_record(self.format, &self.columns, record, &mut chunk)?;
            self.after = record.row;
        }
        Ok((!chunk.is_empty()).then_some(chunk))
    }
}

impl Iterator for ResultChunks {
    type Item = Result<Vec<u8>, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_chunk() {
            Ok(Some(chunk)) => Some(Ok(chunk)),
            Ok(None) => None,
            Err(err) => {
                self.finished = true;
                Some(Err(err))
            }
        }
    }
}
