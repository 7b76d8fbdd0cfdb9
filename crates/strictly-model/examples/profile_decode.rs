//! Where a decoded token's time goes, without the CLI around the model:
//! a whole decode step, then its parts (the LM head, the layers'
//! projections, norms and MLPs) timed separately on the same inputs.
//!
//! Reports wall time and CPU time (user + system of the whole process) per
//! step, so that runs on a busy machine can still be compared: CPU time
//! counts only this process's work (and its threads' spinning).
//!
//! ```text
//! cargo run --release -p strictly-model --example profile_decode -- [threads] [steps]
//! ```

use std::time::{Duration, Instant};

use burn::tensor::{DType, Device, Tensor};
use strictly_model::host::{argmax, to_f32_vec};
use strictly_model::linear::LinearWeight;

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // utime and stime are fields 14 and 15 of /proc/self/stat, in clock ticks
    // (100 per second on Linux); the command name in field 2 has no spaces here.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(13) + ticks(14)) * 10)
}

/// Runs `f` `n` times and prints wall and CPU milliseconds per run.
fn time(label: &str, n: usize, mut f: impl FnMut()) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    for _ in 0..n {
        f();
    }
    let per = |d: Duration| d.as_secs_f64() * 1e3 / n as f64;
    println!(
        "{label:<28} {:>8.2} ms wall {:>8.2} ms cpu",
        per(wall.elapsed()),
        per(cpu_time() - cpu)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    strictly_model::device::init_cpu_threads(Some(threads));
    let path = strictly_model::fetch::ensure_default_model()?;
    let device = Device::flex();
    let model = strictly_model::load(&path, &device)?.model;
    let hidden = model.config().hidden_size;
    let inter = model.config().intermediate_size;

    let prompt: Vec<u32> = (0..128).map(|i| (i * 7919 % 150_000 + 10) as u32).collect();
    let mut cache = model.new_cache(prompt.len() + steps + 8);
    let mut logits = to_f32_vec(model.prefill(&prompt, &mut cache, 512)?)?;
    // One untimed step: first calls allocate.
    let next = argmax(&logits).ok_or("empty logits")?;
    logits = to_f32_vec(model.decode(&[next], &mut [&mut cache])?)?;
    time("decode step", steps, || {
        let next = argmax(&logits).unwrap_or(0);
        logits =
            to_f32_vec(model.decode(&[next], &mut [&mut cache]).expect("decode")).expect("logits");
    });

    let long: Vec<u32> = (0..512).map(|i| (i * 7919 % 150_000 + 10) as u32).collect();
    time("prefill of 512 tokens", 2, || {
        let mut cache = model.new_cache(long.len());
        let _ = to_f32_vec(model.prefill(&long, &mut cache, 512).expect("prefill"));
    });

    let x = Tensor::<2>::ones([1, hidden], (&device, DType::F32));
    let xi = Tensor::<2>::ones([1, inter], (&device, DType::F32));
    let head = model.lm_head.as_ref().unwrap_or(&model.embed_tokens);
    time("lm head", steps, || {
        let _ = to_f32_vec(head.logits(x.clone()));
    });
    time("24 layers' projections", steps, || {
        for l in &model.layers {
            let a = &l.self_attn;
            let _ = a.q_proj.forward(x.clone());
            let _ = a.k_proj.forward(x.clone());
            let _ = a.v_proj.forward(x.clone());
            let _ = a.o_proj.forward(x.clone());
            let _ = l.mlp.gate_proj.forward(x.clone());
            let _ = l.mlp.up_proj.forward(x.clone());
            let _ = to_f32_vec(l.mlp.down_proj.forward(xi.clone()));
        }
    });
    time("24 rms norms", steps, || {
        for l in &model.layers {
            let _ = to_f32_vec(l.input_layernorm.forward(x.clone()));
        }
    });
    time("24 mlps", steps, || {
        for l in &model.layers {
            let _ = to_f32_vec(l.mlp.forward(x.clone()));
        }
    });
    // Layer 0's matrices one by one, through the host kernel alone and
    // through the Burn-facing layer (which adds the tensor round trip and the
    // bias), to separate the kernels' speed from per-call overhead.
    let l0 = &model.layers[0];
    let a = &l0.self_attn;
    let mats = [
        ("q", &a.q_proj),
        ("k", &a.k_proj),
        ("v", &a.v_proj),
        ("o", &a.o_proj),
        ("gate", &l0.mlp.gate_proj),
        ("up", &l0.mlp.up_proj),
        ("down", &l0.mlp.down_proj),
    ];
    for (name, linear) in mats {
        let (rows, cols) = (linear.out_features(), linear.in_features());
        let host = vec![0.5f32; cols];
        let mut out = vec![0.0f32; rows];
        if let LinearWeight::Quantized(q) = &linear.weight {
            let label = format!("{name} {:?} {rows}x{cols} kernel", q.format());
            time(&label, steps * 8, || {
                q.matmul_f32(&host, &mut out).expect("kernel");
            });
        }
        let x = Tensor::<2>::ones([1, cols], (&device, DType::F32));
        time(&format!("{name} layer"), steps * 8, || {
            let _ = to_f32_vec(linear.forward(x.clone()));
        });
    }
    Ok(())
}
