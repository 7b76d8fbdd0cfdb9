//! Feeds each test instance of a MaskBench file byte by byte and reports
//! where the matcher rejects it (debugging aid).
//!
//! ```text
//! cargo run -p strictly-grammar --example check_instance -- FILE.json
//! ```

use strictly_grammar::maskbench::python_json;
use strictly_grammar::{Factory, JsonOptions, Vocabulary};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: check_instance FILE")?;
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let f = Factory::new(Vocabulary::byte_level(&[]));
    let g = match f.compile_json_schema(&file["schema"], &JsonOptions::lenient()) {
        Ok(g) => g,
        Err(e) => {
            println!("compile error: {e}");
            return Ok(());
        }
    };
    println!(
        "grammar: {} rules, {} lexemes",
        g.grammar().num_rules(),
        g.grammar().num_lexemes()
    );
    for (i, t) in file["tests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let text = python_json(&t["data"]);
        let mut m = f.matcher(&g);
        let mut failed = None;
        for (j, &b) in text.as_bytes().iter().enumerate() {
            if m.commit_token(b as u32).is_err() {
                failed = Some(j);
                break;
            }
        }
        let ok = failed.is_none() && m.is_accepting();
        let valid = t["valid"].as_bool().unwrap_or(false);
        let mark = if ok == valid { "ok " } else { "BAD" };
        match failed {
            Some(j) => println!(
                "{mark} test {i} valid={valid} rejected at {j}: {:?} | {:?}",
                &text[..j.min(text.len())]
                    .chars()
                    .rev()
                    .take(80)
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect::<String>(),
                &text[j..].chars().take(40).collect::<String>()
            ),
            None => println!("{mark} test {i} valid={valid} accepted={ok}"),
        }
    }
    Ok(())
}
