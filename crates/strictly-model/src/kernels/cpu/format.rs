//! The GGUF weight formats the kernels read, and the block geometry they share.

use crate::quant::GgmlType;

/// A row-major GGUF weight format with an integer dot-product kernel.
///
/// These are the formats of the default Q4_K_M file: llama.cpp falls back from
/// Q4_K/Q6_K to Q5_0/Q8_0 for matrices whose rows (896) are not a multiple of
/// 256, so all four occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantFormat {
    /// 256-element super-blocks, 4-bit values, 6-bit scales and mins per 32.
    Q4K,
    /// 32-element blocks, 5-bit values offset by 16, one f16 scale.
    Q5_0,
    /// 256-element super-blocks, 6-bit values offset by 32, i8 scales per 16.
    Q6K,
    /// 32-element blocks, i8 values, one f16 scale.
    Q8_0,
}

impl QuantFormat {
    /// The kernel format for a GGML type, if there is one.
    pub fn from_ggml(ty: GgmlType) -> Option<Self> {
        Some(match ty {
            GgmlType::Q4_K => Self::Q4K,
            GgmlType::Q5_0 => Self::Q5_0,
            GgmlType::Q6_K => Self::Q6K,
            GgmlType::Q8_0 => Self::Q8_0,
            _ => return None,
        })
    }

    /// The GGML type this format is stored as.
    pub fn ggml(self) -> GgmlType {
        match self {
            Self::Q4K => GgmlType::Q4_K,
            Self::Q5_0 => GgmlType::Q5_0,
            Self::Q6K => GgmlType::Q6_K,
            Self::Q8_0 => GgmlType::Q8_0,
        }
    }

    /// Elements per block.
    pub const fn block_elems(self) -> usize {
        match self {
            Self::Q4K | Self::Q6K => 256,
            Self::Q5_0 | Self::Q8_0 => 32,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        match self {
            Self::Q4K => 144,
            Self::Q5_0 => 22,
            Self::Q6K => 210,
            Self::Q8_0 => 34,
        }
    }

    /// Bytes of one row of `cols` elements, or `None` if `cols` is not a whole
    /// number of blocks.
    pub const fn row_bytes(self, cols: usize) -> Option<usize> {
        if cols == 0 || cols % self.block_elems() != 0 {
            return None;
        }
        Some(cols / self.block_elems() * self.block_bytes())
    }

    /// The constant `z` in the unpacked values `u = q + z` (see
    /// [`super::unpack`]); Q4_K has float minimums per sub-block instead.
    pub(crate) const fn zero_point(self) -> u8 {
        match self {
            Self::Q4K => 0,
            Self::Q5_0 => 16,
            Self::Q6K => 32,
            Self::Q8_0 => 128,
        }
    }

    /// Whether the format has per-group float offsets (Q4_K's minimums).
    pub(crate) const fn has_offsets(self) -> bool {
        matches!(self, Self::Q4K)
    }

    /// Whether unpacked values can exceed 127 (Q8_0 stores `q + 128`), which
    /// rules out the saturating `maddubs` product on AVX2.
    pub(crate) const fn wide(self) -> bool {
        matches!(self, Self::Q8_0)
    }
}
