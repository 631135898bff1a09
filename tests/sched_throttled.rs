//! The scheduler end to end with throttled wrappers around the reference backend: it
//! measures, plans, partitions, runs and recovers. Time is virtual and injected per op
//! class (see `sched_support`), so every assertion about speed is deterministic.

mod sched_support;

use edgeplane::backend::cpu::reference::Reference;
use edgeplane::sched::layer::{Layer, LayerConfig};
use edgeplane::sched::profile::LoadOutcome;
use edgeplane::sched::{MeasureScale, SchedSettings, Scheduler};
use edgeplane::{Backend, HostTensor, OpKind};
use sched_support::{Costs, Throttled, VirtualClock};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn reference() -> Arc<dyn Backend> {
    Arc::new(Reference::new())
}

fn settings(dir: &std::path::Path, clock: &Arc<VirtualClock>) -> SchedSettings {
    SchedSettings {
        cache_dir: Some(dir.to_path_buf()),
        budget: Duration::from_secs(600),
        scale: MeasureScale::Tiny,
        clock: clock.clone(),
        ..SchedSettings::default()
    }
}

fn layer() -> Layer {
    Layer::build(LayerConfig::reduced(), 1).unwrap()
}

/// The layer's output on the plain reference for the same inputs.
fn expected(layer: &Layer, steps: &[Vec<HostTensor>]) -> Vec<Vec<HostTensor>> {
    let mut exe = reference().compile(&layer.graph).unwrap();
    steps.iter().map(|i| exe.run(i).unwrap()).collect()
}

fn steps(layer: &Layer) -> Vec<Vec<HostTensor>> {
    (0..3)
        .map(|p| layer.inputs(p, 1, 100 + p as u64).unwrap())
        .collect()
}

const MATMUL_ONLY: &[OpKind] = &[OpKind::MatMul];
const ALL_BUT_MATMUL: &[OpKind] = &[
    OpKind::RmsNorm,
    OpKind::Rope,
    OpKind::KvWrite,
    OpKind::Attention,
    OpKind::Add,
    OpKind::SwiGlu,
];

/// Two devices: `mm` fast at matmuls, `small` fast at everything else, by `ratio`.
fn pair(clock: &Arc<VirtualClock>, ratio: f64, run_us: f64) -> (Arc<Throttled>, Arc<Throttled>) {
    // µs per MB of work: 1 ms per MB for the fast side (a slow phone-class device).
    let mut mm = Costs::fast_at(MATMUL_ONLY, 1000.0, 1000.0 * ratio);
    let mut small = Costs::fast_at(ALL_BUT_MATMUL, 1000.0, 1000.0 * ratio);
    mm.run_us = run_us;
    small.run_us = run_us;
    (
        Arc::new(Throttled::new("mm", reference(), clock.clone(), mm)),
        Arc::new(Throttled::new("small", reference(), clock.clone(), small)),
    )
}

fn devices_by_kind(plan: &edgeplane::sched::Plan) -> Vec<(OpKind, String)> {
    plan.nodes
        .iter()
        .map(|n| (n.class.kind(), plan.devices[n.device].clone()))
        .collect()
}

#[test]
fn each_op_class_runs_on_its_faster_device_and_the_result_is_right() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    let (mm, small) = pair(&clock, 50.0, 0.0);
    let sched = Scheduler::new(
        vec![mm.clone(), small.clone()],
        settings(dir.path(), &clock),
    );
    let layer = layer();
    let mut exe = sched.compile_auto(&layer.graph).unwrap();
    for (kind, device) in devices_by_kind(exe.plan()) {
        let want = if kind == OpKind::MatMul {
            "mm"
        } else {
            "small"
        };
        assert_eq!(device, want, "{kind:?} went to {device}:\n{}", exe.plan());
    }
    assert!(exe.plan().segments > 2, "{}", exe.plan());
    // Split across devices, the layer still computes exactly what the reference does,
    // KV cache included, step after step.
    let steps = steps(&layer);
    let want = expected(&layer, &steps);
    for (inputs, want) in steps.iter().zip(&want) {
        let got = exe.run_with_report(inputs).unwrap();
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        assert_eq!(&got.outputs, want);
    }
}

#[test]
fn the_plan_flips_when_the_speed_ratio_flips() {
    let layer = layer();
    let mut plans = Vec::new();
    for ratio in [50.0, 1.0 / 50.0] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(VirtualClock::default());
        let (mm, small) = pair(&clock, ratio, 0.0);
        let sched = Scheduler::new(vec![mm, small], settings(dir.path(), &clock));
        plans.push(devices_by_kind(&sched.plan(&layer.graph).unwrap()));
    }
    for ((kind, a), (_, b)) in plans[0].iter().zip(&plans[1]) {
        assert_ne!(a, b, "{kind:?} stayed on {a} when the ratio flipped");
    }
}

