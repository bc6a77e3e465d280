//! The command line (contract §1): `serve`, `demo`, `check-config`, plus `sim`, the
//! floor simulator on its own as a load generator against a running daemon.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::app::Daemon;
use crate::clock::Clock;
use crate::config::{self, Config, ConfigErrors, Env};

#[derive(Debug, Parser)]
#[command(name = "floorwatch", version, about = "Real-time call-center floor monitoring", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Serve {
        /// Config file (TOML); without one, every default applies.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// HTTP/WebSocket address, overriding the config's server.listen.
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Directory for the embedded database, overriding server.data_dir.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Run the daemon with a built-in simulated floor feeding it.
    Demo {
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        sim: SimArgs,
    },
    /// Validate a config file; exits non-zero with every error found.
    CheckConfig { file: PathBuf },
    /// Run only the floor simulator against a running daemon (a load generator).
    Sim {
        /// The daemon's ingest URL.
        #[arg(long, default_value = "ws://127.0.0.1:9720/ingest")]
        url: String,
        /// Bearer token, if the daemon requires one (default: $FLOORWATCH_INGEST_TOKEN).
        #[arg(long, env = "FLOORWATCH_INGEST_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long, value_name = "SECS")]
        duration: Option<u64>,
        #[command(flatten)]
        sim: SimArgs,
    },
}

/// The simulator's knobs, shared by `demo` and `sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Agents on the simulated floor.
    #[arg(long, default_value_t = 60)]
    pub agents: usize,
    /// Teams the agents are split into.
    #[arg(long, default_value_t = 4)]
    pub teams: usize,
    /// Peak offered calls per minute for the whole floor (default: what keeps the
    /// agents about 85% occupied).
    #[arg(long, value_name = "N")]
    pub calls_per_min: Option<f64>,
    /// Simulated seconds per real second. In `demo` the daemon's clock runs at the
    /// same speed, so ten minutes of floor (alerts included) pass in 600/speed s.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Seconds between traffic surges (0: none); surges rotate over the queues.
    #[arg(long, default_value_t = 600)]
    pub surge_every: u64,
    /// Seconds from the start to the first traffic surge.
    #[arg(long, default_value_t = 30)]
    pub first_surge: u64,
    /// Seconds between trunk faults (0: none).
    #[arg(long, default_value_t = 300)]
    pub fault_every: u64,
    /// Random seed, for a repeatable floor.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds between simulated CTI-link outages (25 s of silence); 0: none.
    #[arg(long, default_value_t = 420)]
    pub link_outage_every: u64,
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

pub fn env() -> Env {
    std::env::vars().collect()
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::CheckConfig { file } => check_config(&file),
        Command::Serve { config, listen, data_dir } => {
            let cfg = load(config.as_deref(), listen, data_dir)?;
            let daemon = start(cfg, Clock::system()).await?;
            run_until_signal(daemon).await
        }
        Command::Demo { listen, config, data_dir, sim } => {
            crate::demo::run(config, listen, data_dir, sim).await
        }
        Command::Sim { url, token, duration, sim } => crate::demo::run_sim(url, token, duration, sim).await,
    }
}

fn check_config(file: &Path) -> Result<(), CliError> {
    let cfg = config::load(Some(file), &env())?;
    println!(
        "{}: ok (listen {}, {} queues, {} teams, {} shifts, time zone {})",
        file.display(),
        cfg.listen,
        cfg.floor.queues.len(),
        cfg.floor.teams.len(),
        cfg.floor.shifts.len(),
        cfg.floor.timezone
    );
    Ok(())
}

/// Loads the config and applies command-line overrides.
pub fn load(
    file: Option<&Path>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
) -> Result<Config, CliError> {
    let mut cfg = config::load(file, &env())?;
    if let Some(l) = listen {
        cfg.listen = l;
    }
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    Ok(cfg)
}

pub async fn start(cfg: Config, clock: Clock) -> Result<Daemon, CliError> {
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
    Ok(Daemon::start(cfg, listener, clock).await?)
}

/// Serves until SIGINT/SIGTERM, then shuts down gracefully; a second signal
/// abandons the graceful wait.
pub async fn run_until_signal(daemon: Daemon) -> Result<(), CliError> {
    let token = daemon.cancel_token();
    tokio::select! {
        _ = crate::signal::shutdown() => tracing::info!("shutting down: draining ingest and floor engine"),
        _ = token.cancelled() => {}
    }
    daemon.shutdown();
    tokio::select! {
        r = daemon.wait() => r.map_err(CliError::Other),
        _ = crate::signal::shutdown() => Err(CliError::Forced),
    }
}
