//! The `edgeplane` command line.
mod cli;

use clap::Parser;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    std::process::exit(cli::run(cli::Cli::parse()));
}
