//! Everything that can be wrong with a GGUF file, reported with where it went wrong.

use std::path::PathBuf;

use crate::quant::{GgmlType, QuantError};

/// Why a GGUF file could not be read, or a value or tensor in it could not be used.
///
/// Offsets are byte positions in the file, so that a corrupt file can be inspected with a
/// hex dump.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not a GGUF file (magic bytes {0:02x?}, expected \"GGUF\")")]
    BadMagic([u8; 4]),
    #[error("GGUF version {0} is not supported (versions 2 and 3 are)")]
    UnsupportedVersion(u32),
    #[error("big-endian GGUF files are not supported")]
    BigEndian,
    #[error("file truncated: {what} at byte {offset} needs {needed} bytes, {available} remain")]
    Truncated {
        what: &'static str,
        offset: u64,
        needed: u64,
        available: u64,
    },
    #[error("{what} count {count} at byte {offset} is more than the file can hold")]
    CountTooLarge {
        what: &'static str,
        count: u64,
        offset: u64,
    },
    #[error("string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { offset: u64 },
    #[error("unknown metadata value type {type_id} at byte {offset}")]
    UnknownValueType { type_id: u32, offset: u64 },
    #[error("arrays nested more than {max} deep at byte {offset}")]
    NestingTooDeep { max: usize, offset: u64 },
    #[error("metadata key {0:?} appears twice")]
    DuplicateKey(String),
    #[error("tensor {0:?} appears twice")]
    DuplicateTensor(String),
    #[error("general.alignment must be a u32 power of two, got {0}")]
    BadAlignment(String),
    #[error("tensor {name:?} has {n_dims} dimensions (at most {max} allowed)")]
    TooManyDims {
        name: String,
        n_dims: u32,
        max: usize,
    },
    #[error("tensor {name:?} has unknown type id {type_id}")]
    UnknownTensorType { name: String, type_id: u32 },
    #[error("tensor {name:?}: shape {dims:?} overflows")]
    ShapeOverflow { name: String, dims: Vec<u64> },
    #[error("tensor {name:?}: row length {ne0} is not a multiple of the {ty:?} block size")]
    PartialBlockRow {
        name: String,
        ty: GgmlType,
        ne0: u64,
    },
    #[error("tensor {name:?}: offset {offset} is not a multiple of the alignment {alignment}")]
    MisalignedTensor {
        name: String,
        offset: u64,
        alignment: u64,
    },
    #[error(
        "tensor {name:?}: bytes {offset}..{offset}+{size} lie outside the {data_len}-byte data section"
    )]
    TensorOutOfBounds {
        name: String,
        offset: u64,
        size: u64,
        data_len: u64,
    },
    #[error("metadata key {0:?} is missing")]
    MissingKey(String),
    #[error("metadata key {key:?} is {found}, expected {expected}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("tensor {0:?} is not in the file")]
    MissingTensor(String),
    #[error("tensor {name:?}: {source}")]
    Dequantize {
        name: String,
        #[source]
        source: QuantError,
    },
}
