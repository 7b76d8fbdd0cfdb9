//! Decoding's products straight from the GGUF blocks (AVX-512 VNNI).
//!
//! With one to three activation rows, an unpacked weight row serves almost
//! nothing, so going through the panel ([`super::unpack`]) only adds a store
//! and a reload of every weight byte and scale. Here the blocks of a row are
//! expanded in registers to the same unsigned bytes, zero points and scales
//! the panel would hold and fed straight to `vpdpbusd`, 64 elements (two
//! 32-element blocks) per step. Results equal the panel path's up to the
//! order of `f32` additions.
//!
//! Q5_0 and Q8_0 go two blocks per step; Q4_K and Q6_K a 256-element
//! super-block in four steps, Q4_K's minimums as one short dot product with
//! the activations' block sums per super-block.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantFormat;
use super::act::{ACT_BLOCK, ActTile, LANE};
use super::unpack::q4_k_tables;

/// Whether [`rows`] handles `format`.
pub(super) fn supports(format: QuantFormat) -> bool {
    matches!(
        format,
        QuantFormat::Q5_0 | QuantFormat::Q8_0 | QuantFormat::Q4K | QuantFormat::Q6K
    )
}

/// Calls `emit(r, dots)` for every row `r` of `src` (whole rows of
/// `x.k` elements of `format`, one of [`supports`]), `dots[i]` being the
/// product of that row with activation row `i`.
///
/// # Panics
/// If `src` is not whole rows of `x.k` elements (a multiple of 32), `x` not
/// `M` rows of them, or `format` unsupported.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) fn rows<const M: usize>(
    format: QuantFormat,
    src: &[u8],
    x: &ActTile<'_, M>,
    mut emit: impl FnMut(usize, [f32; M]),
) {
    let k = x.k;
    let elems = format.block_elems();
    let blocks = k / elems;
    let block = format.block_bytes();
    let row_bytes = blocks * block;
    // Everything the pointer arithmetic below relies on.
    assert!(supports(format) && k > 0 && k % elems == 0 && k % ACT_BLOCK == 0);
    assert!(src.len() % row_bytes == 0);
    assert!(x.vals.len() == M * k && x.scales.len() == M * k / LANE);
    assert!(x.bias.len() == M * k / LANE && x.sums.len() == M * k / ACT_BLOCK);
    for (r, row) in src.chunks_exact(row_bytes).enumerate() {
        let mut acc = [_mm512_setzero_ps(); M];
        let mut offsets = [_mm256_setzero_ps(); M];
        let p = row.as_ptr();
        match format {
            QuantFormat::Q5_0 | QuantFormat::Q8_0 => {
                for pair in 0..blocks / 2 {
                    // SAFETY: blocks 2·pair and 2·pair + 1 lie inside the
                    // row, elements 64·pair.. + 64 inside every activation row.
                    unsafe {
                        let (u, ws) = match format {
                            QuantFormat::Q5_0 => q5_0_pair(p.add(2 * pair * block)),
                            _ => q8_0_pair(p.add(2 * pair * block)),
                        };
                        accumulate(&mut acc, x, 64 * pair, u, ws, !0, !0);
                    }
                }
                if blocks % 2 == 1 {
                    // SAFETY: the last block lies inside the row, the last 32
                    // elements inside every activation row; the masks read no
                    // more.
                    unsafe {
                        let (u, ws) = match format {
                            QuantFormat::Q5_0 => q5_0_one(p.add((blocks - 1) * block)),
                            _ => q8_0_one(p.add((blocks - 1) * block)),
                        };
                        accumulate(&mut acc, x, k - 32, u, ws, 0xffff_ffff, 0xff);
                    }
                }
            }
            QuantFormat::Q6K => {
                for sb in 0..blocks {
                    // SAFETY: super-block `sb` lies inside the row, elements
                    // 256·sb.. + 256 inside every activation row.
                    unsafe {
                        for (c, (u, ws)) in q6_k_block(p.add(sb * block)).into_iter().enumerate() {
                            accumulate(&mut acc, x, 256 * sb + 64 * c, u, ws, !0, !0);
                        }
                    }
                }
            }
            QuantFormat::Q4K => {
                for sb in 0..blocks {
                    // SAFETY: as for Q6_K; the 8 block sums of super-block
                    // `sb` lie inside every activation row's sums.
                    unsafe {
                        let (steps, mins) = q4_k_block(p.add(sb * block));
                        for (c, (u, ws)) in steps.into_iter().enumerate() {
                            accumulate(&mut acc, x, 256 * sb + 64 * c, u, ws, !0, !0);
                        }
                        for (i, off) in offsets.iter_mut().enumerate() {
                            let sums =
                                _mm256_loadu_ps(x.sums.as_ptr().add(i * k / ACT_BLOCK + 8 * sb));
                            *off = _mm256_fmadd_ps(mins, sums, *off);
                        }
                    }
                }
            }
        }
        let mut dots = [0.0f32; M];
        for i in 0..M {
            dots[i] = _mm512_reduce_add_ps(acc[i])
                - _mm512_reduce_add_ps(_mm512_zextps256_ps512(offsets[i]));
        }
        emit(r, dots);
    }
}

