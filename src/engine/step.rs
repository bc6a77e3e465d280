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
//!
//! The agent state log is made here too, from the floor's agent changes: the
//! step keeps each agent's state in progress (one entry per agent slot, so
//! bounded by the floor's `max_agents`) and, when the agent changes state or
//! logs out, closes it into a [`StateSpan`] (`take_spans`). The floor's
//! `since` only moves forward (an older event is refused), so spans of one
//! agent never overlap. A restored step seeds the states in progress from the
//! restored floor, so a state that began before a restart closes after it.

use super::checkpoint::Checkpoint;
use crate::event::{AgentState, Event, FastMap, Id, Ts};
use crate::floor::{AgentChange, Applied, Effect, FinishedCall, Floor, FloorConfig, Snapshot, slot_entry};
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
    /// Calls counted in full since the caller last took them, for the call log.
    finished: Vec<FinishedCall>,
    /// Each agent's state in progress, by slot (`None`: logged out or not seen).
    open: Vec<Option<Open>>,
    /// Agent states closed since the caller last took them, for the state log.
    spans: Vec<StateSpan>,
    /// The highest `seq` applied per source, for the checkpoint: the marks a
    /// restarted ingest starts from agree with the floor it restores.
    seqs: FastMap<Id, u64>,
    /// The stream sequence of the last applied message per NATS consumer, for
    /// the checkpoint (see [`super::checkpoint::Checkpoint::streams`]).
    streams: FastMap<Id, u64>,
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
        Step::restore(floor_cfg, alerts_cfg, restored, baselines, None, Ts::MIN)
    }

    /// Like [`Step::new`], from a checkpoint taken by an earlier run (if any),
    /// at `now`: the floor as it was, the rules' watches rebuilt from it (overrun
    /// deadlines on their original event times), and every source not already
    /// reported down given a full timeout from `now` to reconnect.
    pub fn restore(
        floor_cfg: &FloorConfig,
        alerts_cfg: &AlertsConfig,
        restored: Vec<AlertKey>,
        baselines: Vec<(Id, String)>,
        checkpoint: Option<Checkpoint>,
        now: Ts,
    ) -> Step {
        let mut fx = Vec::new();
        let mut rules = Rules::new(alerts_cfg, floor_cfg.timezone, restored, baselines);
        let mut seqs = FastMap::default();
        let mut streams = FastMap::default();
        let mut floor = match checkpoint {
            None => Floor::new(floor_cfg, &mut fx),
            Some(cp) => {
                let (mut floor, dropped) = Floor::restore(floor_cfg, cp.floor, &mut fx);
                if dropped > 0 {
                    tracing::warn!(dropped, "checkpoint parts that no longer fit the config left out");
                }
                rules.restore(&floor, cp.rules);
                floor.hear_all_since(now, |s| rules.source_is_down(s));
                seqs.extend(cp.seqs);
                streams.extend(cp.streams);
                floor
            }
        };
        // A source without a connection is live until it would be reported down.
        let silence_ms = i64::from(alerts_cfg.source_timeout_secs).saturating_mul(1000);
        floor.set_event_time(silence_ms, false);
        // The queues' `QueueAdded`s are the counting task's first input.
        let mut counts = Counts::default();
        counts.take(&mut fx);
        let mut open = Vec::new();
        for a in floor.logged_in_agents() {
            *slot_entry(&mut open, a.slot) = Open::of(&a);
        }
        Step {
            floor,
            rules,
            fx,
            signals: Vec::new(),
            counts,
            finished: Vec::new(),
            open,
            spans: Vec::new(),
            seqs,
            streams,
        }
    }

    /// Runs on the stream's own clock (replay): `now` is the events' time, so
    /// every source's watermark is `now` and timers fire in stream time.
    pub fn on_stream_clock(&mut self) {
        let silence_ms = i64::MAX;
        self.floor.set_event_time(silence_ms, true);
    }

    /// The rules sweep on every point of their grid, quiet or not: the
    /// reference replay's tests hold the skipping to (see [`Rules::sweep_always`]).
    pub fn sweep_always(&mut self) {
        self.rules.sweep_always();
    }

    /// Agent presence is inferred, not reported (see [`Rules::presence_inferred`]).
    pub fn presence_inferred(&mut self) {
        self.rules.presence_inferred();
    }

    /// A copy of the state to keep across a restart, taken at `now`: plain
    /// clones, no encoding (see [`super::checkpoint`]).
    pub fn checkpoint(&self, now: Ts) -> Checkpoint {
        Checkpoint {
            taken_at: now,
            floor: self.floor.checkpoint(),
            rules: self.rules.checkpoint(),
            seqs: self.seqs.iter().map(|(s, n)| (s.clone(), *n)).collect(),
            streams: self.streams.iter().map(|(s, n)| (s.clone(), *n)).collect(),
        }
    }

    /// Records that `consumer`'s messages up to stream sequence `seq` are
    /// applied (never moves back: a redelivered message is below it).
    pub fn stream_mark(&mut self, consumer: Id, seq: u64) {
        let mark = self.streams.entry(consumer).or_insert(seq);
        *mark = (*mark).max(seq);
    }

    /// The highest `seq` applied per source (what ingest's marks restart from).
    pub fn seq_marks(&self) -> impl Iterator<Item = (&Id, u64)> {
        self.seqs.iter().map(|(s, n)| (s, *n))
    }

    /// Applies one ingest batch, in order, at `now`: each event to the floor, then
    /// "heard from" once per run of same-source events, then the rules on the
    /// batch's effects (they react to one batch at a time). The events are dropped
    /// here, while still in this core's cache (see [`Counts`]).
    pub fn batch(&mut self, events: Vec<Event>, now: Ts) {
        let mut fx = std::mem::take(&mut self.fx);
        // Sources first, once per run, so an event of a source beyond the limit
        // is refused even when its source is new in this very batch.
        let mut last: Option<&Id> = None;
        for ev in &events {
            if last != Some(&ev.source) {
                self.floor.note_source(&ev.source, now);
                last = Some(&ev.source);
            }
        }
        for ev in &events {
            // A refused event is counted as a rejection, not as processed: the
            // two add up to what ingest handed over, exactly.
            match self.floor.apply(ev, now, &mut fx) {
                Applied::Yes => self.counts.applied(ev),
                Applied::Refused(r) => self.counts.refused[r.index()] += 1,
            }
        }
        let mut start = 0;
        while start < events.len() {
            let source = &events[start].source;
            let run = events[start..].iter().take_while(|e| e.source == *source);
            let (n, latest, seq) =
                run.fold((0u64, i64::MIN, None), |(n, t, q), e| (n + 1, t.max(e.ts), q.max(e.seq)));
            let known = self.floor.heard_from(source, n, latest, now);
            // A source beyond the floor's limit leaves no mark to checkpoint either.
            if known && let Some(seq) = seq {
                let mark = self.seqs.entry_ref(source).or_insert(seq);
                *mark = (*mark).max(seq);
            }
            start += usize::try_from(n).unwrap_or(events.len());
        }
        self.rules.on_effects(&self.floor, &fx, now, &mut self.signals);
        take_finished(&mut fx, &mut self.finished);
        close_spans(&fx, &mut self.open, &mut self.spans);
        // Counting gets what it needs of them; the effects themselves are dropped
        // here, and their `Vec` keeps its room for the next batch.
        self.counts.take(&mut fx);
        self.fx = fx;
        drop(events);
    }

    /// Lets time pass (the engine's one-second tick): the floor forgets calls past
    /// their retention when its purge is due, and the rules fire what is due by `now`.
    pub fn tick(&mut self, now: Ts) {
        let mut fx = std::mem::take(&mut self.fx);
        self.floor.tick(now, &mut fx);
        if !fx.is_empty() {
            // A call that expired while waiting shortens a queue's longest wait.
            self.rules.wake(now);
        }
        self.counts.take(&mut fx);
        self.fx = fx;
        self.rules.on_tick(&self.floor, now, &mut self.signals);
    }

    /// The engine's wake-up at [`Step::next_deadline`] (an overrun threshold, a
    /// sweep that may change something, the floor's purge): the same as a tick,
    /// which does only what is due.
    pub fn on_deadline(&mut self, now: Ts) {
        self.tick(now);
    }

    /// An ingest connection for `source` opened (`delta` +1) or closed (-1).
    pub fn source_connection(&mut self, source: &Id, delta: i32, named: bool, now: Ts) {
        self.floor.source_connection(source, delta, named, now);
        self.rules.wake(now);
    }

    /// Ingest saw `source`'s `seq` jump `gaps` times, `missing` numbers in all.
    pub fn seq_gaps(&mut self, source: &Id, gaps: u64, missing: u64, now: Ts) {
        self.rules.on_seq_gaps(source, gaps, missing, now, &mut self.signals);
    }

    /// The earliest time something may happen without any input: the rules'
    /// next deadline (see [`Rules::next_deadline`]) or the floor's purge.
    pub fn next_deadline(&self) -> Ts {
        self.rules.next_deadline().min(self.floor.next_tick_due())
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

    /// Agents, calls in progress and sources the floor holds (what its limits bound).
    pub fn held(&self) -> (usize, usize, usize) {
        self.floor.held()
    }

    /// The alert signals produced since the last call, in order.
    pub fn take_signals(&mut self) -> Vec<Signal> {
        std::mem::take(&mut self.signals)
    }

    /// The calls counted in full since the last call, in order (for the call log).
    pub fn take_finished(&mut self) -> Vec<FinishedCall> {
        std::mem::take(&mut self.finished)
    }

    /// The agent states closed since the last call, in order (for the state log).
    pub fn take_spans(&mut self) -> Vec<StateSpan> {
        std::mem::take(&mut self.spans)
    }

    /// What counting needs of the inputs since the last call (empty if nothing
    /// was applied: see [`Counts::is_empty`]).
    pub fn take_counts(&mut self) -> Counts {
        std::mem::take(&mut self.counts)
    }
}

