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
    /// `d · Σ q` per 32-element block (for Q4_K's offsets).
    pub sums: &'a [f32],
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
            sums: &self.sums[i0 * k / ACT_BLOCK..(i0 + R) * k / ACT_BLOCK],
        }
    }
}

/// `m` activation rows as the fused AVX-512 kernels read them
/// ([`super::fused_avx512`]): the values and one scale per 32-element block,
/// about 1.1 bytes per element against the panel layout's 3, so that the
/// rows of a long input (4864 elements for the MLP's down projection) stay
/// in L1 while the weight rows stream past them.
///
/// For weights the kernels expand to signed bytes, `vals` holds `q + 128`
/// (`biased`): `vpdpbusd` multiplies unsigned by signed bytes, and the
/// `128 · Σ w` this adds depends on the weights only, so it is taken off once
/// per weight step for all rows. For Q4_K, whose weights are unsigned,
/// `vals` holds `q` itself.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Default)]
pub(crate) struct FusedRows {
    k: usize,
    m: usize,
    biased: bool,
    vals: Vec<u8>,
    scales: Vec<f32>,
    sums: Vec<f32>,
}

/// The `R` rows of a [`FusedRows`]: values and sums row after row (row `r`
/// at `r * k` and `r * k / 32`), scales block after block (block `b` of row
/// `r` at `b * R + r`, so that one load gives a step's scales for every row).
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct FusedTile<'a, const R: usize> {
    pub k: usize,
    /// Whether `vals` are `q + 128`.
    pub biased: bool,
    pub vals: &'a [u8],
    /// `d` per 32-element block, block-major.
    pub scales: &'a [f32],
    /// `d · Σ q` per 32-element block (for Q4_K's offsets).
    pub sums: &'a [f32],
}

#[cfg(target_arch = "x86_64")]
impl FusedRows {
    /// The same quantization as `q`'s (made with any zero point), in the fused
    /// kernels' layout.
    pub(crate) fn from_quant(q: &QuantRows, biased: bool) -> FusedRows {
        let flip = if biased { 0x80 } else { 0 };
        let (k, blocks) = (q.k, q.k / ACT_BLOCK);
        let m = q.vals.len() / k;
        // Row-major `d` per block, then block-major.
        let per_block: Vec<f32> = q.scales.iter().step_by(ACT_BLOCK / LANE).copied().collect();
        let scales = (0..blocks * m)
            .map(|j| per_block[(j % m) * blocks + j / m])
            .collect();
        FusedRows {
            k,
            m,
            biased,
            vals: q.vals.iter().map(|&v| v as u8 ^ flip).collect(),
            scales,
            sums: q.sums.clone(),
        }
    }

    /// All rows, of which there must be `R`.
    #[inline]
    pub(crate) fn tile<const R: usize>(&self) -> FusedTile<'_, R> {
        assert_eq!(R, self.m, "a tile of every row");
        FusedTile {
            k: self.k,
            biased: self.biased,
            vals: &self.vals,
            scales: &self.scales,
            sums: &self.sums,
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
        Isa::Avx512Vnni if isa.is_supported() => {
            // SAFETY: the CPU supports AVX-512 F/BW/VL (checked just above).
            unsafe { quantize_row_avx512(x, row, zero) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if isa.is_supported() => {
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

/// [`quantize_row_portable`] with explicit AVX-512: one block is two
/// registers, reduced and packed in place (the compiler, left alone,
/// vectorizes across blocks with gathers). Same results, bit for bit.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
fn quantize_row_avx512(x: &[f32], row: Row<'_>, zero: u8) {
    use std::arch::x86_64::*;

    let (xs, _) = x.as_chunks::<ACT_BLOCK>();
    let (qs, _) = row.vals.as_chunks_mut::<ACT_BLOCK>();
    let (ds, _) = row.scales.as_chunks_mut::<{ ACT_BLOCK / LANE }>();
    let (bs, _) = row.bias.as_chunks_mut::<{ ACT_BLOCK / LANE }>();
    let ones = _mm256_set1_epi8(1);
    let neg_zero = _mm256_set1_epi32(-i32::from(zero));
    let blocks = xs
        .iter()
        .zip(qs.iter_mut())
        .zip(ds.iter_mut().zip(bs.iter_mut()));
    for (((x, q), (lane_scales, bias)), sum) in blocks.zip(row.sums.iter_mut()) {
        // SAFETY: `x` is 32 floats: two 16-float loads.
        let (v0, v1) = unsafe {
            (
                _mm512_loadu_ps(x.as_ptr()),
                _mm512_loadu_ps(x.as_ptr().add(16)),
            )
        };
        let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        let zero_ps = _mm512_setzero_ps();
        let poison = _mm512_reduce_add_ps(_mm512_add_ps(
            _mm512_mul_ps(v0, zero_ps),
            _mm512_mul_ps(v1, zero_ps),
        ));
        // `max_ps` returns its second operand when one is NaN, so unlike
        // `f32::max` a NaN can reach `amax`; `poison` is NaN then anyway.
        let d = amax / 127.0 + poison;
        let id = if d > 0.0 { 1.0 / d } else { 0.0 };
        let idv = _mm512_set1_ps(id);
        let round = |v: __m512| {
            let r = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm512_mul_ps(v, idv),
            );
            // `as i8` maps NaN to 0; the conversion would give -128.
            let r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_ORD_Q>(r, r), r);
            _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(r))
        };
        let packed = _mm256_set_m128i(round(v1), round(v0));
        // SAFETY: `q` is 32 bytes.
        unsafe { _mm256_storeu_si256(q.as_mut_ptr().cast(), packed) };
        *lane_scales = [d; ACT_BLOCK / LANE];
        // Σ q over each 4-element lane: a dot product with ones.
        let lane_sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, packed);
        // SAFETY: `bias` is 8 lanes.
        unsafe {
            _mm256_storeu_si256(
                bias.as_mut_ptr().cast(),
                _mm256_mullo_epi32(lane_sums, neg_zero),
            )
        };
        let total = _mm512_reduce_add_epi32(_mm512_zextsi256_si512(lane_sums));
        *sum = d * total as f32;
    }
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
