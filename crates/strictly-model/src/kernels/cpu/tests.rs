//! Every kernel against dequantize-then-`f64`-dot on random blocks.
//!
//! Two references per case:
//! - with the activations replaced by their own 8-bit quantization, the
//!   kernels must agree to `f32` rounding (a wrong element, scale or offset
//!   shows up orders of magnitude above that);
//! - against the exact `f32` activations the error must stay under the bound
//!   that 8-bit rounding allows, `Σ|w_i|·d_i/2` with `d_i` the scale of the
//!   block holding element `i`.

use super::act::{ACT_BLOCK, QuantRows};
use super::unpack::Panel;
use super::*;
use crate::quant::{GgmlType, dequantize};

const FORMATS: [QuantFormat; 4] = [
    QuantFormat::Q4K,
    QuantFormat::Q5_0,
    QuantFormat::Q6K,
    QuantFormat::Q8_0,
];

/// SplitMix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }
    fn f16(&mut self, lo: f32, hi: f32) -> [u8; 2] {
        half::f16::from_f32(self.uniform(lo, hi)).to_le_bytes()
    }
}

/// One random block: random payload bytes (every bit pattern of values and
/// sub-block scales is valid) and a finite, moderately sized f16 scale.
fn random_block(format: QuantFormat, rng: &mut Rng) -> Vec<u8> {
    let mut b: Vec<u8> = (0..format.block_bytes()).map(|_| rng.byte()).collect();
    match format {
        QuantFormat::Q4K => {
            b[0..2].copy_from_slice(&rng.f16(-0.01, 0.01));
            b[2..4].copy_from_slice(&rng.f16(0.0, 0.01));
        }
        QuantFormat::Q6K => b[208..210].copy_from_slice(&rng.f16(-0.002, 0.002)),
        QuantFormat::Q5_0 | QuantFormat::Q8_0 => b[0..2].copy_from_slice(&rng.f16(-0.05, 0.05)),
    }
    b
}

fn random_weights(format: QuantFormat, rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
    let blocks = rows * cols / format.block_elems();
    (0..blocks)
        .flat_map(|_| random_block(format, rng))
        .collect()
}

/// Activations with a spread of magnitudes, like hidden states with outlier
/// channels: most values small, some blocks dominated by one large value.
fn random_acts(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let v = rng.uniform(-1.0, 1.0);
            if i % 97 == 5 { v * 40.0 } else { v }
        })
        .collect()
}

fn dequant(format: QuantFormat, data: &[u8], n_elems: usize) -> Vec<f32> {
    let mut out = vec![0.0; n_elems];
    dequantize(format.ggml(), data, n_elems, &mut out).expect("reference dequantization");
    out
}

/// x quantized and dequantized the way the kernels see it, plus the scale of
/// each element's block.
fn fake_quant(x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut xq = Vec::with_capacity(x.len());
    let mut d_of = Vec::with_capacity(x.len());
    for b in x.chunks(ACT_BLOCK) {
        let amax = b.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        for &v in b {
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let q = (v * id).round_ties_even();
            xq.push(q * d);
            d_of.push(d);
        }
    }
    (xq, d_of)
}

struct Case {
    format: QuantFormat,
    m: usize,
    n: usize,
    k: usize,
    seed: u64,
}

