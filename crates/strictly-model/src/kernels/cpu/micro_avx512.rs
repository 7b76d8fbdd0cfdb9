//! AVX-512 VNNI tile kernel: `vpdpbusd` sums four `u8 × i8` products per
//! 32-bit lane onto the lane's bias, exactly the lane of [`super::act`].

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;
use std::ops::Range;

use super::act::ActTile;
use super::unpack::WeightTile;

/// Raw row pointers of a tile, valid for the lengths checked in [`tile`].
struct Ptrs {
    k: usize,
    wv: *const u8,
    ws: *const f32,
    xv: *const i8,
    xs: *const f32,
    bias: *const i32,
}

/// See [`super::micro::tile`]. Rows and ranges are whole 32-element blocks.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) fn tile<const MR: usize, const NR: usize>(
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
    let p = Ptrs {
        k,
        wv: w.vals.as_ptr(),
        ws: w.scales.as_ptr(),
        xv: x.vals.as_ptr(),
        xs: x.scales.as_ptr(),
        bias: x.bias.as_ptr(),
    };
    let mut acc = [[_mm512_setzero_ps(); NR]; MR];
    let full = ks.start + (ks.end - ks.start) / 64 * 64;
    for at in (ks.start..full).step_by(64) {
        // SAFETY: `at + 64 <= ks.end <= k`, so every row access is in bounds.
        unsafe { step::<MR, NR>(&mut acc, &p, at, !0, !0, 0xf) };
    }
    if full < ks.end {
        // SAFETY: the 32-element tail: 32 bytes, 8 lanes, 2 groups remain.
        unsafe { step::<MR, NR>(&mut acc, &p, full, 0xffff_ffff, 0xff, 0x3) };
    }
    let mut out = [[0.0f32; NR]; MR];
    for i in 0..MR {
        for j in 0..NR {
            out[i][j] = _mm512_reduce_add_ps(acc[i][j]);
        }
    }
    out
}

/// One 64-element step (or the 32-element tail, by the masks) of every row
/// pair of the tile.
///
/// # Safety
/// The bytes, lanes and groups selected by the masks at offset `at` must lie
/// inside every row of `p`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn step<const MR: usize, const NR: usize>(
    acc: &mut [[__m512; NR]; MR],
    p: &Ptrs,
    at: usize,
    bytes: __mmask64,
    lanes: __mmask16,
    groups: __mmask16,
) {
    let k = p.k;
    // Lane l of a 64-element step belongs to 16-element group l / 4.
    let spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    let mut wv = [_mm512_setzero_si512(); NR];
    let mut ws = [_mm512_setzero_ps(); NR];
    for j in 0..NR {
        // SAFETY: in bounds per the contract; masked-out elements are not read.
        unsafe {
            wv[j] = _mm512_maskz_loadu_epi8(bytes, p.wv.add(j * k + at).cast());
            let compact = _mm512_maskz_loadu_ps(groups, p.ws.add((j * k + at) / 16));
            ws[j] = _mm512_permutexvar_ps(spread, compact);
        }
    }
    for i in 0..MR {
        // SAFETY: as above.
        let (xv, xs, bias) = unsafe {
            (
                _mm512_maskz_loadu_epi8(bytes, p.xv.add(i * k + at).cast()),
                _mm512_maskz_loadu_ps(lanes, p.xs.add((i * k + at) / 4)),
                _mm512_maskz_loadu_epi32(lanes, p.bias.add((i * k + at) / 4).cast()),
            )
        };
        for j in 0..NR {
            let dot = _mm512_dpbusd_epi32(bias, wv[j], xv);
            let scale = _mm512_mul_ps(ws[j], xs);
            acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[i][j]);
        }
    }
}
