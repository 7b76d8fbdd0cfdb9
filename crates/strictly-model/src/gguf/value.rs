//! Metadata values: the 13 GGUF value types, with arrays kept as typed vectors so that a
//! 150k-entry vocabulary costs one `Vec<String>`, not 150k enum values.

use super::GgufError;
use super::cursor::Cursor;

/// Arrays of arrays are legal; real files never nest, so a small limit stops a crafted file
/// from recursing deeply.
const MAX_NESTING: usize = 8;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Array),
    U64(u64),
    I64(i64),
    F64(f64),
}

/// A homogeneous metadata array.
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<Array>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl Value {
    /// The type's name as in the GGUF specification, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "uint8",
            Value::I8(_) => "int8",
            Value::U16(_) => "uint16",
            Value::I16(_) => "int16",
            Value::U32(_) => "uint32",
            Value::I32(_) => "int32",
            Value::F32(_) => "float32",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::U64(_) => "uint64",
            Value::I64(_) => "int64",
            Value::F64(_) => "float64",
        }
    }

    /// Any non-negative integer value; converters write counts with varying integer widths.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Any float value (or integer, exactly representable or not).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v as f64),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl Array {
    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::Array(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type's name, for error messages.
    pub fn element_type_name(&self) -> &'static str {
        match self {
            Array::U8(_) => "uint8",
            Array::I8(_) => "int8",
            Array::U16(_) => "uint16",
            Array::I16(_) => "int16",
            Array::U32(_) => "uint32",
            Array::I32(_) => "int32",
            Array::F32(_) => "float32",
            Array::Bool(_) => "bool",
            Array::String(_) => "string",
            Array::Array(_) => "array",
            Array::U64(_) => "uint64",
            Array::I64(_) => "int64",
            Array::F64(_) => "float64",
        }
    }

    /// Integer elements widened to i64 (u64 values above `i64::MAX` give `None`), for
    /// arrays such as `tokenizer.ggml.token_type` whose element width varies by converter.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        fn conv<T: Copy>(v: &[T], f: impl Fn(T) -> Option<i64>) -> Option<Vec<i64>> {
            v.iter().map(|&x| f(x)).collect()
        }
        match self {
            Array::U8(v) => conv(v, |x| Some(x.into())),
            Array::I8(v) => conv(v, |x| Some(x.into())),
            Array::U16(v) => conv(v, |x| Some(x.into())),
            Array::I16(v) => conv(v, |x| Some(x.into())),
            Array::U32(v) => conv(v, |x| Some(x.into())),
            Array::I32(v) => conv(v, |x| Some(x.into())),
            Array::U64(v) => conv(v, |x| i64::try_from(x).ok()),
            Array::I64(v) => Some(v.clone()),
            _ => None,
        }
    }
}

/// The smallest number of bytes one value of a type can occupy in the file, used to cap
/// array lengths by what the file can hold.
fn min_size(type_id: u32) -> usize {
    match type_id {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 => 8,     // u64 length of an empty string
        9 => 4 + 8, // element type + length of an empty array
        _ => 8,     // u64, i64, f64
    }
}

/// Reads one value of the type with id `type_id`.
pub(super) fn read_value(
    c: &mut Cursor<'_>,
    type_id: u32,
    depth: usize,
) -> Result<Value, GgufError> {
    let at = c.offset();
    Ok(match type_id {
        0 => Value::U8(c.u8("uint8 value")?),
        1 => Value::I8(c.u8("int8 value")? as i8),
        2 => Value::U16(c.u16("uint16 value")?),
        3 => Value::I16(c.u16("int16 value")? as i16),
        4 => Value::U32(c.u32("uint32 value")?),
        5 => Value::I32(c.u32("int32 value")? as i32),
        6 => Value::F32(c.f32("float32 value")?),
        7 => Value::Bool(c.u8("bool value")? != 0),
        8 => Value::String(c.string("string value")?),
        9 => Value::Array(read_array(c, depth)?),
        10 => Value::U64(c.u64("uint64 value")?),
        11 => Value::I64(c.u64("int64 value")? as i64),
        12 => Value::F64(c.f64("float64 value")?),
        _ => {
            return Err(GgufError::UnknownValueType {
                type_id,
                offset: at,
            });
        }
    })
}

fn read_array(c: &mut Cursor<'_>, depth: usize) -> Result<Array, GgufError> {
    if depth >= MAX_NESTING {
        return Err(GgufError::NestingTooDeep {
            max: MAX_NESTING,
            offset: c.offset(),
        });
    }
    let at = c.offset();
    let type_id = c.u32("array element type")?;
    if type_id > 12 {
        return Err(GgufError::UnknownValueType {
            type_id,
            offset: at,
        });
    }
    let n = c.count(min_size(type_id), "array element")?;
    macro_rules! many {
        ($variant:ident, $read:expr) => {{
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push($read);
            }
            Array::$variant(v)
        }};
    }
    Ok(match type_id {
        0 => Array::U8(c.take(n as u64, "uint8 array")?.to_vec()),
        1 => Array::I8(
            c.take(n as u64, "int8 array")?
                .iter()
                .map(|&b| b as i8)
                .collect(),
        ),
        2 => many!(U16, c.u16("uint16 element")?),
        3 => many!(I16, c.u16("int16 element")? as i16),
        4 => many!(U32, c.u32("uint32 element")?),
        5 => many!(I32, c.u32("int32 element")? as i32),
        6 => many!(F32, c.f32("float32 element")?),
        7 => Array::Bool(
            c.take(n as u64, "bool array")?
                .iter()
                .map(|&b| b != 0)
                .collect(),
        ),
        8 => many!(String, c.string("string element")?),
        9 => many!(Array, read_array(c, depth + 1)?),
        10 => many!(U64, c.u64("uint64 element")?),
        11 => many!(I64, c.u64("int64 element")? as i64),
        _ => many!(F64, c.f64("float64 element")?),
    })
}
