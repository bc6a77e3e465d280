//! The floor: the live state model of agents, queues, calls, sources and faults.
//!
//! [`Floor`] is a plain struct with no locks, no IO and no clock: [`Floor::apply`]
//! takes an event and the engine's `now`, [`Floor::tick`] lets time pass, and
//! [`Floor::snapshot`] produces the read model. It is driven, with the rules, by
//! one [`crate::engine::Step`], which the engine task owns: the task, not this
//! module, has the channels and the clock. Keeping it pure is what lets the same
//! code serve a live floor, a replay at full speed and table-driven tests.
//!
//! Order independence: events of one call may arrive over different connections in
//! any order (an answer before its offer, an end before its answer). Each call's
//! offer and outcome are counted exactly once whatever the order, so offered,
//! answered and abandoned per queue come out exact once every event has arrived.

mod agent;
mod calendar;
mod calls;
pub mod checkpoint;
pub mod config;
mod finished;
mod queue;
pub mod snapshot;
pub mod window;

pub use agent::{Agent, AgentChange, slot_entry};
pub use calendar::{Calendar, ShiftSpan};
pub use config::{
    FloorConfig, FloorLimits, QueueConfig, QueueParams, ShiftConfig, SlAbandons, TeamConfig, WindowsConfig,
};
use queue::Queue;
pub use queue::QueueIdx;
pub use snapshot::Snapshot;

use crate::event::{AgentState, Event, EventKind, FastMap, FaultStatus, Id, Ts};
use calls::Calls;
pub use calls::FinishedCall;
use snapshot::{FaultView, QueueView, ShiftView, SourceView, TeamView, WaitingCall, WindowSpec};

/// Id of the queue that absorbs traffic for queues beyond `max_queues`.
pub const OVERFLOW_QUEUE: &str = "__overflow__";

/// What applying one event changed, for the engine to count and (later) for rules
/// to react to. Pushed into a caller-owned `Vec` so the hot path does not allocate.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A queue appeared (configured queues appear at start). Carries what a
    /// consumer needs to label and judge the queue's counts without the floor.
    QueueAdded {
        idx: QueueIdx,
        id: Id,
        params: QueueParams,
    },
    /// A call was offered to the queue at `ts` (its event time).
    Offered {
        queue: QueueIdx,
        ts: Ts,
    },
    Answered(QueueIdx),
    Abandoned(QueueIdx),
    /// A call's wait became known: on its answer or abandon, or on a late offer.
    Wait {
        queue: QueueIdx,
        answered: bool,
        ms: i64,
    },
    /// Something odd but survivable; counted, never fatal.
    Anomaly(Anomaly),
    /// An agent's state or reason changed (logins and logouts included).
    Agent(AgentChange),
    /// A caller hung up unanswered and their number is known (from the offer), so
    /// they can be called back. Once per call, whichever of offer and abandon came
    /// last; `ts` is the abandon's time.
    CallerLost {
        queue: Option<QueueIdx>,
        call: Id,
        caller: Id,
        ts: Ts,
    },
    /// A call was counted in full (offered, and abandoned, or answered and
    /// ended): its record for the call log, once per call. Boxed: the effect
    /// list stays small for the common effects.
    CallDone(Box<FinishedCall>),
    /// A component's reported status changed.
    Fault {
        component: Id,
        down: bool,
        since: Ts,
        detail: Option<Id>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    /// An agent event older than the agent's current state.
    StaleAgentEvent,
    /// A second offer for a call already offered.
    DuplicateOffer,
    /// A second answer or abandon, or an abandon after an answer.
    DuplicateOutcome,
    /// An end for a call never seen (kept: its answer may still arrive).
    EndOfUnknownCall,
    /// A logout for an agent never seen.
    LogoutOfUnknownAgent,
    /// A call forgotten after `call_retention_secs` while still waiting, or with an
    /// outcome that could never be placed in a queue.
    CallExpired,
    /// Traffic for a new queue beyond `max_queues`, folded into the overflow queue.
    QueueOverflow,
    /// A call answered and never ended, forgotten after `call_retention_secs`
    /// without news of it (its agent's bridge lost the end): counted, so a feed
    /// that drops ends shows, and its memory is given back.
    CallUnended,
}

