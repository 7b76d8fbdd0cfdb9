//! `strictly lint`: every problem of a schema, not only the first.
//!
//! Two sources are combined:
//! - the grammar compiler, the authority on what generation accepts. It
//!   stops at its first error, so lint runs it repeatedly: after each
//!   error the offending keyword is removed from a working copy (or the
//!   offending subschema replaced by `true`) and the schema is compiled
//!   again, until it compiles or nothing more can be removed;
//! - a walk over every subschema (see [`walk`]) for what the compiler
//!   never reports: ignored non-standard keywords (warnings, with a
//!   suggestion for likely typos), and problems inside definitions that
//!   nothing references.
//!
//! Findings of both that concern the same keyword family of the same
//! schema object are reported once, the compiler's wording first.

mod keywords;
mod walk;

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use strictly_grammar::{CompileError, Factory, JsonOptions, Vocabulary};

/// How bad a finding is: errors make generation refuse the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of finding; stable names for `--json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A standard keyword (or value) the engine does not implement.
    Unsupported,
    /// Constraints no value can meet.
    Unsatisfiable,
    /// A `$ref` to another document; never fetched.
    RemoteRef,
    /// A keyword with a value of the wrong shape, or a `$ref` to nowhere.
    Invalid,
    /// Beyond an engine limit.
    TooComplex,
    /// The file is not JSON.
    Json,
    /// Not a JSON Schema keyword; the compiler ignores it.
    IgnoredKeyword,
    /// A GBNF grammar that does not parse or derives nothing.
    Grammar,
}

/// One finding, located by a JSON Pointer into the schema document (to the
/// keyword itself where there is one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub pointer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    pub message: String,
    /// Line and column (1-based) in the file, for findings in grammars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A place in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Diagnostic {
    fn error(code: Code, pointer: &str, keyword: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            pointer: pointer.to_owned(),
            keyword: keyword.map(str::to_owned),
            message: message.into(),
            location: None,
        }
    }

    /// The compiler's error as a finding; the pointer loses the compiler's
    /// leading `#` and gains the keyword when it names only the schema.
    pub fn from_compile_error(err: &CompileError) -> Self {
        let code = match err {
            CompileError::Unsupported { .. } => Code::Unsupported,
            CompileError::Gbnf { .. } => Code::Grammar,
            CompileError::Unsatisfiable { .. } => Code::Unsatisfiable,
            CompileError::RemoteRef { .. } => Code::RemoteRef,
            CompileError::Invalid { .. } => Code::Invalid,
            CompileError::TooComplex { .. } => Code::TooComplex,
            CompileError::Regex { .. } => Code::Unsupported,
            CompileError::Json(_) => Code::Json,
        };
        let keyword = err.keyword().filter(|k| !k.is_empty()).map(str::to_owned);
        let pointer = err.keyword_pointer().unwrap_or_default();
        let (location, message) = match err {
            CompileError::Gbnf {
                line,
                column,
                reason,
            } => (
                Some(Location {
                    line: *line,
                    column: *column,
                }),
                reason.clone(),
            ),
            other => (None, reason(other)),
        };
        Self {
            severity: Severity::Error,
            code,
            pointer,
            keyword,
            message,
            location,
        }
    }

    /// `POINTER: severity[code]: message`, the text output's line.
    pub fn line(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let pointer = match self.location {
            Some(l) => format!("{}:{}", l.line, l.column),
            None if self.pointer.is_empty() => "(root)".to_owned(),
            None => self.pointer.clone(),
        };
        let code = serde_json::to_value(self.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{pointer}: {severity}[{code}]: {}", self.message)
    }

    /// The schema object the finding is about and the keyword family, for
    /// merging the compiler's findings with the walker's.
    fn dedup_key(&self) -> (String, Code, String) {
        let (object, last) = match self.pointer.rsplit_once('/') {
            Some((parent, last))
                if self.keyword.as_deref().map(escape).as_deref() == Some(last) =>
            {
                (parent, self.keyword.as_deref().unwrap_or(""))
            }
            _ => (self.pointer.as_str(), self.keyword.as_deref().unwrap_or("")),
        };
        let family = match last {
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => "range",
            "minLength" | "maxLength" => "length",
            "minItems" | "maxItems" => "items",
            "minProperties" | "maxProperties" | "required" => "properties",
            "minContains" | "maxContains" => "contains",
            other => other,
        };
        (object.to_owned(), self.code, family.to_owned())
    }
}

