//! Reader for GGUF files (versions 2 and 3, little-endian): header, metadata, tensor table
//! and memory-mapped tensor data.
//!
//! Layout: magic `GGUF`, u32 version, u64 tensor count, u64 metadata count, the metadata
//! key/value pairs, the tensor table, padding to `general.alignment` (default 32), then the
//! data section. Everything is validated when the file is opened (counts capped by the file
//! size, every tensor inside the data section, aligned and made of whole blocks), so later
//! accessors can hand out slices without further checks and no input can cause a panic.

mod cursor;
mod error;
mod names;
mod source;
mod tensor;
mod value;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::GgufError;
pub use names::{gguf_to_hf, hf_to_gguf};
pub use tensor::{MAX_DIMS, TensorInfo, TensorView};
pub use value::{Array, Value};
pub use writer::GgufWriter;

use cursor::Cursor;

const MAGIC: [u8; 4] = *b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// The smallest tensor table entry: empty name, zero dims, type and offset.
const MIN_TENSOR_ENTRY: usize = 8 + 4 + 4 + 8;
/// The smallest metadata entry: empty key, type id, one-byte value.
const MIN_KV_ENTRY: usize = 8 + 4 + 1;

/// Where the bytes live: a read-only map of the file, or memory (tests, fuzzing).
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// The file's bytes as an owner that weight matrices can hold on to.
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// An opened, validated GGUF file.
pub struct GgufFile {
    path: Option<PathBuf>,
    version: u32,
    metadata: BTreeMap<String, Value>,
    tensors: Vec<TensorInfo>,
    by_name: HashMap<String, usize>,
    alignment: u64,
    data_offset: usize,
    /// Shared so that quantized matrices can point into the map instead of
    /// copying it (see [`GgufFile::shared_bytes`]).
    bytes: Arc<Bytes>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata_keys", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Maps the file read-only and parses it.
    ///
    /// The map is shared with the page cache, so several processes serving the same model
    /// share one copy. The file must not be truncated while mapped (as with any mmap, that
    /// would fault); the cache only ever replaces model files by atomic rename, which leaves
    /// an existing map intact.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile, GgufError> {
        let path = path.as_ref();
        let io = |source| GgufError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this struct; the only hazard is another
        // process shrinking the file underneath, which the doc comment above rules out.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        let mut parsed = Self::parse(Bytes::Mapped(map))?;
        parsed.path = Some(path.to_owned());
        Ok(parsed)
    }

    /// Parses a GGUF image held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GgufFile, GgufError> {
        Self::parse(Bytes::Owned(bytes))
    }

    fn parse(bytes: Bytes) -> Result<GgufFile, GgufError> {
        let mut c = Cursor::new(&bytes);
        let magic: [u8; 4] = c
            .take(4, "magic")?
            .try_into()
            .map_err(|_| GgufError::BadMagic([0; 4]))?;
        if magic != MAGIC {
            return Err(GgufError::BadMagic(magic));
        }
        let version = c.u32("version")?;
        if version & 0xffff == 0 && matches!(version.swap_bytes(), 2 | 3) {
            return Err(GgufError::BigEndian);
        }
        if !matches!(version, 2 | 3) {
            return Err(GgufError::UnsupportedVersion(version));
        }
        // Both counts come before either table, so only a loose cap is possible here; the
        // per-entry reads then bound each one precisely.
        let n_tensors = c.count(MIN_TENSOR_ENTRY, "tensor")?;
        let n_kv = c.count(MIN_KV_ENTRY, "metadata entry")?;

        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = c.string("metadata key")?;
            let type_id = c.u32("metadata value type")?;
            let value = value::read_value(&mut c, type_id, 0)?;
            if metadata.contains_key(&key) {
                return Err(GgufError::DuplicateKey(key));
            }
            metadata.insert(key, value);
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
            Some(other) => return Err(GgufError::BadAlignment(format!("{other:?}"))),
        };

        let mut raw_tensors = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = c.string("tensor name")?;
            let n_dims = c.u32("tensor dimension count")?;
            if n_dims as usize > MAX_DIMS {
                return Err(GgufError::TooManyDims {
                    name,
                    n_dims,
                    max: MAX_DIMS,
                });
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(c.u64("tensor dimension")?);
            }
            let type_id = c.u32("tensor type")?;
            let offset = c.u64("tensor offset")?;
            raw_tensors.push(TensorInfo::new(name, dims, type_id, offset)?);
        }

        // The data section starts at the next multiple of the alignment after the table.
        let table_end = c.pos() as u64;
        let data_offset = table_end.div_ceil(alignment).saturating_mul(alignment);
        let file_len = bytes.len() as u64;
        let data_len = file_len.saturating_sub(data_offset);
        if data_offset > file_len && !raw_tensors.is_empty() {
            return Err(GgufError::Truncated {
                what: "padding before tensor data",
                offset: table_end,
                needed: data_offset - table_end,
                available: file_len - table_end,
            });
        }

        let mut by_name = HashMap::with_capacity(raw_tensors.len());
        for (i, t) in raw_tensors.iter().enumerate() {
            t.validate(alignment, data_len)?;
            if by_name.insert(t.name.clone(), i).is_some() {
                return Err(GgufError::DuplicateTensor(t.name.clone()));
            }
        }

        Ok(GgufFile {
            path: None,
            version,
            metadata,
            tensors: raw_tensors,
            by_name,
            alignment,
            // `data_offset <= file_len` unless there are no tensors, in which case it is
            // never used to index.
            data_offset: data_offset.min(file_len) as usize,
            bytes: Arc::new(bytes),
        })
    }

    /// The path the file was opened from (`None` for in-memory images).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// All metadata, sorted by key.
    pub fn metadata(&self) -> &BTreeMap<String, Value> {
        &self.metadata
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    fn require(&self, key: &str) -> Result<&Value, GgufError> {
        self.get(key)
            .ok_or_else(|| GgufError::MissingKey(key.to_owned()))
    }

    fn wrong(key: &str, expected: &'static str, found: &Value) -> GgufError {
        GgufError::WrongType {
            key: key.to_owned(),
            expected,
            found: found.type_name(),
        }
    }

    /// A string value such as `general.architecture`.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        let v = self.require(key)?;
        v.as_str().ok_or_else(|| Self::wrong(key, "string", v))
    }

    /// A non-negative integer of any width, such as `qwen2.block_count`.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        let v = self.require(key)?;
        v.as_u64()
            .ok_or_else(|| Self::wrong(key, "non-negative integer", v))
    }

    /// A number, such as `qwen2.rope.freq_base`.
    pub fn get_f64(&self, key: &str) -> Result<f64, GgufError> {
        let v = self.require(key)?;
        v.as_f64().ok_or_else(|| Self::wrong(key, "number", v))
    }

    /// An array value, such as `tokenizer.ggml.tokens`.
    pub fn get_array(&self, key: &str) -> Result<&Array, GgufError> {
        let v = self.require(key)?;
        v.as_array().ok_or_else(|| Self::wrong(key, "array", v))
    }

    /// An array of strings.
    pub fn get_str_array(&self, key: &str) -> Result<&[String], GgufError> {
        match self.get_array(key)? {
            Array::String(v) => Ok(v),
            other => Err(GgufError::WrongType {
                key: key.to_owned(),
                expected: "array of string",
                found: other.element_type_name(),
            }),
        }
    }

    /// The tensor table in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// A tensor's table entry, by its name in the file.
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.by_name.get(name).map(|&i| &self.tensors[i])
    }

    /// A tensor's entry and raw bytes, by its name in the file.
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>, GgufError> {
        let info = self
            .tensor_info(name)
            .ok_or_else(|| GgufError::MissingTensor(name.to_owned()))?;
        // Validated at open: offset + n_bytes <= data_len, all within the file.
        let start = self.data_offset + info.offset as usize;
        let data = self
            .bytes
            .get(start..start + info.n_bytes as usize)
            .ok_or_else(|| GgufError::TensorOutOfBounds {
                name: name.to_owned(),
                offset: info.offset,
                size: info.n_bytes,
                data_len: (self.bytes.len() - self.data_offset) as u64,
            })?;
        Ok(TensorView { info, data })
    }

    /// The whole file's bytes as a shared owner, and the byte range of a tensor (by its name
    /// in the file) within them: what a weight needs to use the map in place.
    pub fn shared_tensor(
        &self,
        name: &str,
    ) -> Result<(SharedBytes, std::ops::Range<usize>), GgufError> {
        let view = self.tensor(name)?;
        let start = view.data.as_ptr() as usize - self.bytes.as_ptr() as usize;
        let owner: SharedBytes = self.bytes.clone();
        Ok((owner, start..start + view.data.len()))
    }

    /// Decodes a tensor (by its name in the file) to `f32`.
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, GgufError> {
        self.tensor(name)?.to_f32()
    }
}

#[cfg(test)]
mod tests;