impl Anomaly {
    pub const ALL: [Anomaly; 8] = [
        Anomaly::StaleAgentEvent,
        Anomaly::DuplicateOffer,
        Anomaly::DuplicateOutcome,
        Anomaly::EndOfUnknownCall,
        Anomaly::LogoutOfUnknownAgent,
        Anomaly::CallExpired,
        Anomaly::QueueOverflow,
        Anomaly::CallUnended,
    ];

    pub fn as_label(self) -> &'static str {
        match self {
            Anomaly::StaleAgentEvent => "stale_agent_event",
            Anomaly::DuplicateOffer => "duplicate_offer",
            Anomaly::DuplicateOutcome => "duplicate_outcome",
            Anomaly::EndOfUnknownCall => "end_of_unknown_call",
            Anomaly::LogoutOfUnknownAgent => "logout_of_unknown_agent",
            Anomaly::CallExpired => "call_expired",
            Anomaly::QueueOverflow => "queue_overflow",
            Anomaly::CallUnended => "call_unended",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why the floor refused an event: it would have added one more agent, call,
/// source, team or component than [`FloorLimits`] allows. The event is not
/// applied at all (nothing of it is half-done), and the step counts it; the
/// label is the `reason` of `floorwatch_events_rejected_total`, beside ingest's
/// own reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AgentLimit,
    CallLimit,
    SourceLimit,
    TeamLimit,
    ComponentLimit,
}

impl Refusal {
    pub const ALL: [Refusal; 5] = [
        Refusal::AgentLimit,
        Refusal::CallLimit,
        Refusal::SourceLimit,
        Refusal::TeamLimit,
        Refusal::ComponentLimit,
    ];

    pub fn as_label(self) -> &'static str {
        match self {
            Refusal::AgentLimit => "agent_limit",
            Refusal::CallLimit => "call_limit",
            Refusal::SourceLimit => "source_limit",
            Refusal::TeamLimit => "team_limit",
            Refusal::ComponentLimit => "component_limit",
        }
    }

    /// Dense index, in [`Refusal::ALL`] order.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What [`Floor::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied (odd events too: those are reported as anomalies).
    Yes,
    /// Refused whole, the floor untouched.
    Refused(Refusal),
}

/// A queue as the queue rules see it.
#[derive(Debug, Clone)]
pub struct QueueStatus<'a> {
    pub id: &'a Id,
    pub params: QueueParams,
    /// The rules' window (e.g. 15 min).
    pub window: window::Tally,
    /// The stuck-dispatcher window (e.g. 3 min).
    pub recent: window::Tally,
    pub longest_wait_ms: i64,
    /// The offer time of the call waiting longest, if one waits.
    pub oldest_waiting_since: Option<Ts>,
    /// The slices both windows are summed from, to know when they change with
    /// time alone (see [`window::Ring::leaving`]); `None` before the first count.
    pub ring: Option<&'a window::Ring>,
}

/// Floor settings derived once from [`FloorConfig`].
#[derive(Debug, Clone)]
struct Settings {
    bucket_ms: i64,
    rolling_ms: Vec<i64>,
    call_retention_ms: i64,
    max_queues: usize,
    limits: FloorLimits,
    queue_defaults: QueueParams,
}

impl Settings {
    fn ring(&self) -> window::Ring {
        let span = self.rolling_ms.iter().copied().max().unwrap_or(3_600_000);
        window::Ring::new(self.bucket_ms, span)
    }
}

#[derive(Debug, Clone)]
struct SourceInfo {
    /// Named by its bridge (`?source=` or events' `source`), so watched for
    /// `source_down`; anonymous `conn-N` sources die with their connection.
    named: bool,
    connections: u32,
    events: u64,
    last_event_ts: Option<Ts>,
    last_heard: Ts,
    /// Whether its latest events, when last heard, were within
    /// [`CAUGHT_UP_MS`] of the engine's clock: only a caught-up source's event
    /// time follows the wall clock between its events (see [`Floor::watermark`]).
    caught_up: bool,
}

/// How far behind the engine's clock a source's newest event may be for the
/// source to count as live rather than delivering a backlog: twice the 5 s
/// heartbeat a source sends at least (contract §3), so a bridge with a few
/// seconds of clock skew or batching stays live.
pub const CAUGHT_UP_MS: Ts = 10_000;

impl SourceInfo {
    /// A source first seen at `now`: nothing counted, and not caught up until
    /// `heard_from` has judged its events' times.
    fn new(named: bool, now: Ts) -> SourceInfo {
        SourceInfo {
            named,
            connections: 0,
            events: 0,
            last_event_ts: None,
            last_heard: now,
            caught_up: false,
        }
    }
}

