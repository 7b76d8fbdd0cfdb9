//! The model on a tiny random checkpoint: loading, agreement with an
//! independent f64 implementation, and the equivalences the KV cache must
//! preserve (incremental = full, batched = one by one, chunked = one shot).

mod common;

use burn::tensor::{Device, FloatDType, Tensor};
use common::*;
use strictly_model::host::to_f32_vec;
use strictly_model::{ForwardError, LoadOptions, LogitRows, Qwen2, load_with};

const TOKENS: [u32; 11] = [3, 17, 95, 0, 42, 42, 7, 64, 11, 80, 5];

fn f32_options() -> LoadOptions {
    LoadOptions {
        weight_dtype: Some(FloatDType::F32),
        ..Default::default()
    }
}

fn tiny(tied: bool, options: LoadOptions) -> (Qwen2, Weights) {
    let dir = tempfile::tempdir().unwrap();
    let mut weights = tiny_weights(tied);
    write_checkpoint(dir.path(), &mut weights, tied, true);
    let loaded = load_with(dir.path(), &Device::flex(), options).unwrap();
    (loaded.model, weights)
}

fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, cols] = t.dims();
    to_f32_vec(t)
        .unwrap()
        .chunks(cols)
        .map(<[f32]>::to_vec)
        .collect()
}

fn full_forward(model: &Qwen2, tokens: &[u32]) -> Vec<Vec<f32>> {
    let mut cache = model.new_cache(tokens.len());
    rows(
        model
            .forward(&[tokens], &mut [&mut cache], LogitRows::All)
            .unwrap(),
    )
}

#[test]
fn matches_independent_reference_tied_and_untied() {
    for tied in [true, false] {
        let (model, weights) = tiny(tied, f32_options());
        assert_eq!(model.lm_head.is_none(), tied);
        let got = full_forward(&model, &TOKENS);
        let want = reference_logits(&weights, &TOKENS, tied);
        assert_eq!((got.len(), want.len()), (TOKENS.len(), TOKENS.len()));
        for (g, w) in got.iter().zip(&want) {
            let w: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            let diff = max_abs_diff(g, &w);
            assert!(diff < 1e-3, "tied={tied}: max diff {diff}");
        }
    }
}

#[test]
fn half_precision_weights_stay_close() {
    let (model, weights) = tiny(
        true,
        LoadOptions {
            weight_dtype: Some(FloatDType::F16),
            ..Default::default()
        },
    );
    let got = full_forward(&model, &TOKENS);
    let want = reference_logits(&weights, &TOKENS, true);
    let last: Vec<f32> = want[TOKENS.len() - 1].iter().map(|&v| v as f32).collect();
    let diff = max_abs_diff(&got[TOKENS.len() - 1], &last);
    assert!(diff < 0.05, "f16 max diff {diff}");
}

#[test]
fn cached_decode_equals_full_forward() {
    let (model, _) = tiny(true, f32_options());
    let full = full_forward(&model, &TOKENS);
    let mut cache = model.new_cache(4);
    // Prompt of 4, then one token at a time (the cache grows past 4).
    let first = model.prefill(&TOKENS[..4], &mut cache, 64).unwrap();
    assert!(max_abs_diff(&to_f32_vec(first).unwrap(), &full[3]) < 1e-4);
    for (i, &t) in TOKENS.iter().enumerate().skip(4) {
        let step = rows(model.decode(&[t], &mut [&mut cache]).unwrap());
        let diff = max_abs_diff(&step[0], &full[i]);
        assert!(diff < 1e-4, "position {i}: diff {diff}");
    }
    assert_eq!(cache.len(), TOKENS.len());
}

#[test]
fn chunked_prefill_equals_one_shot() {
    let (model, _) = tiny(true, f32_options());
    let mut one = model.new_cache(16);
    let whole = to_f32_vec(model.prefill(&TOKENS, &mut one, 1024).unwrap()).unwrap();
    for chunk in [1, 3, 4] {
        let mut cache = model.new_cache(16);
        let chunked = to_f32_vec(model.prefill(&TOKENS, &mut cache, chunk).unwrap()).unwrap();
        let diff = max_abs_diff(&whole, &chunked);
        assert!(diff < 1e-4, "chunk {chunk}: diff {diff}");
    }
}

