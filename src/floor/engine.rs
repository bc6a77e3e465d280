//! The floor engine: the one task that owns the [`Floor`].
//!
//! Inputs arrive on one bounded channel ([`EngineInput`]); the engine applies them
//! in order, runs the rules on what changed, hands the effects (and how many events
//! of each type were applied) to the counting task ([`crate::metrics::counting`],
//! bounded and lossless: counters are work this serial stage need not do), and
//! publishes an `Arc<Snapshot>` on a `watch` channel at the next point of a
//! `snapshot_interval_ms` grid after a change (and after every one-second tick,
//! since waits and times in state grow even when nothing happens). It stops when
//! every sender is gone — which is how shutdown drains it: ingest sessions close,
//! their senders drop, the engine applies what is left and publishes a last
//! snapshot.
//!
//! Channel policy: the input channel is bounded and lossless; when it is full,
//! ingest sessions wait (backpressure to the socket that sends too fast). The
//! snapshot channel keeps only the latest value: readers never slow the engine.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::{Effect, Floor, Snapshot};
use crate::clock::Clock;
use crate::config::{AlertsConfig, FloorConfig};
use crate::event::{Event, Id};
use crate::metrics::Metrics;
use crate::metrics::counting::{self, Counts};
use crate::rules::{AlertKey, Rules, Signal};

/// What the engine consumes, in arrival order.
#[derive(Debug)]
pub enum EngineInput {
    /// Events accepted by one ingest frame, in frame order.
    Batch(Vec<Event>),
    /// An ingest connection for `source` opened (`+1`) or closed (`-1`); `named`
    /// when the bridge chose the id.
    Connection { source: Id, delta: i32, named: bool },
    /// Ingest saw `seq` jump `gaps` times (`missing` numbers in all) in one frame.
    SeqGaps { source: Id, gaps: u64, missing: u64 },
}

