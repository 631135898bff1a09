//! The `edgeplane` command line.
mod cli;

use clap::Parser;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    // Usage errors exit 1 like every other error (clap's own default is 2); `--help` and
    // `--version` print to stdout and exit 0.
    let parsed = match cli::Cli::try_parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            // Printing can only fail if stderr/stdout is closed; the exit code still tells.
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(cli::run(parsed));
}
