//! SIMD versions of the block unpackers in [`super::unpack`]. Unpacking is
//! byte shuffling, where 256-bit registers are enough; the AVX-512 path
//! differs only in expanding Q5_0's fifth bits with one mask move.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantFormat;
use super::unpack::{Dest, blocks, q4_k_tables, q6_k_scales};

/// Unpacks whole blocks of `format` from `src` with AVX2.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn unpack_avx2(format: QuantFormat, src: &[u8], dest: Dest<'_>) {
    match format {
        QuantFormat::Q4K => q4_k(src, dest),
        QuantFormat::Q5_0 => q5_0(src, dest),
        QuantFormat::Q6K => q6_k(src, dest),
        QuantFormat::Q8_0 => q8_0(src, dest),
    }
}

/// Unpacks whole blocks of `format` from `src` with AVX-512 where it helps.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) fn unpack_avx512(format: QuantFormat, src: &[u8], dest: Dest<'_>) {
    match format {
        QuantFormat::Q5_0 => q5_0_avx512(src, dest),
        _ => unpack_avx2(format, src, dest),
    }
}

#[inline]
#[target_feature(enable = "avx2")]
fn load32(s: &[u8]) -> __m256i {
    let s = &s[..32];
    // SAFETY: `s` holds 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn load16(s: &[u8]) -> __m128i {
    let s = &s[..16];
    // SAFETY: `s` holds 16 readable bytes; the load has no alignment requirement.
    unsafe { _mm_loadu_si128(s.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn store32(d: &mut [u8], v: __m256i) {
    let d = &mut d[..32];
    // SAFETY: `d` holds 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), v) }
}

/// The little-endian half at `b[at..at + 2]`, converted by the F16C unit.
#[inline]
#[target_feature(enable = "f16c")]
fn f16_at(b: &[u8], at: usize) -> f32 {
    let bits = u16::from_le_bytes([b[at], b[at + 1]]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(bits))))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_k(src: &[u8], dest: Dest<'_>) {
    let m4 = _mm256_set1_epi8(0x0f);
    for (b, (u, (s, o))) in blocks::<144, 256, 16, 8>(src, dest) {
        q4_k_tables(b, f16_at(b, 0), f16_at(b, 2), s, o);
        for c in 0..4 {
            let q = load32(&b[16 + 32 * c..]);
            store32(&mut u[64 * c..], _mm256_and_si256(q, m4));
            store32(
                &mut u[64 * c + 32..],
                _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
            );
        }
    }
}

/// Q5_0's nibbles in element order: low nibbles are elements 0..16, high
/// nibbles 16..32.
#[inline]
#[target_feature(enable = "avx2")]
fn q5_0_nibbles(b: &[u8; 22]) -> __m256i {
    let q = load16(&b[6..]);
    let m4 = _mm_set1_epi8(0x0f);
    let lo = _mm_and_si128(q, m4);
    let hi = _mm_and_si128(_mm_srli_epi16(q, 4), m4);
    _mm256_set_m128i(hi, lo)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q5_0(src: &[u8], dest: Dest<'_>) {
    let bit4 = _mm256_set1_epi8(0x10);
    for (b, (u, (s, _))) in blocks::<22, 32, 2, 1>(src, dest) {
        *s = [f16_at(b, 0); 2];
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let fifth = _mm256_and_si256(bytes_from_bits(qh), bit4);
        store32(u, _mm256_or_si256(q5_0_nibbles(b), fifth));
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn q5_0_avx512(src: &[u8], dest: Dest<'_>) {
    let bit4 = _mm256_set1_epi8(0x10);
    for (b, (u, (s, _))) in blocks::<22, 32, 2, 1>(src, dest) {
        *s = [f16_at(b, 0); 2];
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        // Byte i of the mask move is all ones iff bit i of qh is set.
        let fifth = _mm256_and_si256(_mm256_movm_epi8(qh), bit4);
        store32(u, _mm256_or_si256(q5_0_nibbles(b), fifth));
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q6_k(src: &[u8], dest: Dest<'_>) {
    let m4 = _mm256_set1_epi8(0x0f);
    let m30 = _mm256_set1_epi8(0x30);
    for (b, (u, (s, _))) in blocks::<210, 256, 16, 8>(src, dest) {
        q6_k_scales(b, f16_at(b, 208), s);
        for half in 0..2 {
            let ql0 = load32(&b[64 * half..]);
            let ql1 = load32(&b[64 * half + 32..]);
            let qh = load32(&b[128 + 32 * half..]);
            let u = &mut u[128 * half..];
            // 16-bit shifts move bits across byte boundaries, but the masks
            // keep only bits that came from the same byte.
            let v0 = _mm256_or_si256(
                _mm256_and_si256(ql0, m4),
                _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30),
            );
            let v1 = _mm256_or_si256(
                _mm256_and_si256(ql1, m4),
                _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30),
            );
            let v2 = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                _mm256_and_si256(qh, m30),
            );
            let v3 = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30),
            );
            store32(&mut u[0..], v0);
            store32(&mut u[32..], v1);
            store32(&mut u[64..], v2);
            store32(&mut u[96..], v3);
        }
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q8_0(src: &[u8], dest: Dest<'_>) {
    let flip = _mm256_set1_epi8(-128);
    for (b, (u, (s, _))) in blocks::<34, 32, 2, 1>(src, dest) {
        *s = [f16_at(b, 0); 2];
        store32(u, _mm256_xor_si256(load32(&b[2..]), flip));
    }
}

/// Byte `i` is `0xff` if bit `i` of `bits` is set, else `0`.
#[inline]
#[target_feature(enable = "avx2")]
fn bytes_from_bits(bits: u32) -> __m256i {
    // Byte i gets a copy of source byte i / 8, then every bit but bit i % 8 is
    // forced to one: the byte is all ones exactly when that bit was set.
    let shuffle = _mm256_set_epi64x(
        0x0303_0303_0303_0303,
        0x0202_0202_0202_0202,
        0x0101_0101_0101_0101,
        0x0000_0000_0000_0000,
    );
    let spread = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuffle);
    let others = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
    _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1))
}
