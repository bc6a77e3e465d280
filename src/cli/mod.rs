//! The command line (contract §1): `serve`, `demo`, `check-config`, plus `sim`, the
//! floor simulator on its own as a load generator against a running daemon.
//!
//! One file per command under `cli/`, each with its flags (`Args`) and its `run`;
//! this file lists the commands, loads the config with the command-line overrides,
//! and maps failures to [`CliError`]. A new command (`replay`) is a new file plus
//! its `mod` line, its variant of `Command` and its arm in [`run`]. Nothing here
//! ends the process: `main.rs` picks the exit code from the error.

mod check_config;
mod demo;
mod hash_token;
mod replay;
mod serve;
mod sim;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{self, Config, ConfigErrors, Env};

#[derive(Debug, Parser)]
#[command(name = "floorwatch", version, about = "Real-time call-center floor monitoring", long_about = None)]
pub struct Cli {
    /// Log lines on stderr as `text` (for a person) or `json` (one object a
    /// line, for a log collector); overrides the config's `server.log_format`.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    log_format: Option<config::LogFormat>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The log format: the flag, else the config file's `server.log_format`
    /// (read ahead, since logging starts before the config is loaded).
    pub fn log_format(&self) -> config::LogFormat {
        let file = match &self.command {
            Command::Serve(a) => a.config_file(),
            Command::Demo(a) => a.config_file(),
            Command::CheckConfig(_) | Command::Sim(_) | Command::Replay(_) | Command::HashToken(_) => None,
        };
        self.log_format.or_else(|| file.and_then(config::peek_log_format)).unwrap_or_default()
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon.
    Serve(serve::Args),
    /// Run the daemon with a built-in simulated floor feeding it.
    Demo(demo::Args),
    /// Validate a config file; exits non-zero with every error found.
    CheckConfig(check_config::Args),
    /// Run only the floor simulator against a running daemon (a load generator).
    Sim(sim::Args),
    /// Run a recorded floor through the engine on its own clock and report.
    Replay(replay::Args),
    /// Print the `sha256` line of a token (from stdin, or `--generate` one) for the config.
    HashToken(hash_token::Args),
}

/// Why a command failed, and so which exit code it gets.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("shutdown forced by a second signal")]
    Forced,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) => 2,
            CliError::Forced => 130,
            CliError::Other(_) => 1,
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::CheckConfig(args) => check_config::run(&args),
        Command::Sim(args) => sim::run(args).await,
        Command::Replay(args) => replay::run(args).await,
        Command::HashToken(args) => hash_token::run(&args),
    }
}

/// The process environment, read here once and passed down (config never reads it).
fn env() -> Env {
    std::env::vars().collect()
}

/// Loads the config file (every default without one) and applies the
/// command-line overrides.
fn load(
    file: Option<&Path>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
) -> Result<Config, CliError> {
    let env = env();
    let mut cfg = config::load(file, &env)?;
    // SIGHUP re-reads the same file with the same environment.
    cfg.reload = file.map(|f| config::Reload { file: f.to_path_buf(), env });
    Ok(overridden(cfg, listen, data_dir))
}

/// `--listen` and `--data-dir` win over the config's `server.listen` and
/// `server.data_dir`: runtime choices stay flags.
fn overridden(mut cfg: Config, listen: Option<SocketAddr>, data_dir: Option<PathBuf>) -> Config {
    if let Some(l) = listen {
        cfg.listen = l;
    }
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    cfg
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag and argument of every command, nested ones included, has its
    /// help text: `floorwatch demo --help` (and the others) leave nothing bare.
    #[test]
    fn every_argument_of_every_command_has_help() {
        fn walk(cmd: &clap::Command, path: &str, bare: &mut Vec<String>, seen: &mut usize) {
            for arg in cmd.get_arguments() {
                *seen += 1;
                let has = arg.get_help().is_some_and(|h| !h.to_string().trim().is_empty());
                if !has {
                    bare.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), bare, seen);
            }
        }
        let mut cmd = super::Cli::command();
        cmd.build();
        let (mut bare, mut seen) = (Vec::new(), 0);
        walk(&cmd, "floorwatch", &mut bare, &mut seen);
        assert!(bare.is_empty(), "arguments without help: {bare:?}");
        assert!(seen > 20, "only {seen} arguments walked: the tree was not built");
        let demo = cmd.find_subcommand("demo").map(|d| d.get_arguments().count());
        assert!(demo.is_some_and(|n| n >= 10), "demo has its flags and the simulator's: {demo:?}");
    }
}
