//! Q4_K's minimum term: `y[i][j] -= Σ_b sums[i][b] · offsets[j][b]`, one
//! float per 32-element block of both the weights (`dmin · m`) and the
//! activations (`d · Σ q`).
//!
//! It is a small `f32` matrix product (1/32 of the integer one), but done
//! naively it costs a fifth of a Q4_K product, so both layouts get a
//! vectorized form: row-wise dot products for the few rows of the streaming
//! path, and a register-blocked update over transposed offsets for panels.

use super::Isa;

/// `acc[i][j] -= Σ_b sums[i][b] · offsets_t[b][j]`, with `acc` as
/// `[sums.len()][rows]` and `offsets_t` as `[blocks][rows]`.
pub(crate) fn subtract_transposed(isa: Isa, acc: &mut [f32], sums: &[&[f32]], offsets_t: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni && isa.is_supported() && sums.len() <= MAX_ROWS {
        // SAFETY: the CPU supports AVX-512 F (checked just above).
        return unsafe { subtract_transposed_avx512(acc, sums, offsets_t) };
    }
    let rows = acc.len() / sums.len().max(1);
    for (acc, sums) in acc.chunks_exact_mut(rows.max(1)).zip(sums) {
        axpy_all(isa, acc, sums, offsets_t);
    }
}

/// `acc[i][j] -= dot(sums[i], offsets[j])`, with `offsets` as `[rows][blocks]`.
pub(crate) fn subtract_rowwise(isa: Isa, acc: &mut [f32], sums: &[&[f32]], offsets: &[f32]) {
    let rows = acc.len() / sums.len().max(1);
    for (acc, sums) in acc.chunks_exact_mut(rows.max(1)).zip(sums) {
        for (a, offsets) in acc.iter_mut().zip(offsets.chunks_exact(sums.len().max(1))) {
            *a -= dot(isa, offsets, sums);
        }
    }
}

/// Most activation rows the AVX-512 form keeps in registers at once.
const MAX_ROWS: usize = 3;

/// Register-blocked: 64 outputs × up to 3 activation rows stay in registers
/// while every block's offsets are loaded once.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn subtract_transposed_avx512(acc: &mut [f32], sums: &[&[f32]], offsets_t: &[f32]) {
    use std::arch::x86_64::*;

    let mr = sums.len();
    let rows = acc.len() / mr.max(1);
    let blocks = sums.first().map_or(0, |s| s.len());
    assert!(mr <= MAX_ROWS && acc.len() == mr * rows && offsets_t.len() >= blocks * rows);
    assert!(sums.iter().all(|s| s.len() == blocks));
    for c0 in (0..rows).step_by(64) {
        let width = (rows - c0).min(64);
        let mask = |v: usize| -> __mmask16 {
            let n = width.saturating_sub(16 * v).min(16);
            if n == 16 { !0 } else { (1u16 << n) - 1 }
        };
        let masks = [mask(0), mask(1), mask(2), mask(3)];
        let mut a = [[_mm512_setzero_ps(); 4]; MAX_ROWS];
        for i in 0..mr {
            for v in 0..4 {
                // SAFETY: the mask selects columns `c0 + 16v..` below `rows`
                // in row `i` of `acc`; masked-out ones are not read.
                a[i][v] = unsafe {
                    _mm512_maskz_loadu_ps(masks[v], acc.as_ptr().add(i * rows + c0 + 16 * v))
                };
            }
        }
        for b in 0..blocks {
            let mut o = [_mm512_setzero_ps(); 4];
            for v in 0..4 {
                // SAFETY: as above, in row `b` of `offsets_t` (asserted long enough).
                o[v] = unsafe {
                    _mm512_maskz_loadu_ps(masks[v], offsets_t.as_ptr().add(b * rows + c0 + 16 * v))
                };
            }
            for i in 0..mr {
                let s = _mm512_set1_ps(sums[i][b]);
                for v in 0..4 {
                    a[i][v] = _mm512_fnmadd_ps(s, o[v], a[i][v]);
                }
            }
        }
        for i in 0..mr {
            for v in 0..4 {
                // SAFETY: as for the loads.
                unsafe {
                    _mm512_mask_storeu_ps(
                        acc.as_mut_ptr().add(i * rows + c0 + 16 * v),
                        masks[v],
                        a[i][v],
                    )
                };
            }
        }
    }
}

/// `acc[j] -= Σ_b sums[b] · offsets_t[b][j]` for one activation row.
fn axpy_all(isa: Isa, acc: &mut [f32], sums: &[f32], offsets_t: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Scalar && isa.is_supported() {
        // SAFETY: AVX2 and FMA are available (every non-scalar `Isa` has them).
        return unsafe { axpy_all_avx2(acc, sums, offsets_t) };
    }
    axpy_all_portable(acc, sums, offsets_t)
}

/// [`axpy_all_portable`] compiled for AVX2, which vectorizes it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_all_avx2(acc: &mut [f32], sums: &[f32], offsets_t: &[f32]) {
    axpy_all_portable(acc, sums, offsets_t)
}

#[inline(always)]
fn axpy_all_portable(acc: &mut [f32], sums: &[f32], offsets_t: &[f32]) {
    let rows = acc.len();
    for (&s, offsets) in sums.iter().zip(offsets_t.chunks_exact(rows.max(1))) {
        for (a, &o) in acc.iter_mut().zip(offsets) {
            *a -= s * o;
        }
    }
}

/// `Σ a_i · b_i` in `f32`.
fn dot(isa: Isa, a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Scalar && isa.is_supported() {
        // SAFETY: AVX2 and FMA are available (every non-scalar `Isa` has them).
        return unsafe { dot_avx2(a, b) };
    }
    dot_portable(a, b)
}

/// [`dot_portable`] compiled for AVX2, which vectorizes it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    // Sixteen independent partial sums: a float reduction is only
    // vectorized when its order is spelled out like this.
    let mut partial = [0.0f32; 16];
    let (a16, a_tail) = a.as_chunks::<16>();
    let (b16, b_tail) = b.as_chunks::<16>();
    for (a, b) in a16.iter().zip(b16) {
        for l in 0..16 {
            partial[l] += a[l] * b[l];
        }
    }
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    partial.iter().sum::<f32>() + tail
}
