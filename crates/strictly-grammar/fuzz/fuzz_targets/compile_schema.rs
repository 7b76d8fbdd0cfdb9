//! Arbitrary bytes as a JSON Schema: the compiler must refuse or compile
//! without panicking, within libFuzzer's time and memory limits (so hostile
//! patterns, enums and nesting cannot hang it or exhaust memory); a schema
//! that compiles must give a first mask, and a few masked steps must work.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use strictly_grammar::{Factory, JsonOptions, TokenMask, Vocabulary};

fn factory() -> &'static Arc<Factory> {
    static F: OnceLock<Arc<Factory>> = OnceLock::new();
    F.get_or_init(|| {
        let extra: &[&[u8]] = &[b"\"", b"\": ", b", \"", b"{\"", b"\"}", b"[1", b"null", b"true"];
        Factory::new(Vocabulary::byte_level(extra))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let f = factory();
    for opts in [JsonOptions::lenient(), JsonOptions::compact()] {
        let Ok(g) = f.compile_json_schema(&schema, &opts) else {
            continue;
        };
        let mut m = f.matcher(&g);
        let mut mask = TokenMask::new(f.vocab().len());
        // Follow the lowest allowed token a few steps: every masked token
        // must commit.
        for _ in 0..16 {
            m.compute_mask_into(&mut mask);
            let Some(t) = mask.iter().next() else { break };
            m.commit_token(t).expect("a masked token commits");
            if m.is_finished() {
                break;
            }
        }
    }
});
