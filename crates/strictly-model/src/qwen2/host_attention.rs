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
    let group = heads / kv_heads;
    let scale = 1.0 / (dim as f32).sqrt();
    // One task per (row, head); each is computed start to end by one thread.
    out.par_chunks_mut(dim)
        .enumerate()
        .for_each_init(Vec::new, |scores, (task, out)| {
            let (row, head) = (task / heads, task % heads);
            let visible = first + row + 1;
            let base = (head / group) * capacity * dim;
            let keys = &kv.keys[base..base + visible * dim];
            let values = &kv.values[base..base + visible * dim];
            let q = &q[task * dim..(task + 1) * dim];
            attend_head(q, keys, values, scale, scores, out);
        });
}

/// Softmax-weighted sum of `values` by the scaled dot products of `q` with
/// `keys` (both `[positions][dim]`).
fn attend_head(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    scale: f32,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    let dim = q.len();
    scores.clear();
    scores.extend(keys.chunks_exact(dim).map(|k| dot(q, k) * scale));
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    out.fill(0.0);
    for (&p, v) in scores.iter().zip(values.chunks_exact(dim)) {
        for (o, &x) in out.iter_mut().zip(v) {
            *o += p * x;
        }
    }
    let inv = 1.0 / sum;
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// Dot product in eight independent partial sums (vectorizes; fixed order).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
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

    fn value(i: usize) -> f32 {
        ((i * 7919 % 1000) as f32 / 500.0) - 1.0
    }

    #[test]
    fn matches_softmax_attention_and_does_not_depend_on_the_rows_in_the_step() {
        let shape = Heads {
            heads: 4,
            kv_heads: 2,
            dim: 12,
            capacity: 16,
        };
        let (heads, kv_heads, dim, cap) = (4, 2, 12, 16);
        let kv = HostKv {
            keys: (0..kv_heads * cap * dim).map(value).collect(),
            values: (0..kv_heads * cap * dim).map(|i| value(i + 31)).collect(),
        };
        let rows = 3;
        let first = 9;
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
                let keys: Vec<Vec<f32>> = (0..visible).map(|p| at(&kv.keys, p)).collect();
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
