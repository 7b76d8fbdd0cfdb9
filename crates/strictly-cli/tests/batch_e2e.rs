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

/// A `strictly serve` process on a free port with its batch store at `db`.
struct Server {
    child: std::process::Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &Path) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_strictly"))
        .args(["serve", "--port", "0", "--batch-concurrency", "2"])
        .arg("--batch-db")
        .arg(db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting strictly serve");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the server never said where it listens");
    Server { child, addr }
}

/// One HTTP/1.1 exchange (`Connection: close`): status and body.
fn http(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
    let payload = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        server.addr,
        payload.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn job(server: &Server, id: &str) -> Value {
    let (status, body) = http(server, "GET", &format!("/v1/batches/{id}"), None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// `kill -9` of the server in the middle of a batch job; the restarted
/// server resumes it and every row ends up with exactly one result.
#[test]
fn a_server_killed_mid_job_resumes_it_after_restart() {
    strictly_model::fetch::ensure_default_model().expect("the default model is needed");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("batches.sqlite");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/extraction/contact-signature/schema.json"))
            .unwrap(),
    )
    .unwrap();
    let people = [
        ("Anna Schmidt", "anna"),
        ("Tom Baker", "tom"),
        ("Li Wei", "li"),
        ("Sara Cohen", "sara"),
        ("Omar Haddad", "omar"),
        ("Ines Duarte", "ines"),
    ];
    let rows: Vec<Value> = people
        .iter()
        .map(|(name, user)| serde_json::json!({"id": user, "document": format!("Regards,\n{name}\n{user}@example.org")}))
        .collect();
    let id = {
        let server = serve(&db);
        let started = Instant::now();
        let (status, body) = loop {
            let (status, body) = http(
                &server,
                "POST",
                "/v1/batches",
                Some(&serde_json::json!({"schema": schema, "rows": rows})),
            );
            if status != 503 {
                break (status, body);
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the model never became ready"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(status, 202, "{body}");
        let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        while job(&server, &id)["done"].as_u64().unwrap() < 1 {
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "no row finished"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        id
        // Dropping the server kills it with SIGKILL.
    };
    let server = serve(&db);
    let started = Instant::now();
    let done = loop {
        let (status, body) = http(&server, "GET", &format!("/v1/batches/{id}"), None);
        if status == 200 {
            let info: Value = serde_json::from_str(&body).unwrap();
            if info["status"] == "completed" {
                break info;
            }
            assert_ne!(info["status"], "failed", "{info}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the job never completed: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        (done["total"].clone(), done["pending"].clone()),
        (serde_json::json!(6), serde_json::json!(0)),
        "{done}"
    );
    let (status, body) = http(&server, "GET", &format!("/v1/batches/{id}/results"), None);
    assert_eq!(status, 200);
    let results: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, people.iter().map(|(_, u)| *u).collect::<Vec<_>>());
    for r in &results {
        assert!(
            r["data"]["email"].as_str().is_some_and(|e| e.contains('@')),
            "{r}"
        );
    }
}
