-- Batch jobs and their rows. One row per input row; a row is pending while
-- finished_at is NULL. Results live on the row itself, so recording a
-- result is one conditional UPDATE (WHERE finished_at IS NULL): a row can
-- never be counted twice, even when a restart runs it again.
CREATE TABLE IF NOT EXISTS jobs (
    id           TEXT PRIMARY KEY,
    created_at   INTEGER NOT NULL,   -- Unix time, milliseconds
    updated_at   INTEGER NOT NULL,
    status       TEXT NOT NULL,      -- queued | running | completed | cancelled | failed
    schema       TEXT NOT NULL,      -- the JSON Schema, as JSON text
    instructions TEXT,
    total        INTEGER NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    error        TEXT                -- why a job failed, when it did
);

CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);

CREATE TABLE IF NOT EXISTS rows (
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    row         INTEGER NOT NULL,    -- 1-based position in the input
    id          TEXT NOT NULL,       -- the row's id
    document    TEXT,                -- NULL for rows that failed on input
    data        TEXT,                -- the extracted JSON, as JSON text
    error       TEXT,                -- a RowError as JSON text
    finished_at INTEGER,             -- NULL while pending
    PRIMARY KEY (job_id, row)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS rows_pending ON rows (job_id, row) WHERE finished_at IS NULL;
