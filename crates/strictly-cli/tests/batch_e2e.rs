//! `strictly batch`, `strictly test` and `strictly lint` as a user runs
//! them, with the real default model where one is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn strictly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strictly"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .expect("running strictly")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn lint_passes_the_shipped_schemas_and_reports_every_problem_of_a_bad_one() {
    let schemas: Vec<String> = std::fs::read_dir(repo().join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".json"))
        .collect();
    assert!(!schemas.is_empty());
    let mut args = vec!["lint"];
    args.extend(schemas.iter().map(String::as_str));
    let out = strictly(&args);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"type": "object", "properties": {
            "a": {"type": "integer", "minimum": 5, "maximum": 1},
            "b": {"$ref": "https://example.com/b.json"},
            "c": {"type": "object", "unevaluatedProperties": false},
            "d": {"type": "string", "maxLenght": 3}
        }}"#,
    )
    .unwrap();
    let out = strictly(&["lint", "--json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"], 3, "{report:#}");
    assert_eq!(report["warnings"], 1, "{report:#}");
    let pointers: Vec<&str> = report["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/properties/b/$ref"), "{pointers:?}");
    assert!(
        pointers.contains(&"/properties/c/unevaluatedProperties"),
        "{pointers:?}"
    );
    assert!(
        pointers.contains(&"/properties/d/maxLenght"),
        "{pointers:?}"
    );
    assert!(
        pointers.iter().any(|p| p.starts_with("/properties/a/")),
        "{pointers:?}"
    );
}

fn rows_in(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is a whole record"))
        .collect()
}

/// A real run of `strictly batch`, killed with SIGKILL once the first row
/// is on disk, then run again: every row exactly once, bad rows as errors.
#[test]
fn batch_killed_mid_run_resumes_with_every_row_once() {
    strictly_model::fetch::ensure_default_model().expect("the default model is needed");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("contacts.csv");
    let output = dir.path().join("contacts.jsonl");
    std::fs::write(
        &input,
        "\u{feff}id,body\n\
         c1,\"Best regards,\nAnna Schmidt, anna@schmidt.example\"\n\
         c2,\n\
         c3,Call Tom Baker at tom@baker.example\n\
         c4,Write to Li Wei: li.wei@wei.example\n",
    )
    .unwrap();
    let schema = repo().join("tests/extraction/contact-signature/schema.json");
    let args = [
        "batch",
        "--input",
        input.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
        "--text-column",
        "body",
        "--id-column",
        "id",
        "--output",
        output.to_str().unwrap(),
        "--concurrency",
        "2",
        "--max-tokens",
        "96",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_strictly"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // The empty row is written as soon as its turn comes; wait for a model
    // answer (a record with data) before killing.
    while !rows_in(&output).iter().any(|r| r.get("data").is_some()) {
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "no row was written"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = rows_in(&output).len();

    let out = strictly(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{before} skipped")), "{stderr}");

    let rows = rows_in(&output);
    let mut ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["c1", "c2", "c3", "c4"], "{rows:#?}");
    let c2 = rows.iter().find(|r| r["id"] == "c2").unwrap();
    assert_eq!(c2["error"]["type"], "empty_text");
    for r in rows.iter().filter(|r| r["id"] != "c2") {
        let email = r["data"]["email"].as_str().unwrap_or_default();
        assert!(email.contains('@'), "{r}");
    }
}

#[test]
fn regression_cases_pass_and_write_a_junit_report() {
    strictly_model::fetch::ensure_default_model().expect("the default model is needed");
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let out = strictly(&[
        "test",
        "tests/extraction",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains(" passed, 0 failed, 0 errors"), "{report}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"0\" errors=\"0\""), "{xml}");
    assert!(xml.contains("name=\"receipt-corner-shop\""), "{xml}");

    // A changed expectation fails with a field-level diff.
    let cases = dir.path().join("cases");
    let case = cases.join("contact");
    std::fs::create_dir_all(&case).unwrap();
    let source = repo().join("tests/extraction/contact-signature");
    for f in ["document.txt", "schema.json"] {
        std::fs::copy(source.join(f), case.join(f)).unwrap();
    }
    let mut expected: Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("expected.json")).unwrap())
            .unwrap();
    expected["email"] = "someone.else@example.com".into();
    std::fs::write(case.join("expected.json"), expected.to_string()).unwrap();
    let out = strictly(&["test", cases.to_str().unwrap()]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("/email: expected \"someone.else@example.com\""),
        "{report}"
    );
    // --update accepts the new answer, after which the case passes.
    let out = strictly(&["test", cases.to_str().unwrap(), "--update"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = strictly(&["test", cases.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}
