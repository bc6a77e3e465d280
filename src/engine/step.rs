//! One engine step: the floor and the rules, driven by inputs and `now`.
//!
//! [`Step`] is the whole of what the engine does to its state, with no IO, no
//! clock and no tasks: the live engine task, the benches and replay all drive
//! this one type, so a change to the order of apply → heard-from → rules →
//! hand-off is made once and measured where it runs. What a step produces — the
//! alert [`Signal`]s and the [`Counts`] for the counting task — piles up inside
//! until the caller takes it (after every input, as the engine task does:
//! nothing bounds it in here); where it goes (channels, a bench's counter, a
//! replay's report) is the caller's business.

use crate::event::{Event, Id, Ts};
use crate::floor::{Effect, Floor, FloorConfig, Snapshot};
use crate::metrics::counting::Counts;
use crate::rules::{AlertKey, AlertsConfig, Rules, Signal};

/// The sole owner of a [`Floor`] and its [`Rules`].
pub struct Step {
    floor: Floor,
    rules: Rules,
    /// The current input's effects. Emptied into `counts` after each input and
    /// kept for its room, so the hot path does not allocate.
    fx: Vec<Effect>,
    /// Signals produced since the caller last took them, in order.
    signals: Vec<Signal>,
    /// Counts of what was applied since the caller last took them.
    counts: Counts,
}

impl Step {
    /// A floor with the configured queues and teams, and rules that start from
    /// the alerts still open (`restored`) and the traffic profiles learned by an
    /// earlier run (`baselines`: queue, JSON, as [`Step::baselines`] gives them).
    pub fn new(
        floor_cfg: &FloorConfig,
        alerts_cfg: &AlertsConfig,
        restored: Vec<AlertKey>,
        baselines: Vec<(Id, String)>,
    ) -> Step {
        let mut fx = Vec::new();
        let floor = Floor::new(floor_cfg, &mut fx);
        // The configured queues' `QueueAdded`s are the counting task's first input.
        let mut counts = Counts::default();
        counts.take(&mut fx);
        Step {
            floor,
            rules: Rules::new(alerts_cfg, floor_cfg.timezone, restored, baselines),
            fx,
            signals: Vec::new(),
            counts,
        }
    }

    /// Applies one ingest batch, in order, at `now`: each event to the floor, then
    /// "heard from" once per run of same-source events, then the rules on the
    /// batch's effects (they react to one batch at a time). The events are dropped
    /// here, while still in this core's cache (see [`Counts`]).
    pub fn batch(&mut self, events: Vec<Event>, now: Ts) {
        let mut fx = std::mem::take(&mut self.fx);
        for ev in &events {
            self.floor.apply(ev, now, &mut fx);
            self.counts.applied(ev);
        }
        let mut start = 0;
        while start < events.len() {
            let source = &events[start].source;
            let run = events[start..].iter().take_while(|e| e.source == *source);
            let (n, latest) = run.fold((0u64, i64::MIN), |(n, t), e| (n + 1, t.max(e.ts)));
            self.floor.heard_from(source, n, latest, now);
            start += usize::try_from(n).unwrap_or(events.len());
        }
        self.rules.on_effects(&self.floor, &fx, now, &mut self.signals);
        // Counting gets what it needs of them; the effects themselves are dropped
        // here, and their `Vec` keeps its room for the next batch.
        self.counts.take(&mut fx);
        self.fx = fx;
        drop(events);
    }

    /// Lets time pass (the engine's one-second tick): the floor forgets calls past
    /// their retention, and the rules fire what is due by `now`.
    pub fn tick(&mut self, now: Ts) {
        let mut fx = std::mem::take(&mut self.fx);
        self.floor.tick(now, &mut fx);
        self.counts.take(&mut fx);
        self.fx = fx;
        self.rules.on_tick(&self.floor, now, &mut self.signals);
    }

    /// Fires the rules' timers due by `now` (an overrun threshold, the periodic
    /// sweep) between ticks, leaving the floor as it is; the engine wakes for this
    /// at [`Step::next_deadline`].
    pub fn on_deadline(&mut self, now: Ts) {
        self.rules.on_tick(&self.floor, now, &mut self.signals);
    }

    /// An ingest connection for `source` opened (`delta` +1) or closed (-1).
    pub fn source_connection(&mut self, source: &Id, delta: i32, named: bool, now: Ts) {
        self.floor.source_connection(source, delta, named, now);
    }

    /// Ingest saw `source`'s `seq` jump `gaps` times, `missing` numbers in all.
    pub fn seq_gaps(&mut self, source: &Id, gaps: u64, missing: u64, now: Ts) {
        self.rules.on_seq_gaps(source, gaps, missing, now, &mut self.signals);
    }

    /// The earliest time something may fire without any input.
    pub fn next_deadline(&self) -> Ts {
        self.rules.next_deadline()
    }

    /// The read model of the floor at `now`.
    pub fn snapshot(&mut self, now: Ts) -> Snapshot {
        self.floor.snapshot(now)
    }

    /// Learned traffic profiles to keep across restarts: (queue, JSON).
    pub fn baselines(&self) -> Vec<(Id, String)> {
        self.rules.baselines()
    }

    /// Events applied since start.
    pub fn events_applied(&self) -> u64 {
        self.floor.events_applied()
    }

    /// The alert signals produced since the last call, in order.
    pub fn take_signals(&mut self) -> Vec<Signal> {
        std::mem::take(&mut self.signals)
    }

