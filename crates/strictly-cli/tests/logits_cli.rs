//! `strictly logits` on the default model: the JSON shape other tools rely
//! on, and agreement with llama.cpp's fixture on a short prompt.

use std::process::Command;

use serde_json::Value;

#[test]
fn logits_prints_sorted_top_k_and_greedy_tokens() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/reference/model_fixture.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = &fixture["cases"][0];
    let tokens: Vec<String> = case["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.to_string())
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_strictly"))
        .args(["logits", "--top-k", "20", "--greedy", "6", "--tokens"])
        .arg(tokens.join(","))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    let top = out["top"].as_array().unwrap();
    assert_eq!(top.len(), 20);
    let logits: Vec<f64> = top.iter().map(|p| p[1].as_f64().unwrap()).collect();
    assert!(
        logits.windows(2).all(|w| w[0] >= w[1]),
        "not sorted: {logits:?}"
    );
    assert_eq!(top[0][0], case["top"][0][0]);
    let greedy = out["greedy"].as_array().unwrap();
    assert_eq!(greedy.len(), 6);
    // The first steps of this prompt are far from ties in the reference.
    assert_eq!(greedy[..], case["greedy"].as_array().unwrap()[..6]);
}
