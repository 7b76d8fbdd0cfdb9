//! What `--model PATH` may name: a GGUF file or a Hugging Face folder; no path means the
//! default model, fetched on first use.
//!
//! Resolving checks that the pieces are there before anything heavy is loaded, so a wrong
//! path fails at once with the missing file's name.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::chat::{ChatError, ChatTemplate};
use crate::fetch::{self, FetchError, Progress};
use crate::gguf::GgufFile;
use crate::tokenizer::{Tokenizer, TokenizerError};

/// Why a model path could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{} does not exist", .0.display())]
    NotFound(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is not a GGUF file (it does not start with \"GGUF\"); pass a .gguf file or a \
         Hugging Face model folder", .0.display()
    )]
    NotGguf(PathBuf),
    #[error(
        "{} is not a complete Hugging Face model folder: missing {}",
        dir.display(), missing.join(", ")
    )]
    IncompleteFolder {
        dir: PathBuf,
        missing: Vec<&'static str>,
    },
}

/// A located model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A single GGUF file: weights, tokenizer and chat template in one.
    Gguf(PathBuf),
    /// A folder with `config.json`, `tokenizer.json` and safetensors weights
    /// (`tokenizer_config.json` supplies the chat template when present).
    HfFolder {
        dir: PathBuf,
        /// The weight files, sorted by name.
        safetensors: Vec<PathBuf>,
    },
}

impl ModelSource {
    /// `path` if given, else the default model (fetched if absent; progress to `tracing`).
    pub fn resolve(path: Option<&Path>) -> Result<ModelSource, SourceError> {
        match path {
            Some(p) => Self::from_path(p),
            None => Ok(ModelSource::Gguf(fetch::ensure_default_model()?)),
        }
    }

    /// Like [`ModelSource::resolve`], reporting fetch progress to `progress`.
    pub fn resolve_with(
        path: Option<&Path>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ModelSource, SourceError> {
        match path {
            Some(p) => Self::from_path(p),
            None => Ok(ModelSource::Gguf(
                fetch::Fetcher::default_model()?.ensure(progress)?,
            )),
        }
    }

    /// Classifies an existing path.
    pub fn from_path(path: &Path) -> Result<ModelSource, SourceError> {
        let io = |source| SourceError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::NotFound(path.to_owned()),
            _ => io(e),
        })?;
        if meta.is_dir() {
            return Self::folder(path);
        }
        let mut magic = [0u8; 4];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .map_err(io)?;
        if n < 4 || &magic != b"GGUF" {
            return Err(SourceError::NotGguf(path.to_owned()));
        }
        Ok(ModelSource::Gguf(path.to_owned()))
    }

    fn folder(dir: &Path) -> Result<ModelSource, SourceError> {
        let mut safetensors: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| SourceError::Io {
                path: dir.to_owned(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
            .collect();
        safetensors.sort();
        let mut missing = Vec::new();
        for required in ["config.json", "tokenizer.json"] {
            if !dir.join(required).is_file() {
                missing.push(required);
            }
        }
        if safetensors.is_empty() {
            missing.push("*.safetensors");
        }
        if !missing.is_empty() {
            return Err(SourceError::IncompleteFolder {
                dir: dir.to_owned(),
                missing,
            });
        }
        Ok(ModelSource::HfFolder {
            dir: dir.to_owned(),
            safetensors,
        })
    }

    /// The file or folder.
    pub fn path(&self) -> &Path {
        match self {
            ModelSource::Gguf(p) => p,
            ModelSource::HfFolder { dir, .. } => dir,
        }
    }

    /// The model's tokenizer, padded to the model's vocabulary size.
    pub fn tokenizer(&self) -> Result<Tokenizer, TokenizerError> {
        match self {
            ModelSource::Gguf(p) => Tokenizer::from_gguf(&GgufFile::open(p)?),
            ModelSource::HfFolder { dir, .. } => Tokenizer::from_hf_dir(dir),
        }
    }

    /// The model's chat template.
    pub fn chat_template(&self) -> Result<ChatTemplate, ChatError> {
        match self {
            ModelSource::Gguf(p) => ChatTemplate::from_gguf(&GgufFile::open(p)?),
            ModelSource::HfFolder { dir, .. } => ChatTemplate::from_hf_dir(dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_paths() {
        let dir = tempfile::tempdir().unwrap();
        let gguf = dir.path().join("m.gguf");
        std::fs::write(&gguf, crate::gguf::GgufWriter::new(3).to_bytes()).unwrap();
        assert_eq!(
            ModelSource::from_path(&gguf).unwrap(),
            ModelSource::Gguf(gguf.clone())
        );

        let other = dir.path().join("m.bin");
        std::fs::write(&other, b"GG").unwrap();
        assert!(matches!(
            ModelSource::from_path(&other),
            Err(SourceError::NotGguf(_))
        ));
        assert!(matches!(
            ModelSource::from_path(&dir.path().join("absent")),
            Err(SourceError::NotFound(_))
        ));

        let hf = dir.path().join("hf");
        std::fs::create_dir(&hf).unwrap();
        std::fs::write(hf.join("config.json"), "{}").unwrap();
        match ModelSource::from_path(&hf) {
            Err(SourceError::IncompleteFolder { missing, .. }) => {
                assert_eq!(missing, ["tokenizer.json", "*.safetensors"])
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(hf.join("tokenizer.json"), "{}").unwrap();
        std::fs::write(hf.join("model-00002.safetensors"), "").unwrap();
        std::fs::write(hf.join("model-00001.safetensors"), "").unwrap();
        match ModelSource::from_path(&hf).unwrap() {
            ModelSource::HfFolder { dir, safetensors } => {
                assert_eq!(dir, hf);
                assert_eq!(
                    safetensors,
                    [
                        hf.join("model-00001.safetensors"),
                        hf.join("model-00002.safetensors")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
