//! The grammars shipped in the repository's `grammars/` folder, built into
//! the binary so a request can name one (`"grammar": "@sql_select"`)
//! without sending it.

/// A shipped GBNF grammar.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// Its name, the file name without `.gbnf`.
    pub name: &'static str,
    /// The GBNF text.
    pub text: &'static str,
}

impl Shipped {
    /// The first comment line: what the grammar is for.
    pub fn summary(&self) -> &'static str {
        self.text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix('#'))
            .map_or("", str::trim)
    }
}

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(Shipped {
            name: $name,
            text: include_str!(concat!("../../../grammars/", $name, ".gbnf")),
        }),*]
    };
}

/// Every shipped grammar, by name.
pub const GRAMMARS: &[Shipped] = shipped![
    "arithmetic",
    "chess_san",
    "comma_list",
    "csv_row",
    "iso_date",
    "json",
    "json_string_array",
    "sql_select",
];

/// A name after `@` that is not a shipped grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no shipped grammar is named `@{name}`; shipped: {}", names())]
pub struct UnknownGrammar {
    pub name: String,
}

fn names() -> String {
    GRAMMARS
        .iter()
        .map(|g| format!("@{}", g.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The GBNF text a request means: `@name` names a shipped grammar, any
/// other text is the grammar itself.
pub fn resolve(grammar: &str) -> Result<&str, UnknownGrammar> {
    match grammar.trim().strip_prefix('@') {
        Some(name) => GRAMMARS
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.text)
            .ok_or_else(|| UnknownGrammar {
                name: name.to_string(),
            }),
        None => Ok(grammar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_folder_is_shipped_and_named() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../grammars");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".gbnf").map(String::from)
            })
            .collect();
        files.sort();
        let shipped: Vec<&str> = GRAMMARS.iter().map(|g| g.name).collect();
        assert_eq!(files, shipped);
        for g in GRAMMARS {
            assert!(!g.summary().is_empty(), "{}", g.name);
        }
    }

    #[test]
    fn names_resolve_and_text_passes_through() {
        assert!(resolve("@json").unwrap().contains("root ::="));
        assert_eq!(resolve("root ::= \"a\"").unwrap(), "root ::= \"a\"");
        let err = resolve("@nope").unwrap_err();
        assert!(err.to_string().contains("@sql_select"), "{err}");
    }
}
