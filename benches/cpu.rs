//! CPU matmul and attention, edgeplane's fast backend side by side with ggml and candle on
//! the same data, shapes and thread count (2), plus the machine's memory bandwidth.
//!
//! ```text
//! RUSTFLAGS="-C target-cpu=native" cargo bench --features anchor-ggml,anchor-candle --bench cpu
//! ```
//! Without the features only edgeplane's rows run. `target-cpu=native` matters for the
//! anchors: candle picks SIMD at compile time and llama-cpp-sys-2 then builds ggml with
//! `GGML_NATIVE` (AVX-512 here); edgeplane detects SIMD at run time either way.
//! Filter like any criterion bench: `... --bench cpu -- q4_0/4096x4096`.
//!
//! Caches: on CPUs whose L3 holds the weight matrix (this VM reports 480 MiB) the decode
//! rows are cache-resident, so their share of DRAM bandwidth can exceed 100 %.
//!
//! Timings come from criterion (`iter_custom`, few samples); the summary table at the end
//! prints the median per-iteration time of each row, the ratio to edgeplane, and for
//! decode the weight bytes per second as a share of the measured DRAM bandwidth.

use criterion::Criterion;
use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::{Backend, DType, Executable, Graph, HostTensor, Op, TensorDesc};
use edgeplane_kernels::noise::noise;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const THREADS: usize = 2;

/// Per-iteration times recorded by `iter_custom`, keyed by bench id.
static TIMES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn record(id: &str, per_iter_s: f64) {
    TIMES
        .lock()
        .expect("bench timing lock is never poisoned (no panics while held)")
        .entry(id.to_string())
        .or_default()
        .push(per_iter_s);
}

fn median(id: &str) -> Option<f64> {
    let t = TIMES.lock().expect("bench timing lock");
    let mut v = t.get(id)?.clone();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied()
}

/// Times `f` under criterion and records per-iteration seconds for the summary.
fn bench(c: &mut Criterion, id: &str, mut f: impl FnMut()) {
    c.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            let el = start.elapsed();
            record(id, el.as_secs_f64() / iters as f64);
            el
        })
    });
}

/// Random blocks of `dtype` with small finite f16 scales (speed does not depend on values,
/// NaNs would only make the outputs useless as a sanity check).
fn random_weights(dtype: DType, m: usize, k: usize) -> Vec<u8> {
    let mut s: u64 = 0x1234_5678_9ABC_DEF1 ^ dtype.ggml_type() as u64;
    let n = m * k / dtype.block_size() * dtype.block_bytes();
    let mut w: Vec<u8> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u8
        })
        .collect();
    let scales: &[usize] = match dtype {
        DType::Q4_0 | DType::Q8_0 => &[0],
        DType::Q4K => &[0, 2],
        DType::Q6K => &[208],
        _ => &[],
    };
    let h = half::f16::from_f32(0.002).to_le_bytes();
    for blk in w.chunks_exact_mut(dtype.block_bytes()) {
        for &o in scales {
            blk[o..o + 2].copy_from_slice(&h);
        }
    }
    w
}

fn fast() -> Fast {
    Fast::new(FastSettings {
        threads: THREADS,
        simd: None,
    })
    .expect("best SIMD level is available by definition")
}

fn matmul_exe(
    backend: &Fast,
    dtype: DType,
    w: &[u8],
    n: usize,
    m: usize,
    k: usize,
) -> Box<dyn Executable> {
    let mut g = Graph::new();
    let x = g
        .input("x", TensorDesc::new(DType::F32, [n, k]))
        .expect("valid");
    let wi = g
        .constant("w", TensorDesc::new(dtype, [m, k]), w.to_vec().into())
        .expect("sized");
    let y = g
        .add(Op::MatMul { has_bias: false }, &[x, wi])
        .expect("shapes");
    g.mark_output(y).expect("exists");
    backend
        .compile(&g)
        .expect("fast backend supports every matmul")
}

/// Read bandwidth: sums a 1 GiB buffer from `THREADS` threads; best of a few passes.
fn bandwidth_gbps(pool: &rayon::ThreadPool) -> f64 {
    let words = (1usize << 30) / 8;
    let buf: Vec<u64> = (0..words as u64).collect();
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = Instant::now();
        let sum: u64 = pool.install(|| {
            buf.par_chunks(words / THREADS)
                .map(|c| c.iter().fold(0u64, |a, &v| a.wrapping_add(v)))
                .reduce(|| 0, u64::wrapping_add)
        });
        let s = start.elapsed().as_secs_f64();
        std::hint::black_box(sum);
        best = best.max((words * 8) as f64 / s / 1e9);
    }
    best
}

struct Row {
    name: String,
    ids: [String; 3],
    weight_bytes: Option<usize>,
}

