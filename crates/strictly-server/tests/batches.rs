//! The batch API against a deterministic extractor: jobs from JSON rows and
//! CSV, status, JSONL and CSV results, cancellation, typed errors, and a
//! restart in the middle of a job.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};
use strictly_batch::jobs::{JobRunner, RunnerConfig};
use strictly_batch::store::BatchStore;
use strictly_batch::testing::EchoExtractor;
use strictly_engine::EngineConfig;
use strictly_engine::testing::engine_with_script;
use strictly_server::{AppState, ServerConfig, app};

fn state_with(store: Arc<BatchStore>, delay: Duration) -> AppState {
    let state = AppState::loading(ServerConfig::default());
    state.set_ready(
        engine_with_script(EngineConfig::default(), "{}"),
        "test-model",
    );
    let extractor = Arc::new(EchoExtractor::new().with_delay(delay));
    let config = RunnerConfig {
        concurrency: 2,
        page: 8,
        retry_delay: Duration::from_millis(20),
    };
    state.set_batches(JobRunner::start(store, extractor, config).unwrap());
    state
}

async fn call(state: &AppState, req: TestRequest) -> (StatusCode, String, Vec<u8>) {
    let service = test::init_service(app(state.clone())).await;
    let response = test::call_service(&service, req.to_request()).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        test::read_body(response).await.to_vec(),
    )
}

async fn json_call(state: &AppState, req: TestRequest) -> (StatusCode, Value) {
    let (status, _, body) = call(state, req).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, value)
}

