//! Where `$ref`s point: the `$id`s and anchors of a schema document.

use serde_json::Value;

use super::parse::{Draft, ptr_push};
use crate::error::CompileError;
use crate::hash::FastMap;

/// How a keyword holds subschemas.
enum SchemaSlot {
    One,
    Map,
    List,
    /// `items`: one schema, or one per position before draft 2020-12.
    OneOrList,
}

impl SchemaSlot {
    fn of(keyword: &str) -> Option<SchemaSlot> {
        Some(match keyword {
            "additionalProperties"
            | "additionalItems"
            | "contains"
            | "propertyNames"
            | "not"
            | "if"
            | "then"
            | "else"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "contentSchema" => SchemaSlot::One,
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas"
            | "dependencies" => SchemaSlot::Map,
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => SchemaSlot::List,
            "items" => SchemaSlot::OneOrList,
            _ => return None,
        })
    }
}

fn strip_fragment(uri: &str) -> &str {
    uri.split('#').next().unwrap_or("")
}

/// `$id` URIs and anchors of one document, indexed where a schema is
/// expected.
pub(crate) struct RefIndex {
    /// `$id` URIs (without fragment) → JSON Pointer of the schema with that id.
    ids: FastMap<String, String>,
    root_id: Option<String>,
    draft: Draft,
    id_key: &'static str,
}

impl RefIndex {
    pub fn new(root: &Value, draft: Draft) -> RefIndex {
        let id_key = if draft == Draft::D4 { "id" } else { "$id" };
        let mut refs = RefIndex {
            ids: FastMap::default(),
            draft,
            id_key,
            root_id: root
                .get(id_key)
                .and_then(Value::as_str)
                .map(|s| strip_fragment(s).to_string()),
        };
        refs.index(root, "#", 0);
        refs
    }

    fn index(&mut self, v: &Value, ptr: &str, depth: usize) {
        if depth > 64 {
            return;
        }
        match v {
            // Up to draft 7 a `$ref` makes its siblings (an `$id`
            // included) ignored, so they identify nothing.
            Value::Object(m) if self.draft <= Draft::D7 && m.contains_key("$ref") => {}
            Value::Object(m) => {
                if let Some(id) = m.get(self.id_key).and_then(Value::as_str) {
                    let base = strip_fragment(id);
                    if !base.is_empty() {
                        self.ids
                            .entry(base.to_string())
                            .or_insert_with(|| ptr.to_string());
                        // Also index the last path segment, for relative ids.
                        if let Some(last) = base.rsplit('/').next() {
                            self.ids
                                .entry(last.to_string())
                                .or_insert_with(|| ptr.to_string());
                        }
                    }
                    if let Some(anchor) = id.strip_prefix('#') {
                        self.ids
                            .entry(format!("#{anchor}"))
                            .or_insert_with(|| ptr.to_string());
                    }
                }
                if let Some(a) = m.get("$anchor").and_then(Value::as_str) {
                    self.ids
                        .entry(format!("#{a}"))
                        .or_insert_with(|| ptr.to_string());
                }
                // Only where a schema is expected: an `$id` inside an
                // unknown keyword or a `const` is data, not an identifier.
                for (k, x) in m {
                    let at = ptr_push(ptr, k);
                    match (SchemaSlot::of(k), x) {
                        (Some(SchemaSlot::One), _) => self.index(x, &at, depth + 1),
                        (Some(SchemaSlot::Map), Value::Object(xs)) => {
                            for (name, x) in xs {
                                self.index(x, &ptr_push(&at, name), depth + 1);
                            }
                        }
                        (Some(SchemaSlot::List | SchemaSlot::OneOrList), Value::Array(xs)) => {
                            for (i, x) in xs.iter().enumerate() {
                                self.index(x, &ptr_push(&at, &i.to_string()), depth + 1);
                            }
                        }
                        (Some(SchemaSlot::OneOrList), _) => self.index(x, &at, depth + 1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// The `#/…` pointer a `$ref` found at `at` points to.
    pub fn pointer_of(&self, r: &str, at: &str) -> Result<String, CompileError> {
        let (base, frag) = r.split_once('#').unwrap_or((r, ""));
        let remote = || CompileError::RemoteRef {
            reference: r.to_string(),
            pointer: crate::error::plain_pointer(at),
        };
        if base.is_empty() || Some(base) == self.root_id.as_deref() {
            if frag.is_empty() || frag.starts_with('/') {
                return Ok(format!("#{frag}"));
            }
            return self
                .ids
                .get(&format!("#{frag}"))
                .cloned()
                .ok_or_else(remote);
        }
        let p = self.ids.get(base).ok_or_else(remote)?;
        Ok(format!("{p}{frag}"))
    }
}

/// Decodes `%XX` escapes of a URI fragment.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_count_only_where_a_schema_is_expected() {
        let id = "https://example.com/x.json";
        let root = json!({
            "$defs": {
                "unknown": {"not": {"array_of_schemas": [{"$id": id, "type": "null"}]}},
                "data": {"const": {"$id": id}},
                "real": {"$id": id, "type": "string"},
            }
        });
        let refs = RefIndex::new(&root, Draft::D2020);
        assert_eq!(refs.pointer_of(id, "").unwrap(), "#/$defs/real");
    }

    #[test]
    fn a_ref_hides_its_siblings_up_to_draft_7() {
        let root = json!({
            "definitions": {
                "a": {"$ref": "#/definitions/b", "$id": "https://example.com/a.json"},
                "b": {"type": "integer"},
            }
        });
        let old = RefIndex::new(&root, Draft::D7);
        assert!(old.pointer_of("https://example.com/a.json", "").is_err());
        let new = RefIndex::new(&root, Draft::D2019);
        assert_eq!(
            new.pointer_of("https://example.com/a.json", "").unwrap(),
            "#/definitions/a"
        );
    }
}