pub struct EngineHandle {
    pub tx: mpsc::Sender<EngineInput>,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Where the engine sends alert signals, and what was still open at start.
pub struct AlertsLink {
    pub cfg: AlertsConfig,
    /// Bounded and lossless: a slow alert pipeline slows the engine (and so
    /// ingest) rather than lose an alert.
    pub signals: mpsc::Sender<Vec<Signal>>,
    /// Alerts open in the store at start, for the rules to confirm or clear.
    pub restored: Vec<AlertKey>,
    /// Learned traffic baselines saved by an earlier run: (queue, JSON).
    pub baselines: Vec<(Id, String)>,
    /// Where the engine saves baselines every few minutes (bounded channel; the
    /// store's writer thread does the IO).
    pub store: Option<crate::store::StoreHandle>,
}

/// Starts the engine task.
pub fn spawn(
    cfg: &FloorConfig,
    capacity: usize,
    metrics: Arc<Metrics>,
    clock: Clock,
    alerts: AlertsLink,
) -> EngineHandle {
    let (tx, rx) = mpsc::channel(capacity);
    let mut fx = Vec::new();
    let mut floor = Floor::new(cfg, &mut fx);
    let (snap_tx, snapshot) = watch::channel(Arc::new(floor.snapshot(clock.now_ms())));
    let (counts, counting) = counting::spawn(metrics.clone());
    let engine = Engine {
        floor,
        metrics,
        counts,
        counting,
        // The configured queues' `QueueAdded`s are the counting task's first input.
        out: {
            let mut out = Counts::default();
            out.take(&mut fx);
            out
        },
        clock,
        fx: Vec::new(),
        snap_tx,
        interval: Duration::from_millis(cfg.snapshot_interval_ms),
        rules: Rules::new(&alerts.cfg, cfg.timezone, alerts.restored, alerts.baselines),
        store: alerts.store,
        next_baseline_save: Instant::now() + BASELINE_SAVE_EVERY,
        signals: alerts.signals,
        pending: Vec::new(),
    };
    let task = tokio::spawn(engine.run(rx));
    EngineHandle { tx, snapshot, task }
}

struct Engine {
    floor: Floor,
    metrics: Arc<Metrics>,
    /// To the counting task (bounded, lossless): the events applied, by type, and
    /// tallies of their effects, which it turns into counters off this task's core.
    counts: mpsc::Sender<Counts>,
    counting: tokio::task::JoinHandle<()>,
    /// What the current round of input applied, sent after the round.
    out: Counts,
    clock: Clock,
    fx: Vec<Effect>,
    snap_tx: watch::Sender<Arc<Snapshot>>,
    interval: Duration,
    rules: Rules,
    signals: mpsc::Sender<Vec<Signal>>,
    /// Signals produced by the current step, sent before the next input is taken.
    pending: Vec<Signal>,
    store: Option<crate::store::StoreHandle>,
    next_baseline_save: Instant,
}

/// How often learned traffic baselines are written to the store.
const BASELINE_SAVE_EVERY: Duration = Duration::from_secs(300);
/// Key prefix of baselines in the store's key/value table.
pub const BASELINE_KEY_PREFIX: &str = "surge-baseline:";

impl Engine {
    async fn run(mut self, mut rx: mpsc::Receiver<EngineInput>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // When something readers would see has changed: the grid point it is
        // published at. A grid counted from the clock's start, not `interval`
        // after the previous publish: the wallboard feed sends on the same grid a
        // moment later, so what it sends was just taken. Within one interval of
        // any change, and at most one snapshot per interval.
        let mut publish_at: Option<Instant> = None;
        let mut inputs = Vec::with_capacity(64);
        loop {
            let changed = tokio::select! {
                // The tick first: under a constant stream of input it would otherwise
                // never be polled. It is ready once a second, so input cannot starve.
                biased;
                _ = tick.tick() => {
                    let now = self.clock.now_ms();
                    let mut fx = std::mem::take(&mut self.fx);
                    self.floor.tick(now, &mut fx);
                    self.out.take(&mut fx);
                    self.fx = fx;
                    self.rules.on_tick(&self.floor, now, &mut self.pending);
                    if Instant::now() >= self.next_baseline_save {
                        self.next_baseline_save = Instant::now() + BASELINE_SAVE_EVERY;
                        self.save_baselines().await;
                    }
                    // Waits and times in state have grown, events or not.
                    true
                }
                _ = tokio::time::sleep_until(publish_at.unwrap_or_else(Instant::now)), if publish_at.is_some() => {
                    self.publish(self.clock.now_ms());
                    publish_at = None;
                    false
                }
                // An overrun threshold or the rules' periodic sweep is due.
                _ = tokio::time::sleep_until(self.clock.instant_at(self.rules.next_deadline())) => {
                    let now = self.clock.now_ms();
                    self.rules.on_tick(&self.floor, now, &mut self.pending);
                    false
                }
                // Everything already queued is taken in one go: fewer wake-ups of
                // this task when ingest is busy.
                n = rx.recv_many(&mut inputs, 64) => {
                    if n == 0 {
                        break;
                    }
                    for input in inputs.drain(..) {
                        self.handle(input);
                    }
                    true
                }
            };
            if !self.pending.is_empty() {
                let batch = std::mem::take(&mut self.pending);
                if self.signals.send(batch).await.is_err() {
                    tracing::warn!("alert pipeline is gone; alert signals dropped");
                }
            }
            self.send_counts().await;
            if changed && publish_at.is_none() {
                publish_at = Some(self.clock.grid_at_or_after(Instant::now(), self.interval));
            }
        }
        self.publish(self.clock.now_ms());
        self.send_counts().await;
        self.save_baselines().await;
        // Drained means counted too: the counting task ends with our sender.
        let events = self.floor.events_applied;
        let Engine { counts, counting, .. } = self;
        drop(counts);
        let _ = counting.await;
        tracing::info!(events, "floor engine drained");
    }

    /// Hands this round's counts to the counting task (waiting for room).
    async fn send_counts(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let round = std::mem::take(&mut self.out);
        if self.counts.send(round).await.is_err() {
            tracing::warn!("counting task is gone; counts dropped");
        }
    }

    /// Hands the learned traffic baselines to the store (its writer thread does
    /// the IO; this only waits for room in its queue).
    async fn save_baselines(&self) {
        let Some(store) = &self.store else { return };
        let kv: Vec<(String, String)> = self
            .rules
            .baselines()
            .into_iter()
            .map(|(q, json)| (format!("{BASELINE_KEY_PREFIX}{q}"), json))
            .collect();
        if kv.is_empty() {
            return;
        }
        if let Err(e) = store.put_kvs(kv).await {
            tracing::warn!(error = %e, "cannot save traffic baselines");
        }
    }

