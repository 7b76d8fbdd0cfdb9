//! Attention of a few new rows against a host KV cache, read in place.
//!
//! Decoding feeds one to a few tokens per sequence (a sampled token, forced
//! ones, draft tokens). Each row is computed on its own by the same code,
//! whatever the number of rows in the step, so a token's output is exactly
//! what a one-token step would give — the property that lets draft tokens be
//! verified in one pass without changing the answer. Reading the cache in
//! place also avoids copying every cached key and value per layer and step,
//! which Burn's attention does for a view into a larger buffer.

use rayon::prelude::*;

use crate::kv_cache::HostKv;

/// Shapes of one attention call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heads {
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (each shared by `heads / kv_heads` query heads).
    pub kv_heads: usize,
    /// Width of a head.
    pub dim: usize,
    /// Positions allocated per head in the cache.
    pub capacity: usize,
}

/// `out[i]` (`[heads * dim]`) is the attention of query row `q[i]`
/// (`[heads * dim]`) over cache positions `0..first + i + 1`: row `i` sits
/// at position `first + i`, so it sees itself and everything before it.
///
/// # Panics
/// If the slices do not have the shapes above or a row would read past the
/// cache's capacity.
pub(crate) fn attend(q: &[f32], kv: &HostKv, shape: Heads, first: usize, out: &mut [f32]) {
    let Heads {
        heads,
        kv_heads,
        dim,
        capacity,
    } = shape;
    let rows = q.len() / (heads * dim);
    assert!(q.len() == rows * heads * dim && out.len() == q.len());
    assert!(first + rows <= capacity && kv.keys.len() == kv_heads * capacity * dim);
    assert!(kv.values.len() == kv.keys.len());
    let group = heads / kv_heads;
    let scale = 1.0 / (dim as f32).sqrt();
    // One task per (row, key/value head): the query heads sharing that head
    // go together, so its keys and values are read once for all of them.
    // Each head's arithmetic is the same however the work is split.
    out.par_chunks_mut(group * dim)
        .enumerate()
        .for_each_init(Vec::new, |scores, (task, out)| {
            let (row, kv_head) = (task / kv_heads, task % kv_heads);
            let visible = first + row + 1;
            let base = kv_head * capacity * dim;
            let head = KvHead {
                keys: &kv.keys[base..base + capacity * dim],
                values: &kv.values[base..base + visible * dim],
                capacity,
                visible,
                dim,
                scale,
            };
            let q = &q[task * group * dim..(task + 1) * group * dim];
            attend_group(q, head, scores, out);
        });
}

/// What every query head sharing one key/value head attends to.
#[derive(Clone, Copy)]
struct KvHead<'a> {
    /// Keys transposed: `keys[d * capacity + p]` is dimension `d` of
    /// position `p`.
    keys: &'a [f32],
    /// Values of the visible positions, `[visible][dim]`.
    values: &'a [f32],
    capacity: usize,
    /// Positions `0..visible` count.
    visible: usize,
    dim: usize,
    /// `1 / sqrt(dim)`.
    scale: f32,
}

/// For each query head in `q` (`[heads][dim]`, all sharing `head`), the
/// softmax-weighted sum of the values by its scaled dot products with the
/// keys, with the best vector unit of this CPU.
/// Every row of every step goes through the same variant, so results never
/// depend on the step's shape.
fn attend_group(q: &[f32], head: KvHead<'_>, scores: &mut Vec<f32>, out: &mut [f32]) {
    let dim = head.dim;
    #[cfg(target_arch = "x86_64")]
    {
        use crate::kernels::Isa;
        match Isa::best() {
            Isa::Avx512Vnni if dim == avx512::DIM => {
                // SAFETY: `Isa::best` checked that the CPU has AVX-512.
                return unsafe { avx512::attend_group(q, head, scores, out) };
            }
            Isa::Avx2 | Isa::Avx512Vnni => {
                for (q, out) in q.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
                    // SAFETY: as above, for AVX2 and FMA.
                    unsafe { attend_head_avx2(q, head, scores, out) };
                }
                return;
            }
            _ => {}
        }
    }
    for (q, out) in q.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        attend_head_body(q, head, scores, out);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn attend_head_avx2(q: &[f32], head: KvHead<'_>, scores: &mut Vec<f32>, out: &mut [f32]) {
    attend_head_body(q, head, scores, out)
}

