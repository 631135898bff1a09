//! CPU matmul and attention, edgeplane's fast backend side by side with ggml and candle on
//! the same data, shapes and thread count (2), plus the machine's DRAM read bandwidth and
//! cold-cache decode rows measured against it. The issue's table (Q4_0, Q8_0, Q4_K, Q6_K;
//! n = 1, 16, 128, 512; 4096² and 11008×4096) comes first, then decode and n = 16 of the
//! other six formats at 4096², then Q5_0 and Q8_0 at 4864×896 (rows that end inside a
//! tile).
//!
//! ```text
//! cargo bench --features anchor-ggml,anchor-candle --bench cpu
//! ```
//! Without the features only edgeplane's rows run. Filter like any criterion bench:
//! `... --bench cpu -- q4_0/4096x4096` (rows that are filtered out do no setup).
//!
//! SIMD of the anchors. edgeplane and candle 0.11 pick their SIMD at run time. ggml's is
//! fixed when `llama-cpp-sys-2` builds it: by default its build script passes
//! `GGML_NATIVE=OFF` and ggml's CMake falls back to its x86 baseline (SSE4.2, AVX, AVX2,
//! FMA, F16C, BMI2; no AVX-512, no VNNI). Two ways to give ggml this CPU's AVX-512 and VNNI:
//! ```text
//! # every crate built for this CPU; the build script turns this into GGML_NATIVE=ON (-march=native)
//! RUSTFLAGS="-C target-cpu=native" cargo bench --features anchor-ggml,anchor-candle --bench cpu
//! # only ggml rebuilt: GGML_* variables are forwarded to ggml's CMake as cache entries
//! GGML_AVX512=ON GGML_AVX512_VNNI=ON GGML_AVX512_VBMI=ON GGML_AVX512_BF16=ON GGML_AVX_VNNI=OFF \
//!   cargo bench --features anchor-ggml,anchor-candle --bench cpu
//! ```
//! (`GGML_AVX_VNNI=ON` only on CPUs with the VEX-encoded AVX-VNNI, e.g. Sapphire Rapids;
//! Zen 4 has AVX-512 VNNI only and ggml dies with SIGILL. ggml's CMake cache keeps old
//! values: `cargo clean -p llama-cpp-sys-2 --release` after changing them.)
//! Either rebuilds ggml (about 10 minutes on 2 cores). Setting `SOURCE_DATE_EPOCH` turns
//! ggml's baseline off (plain SSE2) unless the flags above are given. The ggml anchor runs
//! `mul_mat` on plain context memory, so ggml's repacked CPU buffer types (used by
//! llama.cpp for Q4_0/Q4_K prefill) are not exercised.
//!
//! `EDGEPLANE_BENCH_SIMD=avx2|avx-vnni|scalar` runs edgeplane's rows at a lower SIMD level
//! (what an AVX2-only or an AVX-VNNI laptop would get); the anchors keep theirs.
//!
//! Caches and bandwidth: the plain n=1 rows run again and again on one weight matrix, so
//! whatever of it fits the last-level cache stays there ("warm": all of them on a VM with
//! a 480 MiB L3, only the 4096² ones on one with 32 MiB). The `n=1 cold` rows cycle through
//! enough copies of the weights (at least `COLD_BYTES` in total) that every call reads its
//! weights from DRAM. In them edgeplane, ggml, candle and a plain read of the same bytes
//! take turns in short bursts inside one measurement, so all four see the same moment of a
//! shared machine; their GB/s are given as a share of that read's and of the DRAM probe
//! (summing a `PROBE_BYTES` buffer at the start and end of the run, the better of the two;
//! also printed: the same probe on a cache-resident 64 MiB buffer). The plain read is the
//! yardstick of a DRAM-bound row: a kernel passes it only by what its software prefetch
//! adds (a few percent), so the row's ratio to an anchor can be little more than the plain
//! read's GB/s over the anchor's. The plain read and the probe read memory on 2 MiB pages where
//! Linux gives them, as edgeplane's weight tiles are (the probe on 4 KiB pages is printed
//! too); ggml and candle keep their weights on the allocator's pages.
//!
//! Compute: batched rows (n > 1) give each implementation's multiply-adds per second and
//! their share of the machine's int8 dot peak: the integer dot instruction edgeplane's
//! level is built on (512-bit `vpdpbusd` on AVX-512 VNNI), run on every pool thread at once
//! with nothing else to do (`edgeplane_kernels::cpu::peak`), at the start and end of the
//! run, the better of the two. Quantized matmuls do one such multiply-add per weight value
//! and activation row, so no int8 implementation on this level can pass 100 %.
//!
//! Every row times edgeplane, ggml and candle taking turns inside one criterion measurement
//! (`<row>/interleaved`; see `take_turns`): per turn untimed lead-in calls (`LEAD_IN`),
//! then a few timed ones, so the three see the same moments of a shared machine and the
//! ratios do not move with the host's load between them. Filter by the row's name.
//!
//! Timings come from criterion (`iter_custom`, few samples); the summary table at the end
//! prints the median per-iteration time of each row, the ratio to edgeplane, for decode the
//! weight bytes read per second, and how many cores each implementation kept busy
//! (process CPU time / wall time while measuring; spinning idle workers count as busy).

