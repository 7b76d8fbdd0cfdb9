//! AVX2 tile kernel: `maddubs` multiplies `u8 × i8` pairs into saturating
//! `i16` sums, `madd` with ones adds pairs of those into the 4-element lanes.
//!
//! `maddubs` cannot saturate while `u <= 127` (`2·127·127 < 2^15`). Q8_0's
//! values reach 255, so for `WIDE` weights `u` is split into nibbles
//! `16·hi + lo` and the two products are recombined in `i32`.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;
use std::ops::Range;

use super::act::ActTile;
use super::unpack::WeightTile;

/// See [`super::micro::tile`]. Rows and ranges are whole 32-element blocks.
#[target_feature(enable = "avx2,fma")]
pub(super) fn tile<const MR: usize, const NR: usize, const WIDE: bool>(
    w: &WeightTile<'_, NR>,
    x: &ActTile<'_, MR>,
    ks: Range<usize>,
) -> [[f32; NR]; MR] {
    let k = x.k;
    // Everything the pointer arithmetic below relies on.
    assert!(k % 32 == 0 && ks.start % 32 == 0 && ks.end % 32 == 0);
    assert!(ks.start <= ks.end && ks.end <= k);
    assert!(w.vals.len() == NR * k && w.scales.len() == NR * k / 16);
    assert!(x.vals.len() == MR * k && x.scales.len() == MR * k / 4);
    assert!(x.bias.len() == MR * k / 4);
    let ones = _mm256_set1_epi16(1);
    let sixteen = _mm256_set1_epi16(16);
    let m4 = _mm256_set1_epi8(0x0f);
    let mut acc = [[_mm256_setzero_ps(); NR]; MR];
    for at in ks.step_by(32) {
        let mut wv = [_mm256_setzero_si256(); NR];
        let mut hi = [_mm256_setzero_si256(); NR];
        let mut ws = [_mm256_setzero_ps(); NR];
        for j in 0..NR {
            // SAFETY: `at + 32 <= k`: 32 bytes and 2 scales of row j.
            unsafe {
                wv[j] = _mm256_loadu_si256(w.vals.as_ptr().add(j * k + at).cast());
                let g = w.scales.as_ptr().add((j * k + at) / 16);
                ws[j] = _mm256_set_m128(_mm_set1_ps(*g.add(1)), _mm_set1_ps(*g));
            }
            if WIDE {
                hi[j] = _mm256_and_si256(_mm256_srli_epi16(wv[j], 4), m4);
                wv[j] = _mm256_and_si256(wv[j], m4);
            }
        }
        for i in 0..MR {
            // SAFETY: `at + 32 <= k`: 32 bytes and 8 lanes of row i.
            let (xv, xs, bias) = unsafe {
                (
                    _mm256_loadu_si256(x.vals.as_ptr().add(i * k + at).cast()),
                    _mm256_loadu_ps(x.scales.as_ptr().add((i * k + at) / 4)),
                    _mm256_loadu_si256(x.bias.as_ptr().add((i * k + at) / 4).cast()),
                )
            };
            for j in 0..NR {
                let mut dot = _mm256_madd_epi16(_mm256_maddubs_epi16(wv[j], xv), ones);
                if WIDE {
                    let dhi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[j], xv), sixteen);
                    dot = _mm256_add_epi32(dot, dhi);
                }
                let dot = _mm256_add_epi32(dot, bias);
                let scale = _mm256_mul_ps(ws[j], xs);
                acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[i][j]);
            }
        }
    }
    let mut out = [[0.0f32; NR]; MR];
    for i in 0..MR {
        for j in 0..NR {
            out[i][j] = hsum(acc[i][j]);
        }
    }
    out
}

#[inline]
#[target_feature(enable = "avx2")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}
