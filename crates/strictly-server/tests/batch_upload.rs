//! `POST /v1/batches` with a CSV file uploaded as `multipart/form-data`,
//! against a deterministic extractor: rows and ids come through, uploads
//! far above the JSON body limit are accepted (they are spooled to disk),
//! and an upload over its own limit or a bad form gets a typed error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_multipart::test::{TestFormField, create_form_data_payload_and_headers_from_fields};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};
use strictly_batch::jobs::{JobRunner, RunnerConfig};
use strictly_batch::store::BatchStore;
use strictly_batch::testing::EchoExtractor;
use strictly_engine::EngineConfig;
use strictly_engine::testing::engine_with_script;
use strictly_server::{AppState, ServerConfig, app};

fn state_with(config: ServerConfig) -> AppState {
    let state = AppState::loading(config);
    state.set_ready(
        engine_with_script(EngineConfig::default(), "{}"),
        "test-model",
    );
    let store = Arc::new(BatchStore::open_in_memory().unwrap());
    let runner = JobRunner::start(
        store,
        Arc::new(EchoExtractor::new()),
        RunnerConfig::default(),
    );
    state.set_batches(runner.unwrap());
    state
}

fn schema() -> String {
    json!({"type": "object", "properties": {"first_word": {"type": "string"}}}).to_string()
}

/// A multipart request: `("file", csv)` becomes a file part, the rest text.
fn upload(parts: &[(&str, &str)]) -> TestRequest {
    let fields = parts.iter().map(|&(name, value)| {
        let field = TestFormField::new(name.to_owned(), value.as_bytes().to_vec());
        if name == "file" {
            field.filename("rows.csv")
        } else {
            field
        }
    });
    let (body, headers) = create_form_data_payload_and_headers_from_fields(fields);
    let mut req = TestRequest::post().uri("/v1/batches").set_payload(body);
    for (name, value) in &headers {
        req = req.insert_header((name.clone(), value.clone()));
    }
    req
}

async fn call(state: &AppState, req: TestRequest) -> (StatusCode, Vec<u8>) {
    let service = test::init_service(app(state.clone())).await;
    let response = test::call_service(&service, req.to_request()).await;
    let status = response.status();
    (status, test::read_body(response).await.to_vec())
}

async fn json_call(state: &AppState, req: TestRequest) -> (StatusCode, Value) {
    let (status, body) = call(state, req).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, value)
}

async fn completed(state: &AppState, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (_, body) =
            json_call(state, TestRequest::get().uri(&format!("/v1/batches/{id}"))).await;
        if body["status"] == "completed" {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still {body}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn an_uploaded_csv_becomes_a_job_with_its_ids() {
    let state = state_with(ServerConfig::default());
    let csv = "\u{feff}key;text\nk1;\"two\nlines\"\nk2;one\n";
    let req = upload(&[
        ("schema", &schema()),
        ("file", csv),
        ("text_column", "text"),
        ("id_column", "key"),
        ("delimiter", ";"),
    ]);
    let (status, created) = json_call(&state, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["total"], 2, "{created}");
    let id = created["id"].as_str().unwrap();
    completed(&state, id).await;
    let (status, body) = call(
        &state,
        TestRequest::get().uri(&format!("/v1/batches/{id}/results")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "k1");
    assert_eq!(rows[0]["data"], EchoExtractor::answer("two\nlines"));
    assert_eq!(rows[1]["id"], "k2");
}

#[actix_web::test]
async fn uploads_are_not_bound_by_the_json_body_limit_but_by_their_own() {
    let config = ServerConfig {
        max_body_bytes: 1_000,
        max_upload_bytes: 4 << 20,
        ..ServerConfig::default()
    };
    let state = state_with(config);
    // About 2.5 MiB: several spool writes, far above the body limit.
    let mut csv = String::from("text\n");
    let line = format!("{}\n", "word ".repeat(50));
    let rows = (2_500_000 / line.len()) as u64;
    for _ in 0..rows {
        csv.push_str(&line);
    }
    let req = upload(&[
        ("file", &csv),
        ("schema", &schema()),
        ("text_column", "text"),
    ]);
    let (status, created) = json_call(&state, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["total"], rows);

    let config = ServerConfig {
        max_upload_bytes: 100_000,
        ..ServerConfig::default()
    };
    let state = state_with(config);
    let req = upload(&[
        ("schema", &schema()),
        ("text_column", "text"),
        ("file", &csv),
    ]);
    let (status, err) = json_call(&state, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert_eq!(err["error"]["type"], "payload_too_large");
    assert_eq!(err["error"]["param"], "file");
}

/// Form parts as (name, value).
type Form<'a> = &'a [(&'a str, &'a str)];

#[actix_web::test]
async fn a_bad_form_gets_typed_errors() {
    let state = state_with(ServerConfig::default());
    let csv = "id,body\n1,x\n";
    let cases: [(Form, &str, &str); 5] = [
        (
            &[("schema", &schema()), ("text_column", "body")],
            "invalid_request_error",
            "file",
        ),
        (
            &[("file", csv), ("schema", &schema())],
            "invalid_request_error",
            "text_column",
        ),
        (
            &[("file", csv), ("schema", "{nope"), ("text_column", "body")],
            "invalid_json",
            "schema",
        ),
        (
            &[
                ("file", csv),
                ("schema", r#"{"$ref": "https://example.com/s.json"}"#),
                ("text_column", "body"),
            ],
            "invalid_schema",
            "schema",
        ),
        (
            &[
                ("file", csv),
                ("schema", &schema()),
                ("text_column", "text"),
            ],
            "invalid_request_error",
            "file",
        ),
    ];
    for (parts, kind, param) in cases {
        let (status, err) = json_call(&state, upload(parts)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{parts:?}: {err}");
        assert_eq!(err["error"]["type"], kind, "{parts:?}: {err}");
        assert_eq!(err["error"]["param"], param, "{parts:?}: {err}");
    }
    // The missing column is named.
    let (_, err) = json_call(
        &state,
        upload(&[
            ("file", csv),
            ("schema", &schema()),
            ("text_column", "text"),
        ]),
    )
    .await;
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"text\""),
        "{err}"
    );
    let (status, err) = json_call(
        &state,
        upload(&[
            ("file", csv),
            ("schema", &schema()),
            ("text_column", "body"),
            ("colour", "red"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
}
