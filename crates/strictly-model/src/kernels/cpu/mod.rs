//! Quantized-weight × `f32`-activation matrix products on the CPU.
//!
//! The approach is llama.cpp's: activations are quantized on the fly to `i8`
//! in 32-element blocks ([`act`]), weight blocks are unpacked to unsigned
//! bytes ([`unpack`]; in registers, with no panel, when decoding on AVX-512
//! VNNI: [`fused_avx512`]), and the products are integer dot products (`vpdpbusd`
//! on AVX-512 VNNI, `maddubs` on AVX2, plain Rust elsewhere) scaled in `f32`
//! ([`micro`]). Memory traffic stays at the quantized size (≈0.6 bytes per
//! weight for Q4_K/Q5_0), which is what bounds single-row decoding.
//!
//! The instruction set is detected at run time ([`Isa::best`]); every kernel
//! can also be forced ([`matmul_with`]) so that tests cover all paths.

mod act;
mod format;
#[cfg(target_arch = "x86_64")]
mod fused_avx512;
#[cfg(target_arch = "x86_64")]
mod fused_blocks;
mod gemm;
mod isa;
mod micro;
#[cfg(target_arch = "x86_64")]
mod micro_avx2;
#[cfg(target_arch = "x86_64")]
mod micro_avx512;
mod offsets;
mod unpack;
#[cfg(target_arch = "x86_64")]
mod unpack_avx2;

#[cfg(test)]
mod tests;

pub use format::QuantFormat;
pub use isa::Isa;

use crate::quant::{GgmlType, QuantError};

/// Why a quantized product cannot run.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// No kernel reads this GGML type.
    #[error("no quantized kernel for {0:?} weights")]
    UnsupportedType(GgmlType),
    /// Rows must be whole blocks (and non-empty).
    #[error("{format:?} rows of {cols} elements are not a whole number of {block}-element blocks")]
    PartialBlock {
        format: QuantFormat,
        cols: usize,
        block: usize,
    },
    /// The weight bytes do not match the shape.
    #[error("{rows}×{cols} {format:?} weights need {expected} bytes, got {actual}")]
    WeightLength {
        format: QuantFormat,
        rows: usize,
        cols: usize,
        expected: usize,
        actual: usize,
    },
    /// The activations are not whole rows.
    #[error("{len} activation values are not whole rows of {cols}")]
    ActivationLength { len: usize, cols: usize },
    /// The output does not have one value per (activation row, weight row).
    #[error("output holds {actual} values, expected {expected}")]
    OutputLength { expected: usize, actual: usize },
    /// A row index past the end of the matrix.
    #[error("row {row} is out of range for a matrix of {rows} rows")]
    RowOutOfRange { row: usize, rows: usize },
    /// Decoding blocks to `f32` failed.
    #[error(transparent)]
    Dequantize(#[from] QuantError),
    /// A forced instruction set that this CPU lacks.
    #[error("this CPU does not support the {0:?} kernels")]
    UnsupportedIsa(Isa),
}

/// A borrowed, validated row-major quantized matrix: `rows` rows of `cols`
/// elements, each row a run of whole blocks (GGUF's layout for a
/// `[rows, cols]` weight, i.e. ggml dims `[cols, rows]`).
#[derive(Debug, Clone, Copy)]
pub struct QuantWeights<'a> {
    format: QuantFormat,
    rows: usize,
    cols: usize,
    data: &'a [u8],
}

impl<'a> QuantWeights<'a> {
    /// Checks that `data` holds exactly `rows × cols` elements of `ty`.
    pub fn new(
        ty: GgmlType,
        rows: usize,
        cols: usize,
        data: &'a [u8],
    ) -> Result<Self, KernelError> {
        let format = QuantFormat::from_ggml(ty).ok_or(KernelError::UnsupportedType(ty))?;
        let row_bytes = format.row_bytes(cols).ok_or(KernelError::PartialBlock {
            format,
            cols,
            block: format.block_elems(),
        })?;
        let expected = rows.checked_mul(row_bytes);
        if expected != Some(data.len()) {
            return Err(KernelError::WeightLength {
                format,
                rows,
                cols,
                expected: expected.unwrap_or(usize::MAX),
                actual: data.len(),
            });
        }
        Ok(QuantWeights {
            format,
            rows,
            cols,
            data,
        })
    }

    pub fn format(&self) -> QuantFormat {
        self.format
    }

    /// Output features (weight rows).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features (elements per row).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The raw blocks.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.data.len() / self.rows.max(1)
    }

    /// Rows `start..end` as a matrix of their own (for vocabulary slices).
    pub fn slice_rows(&self, start: usize, end: usize) -> Option<QuantWeights<'a>> {
        if start > end || end > self.rows {
            return None;
        }
        let rb = self.format.row_bytes(self.cols)?;
        Some(QuantWeights {
            format: self.format,
            rows: end - start,
            cols: self.cols,
            data: self.data.get(start * rb..end * rb)?,
        })
    }
}

/// `out = x · Wᵀ`: `x` holds `m` rows of `w.cols()` values, `out` receives
/// `m` rows of `w.rows()` values. Runs on the rayon pool with the best
/// instruction set of this CPU.
///
/// Activations are quantized to `i8` per 32 values, so each result differs
/// from the exact product by at most `Σ_i |w_i| · max|x_block(i)| / 254`
/// (plus `f32` rounding), the same trade llama.cpp makes.
pub fn matmul(w: QuantWeights<'_>, x: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
    gemm::matmul(Isa::best(), w, x, out)
}

/// `outs[p] = x · ws[p]ᵀ` for several matrices with the same number of
/// columns (e.g. the query, key and value projections of one input), in one
/// parallel pass; each result equals [`matmul`]'s.
pub fn matmul_many(
    ws: &[QuantWeights<'_>],
    x: &[f32],
    outs: &mut [&mut [f32]],
) -> Result<(), KernelError> {
    gemm::matmul_many(Isa::best(), ws, x, outs)
}

/// Most activation rows for which [`matmul_many`] (on `isa`, with weights
/// of `format` and `k` columns) gives each row exactly the result it gets
/// alone. A model whose every product stays within it computes a token's
/// logits the same way however many tokens share its step.
pub fn row_invariant_rows(isa: Isa, format: QuantFormat, k: usize) -> usize {
    gemm::row_invariant_rows(isa, format, k)
}

/// [`matmul`] with a chosen instruction set (tests and benchmarks).
pub fn matmul_with(
    isa: Isa,
    w: QuantWeights<'_>,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), KernelError> {
    gemm::matmul(isa, w, x, out)
}
