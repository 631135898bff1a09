//! `edgeplane check`: every backend against the reference on the built-in quantized layer
//! (reduced width, so the reference finishes in well under a second).

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

/// Checks every backend but the reference itself; `None` if there is no reference.
pub fn check_all(backends: &[Arc<dyn Backend>], steps: usize) -> Option<Vec<LayerCheck>> {
    let reference = backends
        .iter()
        .find(|b| b.info().backend == REFERENCE_BACKEND)?;
    let config = LayerConfig::reduced();
    Some(
        backends
            .iter()
            .filter(|b| b.info().backend != REFERENCE_BACKEND)
            .map(|b| check_layer(b.as_ref(), reference.as_ref(), config, steps))
            .collect(),
    )
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
    let Some(checks) = check_all(backends, args.steps) else {
        return Err(edgeplane::Error::NotAvailable(format!(
            "the reference backend ({REFERENCE_BACKEND})"
        )));
    };
    if args.json {
        let text = serde_json::to_string_pretty(&checks)
            .map_err(|e| edgeplane::Error::Schedule(e.to_string()))?;
        println!("{text}");
    } else {
        println!(
            "Built-in layer ({}) vs the reference:",
            describe(&LayerConfig::reduced())
        );
        println!("{}", table(&checks));
    }
    Ok(checks.iter().all(|c| c.pass))
}
