//! Timing the built-in layer: the tour's benchmark table, and the comparison of the
//! scheduler's plan with the best single device.
//!
//! A decode step (one token) is timed at a KV fill of half the context, end to end
//! (`run`: upload, compute, read back), median over a few runs inside a time slice.

use super::class::{BatchClass, OpClass, Work};
use super::layer::{Layer, LayerConfig};
use super::plan::Plan;
use super::profile::DeviceProfile;
use super::scheduler::Scheduler;
use crate::backend::{Backend, DeviceInfo};
use crate::error::Result;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The layer's timing on one backend.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerTiming {
    /// Backend name.
    pub backend: String,
    /// Compile time (weights uploaded, pipelines built), ms.
    pub compile_ms: f64,
    /// Median decode step, ms.
    pub decode_ms: f64,
    /// Fastest decode step, ms.
    pub decode_min_ms: f64,
    /// Runs timed.
    pub runs: usize,
    /// Weight bytes read per second at the median, GB/s.
    pub weight_gbps: f64,
}

/// Times decode steps of `layer` on `backend` after a warm-up: up to `max_runs`, stopping
/// early once `slice` has passed (at least one timed run: a slow software GPU gets one).
pub fn time_layer(
    backend: &dyn Backend,
    layer: &Layer,
    max_runs: usize,
    slice: Duration,
) -> Result<LayerTiming> {
    let t = Instant::now();
    let mut exe = backend.compile(&layer.graph)?;
    let compile_ms = t.elapsed().as_secs_f64() * 1e3;
    let inputs = layer.inputs(layer.config.context / 2, 1, 7)?;
    exe.run(&inputs)?; // warm-up: first dispatches compile shaders on GPUs
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < max_runs.max(1) && (times.is_empty() || start.elapsed() < slice) {
        let t = Instant::now();
        exe.run(&inputs)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let decode_ms = times[times.len() / 2];
    Ok(LayerTiming {
        backend: backend.info().backend,
        compile_ms,
        decode_ms,
        decode_min_ms: times[0],
        runs: times.len(),
        weight_gbps: layer.config.weight_bytes() as f64 / (decode_ms * 1e-3) / 1e9,
    })
}

/// The plan against the best single device, timed in alternation so load from other
/// processes on the machine hits both alike.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// The best single device (by its own timing).
    pub best: String,
    /// Its median decode step in the alternation, ms.
    pub best_ms: f64,
    /// The plan's median decode step in the alternation, ms.
    pub auto_ms: f64,
    /// The best device's fastest step in the alternation, ms.
    pub best_min_ms: f64,
    /// The plan's fastest step in the alternation, ms.
    pub auto_min_ms: f64,
    /// Rounds (one run of each per round).
    pub rounds: usize,
    /// `(auto - best) / best`, percent (negative: the plan is faster).
    pub percent: f64,
}

/// Alternates decode steps of `layer` on `best` and on the scheduler's plan.
pub fn compare_with_best(
    sched: &Scheduler,
    best: &dyn Backend,
    layer: &Layer,
    rounds: usize,
    slice: Duration,
) -> Result<Comparison> {
    let inputs = layer.inputs(layer.config.context / 2, 1, 7)?;
    let mut a = best.compile(&layer.graph)?;
    let mut b = sched.compile(&layer.graph)?;
    a.run(&inputs)?;
    b.run(&inputs)?;
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while ta.len() < rounds.max(1) && (ta.is_empty() || start.elapsed() < slice) {
        for (exe, times) in [(&mut a, &mut ta), (&mut b, &mut tb)] {
            let t = Instant::now();
            exe.run(&inputs)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (best_ms, auto_ms) = (median(&mut ta), median(&mut tb));
    Ok(Comparison {
        best: best.info().backend,
        best_ms,
        auto_ms,
        best_min_ms: ta[0],
        auto_min_ms: tb[0],
        rounds: ta.len(),
        percent: (auto_ms - best_ms) / best_ms * 100.0,
    })
}

/// Decode tokens per second of a model of `config.n_layer` such layers plus an output
/// head, from one layer's step time and the head's estimate.
pub fn decode_tokens_per_s(config: &LayerConfig, layer_ms: f64, head_ms: f64) -> f64 {
    1e3 / (config.n_layer as f64 * layer_ms + head_ms)
}

/// One device's row of the benchmark.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceBench {
    /// What the device reports.
    pub info: DeviceInfo,
    /// The layer's timing, if it ran.
    pub timing: Option<LayerTiming>,
    /// Why it did not.
    pub error: Option<String>,
    /// Fitted per-class models from the profile.
    pub classes: Vec<ClassRow>,
}

/// One fitted class model, as printed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClassRow {
    /// The class.
    pub class: String,
    /// Points measured.
    pub points: usize,
    /// Fixed cost, µs.
    pub launch_us: f64,
    /// Implied bandwidth, GB/s.
    pub gbps: f64,
    /// Implied throughput, GFLOP/s.
    pub gflops: f64,
    /// Estimated time of this class's op in the 1B layer's decode step (first such op), µs.
    pub layer_op_us: Option<f64>,
}