#[test]
fn long_prompts_equal_token_by_token() {
    // Long enough for several query blocks in one prefill call, the last
    // one partial, and for a second call that starts mid-cache.
    let (model, _) = tiny(true, f32_options());
    let tokens: Vec<u32> = (0..333).map(|i| (i * 37 % VOCAB) as u32).collect();
    let mut one = model.new_cache(16);
    let stepwise = to_f32_vec(model.prefill(&tokens, &mut one, 1).unwrap()).unwrap();
    for chunk in [300, 333] {
        let mut cache = model.new_cache(16);
        let blocked = to_f32_vec(model.prefill(&tokens, &mut cache, chunk).unwrap()).unwrap();
        let diff = max_abs_diff(&stepwise, &blocked);
        assert!(diff < 1e-4, "chunk {chunk}: diff {diff}");
    }
}

#[test]
fn batched_decode_equals_per_sequence_decode() {
    let (model, _) = tiny(true, f32_options());
    let prompts: [&[u32]; 3] = [&TOKENS[..2], &TOKENS[3..9], &TOKENS[..5]];
    let next = [9u32, 90, 1];
    // One by one.
    let mut alone = Vec::new();
    for (p, &t) in prompts.iter().zip(&next) {
        let mut cache = model.new_cache(8);
        model.prefill(p, &mut cache, 64).unwrap();
        alone.push(rows(model.decode(&[t], &mut [&mut cache]).unwrap()).remove(0));
    }
    // Together, with different cache lengths, for two steps.
    let mut caches: Vec<_> = prompts
        .iter()
        .map(|p| {
            let mut c = model.new_cache(8);
            model.prefill(p, &mut c, 64).unwrap();
            c
        })
        .collect();
    let mut refs: Vec<_> = caches.iter_mut().collect();
    let together = rows(model.decode(&next, &mut refs).unwrap());
    assert_eq!(together.len(), 3);
    for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
        let diff = max_abs_diff(a, b);
        assert!(diff < 1e-4, "sequence {i}: diff {diff}");
    }
    // Mixed step: one sequence prefills while the others decode.
    let mixed: [&[u32]; 3] = [&[4], &[5, 6, 7], &[8]];
    let out = rows(model.forward(&mixed, &mut refs, LogitRows::Last).unwrap());
    assert_eq!(out.len(), 3);
    for (i, seq) in mixed.iter().enumerate() {
        let mut full: Vec<u32> = prompts[i].to_vec();
        full.push(next[i]);
        full.extend_from_slice(seq);
        let want = full_forward(&model, &full);
        let diff = max_abs_diff(&out[i], want.last().unwrap());
        assert!(diff < 1e-4, "mixed sequence {i}: diff {diff}");
    }
}

#[test]
fn rejects_bad_steps() {
    let (model, _) = tiny(true, f32_options());
    let mut cache = model.new_cache(8);
    assert!(matches!(
        model.decode(&[VOCAB as u32], &mut [&mut cache]),
        Err(ForwardError::TokenOutOfRange { .. })
    ));
    assert!(matches!(
        model.prefill(&[], &mut cache, 8),
        Err(ForwardError::EmptyInput)
    ));
    assert!(matches!(
        model.decode(&[1, 2], &mut [&mut cache]),
        Err(ForwardError::BatchMismatch { .. })
    ));
    let too_long = vec![1u32; 4097];
    assert!(matches!(
        model.prefill(&too_long, &mut cache, 512),
        Err(ForwardError::Cache(_))
    ));
    assert_eq!(cache.len(), 0);
}

#[test]
fn rejects_checkpoints_with_wrong_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let mut weights = tiny_weights(true);
    weights.get_mut("model.norm.weight").unwrap().0 = vec![HIDDEN / 2, 2];
    write_checkpoint(dir.path(), &mut weights, true, false);
    let err = load_with(dir.path(), &Device::flex(), f32_options()).unwrap_err();
    assert!(err.to_string().contains("model.norm.weight"), "{err}");
    weights.remove("model.layers.1.mlp.up_proj.weight");
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        &mut tiny_weights(true)
            .into_iter()
            .filter(|(k, _)| k != "model.layers.1.mlp.up_proj.weight")
            .collect(),
        true,
        false,
    );
    let err = load_with(dir.path(), &Device::flex(), f32_options()).unwrap_err();
    assert!(err.to_string().contains("up_proj"), "{err}");
}
