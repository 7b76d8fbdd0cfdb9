//! Batch jobs persisted in SQLite, for the HTTP batch API.
//!
//! Why SQLite (through `rusqlite`, compiled in with the `bundled` feature):
//! one file next to the server, no service to run, transactions that
//! survive `kill -9` and power cuts (WAL journal, `synchronous=FULL`), and
//! a library maintained for decades. A job's rows are stored with their
//! documents when it is created, and each result is recorded in its own
//! transaction, so a restarted server knows exactly which rows are left.
//!
//! Every method takes `&self`; the connection sits behind a mutex, which is
//! plenty for a store written once per extracted row (each of which takes
//! the model far longer than the write).

mod json_rows;
mod results;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::input::{InputError, InputRow};
use crate::record::{OutputRecord, RowError};

pub use json_rows::{JsonRow, json_rows};
pub use results::ResultChunks;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for the runner (also a job interrupted by a restart).
    Queued,
    Running,
    /// Every row has a result (data or error).
    Completed,
    /// Cancelled by a client; rows already done keep their results.
    Cancelled,
    /// Stopped for good by an error that is not about one row.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            other => return Err(StoreError::Corrupt(format!("unknown job status {other:?}"))),
        })
    }

    /// Whether the job will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Failed)
    }
}

/// A job's state, as `GET /v1/batches/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobInfo {
    pub id: String,
    pub status: JobStatus,
    /// Unix time in milliseconds.
    pub created_at: u64,
    pub updated_at: u64,
    /// Rows in the job.
    pub total: u64,
    /// Rows with data.
    pub done: u64,
    /// Rows with an error.
    pub failed: u64,
    /// Rows without a result yet.
    pub pending: u64,
    /// Share of rows with a result, from 0 to 1.
    pub progress: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a job extracts with.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub schema: Value,
    pub instructions: Option<String>,
}

/// A row still to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub row: u64,
    pub id: String,
    pub document: String,
}

/// Failures of the job store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no batch job {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("a batch job needs at least one row")]
    NoRows,
    #[error("the job store holds unexpected data: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// The persisted jobs.
#[derive(Debug)]
pub struct BatchStore {
    conn: Mutex<Connection>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A job id: `batch_` and 16 hex digits from the process's random hash
/// keys, the clock and a counter (no extra dependency for randomness).
fn new_job_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    format!("batch_{:016x}", hasher.finish())
}

