//! Grammar for one literal JSON value (`const`, `enum`).

use serde_json::Value;

use super::compile::{Compiler, dfa_error};
use super::ir::decimal_of;
use super::numbers::{Bound, NumSpec, number_dfa};
use super::parse::Draft;
use super::strings::encode_quoted;
use crate::error::CompileError;
use crate::grammar::{DFA_STATE_LIMIT, Sym};

impl Compiler<'_, '_> {
    /// Exactly `v` (numbers in any plain notation of the same value, but
    /// see draft 4 below).
    pub fn literal_value(&mut self, v: &Value, ptr: &str) -> Result<Sym, CompileError> {
        self.check_size(ptr)?;
        Ok(match v {
            Value::Null => self.b.literal(b"null"),
            Value::Bool(true) => self.b.literal(b"true"),
            Value::Bool(false) => self.b.literal(b"false"),
            Value::Number(_) => {
                let d = decimal_of(v)
                    .ok_or_else(|| CompileError::invalid("enum", ptr, "number out of range"))?;
                // Draft 4 calls `1.0` no integer, so an integral value is
                // written without a fraction there (`type: integer` may sit
                // beside the enum).
                let integer = self.ctx.draft == Draft::D4 && d.is_integer();
                let b = Bound {
                    value: d,
                    exclusive: false,
                };
                let spec = NumSpec {
                    integer,
                    min: Some(b.clone()),
                    max: Some(b),
                    ..Default::default()
                };
                let dfa = crate::dfa_cache::cached(&format!("num:{spec:?}"), || {
                    number_dfa(&spec, DFA_STATE_LIMIT)
                })
                .map_err(|e| dfa_error("enum", ptr, e))?;
                let max = self.ctx.options.max_number_chars;
                self.b
                    .lexeme(dfa, 0, max)
                    .ok_or_else(|| CompileError::invalid("enum", ptr, "number literal"))?
            }
            Value::String(s) => self.b.literal(&encode_quoted(s)),
            Value::Array(items) => {
                let mut rhs = vec![self.p.lbrack];
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        rhs.push(self.p.comma);
                    }
                    rhs.push(self.literal_value(x, ptr)?);
                }
                rhs.push(self.p.rbrack);
                self.b.seq("array_literal", rhs)
            }
            Value::Object(m) => {
                let mut rhs = vec![self.p.lbrace];
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        rhs.push(self.p.comma);
                    }
                    rhs.push(self.b.literal(&encode_quoted(k)));
                    rhs.push(self.p.colon);
                    rhs.push(self.literal_value(x, ptr)?);
                }
                rhs.push(self.p.rbrace);
                self.b.seq("object_literal", rhs)
            }
        })
    }
}