/// The whole benchmark.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchReport {
    /// The layer timed.
    pub layer: LayerConfig,
    /// Its weight bytes.
    pub weight_bytes: u64,
    /// Per device.
    pub devices: Vec<DeviceBench>,
    /// The scheduler's plan, timed the same way.
    pub auto: Option<LayerTiming>,
    /// The best single device and its decode step, ms.
    pub best_single: Option<(String, f64)>,
    /// The plan against the best single device, timed in alternation.
    pub comparison: Option<Comparison>,
    /// The scheduler's plan for the decode step.
    pub plan: Plan,
    /// Estimated decode tokens/s of a model of `layer.n_layer` such layers plus its head,
    /// at the plan's measured decode step.
    pub tokens_per_s: Option<f64>,
}

fn class_rows(profile: Option<&DeviceProfile>, layer: &Layer) -> Vec<ClassRow> {
    let Some(p) = profile else { return Vec::new() };
    p.classes
        .iter()
        .filter_map(|c| {
            let m = c.model?;
            let layer_op_us = layer
                .graph
                .nodes()
                .iter()
                .find(|n| OpClass::of(&layer.graph, n) == c.class)
                .map(|n| m.predict_us(super::class::node_work(&layer.graph, n)));
            Some(ClassRow {
                class: c.class.to_string(),
                points: c.samples.len(),
                launch_us: m.launch_us,
                gbps: m.bandwidth_gbps(),
                gflops: m.gflops(),
                layer_op_us,
            })
        })
        .collect()
}

/// The output head's estimated decode time on the device that would run it, ms.
pub fn head_ms(sched: &Scheduler, config: &LayerConfig) -> f64 {
    let class = OpClass::MatMul {
        weight: config.attn_dtype,
        batch: BatchClass::Decode,
    };
    let elements = (config.vocab * config.hidden) as u64;
    let work = Work {
        bytes: config.attn_dtype.bytes_for(elements).unwrap_or(0) as f64
            + 4.0 * (config.hidden + config.vocab) as f64,
        flops: 2.0 * elements as f64,
    };
    let profile = sched.profile();
    sched
        .candidates(&Default::default())
        .iter()
        .filter_map(|&d| profile.device(&sched.devices()[d].key))
        .map(|p| p.estimate(class, work).us)
        .fold(f64::INFINITY, f64::min)
        / 1e3
}

/// Measures (if needed) and times everything.
pub fn bench_layer(sched: &Scheduler, backends: &[Arc<dyn Backend>]) -> Result<BenchReport> {
    let config = LayerConfig::one_b();
    let layer = Layer::build(config, 1)?;
    let plan = sched.plan(&layer.graph)?; // measures what the profile lacks
    log::info!("plan: {}", plan.why());
    let profile = sched.profile();
    let slice = Duration::from_millis(1500);
    let mut devices = Vec::new();
    for b in backends {
        let info = b.info();
        let timed = time_layer(b.as_ref(), &layer, 10, slice);
        let key = super::profile::DeviceKey::of(&info);
        devices.push(DeviceBench {
            classes: class_rows(profile.device(&key), &layer),
            timing: timed.as_ref().ok().cloned(),
            error: timed.err().map(|e| e.to_string()),
            info,
        });
    }
    let auto = match time_layer(sched, &layer, 10, slice) {
        Ok(t) => Some(t),
        Err(e) => {
            log::warn!("the scheduler's plan failed to run: {e}");
            None
        }
    };
    let planned: Vec<&str> = plan.devices.iter().map(|s| s.as_str()).collect();
    let best_single = devices
        .iter()
        .filter(|d| planned.contains(&d.info.backend.as_str()))
        .filter_map(|d| {
            d.timing
                .as_ref()
                .map(|t| (d.info.backend.clone(), t.decode_ms))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let comparison = best_single.as_ref().and_then(|(name, _)| {
        let best = backends.iter().find(|b| &b.info().backend == name)?;
        compare_with_best(sched, best.as_ref(), &layer, 20, Duration::from_secs(3))
            .map_err(|e| log::warn!("comparing the plan with {name}: {e}"))
            .ok()
    });
    // The plan's step from the alternating rounds (the more careful measurement), else
    // from its own timing.
    let best_ms = comparison
        .as_ref()
        .map(|c| c.auto_ms)
        .or(auto.as_ref().map(|a| a.decode_ms))
        .unwrap_or(f64::INFINITY);
    let tokens_per_s = best_ms
        .is_finite()
        .then(|| decode_tokens_per_s(&config, best_ms, head_ms(sched, &config)));
    Ok(BenchReport {
        layer: config,
        weight_bytes: config.weight_bytes(),
        devices,
        auto,
        best_single,
        comparison,
        tokens_per_s,
        plan,
    })
}