/// The compiler's message without the keyword and pointer it already shows
/// in structured fields.
fn reason(err: &CompileError) -> String {
    match err {
        CompileError::Unsupported {
            keyword, reason, ..
        } => format!("`{keyword}` is not supported: {reason}"),
        CompileError::Unsatisfiable {
            keyword, reason, ..
        } if keyword.is_empty() => reason.clone(),
        CompileError::Unsatisfiable {
            keyword, reason, ..
        } => format!("`{keyword}` cannot be satisfied: {reason}"),
        CompileError::Invalid {
            keyword, reason, ..
        } if keyword.is_empty() => reason.clone(),
        CompileError::Invalid {
            keyword, reason, ..
        } => format!("invalid `{keyword}`: {reason}"),
        CompileError::TooComplex {
            keyword, reason, ..
        } => format!("`{keyword}` is too complex: {reason}"),
        CompileError::RemoteRef { reference, .. } => {
            format!(
                "remote reference \"{reference}\" is never fetched; copy the schema into `$defs`"
            )
        }
        other => other.to_string(),
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Compiles a schema the way generation would.
pub trait SchemaCompiler {
    fn compile(&self, schema: &Value) -> Result<(), CompileError>;
}

/// The grammar engine's JSON Schema compiler over a byte-level vocabulary:
/// compilation does not depend on the model's tokens, so no model is
/// loaded.
#[derive(Debug, Clone)]
pub struct GrammarCompiler {
    factory: Arc<Factory>,
    options: JsonOptions,
}

impl Default for GrammarCompiler {
    fn default() -> Self {
        Self {
            factory: Factory::new(Vocabulary::byte_level(&[])),
            options: JsonOptions::compact(),
        }
    }
}

impl GrammarCompiler {
    /// The same compiler with another compile time budget.
    pub fn with_time_budget(self, budget: std::time::Duration) -> Self {
        Self {
            options: self.options.with_time_budget(budget),
            ..self
        }
    }
}

/// Bytes the pre-flight may plan: far more than any answer that fits in
/// the service's token budget.
const PLAN_BYTES: usize = 1 << 20;

impl GrammarCompiler {
    /// Every finding for a GBNF grammar (or `@name` of a shipped one): the
    /// parser's error with its line and column, or the pre-flight's when no
    /// text derives from `root` within the service's budget.
    pub fn lint_gbnf(&self, text: &str) -> Vec<Diagnostic> {
        let text = match strictly_grammar::library::resolve(text) {
            Ok(t) => t,
            Err(e) => return vec![Diagnostic::error(Code::Grammar, "", None, e.to_string())],
        };
        let grammar = match self.factory.compile_gbnf(text) {
            Ok(g) => g,
            Err(e) => return vec![Diagnostic::from_compile_error(&e)],
        };
        match self
            .factory
            .matcher(&grammar)
            .shortest_completion_bytes(PLAN_BYTES)
        {
            Some(_) => Vec::new(),
            None => vec![Diagnostic::error(
                Code::Grammar,
                "",
                None,
                format!("no text of at most {PLAN_BYTES} bytes derives from `root`"),
            )],
        }
    }
}

impl SchemaCompiler for GrammarCompiler {
    /// Compiles, then runs the service's pre-flight: the shortest valid
    /// answer must exist, or the service would refuse every request.
    fn compile(&self, schema: &Value) -> Result<(), CompileError> {
        let grammar = self.factory.compile_json_schema(schema, &self.options)?;
        let mut matcher = self.factory.matcher(&grammar);
        match matcher.shortest_completion_bytes(PLAN_BYTES) {
            Some(_) => Ok(()),
            None => Err(CompileError::Unsatisfiable {
                keyword: String::new(),
                pointer: String::new(),
                reason: format!(
                    "no valid answer of at most {PLAN_BYTES} bytes was found; the service refuses such a schema"
                ),
            }),
        }
    }
}

/// Compile attempts per schema; each removes one problem.
const MAX_ROUNDS: usize = 64;

/// Every finding for `schema`: errors first, then warnings, each in
/// document order of their pointers.
pub fn lint(schema: &Value, compiler: &dyn SchemaCompiler) -> Vec<Diagnostic> {
    let mut found: Vec<Diagnostic> = Vec::new();
    let mut work = schema.clone();
    for _ in 0..MAX_ROUNDS {
        let Err(err) = compiler.compile(&work) else {
            break;
        };
        let diagnostic = Diagnostic::from_compile_error(&err);
        let removed = neutralize(&mut work, &err);
        if !found.contains(&diagnostic) {
            found.push(diagnostic);
        }
        if !removed {
            break;
        }
    }
    let compiler_keys: Vec<_> = found.iter().map(Diagnostic::dedup_key).collect();
    for d in walk::check(schema) {
        if !compiler_keys.contains(&d.dedup_key()) && !found.contains(&d) {
            found.push(d);
        }
    }
    found.sort_by(|a, b| (a.severity, &a.pointer).cmp(&(b.severity, &b.pointer)));
    found
}

/// Findings for a schema file's text: a JSON syntax error is the only
/// finding when the text does not parse.
pub fn lint_text(text: &str, compiler: &dyn SchemaCompiler) -> Vec<Diagnostic> {
    match serde_json::from_str::<Value>(text) {
        Ok(schema) => lint(&schema, compiler),
        Err(err) => vec![Diagnostic::error(
            Code::Json,
            "",
            None,
            format!("not valid JSON: {err}"),
        )],
    }
}

/// Removes what `err` complains about from `schema`; false when nothing
/// could be removed (so the loop stops).
fn neutralize(schema: &mut Value, err: &CompileError) -> bool {
    let Some(pointer) = err.pointer() else {
        return false;
    };
    let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
    let keyword = err.keyword().unwrap_or("");
    // The pointer names the keyword itself: remove it from its object.
    if let Some((parent, last)) = pointer.rsplit_once('/')
        && !keyword.is_empty()
        && last == escape(keyword)
        && let Some(Value::Object(m)) = schema.pointer_mut(parent)
        && m.remove(keyword).is_some()
    {
        return true;
    }
    match schema.pointer_mut(pointer) {
        // The pointer names the schema holding the keyword.
        Some(Value::Object(m)) if !keyword.is_empty() && m.contains_key(keyword) => {
            m.remove(keyword);
            true
        }
        // Whole subschema (e.g. `false`, or no keyword named): admit anything.
        Some(target) if *target != Value::Bool(true) => {
            *target = Value::Bool(true);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
