//! The built-in floor simulator: a pretend ACD that feeds the daemon.
//!
//! `floorwatch demo` runs it next to the daemon so a newcomer sees a live wallboard
//! without a CTI at hand, and it doubles as a load generator. It behaves exactly
//! like a CTI bridge: it dials `ws://…/ingest` and speaks the canonical protocol,
//! so everything it exercises is the real ingest path.
//!
//! [`SimModel`] (pure, deterministic, no IO) decides what happens on the floor;
//! [`run`] paces it against the wall clock and ships its events.

mod away;
mod curve;
mod event;
mod feed;
mod link;
mod model;
mod roster;
#[cfg(test)]
mod tests;
mod traffic;

use std::time::Duration;

use anyhow::bail;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use event::{SimEvent, SimEventKind};
pub use model::SimModel;

use feed::Feed;
use link::{ConnectError, SessionEnd};

/// What to simulate and where to send it.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// WebSocket address of the daemon's canonical ingest.
    pub url: String,
    /// Bearer token sent as `Authorization: Bearer <token>`, when ingest requires one.
    pub token: Option<String>,
    /// The `source` id stamped on every event.
    pub source: String,
    /// Number of agents on the floor (ids `A0001`…).
    pub agents: usize,
    /// Put before every agent, team and call id (`"site2-"` gives `site2-A0001`,
    /// `site2-team-1`, `site2-C1001`): several simulated sites, one bridge each, can
    /// feed one daemon without their ids colliding. Queue names are not prefixed:
    /// sites share the queues, as a multi-site ACD's do.
    pub id_prefix: String,
    /// Number of teams (`team-1`…); each serves one primary queue.
    pub teams: usize,
    /// Queue names; the first gets the most traffic.
    pub queues: Vec<String>,
    /// Offered calls per minute for the whole floor at the daily peak. `None`
    /// derives it from the agent count so agents are about 80–85 % occupied at peak.
    pub calls_per_min: Option<f64>,
    /// Simulated seconds per real second (10.0 runs the floor ten times faster).
    pub speed: f64,
    /// Simulated seconds between traffic surges on one queue (rotating); 0 disables.
    pub surge_every_secs: u64,
    /// Simulated seconds from the start to the first surge (`None`: one period).
    pub first_surge_secs: Option<u64>,
    /// Mean length of a surge, simulated seconds (each lasts ±15% of it).
    pub surge_secs: u64,
    /// How much busier the surging queue gets (3.0: three times its usual traffic).
    pub surge_factor: f64,
    /// Simulated seconds between component faults; 0 disables.
    pub fault_every_secs: u64,
    /// Real milliseconds between batches sent to the daemon.
    pub batch_ms: u64,
    /// Most events in one WebSocket frame; larger batches are split.
    pub max_batch: usize,
    /// Seed of the model's random numbers; equal seeds give equal floors.
    pub seed: u64,
    /// Whether agents sometimes overrun ACW and breaks (what the alerts catch).
    pub overruns: bool,
    /// Simulated seconds between showcase overruns (0: none): 45 s in, and then
    /// every period, one agent's system not-ready spell and one agent's after-call
    /// work run 2–4 minutes, so a demo shows both overrun alerts raised and
    /// resolved within minutes instead of whenever chance brings them.
    pub showcase_every_secs: u64,
    /// Simulated seconds between CTI-link outages, during which the bridge sends nothing
    /// (not even heartbeats) for `link_outage_secs` and then catches up: what
    /// `source_down` is for. 0 disables.
    pub link_outage_every_secs: u64,
    pub link_outage_secs: u64,
    /// Traffic at the daily peak level at every hour, and no lunch wave (the demo:
    /// the same floor whenever it is started), instead of the bank's daily curve.
    pub flat_curve: bool,
    /// The floor's local time as minutes east of UTC (480 = China Standard Time);
    /// sets the intraday curve and the lunch window.
    pub utc_offset_mins: i32,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            url: "ws://127.0.0.1:9720/ingest".to_owned(),
            token: None,
            source: "demo-acd".to_owned(),
            agents: 60,
            id_prefix: String::new(),
            teams: 4,
            queues: vec!["billing".to_owned(), "cards".to_owned(), "tech".to_owned()],
            calls_per_min: None,
            speed: 1.0,
            surge_every_secs: 240,
            first_surge_secs: None,
            surge_secs: 105,
            surge_factor: 3.0,
            fault_every_secs: 300,
            batch_ms: 100,
            max_batch: 500,
            seed: chrono::Utc::now().timestamp_micros() as u64,
            overruns: true,
            showcase_every_secs: 0,
            utc_offset_mins: 480,
            link_outage_every_secs: 0,
            link_outage_secs: 25,
            flat_curve: false,
        }
    }
}

