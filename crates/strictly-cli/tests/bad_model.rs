//! A damaged model file at start-up: `strictly serve` exits with a typed
//! error naming the problem, never a panic or a half-started service.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn strictly() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strictly"))
}

/// The default model, fetched if needed.
fn default_model() -> PathBuf {
    let pull = strictly().args(["model", "pull"]).output().unwrap();
    assert!(
        pull.status.success(),
        "{}",
        String::from_utf8_lossy(&pull.stderr)
    );
    let out = strictly().args(["model", "path"]).output().unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The first `len` bytes of the default model.
fn prefix_copy(dir: &Path, name: &str, len: u64) -> PathBuf {
    let mut source = std::fs::File::open(default_model()).unwrap();
    let mut bytes = Vec::new();
    (&mut source).take(len).read_to_end(&mut bytes).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs `strictly serve` on `model` and returns its stderr once it exits.
fn serve_fails(model: &Path) -> String {
    let mut child = strictly()
        .args(["serve", "--port", "0", "--model"])
        .arg(model)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("strictly serve did not exit on a damaged model");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("could not be loaded"), "{stderr}");
    stderr
}

#[test]
fn a_truncated_gguf_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    // Header, metadata and tensor table, but not the tensor data.
    let model = prefix_copy(dir.path(), "truncated.gguf", 8 << 20);
    let stderr = serve_fails(&model);
    assert!(
        stderr.contains("truncated")
            || stderr.contains("out of bounds")
            || stderr.contains("past the end"),
        "{stderr}"
    );
}

#[test]
fn bit_flipped_gguf_headers_are_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    // Offsets in the header: the magic, the version, the tensor count and
    // the metadata count (a flipped high bit makes each absurd).
    for (offset, mask) in [(0u64, 0x20u8), (4, 0x40), (15, 0x80), (23, 0x80)] {
        let model = dir.path().join(format!("flipped-{offset}.gguf"));
        std::fs::copy(default_model(), &model).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&model)
            .unwrap();
        let mut byte = [0u8];
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.read_exact(&mut byte).unwrap();
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.write_all(&[byte[0] ^ mask]).unwrap();
        drop(file);
        serve_fails(&model);
        std::fs::remove_file(&model).unwrap();
    }
}