use criterion::Criterion;
use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::{Backend, DType, Executable, Graph, HostTensor, Op, TensorDesc};
use edgeplane_kernels::noise::noise;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const THREADS: usize = 2;
/// Weight bytes a cold-cache row cycles through: over 3x the largest L3 seen (480 MiB).
const COLD_BYTES: usize = 3 << 29;
/// Buffer summed by the DRAM bandwidth probe: over 4x the largest L3 seen.
const PROBE_BYTES: usize = 2 << 30;

/// What `iter_custom` recorded for one bench id.
#[derive(Default)]
struct Timing {
    /// Seconds per iteration, one entry per sample.
    per_iter_s: Vec<f64>,
    /// Process CPU seconds and wall seconds summed over the samples (when /proc is there).
    cpu_s: f64,
    wall_s: f64,
}

/// Timings recorded by `iter_custom`, keyed by bench id.
static TIMES: Mutex<BTreeMap<String, Timing>> = Mutex::new(BTreeMap::new());

fn record(id: &str, per_iter_s: f64, cpu_wall_s: Option<(f64, f64)>) {
    let mut t = TIMES
        .lock()
        .expect("bench timing lock is never poisoned (no panics while held)");
    let e = t.entry(id.to_string()).or_default();
    e.per_iter_s.push(per_iter_s);
    if let Some((cpu, wall)) = cpu_wall_s {
        e.cpu_s += cpu;
        e.wall_s += wall;
    }
}

fn median(id: &str) -> Option<f64> {
    let t = TIMES.lock().expect("bench timing lock");
    let mut v = t.get(id)?.per_iter_s.clone();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied()
}

/// Cores kept busy while `id` was measured (process CPU time / wall time).
fn cores_busy(id: &str) -> Option<f64> {
    let t = TIMES.lock().expect("bench timing lock");
    let e = t.get(id)?;
    (e.wall_s > 0.0).then(|| e.cpu_s / e.wall_s)
}

/// User + system CPU seconds of this process, all threads (Linux `/proc/self/stat`,
/// in USER_HZ = 100 ticks per second); `None` elsewhere.
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is the first, utime the 12th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let utime: f64 = f.next()?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Whether criterion's command-line filter selects `id`: the first positional argument,
/// a regex (or an exact name with `--exact`), as criterion reads it. Criterion does not
/// expose its own check; this one lets rows skip setups of gigabytes when filtered out.
/// On an argument it cannot read it answers true (the row then runs its setup).
fn selected(id: &str) -> bool {
    const VALUE_FLAGS: &[&str] = &[
        "--color",
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--format",
        "--profile-time",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--plotting-backend",
        "--output-format",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filter = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if VALUE_FLAGS.contains(&a.as_str()) {
            i += 2;
            continue;
        }
        if !a.starts_with('-') {
            filter = Some(a.as_str());
            break;
        }
        i += 1;
    }
    match filter {
        None => true,
        Some(f) if args.iter().any(|a| a == "--exact") => f == id,
        Some(f) => fancy_regex::Regex::new(f)
            .ok()
            .and_then(|r| r.is_match(id).ok())
            .unwrap_or(true),
    }
}