#[derive(Debug, Clone)]
struct FaultInfo {
    down: bool,
    source: Id,
    /// When the current status (down or up) began.
    since: Ts,
    /// Time of the latest report, to ignore older ones arriving late.
    last_report: Ts,
    detail: Option<Id>,
}

#[derive(Debug, Clone)]
struct TeamInfo {
    name: Id,
    lead: Option<Id>,
}

pub struct Floor {
    settings: Settings,
    calendar: Calendar,
    queues: Vec<Queue>,
    queue_index: FastMap<Id, QueueIdx>,
    agents: FastMap<Id, Agent>,
    calls: Calls,
    /// Configured teams first (in config order), then teams seen in logins.
    teams: Vec<(Id, TeamInfo)>,
    /// How many of `teams` came from the config (a checkpoint keeps the rest).
    configured_teams: usize,
    sources: FastMap<Id, SourceInfo>,
    faults: FastMap<Id, FaultInfo>,
    events_applied: u64,
    /// When the calls were last purged: a purge runs a minute apart at most.
    last_purge: Ts,
    /// How long a named source with no connection stays live after it was last
    /// heard from (the rules' source timeout: it is down after that).
    live_silence_ms: i64,
    /// Replay: the engine's `now` is the stream's own time, so every source's
    /// event time is `now`.
    stream_clock: bool,
}

impl Floor {
    /// A floor with the configured queues and teams; `fx` receives a
    /// `QueueAdded` for each configured queue.
    pub fn new(cfg: &FloorConfig, fx: &mut Vec<Effect>) -> Floor {
        let settings = Settings {
            bucket_ms: i64::try_from(cfg.windows.bucket_secs).unwrap_or(10) * 1000,
            rolling_ms: cfg
                .windows
                .rolling_secs
                .iter()
                .map(|s| i64::try_from(*s).unwrap_or(3600) * 1000)
                .collect(),
            call_retention_ms: cfg.call_retention_ms,
            max_queues: cfg.max_queues,
            limits: cfg.limits,
            queue_defaults: cfg.queue_defaults,
        };
        let mut floor = Floor {
            settings,
            calendar: Calendar::new(cfg.timezone, cfg.shifts.clone()),
            queues: Vec::new(),
            queue_index: FastMap::default(),
            agents: FastMap::default(),
            calls: Calls::default(),
            teams: cfg
                .teams
                .iter()
                .map(|t| {
                    let info =
                        TeamInfo { name: Id::from(t.name.as_str()), lead: t.lead.as_deref().map(Id::from) };
                    (Id::from(t.id.as_str()), info)
                })
                .collect(),
            configured_teams: cfg.teams.len(),
            sources: FastMap::default(),
            faults: FastMap::default(),
            events_applied: 0,
            last_purge: Ts::MIN,
            live_silence_ms: 15_000,
            stream_clock: false,
        };
        for q in &cfg.queues {
            let id = Id::from(q.id.as_str());
            floor.add_queue(id, Id::from(q.name.as_str()), q.params, true, fx);
        }
        floor
    }

    /// Events applied since start.
    pub fn events_applied(&self) -> u64 {
        self.events_applied
    }

    pub fn queue_id(&self, idx: QueueIdx) -> &Id {
        &self.queues[idx].id
    }

    pub fn queue_params(&self, idx: QueueIdx) -> QueueParams {
        self.queues[idx].params
    }

    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// Puts `source` on the floor before its events are applied, unless it is new
    /// and the floor is at `max_sources` (then its events are refused): the
    /// step calls it once per run of same-source events, so the source limit is
    /// exact within a batch too.
    pub fn note_source(&mut self, source: &Id, now: Ts) {
        if self.sources.len() < self.settings.limits.max_sources && !self.sources.contains_key(source) {
            self.sources.insert(source.clone(), SourceInfo::new(true, now));
        }
    }