/// The portable body; inlined into [`attend_head_avx2`] so that its loops
/// are vectorized for AVX2.
#[inline(always)]
fn attend_head_body(q: &[f32], head: KvHead<'_>, scores: &mut Vec<f32>, out: &mut [f32]) {
    let (dim, n) = (head.dim, head.visible);
    // scores[p] = Σ_d q[d]·k[d][p]: one long vector update per dimension.
    scores.clear();
    scores.resize(n, 0.0);
    for (d, &qd) in q.iter().enumerate() {
        let k = &head.keys[d * head.capacity..][..n];
        for (s, &kv) in scores.iter_mut().zip(k) {
            *s += qd * kv;
        }
    }
    let inv = softmax_weights(scores, head.scale);
    out.fill(0.0);
    for (&w, v) in scores.iter().zip(head.values.chunks_exact(dim)) {
        for (o, &x) in out.iter_mut().zip(v) {
            *o += w * x;
        }
    }
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// Turns raw scores into unnormalized softmax weights `e^(s·scale - max)`
/// and returns `1 / Σ weights`.
#[inline(always)]
fn softmax_weights(scores: &mut [f32], scale: f32) -> f32 {
    let mut max = f32::NEG_INFINITY;
    for s in scores.iter_mut() {
        *s *= scale;
        max = if *s > max { *s } else { max };
    }
    for s in scores.iter_mut() {
        *s = exp_neg(*s - max);
    }
    1.0 / sum(scores)
}

/// Qwen2's 64-wide heads with AVX-512: four accumulator registers per
/// loop, so the additions of one step do not wait on one another.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{KvHead, softmax_weights};

    /// Head width these kernels handle.
    pub(super) const DIM: usize = 64;

    /// Query heads handled in one pass: 4 × 4 accumulator registers.
    const PASS: usize = 4;

    /// [`super::attend_group`] for heads of `DIM` values.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub(super) unsafe fn attend_group(
        q: &[f32],
        head: KvHead<'_>,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let heads = q.len() / DIM;
        let (n, cap) = (head.visible, head.capacity);
        assert!(head.dim == DIM && q.len() == heads * DIM && out.len() == q.len());
        assert!(head.values.len() >= n * DIM && heads <= 64);
        assert!(n > 0 && head.keys.len() >= (DIM - 1) * cap + n);
        let stride = n.next_multiple_of(64);
        scores.clear();
        scores.resize(heads * stride, 0.0);
        let mut h0 = 0;
        while h0 < heads {
            let h = PASS.min(heads - h0);
            // SAFETY (all arms): the CPU has AVX-512F (this function's
            // contract); the shapes were checked above.
            unsafe {
                match h {
                    4 => scores_pass::<4>(q, h0, head, scores, stride),
                    3 => scores_pass::<3>(q, h0, head, scores, stride),
                    2 => scores_pass::<2>(q, h0, head, scores, stride),
                    _ => scores_pass::<1>(q, h0, head, scores, stride),
                }
            }
            h0 += h;
        }
        let mut inv = [0.0f32; 64];
        for (hd, w) in scores.chunks_exact_mut(stride).enumerate() {
            inv[hd] = softmax_weights(&mut w[..n], head.scale);
        }
        let mut h0 = 0;
        while h0 < heads {
            let h = PASS.min(heads - h0);
            // SAFETY: as above.
            unsafe {
                match h {
                    4 => values_pass::<4>(h0, head, scores, stride, &inv, out),
                    3 => values_pass::<3>(h0, head, scores, stride, &inv, out),
                    2 => values_pass::<2>(h0, head, scores, stride, &inv, out),
                    _ => values_pass::<1>(h0, head, scores, stride, &inv, out),
                }
            }
            h0 += h;
        }
    }

    /// Raw scores of heads `h0..h0 + H` against every visible position,
    /// 64 positions at a time: each key register is loaded once for the
    /// `H` heads.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn scores_pass<const H: usize>(
        q: &[f32],
        h0: usize,
        head: KvHead<'_>,
        scores: &mut [f32],
        stride: usize,
    ) {
        let (n, cap) = (head.visible, head.capacity);
        let kp = head.keys.as_ptr();
        let mut p0 = 0;
        while p0 < n {
            let mask = |b: usize| -> __mmask16 {
                let left = n.saturating_sub(p0 + 16 * b).min(16);
                ((1u32 << left) - 1) as __mmask16
            };
            let m = [mask(0), mask(1), mask(2), mask(3)];
            let mut acc = [[_mm512_setzero_ps(); 4]; H];
            for d in 0..DIM {
                // SAFETY: masked lanes are visible positions of row `d`.
                let k = unsafe {
                    [0, 1, 2, 3].map(|b| _mm512_maskz_loadu_ps(m[b], kp.add(d * cap + p0 + 16 * b)))
                };
                for (hh, a) in acc.iter_mut().enumerate() {
                    let qv = _mm512_set1_ps(q[(h0 + hh) * DIM + d]);
                    for b in 0..4 {
                        a[b] = _mm512_fmadd_ps(qv, k[b], a[b]);
                    }
                }
            }
            for (hh, a) in acc.iter().enumerate() {
                let row = &mut scores[(h0 + hh) * stride + p0..][..64];
                for (part, v) in row.chunks_exact_mut(16).zip(a) {
                    // SAFETY: `part` holds 16 values.
                    unsafe { _mm512_storeu_ps(part.as_mut_ptr(), *v) };
                }
            }
            p0 += 64;
        }
    }

    /// Outputs of heads `h0..h0 + H`: each value register is loaded once
    /// for the `H` heads.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn values_pass<const H: usize>(
        h0: usize,
        head: KvHead<'_>,
        scores: &[f32],
        stride: usize,
        inv: &[f32; 64],
        out: &mut [f32],
    ) {
        let values = head.values;
        let mut acc = [[_mm512_setzero_ps(); 4]; H];
        for p in 0..head.visible {
            // SAFETY: row `p < n` of `values`.
            let v = unsafe {
                [0, 1, 2, 3].map(|c| _mm512_loadu_ps(values.as_ptr().add(p * DIM + 16 * c)))
            };
            for (hh, a) in acc.iter_mut().enumerate() {
                let w = _mm512_set1_ps(scores[(h0 + hh) * stride + p]);
                for c in 0..4 {
                    a[c] = _mm512_fmadd_ps(w, v[c], a[c]);
                }
            }
        }
        for (hh, a) in acc.iter().enumerate() {
            let iv = _mm512_set1_ps(inv[h0 + hh]);
            let o = &mut out[(h0 + hh) * DIM..][..DIM];
            for (part, v) in o.chunks_exact_mut(16).zip(a) {
                // SAFETY: `part` holds 16 values.
                unsafe { _mm512_storeu_ps(part.as_mut_ptr(), _mm512_mul_ps(*v, iv)) };
            }
        }
    }
}

