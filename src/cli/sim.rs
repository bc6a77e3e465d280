//! `floorwatch sim`: the floor simulator alone, feeding a running daemon like a CTI
//! bridge (a load generator). Its knobs ([`SimArgs`]) are `demo`'s too.

use std::time::Duration;

use chrono::Offset;
use tokio_util::sync::CancellationToken;

use super::CliError;
use crate::config::Config;
use crate::sim::{self, SimConfig};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
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
}

/// The simulator's knobs, shared by `demo` and `sim`.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct SimArgs {
    /// Agents on the simulated floor.
    #[arg(long, default_value_t = 60)]
    pub(super) agents: usize,
    /// Teams the agents are split into.
    #[arg(long, default_value_t = 4)]
    pub(super) teams: usize,
    /// Peak offered calls per minute for the whole floor (default: what keeps the
    /// agents about 85% occupied).
    #[arg(long, value_name = "N")]
    pub(super) calls_per_min: Option<f64>,
    /// Simulated seconds per real second. In `demo` the daemon's clock runs at the
    /// same speed, so ten minutes of floor (alerts included) pass in 600/speed s.
    #[arg(long, default_value_t = 1.0)]
    pub(super) speed: f64,
    /// Seconds between traffic surges (0: none); surges rotate over the queues.
    #[arg(long, default_value_t = 600)]
    pub(super) surge_every: u64,
    /// Seconds from the start to the first traffic surge.
    #[arg(long, default_value_t = 30)]
    pub(super) first_surge: u64,
    /// Seconds between trunk faults (0: none).
    #[arg(long, default_value_t = 300)]
    pub(super) fault_every: u64,
    /// Random seed, for a repeatable floor.
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Seconds between simulated CTI-link outages (25 s of silence); 0: none.
    #[arg(long, default_value_t = 420)]
    pub(super) link_outage_every: u64,
}

/// The simulator's config from the flags, on the floor `cfg` describes (its
/// queues and time zone).
pub(super) fn sim_config(args: &SimArgs, url: String, token: Option<String>, cfg: &Config) -> SimConfig {
    let offset = chrono::Utc::now().with_timezone(&cfg.floor.timezone).offset().fix().local_minus_utc() / 60;
    let mut s = SimConfig {
        url,
        token,
        agents: args.agents,
        teams: args.teams,
        calls_per_min: args.calls_per_min,
        speed: args.speed,
        surge_every_secs: args.surge_every,
        first_surge_secs: Some(args.first_surge),
        fault_every_secs: args.fault_every,
        utc_offset_mins: offset,
        link_outage_every_secs: args.link_outage_every,
        ..SimConfig::default()
    };
    if !cfg.floor.queues.is_empty() {
        s.queues = cfg.floor.queues.iter().map(|q| q.id.clone()).collect();
    }
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    s
}

pub(super) async fn run(args: Args) -> Result<(), CliError> {
    let Args { url, token, duration, sim: knobs } = args;
    let cfg = Config::default();
    let sim_cfg = sim_config(&knobs, url, token, &cfg);
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        match duration {
            Some(secs) => {
                tokio::select! {
                    _ = crate::signal::shutdown() => {}
                    _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                }
            }
            None => crate::signal::shutdown().await,
        }
        stopper.cancel();
    });
    let stats = sim::run(sim_cfg, cancel).await?;
    println!(
        "sent {} events in {} frames; {} rejected by the daemon; {} reconnects",
        stats.events_sent, stats.frames_sent, stats.errors_received, stats.reconnects
    );
    Ok(())
}
