//! The floor engine: the one task that owns the floor, around one [`Step`].
//!
//! Why two parts: what the engine does to its state is [`step`] — synchronous,
//! IO-free, driven by inputs and `now` — so the live task, the benches and replay
//! run the same code. This module is the live part around it: the channels, the
//! clock, the timers and the shutdown drain. `floor` and `rules` stay pure
//! because everything that waits lives here.
//!
//! Inputs arrive on one bounded channel ([`EngineInput`]); the engine applies them
//! in order, sends the rules' signals to the alert task and hands the effects (and
//! how many events of each type were applied) to the counting task
//! ([`crate::metrics::counting`], bounded and lossless: counters are work this
//! serial stage need not do), and publishes an `Arc<Snapshot>` on a `watch`
//! channel at the next point of a `snapshot_interval_ms` grid after a change (and
//! after every one-second tick, since waits and times in state grow even when
//! nothing happens). It stops when every sender is gone — which is how shutdown
//! drains it: ingest sessions close, their senders drop, the engine applies what
//! is left and publishes a last snapshot.
//!
//! Durable state (the rules' learned traffic baselines) goes out on a `watch`
//! every five minutes of the engine's clock and once more at the end; a saver
//! task owned by the store writes it ([`crate::store::StoreHandle::keep_baselines`]).
//! The engine never waits for a COMMIT: it is the one serial stage of ingest, and
//! only the latest baselines matter.
//!
//! The live floor's checkpoint ([`checkpoint::Checkpoint`]: floor, rules' state
//! and applied `seq` marks) goes out the same way every `floor.checkpoint_secs`
//! of real time and once more at the end; the engine only copies the state
//! (plain clones between two inputs), and the store's saver
//! ([`crate::store::StoreHandle::keep_checkpoint`]) encodes, seals and commits
//! it off this task.
//!
//! Closed agent states ([`StateSpan`]) go to the agent state log the way
//! finished calls go to the call log: a batch per round on a bounded, lossless
//! channel ([`EngineHandle::states`]); a slow store slows the engine, it never
//! loses a span, and the engine never waits for the COMMIT.
//!
//! Channel policy: the input channel is bounded and lossless; when it is full,
//! ingest sessions wait (backpressure to the socket that sends too fast). The
//! snapshot, baseline and checkpoint channels keep only the latest value: readers never slow
//! the engine.

pub mod checkpoint;
pub mod step;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::clock::Clock;
use crate::event::{Event, Id, Ts};
use crate::floor::{FinishedCall, FloorConfig, Snapshot};
use crate::metrics::Metrics;
use crate::metrics::counting::{self, Counts};
use crate::rules::{AlertKey, AlertsConfig, Signal};
pub use checkpoint::Checkpoint;
pub use step::{StateSpan, Step};

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
    /// A NATS consumer's message up to stream sequence `seq` has been handed
    /// over (its events are the inputs before this one): the position the
    /// checkpoint keeps for `consumer`.
    StreamMark { consumer: Id, seq: u64 },
}