/// Random blocks of `dtype` (speed does not depend on the values; small finite scales
/// keep the outputs usable as a sanity check).
fn random_weights(dtype: DType, m: usize, k: usize) -> Vec<u8> {
    edgeplane_kernels::noise::random_blocks(dtype, m * k, 0x1234_5678 ^ dtype.ggml_type() as u64)
}

fn fast() -> Fast {
    Fast::new(FastSettings {
        threads: THREADS,
        simd: std::env::var("EDGEPLANE_BENCH_SIMD")
            .ok()
            .and_then(|s| edgeplane_kernels::cpu::SimdLevel::from_name(&s)),
        repack: FastSettings::default_repack(),
    })
    .expect("EDGEPLANE_BENCH_SIMD names a level this CPU has (unset: the best one)")
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

/// The 1-minute load average (Linux), printed so a run on a busy machine shows as such.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The machine's int8 dot peak in GMAC/s: every pool thread runs the same number of dot
/// bursts (`edgeplane_kernels::cpu::peak`) from a common start, and the rate is all their
/// multiply-adds over the time until the last one is done, the best of a few windows (the
/// yardstick of the batched rows, as the DRAM read is of the decode ones). Timed together,
/// not per thread: a VM's vCPUs may each reach the peak alone but not at once. `None` at a
/// SIMD level without a probe.
fn int8_peak_gmacs(pool: &rayon::ThreadPool, backend: &Fast) -> Option<f64> {
    use edgeplane_kernels::cpu::peak::int8_dot_burst;
    /// Rounds per burst and bursts per window: ~60 ms per window at 236 GMAC/s a thread.
    const ROUNDS: u32 = 1 << 16;
    const BURSTS: usize = 200;
    let simd = edgeplane_kernels::cpu::Simd::new(backend.simd_level())
        .expect("the backend runs a level this CPU has");
    edgeplane_kernels::cpu::peak::macs_per_op(simd.level())?;
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = std::sync::Barrier::new(pool.current_num_threads());
        let per_thread = pool.broadcast(|_| {
            start.wait();
            let t = Instant::now();
            let macs: u64 = (0..BURSTS)
                .filter_map(|_| int8_dot_burst(simd, ROUNDS))
                .map(|b| std::hint::black_box(b).macs)
                .sum();
            (macs, t.elapsed().as_secs_f64())
        });
        let macs: u64 = per_thread.iter().map(|p| p.0).sum();
        let seconds = per_thread.iter().map(|p| p.1).fold(0.0, f64::max);
        best = best.max(macs as f64 / seconds / 1e9);
    }
    Some(best)
}

