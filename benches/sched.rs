//! The scheduler on the real backends of this machine: how long measuring takes, and the
//! chosen plan's decode step on the built-in 1B-class layer against every single device,
//! with the plan and the best device timed in alternation (so load from other processes
//! hits both alike). Run: `cargo bench --bench sched` (set `VK_ICD_FILENAMES` to pin a
//! Vulkan driver). Prints throughput figures for BENCHMARKS.md; asserts nothing.

use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::backend::wgpu::Wgpu;
use edgeplane::sched::bench::bench_layer;
use edgeplane::sched::{SchedSettings, Scheduler};
use edgeplane::Backend;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let mut backends: Vec<Arc<dyn Backend>> = Vec::new();
    match Fast::new(FastSettings::default()) {
        Ok(b) => backends.push(Arc::new(b)),
        Err(e) => eprintln!("fast CPU backend: {e}"),
    }
    match Wgpu::from_env() {
        Ok(b) => backends.push(Arc::new(b)),
        Err(e) => eprintln!("wgpu backend: {e}"),
    }
    // A fresh cache: this bench reports what first-run measuring costs.
    let cache = std::env::temp_dir().join(format!("edgeplane-sched-bench-{}", std::process::id()));
    let settings = SchedSettings {
        cache_dir: Some(cache.clone()),
        ..SchedSettings::default()
    };
    let sched = Scheduler::new(backends.clone(), settings);
    let layer =
        edgeplane::sched::layer::Layer::build(edgeplane::sched::layer::LayerConfig::one_b(), 1)
            .expect("the built-in layer builds");
    let t = Instant::now();
    let plan = sched
        .plan(&layer.graph)
        .expect("a plan for the built-in layer");
    println!(
        "measuring {} device(s): {:.1} s, {} runs; plan: {}",
        backends.len(),
        t.elapsed().as_secs_f64(),
        sched.measurement_runs(),
        plan.why()
    );
    let report = bench_layer(&sched, &backends).expect("the benchmark runs");
    println!("\n| device | decode step median | fastest | weights GB/s | runs |");
    println!("|---|---|---|---|---|");
    for d in &report.devices {
        if let Some(t) = &d.timing {
            println!(
                "| {} | {:.2} ms | {:.2} ms | {:.2} | {} |",
                t.backend, t.decode_ms, t.decode_min_ms, t.weight_gbps, t.runs
            );
        }
    }
    if let Some(a) = &report.auto {
        println!(
            "| auto (plan) | {:.2} ms | {:.2} ms | {:.2} | {} |",
            a.decode_ms, a.decode_min_ms, a.weight_gbps, a.runs
        );
    }
    if let Some(c) = &report.comparison {
        println!(
            "\nplan vs best single device ({}), {} alternating rounds: median {:.2} ms vs {:.2} ms = {:+.1} %; fastest {:.2} ms vs {:.2} ms",
            c.best, c.rounds, c.auto_ms, c.best_ms, c.percent, c.auto_min_ms, c.best_min_ms
        );
    }
    println!(
        "estimated plan total {:.2} ms; segments {}",
        plan.total_us / 1e3,
        plan.segments
    );
    let _ = std::fs::remove_dir_all(cache);
}