fn check(case: &Case, isas: &[Isa]) {
    let Case {
        format,
        m,
        n,
        k,
        seed,
    } = *case;
    let mut rng = Rng(seed);
    let data = random_weights(format, n, k, &mut rng);
    let x = random_acts(m * k, &mut rng);
    let w = QuantWeights::new(format.ggml(), n, k, &data).expect("valid weights");
    let wf = dequant(format, &data, n * k);
    let (xq, d_of) = fake_quant(&x);
    for &isa in isas {
        let mut out = vec![f32::NAN; m * n];
        matmul_with(isa, w, &x, &mut out).expect("kernel runs");
        for i in 0..m {
            for j in 0..n {
                let wr = &wf[j * k..(j + 1) * k];
                let (xr, xqr, dr) = (&x[i * k..][..k], &xq[i * k..][..k], &d_of[i * k..][..k]);
                let exact_q: f64 = wr.iter().zip(xqr).map(|(&a, &b)| a as f64 * b as f64).sum();
                let exact: f64 = wr.iter().zip(xr).map(|(&a, &b)| a as f64 * b as f64).sum();
                let mass: f64 = wr
                    .iter()
                    .zip(xr)
                    .map(|(&a, &b)| (a as f64 * b as f64).abs())
                    .sum();
                let bound: f64 = wr
                    .iter()
                    .zip(dr)
                    .map(|(&a, &d)| (a as f64).abs() * d as f64 / 2.0)
                    .sum();
                let got = out[i * n + j] as f64;
                let rounding = 2e-5 * mass + 1e-30;
                assert!(
                    (got - exact_q).abs() <= rounding,
                    "{isa:?} {format:?} m={m} n={n} k={k} ({i},{j}): {got} vs {exact_q} (quantized x), tolerance {rounding}"
                );
                assert!(
                    (got - exact).abs() <= bound + rounding,
                    "{isa:?} {format:?} m={m} n={n} k={k} ({i},{j}): {got} vs {exact}, bound {bound}"
                );
            }
        }
    }
}

#[test]
fn every_kernel_matches_dequantized_reference_on_odd_shapes() {
    let isas = Isa::available();
    let mut seed = 1;
    for format in FORMATS {
        let b = format.block_elems();
        // K: one block, an odd number of blocks (a 32-element tail for the
        // 64-wide AVX-512 loop when b = 32), and the model's 896/4864 shapes.
        let ks: Vec<usize> = if b == 32 {
            vec![32, 96, 160, 896]
        } else {
            vec![256, 768, 4864]
        };
        for &k in &ks {
            // Every row count of the decoding kernels (1..=8) and one more.
            for &(m, n) in &[
                (1, 1),
                (1, 3),
                (2, 5),
                (3, 2),
                (4, 2),
                (5, 7),
                (6, 5),
                (7, 6),
                (8, 3),
                (9, 4),
            ] {
                check(
                    &Case {
                        format,
                        m,
                        n,
                        k,
                        seed,
                    },
                    &isas,
                );
                seed += 1;
            }
        }
    }
}

#[test]
fn many_chunks_and_rows_split_across_threads() {
    // Enough weight rows for several parallel chunks and a row count that is
    // not a multiple of the tile sizes.
    let isas = Isa::available();
    for (seed, format) in FORMATS.into_iter().enumerate() {
        let k = format.block_elems() * 3;
        check(
            &Case {
                format,
                m: 6,
                n: 301,
                k,
                seed: 100 + seed as u64,
            },
            &isas,
        );
        check(
            &Case {
                format,
                m: 1,
                n: 517,
                k,
                seed: 200 + seed as u64,
            },
            &isas,
        );
    }
}

