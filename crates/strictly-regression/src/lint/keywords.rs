//! Keyword tables for the schema walker: which keywords exist in any JSON
//! Schema draft, and which of them hold subschemas (so the walker knows
//! where keywords can appear and where values are just data, as in `enum`
//! or `default`).

/// Every keyword of drafts 4 to 2020-12 (and the draft 3 leftovers that
/// the compiler refuses by name). Anything else is non-standard and is
/// ignored by the compiler, which lint reports as a warning.
#[rustfmt::skip]
pub const STANDARD: &[&str] = &[
    // core
    "$schema", "$id", "id", "$ref", "$defs", "definitions", "$anchor", "$dynamicRef",
    "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "$vocabulary", "$comment",
    // applicators
    "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas",
    "dependencies", "prefixItems", "items", "additionalItems", "contains", "properties",
    "patternProperties", "additionalProperties", "propertyNames", "unevaluatedItems",
    "unevaluatedProperties",
    // validation
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties",
    "required", "dependentRequired",
    // format, content, annotations
    "format", "contentEncoding", "contentMediaType", "contentSchema", "title",
    "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    // draft 3
    "extends", "disallow", "divisibleBy",
];

/// Keywords whose value is one subschema.
#[rustfmt::skip]
pub const SCHEMA: &[&str] = &[
    "additionalProperties", "propertyNames", "additionalItems", "contains", "not", "if",
    "then", "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
];

/// Keywords whose value is an array of subschemas.
pub const SCHEMA_ARRAY: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// Keywords whose value maps names to subschemas.
#[rustfmt::skip]
pub const SCHEMA_MAP: &[&str] = &[
    "properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
];

/// The standard keyword closest to `word`, when it is close enough to be a
/// likely typo (`maxLenght` → `maxLength`).
pub fn suggestion(word: &str) -> Option<&'static str> {
    if word.starts_with("x-") || word.len() < 4 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    STANDARD
        .iter()
        .map(|k| (distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2 && *d < k.len() / 3 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, with adjacent swaps counting once.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion_and_extensions_do_not() {
        assert_eq!(suggestion("maxLenght"), Some("maxLength"));
        assert_eq!(suggestion("requried"), Some("required"));
        assert_eq!(
            suggestion("additionalproperties"),
            Some("additionalProperties")
        );
        assert_eq!(suggestion("x-order"), None);
        assert_eq!(suggestion("nullable"), None);
        assert_eq!(suggestion("foo"), None);
    }
}
