//! Plain-text constraints over HTTP, in every spelling clients use: a GBNF
//! `grammar` (llama.cpp), `structured_outputs` and `guided_*` (vLLM), and
//! `response_format: {"type": "regex"}`; with the real grammar engine.

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};
use strictly_server::{AppState, app};

mod support;

fn server(script: &str) -> AppState {
    support::grammar_server(script)
}

async fn chat(state: &AppState, extra: Value) -> (u16, Value) {
    let mut body = json!({"messages": [{"role": "user", "content": "Answer."}], "max_tokens": 80});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let service = test::init_service(app(state.clone())).await;
    let req = TestRequest::post()
        .uri("/v1/chat/completions")
        .set_json(body)
        .to_request();
    let response = test::call_service(&service, req).await;
    let status = response.status().as_u16();
    let body: Value = serde_json::from_slice(&test::read_body(response).await).unwrap();
    (status, body)
}

fn content(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content in {body}"))
}

#[actix_web::test]
async fn every_spelling_constrains_the_answer() {
    // The model wants to write prose; each constraint holds it to its shape.
    let state = server("Sure! Here is my answer: it is probably fine.");
    let cases = [
        (
            json!({"grammar": "root ::= [0-9]{3} \"-\" [A-Z]{2}"}),
            "^[0-9]{3}-[A-Z]{2}$",
        ),
        (json!({"grammar": "@iso_date"}), r"^\d{4}-\d{2}-\d{2}$"),
        (
            json!({"structured_outputs": {"regex": r"[a-z]+@[a-z]+\.com"}}),
            r"^[a-z]+@[a-z]+\.com$",
        ),
        (
            json!({"structured_outputs": {"choice": ["yes", "no"]}}),
            "^(yes|no)$",
        ),
        (
            json!({"structured_outputs": {"grammar": "@chess_san"}}),
            "^[a-hKQRBNO]",
        ),
        (json!({"guided_regex": r"\d+"}), r"^\d+$"),
        (json!({"guided_choice": ["red", "green"]}), "^(red|green)$"),
        (json!({"guided_grammar": "root ::= \"a\"+"}), "^a+$"),
        (
            json!({"response_format": {"type": "regex", "pattern": "(Sure|No)!.*"}}),
            "^(Sure|No)!",
        ),
    ];
    for (extra, want) in cases {
        let (status, body) = chat(&state, extra.clone()).await;
        assert_eq!(status, 200, "{extra}: {body}");
        let text = content(&body);
        assert!(
            regex::Regex::new(want).unwrap().is_match(text),
            "{extra}: {text:?}"
        );
    }
}

#[actix_web::test]
async fn the_model_is_followed_inside_the_grammar() {
    let state = server(r#"SELECT "name" FROM "users" WHERE "age" > 30"#);
    let (status, body) = chat(&state, json!({"grammar": "@sql_select"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        content(&body),
        r#"SELECT "name" FROM "users" WHERE "age" > 30"#
    );
    // The JSON Schema spelling of structured_outputs still gives JSON.
    let state = server(r#"{"n":3}"#);
    let schema =
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
    let (status, body) = chat(&state, json!({"structured_outputs": {"json": schema}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(content(&body)).unwrap()["n"],
        3
    );
}

#[actix_web::test]
async fn bad_constraints_are_typed_errors_that_say_where() {
    let state = server("");
    let cases = [
        (
            json!({"grammar": "root ::= \"a\"\nitem ::= [b-"}),
            "grammar",
            "line 2, column 10",
        ),
        (
            json!({"grammar": "root ::= missing"}),
            "grammar",
            "`missing` is not defined",
        ),
        (json!({"grammar": "@nope"}), "grammar", "@sql_select"),
        (json!({"guided_regex": "a(b"}), "regex", "offset 1"),
        (
            json!({"structured_outputs": {"regex": r"\bword"}}),
            "regex",
            "assertions",
        ),
        (json!({"guided_choice": []}), "choice", "empty"),
    ];
    for (extra, param, needle) in cases {
        let (status, body) = chat(&state, extra.clone()).await;
        assert_eq!(status, 400, "{extra}: {body}");
        assert_eq!(body["error"]["type"], "invalid_format", "{extra}: {body}");
        assert_eq!(body["error"]["param"], param, "{extra}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{extra}: {message}");
    }
    let (status, body) = chat(
        &state,
        json!({"grammar": "@json", "response_format": {"type": "json_object"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one constraint")
    );
    // The server keeps serving.
    let (status, _) = chat(&state, json!({"guided_choice": ["ok"]})).await;
    assert_eq!(status, 200);
}
