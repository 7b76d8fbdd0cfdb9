//! A tiny Qwen2-shaped checkpoint written by the tests themselves, and a
//! plain `f64` reference forward pass that shares no code with the crate.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::Dtype;
use safetensors::tensor::TensorView;

pub const VOCAB: usize = 96;
pub const HIDDEN: usize = 32;
pub const INTER: usize = 48;
pub const LAYERS: usize = 2;
pub const HEADS: usize = 4;
pub const KV_HEADS: usize = 2;
pub const HEAD_DIM: usize = HIDDEN / HEADS;
pub const THETA: f64 = 10_000.0;
pub const EPS: f64 = 1e-6;

/// Deterministic pseudo-random weights (64-bit LCG, uniform in ±scale).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }
    pub fn next(&mut self, scale: f32) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let unit = (self.0 >> 40) as f32 / (1u64 << 24) as f32;
        (unit * 2.0 - 1.0) * scale
    }
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next(scale)).collect()
    }
}

/// Canonical name → (shape, values).
pub type Weights = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// The tiny model's weights. Norm gains sit around 1 so activations stay
/// in a range where every position matters.
pub fn tiny_weights(tied: bool) -> Weights {
    let mut rng = Lcg::new(7);
    let mut w = Weights::new();
    let mut put = |name: String, shape: Vec<usize>, rng: &mut Lcg, scale: f32, offset: f32| {
        let n = shape.iter().product();
        let v = rng.vec(n, scale).into_iter().map(|x| x + offset).collect();
        w.insert(name, (shape, v));
    };
    put(
        "model.embed_tokens.weight".into(),
        vec![VOCAB, HIDDEN],
        &mut rng,
        1.0,
        0.0,
    );
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        let kv = KV_HEADS * HEAD_DIM;
        put(
            format!("{p}.input_layernorm.weight"),
            vec![HIDDEN],
            &mut rng,
            0.2,
            1.0,
        );
        put(
            format!("{p}.self_attn.q_proj.weight"),
            vec![HIDDEN, HIDDEN],
            &mut rng,
            0.4,
            0.0,
        );
        put(
            format!("{p}.self_attn.q_proj.bias"),
            vec![HIDDEN],
            &mut rng,
            0.3,
            0.0,
        );
        put(
            format!("{p}.self_attn.k_proj.weight"),
            vec![kv, HIDDEN],
            &mut rng,
            0.4,
            0.0,
        );
        put(
            format!("{p}.self_attn.k_proj.bias"),
            vec![kv],
            &mut rng,
            0.3,
            0.0,
        );
        put(
            format!("{p}.self_attn.v_proj.weight"),
            vec![kv, HIDDEN],
            &mut rng,
            0.4,
            0.0,
        );
        put(
            format!("{p}.self_attn.v_proj.bias"),
            vec![kv],
            &mut rng,
            0.3,
            0.0,
        );
        put(
            format!("{p}.self_attn.o_proj.weight"),
            vec![HIDDEN, HIDDEN],
            &mut rng,
            0.3,
            0.0,
        );
        put(
            format!("{p}.post_attention_layernorm.weight"),
            vec![HIDDEN],
            &mut rng,
            0.2,
            1.0,
        );
        put(
            format!("{p}.mlp.gate_proj.weight"),
            vec![INTER, HIDDEN],
            &mut rng,
            0.3,
            0.0,
        );
        put(
            format!("{p}.mlp.up_proj.weight"),
            vec![INTER, HIDDEN],
            &mut rng,
            0.3,
            0.0,
        );
        put(
            format!("{p}.mlp.down_proj.weight"),
            vec![HIDDEN, INTER],
            &mut rng,
            0.3,
            0.0,
        );
    }
    put("model.norm.weight".into(), vec![HIDDEN], &mut rng, 0.2, 1.0);
    if !tied {
        put(
            "lm_head.weight".into(),
            vec![VOCAB, HIDDEN],
            &mut rng,
            0.5,
            0.0,
        );
    }
    w
}

const TOKENIZER_JSON: &str = r#"{"version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null,
  "decoder": null, "model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}}"#;

pub fn config_json(tied: bool) -> String {
    format!(
        r#"{{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "vocab_size": {VOCAB}, "hidden_size": {HIDDEN}, "intermediate_size": {INTER},
  "num_hidden_layers": {LAYERS}, "num_attention_heads": {HEADS},
  "num_key_value_heads": {KV_HEADS}, "max_position_embeddings": 4096,
  "rope_theta": {THETA:.1}, "rms_norm_eps": {EPS:e}, "tie_word_embeddings": {tied},
  "torch_dtype": "float32"}}"#
    )
}