/// Lanes of the partial sums: one AVX-512 register, two AVX2 ones.
const LANES: usize = 16;

/// Sum in [`LANES`] partial sums (vectorizes; the order of additions is
/// fixed).
#[inline(always)]
fn sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `e^x` for `x <= 0` (softmax weights), branch-free so that it vectorizes:
/// `x = n·ln 2 + r` with `|r| <= ln 2 / 2`, a degree-6 polynomial for `e^r`
/// (relative error below 2e-7) and `2^n` built in the exponent bits.
/// Clamped at -87 (`e^-87` ≈ 1.6e-38, nothing next to the largest weight, 1).
#[inline(always)]
fn exp_neg(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.max(-87.0);
    let n = (x * LOG2E - 0.5).ceil();
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let bits = ((n as i32 + 127) as u32) << 23;
    p * f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain softmax attention in f64 for one row and head.
    fn reference(q: &[f32], keys: &[Vec<f32>], values: &[Vec<f32>]) -> Vec<f64> {
        let scale = 1.0 / (q.len() as f64).sqrt();
        let scores: Vec<f64> = keys
            .iter()
            .map(|k| {
                q.iter()
                    .zip(k)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f64 = w.iter().sum();
        (0..q.len())
            .map(|d| {
                w.iter()
                    .zip(values)
                    .map(|(p, v)| p * v[d] as f64)
                    .sum::<f64>()
                    / sum
            })
            .collect()
    }

    #[test]
    fn exp_neg_is_close_to_exp() {
        for i in 0..=19_000 {
            let x = -(i as f32) * 0.0045;
            let (got, want) = (exp_neg(x) as f64, (x as f64).exp());
            assert!(
                (got - want).abs() <= 4e-7 * want + 1e-38,
                "{x}: {got} vs {want}"
            );
        }
        assert_eq!(exp_neg(-200.0), exp_neg(-87.0));
        assert!(exp_neg(-87.0) < 2e-38);
    }

    fn value(i: usize) -> f32 {
        ((i * 7919 % 1000) as f32 / 500.0) - 1.0
    }

    #[test]
    fn matches_softmax_attention_and_does_not_depend_on_the_rows_in_the_step() {
        // Odd sizes (portable loops, masked tails) and Qwen2's 64-wide heads.
        for (dim, cap, first) in [(12, 16, 9), (64, 128, 9), (64, 128, 77)] {
            check_attention(dim, cap, first);
        }
    }

    fn check_attention(dim: usize, cap: usize, first: usize) {
        let (heads, kv_heads) = (4, 2);
        let shape = Heads {
            heads,
            kv_heads,
            dim,
            capacity: cap,
        };
        let kv = HostKv {
            keys: (0..kv_heads * cap * dim).map(value).collect(),
            values: (0..kv_heads * cap * dim).map(|i| value(i + 31)).collect(),
        };
        let rows = 3;
        let q: Vec<f32> = (0..rows * heads * dim).map(|i| value(i + 7)).collect();
        let mut together = vec![0.0; q.len()];
        attend(&q, &kv, shape, first, &mut together);
        for row in 0..rows {
            // Alone, as a one-token step at the same position.
            let one = &q[row * heads * dim..(row + 1) * heads * dim];
            let mut alone = vec![0.0; one.len()];
            attend(one, &kv, shape, first + row, &mut alone);
            assert_eq!(alone, together[row * heads * dim..(row + 1) * heads * dim]);
            for head in 0..heads {
                let kh = head / (heads / kv_heads);
                let at = |v: &Vec<f32>, p: usize| v[(kh * cap + p) * dim..][..dim].to_vec();
                let visible = first + row + 1;
                let keys: Vec<Vec<f32>> = (0..visible)
                    .map(|p| {
                        (0..dim)
                            .map(|d| kv.keys[(kh * dim + d) * cap + p])
                            .collect()
                    })
                    .collect();
                let values: Vec<Vec<f32>> = (0..visible).map(|p| at(&kv.values, p)).collect();
                let want = reference(&one[head * dim..(head + 1) * dim], &keys, &values);
                for (d, w) in want.iter().enumerate() {
                    let got = together[(row * heads + head) * dim + d] as f64;
                    assert!(
                        (got - w).abs() < 1e-5,
                        "row {row} head {head}: {got} vs {w}"
                    );
                }
            }
        }
    }
}
