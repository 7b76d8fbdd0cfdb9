//! A terminal progress bar for batch runs: rows done, rows per second and
//! an ETA from the share of the input read. Hidden when stderr is not a
//! terminal, so logs and CI output stay clean.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::{Progress, RunObserver};

/// Progress of a batch run on stderr.
#[derive(Debug)]
pub struct BatchProgress {
    bar: ProgressBar,
    started: Instant,
}

impl BatchProgress {
    /// A bar over `total_bytes` of input (a spinner when the size is
    /// unknown, e.g. stdin); hidden unless stderr is a terminal.
    pub fn new(total_bytes: Option<u64>) -> Self {
        let visible = std::io::stderr().is_terminal();
        Self::with_target(
            total_bytes,
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        )
    }

    /// A bar that never draws.
    pub fn hidden() -> Self {
        Self::with_target(None, ProgressDrawTarget::hidden())
    }

    fn with_target(total_bytes: Option<u64>, target: ProgressDrawTarget) -> Self {
        let bar = match total_bytes {
            Some(total) => ProgressBar::with_draw_target(Some(total), target).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::with_draw_target(None, target).with_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            started: Instant::now(),
        }
    }

    /// Removes the bar (before the summary is printed).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// The message shown next to the bar.
    pub fn message(progress: &Progress, elapsed: Duration) -> String {
        let extracted = progress.done + progress.failed;
        let rate = if elapsed.as_secs_f64() > 0.0 {
            extracted as f64 / elapsed.as_secs_f64()
        } else {
            0.0
        };
        format!(
            "{} done, {} failed, {} skipped, {rate:.2} rows/s",
            progress.done, progress.failed, progress.skipped
        )
    }
}

impl RunObserver for BatchProgress {
    fn update(&self, progress: &Progress) {
        self.bar.set_position(progress.bytes_read);
        self.bar
            .set_message(Self::message(progress, self.started.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_counts_rows_and_rate() {
        let p = Progress {
            done: 9,
            failed: 1,
            skipped: 3,
            bytes_read: 10,
        };
        assert_eq!(
            BatchProgress::message(&p, Duration::from_secs(4)),
            "9 done, 1 failed, 3 skipped, 2.50 rows/s"
        );
        let bar = BatchProgress::hidden();
        bar.update(&p);
        bar.finish();
    }
}