/// Moves the call log's records out of a batch's effects (the rest stay, in
/// order). Most batches finish no call: one pass that finds none does nothing.
fn take_finished(fx: &mut Vec<Effect>, out: &mut Vec<FinishedCall>) {
    if !fx.iter().any(|e| matches!(e, Effect::CallDone(_))) {
        return;
    }
    let mut keep = Vec::with_capacity(fx.capacity());
    for e in fx.drain(..) {
        match e {
            Effect::CallDone(c) => out.push(*c),
            e => keep.push(e),
        }
    }
    *fx = keep;
}

/// One closed interval of an agent's state, `[from, to)` in event time (UTC
/// ms): what the agent state log keeps. Logged-out time is no state, so it
/// has no span.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSpan {
    pub agent: Id,
    /// The agent's team when the state began.
    pub team: Option<Id>,
    pub state: AgentState,
    /// The not-ready reason (the floor keeps a reason for not_ready only).
    pub reason: Option<Id>,
    pub from: Ts,
    pub to: Ts,
}

/// An agent's state in progress: the start of its next span.
#[derive(Debug, Clone)]
struct Open {
    team: Option<Id>,
    state: AgentState,
    reason: Option<Id>,
    since: Ts,
}

impl Open {
    fn of(c: &AgentChange) -> Option<Open> {
        c.state.map(|state| Open { team: c.team.clone(), state, reason: c.reason.clone(), since: c.since })
    }
}

