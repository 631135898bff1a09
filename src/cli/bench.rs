//! `edgeplane bench`: measure every device (or reuse the cached profile), then time one
//! decode step of the built-in 1B-class layer on each device and on the scheduler's plan.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use edgeplane::backend::{Backend, DeviceInfo};
use edgeplane::sched::bench::{decode_tokens_per_s, time_layer, LayerTiming};
use edgeplane::sched::class::{BatchClass, OpClass, Work};
use edgeplane::sched::explain::human_us;
use edgeplane::sched::layer::{Layer, LayerConfig};
use edgeplane::sched::measure::{MeasureProgress, ProgressFn};
use edgeplane::sched::profile::DeviceProfile;
use edgeplane::sched::{Plan, SchedSettings, Scheduler};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;
use std::time::Duration;

/// Options of `bench`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BenchArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A scheduler over `backends` with settings from the environment; draws a progress bar
/// on stderr while measuring when `bar` is set.
pub fn scheduler(backends: &[Arc<dyn Backend>], settings: SchedSettings, bar: bool) -> Scheduler {
    let progress: Option<Arc<ProgressFn>> = bar.then(|| {
        let pb = ProgressBar::new(0);
        pb.set_style(
            ProgressStyle::with_template("  measuring {bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let f: Arc<ProgressFn> = Arc::new(move |p: &MeasureProgress| {
            pb.set_length(p.total as u64);
            pb.set_position(p.done as u64);
            pb.set_message(format!("{}: {}", p.backend, p.label));
            if p.done >= p.total {
                pb.finish_and_clear();
            }
        });
        f
    });
    Scheduler::with_progress(backends.to_vec(), settings, progress)
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
    /// `(auto - best) / best`, percent (negative: the plan is faster).
    pub auto_vs_best_percent: Option<f64>,
    /// The scheduler's plan for the decode step.
    pub plan: Plan,
    /// Estimated decode tokens/s of a model of `layer.n_layer` such layers plus its head,
    /// at the best measured decode step.
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
                .map(|n| m.predict_us(edgeplane::sched::class::node_work(&layer.graph, n)));
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
pub fn bench(sched: &Scheduler, backends: &[Arc<dyn Backend>]) -> edgeplane::Result<BenchReport> {
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
        let key = edgeplane::sched::profile::DeviceKey::of(&info);
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
    let auto_vs_best_percent = match (&auto, &best_single) {
        (Some(a), Some((_, b))) => Some((a.decode_ms - b) / b * 100.0),
        _ => None,
    };
    let best_ms = auto
        .as_ref()
        .map(|a| a.decode_ms)
        .into_iter()
        .chain(best_single.as_ref().map(|b| b.1))
        .fold(f64::INFINITY, f64::min);
    let tokens_per_s = best_ms
        .is_finite()
        .then(|| decode_tokens_per_s(&config, best_ms, head_ms(sched, &config)));
    Ok(BenchReport {
        layer: config,
        weight_bytes: config.weight_bytes(),
        devices,
        auto,
        best_single,
        auto_vs_best_percent,
        tokens_per_s,
        plan,
    })
}

/// The per-device layer timings as a table (one row per device, and the plan).
pub fn timing_table(r: &BenchReport) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "device",
        "compile",
        "decode step (median)",
        "fastest",
        "weights GB/s",
        "runs",
    ]);
    let row = |name: String, timing: &LayerTiming| {
        vec![
            name,
            format!("{:.0} ms", timing.compile_ms),
            format!("{:.2} ms", timing.decode_ms),
            format!("{:.2} ms", timing.decode_min_ms),
            format!("{:.1}", timing.weight_gbps),
            timing.runs.to_string(),
        ]
    };
    for d in &r.devices {
        match (&d.timing, &d.error) {
            (Some(timing), _) => t.add_row(row(d.info.backend.clone(), timing)),
            (None, e) => t.add_row(vec![
                d.info.backend.clone(),
                format!("failed: {}", e.clone().unwrap_or_default()),
            ]),
        };
    }
    if let Some(a) = &r.auto {
        t.add_row(row("auto (the plan)".into(), a));
    }
    t
}

/// One device's fitted models as a table.
pub fn class_table(d: &DeviceBench) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "op class",
        "points",
        "launch",
        "GB/s",
        "GFLOP/s",
        "in the 1B layer",
    ]);
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x:.1}")
        } else {
            "∞".into()
        }
    };
    for c in &d.classes {
        t.add_row([
            c.class.clone(),
            c.points.to_string(),
            human_us(c.launch_us),
            num(c.gbps),
            num(c.gflops),
            c.layer_op_us.map_or("".into(), human_us),
        ]);
    }
    t
}

/// Prints the report for humans.
pub fn print(r: &BenchReport) {
    println!(
        "One decode step of the built-in 1B-class layer ({}, {:.1} MB of weights, KV at {}/{}):",
        super::check::describe(&r.layer),
        r.weight_bytes as f64 / 1e6,
        r.layer.context / 2,
        r.layer.context
    );
    println!("{}", timing_table(r));
    if let (Some(a), Some((name, b))) = (&r.auto, &r.best_single) {
        println!(
            "The plan: {:.2} ms against {:.2} ms for the best single device ({name}): {:+.1} %.",
            a.decode_ms,
            b,
            (a.decode_ms - b) / b * 100.0
        );
    }
    for d in &r.devices {
        if !d.classes.is_empty() {
            println!(
                "\nFitted cost models on {} ({}):",
                d.info.backend, d.info.device
            );
            println!("{}", class_table(d));
        }
    }
}

/// Runs `bench`.
pub fn run(args: &BenchArgs, backends: &[Arc<dyn Backend>]) -> edgeplane::Result<()> {
    let sched = scheduler(backends, SchedSettings::from_env(), !args.json);
    let report = bench(&sched, backends)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| edgeplane::Error::Schedule(e.to_string()))?;
        println!("{text}");
    } else {
        print(&report);
    }
    Ok(())
}