#[test]
fn simd_kernels_agree_with_scalar() {
    let mut rng = Rng(7);
    for format in FORMATS {
        let (m, n, k) = (5, 9, format.block_elems() * 4);
        let data = random_weights(format, n, k, &mut rng);
        let x = random_acts(m * k, &mut rng);
        let w = QuantWeights::new(format.ggml(), n, k, &data).unwrap();
        let mut reference = vec![0.0; m * n];
        matmul_with(Isa::Scalar, w, &x, &mut reference).unwrap();
        for isa in Isa::available() {
            let mut out = vec![0.0; m * n];
            matmul_with(isa, w, &x, &mut out).unwrap();
            for (a, b) in out.iter().zip(&reference) {
                assert!(
                    (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                    "{isa:?} {format:?}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn unpacked_panels_are_identical_on_every_path() {
    let mut rng = Rng(11);
    for format in FORMATS {
        let (rows, k) = (3, format.block_elems() * 2);
        let data = random_weights(format, rows, k, &mut rng);
        let mut reference = Panel::default();
        reference.unpack(format, &data, k, true, Isa::Scalar);
        // The panel decodes to the reference dequantization.
        let wf = dequant(format, &data, rows * k);
        let z = f32::from(format.zero_point());
        for r in 0..rows {
            let p = reference.tile::<1>(r);
            for e in 0..k {
                let scale = p.scales[e / 16];
                let scaled = scale * (f32::from(p.vals[e]) - z);
                let offset = if format.has_offsets() {
                    reference.offsets_t().unwrap()[(e / 32) * rows + r]
                } else {
                    0.0
                };
                let v = scaled - offset;
                let want = wf[r * k + e];
                let tolerance = 4.0 * f32::EPSILON * (scaled.abs() + offset.abs());
                assert!(
                    (v - want).abs() <= tolerance,
                    "{format:?} row {r} element {e}: {v} vs {want}"
                );
            }
        }
        for isa in Isa::available() {
            let mut panel = Panel::default();
            panel.unpack(format, &data, k, true, isa);
            let (a, b) = (panel.tile::<3>(0), reference.tile::<3>(0));
            assert_eq!(a.vals, b.vals, "{isa:?} {format:?}");
            assert_eq!(a.scales, b.scales, "{isa:?} {format:?}");
            if format.has_offsets() {
                assert_eq!(panel.offsets(), reference.offsets(), "{isa:?} {format:?}");
                assert_eq!(
                    panel.offsets_t(),
                    reference.offsets_t(),
                    "{isa:?} {format:?}"
                );
            }
        }
    }
}

#[test]
fn activation_quantization_is_within_half_a_step() {
    let mut rng = Rng(3);
    let k = 128;
    let x = random_acts(3 * k, &mut rng);
    for isa in Isa::available() {
        let q = QuantRows::quantize(&x, k, 16, isa);
        for i in 0..3 {
            let row = q.tile::<1>(i);
            for e in 0..k {
                let d = row.scales[e / 4];
                let v = x[i * k + e];
                assert!((f32::from(row.vals[e]) * d - v).abs() <= d / 2.0 * 1.0001 + 1e-12);
            }
            for l in 0..k / 4 {
                let s: i32 = row.vals[4 * l..4 * l + 4]
                    .iter()
                    .map(|&v| i32::from(v))
                    .sum();
                assert_eq!(row.bias[l], -16 * s);
            }
            for b in 0..k / 32 {
                let s: i32 = row.vals[32 * b..32 * b + 32]
                    .iter()
                    .map(|&v| i32::from(v))
                    .sum();
                assert_eq!(q.sums(i)[b], row.scales[8 * b] * s as f32);
            }
        }
        let again = QuantRows::quantize(&x, k, 16, Isa::Scalar);
        assert_eq!(
            q.tile::<3>(0).vals,
            again.tile::<3>(0).vals,
            "{isa:?} rounds like scalar"
        );
        assert_eq!(q.tile::<3>(0).bias, again.tile::<3>(0).bias);
        assert_eq!(q.sums(2), again.sums(2));
    }
}

#[test]
fn zero_rows_give_zero_and_non_finite_inputs_propagate() {
    let mut rng = Rng(5);
    for format in FORMATS {
        let (n, k) = (4, format.block_elems());
        let data = random_weights(format, n, k, &mut rng);
        let w = QuantWeights::new(format.ggml(), n, k, &data).unwrap();
        let mut x = vec![0.0f32; 3 * k];
        x[k + 3] = f32::NAN;
        x[2 * k + 7] = f32::INFINITY;
        for isa in Isa::available() {
            let mut out = vec![1.0; 3 * n];
            matmul_with(isa, w, &x, &mut out).unwrap();
            assert!(
                out[..n].iter().all(|&v| v == 0.0),
                "{isa:?} {format:?}: {out:?}"
            );
            assert!(
                out[n..].iter().all(|v| v.is_nan()),
                "{isa:?} {format:?}: {out:?}"
            );
        }
    }
}

#[test]
fn shapes_and_lengths_are_checked() {
    let data = vec![0u8; 2 * 34];
    assert_eq!(
        QuantWeights::new(GgmlType::F16, 2, 32, &data).unwrap_err(),
        KernelError::UnsupportedType(GgmlType::F16)
    );
    assert!(matches!(
        QuantWeights::new(GgmlType::Q8_0, 2, 48, &data),
        Err(KernelError::PartialBlock { cols: 48, .. })
    ));
    assert!(matches!(
        QuantWeights::new(GgmlType::Q8_0, 3, 32, &data),
        Err(KernelError::WeightLength {
            expected: 102,
            actual: 68,
            ..
        })
    ));
    assert!(matches!(
        QuantWeights::new(GgmlType::Q4_K, 1, 0, &[]),
        Err(KernelError::PartialBlock { .. })
    ));
    let w = QuantWeights::new(GgmlType::Q8_0, 2, 32, &data).unwrap();
    let mut out = vec![0.0; 2];
    assert_eq!(
        matmul(w, &[0.0; 33], &mut out),
        Err(KernelError::ActivationLength { len: 33, cols: 32 })
    );
    assert_eq!(
        matmul(w, &[0.0; 64], &mut out),
        Err(KernelError::OutputLength {
            expected: 4,
            actual: 2
        })
    );
    assert_eq!(matmul(w, &[], &mut []), Ok(()));
    assert!(
        w.slice_rows(1, 2)
            .is_some_and(|s| s.rows() == 1 && s.data().len() == 34)
    );
    assert!(w.slice_rows(1, 3).is_none());
}

#[test]
fn formats_agree_with_the_ggml_type_table() {
    for format in FORMATS {
        let ty = format.ggml();
        assert_eq!(QuantFormat::from_ggml(ty), Some(format));
        assert_eq!(format.block_elems(), ty.block_size());
        assert_eq!(format.block_bytes(), ty.type_size());
    }
    assert_eq!(QuantFormat::from_ggml(GgmlType::Q4_0), None);
}

#[test]
fn several_matrices_in_one_pass_equal_one_at_a_time() {
    // Mixed formats (so several zero points) sharing one input, as the
    // query, key and value projections do.
    let mut rng = Rng(23);
    let k = 256 * 2;
    let shapes = [
        (QuantFormat::Q5_0, 37),
        (QuantFormat::Q8_0, 8),
        (QuantFormat::Q4K, 19),
        (QuantFormat::Q6K, 5),
    ];
    let data: Vec<Vec<u8>> = shapes
        .iter()
        .map(|&(f, n)| random_weights(f, n, k, &mut rng))
        .collect();
    let ws: Vec<QuantWeights<'_>> = shapes
        .iter()
        .zip(&data)
        .map(|(&(f, n), d)| QuantWeights::new(f.ggml(), n, k, d).unwrap())
        .collect();
    for m in [1, 2, 5] {
        let x = random_acts(m * k, &mut rng);
        let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![f32::NAN; m * w.rows()]).collect();
        let mut slices: Vec<&mut [f32]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        matmul_many(&ws, &x, &mut slices).unwrap();
        for (w, got) in ws.iter().zip(&outs) {
            let mut want = vec![0.0; m * w.rows()];
            matmul(*w, &x, &mut want).unwrap();
            assert_eq!(got, &want, "{:?} m={m}", w.format());
        }
    }
    let mut short = [0.0; 3];
    assert!(matmul_many(&ws[..1], &[0.0; 512], &mut [&mut short[..]]).is_err());
}

/// Up to [`row_invariant_rows`], each row of a product is bit for bit what
/// it is alone: the property that lets the model verify draft tokens in one
/// step without changing an answer. Checked on every instruction set, every
/// format, and both widths of the model's products (the down projection's
/// 4,864 columns bring the fused path's limit down).
#[test]
fn rows_up_to_the_invariant_count_equal_their_products_alone() {
    let mut rng = Rng(41);
    for isa in Isa::available() {
        for format in FORMATS {
            for k in [256, 4864] {
                let n = 24;
                let data = random_weights(format, n, k, &mut rng);
                let w = QuantWeights::new(format.ggml(), n, k, &data).unwrap();
                let limit = row_invariant_rows(isa, format, k);
                assert!(limit >= 1);
                let x = random_acts(limit * k, &mut rng);
                let mut alone = vec![0.0f32; limit * n];
                for (row, out) in x.chunks_exact(k).zip(alone.chunks_exact_mut(n)) {
                    matmul_with(isa, w, row, out).unwrap();
                }
                for m in 2..=limit {
                    let mut together = vec![0.0f32; m * n];
                    matmul_with(isa, w, &x[..m * k], &mut together).unwrap();
                    let same = together
                        .iter()
                        .zip(&alone[..m * n])
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(
                        same,
                        "{isa:?} {format:?} k={k}: {m} rows differ from one by one"
                    );
                }
            }
        }
    }
}
