//! `edgeplane bench`: measure every device (or reuse the cached profile), then time one
//! decode step of the built-in 1B-class layer on each device and on the scheduler's plan.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use edgeplane::backend::Backend;
use edgeplane::sched::bench::{bench_layer, BenchReport, DeviceBench, LayerTiming};
use edgeplane::sched::explain::human_us;
use edgeplane::sched::measure::{MeasureProgress, ProgressFn};
use edgeplane::sched::{SchedSettings, Scheduler};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;

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
    // A term the fit dropped costs nothing: its rate is not a measurement, print a dash.
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x:.1}")
        } else {
            "—".into()
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
    if let Some(c) = &r.comparison {
        println!(
            "The plan against the best single device ({}), {} alternating rounds: median {:.2} ms vs {:.2} ms ({:+.1} %), fastest {:.2} vs {:.2} ms.",
            c.best, c.rounds, c.auto_ms, c.best_ms, c.percent, c.auto_min_ms, c.best_min_ms
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
    let report = bench_layer(&sched, backends)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| edgeplane::Error::Schedule(e.to_string()))?;
        println!("{text}");
    } else {
        print(&report);
    }
    Ok(())
}
