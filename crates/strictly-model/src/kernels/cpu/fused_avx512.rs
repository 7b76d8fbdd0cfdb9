//! Decoding's products straight from the GGUF blocks (AVX-512 VNNI).
//!
//! With a few activation rows, an unpacked weight row serves almost
//! nothing, so going through the panel ([`super::unpack`]) only adds a store
//! and a reload of every weight byte and scale. Here the blocks of a row are
//! expanded in registers to bytes and per-lane scales and fed straight to
//! `vpdpbusd`, 64 elements (two 32-element blocks) per step, for every
//! activation row in turn. Results equal the panel path's up to the order of
//! `f32` additions.
//!
//! The activations come in [`super::act::FusedRows`]' compact layout, and
//! whatever a step can do for all rows at once it does once: weights with a
//! zero point (Q5_0, Q6_K, Q8_0) are expanded to signed bytes `q` and
//! multiplied with the activations biased to `q + 128`, the excess
//! `128 · Σ q_w` of each lane being one more `vpdpbusd` per step; the
//! products of the weight and activation block scales of every row are one
//! multiplication. Per row and step there remain a load, the `vpdpbusd`, a
//! conversion, a permutation (the row's scales) and a fused multiply-add.
//! Q4_K's unsigned values multiply the signed activations directly, its
//! minimums being one short dot product with the activations' block sums per
//! super-block.
//!
//! Q5_0 and Q8_0 go two blocks per step; Q4_K and Q6_K a 256-element
//! super-block in four steps.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantFormat;
use super::act::{ACT_BLOCK, ActTile, FusedTile, LANE};
use super::fused_blocks::{one_block, q4_k_block, q6_k_block, two_blocks};

/// Whether [`rows`] handles `format`.
pub(super) fn supports(format: QuantFormat) -> bool {
    matches!(
        format,
        QuantFormat::Q5_0 | QuantFormat::Q8_0 | QuantFormat::Q4K | QuantFormat::Q6K
    )
}

/// Whether [`rows`] wants the activations of `format` biased (see
/// [`super::act::FusedRows`]): every format but Q4_K.
pub(super) fn biased(format: QuantFormat) -> bool {
    format != QuantFormat::Q4K
}

/// Calls `emit(r, dots)` for every row `r` of `src` (whole rows of
/// `x.k` elements of `format`, one of [`supports`]), `dots[i]` being the
/// product of that row with activation row `i`.
///
/// # Panics
/// If `src` is not whole rows of `x.k` elements (a multiple of 32), `x` not
/// `M` rows of them biased as [`biased`] says, `M` more than 8 (a step's
/// scales of every row fill one register), or `format` unsupported.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) fn rows<const M: usize>(
    format: QuantFormat,
    src: &[u8],
    x: &FusedTile<'_, M>,
    mut emit: impl FnMut(usize, [f32; M]),
) {
    let k = x.k;
    let row_bytes = checked_row_bytes(format, k, src);
    // With the checks there, everything the pointer arithmetic relies on.
    assert!((1..=8).contains(&M) && x.biased == biased(format));
    assert!(x.vals.len() == M * k && x.scales.len() == M * k / ACT_BLOCK);
    assert!(x.sums.len() == M * k / ACT_BLOCK);
    for (r, weights) in src.chunks_exact(row_bytes).enumerate() {
        // SAFETY: a whole row of `x.k` elements (checked above).
        emit(r, unsafe { row(format, weights.as_ptr(), x) });
    }
}

/// Bytes of a row of `k` elements of `format`.
///
/// # Panics
/// If `format` is unsupported, `k` not a positive multiple of its blocks (and
/// of 32), or `src` not whole rows.
fn checked_row_bytes(format: QuantFormat, k: usize, src: &[u8]) -> usize {
    let elems = format.block_elems();
    assert!(supports(format) && k > 0 && k % elems == 0 && k % ACT_BLOCK == 0);
    let row_bytes = k / elems * format.block_bytes();
    assert!(src.len() % row_bytes == 0);
    row_bytes
}