async fn wait_status(state: &AppState, id: &str, want: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) =
            json_call(state, TestRequest::get().uri(&format!("/v1/batches/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] == want {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still {body}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

fn schema() -> Value {
    json!({"type": "object", "properties": {"first_word": {"type": "string"}, "words": {"type": "integer"}}})
}

fn memory_store() -> Arc<BatchStore> {
    Arc::new(BatchStore::open_in_memory().unwrap())
}

#[actix_web::test]
async fn a_json_job_runs_and_its_results_come_back_as_jsonl_and_csv() {
    let state = state_with(memory_store(), Duration::ZERO);
    let body = json!({"schema": schema(), "rows": [
        {"id": "a", "document": "alpha beta"}, {"id": "b", "document": ""}, {"document": "gamma"}
    ]});
    let (status, created) = json_call(
        &state,
        TestRequest::post().uri("/v1/batches").set_json(body),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["total"], 3);
    let id = created["id"].as_str().unwrap().to_owned();
    let done = wait_status(&state, &id, "completed").await;
    assert_eq!(
        (
            done["done"].clone(),
            done["failed"].clone(),
            done["progress"].clone()
        ),
        (json!(2), json!(1), json!(1.0))
    );

    let (status, content_type, body) = call(
        &state,
        TestRequest::get().uri(&format!("/v1/batches/{id}/results")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-ndjson");
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        json!({"row": 1, "id": "a", "data": EchoExtractor::answer("alpha beta")})
    );
    assert_eq!(lines[1]["error"]["type"], "empty_text");
    assert_eq!(lines[2]["id"], "3");

    let (status, content_type, body) = call(
        &state,
        TestRequest::get().uri(&format!("/v1/batches/{id}/results?format=csv")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with("_row,_id,first_word,words,_error_type,_error\n1,a,alpha,2,,\n"),
        "{text}"
    );

    // Cancelling a finished job changes nothing.
    let (status, body) = json_call(
        &state,
        TestRequest::delete().uri(&format!("/v1/batches/{id}")),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("completed"))
    );
}

#[actix_web::test]
async fn a_csv_job_reads_columns_and_names_a_missing_one() {
    let state = state_with(memory_store(), Duration::ZERO);
    let csv = "\u{feff}key;text\nk1;\"two\nlines\"\nk2;one\n";
    let body = json!({"schema": schema(), "csv": csv, "text_column": "text", "id_column": "key", "delimiter": ";"});
    let (status, created) = json_call(
        &state,
        TestRequest::post().uri("/v1/batches").set_json(body),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    wait_status(&state, &id, "completed").await;

    let body = json!({"schema": schema(), "csv": "id,body\n1,x\n", "text_column": "text"});
    let (status, err) = json_call(
        &state,
        TestRequest::post().uri("/v1/batches").set_json(body),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"text\""),
        "{err}"
    );
}

#[actix_web::test]
async fn bad_requests_get_typed_errors() {
    let state = state_with(memory_store(), Duration::ZERO);
    let both = json!({"schema": schema(), "rows": [], "csv": "a\n"});
    let (status, err) = json_call(
        &state,
        TestRequest::post().uri("/v1/batches").set_json(both),
    )
    .await;
    assert_eq!(
        (status, err["error"]["type"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_request_error"))
    );
    let empty = json!({"schema": schema(), "rows": []});
    let (status, _) = json_call(
        &state,
        TestRequest::post().uri("/v1/batches").set_json(empty),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let remote =
        json!({"schema": {"$ref": "https://example.com/s.json"}, "rows": [{"document": "x"}]});
    let (status, err) = json_call(
        &state,
        TestRequest::post().uri("/v1/batches").set_json(remote),
    )
    .await;
    assert_eq!(
        (status, err["error"]["type"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_schema"))
    );
    let (status, err) = json_call(&state, TestRequest::get().uri("/v1/batches/batch_nope")).await;
    assert_eq!(
        (status, err["error"]["type"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    let (status, _) = json_call(
        &state,
        TestRequest::get().uri("/v1/batches/batch_nope/results?format=xml"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let loading = AppState::loading(ServerConfig::default());
    let (status, _) = json_call(&loading, TestRequest::get().uri("/v1/batches/x")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[actix_web::test]
async fn delete_cancels_a_running_job() {
    let state = state_with(memory_store(), Duration::from_millis(20));
    let rows: Vec<Value> = (0..200)
        .map(|i| json!({"document": format!("doc {i}")}))
        .collect();
    let (_, created) = json_call(
        &state,
        TestRequest::post()
            .uri("/v1/batches")
            .set_json(json!({"schema": schema(), "rows": rows})),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    wait_status(&state, &id, "running").await;
    let (status, body) = json_call(
        &state,
        TestRequest::delete().uri(&format!("/v1/batches/{id}")),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    let after = wait_status(&state, &id, "cancelled").await;
    assert!(after["pending"].as_u64().unwrap() > 100, "{after}");
}

fn open(path: &Path) -> Arc<BatchStore> {
    Arc::new(BatchStore::open(path).unwrap())
}

#[actix_web::test]
async fn a_restart_in_the_middle_of_a_job_resumes_it_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("batches.sqlite");
    let rows: Vec<Value> = (1..=30)
        .map(|i| json!({"id": format!("r{i}"), "document": format!("doc {i}")}))
        .collect();
    let id = {
        let state = state_with(open(&db), Duration::from_millis(15));
        let (_, created) = json_call(
            &state,
            TestRequest::post()
                .uri("/v1/batches")
                .set_json(json!({"schema": schema(), "rows": rows})),
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        loop {
            let (_, body) =
                json_call(&state, TestRequest::get().uri(&format!("/v1/batches/{id}"))).await;
            if body["done"].as_u64().unwrap() >= 5 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20));
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        id
        // The state, and with it the runner, is dropped here: the server stops.
    };
    let state = state_with(open(&db), Duration::ZERO);
    let done = wait_status(&state, &id, "completed").await;
    assert_eq!(
        (done["done"].clone(), done["pending"].clone()),
        (json!(30), json!(0))
    );
    let (_, _, body) = call(
        &state,
        TestRequest::get().uri(&format!("/v1/batches/{id}/results")),
    )
    .await;
    let ids: Vec<String> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, (1..=30).map(|i| format!("r{i}")).collect::<Vec<_>>());
}
