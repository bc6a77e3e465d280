//! `floorwatch serve`: the daemon until SIGINT/SIGTERM. `demo` runs the daemon the
//! same way ([`start`], [`until_signal`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;

use super::CliError;
use crate::app::Daemon;
use crate::clock::Clock;
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// Config file (TOML); without one, every default applies.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// HTTP/WebSocket address, overriding the config's server.listen.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Directory for the embedded database, overriding server.data_dir.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Record every accepted event as canonical JSON lines (`replay --format
    /// canonical` reads them): FILE names the series, written as one file per
    /// local day (and part), FILE's stem plus the date (`floor.jsonl` →
    /// `floor-2026-11-23.000.jsonl`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Largest recorded file, MiB; a day's recording continues in `….001.jsonl`, ….
    #[arg(long, value_name = "MIB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    record_max_mib: u64,
}

impl Args {
    pub(super) fn config_file(&self) -> Option<&std::path::Path> {
        self.config.as_deref()
    }
}

pub(super) async fn run(args: Args) -> Result<(), CliError> {
    let mut cfg = super::load(args.config.as_deref(), args.listen, args.data_dir)?;
    cfg.record = args.record.map(|path| crate::ingest::record::RecordConfig {
        path,
        max_bytes: args.record_max_mib.saturating_mul(1024 * 1024),
        timezone: cfg.floor.timezone,
    });
    let daemon = start(cfg, Clock::system()).await?;
    until_signal(daemon).await
}

/// Binds the configured address and starts the daemon on it.
pub(super) async fn start(cfg: Config, clock: Clock) -> Result<Daemon, CliError> {
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
    Ok(Daemon::start(cfg, listener, clock).await?)
}

/// Serves until SIGINT/SIGTERM, then shuts down gracefully; a second signal
/// abandons the graceful wait.
pub(super) async fn until_signal(daemon: Daemon) -> Result<(), CliError> {
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