/// The products of the weight row at `p` with every row of `x`.
///
/// # Safety
/// A whole row of `x.k` elements of `format` must be readable at `p`, the
/// format, `M` and `x` as [`rows`] checks.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn row<const M: usize>(format: QuantFormat, p: *const u8, x: &FusedTile<'_, M>) -> [f32; M] {
    let k = x.k;
    let per_row = k / ACT_BLOCK;
    let block = format.block_bytes();
    let mut acc = [_mm512_setzero_ps(); M];
    let mut offsets = [_mm256_setzero_ps(); M];
    // Row `i`'s scales in a step are one permutation of all rows' (see
    // [`scale_products`]). Hidden from the optimizer, which would otherwise
    // turn each into two shuffles.
    let picks: [__m512i; M] = std::hint::black_box(std::array::from_fn(|i| spread(i, M + i)));
    // The scales of blocks `b` and, if `two`, `b + 1` of every row.
    // SAFETY (callers): those blocks lie inside every row.
    let block_scales = |b: usize, two: bool| unsafe {
        let lanes = if two { 2 * M } else { M };
        _mm512_maskz_loadu_ps(((1u32 << lanes) - 1) as u16, x.scales.as_ptr().add(b * M))
    };
    match format {
        QuantFormat::Q5_0 | QuantFormat::Q8_0 => {
            for pair in 0..k / 64 {
                // SAFETY: blocks 2·pair and 2·pair + 1 lie inside the row,
                // elements 64·pair.. + 64 inside every activation row, and so
                // do their two block scales.
                unsafe {
                    let (w, ws) = two_blocks::<true>(format, p.add(2 * pair * block));
                    let products = scale_products::<M>(ws, 0, 1, block_scales(2 * pair, true));
                    let s = |i: usize| _mm512_permutexvar_ps(picks[i], products);
                    step::<M, true>(&mut acc, x, 64 * pair, w, s, !0);
                }
            }
            if k % 64 == 32 {
                // SAFETY: the last block lies inside the row, the last 32
                // elements and block scale inside every activation row; the
                // masks read no more.
                unsafe {
                    let (w, ws) = one_block::<true>(format, p.add((per_row - 1) * block));
                    let xs = block_scales(per_row - 1, false);
                    let products = scale_products::<M>(ws, 0, 1, xs);
                    let s = |i: usize| _mm512_permutexvar_ps(picks[i], products);
                    step::<M, true>(&mut acc, x, k - 32, w, s, 0xffff_ffff);
                }
            }
        }
        QuantFormat::Q6K => {
            for sb in 0..k / 256 {
                // SAFETY: super-block `sb` lies inside the row, elements
                // 256·sb.. + 256 and their 8 block scales inside every
                // activation row.
                unsafe {
                    for (c, (w, ws)) in q6_k_block::<true>(p.add(sb * block))
                        .into_iter()
                        .enumerate()
                    {
                        let xs = block_scales(8 * sb + 2 * c, true);
                        let s = |i: usize| _mm512_mul_ps(ws, _mm512_permutexvar_ps(picks[i], xs));
                        step::<M, true>(&mut acc, x, 256 * sb + 64 * c, w, s, !0);
                    }
                }
            }
        }
        QuantFormat::Q4K => {
            for sb in 0..k / 256 {
                // SAFETY: as for Q6_K; the 8 block sums of super-block `sb`
                // lie inside every activation row's sums.
                unsafe {
                    let (steps, ws, mins) = q4_k_block(p.add(sb * block));
                    for (c, u) in steps.into_iter().enumerate() {
                        let xs = block_scales(8 * sb + 2 * c, true);
                        // Sub-blocks 2c and 2c + 1.
                        let products = scale_products::<M>(ws, 4 * c, 4 * c + 2, xs);
                        let s = |i: usize| _mm512_permutexvar_ps(picks[i], products);
                        step::<M, false>(&mut acc, x, 256 * sb + 64 * c, u, s, !0);
                    }
                    for (i, off) in offsets.iter_mut().enumerate() {
                        let sums = _mm256_loadu_ps(x.sums.as_ptr().add(i * per_row + 8 * sb));
                        *off = _mm256_fmadd_ps(mins, sums, *off);
                    }
                }
            }
        }
    }
    let mut dots = [0.0f32; M];
    for i in 0..M {
        dots[i] =
            _mm512_reduce_add_ps(acc[i]) - _mm512_reduce_add_ps(_mm512_zextps256_ps512(offsets[i]));
    }
    dots
}