impl BatchStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?)
    }

    /// A store that lives in memory only (tests, `--no-persist`).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        // WAL lets status reads proceed during writes; FULL syncs the WAL
        // at every commit, so a recorded result survives a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(include_str!("schema.sql"))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every
        // change is transactional), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a queued job from `rows`, all in one transaction: either the
    /// whole job is stored or none of it. Rows that failed on input (empty
    /// text, bad bytes) are stored already finished with their error.
    pub fn create_job(
        &self,
        spec: &JobSpec,
        rows: impl IntoIterator<Item = Result<InputRow, InputError>>,
    ) -> Result<JobInfo, StoreError> {
        let id = new_job_id();
        let now = now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO jobs (id, created_at, updated_at, status, schema, instructions, total)
             VALUES (?1, ?2, ?2, 'queued', ?3, ?4, 0)",
            params![id, now as i64, spec.schema.to_string(), spec.instructions],
        )?;
        let (mut total, mut failed) = (0i64, 0i64);
        {
            let mut insert = tx.prepare(
                "INSERT INTO rows (job_id, row, id, document, error, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for row in rows {
                let row = row?;
                total += 1;
                match row.text {
                    Ok(text) => {
                        insert.execute(params![
                            id,
                            row.row as i64,
                            row.id,
                            text,
                            None::<String>,
                            None::<i64>
                        ])?;
                    }
                    Err(err) => {
                        failed += 1;
                        insert.execute(params![
                            id,
                            row.row as i64,
                            row.id,
                            None::<String>,
                            error_json(&err),
                            now as i64
                        ])?;
                    }
                }
            }
        }
        if total == 0 {
            return Err(StoreError::NoRows);
        }
        tx.execute(
            "UPDATE jobs SET total = ?2, failed = ?3,
                 status = CASE WHEN ?2 = ?3 THEN 'completed' ELSE 'queued' END
             WHERE id = ?1",
            params![id, total, failed],
        )?;
        tx.commit()?;
        drop(conn);
        self.job(&id)
    }

    /// A job's state.
    pub fn job(&self, id: &str) -> Result<JobInfo, StoreError> {
        self.conn()
            .query_row(
                "SELECT id, status, created_at, updated_at, total, done, failed, error
                 FROM jobs WHERE id = ?1",
                [id],
                job_info_raw,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?
            .into_info()
    }

    /// Jobs, newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<JobInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, status, created_at, updated_at, total, done, failed, error
             FROM jobs ORDER BY created_at DESC, id LIMIT ?1",
        )?;
        let raws = stmt
            .query_map([limit as i64], job_info_raw)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(RawInfo::into_info).collect()
    }

    /// The schema and instructions of a job.
    pub fn spec(&self, id: &str) -> Result<JobSpec, StoreError> {
        let (schema, instructions): (String, Option<String>) = self
            .conn()
            .query_row(
                "SELECT schema, instructions FROM jobs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let schema = serde_json::from_str(&schema)
            .map_err(|e| StoreError::Corrupt(format!("schema of job {id}: {e}")))?;
        Ok(JobSpec {
            schema,
            instructions,
        })
    }

    /// The oldest queued job.
    pub fn next_queued(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Puts jobs that were running when the process stopped back in the
    /// queue; returns how many. Called once at start-up.
    pub fn requeue_interrupted(&self) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "UPDATE jobs SET status = 'queued', updated_at = ?1 WHERE status = 'running'",
            [now_ms() as i64],
        )?)
    }

    /// Moves a job from `from` to `to`; false when it was not in `from`
    /// (e.g. cancelled meanwhile).
    pub fn transition(
        &self,
        id: &str,
        from: JobStatus,
        to: JobStatus,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE jobs SET status = ?3, error = COALESCE(?4, error), updated_at = ?5
             WHERE id = ?1 AND status = ?2",
            params![id, from.as_str(), to.as_str(), error, now_ms() as i64],
        )?;
        Ok(changed == 1)
    }

    /// Pending rows of a job after `after_row`, in row order.
    pub fn pending_rows(
        &self,
        id: &str,
        after_row: u64,
        limit: usize,
    ) -> Result<Vec<PendingRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT row, id, document FROM rows
             WHERE job_id = ?1 AND finished_at IS NULL AND row > ?2
             ORDER BY row LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![id, after_row as i64, limit as i64], |r| {
                Ok(PendingRow {
                    row: r.get::<_, i64>(0)? as u64,
                    id: r.get(1)?,
                    document: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Records a row's result and updates the job's counts in one
    /// transaction. Returns false (and changes nothing) when the row
    /// already had a result, so a row run twice is counted once.
    pub fn record(
        &self,
        id: &str,
        row: u64,
        outcome: &Result<Value, RowError>,
    ) -> Result<bool, StoreError> {
        let now = now_ms() as i64;
        let (data, error) = match outcome {
            Ok(value) => (Some(value.to_string()), None),
            Err(err) => (None, Some(error_json(err))),
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE rows SET data = ?3, error = ?4, finished_at = ?5
             WHERE job_id = ?1 AND row = ?2 AND finished_at IS NULL",
            params![id, row as i64, data, error, now],
        )?;
        if changed == 1 {
            let column = if outcome.is_ok() { "done" } else { "failed" };
            tx.execute(
                &format!("UPDATE jobs SET {column} = {column} + 1, updated_at = ?2 WHERE id = ?1"),
                params![id, now],
            )?;
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    /// Marks a running job completed when it has no pending rows left.
    pub fn complete_if_done(&self, id: &str) -> Result<JobInfo, StoreError> {
        self.conn().execute(
            "UPDATE jobs SET status = 'completed', updated_at = ?2
             WHERE id = ?1 AND status IN ('queued', 'running') AND done + failed = total",
            params![id, now_ms() as i64],
        )?;
        self.job(id)
    }

    /// Cancels a job that has not finished; a finished job is left as it
    /// is. Returns the job's state either way.
    pub fn cancel(&self, id: &str) -> Result<JobInfo, StoreError> {
        self.conn().execute(
            "UPDATE jobs SET status = 'cancelled', updated_at = ?2
             WHERE id = ?1 AND status IN ('queued', 'running')",
            params![id, now_ms() as i64],
        )?;
        self.job(id)
    }

    /// Removes a job and its rows.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        match self
            .conn()
            .execute("DELETE FROM jobs WHERE id = ?1", [id])?
        {
            0 => Err(StoreError::NotFound(id.to_owned())),
            _ => Ok(()),
        }
    }

    /// Finished rows of a job after `after_row`, in row order.
    pub fn results(
        &self,
        id: &str,
        after_row: u64,
        limit: usize,
    ) -> Result<Vec<OutputRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT row, id, data, error FROM rows
             WHERE job_id = ?1 AND finished_at IS NOT NULL AND row > ?2
             ORDER BY row LIMIT ?3",
        )?;
        let raw = stmt
            .query_map(params![id, after_row as i64, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        raw.into_iter()
            .map(|(row, row_id, data, error)| {
                let corrupt = |e: serde_json::Error| {
                    StoreError::Corrupt(format!("row {row} of job {id}: {e}"))
                };
                let outcome = match (data, error) {
                    (_, Some(err)) => Err(serde_json::from_str(&err).map_err(corrupt)?),
                    (Some(data), None) => Ok(serde_json::from_str(&data).map_err(corrupt)?),
                    (None, None) => Ok(Value::Null),
                };
                Ok(OutputRecord {
                    row,
                    id: row_id,
                    outcome,
                })
            })
            .collect()
    }
}

fn error_json(err: &RowError) -> String {
    serde_json::to_string(err).unwrap_or_else(|_| String::from("{}"))
}

/// A `jobs` row as read, before the status is parsed.
struct RawInfo {
    id: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    total: i64,
    done: i64,
    failed: i64,
    error: Option<String>,
}

fn job_info_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawInfo> {
    Ok(RawInfo {
        id: r.get(0)?,
        status: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        total: r.get(4)?,
        done: r.get(5)?,
        failed: r.get(6)?,
        error: r.get(7)?,
    })
}

impl RawInfo {
    fn into_info(self) -> Result<JobInfo, StoreError> {
        let (total, done, failed) = (self.total as u64, self.done as u64, self.failed as u64);
        let finished = done + failed;
        Ok(JobInfo {
            status: JobStatus::parse(&self.status)?,
            id: self.id,
            created_at: self.created_at as u64,
            updated_at: self.updated_at as u64,
            total,
            done,
            failed,
            pending: total.saturating_sub(finished),
            progress: if total == 0 {
                1.0
            } else {
                finished as f64 / total as f64
            },
            error: self.error,
        })
    }
}

#[cfg(test)]
mod tests;
