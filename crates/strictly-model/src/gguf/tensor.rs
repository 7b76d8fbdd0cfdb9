//! The tensor table: names, shapes, types and where each tensor's bytes lie.

use crate::quant::{self, GgmlType};

use super::GgufError;

/// ggml tensors have at most four dimensions.
pub const MAX_DIMS: usize = 4;

/// One entry of the tensor table, validated against the file when it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The name as stored in the file (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the contiguous (innermost) one, so a
    /// `[out, in]` matrix in PyTorch terms is stored as `[in, out]` here.
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Byte offset from the start of the data section.
    pub offset: u64,
    /// Total number of elements.
    pub n_elems: u64,
    /// Bytes the tensor occupies in the data section.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// The shape outermost-first, as PyTorch and safetensors write it (`[out, in]`).
    pub fn shape(&self) -> Vec<usize> {
        // Dims were checked at open to have a product that fits in u64 and within the file,
        // hence within usize on 64-bit targets; saturate rather than wrap elsewhere.
        self.dims
            .iter()
            .rev()
            .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
            .collect()
    }

    /// Checks the entry against the type table, the alignment and the data section length.
    pub(super) fn validate(&self, alignment: u64, data_len: u64) -> Result<(), GgufError> {
        if !self.offset.is_multiple_of(alignment) {
            return Err(GgufError::MisalignedTensor {
                name: self.name.clone(),
                offset: self.offset,
                alignment,
            });
        }
        let in_bounds = self
            .offset
            .checked_add(self.n_bytes)
            .is_some_and(|end| end <= data_len);
        if !in_bounds {
            return Err(GgufError::TensorOutOfBounds {
                name: self.name.clone(),
                offset: self.offset,
                size: self.n_bytes,
                data_len,
            });
        }
        Ok(())
    }

    /// Builds an entry from raw fields, computing the element and byte counts with overflow
    /// checks and requiring whole blocks per row (ggml's own rule).
    pub(super) fn new(
        name: String,
        dims: Vec<u64>,
        type_id: u32,
        offset: u64,
    ) -> Result<Self, GgufError> {
        let ty = GgmlType::from_id(type_id).ok_or_else(|| GgufError::UnknownTensorType {
            name: name.clone(),
            type_id,
        })?;
        let n_elems = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| usize::try_from(n).is_ok());
        let Some(n_elems) = n_elems else {
            return Err(GgufError::ShapeOverflow { name, dims });
        };
        let ne0 = dims.first().copied().unwrap_or(1);
        if !ne0.is_multiple_of(ty.block_size() as u64) {
            return Err(GgufError::PartialBlockRow { name, ty, ne0 });
        }
        let Some(n_bytes) = ty.bytes_for(n_elems as usize) else {
            return Err(GgufError::ShapeOverflow { name, dims });
        };
        Ok(TensorInfo {
            name,
            dims,
            ty,
            offset,
            n_elems,
            n_bytes: n_bytes as u64,
        })
    }
}

/// A tensor's info together with its raw (possibly quantized) bytes in the mapped file.
///
/// This is the access path for quantized kernels: `data` holds `n_bytes` of blocks in the
/// layout of `info.ty`, rows of `dims[0]` elements one after another.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    pub info: &'a TensorInfo,
    pub data: &'a [u8],
}

impl TensorView<'_> {
    /// Decodes the whole tensor to `f32` in file order (row-major over [`TensorInfo::shape`]).
    pub fn to_f32(&self) -> Result<Vec<f32>, GgufError> {
        let n = self.info.n_elems as usize;
        let mut out = vec![0.0f32; n];
        quant::dequantize(self.info.ty, self.data, n, &mut out).map_err(|source| {
            GgufError::Dequantize {
                name: self.info.name.clone(),
                source,
            }
        })?;
        Ok(out)
    }
}
