//! Moving tensors to host memory without panicking on readback errors.

use burn::tensor::{DType, Tensor};

/// A tensor could not be read back from its device.
#[derive(Debug, thiserror::Error)]
#[error("cannot read tensor back from the device: {0}")]
pub struct ReadbackError(pub String);

/// Reads a float tensor of any dtype into an `f32` vector (row-major).
pub fn to_f32_vec<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadbackError> {
    tensor
        .try_into_data_dtype(DType::F32)
        .map_err(|e| ReadbackError(e.to_string()))?
        .try_into_vec::<f32>()
        .map_err(|e| ReadbackError(format!("{e:?}")))
}
