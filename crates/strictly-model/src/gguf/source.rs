//! [`TensorSource`] for GGUF files: canonical names in, GGUF tensors out.

use crate::weights::{RawTensor, TensorSource, WeightsError};

use super::{GgufFile, gguf_to_hf, hf_to_gguf};

impl GgufFile {
    /// The file's entry for a canonical tensor name.
    fn by_canonical(&self, name: &str) -> Option<&super::TensorInfo> {
        self.tensor_info(&hf_to_gguf(name)?)
    }
}

impl TensorSource for GgufFile {
    fn names(&self) -> Vec<String> {
        self.tensors()
            .iter()
            .filter_map(|t| gguf_to_hf(&t.name))
            .collect()
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.by_canonical(name).map(|t| t.shape())
    }

    fn load_f32(&self, name: &str) -> Result<Vec<f32>, WeightsError> {
        let info = self
            .by_canonical(name)
            .ok_or_else(|| WeightsError::Missing(name.to_owned()))?;
        Ok(self.tensor(&info.name)?.to_f32()?)
    }

    fn raw(&self, name: &str) -> Option<RawTensor<'_>> {
        let info = self.by_canonical(name)?;
        let view = self.tensor(&info.name).ok()?;
        Some(RawTensor {
            ty: info.ty,
            shape: info.shape(),
            bytes: view.data,
            shared: self.shared_tensor(&info.name).ok(),
        })
    }
}
