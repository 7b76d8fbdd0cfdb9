//! Expansion of GGUF blocks in registers for [`super::fused_avx512`]: byte
//! values for `vpdpbusd` and `f32` scales, per 64-element step.
//!
//! Values come unsigned (`q + z`, the panel's layout, for signed
//! activations) or, with `SIGNED`, as the signed `q` (for activations biased
//! to unsigned, which lets one `vpdpbusd` per step remove the bias for every
//! row at once).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantFormat;
use super::unpack::q4_k_tables;

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
/// 64-element steps of one super-block, as values `q` (with `SIGNED`,
/// `q - 32`) and per-lane scales `d · scale(group)`. In each 128-element half,
/// `ql[0..32]` holds elements 0..32 (low nibbles) and 64..96 (high),
/// `ql[32..64]` elements 32..64 and 96..128, and `qh` their top two bits at
/// shifts 0, 2, 4 and 6.
///
/// # Safety
/// One super-block (210 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
pub(super) unsafe fn q6_k_block<const SIGNED: bool>(p: *const u8) -> [(__m512i, __m512); 4] {
    // SAFETY: the super-block is readable (contract).
    let (d, scales) = unsafe { (f16_at(p.add(208)), _mm_loadu_si128(p.add(192).cast())) };
    let scales = _mm512_mul_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(scales)),
        _mm512_set1_ps(d),
    );
    let m4 = _mm512_set1_epi8(0x0f);
    let m30 = _mm512_set1_epi8(0x30);
    let z = _mm512_set1_epi8(if SIGNED { 32 } else { 0 });
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
        out[2 * half] = (
            _mm512_sub_epi8(lo, z),
            _mm512_permutexvar_ps(group_index(c), scales),
        );
        out[2 * half + 1] = (
            _mm512_sub_epi8(hi, z),
            _mm512_permutexvar_ps(group_index(c + 1), scales),
        );
    }
    out
}

/// Q4_K `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`: the four
/// 64-element steps of one super-block (values `q`, unsigned), the scales of
/// its eight 32-element sub-blocks (sub-block `j` in lane `2j`) and their
/// minimums.
///
/// # Safety
/// One super-block (144 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
pub(super) unsafe fn q4_k_block(p: *const u8) -> ([__m512i; 4], __m512, __m256) {
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
    let mut out = [_mm512_setzero_si512(); 4];
    for (c, out) in out.iter_mut().enumerate() {
        // SAFETY: inside the super-block.
        let q = unsafe { _mm256_loadu_si256(p.add(16 + 32 * c).cast()) };
        *out = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_and_si256(q, m4)),
            _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4),
        );
    }
    (out, scales, mins)
}

/// Two f16 block scales as `f32` in lanes 0 and 1 (the others zero).
#[inline]
#[target_feature(enable = "avx512f,avx512vl,f16c")]
pub(super) fn pair_scales(d0: u16, d1: u16) -> __m512 {
    let halves = _mm_cvtsi32_si128((u32::from(d0) | (u32::from(d1) << 16)) as i32);
    _mm512_zextps128_ps512(_mm_cvtph_ps(halves))
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

/// Two Q5_0 or Q8_0 blocks at `p` ([`q5_0_pair`], [`q8_0_pair`]).
///
/// # Safety
/// Two blocks of `format` must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
pub(super) unsafe fn two_blocks<const SIGNED: bool>(
    format: QuantFormat,
    p: *const u8,
) -> (__m512i, __m512) {
    // SAFETY: per the contract.
    unsafe {
        match format {
            QuantFormat::Q5_0 => q5_0_pair::<SIGNED>(p),
            _ => q8_0_pair::<SIGNED>(p),
        }
    }
}

/// One Q5_0 or Q8_0 block at `p` ([`q5_0_one`], [`q8_0_one`]).
///
/// # Safety
/// One block of `format` must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
pub(super) unsafe fn one_block<const SIGNED: bool>(
    format: QuantFormat,
    p: *const u8,
) -> (__m512i, __m512) {
    // SAFETY: per the contract.
    unsafe {
        match format {
            QuantFormat::Q5_0 => q5_0_one::<SIGNED>(p),
            _ => q8_0_one::<SIGNED>(p),
        }
    }
}

/// Q5_0 `{ f16 d; u8 qh[4]; u8 qs[16] }` × 2: values `q + 16·h` (with
/// `SIGNED`, less 16) in element order, and the scales (see [`pair_scales`]).
///
/// # Safety
/// Two blocks (44 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q5_0_pair<const SIGNED: bool>(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: both blocks are readable (contract).
    let (qs0, qs1, qh, ws) = unsafe {
        (
            _mm_loadu_si128(p.add(6).cast()),
            _mm_loadu_si128(p.add(28).cast()),
            u64::from(u32_at(p.add(2))) | (u64::from(u32_at(p.add(24))) << 32),
            pair_scales(u16_at(p), u16_at(p.add(22))),
        )
    };
    (
        q5_0_values::<SIGNED>(_mm256_set_m128i(qs1, qs0), qh, !0),
        ws,
    )
}