pub struct EngineHandle {
    pub tx: mpsc::Sender<EngineInput>,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    /// The latest learned traffic baselines, (queue, JSON), for the store to keep:
    /// a new value every five minutes and a last one as the engine ends (then the
    /// sender is gone).
    pub baselines: watch::Receiver<Vec<(Id, String)>>,
    /// The latest checkpoint of the live floor, for the store to keep: a new
    /// value every `floor.checkpoint_secs` and a last one as the engine ends;
    /// never a value when checkpoints are off.
    pub checkpoint: watch::Receiver<Option<Arc<Checkpoint>>>,
    /// Finished calls for the call log ([`crate::store::StoreHandle::keep_calls`]),
    /// a batch per engine round: bounded and lossless (a slow store slows the
    /// engine rather than lose a call); dropping the receiver turns it off.
    pub calls: mpsc::Receiver<Vec<FinishedCall>>,
    /// Closed agent states for the state log
    /// ([`crate::store::StoreHandle::keep_states`]), a batch per engine round:
    /// bounded and lossless like `calls`; dropping the receiver turns it off.
    pub states: mpsc::Receiver<Vec<StateSpan>>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Rounds of finished calls that can wait for the call log's writer.
const CALL_LOG_CAPACITY: usize = 256;

/// Rounds of closed agent states that can wait for the state log's writer.
const STATE_LOG_CAPACITY: usize = 256;

/// Where the engine sends alert signals, and what the rules start from.
pub struct AlertsLink {
    pub cfg: AlertsConfig,
    /// Bounded and lossless: a slow alert pipeline slows the engine (and so
    /// ingest) rather than lose an alert.
    pub signals: mpsc::Sender<Vec<Signal>>,
    /// Alerts open in the store at start, for the rules to confirm or clear.
    pub restored: Vec<AlertKey>,
    /// Learned traffic baselines saved by an earlier run: (queue, JSON).
    pub baselines: Vec<(Id, String)>,
}

/// How often learned traffic baselines are handed to the store, in the engine's
/// clock (a sped-up demo saves as often per simulated hour as a real floor).
const BASELINE_SAVE_EVERY_MS: Ts = 300_000;

/// A checkpoint copy that holds the engine this long is logged: the copy runs
/// between inputs, so ingest waits while it lasts.
const CHECKPOINT_BUILD_SLOW: Duration = Duration::from_millis(50);

/// Starts the engine task.
///
/// `restore`: a checkpoint an earlier run left, applied before the first input
/// (see [`Step::restore`]).
pub fn spawn(
    cfg: &FloorConfig,
    capacity: usize,
    metrics: Arc<Metrics>,
    clock: Clock,
    alerts: AlertsLink,
    restore: Option<Checkpoint>,
) -> EngineHandle {
    let (tx, rx) = mpsc::channel(capacity);
    let mut step =
        Step::restore(cfg, &alerts.cfg, alerts.restored, alerts.baselines, restore, clock.now_ms());
    let (checkpoint_tx, checkpoint) = watch::channel(None);
    let checkpoint_every = (cfg.checkpoint_secs > 0).then(|| Duration::from_secs(cfg.checkpoint_secs));
    let (snap_tx, snapshot) = watch::channel(Arc::new(step.snapshot(clock.now_ms())));
    // The receiver starts with this value seen: nothing is saved before the first
    // five minutes have passed.
    let (baselines_tx, baselines) = watch::channel(Vec::new());
    let (counts, counting) = counting::spawn(metrics.clone());
    let (calls_tx, calls) = mpsc::channel(CALL_LOG_CAPACITY);
    let (states_tx, states) = mpsc::channel(STATE_LOG_CAPACITY);
    let engine = Engine {
        calls: Some(calls_tx),
        states: Some(states_tx),
        step,
        metrics,
        counts,
        counting,
        clock,
        snap_tx,
        interval: Duration::from_millis(cfg.snapshot_interval_ms),
        signals: alerts.signals,
        baselines: baselines_tx,
        next_baseline_save: clock.now_ms().saturating_add(BASELINE_SAVE_EVERY_MS),
        checkpoint: checkpoint_tx,
        checkpoint_every,
        next_checkpoint: Instant::now() + checkpoint_every.unwrap_or_default(),
    };
    let task = tokio::spawn(engine.run(rx));
    EngineHandle { tx, snapshot, baselines, checkpoint, calls, states, task }
}

struct Engine {
    step: Step,
    metrics: Arc<Metrics>,
    /// To the counting task (bounded, lossless): the events applied, by type, and
    /// tallies of their effects, which it turns into counters off this task's core.
    counts: mpsc::Sender<Counts>,
    counting: tokio::task::JoinHandle<()>,
    /// To the call log (bounded, lossless); `None` once its receiver is gone.
    calls: Option<mpsc::Sender<Vec<FinishedCall>>>,
    /// To the agent state log (bounded, lossless); `None` once its receiver is gone.
    states: Option<mpsc::Sender<Vec<StateSpan>>>,
    clock: Clock,
    snap_tx: watch::Sender<Arc<Snapshot>>,
    interval: Duration,
    signals: mpsc::Sender<Vec<Signal>>,
    baselines: watch::Sender<Vec<(Id, String)>>,
    /// Engine time at which the baselines are next handed to the store.
    next_baseline_save: Ts,
    checkpoint: watch::Sender<Option<Arc<Checkpoint>>>,
    /// `None`: checkpoints are off (`floor.checkpoint_secs = 0`).
    checkpoint_every: Option<Duration>,
    /// Real (monotonic) time of the next checkpoint: the interval bounds what a
    /// crash loses, which is real time even when the demo's clock runs faster.
    next_checkpoint: Instant,
}

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
                    self.step.tick(now);
                    if now >= self.next_baseline_save {
                        self.next_baseline_save = now.saturating_add(BASELINE_SAVE_EVERY_MS);
                        self.hand_over_baselines();
                    }
                    // Half a tick early counts as due: the tick, not the grid, decides.
                    if let Some(every) = self.checkpoint_every
                        && Instant::now() + Duration::from_millis(500) >= self.next_checkpoint
                    {
                        // On a grid, not `every` after this tick: the 1 s tick
                        // lands a hair early or late, and "now + every" would
                        // skip a tick and double the interval.
                        self.next_checkpoint += every;
                        if self.next_checkpoint <= Instant::now() {
                            self.next_checkpoint = Instant::now() + every / 2;
                        }
                        self.hand_over_checkpoint(now);
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
                _ = tokio::time::sleep_until(self.clock.instant_at(self.step.next_deadline())) => {
                    self.step.on_deadline(self.clock.now_ms());
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
            let signals = self.step.take_signals();
            if !signals.is_empty() && self.signals.send(signals).await.is_err() {
                tracing::warn!("alert pipeline is gone; alert signals dropped");
            }
            self.send_calls().await;
            self.send_states().await;
            if !self.send_counts().await {
                // Counters that stop counting would lie on every dashboard: end,
                // and the daemon's supervisor shuts down with an error.
                tracing::error!("counting task is gone; the floor engine stops");
                return;
            }
            if changed && publish_at.is_none() {
                publish_at = Some(self.clock.grid_at_or_after(Instant::now(), self.interval));
            }
        }
        self.publish(self.clock.now_ms());
        let _ = self.send_counts().await;
        self.send_calls().await;
        self.send_states().await;
        self.hand_over_baselines();
        if self.checkpoint_every.is_some() {
            // What was applied up to the end: a graceful restart loses nothing.
            self.hand_over_checkpoint(self.clock.now_ms());
        }
        // Drained means counted too: the counting task ends with our sender.
        let events = self.step.events_applied();
        let Engine { counts, counting, .. } = self;
        drop(counts);
        let _ = counting.await;
        tracing::info!(events, "floor engine drained");
    }

