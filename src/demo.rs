//! `floorwatch demo` (the daemon plus a simulated floor feeding it over the real
//! WebSocket) and `floorwatch sim` (the simulator alone, as a load generator).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Offset;
use tokio_util::sync::CancellationToken;

use crate::cli::{self, CliError, SimArgs};
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::sim::{self, SimConfig};

/// The demo's floor (three queues, four teams with their leads, demo-sized
/// limits), compiled in so the binary alone is enough.
const DEMO_CONFIG: &str = include_str!("../config/demo.toml");

/// Offered calls per minute of the default 60-agent demo floor.
const DEMO_CALLS_PER_MIN: f64 = 13.0;

fn sim_config(args: &SimArgs, url: String, token: Option<String>, cfg: &Config) -> SimConfig {
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

pub(crate) async fn run(
    config: Option<PathBuf>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    args: SimArgs,
) -> Result<(), CliError> {
    let mut cfg = match &config {
        Some(path) => config::load(Some(path), &cli::env())?,
        None => config::parse(DEMO_CONFIG, "<built-in demo config>", &cli::env())?,
    };
    if let Some(l) = listen {
        cfg.listen = l;
    }
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    let mut sim_cfg = sim_config(&args, String::new(), cfg.ingest.token.clone(), &cfg);
    // The demo floor runs at its daily peak whatever the hour, so there is always
    // something to see (`floorwatch sim` keeps the daily curve).
    sim_cfg.flat_curve = true;
    if args.calls_per_min.is_none() && args.agents == 60 {
        // A floor that is ~95% occupied: surges and faults build real queues.
        sim_cfg.calls_per_min = Some(DEMO_CALLS_PER_MIN);
    }
    // Surges of three and a half minutes at four times the traffic: unmistakable
    // on a queue of a few calls a minute (a 90-second or a threefold burst there
    // often is, rightly, not significant), short enough that what they raise
    // resolves within the ten minutes.
    sim_cfg.surge_secs = 210;
    sim_cfg.surge_factor = 4.0;
    // And an ACW and a system-spell overrun early in every ten minutes, beside the
    // ones that happen by chance.
    sim_cfg.showcase_every_secs = 600;
    seed_baselines(&cfg, &sim_cfg).await?;
    // The daemon's clock runs at the simulator's speed, so a sped-up demo keeps
    // its timers (overruns, silent source, surge intervals) in step.
    let clock = Clock::system().with_speed(args.speed);
    let daemon = cli::start(cfg.clone(), clock).await?;
    let addr = daemon.addr;
    sim_cfg.url = format!("ws://{addr}/ingest?source=demo-acd");
    let cancel = daemon.cancel_token().child_token();
    let simulator = tokio::spawn(sim::run(sim_cfg, cancel.clone()));

    println!("floorwatch demo: a simulated floor of {} agents is feeding the daemon", args.agents);
    println!("  wallboard   http://{addr}/");
    println!("  floor JSON  http://{addr}/api/floor");
    println!("  metrics     http://{addr}/metrics");
    println!("Ctrl-C stops it.");

    let result = cli::run_until_signal(daemon).await;
    cancel.cancel();
    match simulator.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "simulator failed"),
        Err(e) => tracing::error!(error = %e, "simulator task failed"),
    }
    result
}

/// Gives the demo floor a past: three quiet simulated days of the same floor, from
/// which each queue's traffic profile is learned before the daemon starts, as a
/// real floor's would be after some days of running. Without it the surge detector
/// would rightly need an hour of history before it trusts itself. Profiles already
/// in the data directory (a previous demo run) are kept.
async fn seed_baselines(cfg: &Config, sim: &SimConfig) -> Result<(), CliError> {
    use crate::event::Id;
    use crate::rules::surge::{SurgeConfig, SurgeDetector};
    use crate::sim::{SimEventKind, SimModel};

    let store = crate::store::StoreHandle::open(&cfg.data_dir).map_err(anyhow::Error::from)?;
    let existing = store.load_baselines().await.map_err(anyhow::Error::from)?;
    if existing.is_empty() {
        let surge_cfg = SurgeConfig {
            interval_secs: cfg.alerts.surge_interval_secs,
            warmup_intervals: cfg.alerts.surge_warmup_intervals,
            min_calls: cfg.alerts.surge_min_calls,
            ..SurgeConfig::default()
        };
        let quiet =
            SimConfig { surge_every_secs: 0, fault_every_secs: 0, seed: sim.seed ^ 0x5eed, ..sim.clone() };
        let now = chrono::Utc::now();
        let mut t = now - chrono::Duration::days(3);
        let mut model = SimModel::new(&quiet, t);
        let mut detectors: std::collections::HashMap<String, SurgeDetector> = quiet
            .queues
            .iter()
            .map(|q| (q.clone(), SurgeDetector::new(surge_cfg, cfg.floor.timezone)))
            .collect();
        let mut events = Vec::new();
        while t < now {
            // Never past `now`: the live floor carries on from exactly here.
            t = (t + chrono::Duration::seconds(i64::from(cfg.alerts.surge_interval_secs.min(60)))).min(now);
            model.advance_to(t, &mut events);
            for e in events.drain(..) {
                if let SimEventKind::CallOffered { queue, .. } = e.kind()
                    && let Some(d) = detectors.get_mut(&**queue)
                {
                    d.offered(e.ts_millis());
                }
            }
            for d in detectors.values_mut() {
                d.evaluate(t.timestamp_millis());
            }
        }
        let learned = detectors.iter().map(|(q, d)| (Id::from(q.as_str()), d.to_json())).collect();
        store.save_baselines(learned).await.map_err(anyhow::Error::from)?;
        tracing::info!(queues = detectors.len(), "demo traffic profiles learned from three simulated days");
    }
    store.close().await;
    Ok(())
}

pub(crate) async fn run_sim(
    url: String,
    token: Option<String>,
    duration: Option<u64>,
    args: SimArgs,
) -> Result<(), CliError> {
    let cfg = Config::default();
    let sim_cfg = sim_config(&args, url, token, &cfg);
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