/// Lanes 0..8 hold `lo`, lanes 8..16 `hi`.
#[inline]
#[target_feature(enable = "avx512f")]
fn spread(lo: usize, hi: usize) -> __m512i {
    _mm512_mask_blend_epi32(
        0xff00,
        _mm512_set1_epi32(lo as i32),
        _mm512_set1_epi32(hi as i32),
    )
}

/// One step's combined scales for every row: lane `i` holds weight scale
/// `ws[lo]` times row `i`'s first block scale (for lanes 0..8 of the row's
/// products), lane `M + i` `ws[hi]` times its second (for lanes 8..16), the
/// block scales `xs` coming as [`FusedTile::scales`] holds them. One
/// multiplication serves all rows.
#[inline]
#[target_feature(enable = "avx512f")]
fn scale_products<const M: usize>(ws: __m512, lo: usize, hi: usize, xs: __m512) -> __m512 {
    let first = ((1u32 << M) - 1) as u16;
    let index = _mm512_mask_blend_epi32(
        !first,
        _mm512_set1_epi32(lo as i32),
        _mm512_set1_epi32(hi as i32),
    );
    _mm512_mul_ps(_mm512_permutexvar_ps(index, ws), xs)
}

/// Adds `Σ_lanes s(i)·Σ w·q` over the 64 (or, by the mask, 32) elements
/// from `at` of every activation row `i` to `acc[i]`. With `SIGNED`, `w`
/// holds signed weights and the activations are biased; otherwise `w` is
/// unsigned and the activations are not.
///
/// # Safety
/// The elements selected by the mask from `at` must lie inside every row of
/// `x`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn step<const M: usize, const SIGNED: bool>(
    acc: &mut [__m512; M],
    x: &FusedTile<'_, M>,
    at: usize,
    w: __m512i,
    s: impl Fn(usize) -> __m512,
    bytes: __mmask64,
) {
    let k = x.k;
    let zero = _mm512_setzero_si512();
    // `Σ (q + 128)·w = Σ q·w + 128·Σ w`: start every lane at `-128·Σ w`.
    let start = if SIGNED {
        _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(-128), w))
    } else {
        zero
    };
    for (i, acc) in acc.iter_mut().enumerate() {
        // SAFETY: in bounds per the contract; masked-out elements are not read.
        let xv = unsafe { _mm512_maskz_loadu_epi8(bytes, x.vals.as_ptr().add(i * k + at).cast()) };
        let dot = if SIGNED {
            _mm512_dpbusd_epi32(start, xv, w)
        } else {
            _mm512_dpbusd_epi32(start, w, xv)
        };
        *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), s(i), *acc);
    }
}

