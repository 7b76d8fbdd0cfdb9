//! Schema compilation, the pre-flight and a masked walk, judged as the
//! service judges answers: whatever compiles must give a shortest answer
//! the validator accepts, every masked token must commit, the mask must not
//! empty before the end, and every finished walk must be valid.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use strictly_grammar::{Factory, JsonOptions, TokenMask, Vocabulary};

use super::schema_gen::schema_from_entropy;
use crate::{Outcome, Target, bucket, signature};

/// Bytes the pre-flight may plan.
const PLAN_BYTES: usize = 1 << 14;
/// Tokens one walk may take before it is cut.
const WALK_TOKENS: usize = 256;

pub struct SchemaTarget {
    factory: Arc<Factory>,
    options: JsonOptions,
}

impl Default for SchemaTarget {
    fn default() -> Self {
        let extra: &[&[u8]] = &[
            b"\"", b"\":", b",\"", b"{\"", b"\"}", b"[1", b"null", b"true", b"00", b"\\u",
        ];
        Self {
            factory: Factory::new(Vocabulary::byte_level(extra)),
            options: JsonOptions {
                max_string_chars: 16,
                max_number_chars: 16,
                ..JsonOptions::compact().with_time_budget(Duration::from_secs(1))
            },
        }
    }
}

fn validator(schema: &Value) -> Option<jsonschema::Validator> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .ok()
}

/// Why `text` is not an acceptable answer, if it is not.
fn judge(validator: &jsonschema::Validator, text: &[u8]) -> Option<String> {
    let value: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => return Some(format!("not JSON ({e})")),
    };
    validator
        .iter_errors(&value)
        .next()
        .map(|e| format!("at '{}': {e}", e.instance_path()))
}

impl Target for SchemaTarget {
    fn name(&self) -> &'static str {
        "schema"
    }

    fn run(&mut self, input: &[u8]) -> Outcome {
        let Ok(schema) = serde_json::from_slice::<Value>(input) else {
            return Ok(signature("not json"));
        };
        let grammar = match self.factory.compile_json_schema(&schema, &self.options) {
            Ok(g) => g,
            Err(err) => {
                let kind = format!("{err:?}");
                let kind = kind
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                return Ok(signature(("refused", kind)));
            }
        };
        // The validator may refuse a schema the compiler accepted (it is
        // stricter about some keyword shapes); the service then refuses it.
        let Some(validator) = validator(&schema) else {
            return Ok(signature("validator refused"));
        };
        let mut matcher = self.factory.matcher(&grammar);
        let shortest = matcher.shortest_completion_bytes(PLAN_BYTES);
        if let Some(answer) = &shortest
            && let Some(why) = judge(&validator, answer)
        {
            return Err(format!(
                "invalid shortest answer {:?}: {why}",
                String::from_utf8_lossy(answer)
            ));
        }
        let mut rng = StdRng::seed_from_u64(signature(input));
        let mut mask = TokenMask::new(self.factory.vocab().len());
        let mut matcher = self.factory.matcher(&grammar);
        let mut out = Vec::new();
        let mut ended = false;
        for _ in 0..WALK_TOKENS {
            matcher.compute_mask_into(&mut mask);
            let allowed: Vec<u32> = mask.iter().collect();
            if allowed.is_empty() {
                return Err(format!(
                    "stuck: empty mask after {:?}",
                    String::from_utf8_lossy(&out)
                ));
            }
            let t = allowed[rng.random_range(0..allowed.len())];
            if let Err(err) = matcher.commit_token(t) {
                return Err(format!("a masked token did not commit: {err}"));
            }
            if self.factory.vocab().is_eos(t) {
                ended = true;
                break;
            }
            out.extend_from_slice(self.factory.vocab().token_bytes(t));
        }
        if ended && let Some(why) = judge(&validator, &out) {
            return Err(format!(
                "invalid walked answer {:?}: {why}",
                String::from_utf8_lossy(&out)
            ));
        }
        Ok(signature((
            "compiled",
            shortest.as_ref().map(|s| bucket(s.len())),
            ended,
            bucket(out.len()),
        )))
    }

    fn generate(&self, entropy: &[u8]) -> Vec<u8> {
        schema_from_entropy(entropy).to_string().into_bytes()
    }

    fn dictionary(&self) -> &[&[u8]] {
        &[
            b"\"type\":",
            b"\"string\"",
            b"\"object\"",
            b"\"array\"",
            b"\"integer\"",
            b"\"properties\":{",
            b"\"required\":[",
            b"\"enum\":[",
            b"\"const\":",
            b"\"pattern\":",
            b"\"format\":",
            b"\"anyOf\":[",
            b"\"oneOf\":[",
            b"\"allOf\":[",
            b"\"not\":",
            b"\"$ref\":\"#\"",
            b"\"$defs\":{",
            b"\"items\":",
            b"\"minItems\":",
            b"\"maxLength\":",
            b"\"minimum\":",
            b"\"multipleOf\":",
            b"\"additionalProperties\":",
            b"\"uniqueItems\":true",
            b"\"minProperties\":",
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b"true",
            b"false",
            b"null",
            b"1e308",
            b"\\u0000",
            b"\\ud800",
        ]
    }
}
