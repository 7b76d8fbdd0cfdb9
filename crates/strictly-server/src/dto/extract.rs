use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /v1/extract`: turn a document into an instance of a JSON Schema.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    /// The document, as plain text.
    pub document: String,
    /// The JSON Schema the answer must match.
    #[schema(value_type = Object)]
    pub schema: Value,
    /// Replaces the default extraction instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub options: ExtractOptions,
}

/// Generation options of an extraction.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractOptions {
    /// Answer tokens allowed; an answer that cannot fit is a 422.
    pub max_tokens: Option<u32>,
    /// 0 (the default) is greedy decoding.
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    /// Makes sampling reproducible.
    pub seed: Option<u64>,
}

/// The extracted data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExtractResponse {
    /// The typed JSON, valid against the request's schema.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Where each string and number of `data` comes from in the document,
    /// by the JSON Pointer of the value (`/items/0/name`).
    pub fields: BTreeMap<String, FieldEvidence>,
    /// `stop`, or `length` when `max_tokens` cut the answer short (it was
    /// then completed with the shortest valid ending).
    pub finish_reason: String,
    pub usage: ExtractUsage,
    pub timings_ms: TimingsMs,
    pub model: String,
}

/// Where a value of the answer is in the document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FieldEvidence {
    /// `exact` (the value's text occurs as it is), `normalized` (after case,
    /// whitespace, number separators or date format), `fuzzy` (a similar
    /// passage) or `not_found`.
    pub status: String,
    /// The passage's first character, counted in Unicode scalar values
    /// (what Python's `str` indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<usize>,
    /// One past the passage's last character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<usize>,
    /// The passage as the document has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// For `fuzzy`: one minus the edit distance over the value's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// The model's own probability of the value, 0 to 1: the smallest
    /// probability among the tokens it chose freely to write it (under the
    /// grammar's mask; forced tokens left out).
    pub probability: f64,
    /// Calibrated confidence, 0 to 1: of the development values with this
    /// confidence, about this share were right. Derived from `probability`
    /// and `status` (a `not_found` value gets the share of such values that
    /// were right, which is low).
    pub confidence: f64,
}

impl From<strictly_engine::evidence::Field> for FieldEvidence {
    fn from(f: strictly_engine::evidence::Field) -> Self {
        let e = f.evidence;
        Self {
            status: e.status.as_str().into(),
            start: e.start,
            end: e.end,
            text: e.text,
            similarity: e.similarity,
            probability: f.probability,
            confidence: f.confidence,
        }
    }
}

/// Token counts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct ExtractUsage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    /// Answer tokens fixed by the schema, appended without sampling.
    pub forced_tokens: usize,
    /// Prompt tokens reused from an earlier request with the same schema.
    pub cached_prompt_tokens: usize,
    /// Tokens guessed from the document and checked by the model in the
    /// same forward pass as the token before them.
    pub draft_tokens: usize,
    /// Guessed tokens the model confirmed; each saved a forward pass.
    pub accepted_draft_tokens: usize,
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct TimingsMs {
    pub queue: f64,
    pub prefill: f64,
    pub decode: f64,
    /// Grammar work (masks, forced tokens), part of `decode`.
    pub mask: f64,
    pub total: f64,
}

impl From<strictly_engine::Usage> for ExtractUsage {
    fn from(u: strictly_engine::Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            forced_tokens: u.forced_tokens,
            cached_prompt_tokens: u.cached_prompt_tokens,
            draft_tokens: u.draft_tokens,
            accepted_draft_tokens: u.accepted_draft_tokens,
        }
    }
}

impl From<strictly_engine::Timings> for TimingsMs {
    fn from(t: strictly_engine::Timings) -> Self {
        let r = |x: f64| (x * 10.0).round() / 10.0;
        Self {
            queue: r(t.queue_ms),
            prefill: r(t.prefill_ms),
            decode: r(t.decode_ms),
            mask: r(t.mask_ms),
            total: r(t.total_ms),
        }
    }
}
