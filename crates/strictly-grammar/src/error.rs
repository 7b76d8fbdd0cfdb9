//! Typed errors of the grammar engine.
//!
//! Schema errors name the keyword and its JSON Pointer so that a refusal is
//! actionable: the user sees exactly which part of the schema is not
//! supported, cannot be satisfied, or is malformed.

use thiserror::Error;

/// A vocabulary that cannot back a matcher.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VocabError {
    #[error("the vocabulary is empty")]
    Empty,
    #[error("the vocabulary is too large ({0})")]
    TooLarge(usize),
    #[error("end-of-sequence id {id} is outside the vocabulary of {len} ids")]
    EosOutOfRange { id: u32, len: usize },
}

/// Failure to build a lexeme automaton.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DfaError {
    #[error("automaton exceeds {0} states")]
    TooManyStates(usize),
    #[error("regex compilation failed: {0}")]
    Nfa(String),
    #[error("anchors and look-around assertions are only supported at the edges of a pattern")]
    Assertion,
}

/// Why a schema, regex or grammar was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// A standard keyword (or keyword value) the engine does not implement.
    #[error("unsupported `{keyword}` at {}: {reason}", show(pointer))]
    Unsupported {
        keyword: String,
        pointer: String,
        reason: String,
    },
    /// The schema admits no instance.
    #[error("unsatisfiable `{keyword}` at {}: {reason}", show(pointer))]
    Unsatisfiable {
        keyword: String,
        pointer: String,
        reason: String,
    },
    /// A `$ref` outside the document; remote references are never fetched.
    #[error("remote `$ref` \"{reference}\" at {} is not fetched", show(pointer))]
    RemoteRef { reference: String, pointer: String },
    /// A keyword with a value of the wrong shape.
    #[error("invalid `{keyword}` at {}: {reason}", show(pointer))]
    Invalid {
        keyword: String,
        pointer: String,
        reason: String,
    },
    /// A construction exceeded an engine limit.
    #[error("too complex `{keyword}` at {}: {reason}", show(pointer))]
    TooComplex {
        keyword: String,
        pointer: String,
        reason: String,
    },
    /// A regular expression that cannot be translated.
    #[error("regex error at offset {offset} in {pattern:?}: {reason}")]
    Regex {
        pattern: String,
        offset: usize,
        reason: String,
    },
    /// A GBNF grammar that cannot be parsed or used.
    #[error("GBNF error at line {line}, column {column}: {reason}")]
    Gbnf {
        line: usize,
        column: usize,
        reason: String,
    },
    /// A JSON document that could not be parsed as a schema.
    #[error("the schema is not valid JSON: {0}")]
    Json(String),
}

/// A schema location as a plain JSON Pointer: the compiler tracks
/// locations as URI fragments (`#/properties/a`), users get `/properties/a`.
pub(crate) fn plain_pointer(p: &str) -> String {
    p.strip_prefix('#').unwrap_or(p).to_string()
}

/// The root's pointer is empty; messages say so in words.
fn show(p: &str) -> &str {
    if p.is_empty() { "the root" } else { p }
}

impl CompileError {
    pub(crate) fn unsupported(keyword: &str, pointer: &str, reason: impl Into<String>) -> Self {
        CompileError::Unsupported {
            keyword: keyword.to_string(),
            pointer: plain_pointer(pointer),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsatisfiable(keyword: &str, pointer: &str, reason: impl Into<String>) -> Self {
        CompileError::Unsatisfiable {
            keyword: keyword.to_string(),
            pointer: plain_pointer(pointer),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(keyword: &str, pointer: &str, reason: impl Into<String>) -> Self {
        CompileError::Invalid {
            keyword: keyword.to_string(),
            pointer: plain_pointer(pointer),
            reason: reason.into(),
        }
    }

    pub(crate) fn too_complex(keyword: &str, pointer: &str, reason: impl Into<String>) -> Self {
        CompileError::TooComplex {
            keyword: keyword.to_string(),
            pointer: plain_pointer(pointer),
            reason: reason.into(),
        }
    }

    /// The keyword the error is about, when it concerns one.
    pub fn keyword(&self) -> Option<&str> {
        match self {
            CompileError::Unsupported { keyword, .. }
            | CompileError::Unsatisfiable { keyword, .. }
            | CompileError::Invalid { keyword, .. }
            | CompileError::TooComplex { keyword, .. } => Some(keyword),
            CompileError::RemoteRef { .. } => Some("$ref"),
            _ => None,
        }
    }

    /// The JSON Pointer of the offending keyword itself (`/properties/a/type`
    /// rather than the schema `/properties/a`), when a location is known:
    /// what users are shown.
    pub fn keyword_pointer(&self) -> Option<String> {
        let pointer = self.pointer()?;
        let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
        Some(match self.keyword().filter(|k| !k.is_empty()) {
            Some(k) => {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                if pointer.rsplit('/').next() == Some(escaped.as_str()) {
                    pointer.to_owned()
                } else {
                    format!("{pointer}/{escaped}")
                }
            }
            None => pointer.to_owned(),
        })
    }

    /// The JSON Pointer of the offending schema location, when known.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            CompileError::Unsupported { pointer, .. }
            | CompileError::Unsatisfiable { pointer, .. }
            | CompileError::Invalid { pointer, .. }
            | CompileError::TooComplex { pointer, .. }
            | CompileError::RemoteRef { pointer, .. } => Some(pointer),
            _ => None,
        }
    }
}

/// A token the matcher cannot accept in its current state.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MatchError {
    #[error("token {0} is not allowed here")]
    TokenRejected(u32),
    #[error("byte {byte:#04x} at offset {offset} is not allowed here")]
    ByteRejected { byte: u8, offset: usize },
    #[error("cannot roll back {requested} tokens, only {available} were committed")]
    RollbackTooFar { requested: usize, available: usize },
    #[error("the sequence already ended")]
    Finished,
    #[error("the bytes repeat a key already in its object")]
    DuplicateKey,
}