/// Read bandwidth: [`read_bytes`] over a `bytes` buffer (on huge pages, as edgeplane's
/// tiles are, or on the allocator's small ones); best of a few passes.
fn bandwidth_gbps(pool: &rayon::ThreadPool, bytes: usize, huge: bool) -> f64 {
    let pattern: Vec<u8> = (0..bytes).map(|i| i as u8).collect();
    let mapped;
    let buf: &[u8] = if huge {
        mapped = huge_page_copy(&pattern);
        &mapped
    } else {
        &pattern
    };
    let passes = (4 * PROBE_BYTES / bytes).clamp(5, 64);
    let mut best = 0.0f64;
    for _ in 0..passes {
        let start = Instant::now();
        std::hint::black_box(read_bytes(pool, buf));
        best = best.max(bytes as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    best
}

/// `bytes` copied into an anonymous mapping advised for 2 MiB pages (Linux; elsewhere
/// small ones), as `edgeplane_kernels` places its weight tiles: the bare reads and the
/// DRAM probe read memory paged as edgeplane's, so neither yardstick pays TLB misses it
/// does not. (ggml and candle keep their weights on the allocator's small pages.)
fn huge_page_copy(bytes: &[u8]) -> memmap2::MmapMut {
    let mut map = memmap2::MmapMut::map_anon(bytes.len().max(1)).expect("memory for a copy");
    #[cfg(target_os = "linux")]
    map.advise(memmap2::Advice::HugePage).ok();
    map[..bytes.len()].copy_from_slice(bytes);
    map
}

/// One reader of a cold row.
struct Part<'a> {
    /// Its bench id.
    id: &'a str,
    /// Reads copy `i` once.
    call: Box<dyn FnMut(usize) + 'a>,
    /// Run after its burst, untimed.
    rest: Box<dyn FnMut() + 'a>,
}

/// Timed calls per part in a turn of a cold or decode row (after the untimed lead-in).
const BURST: usize = 4;

/// Untimed calls a part makes before its timed ones in each turn, for at least this long.
/// Why not one call: the part before may leave busy threads behind (candle 0.11's pool
/// workers are pinned to cores and spin 25 000 `pause`s after each call before they
/// park), and after another library's turn a part's own threads, caches and the cores'
/// clocks take a few calls to come back. Measured on the Zen 3 VM, Q4_K 4096² decode
/// calls right after five of candle's took 0.80, 0.52, 0.31, 0.21, 0.19 ms (0.19 ms
/// back to back); with one lead-in call the warm decode rows timed edgeplane at 0.29 ms
/// where back-to-back calls take 0.16–0.19, while ggml's and candle's times did not
/// change with the lead-in (their kernels are not limited by where the weights are). A
/// model's back-to-back calls find everything awake: this times that state for each part.
const LEAD_IN: Duration = Duration::from_millis(3);

/// Decode (n=1) on `copies` separate copies of `w`, cycled so each call reads its weights
/// from DRAM: edgeplane (one executable per copy), ggml (one graph per copy) and a bare
/// read of the same bytes. The three take turns in short bursts inside one criterion
/// measurement, so they see the same moment of a shared machine (timed one after another,
/// a row's ratio moved with the host's load between them); each part's time is recorded
/// under its own id. Each burst follows untimed lead-in calls ([`LEAD_IN`]) that wake its
/// threads, as back-to-back calls in a model find them awake.
fn cold_decode_rows(
    c: &mut Criterion,
    pool: &rayon::ThreadPool,
    backend: &Fast,
    dtype: DType,
    w: &[u8],
    m: usize,
    k: usize,
) -> Row {
    let copies = COLD_BYTES.div_ceil(w.len());
    let name = format!("{}/{m}x{k}/n=1 cold", dtype.name());
    let ids = [
        format!("{name}/edgeplane"),
        format!("{name}/ggml"),
        format!("{name}/candle"),
    ];
    let read_id = format!("{name}/read");
    let row = Row {
        name: format!("{name} ({copies}x{} MB)", w.len() / 1_000_000),
        ids: ids.clone(),
        weight_bytes: Some(w.len()),
        read_id: Some(read_id.clone()),
        macs: None,
    };
    let together = format!("{name}/interleaved");
    if !selected(&together) {
        return row;
    }
    let x = noise(1, k);
    let input = HostTensor::from_f32([1, k], &x).expect("sized");
    let mut exes: Vec<Box<dyn Executable>> = (0..copies)
        .map(|_| matmul_exe(backend, dtype, w, 1, m, k))
        .collect();
    #[cfg(feature = "anchor-ggml")]
    let mut ggml =
        edgeplane::anchor::ggml::GgmlMatMul::with_copies(dtype, w, m, k, 1, THREADS, copies)
            .expect("ggml builds the graphs");
    #[cfg(feature = "anchor-candle")]
    let candles: Vec<edgeplane::anchor::candle::CandleMatMul> = (0..copies)
        .map(|_| edgeplane::anchor::candle::CandleMatMul::new(dtype, w, m, k).expect("candle"))
        .collect();
    let reads: Vec<memmap2::MmapMut> = (0..copies).map(|_| huge_page_copy(w)).collect();
    // One untimed pass over every copy: first-run costs stay out of the timing.
    for i in 0..copies {
        std::hint::black_box(exes[i].run(std::slice::from_ref(&input)).expect("runs"));
        #[cfg(feature = "anchor-ggml")]
        std::hint::black_box(ggml.run_copy(i, &x).expect("ggml runs"));
        #[cfg(feature = "anchor-candle")]
        std::hint::black_box(candles[i].run(&x, 1).expect("candle runs"));
        std::hint::black_box(read_bytes(pool, &reads[i]));
    }
    #[cfg(feature = "anchor-ggml")]
    ggml.park();
    // Both of its parts below use it, one at a time.
    #[cfg(feature = "anchor-ggml")]
    let ggml = std::cell::RefCell::new(ggml);
    let mut parts: Vec<Part> = vec![Part {
        id: &ids[0],
        call: Box::new(|i| {
            std::hint::black_box(exes[i].run(std::slice::from_ref(&input)).expect("runs"));
        }),
        rest: Box::new(|| {}),
    }];
    #[cfg(feature = "anchor-ggml")]
    parts.push(Part {
        id: &ids[1],
        call: Box::new(|i| {
            std::hint::black_box(ggml.borrow_mut().run_copy(i, &x).expect("ggml runs"));
        }),
        // Between runs its workers poll for work and would hold the cores the other
        // parts need; parked, they wait on a condition variable (a run wakes them).
        rest: Box::new(|| ggml.borrow_mut().park()),
    });
    #[cfg(feature = "anchor-candle")]
    parts.push(Part {
        id: &ids[2],
        call: Box::new(|i| {
            std::hint::black_box(candles[i].run(&x, 1).expect("candle runs"));
        }),
        rest: Box::new(|| {}),
    });
    parts.push(Part {
        id: &read_id,
        call: Box::new(|i| {
            std::hint::black_box(read_bytes(pool, &reads[i]));
        }),
        rest: Box::new(|| {}),
    });
    take_turns(c, &together, &mut parts, BURST, copies);
    row
}

/// Times `parts` taking turns inside one criterion measurement named `together`: per
/// iteration each part makes untimed lead-in calls for at least [`LEAD_IN`] (at least
/// one), then `burst` timed calls, then its `rest`; each part walks its own cursor through
/// `copies` inputs. So every part sees the same moments of a shared machine, and a ratio
/// between two of them does not move with the host's load between their measurements
/// (timed one after another, rows moved by ±30 %). Each part's per-call time and cores
/// busy are recorded under its own id.
fn take_turns(c: &mut Criterion, together: &str, parts: &mut [Part], burst: usize, copies: usize) {
    let mut cursors = vec![0usize; parts.len()];
    c.bench_function(together, |b| {
        b.iter_custom(|iters| {
            let mut spent = vec![(Duration::ZERO, 0.0f64); parts.len()];
            for _ in 0..iters {
                for ((part, (wall, cpu)), cursor) in parts
                    .iter_mut()
                    .zip(spent.iter_mut())
                    .zip(cursors.iter_mut())
                {
                    let mut call = |part: &mut Part| {
                        (part.call)(*cursor);
                        *cursor = (*cursor + 1) % copies;
                    };
                    let lead_start = Instant::now();
                    call(part);
                    while lead_start.elapsed() < LEAD_IN {
                        call(part);
                    }
                    let cpu0 = process_cpu_s();
                    let start = Instant::now();
                    for _ in 0..burst {
                        call(part);
                    }
                    *wall += start.elapsed();
                    *cpu += cpu0.zip(process_cpu_s()).map_or(0.0, |(a, b)| b - a);
                    (part.rest)();
                }
            }
            let calls = (iters as usize * burst) as f64;
            for (part, (wall, cpu)) in parts.iter().zip(&spent) {
                let wall_s = wall.as_secs_f64();
                record(part.id, wall_s / calls, Some((*cpu, wall_s)));
            }
            spent.iter().map(|(wall, _)| *wall).sum()
        })
    });
}

/// Reads every byte of `bytes` from `THREADS` threads (16 chunks, each summed front to
/// back): what a plain streaming read of a weight matrix costs at that moment, the
/// yardstick of the cold rows' bandwidth share and the DRAM probe's read. (A `T1`
/// prefetch 4 KiB ahead, as the tile kernels ask for, read within noise of this in
/// alternating runs on the Zen 4 VM.)
fn read_bytes(pool: &rayon::ThreadPool, bytes: &[u8]) -> u64 {
    pool.install(|| {
        bytes
            .par_chunks(bytes.len().div_ceil(16))
            .map(|chunk| {
                let mut acc = [0u64; 8];
                for line in chunk.chunks_exact(64) {
                    for (a, word) in acc.iter_mut().zip(line.chunks_exact(8)) {
                        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                        *a = a.wrapping_add(word);
                    }
                }
                acc.iter().fold(0u64, |s, &a| s.wrapping_add(a))
            })
            .reduce(|| 0, u64::wrapping_add)
    })
}

struct Row {
    name: String,
    ids: [String; 3],
    /// Weight bytes read per call, for decode rows.
    weight_bytes: Option<usize>,
    /// Cold-cache rows: the id of the bare read of the same bytes timed alongside.
    read_id: Option<String>,
    /// Multiply-adds per call, for batched matmul rows (n > 1).
    macs: Option<usize>,
}

fn main() {
    // candle reads its thread counts once per process, from the environment: its matmul
    // workers from CANDLE_NUM_THREADS, its rayon pool from RAYON_NUM_THREADS. Set before
    // any other thread exists in this process.
    std::env::set_var("CANDLE_NUM_THREADS", THREADS.to_string());
    std::env::set_var("RAYON_NUM_THREADS", THREADS.to_string());
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
    let load_start = load_average();
    let bw_start = bandwidth_gbps(&pool, PROBE_BYTES, true);
    let bw_small_pages = bandwidth_gbps(&pool, PROBE_BYTES, false);
    let bw_cached = bandwidth_gbps(&pool, 64 << 20, true);
    let peak_start = int8_peak_gmacs(&pool, &backend);
    let mut rows: Vec<Row> = Vec::new();

    for (m, k) in [(4096usize, 4096usize), (11008, 4096)] {
        for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K] {
            let w = random_weights(dtype, m, k);
            for n in [1usize, 16, 128, 512] {
                rows.push(matmul_row(&mut c, &backend, dtype, &w, (m, k, n)));
            }
            rows.push(cold_decode_rows(&mut c, &pool, &backend, dtype, &w, m, k));
        }
    }

    // The other weight formats (those of Q2_K/Q3_K/Q5_K mixes and the legacy 32-blocks):
    // decode and a small batch, so a regression in any format shows up.
    for dtype in [
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q2K,
        DType::Q3K,
        DType::Q5K,
    ] {
        let (m, k) = (4096usize, 4096usize);
        let w = random_weights(dtype, m, k);
        for n in [1usize, 16] {
            rows.push(matmul_row(&mut c, &backend, dtype, &w, (m, k, n)));
        }
    }

    // Rows that end inside a tile: k = 896 (Qwen2.5-0.5B's width, whose K-quant mixes
    // llama.cpp stores as Q5_0 or Q8_0 there), its FFN gate/up shape. Batches run on tiles
    // padded with zero blocks, decode on the raw rows.
    for dtype in [DType::Q5_0, DType::Q8_0] {
        let (m, k) = (4864usize, 896usize);
        let w = random_weights(dtype, m, k);
        for n in [1usize, 16, 128] {
            rows.push(matmul_row(&mut c, &backend, dtype, &w, (m, k, n)));
        }
        rows.push(cold_decode_rows(&mut c, &pool, &backend, dtype, &w, m, k));
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
        // Each anchor's output against ours, once, before timing.
        #[cfg(any(feature = "anchor-ggml", feature = "anchor-candle"))]
        let ours = exe.run(&inputs).expect("runs")[0].to_f32().expect("f32");
        #[cfg(any(feature = "anchor-ggml", feature = "anchor-candle"))]
        let max_diff = |theirs: &[f32]| {
            ours.iter()
                .zip(theirs)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
        };
        #[cfg(feature = "anchor-ggml")]
        let ggml = {
            use edgeplane::anchor::ggml::{AttentionShape, GgmlAttention};
            let shape = AttentionShape {
                n: 1,
                n_head,
                n_kv_head,
                head_dim,
                kv_len: kv,
            };
            let mut ga = GgmlAttention::new(shape, &kf, &vf, scale, THREADS).expect("ggml graph");
            let err = max_diff(ga.run(&q).expect("ggml runs"));
            println!("{name}: max |edgeplane - ggml| = {err:.2e}");
            std::cell::RefCell::new(ga)
        };
        #[cfg(feature = "anchor-candle")]
        let candle = {
            use edgeplane::anchor::candle::CandleAttention;
            let ca = CandleAttention::new(n_head, n_kv_head, head_dim, &kf, &vf, scale)
                .expect("candle caches");
            let err = max_diff(&ca.run(&q).expect("candle runs"));
            println!("{name}: max |edgeplane - candle| = {err:.2e}");
            ca
        };
        let mut parts: Vec<Part> = vec![Part {
            id: &ids[0],
            call: Box::new(|_| {
                std::hint::black_box(exe.run(&inputs).expect("runs"));
            }),
            rest: Box::new(|| {}),
        }];
        #[cfg(feature = "anchor-ggml")]
        parts.push(Part {
            id: &ids[1],
            call: Box::new(|_| {
                std::hint::black_box(ggml.borrow_mut().run(&q).expect("ggml runs"));
            }),
            rest: Box::new(|| ggml.borrow_mut().park()),
        });
        #[cfg(feature = "anchor-candle")]
        parts.push(Part {
            id: &ids[2],
            call: Box::new(|_| {
                std::hint::black_box(candle.run(&q).expect("candle runs"));
            }),
            rest: Box::new(|| {}),
        });
        take_turns(&mut c, &format!("{name}/interleaved"), &mut parts, BURST, 1);
        drop(parts); // It borrows `ids`, which the row takes.
        rows.push(Row {
            name,
            ids,
            weight_bytes: None,
            read_id: None,
            macs: None,
        });
    }
    c.final_summary();

    // Probed again at the end: on a shared machine the better of the two is the bandwidth
    // a quiet moment gives (the cold rows' % then errs low, not above 100 %).
    let bw_end = bandwidth_gbps(&pool, PROBE_BYTES, true);
    let bw = bw_start.max(bw_end);
    let peak_end = int8_peak_gmacs(&pool, &backend);
    let peak = peak_start.zip(peak_end).map(|(a, b)| a.max(b));
    println!();
    println!(
        "CPU: {} | edgeplane SIMD {} | threads {THREADS} | DRAM read bandwidth {bw:.1} GB/s ({} GiB buffer on 2 MiB pages, best of start {bw_start:.1} / end {bw_end:.1}; {bw_small_pages:.1} GB/s on 4 KiB pages; {bw_cached:.1} GB/s on a cache-resident 64 MiB one)",
        backend.info().device,
        backend.simd_level(),
        PROBE_BYTES >> 30,
    );
    match (peak_start, peak_end) {
        (Some(start), Some(end)) => println!(
            "int8 dot peak at {}, {THREADS} threads at once: {:.0} GMAC/s (best of start {start:.0} / end {end:.0}; `edgeplane_kernels::cpu::peak`)",
            backend.simd_level(),
            start.max(end),
        ),
        _ => println!("no int8 dot peak probe at {}", backend.simd_level()),
    }
    println!(
        "Load average (1 min) at start {load_start}, at end {} (this bench adds about {THREADS}); other work on the machine slows every row: see cores busy.",
        load_average()
    );
    println!("| case | edgeplane ms | ggml ms | candle ms | ggml/edgeplane | candle/edgeplane | decode GB/s e / g / c | % of the bare read's GB/s (read alongside) e / g / c | % of the DRAM probe e / g / c | batched GMAC/s e / g / c (% of the int8 peak) | cores busy e / g / c |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let ms = |id: &str| median(id).map(|s| s * 1e3);
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for r in &rows {
        let [e, g, cd] = [ms(&r.ids[0]), ms(&r.ids[1]), ms(&r.ids[2])];
        if e.is_none() && g.is_none() && cd.is_none() {
            continue; // filtered out
        }
        let ratio = |o: Option<f64>| match (o, e) {
            (Some(o), Some(e)) => format!("{:.2}x", o / e),
            _ => "-".into(),
        };
        let gbps = |t: Option<f64>| {
            r.weight_bytes
                .zip(t)
                .map(|(b, t)| b as f64 / (t / 1e3) / 1e9)
        };
        let each = |f: &dyn Fn(Option<f64>) -> String| format!("{} / {} / {}", f(e), f(g), f(cd));
        let percent =
            |of: f64| move |t| gbps(t).map_or("-".into(), |v| format!("{:.0}%", 100.0 * v / of));
        let (gbps_col, read_col, probe_col) = match (&r.read_id, r.weight_bytes) {
            (Some(read_id), Some(_)) => {
                let read = gbps(ms(read_id));
                (
                    each(&|t| gbps(t).map_or("-".into(), |v| format!("{v:.1}"))),
                    read.map_or("-".into(), |read| {
                        format!("{} of {read:.1}", each(&percent(read)))
                    }),
                    each(&percent(bw)),
                )
            }
            (None, Some(_)) => (
                each(&|t| gbps(t).map_or("-".into(), |v| format!("{v:.1}"))),
                "(warm)".into(),
                "(warm)".into(),
            ),
            _ => ("-".into(), "-".into(), "-".into()),
        };
        let compute_col = r.macs.map_or("-".to_string(), |macs| {
            let gmacs = |t: Option<f64>| t.map(|t| macs as f64 / (t / 1e3) / 1e9);
            [e, g, cd]
                .map(|t| match (gmacs(t), peak) {
                    (Some(v), Some(p)) => format!("{v:.0} ({:.0}%)", 100.0 * v / p),
                    (Some(v), None) => format!("{v:.0}"),
                    _ => "-".into(),
                })
                .join(" / ")
        });
        let busy = r
            .ids
            .iter()
            .map(|id| cores_busy(id).map_or("-".into(), |v| format!("{v:.1}")))
            .collect::<Vec<String>>()
            .join(" / ");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            fmt(e),
            fmt(g),
            fmt(cd),
            ratio(g),
            ratio(cd),
            gbps_col,
            read_col,
            probe_col,
            compute_col,
            busy
        );
    }
}

