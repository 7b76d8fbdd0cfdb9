//! Where a decoded token's time goes, without the CLI around the model:
//! a whole decode step, then its parts (the LM head, the layers'
//! projections, norms and MLPs) timed separately on the same inputs.
//!
//! Reports wall time and CPU time (user + system of the whole process) per
//! step, so that runs on a busy machine can still be compared: CPU time
//! counts only this process's work (and its threads' spinning).
//!
//! With `rows` as third argument it instead times, for 1 to 8 rows, steps
//! that feed that many tokens to one sequence at context 480 and the 24
//! layers' projections of that many rows (through the layers and through the
//! kernels alone), reporting medians over `steps` interleaved repetitions;
//! with `hot`, the kernels alone by rows on a slice of one matrix per format
//! that stays in cache (their arithmetic without the memory stream):
//!
//! ```text
//! cargo run --release -p strictly-model --example profile_decode -- [threads] [steps] [rows [max rows] | hot]
//! ```

use std::time::{Duration, Instant};

use burn::tensor::{DType, Device, Tensor};
use strictly_model::host::{argmax, to_f32_vec};
use strictly_model::kernels::{QuantWeights, cpu};
use strictly_model::linear::{Linear, LinearWeight};
use strictly_model::{LogitRows, Qwen2};

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

/// CPU time of all this process's threads, in nanoseconds (the first field
/// of each thread's schedstat), for timings finer than clock ticks.
fn cpu_nanos() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// For each of `cases`, the median over `rounds` of the wall and CPU
/// milliseconds per call of `f(case)` (`reps` calls a round); rounds visit
/// every case in turn, so that load from elsewhere spreads over all of them.
fn medians(
    cases: &[usize],
    rounds: usize,
    reps: usize,
    mut f: impl FnMut(usize),
) -> Vec<(f64, f64)> {
    let mut samples = vec![(Vec::new(), Vec::new()); cases.len()];
    for _ in 0..rounds {
        for (&case, (walls, cpus)) in cases.iter().zip(samples.iter_mut()) {
            let (wall, cpu) = (Instant::now(), cpu_nanos());
            for _ in 0..reps {
                f(case);
            }
            walls.push(wall.elapsed().as_secs_f64() * 1e3 / reps as f64);
            cpus.push((cpu_nanos() - cpu) as f64 * 1e-6 / reps as f64);
        }
    }
    samples
        .iter_mut()
        .map(|(w, c)| (median(w), median(c)))
        .collect()
}

/// One line per case of [`medians`]' results, in `unit`s.
fn print_medians(label: &str, unit: &str, cases: &[usize], times: &[(f64, f64)]) {
    let one = times.first().map_or(f64::NAN, |t| t.0);
    for (n, (wall, cpu)) in cases.iter().zip(times) {
        println!(
            "{label} of {n} rows {wall:>8.2} {unit} wall {cpu:>8.2} {unit} cpu ({:.2}x one row)",
            wall / one
        );
    }
}

