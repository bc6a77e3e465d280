//! The floor's counters, kept by their own task downstream of the engine.
//!
//! The engine owns the floor and is the one serial stage of ingest: every
//! nanosecond it spends is a nanosecond of throughput. Turning its effects into
//! Prometheus counters and histograms (atomic updates, pairing agent changes into
//! talk and ACW stretches) needs nothing from the floor, so it runs here, on
//! another core, fed by a bounded, lossless channel: a slow counter slows the
//! engine rather than lose a count.
//!
//! `floorwatch_events_total` is incremented here too, after the effects of those
//! events are counted: a reader who sees N events processed sees every counter of
//! those N events, as when the engine counted them itself.

use prometheus::Histogram;
use tokio::sync::mpsc;

use super::work::{Work, WorkChange, WorkTimer};
use super::{Metrics, NO_QUEUE, QueueMetrics, WorkMetrics};
use crate::event::{EVENT_TYPES, Event, FastMap, Id};
use crate::floor::{Anomaly, Effect, QueueIdx, QueueParams, Refusal};

/// What the engine hands over after a round of input: how many events of each
/// type it applied, and what counting needs of their effects, in order.
///
/// Both are small on purpose. They are written on the engine's core and read on
/// this task's, so every byte crosses between the cores' caches: the events
/// themselves (~150 bytes each) stay with the engine, which drops each batch
/// right after applying it, while it is still in its core's cache; and an effect
/// (112 bytes, four ids for an agent change) crosses as an [`EffectTally`] of at most 48.
/// Shipping the events on to be dropped here cost the pipeline ~5% (measured).
#[derive(Debug, Default)]
pub struct Counts {
    /// Events applied, indexed by `EventKind::type_index`.
    pub events: [u64; EVENT_TYPES.len()],
    /// Events the floor refused at one of its limits, by `Refusal::index`.
    pub refused: [u64; Refusal::ALL.len()],
    pub tallies: Vec<EffectTally>,
}

impl Counts {
    pub fn is_empty(&self) -> bool {
        self.tallies.is_empty() && self.events.iter().all(|n| *n == 0) && self.refused.iter().all(|n| *n == 0)
    }

    /// Takes what counting needs of these effects, emptying `fx` (its room is
    /// kept for the next batch; the effects are dropped where they were made).
    pub fn take(&mut self, fx: &mut Vec<Effect>) {
        self.tallies.extend(fx.drain(..).filter_map(EffectTally::of));
    }

    /// Tallies an applied event.
    pub fn applied(&mut self, ev: &Event) {
        self.events[ev.kind.type_index()] += 1;
    }
}

/// What counting needs of one [`Effect`].
#[derive(Debug)]
pub enum EffectTally {
    /// Rare (a queue's first call), so boxed: it would double every tally's size.
    QueueAdded(Box<(QueueIdx, Id, QueueParams)>),
    Offered(QueueIdx),
    Answered(QueueIdx),
    Abandoned(QueueIdx),
    Wait {
        queue: QueueIdx,
        answered: bool,
        ms: i64,
    },
    Anomaly(Anomaly),
    Work(WorkChange),
}

impl EffectTally {
    /// The tally of an effect; `None` for effects nothing is counted of.
    pub fn of(e: Effect) -> Option<EffectTally> {
        Some(match e {
            Effect::QueueAdded { idx, id, params } => EffectTally::QueueAdded(Box::new((idx, id, params))),
            Effect::Offered { queue, .. } => EffectTally::Offered(queue),
            Effect::Answered(q) => EffectTally::Answered(q),
            Effect::Abandoned(q) => EffectTally::Abandoned(q),
            Effect::Wait { queue, answered, ms } => EffectTally::Wait { queue, answered, ms },
            Effect::Anomaly(a) => EffectTally::Anomaly(a),
            Effect::Agent(c) => EffectTally::Work(WorkChange::from(c)),
            Effect::Fault { .. } | Effect::CallerLost { .. } | Effect::CallDone(_) => return None,
        })
    }
}

/// Room for this many rounds of engine output before the engine waits. A round
/// is at most 64 inputs (the engine's `recv_many`), so this bounds what is in
/// flight to a few MB; the counter is several times faster than the engine, so
/// the engine meets a full channel only if this task is starved of CPU.
pub const CAPACITY: usize = 16;