fn main() {
    // candle reads its thread count once per process, from the environment.
    // SAFETY-free: set before any other thread exists in this process.
    std::env::set_var("CANDLE_NUM_THREADS", THREADS.to_string());
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let backend = fast();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("thread pool");
    let bw = bandwidth_gbps(&pool);
    let mut rows: Vec<Row> = Vec::new();

    for (m, k) in [(4096usize, 4096usize), (11008, 4096)] {
        for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K] {
            let w = random_weights(dtype, m, k);
            for n in [1usize, 16, 128, 512] {
                let name = format!("{}/{m}x{k}/n={n}", dtype.name());
                let ids = [
                    format!("{name}/edgeplane"),
                    format!("{name}/ggml"),
                    format!("{name}/candle"),
                ];
                let x = noise(n as u64, n * k);
                let input = HostTensor::from_f32([n, k], &x).expect("sized");
                let mut exe = matmul_exe(&backend, dtype, &w, n, m, k);
                bench(&mut c, &ids[0], || {
                    std::hint::black_box(exe.run(std::slice::from_ref(&input)).expect("runs"));
                });
                drop(exe);
                #[cfg(feature = "anchor-ggml")]
                {
                    let mut g =
                        edgeplane::anchor::ggml::GgmlMatMul::new(dtype, &w, m, k, n, THREADS)
                            .expect("ggml builds the graph");
                    bench(&mut c, &ids[1], || {
                        std::hint::black_box(g.run(&x).expect("ggml runs"));
                    });
                }
                #[cfg(feature = "anchor-candle")]
                {
                    let cm = edgeplane::anchor::candle::CandleMatMul::new(dtype, &w, m, k)
                        .expect("candle takes ggml blocks");
                    bench(&mut c, &ids[2], || {
                        std::hint::black_box(cm.run(&x, n).expect("candle runs"));
                    });
                }
                rows.push(Row {
                    name,
                    ids,
                    weight_bytes: (n == 1).then_some(w.len()),
                });
            }
        }
    }

    let (n_head, n_kv_head, head_dim) = (32usize, 8usize, 128usize);
    for kv in [512usize, 4096] {
        let name = format!("attention/decode/kv={kv}");
        let ids = [
            format!("{name}/edgeplane"),
            format!("{name}/ggml"),
            format!("{name}/candle"),
        ];
        let width = n_kv_head * head_dim;
        let kf: Vec<half::f16> = noise(1, kv * width)
            .iter()
            .map(|&v| half::f16::from_f32(v))
            .collect();
        let vf: Vec<half::f16> = noise(2, kv * width)
            .iter()
            .map(|&v| half::f16::from_f32(v))
            .collect();
        let q = noise(3, n_head * head_dim);
        let scale = 1.0 / (head_dim as f32).sqrt();
        let mut g = Graph::new();
        let qi = g
            .input("q", TensorDesc::new(DType::F32, [1, n_head * head_dim]))
            .expect("valid");
        let pi = g
            .input("pos", TensorDesc::new(DType::I32, [1]))
            .expect("valid");
        let kd = TensorDesc::new(DType::F16, [kv, width]);
        let ki = g
            .constant("k", kd.clone(), bytemuck::cast_slice(&kf).to_vec().into())
            .expect("sized");
        let vi = g
            .constant("v", kd, bytemuck::cast_slice(&vf).to_vec().into())
            .expect("sized");
        let o = g
            .add(
                Op::Attention {
                    n_head,
                    n_kv_head,
                    head_dim,
                    scale,
                    causal: false,
                    softcap: None,
                },
                &[qi, ki, vi, pi],
            )
            .expect("shapes");
        g.mark_output(o).expect("exists");
        let mut exe = backend.compile(&g).expect("supported");
        let inputs = [
            HostTensor::from_f32([1, n_head * head_dim], &q).expect("sized"),
            HostTensor::from_i32([1], &[kv as i32 - 1]).expect("sized"),
        ];
        bench(&mut c, &ids[0], || {
            std::hint::black_box(exe.run(&inputs).expect("runs"));
        });
        #[cfg(feature = "anchor-ggml")]
        {
            use edgeplane::anchor::ggml::{AttentionShape, GgmlAttention};
            let shape = AttentionShape {
                n: 1,
                n_head,
                n_kv_head,
                head_dim,
                kv_len: kv,
            };
            let mut ga = GgmlAttention::new(shape, &kf, &vf, scale, THREADS).expect("ggml graph");
            let ours = exe.run(&inputs).expect("runs")[0].to_f32().expect("f32");
            let theirs = ga.run(&q).expect("ggml runs").to_vec();
            let err = ours
                .iter()
                .zip(&theirs)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            println!("{name}: max |edgeplane - ggml| = {err:.2e}");
            bench(&mut c, &ids[1], || {
                std::hint::black_box(ga.run(&q).expect("ggml runs"));
            });
        }
        rows.push(Row {
            name,
            ids,
            weight_bytes: None,
        });
    }
    c.final_summary();

    println!();
    println!(
        "CPU: {} | edgeplane SIMD {} | threads {THREADS} | read bandwidth {bw:.1} GB/s (1 GiB, {THREADS} threads)",
        backend.info().device,
        backend.simd_level()
    );
    println!("| case | edgeplane ms | ggml ms | candle ms | ggml/edgeplane | candle/edgeplane | decode GB/s (% of bw) |");
    println!("|---|---|---|---|---|---|---|");
    let ms = |id: &str| median(id).map(|s| s * 1e3);
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for r in &rows {
        let [e, g, cd] = [ms(&r.ids[0]), ms(&r.ids[1]), ms(&r.ids[2])];
        let ratio = |o: Option<f64>| match (o, e) {
            (Some(o), Some(e)) => format!("{:.2}x", o / e),
            _ => "-".into(),
        };
        let bwcol = match (r.weight_bytes, e) {
            (Some(b), Some(e)) => {
                let gbps = b as f64 / (e / 1e3) / 1e9;
                format!("{gbps:.1} ({:.0}%)", 100.0 * gbps / bw)
            }
            _ => "-".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            fmt(e),
            fmt(g),
            fmt(cd),
            ratio(g),
            ratio(cd),
            bwcol
        );
    }
}