    /// Records that `source` sent `events` events, the latest stamped `latest_ts`.
    /// Called once per run of events from one source (a batch is nearly always
    /// one run), not per event.
    ///
    /// Returns whether the source is on the floor: one new beyond `max_sources`
    /// is not added (its events were refused), and the caller keeps nothing of it.
    pub fn heard_from(&mut self, source: &Id, events: u64, latest_ts: Ts, now: Ts) -> bool {
        if !self.sources.contains_key(source) {
            if self.sources.len() >= self.settings.limits.max_sources {
                return false;
            }
            self.sources.insert(source.clone(), SourceInfo::new(true, now));
        }
        if let Some(src) = self.sources.get_mut(source) {
            src.events += events;
            let newest = src.last_event_ts.map_or(latest_ts, |t| t.max(latest_ts));
            src.last_event_ts = Some(newest);
            src.last_heard = now;
            src.caught_up = now - newest <= CAUGHT_UP_MS;
        }
        true
    }

    /// Sets how event time meets wall time (see [`Floor::watermark`]): a named
    /// source without a connection stays live `live_silence_ms` after it was
    /// last heard; `stream_clock` (replay) makes every watermark `now`.
    pub fn set_event_time(&mut self, live_silence_ms: i64, stream_clock: bool) {
        self.live_silence_ms = live_silence_ms;
        self.stream_clock = stream_clock;
    }

    /// `source`'s watermark at `now`: the latest event time it has sent, or
    /// `now` while it is live — caught up when last heard, and connected or
    /// (for a named source) heard within `live_silence_ms`. A timer due after
    /// the watermark waits: the source's own events have not reached it yet (a
    /// backlog, a buffer flush, a resync), and the next of them may end it. A
    /// source never heard of (an agent restored without one) follows `now`.
    pub fn watermark(&self, source: &Id, now: Ts) -> Ts {
        if self.stream_clock {
            return now;
        }
        let Some(s) = self.sources.get(source) else { return now };
        let Some(newest) = s.last_event_ts else {
            return if s.caught_up { now } else { Ts::MIN };
        };
        let live = s.connections > 0 || !s.named || now - s.last_heard <= self.live_silence_ms;
        if s.caught_up && live { now.max(newest) } else { newest }
    }

    /// Applies one event. Never fails: whatever cannot be used is reported as an
    /// [`Effect::Anomaly`] and the rest of the floor is untouched. An event that
    /// would take the floor past one of its [`FloorLimits`] is refused whole.
    pub fn apply(&mut self, ev: &Event, _now: Ts, fx: &mut Vec<Effect>) -> Applied {
        if let Some(r) = self.refusal(ev) {
            return Applied::Refused(r);
        }
        self.events_applied += 1;
        let ts = ev.ts;
        match &ev.kind {
            EventKind::AgentLogin { agent, name, team, state, reason } => {
                self.on_login(agent, name, team, *state, reason, ts, &ev.source, fx)
            }
            EventKind::AgentLogout { agent, reason } => self.on_logout(agent, reason, ts, &ev.source, fx),
            EventKind::AgentState { agent, state, reason, queue, call } => {
                self.on_agent_state(agent, *state, reason, queue, call, ts, &ev.source, fx)
            }
            EventKind::CallOffered { call, queue, caller } => {
                self.on_offered(call, queue, caller.as_ref(), ts, fx);
                self.note_queue_source(queue, &ev.source);
            }
            EventKind::CallAnswered { call, agent, queue } => {
                self.on_answered(call, agent, queue.as_ref(), ts, fx)
            }
            EventKind::CallAbandoned { call, queue } => self.on_abandoned(call, queue.as_ref(), ts, fx),
            EventKind::CallEnded { call, agent } => self.on_ended(call, agent.as_ref(), ts, fx),
            EventKind::Heartbeat => {}
            EventKind::Fault { component, status, detail } => {
                // A component never heard of before: its first report is news
                // whichever way it goes. An "up" then clears a `system_fault` that
                // an earlier run raised and the store restored (a floor that lost
                // the "down" must still let the fault recover).
                let first = !self.faults.contains_key(component);
                let f = self.faults.entry(component.clone()).or_insert(FaultInfo {
                    down: false,
                    source: ev.source.clone(),
                    since: Ts::MIN,
                    last_report: Ts::MIN,
                    detail: None,
                });
                // A late "up" must not clear a newer "down", nor the reverse.
                if ts >= f.last_report {
                    f.last_report = ts;
                    let down = *status == FaultStatus::Down;
                    let changed = down != f.down || first;
                    if changed {
                        f.since = ts;
                        f.down = down;
                    }
                    if detail.is_some() {
                        f.detail = detail.clone();
                    }
                    f.source = ev.source.clone();
                    if changed {
                        fx.push(Effect::Fault {
                            component: component.clone(),
                            down,
                            since: ts,
                            detail: f.detail.clone(),
                        });
                    }
                }
            }
        }
        Applied::Yes
    }

