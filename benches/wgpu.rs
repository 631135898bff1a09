//! wgpu backend benches on whatever adapter `EDGEPLANE_WGPU_*` picks (lavapipe here):
//! dequantize-matmul at decode (n=1) and prefill (n=128, 512) for 1B- and 7B-class layer
//! shapes, and attention decode over KV 512 / 4096 (32 query heads, 8 KV heads, head_dim 128).
//! Each case prints time per `run`, GB/s of weights read and GFLOP/s.
//!
//! lavapipe is slow, so samples are few, prefill runs once per case, and prefill runs
//! beyond 2048x2048 only with `EDGEPLANE_BENCH_FULL=1`. Weights are random block
//! bytes with finite scales: speed does not depend on the values.
//! `EDGEPLANE_BENCH_ONLY=<substring>` picks cases by name (`q4_K n=1`, `attention`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use edgeplane::backend::wgpu::Wgpu;
use edgeplane::{Backend, Bytes, DType, Executable, Graph, HostTensor, Op, TensorDesc};
use std::time::{Duration, Instant};

/// Random blocks of `dtype` (speed does not depend on the values; small finite scales
/// keep the outputs usable as a sanity check).
fn random_weights(dtype: DType, m: usize, k: usize) -> Vec<u8> {
    edgeplane_kernels::noise::random_blocks(dtype, m * k, 0x1234_5678 ^ dtype.ggml_type() as u64)
}

fn matmul_exe(
    b: &Wgpu,
    dtype: DType,
    n: usize,
    m: usize,
    k: usize,
) -> (Box<dyn Executable>, HostTensor) {
    let mut g = Graph::new();
    let x = g
        .input("x", TensorDesc::new(DType::F32, [n, k]))
        .expect("x");
    let w = g
        .constant(
            "w",
            TensorDesc::new(dtype, [m, k]),
            Bytes::from_vec(random_weights(dtype, m, k)),
        )
        .expect("w");
    let y = g
        .add(Op::MatMul { has_bias: false }, &[x, w])
        .expect("matmul");
    g.mark_output(y).expect("output");
    let xv: Vec<f32> = (0..n * k).map(|i| ((i % 17) as f32 - 8.0) * 0.05).collect();
    (
        b.compile(&g).expect("compile"),
        HostTensor::from_f32([n, k], &xv).expect("x"),
    )
}

fn median_run(exe: &mut Box<dyn Executable>, inputs: &[HostTensor], runs: usize) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            exe.run(inputs).expect("run");
            start.elapsed()
        })
        .collect();
    t.sort();
    t[t.len() / 2]
}

/// `EDGEPLANE_BENCH_ONLY=<substring>` runs only the cases whose name contains it.
fn selected(name: &str) -> bool {
    std::env::var("EDGEPLANE_BENCH_ONLY").map_or(true, |f| name.contains(&f))
}

fn report(name: &str, time: Duration, weight_bytes: f64, flops: f64) {
    let s = time.as_secs_f64();
    println!(
        "wgpu-bench {name:<40} {:>10.2} ms {:>8.2} GB/s {:>8.2} GFLOP/s",
        s * 1e3,
        weight_bytes / s / 1e9,
        flops / s / 1e9
    );
}

fn matmul(c: &mut Criterion) {
    let Ok(backend) = Wgpu::from_env() else {
        eprintln!("no wgpu adapter: skipping wgpu benches");
        return;
    };
    let full = std::env::var("EDGEPLANE_BENCH_FULL").is_ok_and(|v| v == "1");
    let shapes = [
        (2048, 2048),
        (8192, 2048),
        (2048, 8192),
        (4096, 4096),
        (11008, 4096),
        (4096, 11008),
    ];
    let mut group = c.benchmark_group("wgpu_matmul");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1));
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K] {
        for (m, k) in shapes {
            for n in [1usize, 128, 512] {
                let name = format!("{dtype} n={n} {m}x{k}");
                if (n > 1 && m * k > 2048 * 2048 && !full) || !selected(&name) {
                    continue;
                }
                let (mut exe, x) = matmul_exe(&backend, dtype, n, m, k);
                let inputs = [x];
                exe.run(&inputs).expect("warm-up run");
                let weight_bytes = dtype.bytes_for((m * k) as u64).unwrap_or(0) as f64;
                let runs = if n == 1 { 5 } else { 1 };
                report(
                    &name,
                    median_run(&mut exe, &inputs, runs),
                    weight_bytes,
                    2.0 * (n * m * k) as f64,
                );
                if n == 1 {
                    group.throughput(Throughput::Bytes(weight_bytes as u64));
                    group.bench_function(&name, |bench| {
                        bench.iter(|| exe.run(&inputs).expect("run"))
                    });
                }
            }
        }
    }
    group.finish();
}

fn attention(c: &mut Criterion) {
    let Ok(backend) = Wgpu::from_env() else {
        return;
    };
    let (n_head, n_kv, head_dim) = (32, 8, 128);
    let mut group = c.benchmark_group("wgpu_attention");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1));
    for kv in [512usize, 4096] {
        let name = format!("attention decode f16 kv={kv}");
        if !selected(&name) {
            continue;
        }
        let mut g = Graph::new();
        let q = g
            .input("q", TensorDesc::new(DType::F32, [1, n_head * head_dim]))
            .expect("q");
        let k = g
            .state("k", TensorDesc::new(DType::F16, [kv, n_kv * head_dim]))
            .expect("k");
        let v = g
            .state("v", TensorDesc::new(DType::F16, [kv, n_kv * head_dim]))
            .expect("v");
        let p = g
            .input("pos", TensorDesc::new(DType::I32, [1]))
            .expect("pos");
        let op = Op::Attention {
            n_head,
            n_kv_head: n_kv,
            head_dim,
            scale: 0.088,
            causal: true,
            softcap: None,
        };
        let y = g.add(op, &[q, k, v, p]).expect("attention");
        g.mark_output(y).expect("output");
        let mut exe = backend.compile(&g).expect("compile");
        let inputs = [
            HostTensor::from_f32([1, n_head * head_dim], &vec![0.1; n_head * head_dim]).expect("q"),
            HostTensor::from_i32([1], &[kv as i32 - 1]).expect("pos"),
        ];
        exe.run(&inputs).expect("warm-up run");
        let kv_bytes = (2 * kv * n_kv * head_dim * 2) as f64;
        let flops = (4 * n_head * kv * head_dim) as f64;
        report(&name, median_run(&mut exe, &inputs, 5), kv_bytes, flops);
        group.throughput(Throughput::Bytes(kv_bytes as u64));
        group.bench_function(&name, |bench| bench.iter(|| exe.run(&inputs).expect("run")));
    }
    group.finish();
}

criterion_group!(benches, matmul, attention);
criterion_main!(benches);
