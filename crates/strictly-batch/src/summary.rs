//! The end-of-run summary printed by `strictly batch`.

use std::fmt;
use std::time::Duration;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows written with data.
    pub done: u64,
    /// Rows written with an error.
    pub failed: u64,
    /// Rows skipped because an earlier run had written them.
    pub skipped: u64,
    /// Bytes of a torn last record cut off from the output before resuming.
    pub torn_bytes: u64,
    pub elapsed: Duration,
    /// The run was stopped before the end of the input.
    pub cancelled: bool,
}

impl Summary {
    /// Rows extracted (with data or an error) per second of this run.
    pub fn rows_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.done + self.failed) as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} done, {} failed, {} skipped in {:.1}s ({:.2} rows/s)",
            self.done,
            self.failed,
            self.skipped,
            self.elapsed.as_secs_f64(),
            self.rows_per_second()
        )?;
        if self.torn_bytes > 0 {
            write!(f, "; cut {} bytes of a torn last row", self.torn_bytes)?;
        }
        if self.cancelled {
            write!(f, "; stopped before the end of the input")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line() {
        let s = Summary {
            done: 8,
            failed: 2,
            skipped: 5,
            torn_bytes: 0,
            elapsed: Duration::from_secs(4),
            cancelled: false,
        };
        assert_eq!(
            s.to_string(),
            "8 done, 2 failed, 5 skipped in 4.0s (2.50 rows/s)"
        );
        let s = Summary {
            torn_bytes: 17,
            cancelled: true,
            ..s
        };
        assert!(
            s.to_string().ends_with(
                "; cut 17 bytes of a torn last row; stopped before the end of the input"
            )
        );
    }
}
