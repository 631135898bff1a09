//! `edgeplane plan`: the scheduler's plan for the built-in 1B-class layer, node by node,
//! with each node's estimate and runner-up, and why.

use edgeplane::backend::Backend;
use edgeplane::sched::layer::{Layer, LayerConfig};
use edgeplane::sched::{Plan, Policy, SchedSettings};
use std::sync::Arc;

/// Options of `plan`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PlanArgs {
    /// Print JSON instead of the explanation.
    #[arg(long)]
    pub json: bool,
    /// Tokens per run: 1 plans a decode step, more a prefill.
    #[arg(long, default_value_t = 1)]
    pub tokens: usize,
    /// Put everything on this backend.
    #[arg(long)]
    pub pin: Option<String>,
    /// Leave these backends out (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
}

impl PlanArgs {
    /// The policy the options ask for.
    pub fn policy(&self) -> Policy {
        match (&self.pin, self.exclude.is_empty()) {
            (Some(p), _) => Policy::Pin(p.clone()),
            (None, false) => Policy::Exclude(self.exclude.clone()),
            (None, true) => Policy::Fastest,
        }
    }
}

/// Plans the layer for `tokens` tokens.
pub fn plan_layer(
    backends: &[Arc<dyn Backend>],
    settings: SchedSettings,
    tokens: usize,
    bar: bool,
) -> edgeplane::Result<Plan> {
    let sched = super::bench::scheduler(backends, settings, bar);
    let layer = Layer::build(LayerConfig::one_b(), tokens.max(1))?;
    sched.plan(&layer.graph)
}

/// Runs `plan`.
pub fn run(args: &PlanArgs, backends: &[Arc<dyn Backend>]) -> edgeplane::Result<()> {
    let settings = SchedSettings {
        policy: args.policy(),
        ..SchedSettings::from_env()
    };
    let plan = plan_layer(backends, settings, args.tokens, !args.json)?;
    if args.json {
        let text = serde_json::to_string_pretty(&plan)
            .map_err(|e| edgeplane::Error::Schedule(e.to_string()))?;
        println!("{text}");
    } else {
        println!(
            "Plan for {} token(s) through the built-in 1B-class layer:\n{plan}\n{}",
            args.tokens,
            plan.why()
        );
    }
    Ok(())
}
