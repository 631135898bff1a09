//! The command line: argument parsing, the backends compiled in, and one module per
//! subcommand. Only this layer prints; the library logs.

pub mod bench;
pub mod check;
pub mod devices;
pub mod inspect;
pub mod logits;
pub mod model_args;
pub mod plan;
pub mod run;
pub mod tensor;
pub mod tour;

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
    /// A GGUF file's metadata and tensor table.
    Inspect(inspect::InspectArgs),
    /// One tensor of a GGUF file, dequantized to f32, written as a .npy array.
    Tensor(tensor::TensorArgs),
    /// Every backend compiled in that opens here, with what its device reports.
    Devices(devices::DevicesArgs),
    /// f32 logits of a token sequence through a GGUF model, as a .npy array.
    Logits(logits::LogitsArgs),
    /// Generate text from a prompt, streaming tokens, with tokens/s.
    Run(run::RunArgs),
}

/// Every backend compiled in that opens on this machine; the ones that don't are logged.
pub fn available_backends() -> Vec<Arc<dyn Backend>> {
    edgeplane::backend::available_backends()
}

/// Runs the parsed command line; the process exit code: 0 on success, 1 on any error or
/// failed check. Errors print as `error: <message>` followed by their causes. Backends are
/// opened only by the commands that use them, so `inspect` never touches a GPU.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command.unwrap_or(Command::Tour) {
        Command::Tour => tour::run(&available_backends()).map(|()| true),
        Command::Check(args) => check::run(&args, &available_backends()),
        Command::Bench(args) => bench::run(&args, &available_backends()).map(|()| true),
        Command::Plan(args) => plan::run(&args, &available_backends()).map(|()| true),
        Command::Inspect(args) => inspect::run(&args).map(|()| true),
        Command::Tensor(args) => tensor::run(&args).map(|()| true),
        Command::Devices(args) => devices::run(&args, &available_backends()).map(|()| true),
        Command::Logits(args) => logits::run(&args).map(|()| true),
        Command::Run(args) => run::run(&args).map(|()| true),
    };
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            1
        }
    }
}

/// `message: cause: cause`, the error and every source below it.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // thiserror messages often already include their source; don't repeat it.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