/// Adds `Σ_lanes ws·xs·(bias + Σ u·q)` over the 64 (or, by the masks, 32)
/// elements from `at` of every activation row to `acc`.
///
/// # Safety
/// The elements and lanes selected by the masks from `at` must lie inside
/// every row of `x`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn accumulate<const M: usize>(
    acc: &mut [__m512; M],
    x: &ActTile<'_, M>,
    at: usize,
    u: __m512i,
    ws: __m512,
    bytes: __mmask64,
    lanes: __mmask16,
) {
    let k = x.k;
    for (i, acc) in acc.iter_mut().enumerate() {
        // SAFETY: in bounds per the contract; masked-out elements are not read.
        let (xv, xs, bias) = unsafe {
            (
                _mm512_maskz_loadu_epi8(bytes, x.vals.as_ptr().add(i * k + at)),
                _mm512_maskz_loadu_ps(lanes, x.scales.as_ptr().add((i * k + at) / LANE)),
                _mm512_maskz_loadu_epi32(lanes, x.bias.as_ptr().add((i * k + at) / LANE)),
            )
        };
        let dot = _mm512_dpbusd_epi32(bias, u, xv);
        *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, xs), *acc);
    }
}

/// Lane `l` of step `c` (elements `64c..64c + 64` of a super-block) belongs
/// to 16-element group `4c + l / 4`.
#[inline]
#[target_feature(enable = "avx512f")]
fn group_index(c: i32) -> __m512i {
    let base = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    _mm512_add_epi32(base, _mm512_set1_epi32(4 * c))
}

/// The f16 at `p` as `f32`.
///
/// # Safety
/// `p..p + 2` must be readable.
#[inline]
#[target_feature(enable = "f16c")]
unsafe fn f16_at(p: *const u8) -> f32 {
    // SAFETY: per the contract.
    let bits = unsafe { u16_at(p) };
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(bits))))
}