/// One Q5_0 block as [`q5_0_pair`]'s first half (the second is zero).
///
/// # Safety
/// One block (22 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q5_0_one<const SIGNED: bool>(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: the block is readable (contract).
    let (qs, qh, ws) = unsafe {
        (
            _mm_loadu_si128(p.add(6).cast()),
            u64::from(u32_at(p.add(2))),
            pair_scales(u16_at(p), 0),
        )
    };
    (
        q5_0_values::<SIGNED>(_mm256_zextsi128_si256(qs), qh, 0xffff_ffff),
        ws,
    )
}

/// `qs` holds the 16 packed bytes of block 0 then of block 1; low nibbles
/// are a block's elements 0..16, high nibbles 16..32, and bit `j` of `qh`
/// (block 1 in the upper 32 bits) adds 16 to element `j`; with `SIGNED`,
/// every element is less 16 instead. Elements outside `valid` stay zero.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
fn q5_0_values<const SIGNED: bool>(qs: __m256i, qh: u64, valid: u64) -> __m512i {
    // Each block's bytes twice, [qs0, qs0, qs1, qs1] in 128-bit quarters,
    // then the low nibbles of the first copy, the high ones of the second.
    let qs = _mm512_castsi256_si512(qs);
    let twice = _mm512_shuffle_i64x2::<0b01_01_00_00>(qs, qs);
    let shifted = _mm512_mask_srli_epi16::<4>(twice, 0xff00_ff00, twice);
    let u = _mm512_and_si512(shifted, _mm512_set1_epi8(0x0f));
    let sixteen = _mm512_set1_epi8(16);
    if SIGNED {
        _mm512_mask_sub_epi8(u, !qh & valid, u, sixteen)
    } else {
        _mm512_mask_add_epi8(u, qh, u, sixteen)
    }
}

/// Q8_0 `{ f16 d; i8 qs[32] }` × 2: the values `q` (without `SIGNED`,
/// `q + 128`) and scales.
///
/// # Safety
/// Two blocks (68 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q8_0_pair<const SIGNED: bool>(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: both blocks are readable (contract).
    let (q0, q1, ws) = unsafe {
        (
            _mm256_loadu_si256(p.add(2).cast()),
            _mm256_loadu_si256(p.add(36).cast()),
            pair_scales(u16_at(p), u16_at(p.add(34))),
        )
    };
    let q = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(q0), q1);
    let q = if SIGNED {
        q
    } else {
        _mm512_xor_si512(q, _mm512_set1_epi8(-128))
    };
    (q, ws)
}

/// One Q8_0 block as [`q8_0_pair`]'s first half (the second is zero).
///
/// # Safety
/// One block (34 bytes) must be readable at `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
unsafe fn q8_0_one<const SIGNED: bool>(p: *const u8) -> (__m512i, __m512) {
    // SAFETY: the block is readable (contract).
    let (q, ws) = unsafe {
        (
            _mm256_loadu_si256(p.add(2).cast()),
            pair_scales(u16_at(p), 0),
        )
    };
    let q = if SIGNED {
        q
    } else {
        _mm256_xor_si256(q, _mm256_set1_epi8(-128))
    };
    (_mm512_zextsi256_si512(q), ws)
}
