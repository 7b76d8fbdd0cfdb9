//! Regression cases on disk.
//!
//! ```text
//! tests/extraction/
//!   invoice-basic/
//!     document.txt       the document, as the model will see it
//!     schema.json        the JSON Schema, or instead:
//!     schema_ref         one line: a schema file under the schemas directory
//!                        (e.g. `invoice.json`), or a path relative to this
//!                        case when it starts with `./` or `../`
//!     expected.json      the expected extraction (`--update` writes it)
//!     tolerances.json    optional per-field tolerances (see `tolerance`)
//!     instructions.txt   optional instructions replacing the defaults
//! ```
//!
//! The schemas directory is `--schemas DIR`, else the nearest `schemas/`
//! found walking up from the cases directory, so cases can share the
//! project's ready schemas instead of copying them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::tolerance::{ToleranceError, Tolerances};

pub const DOCUMENT: &str = "document.txt";
pub const SCHEMA: &str = "schema.json";
pub const SCHEMA_REF: &str = "schema_ref";
pub const EXPECTED: &str = "expected.json";
pub const TOLERANCES: &str = "tolerances.json";
pub const INSTRUCTIONS: &str = "instructions.txt";

/// One loaded case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The directory name.
    pub name: String,
    pub dir: PathBuf,
    pub document: String,
    pub schema: Value,
    /// `None` until the first `--update`.
    pub expected: Option<Value>,
    pub tolerances: Tolerances,
    pub instructions: Option<String>,
}

/// Why a case cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("cannot read {path:?}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path:?} is not valid JSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error("the case has neither schema.json nor schema_ref")]
    NoSchema,
    #[error("the case has both schema.json and schema_ref; keep one")]
    BothSchemas,
    #[error("schema_ref {reference:?} names {path:?}, which does not exist")]
    SchemaRefMissing { reference: String, path: PathBuf },
    #[error("schema_ref {reference:?} needs a schemas directory: pass --schemas DIR")]
    NoSchemasDir { reference: String },
    #[error("{path:?}: {source}")]
    Tolerances {
        path: PathBuf,
        source: ToleranceError,
    },
}

impl CaseError {
    /// Stable category for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Json { .. } => "invalid_json",
            Self::NoSchema
            | Self::BothSchemas
            | Self::SchemaRefMissing { .. }
            | Self::NoSchemasDir { .. } => "schema_missing",
            Self::Tolerances { .. } => "invalid_tolerances",
        }
    }
}