/// Closes the state each agent change ends (in effect order) and opens the
/// one it starts. A span of no length (two states at one millisecond) adds
/// nothing to any figure and is not kept.
fn close_spans(fx: &[Effect], open: &mut Vec<Option<Open>>, out: &mut Vec<StateSpan>) {
    for e in fx {
        let Effect::Agent(c) = e else { continue };
        let entry = slot_entry(open, c.slot);
        if let Some(prev) = entry.take()
            && c.since > prev.since
        {
            out.push(StateSpan {
                agent: c.agent.clone(),
                team: prev.team,
                state: prev.state,
                reason: prev.reason,
                from: prev.since,
                to: c.since,
            });
        }
        *entry = Open::of(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EVENT_TYPES, EventKind, FaultStatus};
    use crate::floor::Snapshot;
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

    /// An event refused at a floor limit is counted as refused, not applied, so
    /// applied + refused is exactly what came in; its source leaves no `seq` mark.
    #[test]
    fn refused_events_are_counted_apart_from_applied_ones() {
        let mut cfg = FloorConfig::default();
        cfg.limits.max_agents = 2;
        cfg.limits.max_sources = 1;
        let mut s = Step::new(&cfg, &AlertsConfig::default(), Vec::new(), Vec::new());
        let _ = s.take_counts();
        let mut other = ev("site-b", T0, login("B1"));
        other.seq = Some(5);
        let events = vec![
            ev("site-a", T0, login("A1")),
            ev("site-a", T0, login("A2")),
            ev("site-a", T0, login("A3")),
            ev("site-a", T0, login("A4")),
            other,
        ];
        s.batch(events, T0);
        let counts = s.take_counts();
        assert_eq!(counts.events.iter().sum::<u64>(), 2);
        assert_eq!(counts.refused[crate::floor::Refusal::AgentLimit.index()], 2);
        assert_eq!(counts.refused[crate::floor::Refusal::SourceLimit.index()], 1);
        assert_eq!(s.held(), (2, 0, 1));
        assert_eq!(s.seq_marks().count(), 0, "no mark for a source beyond the limit");
    }

    /// An agent who stays in after-call work sends nothing more: the overrun
    /// fires at its deadline in the step's time, given by the caller, and not a
    /// millisecond before (the source is connected and live, so its event
    /// time follows the clock).
    #[test]
    fn a_tick_fires_an_overrun_at_its_deadline() {
        let c = AlertsConfig::default();
        let mut s = step();
        s.source_connection(&"acd".into(), 1, true, T0);
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
        // The source, connected but silent as long, is swept as down by now;
        // the agent is not due.
        assert_eq!(fired(&s.take_signals()), [(Kind::SourceDown, "acd".to_string())]);
        s.tick(due);
        assert_eq!(fired(&s.take_signals()), [(Kind::AcwOverrun, "A1".to_string())]);
    }

    /// A live floor where nothing can change sleeps past the quiet sweeps, yet
    /// wakes for what may fire: the connected source's silence timeout (on the
    /// first sweep after it) and the agent's overrun at its threshold exactly.
    /// Driven as the live engine drives the step — a tick a second and a wake-up
    /// at every deadline — the overrun fires at its threshold, not a sweep later.
    #[test]
    fn a_quiet_floor_sleeps_past_idle_sweeps_but_not_past_a_threshold() {
        let c = AlertsConfig::default();
        let mut s = step();
        s.source_connection(&"acd".into(), 1, true, T0);
        s.batch(
            vec![ev("acd", T0, login("A1")), ev("acd", T0 + 1_000, state("A1", AgentState::Acw, None))],
            T0 + 1_000,
        );
        s.tick(T0 + 1_000);
        s.take_signals();
        let silent = T0 + 1_000 + i64::from(c.source_timeout_secs) * 1000;
        let next = s.next_deadline();
        assert!(next > T0 + 6_000, "the sweeps in between are skipped: {}", next - T0);
        assert!(next <= silent + 5_000, "the silence is looked at on the first sweep after it");
        let due = T0 + 1_000 + i64::from(c.acw_overrun_secs) * 1000;
        // A heartbeat every 5 s keeps the source up, as a bridge does.
        let (mut t, mut fired_at) = (T0 + 1_000, None);
        while t < due + 10_000 && fired_at.is_none() {
            let second = t - t.rem_euclid(1000) + 1000;
            let deadline = s.next_deadline();
            t = deadline.min(second);
            if t.rem_euclid(5_000) == 0 {
                s.batch(vec![ev("acd", t, EventKind::Heartbeat)], t);
            }
            if t == second {
                s.tick(t)
            } else {
                s.on_deadline(t)
            }
            if timer_kinds(&s.take_signals()).contains(&(Kind::AcwOverrun, "A1".to_string())) {
                fired_at = Some(t);
            }
        }
        assert_eq!(fired_at, Some(due));
    }

    /// Between ticks the deadline wake-up fires the same timers.
    #[test]
    fn a_deadline_fires_the_rules_timers_between_ticks() {
        let c = AlertsConfig::default();
        let mut s = step();
        s.source_connection(&"acd".into(), 1, true, T0);
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
        // The source, connected but silent as long, is swept as down by now;
        // the agent is not due.
        assert_eq!(fired(&s.take_signals()), [(Kind::SourceDown, "acd".to_string())]);
        s.on_deadline(due);
        assert!(fired(&s.take_signals()).contains(&(Kind::AcwOverrun, "A1".to_string())));
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

    fn state(agent: &str, state: AgentState, call: Option<&str>) -> EventKind {
        EventKind::AgentState {
            agent: agent.into(),
            state,
            reason: None,
            queue: None,
            call: call.map(Into::into),
        }
    }

    fn seq_ev(ts: Ts, seq: u64, kind: EventKind) -> Event {
        Event { ts, source: "acd".into(), seq: Some(seq), kind }
    }

    /// A floor in the middle of a shift: agents in every kind of state, a call
    /// waiting, one being talked, one finished, a fault down, `seq` marks.
    fn busy_step() -> Step {
        let mut s = step();
        s.source_connection(&"acd".into(), 1, true, T0);
        let offered =
            |call: &str| EventKind::CallOffered { call: call.into(), queue: "billing".into(), caller: None };
        let answered = |call: &str, agent: &str| EventKind::CallAnswered {
            call: call.into(),
            agent: agent.into(),
            queue: Some("billing".into()),
        };
        let events = vec![
            seq_ev(T0, 1, login("A1")),
            seq_ev(T0, 2, login("A2")),
            seq_ev(T0, 3, login("A3")),
            seq_ev(T0 + 1_000, 4, offered("C1")),
            seq_ev(T0 + 2_000, 5, answered("C1", "A1")),
            seq_ev(T0 + 3_000, 6, EventKind::CallEnded { call: "C1".into(), agent: Some("A1".into()) }),
            seq_ev(T0 + 3_000, 7, state("A1", AgentState::Acw, None)),
            seq_ev(T0 + 4_000, 8, offered("C2")),
            seq_ev(T0 + 4_500, 9, answered("C2", "A2")),
            seq_ev(T0 + 5_000, 10, offered("C3")),
            seq_ev(T0 + 5_000, 11, EventKind::AgentLogout { agent: "A3".into(), reason: None }),
            seq_ev(
                T0 + 6_000,
                12,
                EventKind::Fault {
                    component: "ivr".into(),
                    status: FaultStatus::Down,
                    detail: Some("node 2".into()),
                },
            ),
        ];
        s.batch(events, T0 + 6_000);
        s.take_signals();
        s
    }

    /// What a checkpoint holds, in a stable order (hash tables iterate in none).
    fn sorted(mut cp: Checkpoint) -> Checkpoint {
        cp.floor.calls.sort_by(|a, b| a.id.cmp(&b.id));
        cp.floor.finished.sort();
        cp.floor.sources.sort_by(|a, b| a.id.cmp(&b.id));
        cp.floor.faults.sort_by(|a, b| a.component.cmp(&b.component));
        cp.seqs.sort();
        cp.streams.sort();
        cp
    }

    /// A NATS consumer's position goes into the checkpoint, never moves back
    /// (a redelivery is below it), survives a restore, and a checkpoint written
    /// before positions existed still decodes (with none).
    #[test]
    fn stream_positions_ride_in_the_checkpoint() {
        let mut s = busy_step();
        s.stream_mark(Id::from("FLOOR/fw-a"), 41);
        s.stream_mark(Id::from("FLOOR/fw-a"), 7);
        s.stream_mark(Id::from("FLOOR/fw-b"), 3);
        let cp = sorted(s.checkpoint(T0 + 7_000));
        assert_eq!(cp.streams, [(Id::from("FLOOR/fw-a"), 41), (Id::from("FLOOR/fw-b"), 3)]);
        let r = restored(through_json(&cp), T0 + 7_000);
        assert_eq!(sorted(r.checkpoint(T0 + 7_000)).streams, cp.streams);

        let mut old: serde_json::Value = serde_json::from_slice(&cp.encode()).expect("json");
        old.as_object_mut().expect("object").remove("streams");
        let body = serde_json::to_vec(&old).expect("encodes");
        let decoded = Checkpoint::decode(super::super::checkpoint::VERSION, &body).expect("decodes");
        assert!(decoded.streams.is_empty());
        assert_eq!(decoded.seqs, cp.seqs);
    }

    fn through_json(cp: &Checkpoint) -> Checkpoint {
        Checkpoint::decode(super::super::checkpoint::VERSION, &cp.encode()).expect("decodes")
    }

    fn restored(cp: Checkpoint, now: Ts) -> Step {
        let (f, a) = (FloorConfig::default(), AlertsConfig::default());
        Step::restore(&f, &a, Vec::new(), Vec::new(), Some(cp), now)
    }

    /// Checkpoint → JSON → restore gives back the same floor: the restored
    /// step's own checkpoint is the one it came from, and the read model shows
    /// the same agents, waits, totals and windows.
    #[test]
    fn a_floor_restored_from_its_checkpoint_is_the_same_floor() {
        let mut s = busy_step();
        let now = T0 + 7_000;
        let cp = s.checkpoint(now);
        assert_eq!(cp.floor.agents.len(), 3);
        assert_eq!(cp.floor.finished.len(), 1, "C1 is finished");
        assert_eq!(cp.seqs, [(Id::from("acd"), 12)]);
        // Restored at the time the source was last heard from, which a restore
        // moves up to its own `now` (a full timeout to reconnect).
        let mut r = restored(through_json(&cp), T0 + 6_000);
        assert_eq!(sorted(r.checkpoint(now)), sorted(cp), "round trip");

        let (a, b) = (s.snapshot(now), r.snapshot(now));
        let agents = |snap: &Snapshot| {
            let mut v: Vec<_> = snap
                .agents
                .iter()
                .map(|a| (a.id.clone(), a.state, a.since, a.call.clone(), a.handled_today))
                .collect();
            v.sort_by(|x, y| x.0.cmp(&y.0));
            v
        };
        assert_eq!(agents(&a), agents(&b));
        let q = |snap: &Snapshot| {
            snap.queues
                .iter()
                .map(|q| {
                    let waiting: Vec<_> = q.waiting.iter().map(|w| (w.call.clone(), w.since)).collect();
                    (q.id.clone(), q.offered_total, q.answered_total, waiting, q.windows.clone())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(q(&a), q(&b));
        assert_eq!(b.queues[0].waiting.len(), 1, "C3 still waits, from its offer time");
        assert_eq!(b.queues[0].waiting[0].since, T0 + 5_000);
        assert_eq!(b.faults.len(), 1);
        assert_eq!(b.events_applied, a.events_applied);
        assert_eq!(r.seq_marks().collect::<Vec<_>>(), [(&Id::from("acd"), 12)]);
    }

    /// A finished call stays known after a restore: its repeated offer is a
    /// duplicate, not a second call offered.
    #[test]
    fn a_restored_floor_still_knows_finished_calls_for_duplicates() {
        let s = busy_step();
        let now = T0 + 7_000;
        let mut r = restored(through_json(&s.checkpoint(now)), now);
        let again = EventKind::CallOffered { call: "C1".into(), queue: "billing".into(), caller: None };
        r.batch(vec![ev("acd", T0 + 1_000, again)], now);
        assert_eq!(r.snapshot(now).queues[0].offered_total, 3, "C1, C2, C3 once each");
    }

    /// An overrun pending at the checkpoint fires on its original deadline (the
    /// agent's ACW began at event time T0 + 3 s), not one limit after the restart.
    #[test]
    fn a_pending_overrun_fires_on_its_original_deadline_after_a_restore() {
        let s = busy_step();
        let c = AlertsConfig::default();
        let due = T0 + 3_000 + i64::from(c.acw_overrun_secs) * 1000;
        // Restored 13 s before it is due: the source (not back yet) is live
        // until its timeout, so its event time follows the clock.
        let mut r = restored(through_json(&s.checkpoint(T0 + 7_000)), due - 13_000);
        assert!(r.next_deadline() <= due, "the engine wakes up in time");
        r.on_deadline(due - 1);
        assert!(!fired(&r.take_signals()).iter().any(|(k, _)| *k == Kind::AcwOverrun));
        r.on_deadline(due);
        let signals = r.take_signals();
        assert_eq!(fired(&signals), [(Kind::AcwOverrun, "A1".to_string())]);
        let Some(Signal::Fire(f)) = signals.first() else { unreachable!("fired above") };
        assert_eq!(f.started_at, T0 + 3_000, "started when the agent entered ACW");
    }

    /// An overrun already raised before the checkpoint is raised again at once
    /// after the restore, under the same key and start: the alert task holds
    /// that key open, so it is confirmed, not a new alert.
    #[test]
    fn an_overrun_already_raised_is_confirmed_under_its_key_after_a_restore() {
        let mut s = busy_step();
        let c = AlertsConfig::default();
        let due = T0 + 3_000 + i64::from(c.acw_overrun_secs) * 1000;
        // The source's heartbeat keeps it live (a source down at the restart
        // would hold its agents' timers until it is back).
        s.batch(vec![ev("acd", due, EventKind::Heartbeat)], due);
        s.on_deadline(due);
        assert!(fired(&s.take_signals()).contains(&(Kind::AcwOverrun, "A1".to_string())));
        let mut r = restored(through_json(&s.checkpoint(due + 1_000)), due + 2_000);
        r.on_deadline(due + 2_000);
        let signals = r.take_signals();
        let overruns: Vec<_> = signals
            .iter()
            .filter_map(|s| match s {
                Signal::Fire(f) if f.key.kind == Kind::AcwOverrun => {
                    Some((f.key.subject.to_string(), f.started_at))
                }
                _ => None,
            })
            .collect();
        assert_eq!(overruns, [("A1".to_string(), T0 + 3_000)]);
    }

    /// A fault that went down before the restart recovers when its "up" comes.
    #[test]
    fn a_fault_down_before_a_restore_recovers_on_its_up() {
        let s = busy_step();
        let mut r = restored(through_json(&s.checkpoint(T0 + 7_000)), T0 + 8_000);
        let up = EventKind::Fault { component: "ivr".into(), status: FaultStatus::Up, detail: None };
        r.batch(vec![ev("acd", T0 + 9_000, up)], T0 + 9_000);
        let clears: Vec<_> = r
            .take_signals()
            .into_iter()
            .filter_map(|s| match s {
                Signal::Clear { key, at } => Some((key.kind, key.subject.to_string(), at)),
                _ => None,
            })
            .collect();
        assert_eq!(clears, [(Kind::SystemFault, "ivr".to_string(), T0 + 9_000)]);
        assert!(r.snapshot(T0 + 9_000).faults.is_empty());
    }

    /// Even with no checkpoint (kill -9 before the first one), the first "up" of
    /// a component the floor never heard of clears what a restored alert says.
    #[test]
    fn the_first_up_of_an_unknown_component_clears_its_fault() {
        let mut s = step();
        let up = EventKind::Fault { component: "ivr".into(), status: FaultStatus::Up, detail: None };
        s.batch(vec![ev("acd", T0, up)], T0);
        let clears = s.take_signals().iter().filter(|s| matches!(s, Signal::Clear { .. })).count();
        assert_eq!(clears, 1);
    }

    /// A checkpoint of another layout version, or one that does not decode, is
    /// refused (the daemon then starts empty).
    #[test]
    fn a_checkpoint_of_another_version_or_damaged_is_refused() {
        let body = busy_step().checkpoint(T0).encode();
        assert!(Checkpoint::decode(super::super::checkpoint::VERSION + 1, &body).is_err());
        assert!(Checkpoint::decode(super::super::checkpoint::VERSION, &body[..body.len() / 2]).is_err());
    }

    fn not_ready(agent: &str) -> EventKind {
        EventKind::AgentState {
            agent: agent.into(),
            state: AgentState::NotReady,
            reason: None,
            queue: None,
            call: None,
        }
    }

    fn timer_kinds(signals: &[Signal]) -> Vec<(Kind, String)> {
        let timers = [Kind::AcwOverrun, Kind::BusyOverrun, Kind::LongestWaitHigh];
        fired(signals).into_iter().filter(|(k, _)| timers.contains(k)).collect()
    }

    /// An hour late (the wall clock), in seconds of the events' own time.
    const LATE: Ts = 3_600_000;

    /// A bridge flushes an hour-old buffer in two frames 2 s apart: an agent's
    /// 20 s of ACW, another's 30 s not ready, a call that waited 39 s. The wall
    /// clock is far past every deadline between the frames, but the source's
    /// event time is not, so nothing is raised that the second frame resolves.
    #[test]
    fn an_hour_old_backlog_in_two_frames_raises_no_timer_it_resolves_itself() {
        let mut s = step();
        let wall = T0 + LATE;
        s.source_connection(&"acd".into(), 1, true, wall - 1_000);
        let offered = EventKind::CallOffered { call: "C1".into(), queue: "billing".into(), caller: None };
        let first = vec![
            ev("acd", T0, login("A1")),
            ev("acd", T0, login("A2")),
            ev("acd", T0 + 1_000, offered),
            ev("acd", T0 + 5_000, state("A1", AgentState::Acw, None)),
            ev("acd", T0 + 5_000, not_ready("A2")),
        ];
        s.batch(first, wall);
        let mut raised = timer_kinds(&s.take_signals());
        for t in [wall + 1_000, wall + 1_500] {
            s.tick(t);
            s.on_deadline(t);
            raised.extend(timer_kinds(&s.take_signals()));
        }
        let answered =
            EventKind::CallAnswered { call: "C1".into(), agent: "A1".into(), queue: Some("billing".into()) };
        let second = vec![
            ev("acd", T0 + 25_000, state("A1", AgentState::Ready, None)),
            ev("acd", T0 + 35_000, state("A2", AgentState::Ready, None)),
            ev("acd", T0 + 40_000, answered),
        ];
        s.batch(second, wall + 2_000);
        raised.extend(timer_kinds(&s.take_signals()));
        for t in (3..30).map(|n| wall + n * 1_000) {
            s.tick(t);
            raised.extend(timer_kinds(&s.take_signals()));
        }
        assert_eq!(raised, [], "the backlog resolved its own states");
    }

    /// The same kind of backlog holding a real overrun — ten minutes of ACW by
    /// its own events — raises it, with its true start and length (not the
    /// hour the wall clock would say), and clears it where the ACW ended.
    #[test]
    fn a_backlog_with_a_real_overrun_raises_it_with_its_true_start() {
        let mut s = step();
        let wall = T0 + LATE;
        s.source_connection(&"acd".into(), 1, true, wall);
        s.batch(
            vec![ev("acd", T0, login("A1")), ev("acd", T0 + 1_000, state("A1", AgentState::Acw, None))],
            wall,
        );
        s.tick(wall + 1_000);
        assert_eq!(timer_kinds(&s.take_signals()), [], "not yet: its events stop at T0 + 1 s");
        s.batch(vec![ev("acd", T0 + 601_000, state("A1", AgentState::Ready, None))], wall + 2_000);
        let signals = s.take_signals();
        let Some(Signal::Fire(f)) = signals.iter().find(|s| matches!(s, Signal::Fire(_))) else {
            panic!("an overrun raised: {signals:?}")
        };
        assert_eq!((f.key.kind, f.started_at, f.value), (Kind::AcwOverrun, T0 + 1_000, Some(600.0)));
        assert!(f.text.en.contains("10:00"), "{}", f.text.en);
        let clear = signals.iter().find_map(|s| match s {
            Signal::Clear { key, at } if key.kind == Kind::AcwOverrun => Some(*at),
            _ => None,
        });
        assert_eq!(clear, Some(T0 + 601_000), "cleared where the ACW ended");
    }

    /// A backlog whose events run past a deadline while the agent is still in
    /// the state raises it from the timer, measured in the events' time: 5 min
    /// in ACW by the stream, not the hour the wall clock is ahead.
    #[test]
    fn a_backlog_past_a_deadline_fires_in_its_own_time() {
        let mut s = step();
        let wall = T0 + LATE;
        s.source_connection(&"acd".into(), 1, true, wall);
        let events = vec![
            ev("acd", T0, login("A1")),
            ev("acd", T0, state("A1", AgentState::Acw, None)),
            ev("acd", T0 + 300_000, EventKind::Heartbeat),
        ];
        s.batch(events, wall);
        s.on_deadline(wall);
        let signals = s.take_signals();
        let Some(Signal::Fire(f)) = signals.iter().find(|s| matches!(s, Signal::Fire(_))) else {
            panic!("an overrun raised: {signals:?}")
        };
        assert_eq!((f.key.kind, f.started_at, f.value), (Kind::AcwOverrun, T0, Some(300.0)));
    }

    /// Each source has its own event time: one that disconnects and goes
    /// quiet holds its own agents' timers (its backlog may end them) but not
    /// those of another, live source, whose overrun fires on time.
    #[test]
    fn a_quiet_source_does_not_freeze_the_timers_of_others() {
        let c = AlertsConfig::default();
        let mut s = step();
        for src in ["site-a", "site-b"] {
            s.source_connection(&src.into(), 1, true, T0);
        }
        s.batch(
            vec![
                ev("site-a", T0, login("A1")),
                ev("site-a", T0, state("A1", AgentState::Acw, None)),
                ev("site-b", T0, login("B1")),
                ev("site-b", T0, state("B1", AgentState::Acw, None)),
            ],
            T0,
        );
        s.source_connection(&"site-a".into(), -1, true, T0 + 1_000);
        let due = T0 + i64::from(c.acw_overrun_secs) * 1000;
        s.tick(due);
        s.on_deadline(due);
        assert_eq!(timer_kinds(&s.take_signals()), [(Kind::AcwOverrun, "B1".to_string())]);
        // site-a comes back and flushes: A1 had left ACW after 30 s.
        s.source_connection(&"site-a".into(), 1, true, due + 5_000);
        s.batch(vec![ev("site-a", T0 + 30_000, state("A1", AgentState::Ready, None))], due + 5_000);
        s.on_deadline(due + 5_000);
        assert_eq!(timer_kinds(&s.take_signals()), [], "A1's ACW was 30 s");
    }

    /// The watermarks go into the checkpoint: a source restored as delivering
    /// a backlog still holds its agents' timers after a restart.
    #[test]
    fn a_lagging_source_stays_lagging_across_a_restore() {
        let mut s = step();
        let wall = T0 + LATE;
        s.source_connection(&"acd".into(), 1, true, wall);
        s.batch(vec![ev("acd", T0, login("A1")), ev("acd", T0, state("A1", AgentState::Acw, None))], wall);
        let cp = through_json(&s.checkpoint(wall));
        assert!(cp.floor.sources.iter().all(|v| v.caught_up == Some(false)), "{:?}", cp.floor.sources);
        let mut r = restored(cp, wall + 1_000);
        r.on_deadline(wall + 1_000);
        assert_eq!(timer_kinds(&r.take_signals()), []);
    }

    fn span(
        agent: &str,
        team: Option<&str>,
        state: AgentState,
        reason: Option<&str>,
        from: Ts,
        to: Ts,
    ) -> StateSpan {
        StateSpan {
            agent: agent.into(),
            team: team.map(Into::into),
            state,
            reason: reason.map(Into::into),
            from,
            to,
        }
    }

    /// Each state change closes the state it ends, with the team it began
    /// under and a not-ready's reason (a change of reason is a new span); a
    /// logout closes the last one; logged-out time, a repeat of the same
    /// state and a state of no length leave no span; a refused (older) event
    /// closes nothing. Taken once.
    #[test]
    fn agent_changes_close_state_spans() {
        let mut s = step();
        let nr = |agent: &str, reason: &str| EventKind::AgentState {
            agent: agent.into(),
            state: AgentState::NotReady,
            reason: Some(reason.into()),
            queue: None,
            call: None,
        };
        let team_login = EventKind::AgentLogin {
            agent: "A1".into(),
            name: None,
            team: Some("team-1".into()),
            state: AgentState::Ready,
            reason: None,
        };
        s.batch(
            vec![
                ev("acd", T0, team_login),
                ev("acd", T0 + 1_000, state("A1", AgentState::Talking, Some("c1"))),
                ev("acd", T0 + 4_000, state("A1", AgentState::Acw, None)),
                ev("acd", T0 + 4_000, state("A1", AgentState::Acw, None)),
            ],
            T0 + 4_000,
        );
        assert_eq!(
            s.take_spans(),
            [
                span("A1", Some("team-1"), AgentState::Ready, None, T0, T0 + 1_000),
                span("A1", Some("team-1"), AgentState::Talking, None, T0 + 1_000, T0 + 4_000),
            ]
        );
        assert!(s.take_spans().is_empty(), "taken once");
        s.batch(
            vec![
                ev("acd", T0 + 9_000, nr("A1", "lunch")),
                ev("acd", T0 + 9_000, state("A1", AgentState::Ready, None)),
                ev("acd", T0 + 9_000, nr("A1", "lunch")),
                ev("acd", T0 + 2_000, state("A1", AgentState::Ready, None)),
                ev("acd", T0 + 12_000, nr("A1", "break")),
                ev("acd", T0 + 15_000, EventKind::AgentLogout { agent: "A1".into(), reason: None }),
                ev("acd", T0 + 20_000, login("A1")),
            ],
            T0 + 20_000,
        );
        assert_eq!(
            s.take_spans(),
            [
                span("A1", Some("team-1"), AgentState::Acw, None, T0 + 4_000, T0 + 9_000),
                span("A1", Some("team-1"), AgentState::NotReady, Some("lunch"), T0 + 9_000, T0 + 12_000),
                span("A1", Some("team-1"), AgentState::NotReady, Some("break"), T0 + 12_000, T0 + 15_000),
            ]
        );
    }

    /// A state in progress at a checkpoint closes after the restore, from its
    /// original start.
    #[test]
    fn a_state_in_progress_at_a_restore_closes_after_it() {
        let mut s = step();
        s.batch(
            vec![ev("acd", T0, login("A1")), ev("acd", T0 + 1_000, state("A1", AgentState::Acw, None))],
            T0 + 1_000,
        );
        let _ = s.take_spans();
        let mut r = restored(through_json(&s.checkpoint(T0 + 2_000)), T0 + 2_000);
        r.batch(vec![ev("acd", T0 + 7_000, state("A1", AgentState::Ready, None))], T0 + 7_000);
        assert_eq!(r.take_spans(), [span("A1", None, AgentState::Acw, None, T0 + 1_000, T0 + 7_000)]);
    }
}