/// Writes `config.json` and the weights, split over two shard files, with
/// the matrices of the second shard in bf16 (`half_second`) to exercise the
/// decoder; values are rounded the same way in `weights` so the reference
/// sees what the model sees.
pub fn write_checkpoint(dir: &Path, weights: &mut Weights, tied: bool, half_second: bool) {
    std::fs::write(dir.join("config.json"), config_json(tied)).unwrap();
    // A Hugging Face folder also carries its tokenizer; the model tests do
    // not tokenize, so a one-word vocabulary is enough.
    std::fs::write(dir.join("tokenizer.json"), TOKENIZER_JSON).unwrap();
    let names: Vec<String> = weights.keys().cloned().collect();
    let (first, second) = names.split_at(names.len() / 2);
    for (file, part, bf16) in [
        ("model-1.safetensors", first, false),
        ("model-2.safetensors", second, half_second),
    ] {
        let mut bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for name in part {
            let (shape, values) = weights.get_mut(name).unwrap();
            if bf16 {
                let b: Vec<u8> = values
                    .iter()
                    .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                    .collect();
                for v in values.iter_mut() {
                    *v = half::bf16::from_f32(*v).to_f32();
                }
                bytes.push((name.clone(), Dtype::BF16, shape.clone(), b));
            } else {
                let b: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                bytes.push((name.clone(), Dtype::F32, shape.clone(), b));
            }
        }
        let views: Vec<(String, TensorView<'_>)> = bytes
            .iter()
            .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        safetensors::serialize_to_file(views, None, &dir.join(file)).unwrap();
    }
}

fn get<'a>(w: &'a Weights, name: &str) -> &'a [f32] {
    &w[name].1
}

/// `y[r] = W[r] · x (+ b[r])` with `W` as `[out, in]`.
fn matvec(w: &[f32], b: Option<&[f32]>, x: &[f64], out: usize) -> Vec<f64> {
    let cols = x.len();
    (0..out)
        .map(|r| {
            let dot: f64 = (0..cols).map(|c| f64::from(w[r * cols + c]) * x[c]).sum();
            dot + b.map_or(0.0, |b| f64::from(b[r]))
        })
        .collect()
}

fn rms_norm(x: &[f64], g: &[f32]) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let inv = 1.0 / (ms + EPS).sqrt();
    x.iter()
        .zip(g)
        .map(|(v, g)| v * inv * f64::from(*g))
        .collect()
}

fn rope(v: &mut [f64], pos: usize) {
    let half = HEAD_DIM / 2;
    for i in 0..half {
        let freq = THETA.powf(-((2 * i) as f64) / HEAD_DIM as f64);
        let (s, c) = (pos as f64 * freq).sin_cos();
        let (a, b) = (v[i], v[i + half]);
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
    }
}

/// Logits at every position of `tokens`, computed naively in f64.
pub fn reference_logits(w: &Weights, tokens: &[u32], tied: bool) -> Vec<Vec<f64>> {
    let n = tokens.len();
    let emb = get(w, "model.embed_tokens.weight");
    let mut xs: Vec<Vec<f64>> = tokens
        .iter()
        .map(|&t| {
            let t = t as usize;
            emb[t * HIDDEN..(t + 1) * HIDDEN]
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        })
        .collect();
    let kv = KV_HEADS * HEAD_DIM;
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        let g = |s: &str| get(w, &format!("{p}.{s}"));
        let mut qs = Vec::new();
        let mut ks = Vec::new();
        let mut vs = Vec::new();
        for (pos, x) in xs.iter().enumerate() {
            let h = rms_norm(x, g("input_layernorm.weight"));
            let mut q = matvec(
                g("self_attn.q_proj.weight"),
                Some(g("self_attn.q_proj.bias")),
                &h,
                HIDDEN,
            );
            let mut k = matvec(
                g("self_attn.k_proj.weight"),
                Some(g("self_attn.k_proj.bias")),
                &h,
                kv,
            );
            let v = matvec(
                g("self_attn.v_proj.weight"),
                Some(g("self_attn.v_proj.bias")),
                &h,
                kv,
            );
            for head in q.chunks_mut(HEAD_DIM) {
                rope(head, pos);
            }
            for head in k.chunks_mut(HEAD_DIM) {
                rope(head, pos);
            }
            qs.push(q);
            ks.push(k);
            vs.push(v);
        }
        for i in 0..n {
            let mut attn = vec![0.0; HIDDEN];
            for h in 0..HEADS {
                let kvh = h / (HEADS / KV_HEADS);
                let q = &qs[i][h * HEAD_DIM..(h + 1) * HEAD_DIM];
                let scores: Vec<f64> = (0..=i)
                    .map(|j| {
                        let k = &ks[j][kvh * HEAD_DIM..(kvh + 1) * HEAD_DIM];
                        q.iter().zip(k).map(|(a, b)| a * b).sum::<f64>() / (HEAD_DIM as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f64 = exps.iter().sum();
                for (j, e) in exps.iter().enumerate() {
                    let v = &vs[j][kvh * HEAD_DIM..(kvh + 1) * HEAD_DIM];
                    for d in 0..HEAD_DIM {
                        attn[h * HEAD_DIM + d] += e / total * v[d];
                    }
                }
            }
            let o = matvec(g("self_attn.o_proj.weight"), None, &attn, HIDDEN);
            for (x, o) in xs[i].iter_mut().zip(o) {
                *x += o;
            }
            let h = rms_norm(&xs[i], g("post_attention_layernorm.weight"));
            let gate = matvec(g("mlp.gate_proj.weight"), None, &h, INTER);
            let up = matvec(g("mlp.up_proj.weight"), None, &h, INTER);
            let act: Vec<f64> = gate
                .iter()
                .zip(&up)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            let down = matvec(g("mlp.down_proj.weight"), None, &act, HIDDEN);
            for (x, d) in xs[i].iter_mut().zip(down) {
                *x += d;
            }
        }
    }
    let head = if tied {
        "model.embed_tokens.weight"
    } else {
        "lm_head.weight"
    };
    xs.iter()
        .map(|x| {
            matvec(
                get(w, head),
                None,
                &rms_norm(x, get(w, "model.norm.weight")),
                VOCAB,
            )
        })
        .collect()
}

/// Largest absolute difference between two equally long sequences.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
