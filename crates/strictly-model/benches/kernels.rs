//! Quantized matrix products against Burn's dense `f32` matmul on the CPU
//! backend, for the shapes of one Qwen2.5-0.5B decoding step and a prefill
//! chunk.
//!
//! Weights are random blocks of the formats the default GGUF file uses for
//! each matrix (gate/up Q5_0, down Q4_K or Q6_K, LM head Q8_0). Decode-sized
//! weights are rotated through copies larger than the last-level cache, since
//! a real decoding step streams ~400 MB of weights and never finds them
//! cached; run with `cargo bench -p strictly-model --bench kernels`.

use std::hint::black_box;

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use strictly_model::kernels::{Isa, QuantMatrix, QuantWeights, cpu};
use strictly_model::quant::GgmlType;

/// Bytes of weights to rotate through so that none stay in cache.
const ROTATE_BYTES: usize = 96 << 20;

/// Deterministic bytes with valid (finite, small) block scales.
fn random_blocks(ty: GgmlType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    let bytes = ty.bytes_for(rows * cols).expect("whole blocks");
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut data: Vec<u8> = (0..bytes)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect();
    let scale = half::f16::from_f32(0.01).to_le_bytes();
    let scale_at: &[usize] = match ty {
        GgmlType::Q4_K => &[0, 2],
        GgmlType::Q6_K => &[208],
        _ => &[0],
    };
    for block in data.chunks_exact_mut(ty.type_size()) {
        for &at in scale_at {
            block[at..at + 2].copy_from_slice(&scale);
        }
    }
    data
}

struct Shape {
    name: &'static str,
    ty: GgmlType,
    m: usize,
    n: usize,
    k: usize,
}

const SHAPES: [Shape; 5] = [
    Shape {
        name: "gate_up_decode_1x896x4864_q5_0",
        ty: GgmlType::Q5_0,
        m: 1,
        n: 4864,
        k: 896,
    },
    Shape {
        name: "down_decode_1x4864x896_q4_k",
        ty: GgmlType::Q4_K,
        m: 1,
        n: 896,
        k: 4864,
    },
    Shape {
        name: "down_decode_1x4864x896_q6_k",
        ty: GgmlType::Q6_K,
        m: 1,
        n: 896,
        k: 4864,
    },
    Shape {
        name: "lm_head_decode_1x896x151936_q8_0",
        ty: GgmlType::Q8_0,
        m: 1,
        n: 151_936,
        k: 896,
    },
    Shape {
        name: "gate_up_prefill_128x896x4864_q5_0",
        ty: GgmlType::Q5_0,
        m: 128,
        n: 4864,
        k: 896,
    },
];

fn activations(m: usize, k: usize) -> Vec<f32> {
    (0..m * k)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
        .collect()
}

fn quantized(c: &mut Criterion) {
    let mut group = c.benchmark_group("quantized");
    group.sample_size(20);
    for shape in &SHAPES {
        let bytes = shape.ty.bytes_for(shape.n * shape.k).expect("whole blocks");
        let copies = (ROTATE_BYTES / bytes).clamp(1, 32);
        let weights: Vec<Vec<u8>> = (0..copies)
            .map(|c| random_blocks(shape.ty, shape.n, shape.k, c as u64 + 1))
            .collect();
        let x = activations(shape.m, shape.k);
        let mut out = vec![0.0f32; shape.m * shape.n];
        group.throughput(Throughput::Bytes(bytes as u64));
        let isas = if shape.m == 1 && shape.n == 4864 {
            Isa::available()
        } else {
            vec![Isa::best()]
        };
        for isa in isas {
            let mut next = 0;
            group.bench_function(BenchmarkId::new(shape.name, format!("{isa:?}")), |b| {
                b.iter(|| {
                    let data = &weights[next % copies];
                    next += 1;
                    let w = QuantWeights::new(shape.ty, shape.n, shape.k, data).expect("valid");
                    cpu::matmul_with(isa, w, black_box(&x), &mut out).expect("kernel");
                })
            });
        }
    }
    group.finish();
}

/// The same products through the Burn seam (`QuantMatrix::matmul` on a
/// flex tensor), to show what wrapping costs.
fn through_burn(c: &mut Criterion) {
    let device = Device::flex();
    let mut group = c.benchmark_group("quant_matrix");
    group.sample_size(20);
    for shape in [&SHAPES[0], &SHAPES[4]] {
        let bytes = shape.ty.bytes_for(shape.n * shape.k).expect("whole blocks");
        let copies = (ROTATE_BYTES / bytes).clamp(1, 32);
        let mats: Vec<QuantMatrix> = (0..copies)
            .map(|c| {
                let data = random_blocks(shape.ty, shape.n, shape.k, c as u64 + 1);
                QuantMatrix::new(shape.ty, shape.n, shape.k, data).expect("valid")
            })
            .collect();
        let x = Tensor::<2>::random([shape.m, shape.k], Distribution::Default, &device);
        let mut next = 0;
        group.bench_function(shape.name, |b| {
            b.iter(|| {
                let w = &mats[next % copies];
                next += 1;
                black_box(w.matmul(x.clone()))
            })
        });
    }
    group.finish();
}

/// Burn's dense f32 matmul on flex for the same shapes: the baseline.
fn dense_f32(c: &mut Criterion) {
    let device = Device::flex();
    let mut group = c.benchmark_group("flex_f32");
    group.sample_size(10);
    for shape in &SHAPES {
        let bytes = shape.n * shape.k * 4;
        let copies = (ROTATE_BYTES / bytes).clamp(1, 8);
        let ws: Vec<Tensor<2>> = (0..copies)
            .map(|_| Tensor::random([shape.n, shape.k], Distribution::Default, &device))
            .collect();
        let x = Tensor::<2>::random([shape.m, shape.k], Distribution::Default, &device);
        let mut next = 0;
        group.bench_function(shape.name, |b| {
            b.iter(|| {
                let w = &ws[next % copies];
                next += 1;
                black_box(x.clone().matmul(w.clone().transpose()).into_data())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, quantized, through_burn, dense_f32);
criterion_main!(benches);