    /// Hands this round's counts to the counting task (waiting for room); `false`
    /// when that task is gone.
    async fn send_counts(&mut self) -> bool {
        let round = self.step.take_counts();
        if round.is_empty() {
            return true;
        }
        if self.counts.send(round).await.is_err() {
            tracing::warn!("counting task is gone; counts dropped");
            return false;
        }
        true
    }

    /// Hands this round's finished calls to the call log (waiting for room).
    async fn send_calls(&mut self) {
        let calls = self.step.take_finished();
        if calls.is_empty() {
            return;
        }
        if let Some(tx) = &self.calls
            && tx.send(calls).await.is_err()
        {
            // No call log (a test, a daemon without a store): not an error.
            tracing::debug!("call log is gone; finished calls no longer kept");
            self.calls = None;
        }
    }

    /// Hands this round's closed agent states to the state log (waiting for room).
    async fn send_states(&mut self) {
        let spans = self.step.take_spans();
        if spans.is_empty() {
            return;
        }
        if let Some(tx) = &self.states
            && tx.send(spans).await.is_err()
        {
            // No state log (a test, a daemon without a store): not an error.
            tracing::debug!("agent state log is gone; closed states no longer kept");
            self.states = None;
        }
    }

    /// Publishes the learned traffic baselines for the store's saver; never waits
    /// (a value the saver has not taken yet is replaced: only the latest matters).
    fn hand_over_baselines(&self) {
        let baselines = self.step.baselines();
        if baselines.is_empty() {
            return;
        }
        // No receiver (no store, as in tests) is fine: nothing is kept then.
        self.baselines.send_replace(baselines);
    }

    /// Copies the state into a checkpoint for the store's saver; never waits
    /// (a checkpoint not yet taken by the saver is replaced by this newer one).
    fn hand_over_checkpoint(&self, now: Ts) {
        let started = Instant::now();
        let cp = self.step.checkpoint(now);
        let built = started.elapsed();
        self.metrics.checkpoint_build_seconds.observe(built.as_secs_f64());
        let agents = cp.floor.agents.len();
        if built >= CHECKPOINT_BUILD_SLOW {
            tracing::warn!(agents, build_ms = built.as_millis() as u64, "checkpoint build slow");
        } else {
            tracing::debug!(agents, build_us = built.as_micros() as u64, "checkpoint built");
        }
        // No receiver (no store, as in tests) is fine: nothing is kept then.
        self.checkpoint.send_replace(Some(Arc::new(cp)));
    }

    fn handle(&mut self, input: EngineInput) {
        let now = self.clock.now_ms();
        match input {
            EngineInput::Batch(events) => {
                let started = Instant::now();
                // A local histogram: one atomic update per bucket per batch. Here,
                // not in the step: a metric is the task's concern, and the batch
                // is still in this core's cache.
                let lag = self.metrics.ingest_lag.local();
                for ev in &events {
                    lag.observe(((now - ev.ts).max(0)) as f64 / 1000.0);
                }
                lag.flush();
                self.step.batch(events, now);
                self.metrics.engine_batch_seconds.observe(started.elapsed().as_secs_f64());
            }
            EngineInput::Connection { source, delta, named } => {
                self.step.source_connection(&source, delta, named, now)
            }
            EngineInput::SeqGaps { source, gaps, missing } => self.step.seq_gaps(&source, gaps, missing, now),
            EngineInput::StreamMark { consumer, seq } => self.step.stream_mark(consumer, seq),
        }
    }