/// One matmul row of the table: edgeplane, ggml and candle on the same `n` activation rows
/// of `m × k` weights `w`.
fn matmul_row(
    c: &mut Criterion,
    backend: &Fast,
    dtype: DType,
    w: &[u8],
    (m, k, n): (usize, usize, usize),
) -> Row {
    let name = format!("{}/{m}x{k}/n={n}", dtype.name());
    let ids = [
        format!("{name}/edgeplane"),
        format!("{name}/ggml"),
        format!("{name}/candle"),
    ];
    let row = Row {
        name: name.clone(),
        ids: ids.clone(),
        weight_bytes: (n == 1).then_some(w.len()),
        read_id: None,
        macs: (n > 1).then_some(m * k * n),
    };
    let together = format!("{name}/interleaved");
    if !selected(&together) {
        return row;
    }
    let x = noise(n as u64, n * k);
    let input = HostTensor::from_f32([n, k], &x).expect("sized");
    let mut exe = matmul_exe(backend, dtype, w, n, m, k);
    #[cfg(feature = "anchor-ggml")]
    let ggml = std::cell::RefCell::new(
        edgeplane::anchor::ggml::GgmlMatMul::new(dtype, w, m, k, n, THREADS)
            .expect("ggml builds the graph"),
    );
    #[cfg(feature = "anchor-candle")]
    let candle = {
        let cm = edgeplane::anchor::candle::CandleMatMul::new(dtype, w, m, k)
            .expect("candle takes ggml blocks");
        // candle packs some weights on its first call: keep that untimed.
        cm.run(&x, n).expect("candle runs");
        cm
    };
    let mut parts: Vec<Part> = vec![Part {
        id: &ids[0],
        call: Box::new(|_| {
            std::hint::black_box(exe.run(std::slice::from_ref(&input)).expect("runs"));
        }),
        rest: Box::new(|| {}),
    }];
    #[cfg(feature = "anchor-ggml")]
    parts.push(Part {
        id: &ids[1],
        call: Box::new(|_| {
            std::hint::black_box(ggml.borrow_mut().run(&x).expect("ggml runs"));
        }),
        // Parked between turns: its polling workers would hold the others' cores.
        rest: Box::new(|| ggml.borrow_mut().park()),
    });
    #[cfg(feature = "anchor-candle")]
    parts.push(Part {
        id: &ids[2],
        call: Box::new(|_| {
            std::hint::black_box(candle.run(&x, n).expect("candle runs"));
        }),
        rest: Box::new(|| {}),
    });
    // Timed calls per turn: a few where one call is short.
    let burst = match n {
        1 => BURST,
        2..=16 => 2,
        _ => 1,
    };
    take_turns(c, &together, &mut parts, burst, 1);
    row
}