#[test]
fn boundary_costs_keep_the_layer_on_one_device_when_splitting_does_not_pay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    // Each device is 2× faster at its ops, but every extra run costs 10 ms: the layer's
    // ops take about 1 ms in all, so no split can pay for itself.
    let (mm, small) = pair(&clock, 2.0, 10_000.0);
    let sched = Scheduler::new(vec![mm, small], settings(dir.path(), &clock));
    let plan = sched.plan(&layer().graph).unwrap();
    assert_eq!(plan.segments, 1, "{plan}");
    let best_single = plan
        .single_device_us
        .iter()
        .flatten()
        .cloned()
        .fold(f64::INFINITY, f64::min);
    assert!(
        (plan.total_us - best_single).abs() < 1e-6 * best_single,
        "{plan}"
    );
}

#[test]
fn the_second_start_measures_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    let (mm, small) = pair(&clock, 50.0, 0.0);
    let layer = layer();
    let first = Scheduler::new(
        vec![mm.clone(), small.clone()],
        settings(dir.path(), &clock),
    );
    assert_eq!(first.load_outcome(), &LoadOutcome::Missing);
    let plan1 = first.plan(&layer.graph).unwrap();
    assert!(first.measurement_runs() > 0);
    let runs_after_first = mm.switches.runs.load(Ordering::SeqCst);

    let second = Scheduler::new(
        vec![mm.clone(), small.clone()],
        settings(dir.path(), &clock),
    );
    assert_eq!(second.load_outcome(), &LoadOutcome::Loaded);
    let plan2 = second.plan(&layer.graph).unwrap();
    assert_eq!(second.measurement_runs(), 0);
    assert_eq!(mm.switches.runs.load(Ordering::SeqCst), runs_after_first);
    // Same assignment (estimates may differ in the last bit through JSON).
    assert_eq!(plan1.assignment(), plan2.assignment());
    assert!((plan1.total_us - plan2.total_us).abs() < 1e-9 * plan1.total_us);
}

#[test]
fn a_corrupt_or_stale_profile_is_measured_again() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    let (mm, small) = pair(&clock, 50.0, 0.0);
    let s = settings(dir.path(), &clock);
    let path = s.profile_path().unwrap();
    std::fs::write(&path, b"{\"format\": 1, \"devices\": [tru").unwrap();
    let sched = Scheduler::new(vec![mm.clone(), small.clone()], s.clone());
    assert!(matches!(sched.load_outcome(), LoadOutcome::Corrupt(_)));
    sched.plan(&layer().graph).unwrap();
    assert!(sched.measurement_runs() > 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(saved["devices"].as_array().unwrap().len(), 2);

    // Same file claiming another edgeplane version: stale, re-measured.
    let stale = text.replacen(env!("CARGO_PKG_VERSION"), "0.0.0-old", 1);
    std::fs::write(&path, stale).unwrap();
    let sched = Scheduler::new(vec![mm, small], s);
    assert!(matches!(sched.load_outcome(), LoadOutcome::Stale(_)));
    sched.plan(&layer().graph).unwrap();
    assert!(sched.measurement_runs() > 0);
}

#[test]
fn a_device_failing_mid_run_is_recovered_from() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    // "flaky" is faster at everything, so the whole plan starts on it.
    let flaky = Arc::new(Throttled::new(
        "flaky",
        reference(),
        clock.clone(),
        Costs::fast_at(&[], 1000.0, 1000.0),
    ));
    let steady = Arc::new(Throttled::new(
        "steady",
        reference(),
        clock.clone(),
        Costs::fast_at(&[], 1000.0, 20_000.0),
    ));
    let sched = Scheduler::new(
        vec![flaky.clone(), steady.clone()],
        settings(dir.path(), &clock),
    );
    let layer = layer();
    let mut exe = sched.compile_auto(&layer.graph).unwrap();
    assert!(exe
        .plan()
        .nodes
        .iter()
        .all(|n| exe.plan().devices[n.device] == "flaky"));
    let steps = steps(&layer);
    let want = expected(&layer, &steps[..1]);

    flaky.switches.fail_runs.store(true, Ordering::SeqCst);
    let got = exe.run_with_report(&steps[0]).unwrap();
    assert_eq!(got.outputs, want[0]);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert!(
        got.warnings[0].contains("flaky") && got.warnings[0].contains("lost"),
        "{:?}",
        got.warnings
    );
    assert!(exe
        .plan()
        .nodes
        .iter()
        .all(|n| exe.plan().devices[n.device] == "steady"));
    assert_eq!(sched.failed_devices(), ["flaky"]);
    // Later runs go straight to the survivor, without warnings.
    assert!(exe.run_with_report(&steps[1]).unwrap().warnings.is_empty());
}