/// Q6_K `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`: the four
/// 64-element steps of one super-block, as unsigned values `q` (zero point
/// 32) and per-lane scales `d · scale(group)`. In each 128-element half,
/// `ql[0..32]` holds elements 0..32 (low nibbles) and 64..96 (high),
/// `ql[32..64]` elements 32..64 and 96..128, and `qh` their top two bits at
/// shifts 0, 2, 4 and 6.
///
/// # Safety
/// One super-block (210 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q6_k_block(p: *const u8) -> [(__m512i, __m512); 4] {
    // SAFETY: the super-block is readable (contract).
    let (d, scales) = unsafe { (f16_at(p.add(208)), _mm_loadu_si128(p.add(192).cast())) };
    let scales = _mm512_mul_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(scales)),
        _mm512_set1_ps(d),
    );
    let m4 = _mm512_set1_epi8(0x0f);
    let m30 = _mm512_set1_epi8(0x30);
    // 16-bit shifts move bits across bytes, but the masks keep only bits
    // that stayed in their own byte.
    let shifts =
        |a: i16, b: i16| _mm512_inserti64x4::<1>(_mm512_set1_epi16(a), _mm256_set1_epi16(b));
    let (lo_shift, hi_shift) = (shifts(4, 2), shifts(0, 2));
    let mut out = [(_mm512_setzero_si512(), _mm512_setzero_ps()); 4];
    for half in 0..2 {
        // SAFETY: inside the super-block.
        let (ql, qh) = unsafe {
            (
                _mm512_loadu_si512(p.add(64 * half).cast()),
                _mm512_broadcast_i64x4(_mm256_loadu_si256(p.add(128 + 32 * half).cast())),
            )
        };
        let lo = _mm512_or_si512(
            _mm512_and_si512(ql, m4),
            _mm512_and_si512(_mm512_sllv_epi16(qh, lo_shift), m30),
        );
        let hi = _mm512_or_si512(
            _mm512_and_si512(_mm512_srli_epi16::<4>(ql), m4),
            _mm512_and_si512(_mm512_srlv_epi16(qh, hi_shift), m30),
        );
        let c = 2 * half as i32;
        out[2 * half] = (lo, _mm512_permutexvar_ps(group_index(c), scales));
        out[2 * half + 1] = (hi, _mm512_permutexvar_ps(group_index(c + 1), scales));
    }
    out
}

/// Q4_K `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`: the four 64-element
/// steps of one super-block (values `q`, zero point 0, per-lane scales of
/// their 32-element sub-block) and the eight sub-blocks' minimums.
///
/// # Safety
/// One super-block (144 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q4_k_block(p: *const u8) -> ([(__m512i, __m512); 4], __m256) {
    // SAFETY: the super-block is readable (contract) and any bytes are a
    // valid `[u8; 144]`.
    let block: &[u8; 144] = unsafe { &*p.cast::<[u8; 144]>() };
    let (mut s, mut o) = ([0.0f32; 16], [0.0f32; 8]);
    // SAFETY: inside the super-block.
    let (d, dmin) = unsafe { (f16_at(p), f16_at(p.add(2))) };
    q4_k_tables(block, d, dmin, &mut s, &mut o);
    // SAFETY: 16 and 8 floats.
    let (scales, mins) = unsafe { (_mm512_loadu_ps(s.as_ptr()), _mm256_loadu_ps(o.as_ptr())) };
    let m4 = _mm256_set1_epi8(0x0f);
    let mut out = [(_mm512_setzero_si512(), _mm512_setzero_ps()); 4];
    for (c, out) in out.iter_mut().enumerate() {
        // SAFETY: inside the super-block.
        let q = unsafe { _mm256_loadu_si256(p.add(16 + 32 * c).cast()) };
        let u = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_and_si256(q, m4)),
            _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4),
        );
        // `s` holds each sub-block's scale twice: sub-block 2c at 4c,
        // 2c + 1 at 4c + 2.
        let at = 4 * c as i32;
        let index = _mm512_set_epi32(
            at + 2,
            at + 2,
            at + 2,
            at + 2,
            at + 2,
            at + 2,
            at + 2,
            at + 2,
            at,
            at,
            at,
            at,
            at,
            at,
            at,
            at,
        );
        *out = (u, _mm512_permutexvar_ps(index, scales));
    }
    (out, mins)
}

/// Lanes 0..8 get `d0`, lanes 8..16 `d1` (two f16 block scales).
#[inline]
#[target_feature(enable = "avx512f,avx512vl,f16c")]
fn pair_scales(d0: u16, d1: u16) -> __m512 {
    let halves = _mm_cvtsi32_si128((u32::from(d0) | (u32::from(d1) << 16)) as i32);
    let both = _mm512_castps128_ps512(_mm_cvtph_ps(halves));
    let spread = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm512_permutexvar_ps(spread, both)
}

