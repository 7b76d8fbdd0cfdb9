//! GGML tensor element types and their dequantization to `f32`.
//!
//! The block layouts mirror ggml's `ggml-common.h` byte for byte, because GGUF files store
//! tensors in exactly those layouts. The fixtures in `tests/reference/quant` were produced by
//! an independent implementation (the `gguf` Python package) and pin every format down.
//!
//! Raw blocks stay available through [`crate::gguf::TensorView`] so that fast quantized
//! kernels can consume them without going through `f32`.

mod float;
mod kquants;
mod legacy;
mod types;

pub use types::GgmlType;

use rayon::prelude::*;

/// Why a buffer could not be dequantized.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuantError {
    /// The type is known (its size is), but no `f32` conversion is implemented for it.
    #[error("dequantization of {0:?} is not supported")]
    Unsupported(GgmlType),
    /// Quantized types store whole blocks; a partial block cannot be decoded.
    #[error("{n_elems} elements is not a multiple of the {ty:?} block size {block}")]
    PartialBlock {
        ty: GgmlType,
        n_elems: usize,
        block: usize,
    },
    /// The input does not hold exactly the bytes that `n_elems` elements need.
    #[error("{ty:?}: {n_elems} elements need {expected} bytes, got {actual}")]
    InputLength {
        ty: GgmlType,
        n_elems: usize,
        expected: usize,
        actual: usize,
    },
    /// The output slice must have room for exactly `n_elems` values.
    #[error("output holds {actual} values, expected {expected}")]
    OutputLength { expected: usize, actual: usize },
}

/// Below this many blocks a single thread is faster than splitting the work.
const PARALLEL_MIN_BLOCKS: usize = 1 << 12;

/// Decode `n_elems` elements of type `ty` from `bytes` into `out`.
///
/// `bytes` must be exactly `ty.bytes_for(n_elems)` long and `out` exactly `n_elems` long:
/// a length mismatch almost always means the caller computed a wrong shape, so it is reported
/// rather than silently truncated. Large buffers are decoded on the rayon pool.
pub fn dequantize(
    ty: GgmlType,
    bytes: &[u8],
    n_elems: usize,
    out: &mut [f32],
) -> Result<(), QuantError> {
    if out.len() != n_elems {
        return Err(QuantError::OutputLength {
            expected: n_elems,
            actual: out.len(),
        });
    }
    let block = ty.block_size();
    if !n_elems.is_multiple_of(block) {
        return Err(QuantError::PartialBlock { ty, n_elems, block });
    }
    // `n_elems` is the length of a real slice, so the byte count cannot overflow; the
    // fallback only keeps this free of panics.
    let expected = ty.bytes_for(n_elems).unwrap_or(usize::MAX);
    if bytes.len() != expected {
        return Err(QuantError::InputLength {
            ty,
            n_elems,
            expected,
            actual: bytes.len(),
        });
    }
    let kernel = kernel(ty).ok_or(QuantError::Unsupported(ty))?;
    let type_size = ty.type_size();
    let n_blocks = n_elems / block;
    if n_blocks >= PARALLEL_MIN_BLOCKS {
        // Chunks of whole blocks so that every task decodes a contiguous run.
        let per_task = 256;
        bytes
            .par_chunks(per_task * type_size)
            .zip(out.par_chunks_mut(per_task * block))
            .for_each(|(src, dst)| run_blocks(kernel, type_size, block, src, dst));
    } else {
        run_blocks(kernel, type_size, block, bytes, out);
    }
    Ok(())
}

/// Decodes one block: `src` is exactly `type_size` bytes, `dst` exactly `block_size` values.
type BlockKernel = fn(&[u8], &mut [f32]);

fn run_blocks(kernel: BlockKernel, type_size: usize, block: usize, src: &[u8], dst: &mut [f32]) {
    for (s, d) in src.chunks_exact(type_size).zip(dst.chunks_exact_mut(block)) {
        kernel(s, d);
    }
}

fn kernel(ty: GgmlType) -> Option<BlockKernel> {
    Some(match ty {
        GgmlType::F32 => float::f32_block,
        GgmlType::F16 => float::f16_block,
        GgmlType::BF16 => float::bf16_block,
        GgmlType::Q4_0 => legacy::q4_0_block,
        GgmlType::Q5_0 => legacy::q5_0_block,
        GgmlType::Q8_0 => legacy::q8_0_block,
        GgmlType::Q4_K => kquants::q4_k_block,
        GgmlType::Q5_K => kquants::q5_k_block,
        GgmlType::Q6_K => kquants::q6_k_block,
        GgmlType::Q8_K => kquants::q8_k_block,
        _ => return None,
    })
}

/// Little-endian IEEE half at `b[0..2]`; callers index within a block of known size.
#[inline]
fn f16_at(b: &[u8], at: usize) -> f32 {
    half::f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

#[cfg(test)]
mod tests;