    fn publish(&mut self, now: i64) {
        let snap = Arc::new(self.step.snapshot(now));
        // No receivers (all readers gone) is fine: the value is still stored.
        self.snap_tx.send_replace(snap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn offered(call: &str, ts: Ts) -> EngineInput {
        EngineInput::Batch(vec![Event {
            ts,
            seq: None,
            source: "acd".into(),
            kind: EventKind::CallOffered { call: call.into(), queue: "billing".into(), caller: None },
        }])
    }

    fn link(cfg: &AlertsConfig) -> (AlertsLink, mpsc::Receiver<Vec<Signal>>) {
        let (signals, keep) = mpsc::channel(16);
        let link = AlertsLink { cfg: cfg.clone(), signals, restored: Vec::new(), baselines: Vec::new() };
        (link, keep)
    }

    /// An event that arrives just after a publish is published one snapshot
    /// interval later, not at the engine's next one-second tick.
    #[tokio::test(start_paused = true)]
    async fn an_isolated_event_is_published_within_one_interval() {
        let cfg = FloorConfig::default();
        let (link, _keep) = link(&AlertsConfig::default());
        let clock = Clock::starting_at(1_000_000);
        let h = spawn(&cfg, 16, Arc::new(Metrics::new()), clock, link, None);
        let mut snap = h.snapshot.clone();
        let interval = Duration::from_millis(cfg.snapshot_interval_ms);
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

    /// Baselines go out every five minutes of the engine's clock — a clock four
    /// times faster hands them over after 75 real seconds — and once more at the
    /// end, after which the channel closes: what the store's saver waits for.
    #[tokio::test(start_paused = true)]
    async fn baselines_are_handed_over_on_the_clock_and_at_the_end() {
        let cfg = FloorConfig::default();
        let (link, _keep) = link(&AlertsConfig::default());
        let t0 = 1_795_420_800_000;
        let clock = Clock::starting_at(t0).with_speed(4.0);
        let mut h = spawn(&cfg, 16, Arc::new(Metrics::new()), clock, link, None);
        h.tx.send(offered("c1", t0)).await.expect("send");

        tokio::time::sleep(Duration::from_secs(70)).await;
        assert!(!h.baselines.has_changed().expect("engine running"), "not before five minutes");
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(h.baselines.has_changed().expect("engine running"), "handed over at five minutes");
        let queues: Vec<Id> = h.baselines.borrow_and_update().iter().map(|(q, _)| q.clone()).collect();
        assert_eq!(queues, [Id::from("billing")]);

        drop(h.tx);
        h.task.await.expect("engine ends");
        h.baselines.changed().await.expect("a last value before the end");
        assert_eq!(h.baselines.borrow_and_update().len(), 1);
        assert!(h.baselines.changed().await.is_err(), "then the channel closes");
    }

    /// Closed agent states leave on their own channel, batch by batch, and
    /// what is closed by the last input is handed over before the engine ends.
    #[tokio::test(start_paused = true)]
    async fn closed_states_reach_the_state_log_channel_up_to_the_end() {
        let cfg = FloorConfig::default();
        let (link, _keep) = link(&AlertsConfig::default());
        let t0 = 1_795_420_800_000;
        let mut h = spawn(&cfg, 16, Arc::new(Metrics::new()), Clock::starting_at(t0), link, None);
        let logout = |agent: &str, ts: Ts| {
            EngineInput::Batch(vec![Event {
                ts,
                seq: None,
                source: "acd".into(),
                kind: EventKind::AgentLogout { agent: agent.into(), reason: None },
            }])
        };
        h.tx.send(login("A1", t0)).await.expect("send");
        h.tx.send(logout("A1", t0 + 5_000)).await.expect("send");
        h.tx.send(login("A2", t0 + 6_000)).await.expect("send");
        h.tx.send(logout("A2", t0 + 9_000)).await.expect("send");
        drop(h.tx);
        let mut spans = Vec::new();
        while let Some(batch) = h.states.recv().await {
            spans.extend(batch.into_iter().map(|s| (s.agent.to_string(), s.state, s.from, s.to)));
        }
        h.task.await.expect("engine ends");
        let ready = crate::event::AgentState::Ready;
        assert_eq!(
            spans,
            [("A1".to_string(), ready, t0, t0 + 5_000), ("A2".to_string(), ready, t0 + 6_000, t0 + 9_000)]
        );
    }
}