    /// The limit `ev` would break, if any. Each check first compares a table's
    /// length with its bound, so below the bounds (always, on a sane floor) it
    /// costs no lookup; at a bound, one lookup tells a known id from a new one.
    fn refusal(&self, ev: &Event) -> Option<Refusal> {
        let l = &self.settings.limits;
        let new_agent = |a: &Id| self.agents.len() >= l.max_agents && !self.agents.contains_key(a);
        let new_call = |c: &Id| self.calls.active.len() >= l.max_calls && !self.calls.knows(c);
        if self.sources.len() >= l.max_sources && !self.sources.contains_key(&ev.source) {
            return Some(Refusal::SourceLimit);
        }
        match &ev.kind {
            EventKind::AgentLogin { agent, team, .. } => {
                if new_agent(agent) {
                    Some(Refusal::AgentLimit)
                } else if let Some(t) = team
                    && self.teams.len() >= self.configured_teams + l.max_teams
                    && !self.teams.iter().any(|(id, _)| id == t)
                {
                    Some(Refusal::TeamLimit)
                } else {
                    None
                }
            }
            EventKind::AgentLogout { agent, .. } | EventKind::AgentState { agent, .. } => {
                new_agent(agent).then_some(Refusal::AgentLimit)
            }
            EventKind::CallAnswered { call, agent, .. } => {
                if new_call(call) {
                    Some(Refusal::CallLimit)
                } else {
                    new_agent(agent).then_some(Refusal::AgentLimit)
                }
            }
            EventKind::CallOffered { call, .. }
            | EventKind::CallAbandoned { call, .. }
            | EventKind::CallEnded { call, .. } => new_call(call).then_some(Refusal::CallLimit),
            EventKind::Fault { component, .. } => (self.faults.len() >= l.max_components
                && !self.faults.contains_key(component))
            .then_some(Refusal::ComponentLimit),
            EventKind::Heartbeat => None,
        }
    }

    /// How many agents, calls in progress and sources the floor holds now (what
    /// its limits bound), for tests and benches.
    pub fn held(&self) -> (usize, usize, usize) {
        (self.agents.len(), self.calls.active.len(), self.sources.len())
    }

    /// Records an ingest connection opening (`+1`) or closing (`-1`) for a source.
    ///
    /// An anonymous source (`conn-N`, never reused) goes when its last connection
    /// closes, so reconnecting bridges that name no source do not pile up against
    /// `max_sources`; a new source beyond that limit is not added.
    pub fn source_connection(&mut self, source: &Id, delta: i32, named: bool, now: Ts) {
        if !self.sources.contains_key(source)
            && (delta < 0 || self.sources.len() >= self.settings.limits.max_sources)
        {
            return;
        }
        let s = self.sources.entry(source.clone()).or_insert_with(|| SourceInfo::new(named, now));
        s.connections = s.connections.saturating_add_signed(delta);
        s.last_heard = now;
        if delta > 0 {
            // A bridge that comes back may flush what it buffered: until its
            // events show it current, its event time stays where they left it.
            s.caught_up = false;
        }
        if !s.named && s.connections == 0 {
            self.sources.remove(source);
        }
    }

    /// When [`Floor::tick`] next has work: when the oldest call held may pass its
    /// retention, a minute after the last purge at the soonest. Finished calls
    /// are let go in rounds, once the oldest is an eighth of the retention past
    /// it (a minute at least): forgetting them is memory upkeep, and a floor
    /// finishes calls all the time, so purging on each one's expiry would wake
    /// the engine every minute of a month's replay for nothing a supervisor
    /// sees. A late event of such a call is a duplicate a little longer, never a
    /// new call sooner. Calls still active (a waiting call, an answer never
    /// ended) go at their retention: their expiry is an anomaly and a queue's
    /// longest wait.
    pub fn next_tick_due(&self) -> Ts {
        let ret = self.settings.call_retention_ms;
        let rounds = (ret / 8).max(60_000);
        let active = self.calls.oldest_active.saturating_add(ret);
        let finished = self.calls.finished.oldest().saturating_add(ret).saturating_add(rounds);
        active.min(finished).max(self.last_purge.saturating_add(60_000))
    }

