//! On-the-fly quantization of `f32` activation rows to `i8`.
//!
//! Each 32-element block gets its own scale `d = max|x| / 127` and values
//! `q = round(x / d)`, so the error of any element is at most `d / 2` — the
//! quantity the kernel tests derive their tolerances from. The layout is
//! chosen for the dot-product kernels, not for storage:
//!
//! - `vals`: the `i8` values, row after row;
//! - `scales`: `d` repeated for every 4-element *lane* (the unit a `vpdpbusd`
//!   or `maddubs`+`madd` product sums into one `i32`), so a register of lane
//!   sums is scaled by one load;
//! - `bias`: for weights stored as `u = q_w + z` (see [`super::unpack`]),
//!   `-z · Σ q` per lane, the starting value of each lane's integer sum, so
//!   that `bias + Σ u·q = Σ q_w·q` exactly and the zero point costs nothing;
//! - `sums`: `d · Σ q` per block, for Q4_K, whose per-sub-block minimums
//!   are not a multiple of the scale and cost a short float dot product
//!   instead.

use rayon::prelude::*;

use super::Isa;

/// Elements per activation block (one scale each).
pub(crate) const ACT_BLOCK: usize = 32;
/// Elements per lane (one `i32` partial sum in the SIMD kernels).
pub(crate) const LANE: usize = 4;
/// Elements per weight scale group (Q6_K's finest granularity).
pub(crate) const GROUP: usize = 16;

/// Below this many elements, quantizing on one thread is cheaper than splitting.
const PARALLEL_MIN_ELEMS: usize = 1 << 16;

/// `m` activation rows of `k` elements in the kernels' quantized layout.
#[derive(Debug, Default)]
pub(crate) struct QuantRows {
    k: usize,
    vals: Vec<i8>,
    scales: Vec<f32>,
    bias: Vec<i32>,
    sums: Vec<f32>,
}

/// `R` consecutive quantized activation rows (row `r` at `r * k`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActTile<'a, const R: usize> {
    pub k: usize,
    pub vals: &'a [i8],
    pub scales: &'a [f32],
    pub bias: &'a [i32],
}

impl QuantRows {
    /// Quantizes `x` (`m` rows of `k` elements, `k` a multiple of 32) for
    /// weights stored with constant zero point `zero` (0 if none).
    pub(crate) fn quantize(x: &[f32], k: usize, zero: u8, isa: Isa) -> QuantRows {
        debug_assert!(k > 0 && k % ACT_BLOCK == 0 && x.len() % k == 0);
        let m = x.len() / k;
        let mut rows = QuantRows {
            k,
            vals: vec![0; m * k],
            scales: vec![0.0; m * k / LANE],
            bias: vec![0; m * k / LANE],
            sums: vec![0.0; m * k / ACT_BLOCK],
        };
        let job = |(((x, vals), (scales, bias)), sums): RowJob<'_>| {
            let row = Row {
                vals,
                scales,
                bias,
                sums,
            };
            quantize_row(x, row, zero, isa)
        };
        if x.len() >= PARALLEL_MIN_ELEMS {
            x.par_chunks(k)
                .zip(rows.vals.par_chunks_mut(k))
                .zip(
                    rows.scales
                        .par_chunks_mut(k / LANE)
                        .zip(rows.bias.par_chunks_mut(k / LANE)),
                )
                .zip(rows.sums.par_chunks_mut(k / ACT_BLOCK))
                .for_each(job);
        } else {
            x.chunks(k)
                .zip(rows.vals.chunks_mut(k))
                .zip(
                    rows.scales
                        .chunks_mut(k / LANE)
                        .zip(rows.bias.chunks_mut(k / LANE)),
                )
                .zip(rows.sums.chunks_mut(k / ACT_BLOCK))
                .for_each(job);
        }
        rows
    }

    /// Elements per row.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// Row `i`'s `d · Σ q` per block.
    pub(crate) fn sums(&self, i: usize) -> &[f32] {
        &self.sums[i * self.k / ACT_BLOCK..(i + 1) * self.k / ACT_BLOCK]
    }

    /// Rows `i0..i0 + R`.
    #[inline]
    pub(crate) fn tile<const R: usize>(&self, i0: usize) -> ActTile<'_, R> {
        let k = self.k;
        ActTile {
            k,
            vals: &self.vals[i0 * k..(i0 + R) * k],
            scales: &self.scales[i0 * k / LANE..(i0 + R) * k / LANE],
            bias: &self.bias[i0 * k / LANE..(i0 + R) * k / LANE],
        }
    }
}

type RowJob<'a> = (
    ((&'a [f32], &'a mut [i8]), (&'a mut [f32], &'a mut [i32])),
    &'a mut [f32],
);

/// One row's outputs.
struct Row<'a> {
    vals: &'a mut [i8],
    scales: &'a mut [f32],
    bias: &'a mut [i32],
    sums: &'a mut [f32],
}

fn quantize_row(x: &[f32], row: Row<'_>, zero: u8, isa: Isa) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512Vnni if isa.is_supported() => {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            unsafe { quantize_row_avx2(x, row, zero) }
        }
        _ => quantize_row_portable(x, row, zero),
    }
}

/// The same code as [`quantize_row_portable`], compiled with AVX2 enabled so
/// that the compiler vectorizes it (rounding in particular is one instruction
/// there). The results are bit-identical: only `max`, exact integer sums and
/// per-element operations are involved.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn quantize_row_avx2(x: &[f32], row: Row<'_>, zero: u8) {
    quantize_row_portable(x, row, zero)
}

#[inline(always)]
fn quantize_row_portable(x: &[f32], row: Row<'_>, zero: u8) {
    let (xs, _) = x.as_chunks::<ACT_BLOCK>();
    let (qs, _) = row.vals.as_chunks_mut::<ACT_BLOCK>();
    let (ds, _) = row.scales.as_chunks_mut::<{ ACT_BLOCK / LANE }>();
    for ((x, q), lane_scales) in xs.iter().zip(qs.iter_mut()).zip(ds.iter_mut()) {
        let amax = x.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
        // `max` skips NaN and a block of infinities would quantize to zeros:
        // adding `Σ x·0` (NaN iff some x is not finite) keeps both visible in
        // the output instead of silently dropping them.
        let poison = x.iter().fold(0.0f32, |a, &v| a + v * 0.0);
        let d = amax / 127.0 + poison;
        let id = if d > 0.0 { 1.0 / d } else { 0.0 };
        for (q, &v) in q.iter_mut().zip(x) {
            // |v·id| <= 127 up to rounding, and `as` saturates anyway.
            *q = (v * id).round_ties_even() as i8;
        }
        *lane_scales = [d; ACT_BLOCK / LANE];
    }
    let (lanes, _) = row.vals.as_chunks::<LANE>();
    for (b, q) in row.bias.iter_mut().zip(lanes) {
        *b = -i32::from(zero) * q.iter().map(|&v| i32::from(v)).sum::<i32>();
    }
    let (blocks, _) = row.vals.as_chunks::<ACT_BLOCK>();
    let per_block = row.scales.iter().step_by(ACT_BLOCK / LANE);
    for ((s, q), d) in row.sums.iter_mut().zip(blocks).zip(per_block) {
        *s = d * q.iter().map(|&v| i32::from(v)).sum::<i32>() as f32;
    }
}
