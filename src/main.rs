//! `floorwatch`: parse the command line, set up logging, run, pick the exit code.
//! The only place that ends the process.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use floorwatch::cli::{Cli, run};
use floorwatch::config::LogFormat;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match cli.log_format() {
        // One JSON object a line, the event's fields under "fields".
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
        // Colour codes only for a person at a terminal, not in log files or pipes.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("floorwatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floorwatch: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