    /// Lets time pass: forgets calls past their retention when that is due.
    pub fn tick(&mut self, now: Ts, fx: &mut Vec<Effect>) {
        self.give_back_room();
        if now < self.next_tick_due() {
            return;
        }
        self.last_purge = now;
        self.purge_calls(now, fx);
    }

    fn add_queue(
        &mut self,
        id: Id,
        name: Id,
        params: QueueParams,
        configured: bool,
        fx: &mut Vec<Effect>,
    ) -> QueueIdx {
        let idx = self.queues.len();
        self.queues.push(Queue::new(id.clone(), name, params, configured));
        self.queue_index.insert(id.clone(), idx);
        fx.push(Effect::QueueAdded { idx, id, params });
        idx
    }

    /// What the queue rules look at for queue `idx` at `now`.
    pub fn queue_status(&self, idx: QueueIdx, now: Ts, window_ms: i64, stuck_ms: i64) -> QueueStatus<'_> {
        let q = &self.queues[idx];
        let sum = |w| q.ring.as_ref().map(|r| r.sum(now, w)).unwrap_or_default();
        QueueStatus {
            id: &q.id,
            params: q.params,
            window: sum(window_ms),
            recent: sum(stuck_ms),
            // Waits grow in the queue's source's event time, not the wall's.
            longest_wait_ms: q
                .waiting
                .first()
                .map_or(0, |(since, _)| (now.min(self.watermark(&q.source, now)) - since).max(0)),
            oldest_waiting_since: q.waiting.first().map(|(since, _)| *since),
            ring: q.ring.as_deref(),
        }
    }

    /// Average handle time today (talk + after-call work per handled call) over
    /// every agent, seconds; `None` before the first call. A scan: for periodic use.
    pub fn aht_secs(&self) -> Option<f64> {
        let (mut busy_ms, mut handled) = (0i64, 0u64);
        for a in self.agents.values() {
            busy_ms += a.talk_ms_today + a.acw_ms_today;
            handled += u64::from(a.handled_today);
        }
        (handled > 0 && busy_ms > 0).then(|| busy_ms as f64 / 1000.0 / handled as f64)
    }

    /// The queue's index, if it exists.
    pub fn queue_index(&self, id: &Id) -> Option<QueueIdx> {
        self.queue_index.get(id).copied()
    }

    /// Agents working calls of `queue` now (ringing, talking, hold, after-call
    /// work). A scan: for periodic use.
    pub fn agents_serving(&self, queue: &Id) -> u32 {
        self.agents
            .values()
            .filter(|a| a.queue.as_ref() == Some(queue))
            .filter(|a| {
                matches!(
                    a.state,
                    Some(AgentState::Ringing | AgentState::Talking | AgentState::Hold | AgentState::Acw)
                )
            })
            .count() as u32
    }

    /// Logged-in agents in `state` now (a scan: for periodic rules, not per event).
    pub fn agents_in(&self, state: AgentState) -> u32 {
        self.agents.values().filter(|a| a.state == Some(state)).count() as u32
    }

    /// Every named source: (id, open connections, engine time last heard from).
    pub fn named_sources(&self) -> impl Iterator<Item = (&Id, u32, Ts)> {
        self.sources.iter().filter(|(_, s)| s.named).map(|(id, s)| (id, s.connections, s.last_heard))
    }

    /// The queue named `id`, created on first sight (bounded by `max_queues`).
    fn queue_for(&mut self, id: &Id, fx: &mut Vec<Effect>) -> QueueIdx {
        if let Some(&i) = self.queue_index.get(id) {
            return i;
        }
        if self.queues.len() >= self.settings.max_queues {
            fx.push(Effect::Anomaly(Anomaly::QueueOverflow));
            if let Some(&i) = self.queue_index.get(OVERFLOW_QUEUE) {
                return i;
            }
            let id = Id::from(OVERFLOW_QUEUE);
            return self.add_queue(id.clone(), id, self.settings.queue_defaults, false, fx);
        }
        self.add_queue(id.clone(), id.clone(), self.settings.queue_defaults, false, fx)
    }

    fn agent_entry(&mut self, id: &Id, ts: Ts) -> &mut Agent {
        let day = self.calendar.day_start(ts);
        // Slots are handed out in order and agents are never removed, so the
        // count is the next free slot (u32::MAX agents would need terabytes).
        let slot = u32::try_from(self.agents.len()).unwrap_or(u32::MAX);
        let a = self.agents.entry_ref(id).or_insert_with(|| Agent::new(id.clone(), slot, ts, day));
        a.roll_day(day);
        a
    }

    #[allow(clippy::too_many_arguments)]
    fn on_login(
        &mut self,
        agent: &Id,
        name: &Option<Id>,
        team: &Option<Id>,
        state: AgentState,
        reason: &Option<Id>,
        ts: Ts,
        source: &Id,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(t) = team {
            self.note_team(t);
        }
        let a = self.agent_entry(agent, ts);
        if name.is_some() {
            a.name = name.clone();
        }
        if team.is_some() {
            a.team = team.clone();
        }
        if ts < a.since {
            fx.push(Effect::Anomaly(Anomaly::StaleAgentEvent));
            return;
        }
        if a.state.is_none() {
            a.login_at = Some(ts);
        }
        if a.enter(Some(state), reason.clone(), ts) {
            a.note_source(source);
            fx.push(Effect::Agent(a.change()));
        }
    }

    fn on_logout(&mut self, agent: &Id, reason: &Option<Id>, ts: Ts, source: &Id, fx: &mut Vec<Effect>) {
        if !self.agents.contains_key(agent) {
            fx.push(Effect::Anomaly(Anomaly::LogoutOfUnknownAgent));
        }
        let a = self.agent_entry(agent, ts);
        if ts < a.since {
            fx.push(Effect::Anomaly(Anomaly::StaleAgentEvent));
            return;
        }
        let changed = a.enter(None, reason.clone(), ts);
        a.call = None;
        a.queue = None;
        a.login_at = None;
        if changed {
            a.note_source(source);
            fx.push(Effect::Agent(a.change()));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_agent_state(
        &mut self,
        agent: &Id,
        state: AgentState,
        reason: &Option<Id>,
        queue: &Option<Id>,
        call: &Option<Id>,
        ts: Ts,
        source: &Id,
        fx: &mut Vec<Effect>,
    ) {
        let a = self.agent_entry(agent, ts);
        if ts < a.since {
            fx.push(Effect::Anomaly(Anomaly::StaleAgentEvent));
            return;
        }
        // An unknown agent, or one we saw log out, is taken as logged in (contract §3).
        if a.state.is_none() {
            a.login_at = Some(ts);
        }
        // A reason only means something for not_ready; drop stale ones elsewhere.
        let reason = if state == AgentState::NotReady { reason.clone() } else { None };
        let changed = a.enter(Some(state), reason, ts);
        match (call, state) {
            (Some(c), _) => a.call = Some(c.clone()),
            (None, AgentState::Ready | AgentState::NotReady) => a.call = None,
            _ => {}
        }
        match (queue, state) {
            (Some(q), _) => a.queue = Some(q.clone()),
            (None, AgentState::Ready | AgentState::NotReady) => a.queue = None,
            _ => {}
        }
        if changed {
            a.note_source(source);
            fx.push(Effect::Agent(a.change()));
        }
    }

    /// The queue's calls are judged on the event time of the source that
    /// offered its latest call: a queue is fed by one ACD in practice, and one
    /// source per queue keeps the sweep from looking up every waiting call.
    fn note_queue_source(&mut self, queue: &Id, source: &Id) {
        let idx = self.queue_index.get(queue).or_else(|| self.queue_index.get(OVERFLOW_QUEUE));
        if let Some(&i) = idx
            && self.queues[i].source != *source
        {
            self.queues[i].source.clone_from(source);
        }
    }

    /// A team first seen in the feed joins the ones the config does not name, in
    /// natural order ("team-2" before "team-10"): the order the wall and the
    /// console list them in, whatever order their agents signed in.
    fn note_team(&mut self, team: &Id) {
        if !self.teams.iter().any(|(id, _)| id == team) {
            let seen = &self.teams[self.configured_teams.min(self.teams.len())..];
            let at = self.configured_teams.min(self.teams.len())
                + seen.partition_point(|(id, _)| natural_cmp(id, team) == std::cmp::Ordering::Less);
            self.teams.insert(at, (team.clone(), TeamInfo { name: team.clone(), lead: None }));
        }
    }

    /// The read model at `now`.
    pub fn snapshot(&mut self, now: Ts) -> Snapshot {
        let shift = self.calendar.shift_at(now);
        let mut windows: Vec<WindowSpec> = self
            .settings
            .rolling_ms
            .iter()
            .map(|&ms| {
                let secs = u64::try_from(ms / 1000).unwrap_or(0);
                WindowSpec { label: config::window_label(secs), secs: Some(secs) }
            })
            .collect();
        windows.push(WindowSpec { label: config::SHIFT_WINDOW.into(), secs: None });

        let queues = self
            .queues
            .iter()
            .map(|q| {
                let mut tallies: Vec<_> = self
                    .settings
                    .rolling_ms
                    .iter()
                    .map(|&w| q.ring.as_ref().map(|r| r.sum(now, w)).unwrap_or_default())
                    .collect();
                tallies.push(q.shift.get(shift.start));
                let trend = q.ring.as_ref().map(|r| r.offered_series(now, 60_000, 60)).unwrap_or_default();
                QueueView {
                    id: q.id.clone(),
                    name: q.name.clone(),
                    params: q.params,
                    configured: q.configured,
                    offered_total: q.offered,
                    answered_total: q.answered,
                    abandoned_total: q.abandoned,
                    waiting: q
                        .waiting
                        .iter()
                        .map(|(since, call)| WaitingCall { call: call.clone(), since: *since })
                        .collect(),
                    windows: tallies,
                    staffed: 0,
                    available: 0,
                    trend,
                }
            })
            .collect();

        let mut agents_by_state = [0u32; 6];
        let mut team_counts: FastMap<&Id, [u32; 6]> = FastMap::default();
        let mut agents = Vec::with_capacity(self.agents.len());
        let mut staffing = vec![0u32; self.queues.len()];
        for a in self.agents.values() {
            let Some(state) = a.state else { continue };
            agents_by_state[state.index()] += 1;
            if let Some(t) = &a.team {
                team_counts.entry(t).or_default()[state.index()] += 1;
            }
            // Serving the queue: on one of its calls or in the work after it
            // (an agent may keep its last call's queue while ready).
            let serving = state.on_call() || state == AgentState::Acw;
            if let Some(i) = a.queue.as_ref().filter(|_| serving).and_then(|q| self.queue_index.get(q)) {
                staffing[*i] += 1;
            }
            agents.push(a.clone());
        }
        let mut queues: Vec<QueueView> = queues;
        let ready = agents_by_state[AgentState::Ready.index()];
        for (q, staffed) in queues.iter_mut().zip(staffing) {
            (q.staffed, q.available) = (staffed, ready);
        }
        let teams = self
            .teams
            .iter()
            .map(|(id, info)| TeamView {
                id: id.clone(),
                name: info.name.clone(),
                lead: info.lead.clone(),
                agents_by_state: team_counts.get(id).copied().unwrap_or_default(),
            })
            .collect();

        let mut sources: Vec<SourceView> = self
            .sources
            .iter()
            .map(|(id, s)| SourceView {
                id: id.clone(),
                connections: s.connections,
                events: s.events,
                last_event_ts: s.last_event_ts,
                last_heard: s.last_heard,
            })
            .collect();
        sources.sort_by(|a, b| a.id.cmp(&b.id));
        let mut faults: Vec<FaultView> = self
            .faults
            .iter()
            .filter(|(_, f)| f.down)
            .map(|(c, f)| FaultView {
                component: c.clone(),
                source: f.source.clone(),
                since: f.since,
                detail: f.detail.clone(),
            })
            .collect();
        faults.sort_by_key(|f| f.since);

        Snapshot {
            taken_at: now,
            events_applied: self.events_applied,
            shift: ShiftView {
                name: self.calendar.shift_name(shift.index).to_owned(),
                start: shift.start,
                end: shift.end,
            },
            windows,
            queues,
            agents,
            agents_by_state,
            teams,
            sources,
            faults,
            aht_secs: self.aht_secs(),
        }
    }
}

#[cfg(test)]
mod tests;

/// `a` against `b` with runs of digits compared as numbers ("team-2" < "team-10"),
/// the rest byte by byte.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (i, j) = (run(x), run(y));
                // Leading zeros aside, a longer run is a larger number.
                let trim = |s: &[u8]| {
                    let z = s.iter().take_while(|c| **c == b'0').count();
                    s[z.min(s.len().saturating_sub(1))..].to_vec()
                };
                let (p, q) = (trim(&x[..i]), trim(&y[..j]));
                let o = p.len().cmp(&q.len()).then_with(|| p.cmp(&q));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
                (x, y) = (&x[i..], &y[j..]);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}
