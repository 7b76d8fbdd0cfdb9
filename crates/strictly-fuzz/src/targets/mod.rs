//! The fuzzed components.

pub mod csv;
pub mod gguf;
pub mod grammar;
pub mod http;
pub mod schema;
pub mod schema_gen;

pub use self::csv::CsvTarget;
pub use gguf::GgufTarget;
pub use grammar::GrammarTarget;
pub use http::HttpTarget;
pub use schema::SchemaTarget;

/// Every target's name.
pub const NAMES: [&str; 5] = ["schema", "grammar", "gguf", "csv", "http"];

/// The target called `name`.
pub fn by_name(name: &str) -> std::io::Result<Box<dyn crate::Target>> {
    Ok(match name {
        "schema" => Box::new(SchemaTarget::default()),
        "grammar" => Box::new(GrammarTarget::default()),
        "gguf" => Box::new(GgufTarget),
        "csv" => Box::new(CsvTarget),
        "http" => Box::new(HttpTarget::start()?),
        other => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown target {other:?}: expected one of {NAMES:?}"),
            ));
        }
    })
}