/// Starts the counting task; it ends when the engine drops its sender.
pub fn spawn(metrics: std::sync::Arc<Metrics>) -> (mpsc::Sender<Counts>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Counts>(CAPACITY);
    let task = tokio::spawn(async move {
        let mut counter = Counter::new(metrics);
        while let Some(counts) = rx.recv().await {
            counter.count(counts);
        }
    });
    (tx, task)
}

/// The counting state: per-queue handles (indexed like the floor's queues) and
/// the open talk and ACW stretches.
pub struct Counter {
    metrics: std::sync::Arc<Metrics>,
    queues: Vec<(QueueMetrics, QueueParams)>,
    /// Queue id → index, to file an agent's stretch under its (free-text) queue.
    queue_index: FastMap<Id, usize>,
    work: WorkTimer,
    /// Histograms for stretches of agents with no known queue, made on first use.
    no_queue_work: Option<WorkMetrics>,
    /// Refusals at the floor's limits since the last warning about them, and
    /// when that was: a flood is logged once a minute, not once an event.
    refused_unlogged: [u64; Refusal::ALL.len()],
    refused_logged_at: Option<tokio::time::Instant>,
}

/// At most one warning a minute about events refused at the floor's limits.
const REFUSED_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Counter {
    pub fn new(metrics: std::sync::Arc<Metrics>) -> Counter {
        Counter {
            metrics,
            queues: Vec::new(),
            queue_index: FastMap::default(),
            work: WorkTimer::default(),
            no_queue_work: None,
            refused_unlogged: [0; Refusal::ALL.len()],
            refused_logged_at: None,
        }
    }

    /// Counts one round: effects first, then the events they came from.
    pub fn count(&mut self, counts: Counts) {
        for t in counts.tallies {
            match t {
                EffectTally::QueueAdded(added) => {
                    let (idx, id, params) = *added;
                    debug_assert_eq!(idx, self.queues.len());
                    self.queues.push((self.metrics.queue(&id), params));
                    self.queue_index.insert(id, idx);
                }
                EffectTally::Offered(i) => self.queues[i].0.offered.inc(),
                EffectTally::Answered(i) => self.queues[i].0.answered.inc(),
                EffectTally::Abandoned(i) => {
                    let (m, p) = &self.queues[i];
                    m.abandoned(p);
                }
                EffectTally::Wait { queue, answered, ms } => {
                    let (m, p) = &self.queues[queue];
                    m.wait(p, answered, ms);
                }
                EffectTally::Anomaly(a) => self.metrics.anomalies[a.index()].inc(),
                EffectTally::Work(c) => self.observe_work(&c),
            }
        }
        for (i, n) in counts.events.into_iter().enumerate() {
            if n > 0 {
                self.metrics.events[i].inc_by(n);
            }
        }
        if counts.refused.iter().any(|n| *n > 0) {
            self.count_refused(&counts.refused);
        }
    }

    fn count_refused(&mut self, refused: &[u64; Refusal::ALL.len()]) {
        for (i, n) in refused.iter().enumerate() {
            self.metrics.refused[i].inc_by(*n);
            self.refused_unlogged[i] += n;
        }
        let now = tokio::time::Instant::now();
        if self.refused_logged_at.is_some_and(|at| now.duration_since(at) < REFUSED_LOG_EVERY) {
            return;
        }
        self.refused_logged_at = Some(now);
        let n = std::mem::take(&mut self.refused_unlogged);
        tracing::warn!(
            agent_limit = n[Refusal::AgentLimit.index()],
            call_limit = n[Refusal::CallLimit.index()],
            source_limit = n[Refusal::SourceLimit.index()],
            team_limit = n[Refusal::TeamLimit.index()],
            component_limit = n[Refusal::ComponentLimit.index()],
            "events refused at the floor's limits (see docs/limits.md); logged at most once a minute"
        );
    }

    /// Observes the talk or ACW stretch an agent change ends, under the agent's
    /// queue when the floor knows it (bounded labels), else [`NO_QUEUE`].
    fn observe_work(&mut self, c: &WorkChange) {
        let Some(done) = self.work.on_change(c) else { return };
        let known = done.queue.as_ref().and_then(|q| self.queue_index.get(q).copied());
        let m = match known {
            Some(i) => &self.queues[i].0.work,
            None => self.no_queue_work.get_or_insert_with(|| self.metrics.work(NO_QUEUE)),
        };
        let h: &Histogram = match done.work {
            Work::Talk => &m.talk,
            Work::Acw => &m.acw,
        };
        h.observe(done.ms as f64 / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AgentState, EventKind};
    use crate::floor::{Floor, FloorConfig};

    /// A round of a real floor's output counts its events by type, its queue
    /// effects under the queue's label, and the talk stretch its agent ended.
    #[test]
    fn a_round_counts_events_effects_and_work() {
        let metrics = std::sync::Arc::new(Metrics::new());
        let mut counter = Counter::new(metrics.clone());
        let mut fx = Vec::new();
        let mut floor = Floor::new(&FloorConfig::default(), &mut fx);
        let mut start = Counts::default();
        start.take(&mut fx);
        counter.count(start);

        let t0 = 1_700_000_000_000;
        let ev = |s: i64, kind| Event { ts: t0 + s * 1000, source: "acd".into(), seq: None, kind };
        let state = |s, st| {
            ev(
                s,
                EventKind::AgentState {
                    agent: "A1".into(),
                    state: st,
                    reason: None,
                    queue: Some("billing".into()),
                    call: None,
                },
            )
        };
        let events = vec![
            ev(
                0,
                EventKind::AgentLogin {
                    agent: "A1".into(),
                    name: None,
                    team: None,
                    state: AgentState::Ready,
                    reason: None,
                },
            ),
            ev(1, EventKind::CallOffered { call: "c1".into(), queue: "billing".into(), caller: None }),
            ev(3, EventKind::CallAnswered { call: "c1".into(), agent: "A1".into(), queue: None }),
            state(3, AgentState::Talking),
            state(63, AgentState::Acw),
        ];
        let mut round = Counts::default();
        for e in &events {
            floor.apply(e, e.ts, &mut fx);
            round.applied(e);
        }
        round.take(&mut fx);
        counter.count(round);

        let by_type = |t: &str| metrics.events[EVENT_TYPES.iter().position(|x| *x == t).expect("type")].get();
        assert_eq!(
            ["agent_login", "call_offered", "call_answered", "agent_state"].map(by_type),
            [1, 1, 1, 2]
        );
        let billing = metrics.queue("billing");
        assert_eq!((billing.offered.get(), billing.answered.get()), (1, 1));
        assert_eq!(billing.wait_answered.get_sample_count(), 1);
        assert_eq!(billing.wait_answered.get_sample_sum(), 2.0);
        // Talking from the answer (3 s) to ACW (63 s), filed under the agent's queue.
        assert_eq!(billing.work.talk.get_sample_count(), 1);
        assert_eq!(billing.work.talk.get_sample_sum(), 60.0);
    }

    /// The floor's refusals land in ingest's rejection family under their own
    /// labels, whose series ingest creates at start: every `Refusal` label is
    /// one of ingest's reasons, so none appears only after the first refusal.
    #[test]
    fn refusals_count_in_ingests_rejection_family() {
        let ingest = crate::ingest::IngestMetrics::new();
        let mut m = Metrics::new();
        m.count_refusals_in(ingest.rejected_family());
        let mut counter = Counter::new(std::sync::Arc::new(m));
        let mut round = Counts::default();
        round.refused[Refusal::AgentLimit.index()] = 7;
        round.refused[Refusal::SourceLimit.index()] = 2;
        assert!(!round.is_empty());
        counter.count(round);
        let reasons: Vec<&str> = crate::ingest::RejectReason::ALL.iter().map(|r| r.as_label()).collect();
        for r in Refusal::ALL {
            assert!(reasons.contains(&r.as_label()), "{} is not an ingest reason", r.as_label());
        }
        let got = |l: &str| ingest.rejected_family().with_label_values(&[l]).get();
        assert_eq!((got("agent_limit"), got("source_limit"), got("call_limit")), (7, 2, 0));
    }

    /// The point of a tally is to be small next to the effect it stands for
    /// (every one crosses cores): an agent change's tally, the largest, carries
    /// only the agent's slot, state, time and queue.
    #[test]
    fn a_tally_is_less_than_half_an_effect() {
        assert!(std::mem::size_of::<EffectTally>() <= 48, "{} bytes", std::mem::size_of::<EffectTally>());
        assert!(2 * std::mem::size_of::<EffectTally>() < std::mem::size_of::<Effect>());
    }
}
