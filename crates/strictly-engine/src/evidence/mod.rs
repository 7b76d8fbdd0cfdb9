//! Where in the document each value of an answer comes from.
//!
//! Every scalar leaf of the answer (array items included), keyed by its
//! JSON Pointer, is looked up in the document as sent. Offsets count
//! Unicode scalar values (what Python's `str` indexes), `[start, end)`. A
//! leaf is
//! - `exact`: the value's text occurs as it is;
//! - `normalized`: it occurs after normalisation (case, runs of
//!   whitespace; numbers with thousands separators or a decimal comma;
//!   ISO dates written as `15/01/2019`, `15.01.2019`, `January 15, 2019`, …);
//! - `fuzzy`: a passage is similar (`similarity` is one minus the edit
//!   distance over the value's length, at least [`FUZZY_MIN`]);
//! - `not_found`: nothing close enough.
//!
//! Booleans and `null` are not text of the document and carry no evidence.
//! When a value occurs several times, the first occurrence is given.

mod dates;
mod fuzzy;
mod text;

use serde::Serialize;
use serde_json::Value;

pub use text::Normalized;

/// Least similarity of a `fuzzy` match.
pub const FUZZY_MIN: f64 = 0.75;

/// How a value was found in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Exact,
    Normalized,
    Fuzzy,
    NotFound,
}

impl Status {
    /// The name used in responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Normalized => "normalized",
            Self::Fuzzy => "fuzzy",
            Self::NotFound => "not_found",
        }
    }
}

/// The evidence of one leaf.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub status: Status,
    /// First character of the passage (Unicode scalar values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<usize>,
    /// One past its last character.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<usize>,
    /// The passage as the document has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// For `fuzzy` matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
}

impl Evidence {
    fn not_found() -> Self {
        Self {
            status: Status::NotFound,
            start: None,
            end: None,
            text: None,
            similarity: None,
        }
    }

    fn found(doc: &Document, status: Status, span: (usize, usize)) -> Self {
        Self {
            status,
            start: Some(span.0),
            end: Some(span.1),
            text: Some(doc.slice(span)),
            similarity: None,
        }
    }
}

/// A document prepared for lookups: its characters and their normalised form.
pub struct Document {
    chars: Vec<char>,
    text: String,
    norm: Normalized,
}

impl Document {
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let norm = Normalized::of(&chars);
        Self {
            text: text.to_owned(),
            chars,
            norm,
        }
    }

    fn slice(&self, (start, end): (usize, usize)) -> String {
        self.chars[start..end].iter().collect()
    }

    /// Character offset of the first exact occurrence of `needle`.
    fn find_exact(&self, needle: &str) -> Option<(usize, usize)> {
        if needle.is_empty() {
            return None;
        }
        let byte = self.text.find(needle)?;
        let start = self.text[..byte].chars().count();
        Some((start, start + needle.chars().count()))
    }

    /// Evidence for one value.
    pub fn locate(&self, value: &Value) -> Option<Evidence> {
        match value {
            Value::String(s) => Some(self.locate_str(s)),
            Value::Number(n) => Some(self.locate_number(n)),
            _ => None,
        }
    }

    fn locate_str(&self, s: &str) -> Evidence {
        if s.trim().is_empty() {
            return Evidence::not_found();
        }
        if let Some(span) = self.find_exact(s) {
            return Evidence::found(self, Status::Exact, span);
        }
        if let Some(span) = self.norm.find(&Normalized::of_str(s)) {
            return Evidence::found(self, Status::Normalized, span);
        }
        if let Some(span) = dates::find(self, s) {
            return Evidence::found(self, Status::Normalized, span);
        }
        if let Some(span) = text::find_number(self, s) {
            return Evidence::found(self, Status::Normalized, span);
        }
        match fuzzy::best(&self.norm, &Normalized::of_str(s)) {
            Some((span, similarity)) if similarity >= FUZZY_MIN => Evidence {
                similarity: Some((similarity * 1000.0).round() / 1000.0),
                ..Evidence::found(self, Status::Fuzzy, span)
            },
            _ => Evidence::not_found(),
        }
    }

    fn locate_number(&self, n: &serde_json::Number) -> Evidence {
        let written = n.to_string();
        if let Some(span) = text::find_number_exact(self, &written) {
            return Evidence::found(self, Status::Exact, span);
        }
        match text::find_number(self, &written) {
            Some(span) => Evidence::found(self, Status::Normalized, span),
            None => Evidence::not_found(),
        }
    }
}

/// What a user needs to trust one value: where it is in the document, how
/// sure the model was ([`crate::confidence`]) and what that means once
/// calibrated ([`crate::calibration`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    #[serde(flatten)]
    pub evidence: Evidence,
    /// The model's own probability of the value.
    pub probability: f64,
    /// The calibrated confidence: about this share of development values
    /// like it were right.
    pub confidence: f64,
}

/// Evidence and confidence of every string and number of a finished JSON
/// answer to `document`, by JSON Pointer.
pub fn fields(document: &str, done: &crate::Completion) -> Vec<(String, Field)> {
    let Some(data) = &done.json else {
        return Vec::new();
    };
    let probability: std::collections::HashMap<String, f32> =
        crate::confidence::per_leaf(&done.text, &done.tokens)
            .into_iter()
            .collect();
    let calibration = crate::calibration::Calibration::shipped();
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    locate_all(document, data)
        .into_iter()
        .map(|(pointer, evidence)| {
            let p = f64::from(probability.get(&pointer).copied().unwrap_or(1.0));
            let confidence = calibration.confidence(p, evidence.status);
            let field = Field {
                evidence,
                probability: round(p),
                confidence: round(confidence),
            };
            (pointer, field)
        })
        .collect()
}

/// Evidence for every string and number leaf of `data`, by JSON Pointer,
/// in document order of the answer.
pub fn locate_all(document: &str, data: &Value) -> Vec<(String, Evidence)> {
    let doc = Document::new(document);
    let mut out = Vec::new();
    walk(&doc, data, &mut String::new(), &mut out);
    out
}

fn walk(doc: &Document, v: &Value, pointer: &mut String, out: &mut Vec<(String, Evidence)>) {
    let len = pointer.len();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                walk(doc, x, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointer.push('/');
                pointer.push_str(&i.to_string());
                walk(doc, x, pointer, out);
                pointer.truncate(len);
            }
        }
        leaf => {
            if let Some(e) = doc.locate(leaf) {
                out.push((pointer.clone(), e));
            }
        }
    }
}

#[cfg(test)]
mod tests;