/// Steps and projections of 1..=`max_rows` rows (see the module docs);
/// `rounds` repetitions of each.
fn profile_rows(
    model: &Qwen2,
    device: &Device,
    rounds: usize,
    max_rows: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let cases: Vec<usize> = (1..=max_rows.clamp(1, 8)).collect();
    let hidden = model.config().hidden_size;
    let inter = model.config().intermediate_size;

    let prompt: Vec<u32> = (0..480).map(|i| (i * 7919 % 150_000 + 10) as u32).collect();
    let mut cache = model.new_cache(prompt.len() + 16);
    model.prefill(&prompt, &mut cache, 512)?;
    let times = medians(&cases, rounds, 4, |n| {
        let feed: Vec<u32> = (0..n as u32).map(|i| 1000 + i).collect();
        let logits = model
            .forward(&[&feed], &mut [&mut cache], LogitRows::Last)
            .expect("step");
        to_f32_vec(logits).expect("logits");
        cache.truncate(prompt.len());
    });
    print_medians("step", "ms", &cases, &times);

    let times = medians(&cases, rounds, 4, |n| {
        let x = Tensor::<2>::ones([n, hidden], (device, DType::F32));
        let xi = Tensor::<2>::ones([n, inter], (device, DType::F32));
        for l in &model.layers {
            let a = &l.self_attn;
            let _ = Linear::forward_many(&[&a.q_proj, &a.k_proj, &a.v_proj], x.clone());
            let _ = a.o_proj.forward(x.clone());
            let _ = Linear::forward_many(&[&l.mlp.gate_proj, &l.mlp.up_proj], x.clone());
            let _ = to_f32_vec(l.mlp.down_proj.forward(xi.clone()));
        }
    });
    print_medians("24 layers' projections", "ms", &cases, &times);

    // The same products through the kernels alone (no tensors, no bias).
    fn weights<'a>(ls: &[&'a Linear]) -> Option<Vec<QuantWeights<'a>>> {
        ls.iter()
            .map(|l| match &l.weight {
                LinearWeight::Quantized(q) => Some(q.weights()),
                LinearWeight::Dense(_) => None,
            })
            .collect()
    }
    let mut groups = Vec::new();
    for l in &model.layers {
        let (a, m) = (&l.self_attn, &l.mlp);
        for ls in [
            &[&a.q_proj, &a.k_proj, &a.v_proj][..],
            &[&a.o_proj],
            &[&m.gate_proj, &m.up_proj],
            &[&m.down_proj],
        ] {
            groups.push(weights(ls).ok_or("dense weights: no kernel to time")?);
        }
    }
    let xs: Vec<f32> = (0..8 * inter)
        .map(|i| ((i % 13) as f32 - 6.0) * 0.1)
        .collect();
    let mut outs: Vec<Vec<f32>> = Vec::new();
    let mut run = |ws: &[QuantWeights<'_>], n: usize| {
        let k = ws[0].cols();
        outs.resize_with(ws.len(), Vec::new);
        for (o, w) in outs.iter_mut().zip(ws) {
            o.resize(n * w.rows(), 0.0);
        }
        let mut slices: Vec<&mut [f32]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        cpu::matmul_many(ws, &xs[..n * k], &mut slices[..ws.len()]).expect("kernel");
    };
    let times = medians(&cases, rounds, 4, |n| {
        for ws in &groups {
            run(ws, n);
        }
    });
    print_medians("24 layers' kernels", "ms", &cases, &times);
    // By kind of product, to see which shapes and formats scale worst.
    for (kind, name) in ["qkv", "o", "gate+up", "down"].iter().enumerate() {
        let formats: Vec<String> = groups[kind]
            .iter()
            .map(|w| format!("{:?}", w.format()))
            .collect();
        let times = medians(&cases, rounds, 4, |n| {
            for ws in groups.iter().skip(kind).step_by(4) {
                run(ws, n);
            }
        });
        print_medians(
            &format!("24 {name} ({})", formats.join(",")),
            "ms",
            &cases,
            &times,
        );
    }
    Ok(())
}

/// The kernels alone on weights small enough to stay in L2 (a slice of one
/// matrix of each format), by rows: their arithmetic without the memory
/// stream, which is what grows with the rows. Best run with one thread.
fn profile_hot(model: &Qwen2, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let cases: Vec<usize> = (1..=8).collect();
    let mut seen = Vec::new();
    for l in &model.layers {
        let (a, m) = (&l.self_attn, &l.mlp);
        for linear in [&a.q_proj, &a.v_proj, &m.down_proj] {
            let LinearWeight::Quantized(q) = &linear.weight else {
                continue;
            };
            let w = q.weights();
            if seen.contains(&w.format()) {
                continue;
            }
            seen.push(w.format());
            // About 256 KiB of weights.
            let rows = ((256 << 10) / w.row_bytes()).clamp(16, w.rows()) / 16 * 16;
            let w = w.slice_rows(0, rows).ok_or("slice")?;
            let k = w.cols();
            let xs: Vec<f32> = (0..8 * k).map(|i| ((i % 13) as f32 - 6.0) * 0.1).collect();
            let mut out = vec![0.0f32; 8 * rows];
            let times = medians(&cases, rounds, 64, |n| {
                cpu::matmul_many(&[w], &xs[..n * k], &mut [&mut out[..n * rows]]).expect("kernel");
            });
            let us: Vec<(f64, f64)> = times.iter().map(|&(a, b)| (a * 1e3, b * 1e3)).collect();
            print_medians(&format!("{:?} {rows}x{k}", w.format()), "us", &cases, &us);
        }
    }
    Ok(())
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
    let mode = args.next();
    if mode.as_deref() == Some("hot") {
        return profile_hot(&model, steps);
    }
    if mode.as_deref() == Some("rows") {
        let max_rows = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
        return profile_rows(&model, &device, steps, max_rows);
    }
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
