//! The cached fast path must give exactly the masks of a full trie walk.
//! Random walks over a vocabulary with many multi-byte tokens (including
//! tokens that cross lexeme boundaries and split UTF-8 characters) compare
//! both at every step.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use strictly_grammar::{Factory, JsonOptions, Vocabulary};

fn vocab(seed: u64) -> Vocabulary {
    let mut rng = StdRng::seed_from_u64(seed);
    let pieces: &[&[u8]] = &[
        b"\"",
        b"\\",
        b"\",",
        b"\":",
        b"\": ",
        b", \"",
        b"{\"",
        b"}",
        b"]",
        b"[",
        b"{",
        b",",
        b":",
        b" ",
        b"  ",
        b"a",
        b"b",
        b"ab",
        b"name",
        b"e",
        b"\xc3",
        b"\xa9",
        b"\xc3\xa9",
        b"\xe2\x82",
        b"\xac",
        b"1",
        b"12",
        b"0",
        b"-",
        b".",
        b"5",
        b"\\n",
        b"\\u00",
        b"1f",
        b"true",
        b"fal",
        b"se",
        b"null",
        b"x",
        b"\n",
    ];
    let mut extra: Vec<Vec<u8>> = Vec::new();
    for _ in 0..400 {
        let n = rng.random_range(1..5);
        let mut t = Vec::new();
        for _ in 0..n {
            t.extend_from_slice(pieces[rng.random_range(0..pieces.len())]);
        }
        extra.push(t);
    }
    let refs: Vec<&[u8]> = extra.iter().map(|t| t.as_slice()).collect();
    Vocabulary::byte_level(&refs)
}

#[test]
fn fast_path_equals_full_walk() {
    let f = Factory::new(vocab(7));
    f.set_inside_cache_threshold(0);
    let schemas = [
        json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}, "ab": {"type": "integer"}}, "required": ["name"]}),
        json!({"type": "array", "items": {"type": "string", "minLength": 2, "pattern": "^[abé]+$"}}),
        json!({"type": "object", "additionalProperties": {"type": "number"}}),
        json!({"anyOf": [{"type": "string", "maxLength": 3}, {"type": "string", "pattern": "^a"}, {"type": "null"}]}),
        json!({"type": "string", "minLength": 3, "maxLength": 4}),
        json!({}),
    ];
    let mut rng = StdRng::seed_from_u64(1);
    for schema in &schemas {
        let g = f
            .compile_json_schema(schema, &JsonOptions::lenient())
            .unwrap();
        for _ in 0..40 {
            let mut m = f.matcher(&g);
            let mut history: Vec<u8> = Vec::new();
            let mut ids: Vec<u32> = Vec::new();
            for _step in 0..60 {
                let fast = m.compute_mask();
                let slow = m.compute_mask_reference();
                if fast != slow {
                    let show = |m: &strictly_grammar::TokenMask,
                                o: &strictly_grammar::TokenMask|
                     -> Vec<String> {
                        m.iter()
                            .filter(|&t| !o.contains(t))
                            .map(|t| {
                                format!(
                                    "{t}:{:?}",
                                    String::from_utf8_lossy(f.vocab().token_bytes(t))
                                )
                            })
                            .collect()
                    };
                    panic!(
                        "schema {schema} after {:?} {ids:?}: only fast {:?}, only slow {:?}",
                        String::from_utf8_lossy(&history),
                        show(&fast, &slow),
                        show(&slow, &fast)
                    );
                }
                let allowed: Vec<u32> = fast.iter().collect();
                if allowed.is_empty() {
                    panic!("dead end for {schema}");
                }
                let t = allowed[rng.random_range(0..allowed.len())];
                m.commit_token(t).unwrap();
                history.extend_from_slice(f.vocab().token_bytes(t));
                ids.push(t);
                if m.is_finished() {
                    break;
                }
            }
        }
    }
}
