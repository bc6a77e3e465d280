//! `floorwatch demo`: the daemon plus a simulated floor feeding it over the real
//! WebSocket, on the embedded `config/demo.toml` unless `--config` names another.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::sim::{SimArgs, sim_config};
use super::{CliError, serve};
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::sim::{self, SimConfig};

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// HTTP/WebSocket address, overriding the config's server.listen.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Config file (TOML); without one, the built-in demo floor.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the embedded database, overriding server.data_dir.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
}

/// The demo's floor (three queues, four teams with their leads, demo-sized
/// limits), compiled in so the binary alone is enough.
const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

/// Offered calls per minute of the default 60-agent demo floor.
const DEMO_CALLS_PER_MIN: f64 = 13.0;

impl Args {
    pub(super) fn config_file(&self) -> Option<&std::path::Path> {
        self.config.as_deref()
    }
}

pub(super) async fn run(Args { listen, config, data_dir, sim: args }: Args) -> Result<(), CliError> {
    let cfg = match &config {
        Some(path) => super::load(Some(path), listen, data_dir)?,
        None => super::overridden(
            config::parse(DEMO_CONFIG, "<built-in demo config>", &super::env())?,
            listen,
            data_dir,
        ),
    };
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
    let daemon = serve::start(cfg.clone(), clock).await?;
    let addr = daemon.addr;
    sim_cfg.url = format!("ws://{addr}/ingest?source=demo-acd");
    let cancel = daemon.cancel_token().child_token();
    let simulator = tokio::spawn(sim::run(sim_cfg, cancel.clone()));
    let teams: Vec<String> = cfg.floor.teams.iter().map(|t| t.id.clone()).collect();
    let leads = tokio::spawn(demo_leads(addr, teams, args.speed, cancel.clone()));

    println!("floorwatch demo: a simulated floor of {} agents is feeding the daemon", args.agents);
    // Every page and endpoint a newcomer may want, one per line ("label  URL"):
    // a test fetches each of them.
    for (label, path) in [
        ("wallboard", "/"),
        ("team lead", "/lead"),
        ("duty desk", "/duty"),
        ("QA console", "/qa"),
        ("floor JSON", "/api/floor"),
        ("alerts", "/api/alerts"),
        ("incidents", "/api/incidents"),
        ("call-backs", "/api/callbacks"),
        ("faults", "/api/faults"),
        ("metrics", "/metrics"),
        ("healthz", "/healthz"),
        ("readyz", "/readyz"),
    ] {
        println!("  {label:<11} http://{addr}{path}");
    }
    println!("  ingest      ws://{addr}/ingest (the simulator is connected as source demo-acd)");
    println!("Ctrl-C stops it.");

    let result = serve::until_signal(daemon).await;
    cancel.cancel();
    let _ = leads.await;
    match simulator.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "simulator failed"),
        Err(e) => tracing::error!(error = %e, "simulator task failed"),
    }
    result
}

/// The team leads walk the floor, as their tablets' patrol button would say
/// (`POST /api/patrols`): every team each minute of floor time, except that the
/// first team's lead is held up in minutes 1–4 of every ten, so the demo shows a
/// `patrol_overdue` raised (the demo's interval is two minutes) and resolved.
async fn demo_leads(
    addr: SocketAddr,
    teams: Vec<String>,
    speed: f64,
    cancel: tokio_util::sync::CancellationToken,
) {
    let minute = std::time::Duration::from_secs_f64(60.0 / speed.max(0.01));
    for m in 0u64.. {
        for (i, team) in teams.iter().enumerate() {
            if i == 0 && (1..5).contains(&(m % 10)) {
                continue;
            }
            if let Err(e) = post_patrol(addr, team).await {
                tracing::debug!(error = %e, team, "demo patrol not sent");
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(minute) => {}
        }
    }
}

/// One patrol over loopback HTTP/1.1 (the demo trusts loopback for writes).
async fn post_patrol(addr: SocketAddr, team: &str) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({ "team": team }).to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "POST /api/patrols HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await?;
    Ok(())
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