/// [`rows`] for one activation row, in the panel's activation layout
/// ([`ActTile`]: unsigned weights, per-lane scales and zero-point biases in
/// memory). With a single row, loading those costs less than working them out
/// per step as [`rows`] does for all rows at once, so the decoding of one
/// token keeps this leaner loop.
///
/// # Panics
/// As [`rows`], for `x` one row of `x.k` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) fn rows_one(
    format: QuantFormat,
    src: &[u8],
    x: &ActTile<'_, 1>,
    mut emit: impl FnMut(usize, f32),
) {
    let k = x.k;
    let row_bytes = checked_row_bytes(format, k, src);
    let (blocks, block) = (k / format.block_elems(), format.block_bytes());
    // With the checks there, everything the pointer arithmetic relies on.
    assert!(x.vals.len() == k && x.scales.len() == k / LANE);
    assert!(x.bias.len() == k / LANE && x.sums.len() == k / ACT_BLOCK);
    let pair = spread(0, 1);
    for (r, row) in src.chunks_exact(row_bytes).enumerate() {
        let mut acc = _mm512_setzero_ps();
        let mut offsets = _mm256_setzero_ps();
        let p = row.as_ptr();
        match format {
            QuantFormat::Q5_0 | QuantFormat::Q8_0 => {
                for b in 0..blocks / 2 {
                    // SAFETY: blocks 2b and 2b + 1 lie inside the row,
                    // elements 64b.. + 64 inside the activation row.
                    unsafe {
                        let (u, ws) = two_blocks::<false>(format, p.add(2 * b * block));
                        let ws = _mm512_permutexvar_ps(pair, ws);
                        accumulate_one(&mut acc, x, 64 * b, u, ws, !0, !0);
                    }
                }
                if blocks % 2 == 1 {
                    // SAFETY: the last block lies inside the row, the last 32
                    // elements inside the activation row; the masks read no
                    // more.
                    unsafe {
                        let (u, ws) = one_block::<false>(format, p.add((blocks - 1) * block));
                        let ws = _mm512_permutexvar_ps(pair, ws);
                        accumulate_one(&mut acc, x, k - 32, u, ws, 0xffff_ffff, 0xff);
                    }
                }
            }
            QuantFormat::Q6K => {
                for sb in 0..blocks {
                    // SAFETY: super-block `sb` lies inside the row, elements
                    // 256·sb.. + 256 inside the activation row.
                    unsafe {
                        let steps = q6_k_block::<false>(p.add(sb * block));
                        for (c, (u, ws)) in steps.into_iter().enumerate() {
                            accumulate_one(&mut acc, x, 256 * sb + 64 * c, u, ws, !0, !0);
                        }
                    }
                }
            }
            QuantFormat::Q4K => {
                for sb in 0..blocks {
                    // SAFETY: as for Q6_K; the 8 block sums of super-block
                    // `sb` lie inside the activation row's sums.
                    unsafe {
                        let (steps, scales, mins) = q4_k_block(p.add(sb * block));
                        for (c, u) in steps.into_iter().enumerate() {
                            // Sub-blocks 2c and 2c + 1.
                            let ws = _mm512_permutexvar_ps(spread(4 * c, 4 * c + 2), scales);
                            accumulate_one(&mut acc, x, 256 * sb + 64 * c, u, ws, !0, !0);
                        }
                        let sums = _mm256_loadu_ps(x.sums.as_ptr().add(8 * sb));
                        offsets = _mm256_fmadd_ps(mins, sums, offsets);
                    }
                }
            }
        }
        emit(
            r,
            _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(_mm512_zextps256_ps512(offsets)),
        );
    }
}

/// Adds `Σ_lanes ws·xs·(bias + Σ u·q)` over the 64 (or, by the masks, 32)
/// elements from `at` of the activation row to `acc`.
///
/// # Safety
/// The elements and lanes selected by the masks from `at` must lie inside
/// the row `x`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn accumulate_one(
    acc: &mut __m512,
    x: &ActTile<'_, 1>,
    at: usize,
    u: __m512i,
    ws: __m512,
    bytes: __mmask64,
    lanes: __mmask16,
) {
    // SAFETY: in bounds per the contract; masked-out elements are not read.
    let (xv, xs, bias) = unsafe {
        (
            _mm512_maskz_loadu_epi8(bytes, x.vals.as_ptr().add(at)),
            _mm512_maskz_loadu_ps(lanes, x.scales.as_ptr().add(at / LANE)),
            _mm512_maskz_loadu_epi32(lanes, x.bias.as_ptr().add(at / LANE)),
        )
    };
    let dot = _mm512_dpbusd_epi32(bias, u, xv);
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, xs), *acc);
}
