//! End to end through HTTP with the real default model: `strictly serve`
//! is started as a process, then driven like a client would.
//!
//! One server serves every step (loading the model once), so the steps run
//! in order inside one test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use strictly_regression::accuracy::field_accuracy;

#[path = "support/openai_venv.rs"]
mod openai_venv;

const EXAMPLES: [&str; 6] = [
    "invoice",
    "receipt",
    "job_posting",
    "support_email",
    "resume",
    "contract_parties",
];

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start_server() -> Server {
    strictly_model::fetch::ensure_default_model()
        .expect("the default model is needed for end-to-end tests");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strictly"))
        .args([
            "serve",
            "--port",
            "0",
            "--max-batch",
            "8",
            "--api-key",
            "e2e-key",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting strictly serve");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            eprintln!("[server] {line}");
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server never said where it listens");
    let server = Server { child, addr };
    let started = Instant::now();
    while get(&server, "/readyz").0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the model never became ready"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

/// One HTTP/1.1 exchange with `Connection: close`; returns status and body.
fn request(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut socket = TcpStream::connect(&server.addr).expect("connecting");
    let payload = body.map(Value::to_string).unwrap_or_default();
    write!(
        socket,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer e2e-key\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        server.addr,
        payload.len()
    )
    .expect("sending");
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).expect("reading");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

fn get(server: &Server, path: &str) -> (u16, String) {
    request(server, "GET", path, None)
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = request(server, "POST", path, Some(body));
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).expect("the committed schemas are valid")
}

#[test]
fn serve_end_to_end() {
    let server = start_server();

    // The examples: valid against their schema and close to the expected answer.
    let mut total = 0.0;
    for name in EXAMPLES {
        let schema = read_json(repo().join(format!("schemas/{name}.schema.json")));
        let expected = read_json(repo().join(format!("examples/{name}/expected.json")));
        let document =
            std::fs::read_to_string(repo().join(format!("examples/{name}/document.txt"))).unwrap();
        let (status, body) = post(
            &server,
            "/v1/extract",
            &json!({"document": document, "schema": schema}),
        );
        assert_eq!(status, 200, "{name}: {body}");
        let data = &body["data"];
        assert!(
            validator(&schema).is_valid(data),
            "{name}: invalid answer {data}"
        );
        let accuracy = field_accuracy(&expected, data);
        eprintln!(
            "{name}: field accuracy {accuracy:.2}, usage {}, timings {}",
            body["usage"], body["timings_ms"]
        );
        total += accuracy;
    }
    let mean = total / EXAMPLES.len() as f64;
    eprintln!("mean field accuracy {mean:.2}");
    assert!(
        mean >= 0.6,
        "answers are far from the expected ones (mean field accuracy {mean:.2})"
    );

    // Eight concurrent requests all complete and validate.
    let schema = read_json(repo().join("schemas/support_email.schema.json"));
    let document =
        std::fs::read_to_string(repo().join("examples/support_email/document.txt")).unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let body =
                    json!({"document": format!("{document}\n(ticket {i})"), "schema": schema});
                let server = &server;
                scope.spawn(move || post(server, "/v1/extract", &body))
            })
            .collect();
        for handle in handles {
            let (status, body) = handle.join().unwrap();
            assert_eq!(status, 200, "{body}");
            assert!(validator(&schema).is_valid(&body["data"]), "{body}");
        }
    });

    // A budget too small for the schema is a 422; a bad schema a 400 with its pointer.
    let (status, body) = post(
        &server,
        "/v1/extract",
        &json!({"document": document, "schema": schema, "options": {"max_tokens": 5}}),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (422, Some("unsatisfiable")),
        "{body}"
    );
    let bad =
        json!({"type": "object", "properties": {"n": {"$ref": "https://example.com/n.json"}}});
    let (status, body) = post(
        &server,
        "/v1/extract",
        &json!({"document": "x", "schema": bad}),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("invalid_schema")),
        "{body}"
    );
    assert!(
        body["error"]["pointer"]
            .as_str()
            .is_some_and(|p| p.starts_with("/properties/n")),
        "{body}"
    );

    // Plain-text constraints with the real model: shipped and inline GBNF
    // grammars, a regex and a choice; each answer checked by the regex crate.
    let cases = [
        (
            json!({"grammar": "@sql_select"}),
            "Write SQL: the names of users older than 30 (table users).",
            r#"^SELECT .* FROM "\w+""#,
        ),
        (
            json!({"grammar": "root ::= [1-9] [0-9]? \" apples\""}),
            "How many apples are 3 plus 4 apples?",
            "^[1-9][0-9]? apples$",
        ),
        (
            json!({"structured_outputs": {"regex": r"[A-Z][a-z]+, [A-Z][a-z]+"}}),
            "Capital of France, and its country? Answer City, Country.",
            "^[A-Z][a-z]+, [A-Z][a-z]+$",
        ),
        (
            json!({"guided_choice": ["Paris", "Lyon", "Nice"]}),
            "Which is the capital of France?",
            "^(Paris|Lyon|Nice)$",
        ),
    ];
    for (format, question, want) in cases {
        let mut body =
            json!({"messages": [{"role": "user", "content": question}], "max_tokens": 60});
        for (k, v) in format.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, body) = post(&server, "/v1/chat/completions", &body);
        assert_eq!(status, 200, "{format}: {body}");
        let text = body["choices"][0]["message"]["content"].as_str().unwrap();
        eprintln!("{format}: {text:?}");
        assert!(
            regex::Regex::new(want).unwrap().is_match(text),
            "{format}: {text:?}"
        );
    }

    // A client that disconnects frees its slot.
    let mut socket = TcpStream::connect(&server.addr).unwrap();
    let long = json!({"messages": [{"role": "user", "content": "Count from 1 to 1000."}], "max_tokens": 2000});
    let payload = long.to_string();
    write!(
        socket,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer e2e-key\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let running = |server: &Server| -> u64 {
        let (_, text) = get(server, "/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix("strictly_running_sequences "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let started = Instant::now();
    while running(&server) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the long request never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    socket.shutdown(std::net::Shutdown::Both).unwrap();
    drop(socket);
    let dropped = Instant::now();
    while running(&server) > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(30),
            "the abandoned request kept its slot"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The official OpenAI Python client works unchanged.
    let script = repo().join("tests/openai_compat.py");
    let output = Command::new(openai_venv::python())
        .arg(&script)
        .arg(format!("http://{}/v1", server.addr))
        .env("OPENAI_API_KEY", "e2e-key")
        .output()
        .expect("running the OpenAI client test");
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "OpenAI client test failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