fn read(path: &Path) -> Result<String, CaseError> {
    fs::read_to_string(path).map_err(|source| CaseError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Value, CaseError> {
    serde_json::from_str(&read(path)?).map_err(|e| CaseError::Json {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Case directories under `dir`, sorted by name: every subdirectory with a
/// `document.txt`, or `dir` itself when it is a case.
pub fn discover(dir: &Path) -> io::Result<Vec<PathBuf>> {
    if dir.join(DOCUMENT).is_file() {
        return Ok(vec![dir.to_owned()]);
    }
    let mut cases = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && path.join(DOCUMENT).is_file() {
            cases.push(path);
        }
    }
    cases.sort();
    Ok(cases)
}

/// The nearest `schemas/` directory at or above `start`.
pub fn find_schemas_dir(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    start
        .ancestors()
        .map(|a| a.join("schemas"))
        .find(|s| s.is_dir())
}

/// The name of a case: its directory's name.
pub fn case_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Loads the case in `dir`.
pub fn load(dir: &Path, schemas_dir: Option<&Path>) -> Result<Case, CaseError> {
    let document = read(&dir.join(DOCUMENT))?;
    let schema = load_schema(dir, schemas_dir)?;
    let expected_path = dir.join(EXPECTED);
    let expected = if expected_path.exists() {
        Some(read_json(&expected_path)?)
    } else {
        None
    };
    let tolerances_path = dir.join(TOLERANCES);
    let tolerances = if tolerances_path.exists() {
        Tolerances::from_json(&read_json(&tolerances_path)?).map_err(|source| {
            CaseError::Tolerances {
                path: tolerances_path,
                source,
            }
        })?
    } else {
        Tolerances::exact()
    };
    let instructions_path = dir.join(INSTRUCTIONS);
    let instructions = if instructions_path.exists() {
        Some(read(&instructions_path)?.trim().to_owned()).filter(|s| !s.is_empty())
    } else {
        None
    };
    Ok(Case {
        name: case_name(dir),
        dir: dir.to_owned(),
        document,
        schema,
        expected,
        tolerances,
        instructions,
    })
}

fn load_schema(dir: &Path, schemas_dir: Option<&Path>) -> Result<Value, CaseError> {
    let inline = dir.join(SCHEMA);
    let reference = dir.join(SCHEMA_REF);
    match (inline.exists(), reference.exists()) {
        (true, true) => Err(CaseError::BothSchemas),
        (false, false) => Err(CaseError::NoSchema),
        (true, false) => read_json(&inline),
        (false, true) => {
            let name = read(&reference)?.trim().to_owned();
            let path = if name.starts_with("./") || name.starts_with("../") {
                dir.join(&name)
            } else {
                match schemas_dir {
                    Some(root) => root.join(&name),
                    None => return Err(CaseError::NoSchemasDir { reference: name }),
                }
            };
            if !path.is_file() {
                return Err(CaseError::SchemaRefMissing {
                    reference: name,
                    path,
                });
            }
            read_json(&path)
        }
    }
}

/// Writes `value` as the case's expected output: pretty JSON with a final
/// newline, written to a temporary file and renamed so an interrupted
/// update never leaves half a file.
pub fn write_expected(dir: &Path, value: &Value) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    let tmp = dir.join(".expected.json.tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, dir.join(EXPECTED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn loads_inline_and_referenced_schemas() {
        let root = tempfile::tempdir().unwrap();
        let cases = root.path().join("tests/extraction");
        write(
            &root.path().join("schemas/invoice.json"),
            r#"{"type": "object"}"#,
        );
        write(&cases.join("a/document.txt"), "Invoice 7");
        write(&cases.join("a/schema_ref"), "invoice.json\n");
        write(&cases.join("a/expected.json"), r#"{"n": 7}"#);
        write(&cases.join("a/tolerances.json"), r#"{"/n": {"abs": 1}}"#);
        write(&cases.join("a/instructions.txt"), " Numbers only. \n");
        write(&cases.join("b/document.txt"), "x");
        write(&cases.join("b/schema.json"), r#"{"type": "string"}"#);
        write(&cases.join("not-a-case/readme.md"), "");

        let dirs = discover(&cases).unwrap();
        assert_eq!(
            dirs.iter().map(|d| case_name(d)).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let schemas = find_schemas_dir(&cases).unwrap();
        let a = load(&dirs[0], Some(&schemas)).unwrap();
        assert_eq!(a.schema, json!({"type": "object"}));
        assert_eq!(a.expected, Some(json!({"n": 7})));
        assert_eq!(a.instructions.as_deref(), Some("Numbers only."));
        assert_eq!(a.tolerances.rule_for("/n").abs, Some(1.0));
        let b = load(&dirs[1], None).unwrap();
        assert_eq!((b.document.as_str(), b.expected), ("x", None));
        assert_eq!(discover(&dirs[1]).unwrap(), [dirs[1].clone()]);
    }

    #[test]
    fn broken_cases_say_what_is_wrong() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("c");
        write(&dir.join("document.txt"), "x");
        assert!(matches!(load(&dir, None), Err(CaseError::NoSchema)));
        write(&dir.join("schema_ref"), "missing.json");
        assert!(matches!(
            load(&dir, None),
            Err(CaseError::NoSchemasDir { .. })
        ));
        assert!(matches!(
            load(&dir, Some(root.path())),
            Err(CaseError::SchemaRefMissing { .. })
        ));
        write(&dir.join("schema.json"), "{}");
        assert!(matches!(load(&dir, None), Err(CaseError::BothSchemas)));
        fs::remove_file(dir.join("schema_ref")).unwrap();
        write(&dir.join("expected.json"), "{oops");
        let err = load(&dir, None).unwrap_err();
        assert_eq!(err.kind(), "invalid_json");
        write(&dir.join("expected.json"), "{}");
        write(&dir.join("tolerances.json"), r#"{"total": {}}"#);
        assert_eq!(load(&dir, None).unwrap_err().kind(), "invalid_tolerances");
    }

    #[test]
    fn expected_files_are_pretty_with_a_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        write_expected(dir.path(), &json!({"b": 1, "a": [true]})).unwrap();
        let text = fs::read_to_string(dir.path().join(EXPECTED)).unwrap();
        assert_eq!(text, "{\n  \"b\": 1,\n  \"a\": [\n    true\n  ]\n}\n");
    }
}
