//! A Python with the official `openai` client, provisioned by the test
//! itself: a virtual environment under the target directory, made once with
//! `python3 -m venv` and a pinned client, then reused (like the cached
//! model). Concurrent test runs share it through a lock file.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The client version the compatibility test is written against.
pub const OPENAI_VERSION: &str = "2.8.1";

/// The environment's `python` executable, creating the environment first
/// if needed. Panics with what to install when python3 or venv is missing.
pub fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("openai-venv-{OPENAI_VERSION}"));
    let python = root.join("bin/python");
    let ready = root.join(".ready");
    std::fs::create_dir_all(root.parent().expect("the venv has a parent")).expect("target dir");
    let lock_path = root.with_file_name(format!("openai-venv-{OPENAI_VERSION}.lock"));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .expect("opening the venv lock file");
    lock.lock().expect("locking the venv lock file");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&root);
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&root)
            .output();
        match made {
            Err(e) => panic!(
                "python3 is needed for the OpenAI client test ({e}); install Python 3 \
                 (Debian: apt-get install python3 python3-venv)"
            ),
            Ok(out) if !out.status.success() => panic!(
                "`python3 -m venv` failed; install the venv module \
                 (Debian: apt-get install python3-venv):\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Ok(_) => {}
        }
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("openai=={OPENAI_VERSION}"))
            .output()
            .expect("running pip in the test venv");
        assert!(
            out.status.success(),
            "installing openai=={OPENAI_VERSION} into {} failed:\n{}",
            root.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&ready, OPENAI_VERSION).expect("marking the venv ready");
    }
    let _ = lock.unlock();
    python
}