    /// What counting needs of the inputs since the last call (empty if nothing
    /// was applied: see [`Counts::is_empty`]).
    pub fn take_counts(&mut self) -> Counts {
        std::mem::take(&mut self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AgentState, EVENT_TYPES, EventKind, FaultStatus};
    use crate::metrics::counting::EffectTally;
    use crate::rules::Kind;

    const T0: Ts = 1_795_420_800_000;

    fn step() -> Step {
        Step::new(&FloorConfig::default(), &AlertsConfig::default(), Vec::new(), Vec::new())
    }

    fn ev(source: &str, ts: Ts, kind: EventKind) -> Event {
        Event { ts, source: source.into(), seq: None, kind }
    }

    fn login(agent: &str) -> EventKind {
        EventKind::AgentLogin {
            agent: agent.into(),
            name: None,
            team: None,
            state: AgentState::Ready,
            reason: None,
        }
    }

    fn fired(signals: &[Signal]) -> Vec<(Kind, String)> {
        signals
            .iter()
            .filter_map(|s| match s {
                Signal::Fire(f) => Some((f.key.kind, f.key.subject.to_string())),
                _ => None,
            })
            .collect()
    }

    /// One batch reaches the floor, is heard from per run of one source (events
    /// counted, latest time kept), reaches the rules and is counted by type.
    #[test]
    fn a_batch_reaches_the_floor_heard_from_the_rules_and_the_counts() {
        let mut s = step();
        let start = s.take_counts();
        assert!(start.events.iter().all(|n| *n == 0), "nothing applied yet");
        let fault = EventKind::Fault { component: "pbx".into(), status: FaultStatus::Down, detail: None };
        let events = vec![
            ev("site-a", T0, login("A1")),
            ev("site-a", T0 + 2_000, login("A2")),
            ev("site-b", T0 + 1_000, fault),
            ev("site-a", T0 + 500, login("A3")),
        ];
        s.batch(events, T0 + 3_000);

        let snap = s.snapshot(T0 + 3_000);
        assert_eq!(snap.agents.len(), 3);
        assert_eq!(s.events_applied(), 4);
        let source = |id: &str| snap.sources.iter().find(|v| &*v.id == id).expect("source heard from");
        let a = source("site-a");
        assert_eq!((a.events, a.last_event_ts, a.last_heard), (3, Some(T0 + 2_000), T0 + 3_000));
        assert_eq!(source("site-b").events, 1);

        assert_eq!(fired(&s.take_signals()), [(Kind::SystemFault, "pbx".to_string())]);
        assert!(s.take_signals().is_empty(), "taken once");

        let counts = s.take_counts();
        let by_type = |t: &str| counts.events[EVENT_TYPES.iter().position(|x| *x == t).expect("type")];
        assert_eq!((by_type("agent_login"), by_type("fault")), (3, 1));
        let work = counts.tallies.iter().filter(|t| matches!(t, EffectTally::Work(_))).count();
        assert_eq!(work, 3, "one agent change per login");
        assert!(s.take_counts().is_empty(), "taken once");
    }

    /// An agent who stays in after-call work sends nothing more: the overrun
    /// fires at its deadline in the step's time, given by the caller, and not a
    /// millisecond before.
    #[test]
    fn a_tick_fires_an_overrun_at_its_deadline() {
        let c = AlertsConfig::default();
        let mut s = step();
        let acw = EventKind::AgentState {
            agent: "A1".into(),
            state: AgentState::Acw,
            reason: None,
            queue: None,
            call: None,
        };
        s.batch(vec![ev("acd", T0, login("A1")), ev("acd", T0 + 1_000, acw)], T0 + 1_000);
        assert!(fired(&s.take_signals()).is_empty());
        let due = T0 + 1_000 + i64::from(c.acw_overrun_secs) * 1000;
        assert!(s.next_deadline() <= due, "the engine wakes up in time");

        s.tick(due - 1);
        // The source, silent as long, is swept as down by now; the agent is not due.
        assert_eq!(fired(&s.take_signals()), [(Kind::SourceDown, "acd".to_string())]);
        s.tick(due);
        assert_eq!(fired(&s.take_signals()), [(Kind::AcwOverrun, "A1".to_string())]);
    }

    /// Between ticks the deadline wake-up fires the same timers.
    #[test]
    fn a_deadline_fires_the_rules_timers_between_ticks() {
        let c = AlertsConfig::default();
        let mut s = step();
        let acw = EventKind::AgentState {
            agent: "A1".into(),
            state: AgentState::Acw,
            reason: None,
            queue: None,
            call: None,
        };
        s.batch(vec![ev("acd", T0, login("A1")), ev("acd", T0, acw)], T0);
        let due = T0 + i64::from(c.acw_overrun_secs) * 1000;
        s.on_deadline(due - 1);
        // The source, silent as long, is swept as down by now; the agent is not due.
        assert_eq!(fired(&s.take_signals()), [(Kind::SourceDown, "acd".to_string())]);
        s.on_deadline(due);
        assert_eq!(fired(&s.take_signals()), [(Kind::AcwOverrun, "A1".to_string())]);
    }

    /// Connections and `seq` gaps reach the floor and the rules.
    #[test]
    fn connections_and_seq_gaps_reach_the_floor_and_the_rules() {
        let mut s = step();
        s.source_connection(&"acd".into(), 1, true, T0);
        let snap = s.snapshot(T0);
        let acd = snap.sources.iter().find(|v| &*v.id == "acd").expect("source");
        assert_eq!((acd.connections, acd.last_heard), (1, T0));
        // Three gaps in one frame: the event-loss signature.
        s.seq_gaps(&"acd".into(), 3, 3, T0);
        assert_eq!(fired(&s.take_signals()), [(Kind::SystemFault, "cti-link:acd".to_string())]);
    }
}