/// What a [`run`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Events in frames written to the daemon (a frame resent after a reconnect
    /// counts again).
    pub events_sent: u64,
    pub frames_sent: u64,
    /// `{"type":"error"}` frames the daemon answered with.
    pub errors_received: u64,
    /// Successful connections after the first one.
    pub reconnects: u64,
}

/// First and longest wait between connection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Simulates the floor in real time (scaled by `cfg.speed`) and streams it to the
/// daemon until `cancel` fires, then closes the connection cleanly.
///
/// A dropped connection is redialled with exponential backoff; sequence numbers
/// carry on across reconnects and the frames that may have been lost are sent
/// again under their old numbers, which the daemon drops as duplicates. Fails
/// only on a bad configuration or when the daemon refuses the token.
pub async fn run(cfg: SimConfig, cancel: CancellationToken) -> anyhow::Result<SimStats> {
    validate(&cfg)?;
    // Catch a malformed URL or token before the first dial, not in the retry loop.
    link::request(&cfg)?;

    let mut feed = Feed::new(&cfg, chrono::Utc::now(), tokio::time::Instant::now());
    let mut stats = SimStats::default();
    let mut backoff = BACKOFF_MIN;
    let mut connected_before = false;
    info!(url = %cfg.url, agents = cfg.agents, speed = cfg.speed, "floor simulator starting");

    loop {
        let dialled = tokio::select! {
            _ = cancel.cancelled() => break,
            r = link::connect(&cfg) => r,
        };
        match dialled {
            Ok(ws) => {
                if connected_before {
                    stats.reconnects += 1;
                    feed.rewind();
                }
                connected_before = true;
                backoff = BACKOFF_MIN;
                info!(url = %cfg.url, "connected to ingest");
                match link::session(ws, &mut feed, &mut stats, &cfg, &cancel).await {
                    SessionEnd::Cancelled => break,
                    SessionEnd::Dropped => {}
                }
            }
            Err(ConnectError::Refused(why)) => bail!("ingest refused the simulator: {why}"),
            Err(ConnectError::Failed(e)) => {
                let retry_ms = backoff.as_millis() as u64;
                warn!(url = %cfg.url, error = %e, retry_ms, "cannot reach ingest");
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
    info!(
        events = stats.events_sent,
        frames = stats.frames_sent,
        errors = stats.errors_received,
        reconnects = stats.reconnects,
        "floor simulator stopped"
    );
    Ok(stats)
}

fn validate(cfg: &SimConfig) -> anyhow::Result<()> {
    if !(cfg.speed.is_finite() && cfg.speed > 0.0) {
        bail!("simulator speed must be a positive number, not {}", cfg.speed);
    }
    if cfg.queues.is_empty() {
        bail!("the simulator needs at least one queue");
    }
    if cfg.batch_ms == 0 || cfg.max_batch == 0 {
        bail!("simulator batch_ms and max_batch must be greater than 0");
    }
    if !(cfg.surge_factor.is_finite() && cfg.surge_factor >= 1.0) {
        bail!("simulator surge_factor must be at least 1, not {}", cfg.surge_factor);
    }
    if cfg.calls_per_min.is_some_and(|c| !(c.is_finite() && c >= 0.0)) {
        bail!("simulator calls_per_min must be a non-negative number");
    }
    Ok(())
}
