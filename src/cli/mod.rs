//! The command line: argument parsing, the backends compiled in, and one module per
//! subcommand. Only this layer prints; the library logs.

pub mod bench;
pub mod check;
pub mod plan;
pub mod tour;

use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::backend::cpu::reference::Reference;
use edgeplane::backend::wgpu::Wgpu;
use edgeplane::Backend;
use std::sync::Arc;

/// `edgeplane`: quantized transformer layers on every device, proven and scheduled.
#[derive(clap::Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// What to do; without a subcommand, the tour.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// The tour: devices, conformance, benchmark, plan, estimated speed.
    Tour,
    /// Every backend against the reference on the built-in quantized layer.
    Check(check::CheckArgs),
    /// Measure the devices and time the built-in 1B-class layer on each.
    Bench(bench::BenchArgs),
    /// The scheduler's plan for the built-in layer, explained.
    Plan(plan::PlanArgs),
}

/// Every backend compiled in that opens on this machine; the ones that don't are logged.
pub fn available_backends() -> Vec<Arc<dyn Backend>> {
    let mut backends: Vec<Arc<dyn Backend>> = vec![Arc::new(Reference::new())];
    match Fast::new(FastSettings::default()) {
        Ok(b) => backends.push(Arc::new(b)),
        Err(e) => log::warn!("fast CPU backend: {e}"),
    }
    match Wgpu::from_env() {
        Ok(b) => backends.push(Arc::new(b)),
        Err(e) => log::warn!("wgpu backend: {e}"),
    }
    backends
}

/// Runs the parsed command line; the process exit code.
pub fn run(cli: Cli) -> i32 {
    let backends = available_backends();
    let result = match cli.command.unwrap_or(Command::Tour) {
        Command::Tour => tour::run(&backends).map(|()| true),
        Command::Check(args) => check::run(&args, &backends),
        Command::Bench(args) => bench::run(&args, &backends).map(|()| true),
        Command::Plan(args) => plan::run(&args, &backends).map(|()| true),
    };
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
