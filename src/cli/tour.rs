//! The tour: what `edgeplane` with no arguments shows a newcomer, in order: the devices
//! found, every backend checked against the reference on the built-in quantized layer, a
//! benchmark per device, the plan the scheduler chose and why, and an estimated decode
//! speed. The first run measures the devices (cached for the next); later runs reuse it.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use edgeplane::backend::Backend;
use edgeplane::sched::layer::LayerConfig;
use edgeplane::sched::profile::LoadOutcome;
use edgeplane::sched::SchedSettings;
use std::sync::Arc;
use std::time::Instant;

/// The devices as a table.
pub fn devices_table(backends: &[Arc<dyn Backend>]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "backend", "device", "kind", "api", "driver", "memory", "features",
    ]);
    for b in backends {
        let i = b.info();
        t.add_row([
            i.backend,
            i.device,
            format!("{:?}", i.kind),
            i.api,
            i.driver,
            i.memory_bytes
                .map_or("—".into(), |m| format!("{:.1} GB", m as f64 / 1e9)),
            i.features.join(" "),
        ]);
    }
    t
}

/// Runs the tour.
pub fn run(backends: &[Arc<dyn Backend>]) -> edgeplane::Result<()> {
    let start = Instant::now();
    println!("edgeplane {} — the tour\n", env!("CARGO_PKG_VERSION"));

    println!("1. Devices found");
    println!("{}\n", devices_table(backends));

    println!(
        "2. Conformance on the built-in layer\n   ({}; reduced width so the reference is quick)",
        super::check::describe(&LayerConfig::reduced())
    );
    match super::check::check_all(backends, 4) {
        Some(report) => {
            println!("   {}", super::check::heading(&report));
            println!("{}\n", super::check::table(&report.checks));
        }
        None => println!("   only one backend: nothing to compare\n"),
    }

    let settings = SchedSettings::from_env();
    let cached = settings.profile_path();
    let sched = super::bench::scheduler(backends, settings, true);
    let profile_note = match (sched.load_outcome(), &cached) {
        (LoadOutcome::Loaded, Some(p)) => format!("profile reused from {}", p.display()),
        (outcome, Some(p)) => {
            let why = match outcome {
                LoadOutcome::Stale(w) => format!("the cached profile is stale ({w})"),
                LoadOutcome::Corrupt(w) => format!("the cached profile is unreadable ({w})"),
                _ => "first run".into(),
            };
            format!(
                "{why}: measuring the devices, then caching in {}",
                p.display()
            )
        }
        (_, None) => "no cache dir: measuring, not cached".into(),
    };
    println!("3. Benchmark ({profile_note})");
    let report = edgeplane::sched::bench::bench_layer(&sched, backends)?;
    super::bench::print(&report);
    println!();

    println!("4. The plan for one decode step");
    let plan = &report.plan;
    print!("{plan}");
    println!("Why: {}.\n", plan.why());

    println!("5. Estimated decode speed");
    match report.tokens_per_s {
        Some(tps) => println!(
            "   {tps:.1} tokens/s for a {}-layer model of this layer (plus a {}-entry output head),\n   from the plan's measured decode step; {} measuring runs this time, tour took {:.1} s.",
            report.layer.n_layer,
            report.layer.vocab,
            sched.measurement_runs(),
            start.elapsed().as_secs_f64()
        ),
        None => println!("   no device ran the layer"),
    }
    Ok(())
}
