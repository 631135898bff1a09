//! The tile kernels alone: one thread, weights and activations resident in L2, so what is
//! timed is the kernel's arithmetic and its loads from cache, not DRAM, the thread pool or
//! the quantization of activations. For kernel authors comparing two versions of a kernel:
//! on a shared VM whose full-size rows move by ±30 % between runs, the best of many short
//! repetitions here moves by a few percent.
//!
//! ```text
//! cargo bench --bench tiles                 # every tiled format, 1 and 8 activation rows
//! cargo bench --bench tiles -- q4_K q8_0    # only the formats named
//! EDGEPLANE_BENCH_SIMD=avx2 cargo bench --bench tiles
//! ```
//! Each case runs `REPS` times after a warm-up; the table gives the best and the median
//! repetition as GMAC/s (weight values × activation rows per second) and GB/s of weight
//! bytes, and the best as a share of the level's int8 dot peak on one thread
//! (`edgeplane_kernels::cpu::peak`, the better of a probe before and one after the cases).

use comfy_table::Table;
use edgeplane::DType;
use edgeplane_kernels::cpu::interleaved::{Interleaved, TILE_ROWS};
use edgeplane_kernels::cpu::peak::int8_dot_rate;
use edgeplane_kernels::cpu::{ActivationFormat, ActivationRows, Simd, SimdLevel, WeightMatrix};
use edgeplane_kernels::noise::{noise, random_blocks};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Weight rows and width: 128 × 4096 is 288–557 KB in the four common formats, inside a
/// 1 MiB L2 with the activations.
const ROWS: usize = 128;
const K: usize = 4096;
/// Repetitions per case (each is one sweep of every tile over every activation row).
const REPS: usize = 400;
/// How long each int8 dot peak probe runs.
const PEAK_PROBE: Duration = Duration::from_millis(300);

const FORMATS: [DType; 10] = [
    DType::Q4_0,
    DType::Q8_0,
    DType::Q4K,
    DType::Q6K,
    DType::Q4_1,
    DType::Q5_0,
    DType::Q5_1,
    DType::Q5K,
    DType::Q3K,
    DType::Q2K,
];

fn main() {
    // `cargo bench` passes `--bench`; every other argument names a format to keep.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.to_lowercase())
        .collect();
    let level = std::env::var("EDGEPLANE_BENCH_SIMD")
        .ok()
        .map(|s| SimdLevel::from_name(&s).expect("EDGEPLANE_BENCH_SIMD names a SIMD level"))
        .unwrap_or_else(SimdLevel::best);
    let act_rows: Vec<usize> = std::env::var("EDGEPLANE_BENCH_ROWS")
        .map(|s| {
            s.split(',')
                .map(|n| {
                    n.trim()
                        .parse()
                        .expect("EDGEPLANE_BENCH_ROWS: numbers, comma-separated")
                })
                .collect()
        })
        .unwrap_or_else(|_| vec![1, 8]);
    let simd = Simd::new(level).expect("this CPU has the requested SIMD level");
    let peak_start = int8_dot_rate(simd, PEAK_PROBE);
    println!(
        "tile kernels at {}, one thread, {ROWS}×{K} weights, best / median of {REPS}",
        level.name()
    );
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    table.set_header([
        "format",
        "act rows",
        "best µs",
        "median µs",
        "GMAC/s best",
        "GMAC/s median",
        "weight GB/s best",
        "% of int8 peak",
    ]);
    let mut measured = Vec::new();
    for dtype in FORMATS {
        if !wanted.is_empty() && !wanted.iter().any(|w| *w == dtype.name().to_lowercase()) {
            continue;
        }
        let bytes = random_blocks(dtype, ROWS * K, 0x7113 ^ dtype.ggml_type() as u64);
        let w = WeightMatrix {
            dtype,
            rows: ROWS,
            k: K,
            bytes: &bytes,
        };
        let Some(tiles) = Interleaved::new(&w, level) else {
            println!("{}: no tiles at {}", dtype.name(), level.name());
            continue;
        };
        for &n in &act_rows {
            let x = noise(0x5eed + n as u64, n * K);
            let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, K);
            let times = time_sweeps(simd, &tiles, &acts);
            let macs = (ROWS * K * n) as f64;
            let (best, median) = (times[0], times[times.len() / 2]);
            let per_s = |t: Duration| macs / t.as_secs_f64() / 1e9;
            measured.push((
                [
                    dtype.name().to_string(),
                    n.to_string(),
                    format!("{:.1}", best.as_secs_f64() * 1e6),
                    format!("{:.1}", median.as_secs_f64() * 1e6),
                    format!("{:.1}", per_s(best)),
                    format!("{:.1}", per_s(median)),
                    format!("{:.1}", bytes.len() as f64 / best.as_secs_f64() / 1e9),
                ],
                per_s(best),
            ));
        }
    }
    // The peak probed again at the end: the better of the two is what a quiet moment of a
    // shared machine gives (the shares then err low, not above 100 %).
    let peak = peak_start
        .zip(int8_dot_rate(simd, PEAK_PROBE))
        .map(|(a, b)| a.max(b) / 1e9);
    match peak {
        Some(p) => println!(
            "int8 dot peak at {}, one thread: {p:.1} GMAC/s",
            level.name()
        ),
        None => println!("no int8 dot peak probe at {}", level.name()),
    }
    for (cells, gmacs) in measured {
        let share = peak.map_or("-".to_string(), |p| format!("{:.0}%", 100.0 * gmacs / p));
        table.add_row(cells.into_iter().chain([share]));
    }
    println!("{table}");
}

/// Times `REPS` sweeps of every tile over `acts` (after as many untimed ones), sorted.
fn time_sweeps(simd: Simd, tiles: &Interleaved, acts: &ActivationRows) -> Vec<Duration> {
    let tile_rows = tiles.rows() / TILE_ROWS;
    let mut sink = 0.0f32;
    let mut sweep = || {
        tiles.matmul_tiles_with(simd, 0..tile_rows, acts, |_, _, sums| sink += sums[0]);
    };
    for _ in 0..REPS {
        sweep();
    }
    let mut times: Vec<Duration> = (0..REPS)
        .map(|_| {
            let start = Instant::now();
            sweep();
            start.elapsed()
        })
        .collect();
    black_box(sink);
    times.sort();
    times
}
