//! `strictly generate` on the default model: the engine's generation loop
//! gives the greedy answer of the reference fixture, through the chat
//! template and from the same prompt written out raw.

use std::process::Command;

use serde_json::Value;

fn generate(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_strictly"))
        .arg("generate")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn generate_stops_at_the_end_of_turn_with_the_reference_answer() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/reference/model_fixture.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = &fixture["cases"][0];
    // The reference's greedy answer to this prompt, up to its end of turn.
    let expected = "The capital of France is Paris.";
    let chat = generate(&[
        "--max-tokens",
        "12",
        "--system",
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        "What is the capital of France? Answer in one sentence.",
    ]);
    assert_eq!(chat, format!("{expected}\n"));
    let raw = generate(&[
        "--raw",
        "--max-tokens",
        "12",
        case["prompt"].as_str().unwrap(),
    ]);
    assert_eq!(raw, format!("{expected}\n"));
}