    fn handle(&mut self, input: EngineInput) {
        let now = self.clock.now_ms();
        match input {
            EngineInput::Batch(events) => {
                let started = Instant::now();
                // This batch's effects only: the rules react to one batch at a time.
                let mut fx = std::mem::take(&mut self.fx);
                // A local histogram: one atomic update per bucket per batch.
                let lag = self.metrics.ingest_lag.local();
                for ev in &events {
                    self.floor.apply(ev, now, &mut fx);
                    lag.observe(((now - ev.ts).max(0)) as f64 / 1000.0);
                    self.out.applied(ev);
                }
                lag.flush();
                let mut start = 0;
                while start < events.len() {
                    let source = &events[start].source;
                    let run = events[start..].iter().take_while(|e| e.source == *source);
                    let (n, latest) = run.fold((0u64, i64::MIN), |(n, t), e| (n + 1, t.max(e.ts)));
                    self.floor.heard_from(source, n, latest, now);
                    start += usize::try_from(n).unwrap_or(events.len());
                }
                self.rules.on_effects(&self.floor, &fx, now, &mut self.pending);
                // Counting gets what it needs of them; the effects themselves are
                // dropped here, and their `Vec` keeps its room for the next batch.
                self.out.take(&mut fx);
                self.fx = fx;
                // Dropped here, while still in this core's cache (see `Counts`).
                drop(events);
                self.metrics.engine_batch_seconds.observe(started.elapsed().as_secs_f64());
            }
            EngineInput::Connection { source, delta, named } => {
                self.floor.source_connection(&source, delta, named, now)
            }
            EngineInput::SeqGaps { source, gaps, missing } => {
                self.rules.on_seq_gaps(&source, gaps, missing, now, &mut self.pending)
            }
        }
    }

    fn publish(&mut self, now: i64) {
        let snap = Arc::new(self.floor.snapshot(now));
        // No receivers (all readers gone) is fine: the value is still stored.
        self.snap_tx.send_replace(snap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::event::{Event, EventKind, Ts};

    fn login(agent: &str, ts: Ts) -> EngineInput {
        EngineInput::Batch(vec![Event {
            ts,
            seq: None,
            source: "acd".into(),
            kind: EventKind::AgentLogin {
                agent: agent.into(),
                name: None,
                team: None,
                state: crate::event::AgentState::Ready,
                reason: None,
            },
        }])
    }

    /// An event that arrives just after a publish is published one snapshot
    /// interval later, not at the engine's next one-second tick.
    #[tokio::test(start_paused = true)]
    async fn an_isolated_event_is_published_within_one_interval() {
        let cfg = Config::default();
        let (signals, _keep) = mpsc::channel(16);
        let clock = Clock::starting_at(1_000_000);
        let link = AlertsLink {
            cfg: cfg.alerts.clone(),
            signals,
            restored: Vec::new(),
            baselines: Vec::new(),
            store: None,
        };
        let h = spawn(&cfg.floor, 16, Arc::new(Metrics::new()), clock, link);
        let mut snap = h.snapshot.clone();
        let interval = Duration::from_millis(cfg.floor.snapshot_interval_ms);
        assert!(interval < Duration::from_millis(500), "the test needs an interval well under the 1 s tick");

        // First event: published at once (nothing published for a while).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        h.tx.send(login("A1", 1_001_500)).await.expect("send");
        tokio::time::timeout(interval, async {
            while snap.borrow_and_update().agents.is_empty() {
                snap.changed().await.expect("engine running");
            }
        })
        .await
        .expect("the first event is published at once");

        // A second one right after that publish: within one interval, not a second.
        tokio::time::sleep(Duration::from_millis(5)).await;
        h.tx.send(login("A2", 1_001_505)).await.expect("send");
        let started = Instant::now();
        while snap.borrow_and_update().agents.len() < 2 {
            snap.changed().await.expect("engine running");
        }
        let waited = started.elapsed();
        assert!(waited <= interval, "published after {waited:?}, interval {interval:?}");
        drop(h.tx);
        h.task.await.expect("engine ends");
    }
}
