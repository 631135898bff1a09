//! `edgeplane check`: every backend against the reference on the built-in quantized layer
//! (reduced width, so the reference finishes in well under a second).
//! The per-op conformance tables with per-op bounds are the conformance harness's job; this
//! is the whole-layer check a newcomer sees.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use edgeplane::backend::Backend;
use edgeplane::sched::check::{check_layer, LayerCheck};
use edgeplane::sched::layer::LayerConfig;
use edgeplane::sched::REFERENCE_BACKEND;
use std::sync::Arc;

/// Options of `check`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CheckArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Decode steps through the KV cache (a prefill of as many tokens follows).
    #[arg(long, default_value_t = 4)]
    pub steps: usize,
}

/// What the backends were checked against, and the results.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckReport {
    /// The backend every other one was compared with.
    pub baseline: String,
    /// Whether the baseline is the reference backend (else: agreement between backends).
    pub against_reference: bool,
    /// The layer checked.
    pub layer: LayerConfig,
    /// One result per other backend.
    pub checks: Vec<LayerCheck>,
}

/// Checks every backend against the reference; without a reference in the build, against
/// the fast CPU backend (agreement between independently written kernels, said as such).
/// `None` when there is nothing to compare.
pub fn check_all(backends: &[Arc<dyn Backend>], steps: usize) -> Option<CheckReport> {
    let name = |b: &Arc<dyn Backend>| b.info().backend;
    let baseline = backends
        .iter()
        .find(|b| name(b) == REFERENCE_BACKEND)
        .or_else(|| backends.iter().find(|b| name(b) == "cpu"))
        .or_else(|| backends.first())?;
    let base_name = name(baseline);
    let config = LayerConfig::reduced();
    let checks: Vec<LayerCheck> = backends
        .iter()
        .filter(|b| name(b) != base_name)
        .map(|b| check_layer(b.as_ref(), baseline.as_ref(), config, steps))
        .collect();
    (!checks.is_empty()).then(|| CheckReport {
        against_reference: base_name == REFERENCE_BACKEND,
        baseline: base_name,
        layer: config,
        checks,
    })
}

/// The heading of a report.
pub fn heading(r: &CheckReport) -> String {
    if r.against_reference {
        format!("against the reference ({})", r.baseline)
    } else {
        format!(
            "against {} (the reference backend is not in this build: this shows agreement between backends, not conformance)",
            r.baseline
        )
    }
}

/// The results as a table.
pub fn table(checks: &[LayerCheck]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["backend", "worst NMSE", "bound", "steps", "result"]);
    for c in checks {
        t.add_row([
            c.backend.clone(),
            c.nmse.map_or("—".into(), |e| format!("{e:.2e}")),
            format!("{:.0e}", c.bound),
            c.steps.to_string(),
            match (&c.error, c.pass) {
                (Some(e), _) => format!("FAIL: {e}"),
                (None, true) => "pass".into(),
                (None, false) => "FAIL: over the bound".into(),
            },
        ]);
    }
    t
}

/// Describes the layer checked.
pub fn describe(config: &LayerConfig) -> String {
    format!(
        "hidden {}, ffn {}, {} heads / {} KV heads, attention {} + FFN {} weights",
        config.hidden,
        config.ffn,
        config.n_head,
        config.n_kv_head,
        config.attn_dtype,
        config.ffn_dtype
    )
}

/// Runs `check`. Returns false when a backend failed (the exit status says so).
pub fn run(args: &CheckArgs, backends: &[Arc<dyn Backend>]) -> edgeplane::Result<bool> {
    let Some(report) = check_all(backends, args.steps) else {
        return Err(edgeplane::Error::NotAvailable(
            "a second backend to check against".into(),
        ));
    };
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| edgeplane::Error::Schedule(e.to_string()))?;
        println!("{text}");
    } else {
        println!(
            "Built-in layer ({}) {}:",
            describe(&report.layer),
            heading(&report)
        );
        println!("{}", table(&report.checks));
    }
    Ok(report.checks.iter().all(|c| c.pass))
}
