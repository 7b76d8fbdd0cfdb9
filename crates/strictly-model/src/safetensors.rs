//! Hugging Face checkpoint folders: `config.json` plus one or more
//! `*.safetensors` files (bf16, f16 or f32), as a [`TensorSource`].
//!
//! Files are memory-mapped and only their headers are parsed up front; a
//! tensor is decoded when the model binder asks for it, so loading never holds
//! two full copies of the checkpoint. Hugging Face names are already the
//! canonical names, so no renaming happens here.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};

use crate::weights::{TensorSource, WeightsError};

/// Problems specific to safetensors folders.
#[derive(Debug, thiserror::Error)]
pub enum SafetensorsError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// What failed.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The folder holds no `*.safetensors` file.
    #[error("no .safetensors files in {0}")]
    NoFiles(PathBuf),
    /// A file's header is malformed or its data section is truncated.
    #[error("{path}: invalid safetensors file: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the parser reported.
        reason: String,
    },
    /// Two files define the same tensor.
    #[error("tensor {0:?} appears in more than one file")]
    Duplicate(String),
    /// The tensor's element type is not a float type the model can use.
    #[error("tensor {name:?} has dtype {dtype}, expected bf16, f16 or f32")]
    UnsupportedDtype {
        /// Tensor name.
        name: String,
        /// Its dtype as written in the header.
        dtype: String,
    },
}

/// Where one tensor lives.
#[derive(Debug, Clone)]
struct Entry {
    file: usize,
    dtype: Dtype,
    shape: Vec<usize>,
    /// Absolute byte range within the file.
    start: usize,
    end: usize,
}

/// All tensors of a checkpoint folder, memory-mapped.
pub struct SafetensorsSource {
    maps: Vec<memmap2::Mmap>,
    files: Vec<PathBuf>,
    entries: HashMap<String, Entry>,
}

impl std::fmt::Debug for SafetensorsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsSource")
            .field("files", &self.files)
            .field("tensors", &self.entries.len())
            .finish()
    }
}

impl SafetensorsSource {
    /// Opens every `*.safetensors` file in `dir` (sharded checkpoints
    /// included; the index file is not needed since headers name their
    /// tensors).
    pub fn open_dir(dir: &Path) -> Result<Self, SafetensorsError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SafetensorsError::Io { path, source }
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(SafetensorsError::NoFiles(dir.to_owned()));
        }
        Self::open_files(files)
    }

    /// Opens the given weight files (the shards of one checkpoint).
    pub fn open_files(files: Vec<PathBuf>) -> Result<Self, SafetensorsError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SafetensorsError::Io { path, source }
        };
        let mut maps = Vec::with_capacity(files.len());
        let mut entries = HashMap::new();
        for (index, path) in files.iter().enumerate() {
            let file = File::open(path).map_err(io(path))?;
            // SAFETY: read-only map; the checkpoint must not be truncated
            // while loading, as with any memory-mapped input.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io(path))?;
            let (header_len, metadata) =
                SafeTensors::read_metadata(&map).map_err(|e| SafetensorsError::Invalid {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            // `read_metadata` has checked that every range lies in the data section.
            let base = 8 + header_len;
            for (name, info) in metadata.tensors() {
                let (start, end) = info.data_offsets;
                let entry = Entry {
                    file: index,
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    start: base + start,
                    end: base + end,
                };
                if entries.insert(name.clone(), entry).is_some() {
                    return Err(SafetensorsError::Duplicate(name));
                }
            }
            maps.push(map);
        }
        Ok(Self {
            maps,
            files,
            entries,
        })
    }
}

impl TensorSource for SafetensorsSource {
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entries.keys().cloned().collect();
        names.sort();
        names
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.entries.get(name).map(|e| e.shape.clone())
    }

    fn load_f32(&self, name: &str) -> Result<Vec<f32>, WeightsError> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| WeightsError::Missing(name.to_owned()))?;
        let bytes = self
            .maps
            .get(entry.file)
            .and_then(|m| m.get(entry.start..entry.end))
            .ok_or_else(|| SafetensorsError::Invalid {
                path: self.files[entry.file].clone(),
                reason: format!("tensor {name:?} lies outside the file"),
            })?;
        let n: usize = entry.shape.iter().product();
        let width = match entry.dtype {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            other => {
                return Err(SafetensorsError::UnsupportedDtype {
                    name: name.to_owned(),
                    dtype: format!("{other:?}"),
                }
                .into());
            }
        };
        if bytes.len() != n * width {
            return Err(SafetensorsError::Invalid {
                path: self.files[entry.file].clone(),
                reason: format!("tensor {name:?} has {} bytes for {n} elements", bytes.len()),
            }
            .into());
        }
        Ok(decode(entry.dtype, bytes))
    }
}

/// Little-endian float bytes to `f32` (dtype already checked).
fn decode(dtype: Dtype, bytes: &[u8]) -> Vec<f32> {
    match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => bytes
            .chunks_exact(2)
            .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .map(|(n, d, s, b)| {
                (
                    n.to_string(),
                    safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
                )
            })
            .collect();
        safetensors::serialize_to_file(views, None, &dir.join(name)).unwrap();
    }

    #[test]
    fn reads_all_float_dtypes_across_shards() {
        let dir = tempfile::tempdir().unwrap();
        let vals = [1.5f32, -2.25, 0.0, 3.0];
        let f32s: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let f16s: Vec<u8> = vals
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect();
        let bf16s: Vec<u8> = vals
            .iter()
            .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
            .collect();
        write(
            dir.path(),
            "a.safetensors",
            &[("x", Dtype::F32, vec![2, 2], f32s)],
        );
        write(
            dir.path(),
            "b.safetensors",
            &[
                ("y", Dtype::F16, vec![4], f16s),
                ("z", Dtype::BF16, vec![1, 4], bf16s),
            ],
        );
        let src = SafetensorsSource::open_dir(dir.path()).unwrap();
        assert_eq!(src.names(), ["x", "y", "z"]);
        assert_eq!(src.shape("x"), Some(vec![2, 2]));
        for name in ["x", "y", "z"] {
            assert_eq!(src.load_f32(name).unwrap(), vals);
        }
        assert!(matches!(src.load_f32("w"), Err(WeightsError::Missing(_))));
    }

    #[test]
    fn rejects_truncated_and_non_float_files() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.safetensors",
            &[("i", Dtype::I32, vec![1], vec![0; 4])],
        );
        let src = SafetensorsSource::open_dir(dir.path()).unwrap();
        assert!(matches!(
            src.load_f32("i"),
            Err(WeightsError::Safetensors(
                SafetensorsError::UnsupportedDtype { .. }
            ))
        ));
        let path = dir.path().join("a.safetensors");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        assert!(matches!(
            SafetensorsSource::open_dir(dir.path()),
            Err(SafetensorsError::Invalid { .. })
        ));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            SafetensorsSource::open_dir(empty.path()),
            Err(SafetensorsError::NoFiles(_))
        ));
    }
}
