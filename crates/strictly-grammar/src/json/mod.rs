//! JSON Schema → grammar.
//!
//! `parse` reads keywords into the typed intermediate form (`ir`), resolving
//! `$ref` lazily so recursive schemas stay finite; `merge` intersects schemas
//! (`allOf`, sibling keywords); `negate` rewrites `not` and `if`/`then`/`else`;
//! `compile` emits rules and lexemes (`strings`, `numbers`, `object`,
//! `array`, `value`). Anything the engine cannot enforce exactly is a
//! `CompileError` naming the keyword and its JSON Pointer.

mod array;
mod compile;
mod decimal;
mod formats;
mod ir;
mod merge;
mod negate;
mod numbers;
mod object;
mod parse;
mod refs;
mod strings;
mod validate;
mod value;

use std::time::Duration;

use serde_json::Value;

use crate::error::CompileError;
use crate::grammar::Grammar;

/// How whitespace between JSON tokens is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Whitespace {
    /// Any JSON whitespace between tokens, at most `max` bytes per gap:
    /// accepts instances such as `{"a": 1, "b": [1, 2]}`.
    Lenient { max: u8 },
    /// No whitespace at all: what generation should use, so a model can
    /// never loop on whitespace.
    Compact,
}

/// Options of the JSON Schema compiler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonOptions {
    pub whitespace: Whitespace,
    /// Longest string (in characters) when the schema gives no `maxLength`.
    pub max_string_chars: u32,
    /// Longest number (in characters).
    pub max_number_chars: u32,
    /// Accept object members in any order (each required key once), for
    /// checking documents written elsewhere; otherwise members follow the
    /// order of `properties`, which is what generation should use.
    pub any_property_order: bool,
    /// Only numbers a double holds as written: exponents of at most two
    /// digits (with `max_number_chars` ≤ 64 that stays within 1e±164),
    /// what generation should use, since `1e999` is valid JSON that most
    /// parsers, and the validator, turn into an error or infinity, and
    /// `1e-999` into zero.
    pub finite_numbers: bool,
    /// Objects whose schema lists `properties` and says nothing of other
    /// keys (no `additionalProperties`, `patternProperties` or
    /// `unevaluatedProperties`) get only the listed keys, what generation
    /// should use: a user who lists the fields wants those, and every such
    /// answer is still valid. A schema that allows more says so, e.g.
    /// `"additionalProperties": true`.
    pub only_listed_properties: bool,
    /// Wall time one compilation may take before the schema is refused as
    /// too complex (not part of the cache key: it bounds work, not the
    /// language).
    pub time_budget: Duration,
}

/// The default [`JsonOptions::time_budget`].
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(2);

impl JsonOptions {
    /// For checking documents written elsewhere: JSON whitespace between
    /// tokens (as with `", "` and `": "` separators) and members in any order.
    pub fn lenient() -> JsonOptions {
        JsonOptions {
            whitespace: Whitespace::Lenient { max: 64 },
            max_string_chars: 8192,
            max_number_chars: 64,
            any_property_order: true,
            finite_numbers: false,
            only_listed_properties: false,
            time_budget: DEFAULT_TIME_BUDGET,
        }
    }

    /// For generation: no whitespace, members in the order of `properties`.
    pub fn compact() -> JsonOptions {
        JsonOptions {
            whitespace: Whitespace::Compact,
            any_property_order: false,
            finite_numbers: true,
            only_listed_properties: true,
            ..JsonOptions::lenient()
        }
    }

    /// The same options with another compile time budget.
    pub fn with_time_budget(self, time_budget: Duration) -> JsonOptions {
        JsonOptions {
            time_budget,
            ..self
        }
    }

    pub(crate) fn max_ws(&self) -> u8 {
        match self.whitespace {
            Whitespace::Lenient { max } => max,
            Whitespace::Compact => 0,
        }
    }

    /// A stable description, part of the grammar cache key.
    pub(crate) fn canonical(&self) -> String {
        format!(
            "ws={};s={};n={};any={};finite={};listed={}",
            self.max_ws(),
            self.max_string_chars,
            self.max_number_chars,
            self.any_property_order,
            self.finite_numbers,
            self.only_listed_properties
        )
    }
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions::compact()
    }
}

/// Compiles a JSON Schema document into a grammar.
pub(crate) fn compile_schema(
    schema: &Value,
    options: &JsonOptions,
) -> Result<Grammar, CompileError> {
    let mut ctx = parse::Ctx::new(schema, *options);
    let root = ctx.parse_root()?;
    compile::compile(&mut ctx, root)
}

/// The canonical text of a schema for the grammar cache: compact JSON with
/// key order kept (property order is part of the grammar).
pub(crate) fn canonical_text(v: &Value) -> String {
    v.to_string()
}