#[test]
fn a_device_refusing_to_compile_is_planned_around() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    let (mm, small) = pair(&clock, 50.0, 0.0);
    let sched = Scheduler::new(
        vec![mm.clone(), small.clone()],
        settings(dir.path(), &clock),
    );
    let layer = layer();
    sched.plan(&layer.graph).unwrap(); // measure while both work
    mm.switches.refuse_compiles.store(true, Ordering::SeqCst);
    let mut exe = sched.compile_auto(&layer.graph).unwrap();
    assert!(exe
        .plan()
        .nodes
        .iter()
        .all(|n| exe.plan().devices[n.device] == "small"));
    let steps = steps(&layer);
    let got = exe.run_with_report(&steps[0]).unwrap();
    assert_eq!(got.outputs, expected(&layer, &steps[..1])[0]);
    assert!(
        got.warnings
            .iter()
            .any(|w| w.contains("mm") && w.contains("refused")),
        "{:?}",
        got.warnings
    );
}

#[test]
fn pin_and_exclude_policies_restrict_the_devices() {
    use edgeplane::sched::Policy;
    let layer = layer();
    for (policy, only) in [
        (Policy::Pin("mm".into()), "mm"),
        (Policy::Exclude(vec!["mm".into()]), "small"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(VirtualClock::default());
        let (mm, small) = pair(&clock, 50.0, 0.0);
        let s = SchedSettings {
            policy,
            ..settings(dir.path(), &clock)
        };
        let sched = Scheduler::new(vec![mm, small], s);
        let plan = sched.plan(&layer.graph).unwrap();
        assert_eq!(plan.devices, [only]);
        assert_eq!(plan.segments, 1);
    }
}

#[test]
fn the_kv_cache_on_a_surviving_device_outlives_the_re_plan() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    // Matmuls on "mm", the KV cache and attention on "small".
    let (mm, small) = pair(&clock, 50.0, 0.0);
    let sched = Scheduler::new(vec![mm.clone(), small], settings(dir.path(), &clock));
    let layer = layer();
    let mut exe = sched.compile_auto(&layer.graph).unwrap();
    let steps = steps(&layer);
    let want = expected(&layer, &steps);
    assert_eq!(exe.run_with_report(&steps[0]).unwrap().outputs, want[0]);
    mm.switches.fail_runs.store(true, Ordering::SeqCst);
    // Steps 1 and 2 read the cache step 0 wrote: right answers mean it survived the move.
    let got = exe.run_with_report(&steps[1]).unwrap();
    assert_eq!(got.outputs, want[1]);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert!(
        !got.warnings[0].contains("restarts from zero"),
        "{:?}",
        got.warnings
    );
    assert_eq!(exe.run_with_report(&steps[2]).unwrap().outputs, want[2]);
}

#[test]
fn the_scheduler_is_a_backend_named_auto() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::default());
    let (mm, small) = pair(&clock, 50.0, 0.0);
    let sched = Scheduler::new(vec![mm, small], settings(dir.path(), &clock));
    let auto: &dyn Backend = &sched;
    assert_eq!(auto.info().backend, "auto");
    assert_eq!(auto.info().features, ["mm", "small"]);
    let layer = layer();
    let steps = steps(&layer);
    let want = expected(&layer, &steps);
    let mut exe = auto.compile(&layer.graph).unwrap();
    for (inputs, want) in steps.iter().zip(&want) {
        assert_eq!(&exe.run(inputs).unwrap(), want);
    }
    // The layer check sees it as one more backend, within the bound (here: exact).
    let check =
        edgeplane::sched::check::check_layer(auto, reference().as_ref(), LayerConfig::reduced(), 2);
    assert_eq!(check.nmse, Some(0.0), "{check:?}");
    assert!(check.pass);
    // ...and reports a backend that fails instead of passing it.
    let broken = Throttled::new("broken", reference(), clock, Costs::default());
    broken.switches.fail_runs.store(true, Ordering::SeqCst);
    let check = edgeplane::sched::check::check_layer(
        &broken,
        reference().as_ref(),
        LayerConfig::reduced(),
        2,
    );
    assert!(
        !check.pass && check.error.as_deref().is_some_and(|e| e.contains("lost")),
        "{check:?}"
    );
}
