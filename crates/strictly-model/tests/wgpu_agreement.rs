//! The wgpu backend against the CPU backend on the tiny checkpoint (runs on
//! a software Vulkan driver where there is no GPU). Built only with
//! `--features wgpu`.

#![cfg(feature = "wgpu")]

mod common;

use burn::tensor::{Device, FloatDType, Tensor};
use common::*;
use strictly_model::host::to_f32_vec;
use strictly_model::{Backend, LoadOptions, LogitRows, Qwen2, load_with};

const TOKENS: [u32; 9] = [5, 61, 2, 95, 33, 33, 70, 1, 48];
const TOLERANCE: f32 = 1e-3;

fn load_on(dir: &std::path::Path, device: &Device) -> Qwen2 {
    let options = LoadOptions {
        weight_dtype: Some(FloatDType::F32),
        // Several vocabulary chunks, as the real model needs on GPUs.
        vocab_chunk_rows: Some(40),
        quantized: Some(false),
    };
    load_with(dir, device, options).unwrap().model
}

fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, cols] = t.dims();
    to_f32_vec(t)
        .unwrap()
        .chunks(cols)
        .map(<[f32]>::to_vec)
        .collect()
}

/// Full forward, then a prompt + two decode steps for two sequences batched.
fn run(model: &Qwen2) -> Vec<Vec<f32>> {
    let mut cache = model.new_cache(16);
    let mut out = rows(
        model
            .forward(&[&TOKENS], &mut [&mut cache], LogitRows::All)
            .unwrap(),
    );
    let mut a = model.new_cache(4);
    let mut b = model.new_cache(4);
    model.prefill(&TOKENS[..3], &mut a, 2).unwrap();
    model.prefill(&TOKENS[2..8], &mut b, 4).unwrap();
    for step in [[7u32, 9], [90, 3]] {
        out.extend(rows(model.decode(&step, &mut [&mut a, &mut b]).unwrap()));
    }
    out
}

#[test]
fn wgpu_agrees_with_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let mut weights = tiny_weights(true);
    write_checkpoint(dir.path(), &mut weights, true, false);
    let cpu = run(&load_on(dir.path(), &Device::flex()));
    let gpu = run(&load_on(dir.path(), &Backend::Wgpu.device().unwrap()));
    assert_eq!(cpu.len(), TOKENS.len() + 4);
    assert_eq!(cpu.len(), gpu.len());
    for (i, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        let diff = max_abs_diff(c, g);
        assert!(diff < TOLERANCE, "row {i}: max diff {diff}");
    }
}