/// The little-endian `u32` at `p`.
///
/// # Safety
/// `p..p + 4` must be readable.
#[inline(always)]
unsafe fn u32_at(p: *const u8) -> u32 {
    // SAFETY: per the contract; unaligned read.
    u32::from_le(unsafe { p.cast::<u32>().read_unaligned() })
}

/// The little-endian `u16` at `p`.
///
/// # Safety
/// `p..p + 2` must be readable.
#[inline(always)]
unsafe fn u16_at(p: *const u8) -> u16 {
    // SAFETY: per the contract; unaligned read.
    u16::from_le(unsafe { p.cast::<u16>().read_unaligned() })
}

/// Q5_0 `{ f16 d; u8 qh[4]; u8 qs[16] }` × 2: unsigned values `q + 16·h`
/// (zero point 16) in element order, and the scales.
///
/// # Safety
/// Two blocks (44 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q5_0_pair(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: both blocks are readable (contract).
    let (qs0, qs1, qh, ws) = unsafe {
        (
            _mm_loadu_si128(p.add(6).cast()),
            _mm_loadu_si128(p.add(28).cast()),
            u64::from(u32_at(p.add(2))) | (u64::from(u32_at(p.add(24))) << 32),
            pair_scales(u16_at(p), u16_at(p.add(22))),
        )
    };
    (q5_0_values(_mm256_set_m128i(qs1, qs0), qh), ws)
}

/// One Q5_0 block as [`q5_0_pair`]'s first half (the second is zero).
///
/// # Safety
/// One block (22 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q5_0_one(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: the block is readable (contract).
    let (qs, qh, ws) = unsafe {
        (
            _mm_loadu_si128(p.add(6).cast()),
            u64::from(u32_at(p.add(2))),
            pair_scales(u16_at(p), 0),
        )
    };
    (q5_0_values(_mm256_zextsi128_si256(qs), qh), ws)
}

/// `qs` holds the 16 packed bytes of block 0 then of block 1; low nibbles
/// are a block's elements 0..16, high nibbles 16..32, and bit `j` of `qh`
/// (block 1 in the upper 32 bits) adds 16 to element `j`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
fn q5_0_values(qs: __m256i, qh: u64) -> __m512i {
    let m4 = _mm256_set1_epi8(0x0f);
    let lo = _mm256_and_si256(qs, m4);
    let hi = _mm256_and_si256(_mm256_srli_epi16(qs, 4), m4);
    // [lo0, hi0, lo1, hi1] in 128-bit quarters.
    let order = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    let u = _mm512_permutex2var_epi64(
        _mm512_castsi256_si512(lo),
        order,
        _mm512_castsi256_si512(hi),
    );
    _mm512_mask_add_epi8(u, qh, u, _mm512_set1_epi8(16))
}

/// Q8_0 `{ f16 d; i8 qs[32] }` × 2: `q + 128` (zero point 128) and scales.
///
/// # Safety
/// Two blocks (68 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q8_0_pair(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: both blocks are readable (contract).
    let (q0, q1, ws) = unsafe {
        (
            _mm256_loadu_si256(p.add(2).cast()),
            _mm256_loadu_si256(p.add(36).cast()),
            pair_scales(u16_at(p), u16_at(p.add(34))),
        )
    };
    let q = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(q0), q1);
    (_mm512_xor_si512(q, _mm512_set1_epi8(-128)), ws)
}

/// One Q8_0 block as [`q8_0_pair`]'s first half (the second is zero).
///
/// # Safety
/// One block (34 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q8_0_one(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: the block is readable (contract).
    let (q, ws) = unsafe {
        (
            _mm256_loadu_si256(p.add(2).cast()),
            pair_scales(u16_at(p), 0),
        )
    };
    let q = _mm512_zextsi256_si512(_mm256_xor_si256(q, _mm256_set1_epi8(-128)));
    (q, ws)
}
