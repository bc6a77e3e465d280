//! Alert rules: decide, from floor changes and the passing of time, which alert
//! conditions start and stop. Pure like `floor`: no IO, no tasks, no clock — one
//! engine step ([`crate::engine::Step`]) calls in with `now`, and the engine task
//! forwards the [`Signal`]s downstream, where the alert lifecycle
//! (acknowledgement, persistence, pushes) lives.
//!
//! Timers: an agent who stays in `acw` sends nothing more, so overruns are driven by
//! a deadline heap — one entry per agent state, never a scan of all agents. Stale
//! entries (the agent moved on) are skipped lazily by a per-agent generation number.
//! The engine sleeps until [`Rules::next_deadline`], so an overrun fires within the
//! engine's tick of its threshold.

pub mod checkpoint;
pub mod config;
pub mod erlang;
pub mod surge;
mod text;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::event::{AgentState, FastMap, Id, Ts};
use crate::floor::window::Tally;
use crate::floor::{AgentChange, Effect, Floor, QueueIdx, QueueParams, QueueStatus, slot_entry};
use crate::vocab::{self, Language};
use surge::{SurgeConfig, SurgeDetector};

// The alert vocabulary lives in `vocab`; rules speak it and re-export it, so
// `rules::Kind` keeps working for callers that think of kinds as rules.
pub use crate::vocab::{AlertKey, Kind, Severity, Subject};
pub use config::AlertsConfig;
pub use text::{kind_name, kind_title, patrol_overdue};

/// An alert's message in both languages: the record keeps the configured one,
/// and each notification receiver picks its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    fn of(f: impl Fn(Language) -> String) -> Text {
        Text { zh: f(Language::ZhCn), en: f(Language::En) }
    }

    pub fn pick(&self, lang: Language) -> &str {
        match lang {
            Language::ZhCn => &self.zh,
            Language::En => &self.en,
        }
    }
}

/// A condition that holds now (new, or changed severity or message).
#[derive(Debug, Clone, PartialEq)]
pub struct Fire {
    pub key: AlertKey,
    pub severity: Severity,
    /// When the condition began (event time: the agent entered acw at…).
    pub started_at: Ts,
    pub agent: Option<Id>,
    pub team: Option<Id>,
    pub queue: Option<Id>,
    pub source: Option<Id>,
    pub component: Option<Id>,
    pub text: Text,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// Boxed: a `Fire` is ~250 bytes and a burst is mostly `Clear`s, or the other way round.
    Fire(Box<Fire>),
    /// The condition no longer holds.
    Clear { key: AlertKey, at: Ts },
    /// Not an alert: a caller hung up unanswered (number known), passed along in
    /// order with the alerts so incidents can log them for a call-back.
    CallerLost(Box<CallerLost>),
}

/// A caller who abandoned, as the floor reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallerLost {
    pub queue: Option<Id>,
    pub call: Id,
    pub caller: Id,
    pub at: Ts,
}

impl Signal {
    /// The alert this signal is about (`None` for a lost caller).
    pub fn key(&self) -> Option<&AlertKey> {
        match self {
            Signal::Fire(f) => Some(&f.key),
            Signal::Clear { key, .. } => Some(key),
            Signal::CallerLost(_) => None,
        }
    }
}

/// What rules remember of an agent.
#[derive(Debug, Clone)]
struct Watch {
    change: AgentChange,
    /// Bumped on every change: heap entries of older generations are stale.
    generation: u64,
    /// Severity already raised for the current state.
    level: Option<Severity>,
    limit_ms: i64,
}

/// The part of an agent's [`Watch`] a change is judged against.
struct Previous {
    state: Option<AgentState>,
    level: Option<Severity>,
    generation: u64,
    /// The overrun the state being left really ran into, by its own events'
    /// times, if the timer had not raised it yet (a backlog delivered at once).
    overran: Option<Fire>,
}

/// The latches of one queue's rules.
#[derive(Debug, Default, Clone, Copy)]
struct QueueWatch {
    answer_rate: Latch,
    service_level: Latch,
    longest_wait: Latch,
    stuck: Latch,
    /// Since when the longest wait of a firing `longest_wait_high` has been
    /// back under its clear level (the hold-down: it resolves only once that
    /// has lasted `longest_wait_clear_after_secs`).
    wait_calm_since: Option<Ts>,
}

/// A queue rule's memory of whether it is firing. It fires when its condition
/// holds and clears only when a separate, stricter condition holds (hysteresis):
/// a figure hovering at the threshold raises one alert, not one per event.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Latch {
    on: bool,
}

/// What a [`Latch`] step changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Fire,
    Clear,
}

impl Latch {
    /// Off and `fire`: goes on. On and `clear`: goes off. Otherwise stays.
    fn step(&mut self, fire: bool, clear: bool) -> Option<Edge> {
        match self.on {
            false if fire => {
                self.on = true;
                Some(Edge::Fire)
            }
            true if clear => {
                self.on = false;
                Some(Edge::Clear)
            }
            _ => None,
        }
    }

    fn is_on(self) -> bool {
        self.on
    }

    /// Whether [`Latch::step`] with these conditions would change it.
    fn would_change(self, fire: bool, clear: bool) -> bool {
        if self.on { clear } else { fire }
    }
}

/// What a queue rule's latch `edge` sends: the alert `fire` builds from its key,
/// or the key's clear. The key is built only on an edge: latches are stepped for
/// every queue a batch touches.
fn latched(
    edge: Option<Edge>,
    key: impl FnOnce() -> AlertKey,
    now: Ts,
    fire: impl FnOnce(AlertKey) -> Fire,
) -> Option<Signal> {
    Some(match edge? {
        Edge::Fire => Signal::Fire(Box::new(fire(key()))),
        Edge::Clear => Signal::Clear { key: key(), at: now },
    })
}

fn queue_key(kind: Kind, queue: &Id) -> AlertKey {
    AlertKey { kind, subject: Subject::Queue(queue.clone()) }
}

pub struct Rules {
    cfg: AlertsConfig,
    window_ms: i64,
    /// Overrun deadlines: (due, generation, agent slot).
    heap: BinaryHeap<Reverse<(Ts, u64, u32)>>,
    /// Deadlines the wall clock has passed but the agent's source's event time
    /// has not (it is delivering a backlog): back on the heap with the next
    /// batch, the only thing that moves a lagging source's watermark.
    held: Vec<(Ts, u64, u32)>,
    /// Indexed by the floor's agent slot (`AgentChange::slot`): no hashing per
    /// agent event. `None` for an agent logged out or not seen yet.
    agents: Vec<Option<Watch>>,
    logged_in: u32,
    /// Event times of recent logouts (last 60 s), for the mass-logout signature.
    logouts: VecDeque<Ts>,
    mass_logout_since: Option<Ts>,
    queues: FastMap<Id, QueueWatch>,
    sources_down: FastMap<Id, Ts>,
    /// Per source: (engine time, numbers missing) of recent `seq` gaps.
    gaps: FastMap<Id, VecDeque<(Ts, u64)>>,
    /// Sources with an event-loss fault raised, since when.
    losing: FastMap<Id, Ts>,
    /// Per queue: the traffic-surge detector, whether it is firing, and until
    /// when evaluating it would change nothing ([`SurgeDetector::quiet_until`]).
    surges: FastMap<Id, (SurgeDetector, bool, Ts)>,
    surge_cfg: SurgeConfig,
    tz: chrono_tz::Tz,
    /// Keys restored as open from the store at start, not yet confirmed or cleared.
    restored: Vec<AlertKey>,
    next_sweep: Ts,
    /// No sweep before this time can change anything unless an input comes
    /// first (each input lowers it to what it may have changed): the earliest
    /// moment a window loses a slice that flips a latch, a wait reaches its
    /// threshold, a source's silence its timeout, a surge interval closes…
    /// Sweeps before it are skipped, and [`Rules::next_deadline`] names the
    /// first sweep at or after it, so a replay (and an idle floor) wakes only
    /// when something may happen. See [`Rules::on_tick`].
    quiet_until: Ts,
    /// Sweep every time regardless of `quiet_until`: the reference that
    /// replay's tests hold the skipping to.
    sweep_always: bool,
    /// Agent presence is inferred, not reported (a call log replayed): the
    /// stuck-dispatcher signature, whose evidence is ready agents, is off.
    presence_inferred: bool,
}

const SWEEP_MS: i64 = 5_000;
/// The component a mass logout is raised on: the floor's agents as a whole.
const AGENTS: &str = "agents";
const MASS_LOGOUT_WINDOW_MS: i64 = 60_000;
/// Handle time assumed for staffing before any call has been handled today.
const DEFAULT_AHT_SECS: f64 = 240.0;
const GAP_WINDOW_MS: i64 = 60_000;

impl Rules {
    /// `baselines`: learned traffic profiles by queue, as saved by [`Rules::baselines`].
    pub fn new(
        cfg: &AlertsConfig,
        tz: chrono_tz::Tz,
        restored: Vec<AlertKey>,
        baselines: Vec<(Id, String)>,
    ) -> Rules {
        let surge_cfg = SurgeConfig {
            interval_secs: cfg.surge_interval_secs,
            warmup_intervals: cfg.surge_warmup_intervals,
            min_calls: cfg.surge_min_calls,
            ..SurgeConfig::default()
        };
        let surges = baselines
            .into_iter()
            .filter_map(|(q, json)| match SurgeDetector::from_json(surge_cfg, tz, &json) {
                Some(d) => Some((q, (d, false, Ts::MIN))),
                None => {
                    // Another interval length or a damaged entry: learn afresh.
                    tracing::warn!(queue = %q, "stored traffic baseline not usable; learning it again");
                    None
                }
            })
            .collect();
        Rules {
            surges,
            surge_cfg,
            tz,
            window_ms: i64::try_from(cfg.queue_window_secs).unwrap_or(900) * 1000,
            cfg: cfg.clone(),
            heap: BinaryHeap::new(),
            held: Vec::new(),
            agents: Vec::new(),
            logged_in: 0,
            logouts: VecDeque::new(),
            mass_logout_since: None,
            queues: FastMap::default(),
            sources_down: FastMap::default(),
            gaps: FastMap::default(),
            losing: FastMap::default(),
            restored,
            next_sweep: Ts::MIN,
            quiet_until: Ts::MIN,
            sweep_always: false,
            presence_inferred: false,
        }
    }

    /// Sweep on every point of the sweep grid, as if nothing were ever quiet
    /// (the reference a test compares the skipping with).
    pub fn sweep_always(&mut self) {
        self.sweep_always = true;
    }

    /// Agent presence is inferred from the calls (a historical call log): the
    /// stuck-dispatcher signature ("calls come, none is answered, agents are
    /// ready") is off, since "ready" there is only "between two inferred calls".
    pub fn presence_inferred(&mut self) {
        self.presence_inferred = true;
    }

    /// Something outside the effects changed at `now` (a connection, the
    /// floor's purge): the next sweep looks at everything.
    pub fn wake(&mut self, now: Ts) {
        self.quiet_until = self.quiet_until.min(now);
    }

    /// The earliest time something may fire without any event: an overrun
    /// threshold or the next sweep of queues and sources that may change
    /// anything (the first point of the 5 s sweep grid at or after `quiet_until`).
    pub fn next_deadline(&self) -> Ts {
        let sweep = self.next_sweep_due();
        self.heap.peek().map_or(sweep, |Reverse((t, _, _))| (*t).min(sweep))
    }

    fn next_sweep_due(&self) -> Ts {
        if self.sweep_always || self.quiet_until <= self.next_sweep || self.next_sweep == Ts::MIN {
            return self.next_sweep;
        }
        if self.quiet_until == Ts::MAX {
            return Ts::MAX;
        }
        let behind = self.quiet_until.saturating_sub(self.next_sweep);
        let steps = behind / SWEEP_MS + i64::from(behind % SWEEP_MS != 0);
        self.next_sweep.saturating_add(steps.saturating_mul(SWEEP_MS))
    }

    fn quiet(&mut self, until: Ts) {
        self.quiet_until = self.quiet_until.min(until);
    }

    /// Reacts to what one batch of events changed.
    pub fn on_effects(&mut self, floor: &Floor, fx: &[Effect], now: Ts, out: &mut Vec<Signal>) {
        if !self.held.is_empty() {
            // The batch may have moved a lagging source's event time past them.
            self.heap.extend(self.held.drain(..).map(Reverse));
        }
        let mut touched: Vec<QueueIdx> = Vec::new();
        for e in fx {
            match e {
                Effect::Agent(c) => self.on_agent(c, now, out),
                Effect::Fault { component, down, since, detail } => {
                    let key =
                        AlertKey { kind: Kind::SystemFault, subject: Subject::Component(component.clone()) };
                    if *down {
                        out.push(Signal::Fire(Box::new(Fire {
                            text: Text::of(|l| {
                                text::fault(l, self.cfg.names.component(component, l), detail.as_deref())
                            }),
                            component: Some(component.clone()),
                            ..self.fire(key, Severity::Critical, *since)
                        })));
                    } else {
                        // A restored fault alert is settled by this "up".
                        self.restored.retain(|k| *k != key);
                        out.push(Signal::Clear { key, at: *since });
                    }
                }
                Effect::Offered { queue, ts } => {
                    let tz = self.tz;
                    let cfg = self.surge_cfg;
                    // One hash per offer; the key is cloned only for a new queue.
                    let (d, _, quiet) = self
                        .surges
                        .entry_ref(floor.queue_id(*queue))
                        .or_insert_with(|| (SurgeDetector::new(cfg, tz), false, Ts::MIN));
                    d.offered(*ts);
                    *quiet = d.quiet_until(now);
                    self.quiet_until = self.quiet_until.min(*quiet);
                    if !touched.contains(queue) {
                        touched.push(*queue);
                    }
                }
                Effect::CallerLost { queue, call, caller, ts } => {
                    out.push(Signal::CallerLost(Box::new(CallerLost {
                        queue: queue.map(|q| floor.queue_id(q).clone()),
                        call: call.clone(),
                        caller: caller.clone(),
                        at: *ts,
                    })));
                }
                Effect::Answered(q) | Effect::Abandoned(q) if !touched.contains(q) => {
                    touched.push(*q);
                }
                _ => {}
            }
        }
        for q in touched {
            self.check_queue(floor, q, now, false, out);
        }
        // What the batch may have changed for the sweep. A source it was heard
        // from goes down at the earliest a timeout from now; one reported down
        // may be back.
        let timeout = i64::from(self.cfg.source_timeout_secs) * 1000;
        self.quiet(now.saturating_add(timeout).saturating_add(1));
        if !self.sources_down.is_empty() {
            self.quiet(now);
        }
        self.quiet(self.mass_logout_end());
    }

    /// Lets time pass: fires due overruns; every few seconds sweeps queues and sources.
    pub fn on_tick(&mut self, floor: &Floor, now: Ts, out: &mut Vec<Signal>) {
        while let Some(&Reverse((due, generation, slot))) = self.heap.peek() {
            if due > now {
                break;
            }
            self.heap.pop();
            self.overrun_due(floor, due, slot, generation, now, out);
        }
        if now < self.next_sweep {
            return;
        }
        // The grid point this call stands for (`now` itself when every point is
        // visited). A sweep there, before `quiet_until`, would find what the last
        // one found: skipped, and the grid kept, so the sweeps that do happen
        // fall where an every-second run would have made them.
        let point = if self.next_sweep == Ts::MIN {
            now
        } else {
            self.next_sweep + (now - self.next_sweep) / SWEEP_MS * SWEEP_MS
        };
        if point < self.quiet_until && !self.sweep_always {
            self.next_sweep = point.saturating_add(SWEEP_MS);
            return;
        }
        self.next_sweep = now + SWEEP_MS;
        // Each check below lowers it again to when its own rule may next change.
        self.quiet_until = Ts::MAX;
        for q in 0..floor.queue_count() {
            self.check_queue(floor, q, now, true, out);
        }
        self.check_sources(floor, now, out);
        if !self.sources_down.is_empty() {
            // Back when heard from again, which only the floor knows of.
            self.quiet(now);
        }
        self.check_surges(floor, now, out);
        self.check_mass_logout_end(now, out);
        self.check_event_loss_end(now, out);
        // Restored alerts whose condition nobody has re-confirmed by now are over:
        // the floor they described is gone (e.g. a restart lost the agent's state
        // and the agent has since moved on, or the queue has calmed down).
        let restored = std::mem::take(&mut self.restored);
        for key in restored {
            if self.still_holds(&key) {
                self.restored.push(key);
            } else {
                out.push(Signal::Clear { key, at: now });
            }
        }
        if !self.restored.is_empty() {
            self.quiet(now);
        }
        self.quiet(self.mass_logout_end());
        for (s, _) in &self.losing {
            let last = self.gaps.get(s).and_then(|g| g.back()).map_or(now, |(t, _)| *t);
            self.quiet_until = self.quiet_until.min(last.saturating_add(5 * GAP_WINDOW_MS + 1));
        }
    }

    /// When a raised mass logout may end (`Ts::MAX` if none is raised).
    fn mass_logout_end(&self) -> Ts {
        self.mass_logout_since.map_or(Ts::MAX, |since| {
            let last = self.logouts.back().copied().unwrap_or(since);
            last.max(since) + MASS_LOGOUT_WINDOW_MS * 5 + 1
        })
    }

    /// Whether an alert restored from the store may still be true. Agent alerts wait
    /// for news of the agent (after a restart the floor knows nothing yet); queue and
    /// source alerts hold only if the rule has fired them again since the start.
    fn still_holds(&self, key: &AlertKey) -> bool {
        match (key.kind, &key.subject) {
            (Kind::AcwOverrun, Subject::Agent(a)) => {
                self.agent(a).is_none_or(|w| w.change.state == Some(AgentState::Acw))
            }
            (Kind::BusyOverrun, Subject::Agent(a)) => {
                self.agent(a).is_none_or(|w| w.change.state == Some(AgentState::NotReady))
            }
            (Kind::AnswerRateLow, Subject::Queue(q)) => {
                self.queues.get(q).is_some_and(|w| w.answer_rate.is_on())
            }
            (Kind::ServiceLevelLow, Subject::Queue(q)) => {
                self.queues.get(q).is_some_and(|w| w.service_level.is_on())
            }
            (Kind::LongestWaitHigh, Subject::Queue(q)) => {
                self.queues.get(q).is_some_and(|w| w.longest_wait.is_on())
            }
            (Kind::TrafficSurge, Subject::Queue(q)) => {
                self.surges.get(q).is_some_and(|(_, firing, _)| *firing)
            }
            (Kind::SourceDown, Subject::Source(s)) => self.sources_down.contains_key(s),
            (Kind::SystemFault, Subject::Dispatcher(q)) => {
                self.queues.get(q).is_some_and(|w| w.stuck.is_on())
            }
            (Kind::SystemFault, Subject::CtiLink(s)) => self.losing.contains_key(s),
            (Kind::SystemFault, Subject::Component(c)) if c.as_str() == AGENTS => {
                self.mass_logout_since.is_some()
            }
            // A component fault ends with the component's own "up" event.
            (Kind::SystemFault, Subject::Component(_)) => true,
            // Raised and cleared by the shift task (its own rule on the patrol
            // log), which restores its open ones at start: not the rules' to judge.
            (Kind::PatrolOverdue, _) => true,
            // `Subject::of` never pairs a kind with another kind's subject.
            _ => false,
        }
    }

    /// A burst of `seq` gaps from one source means its link is losing events:
    /// 3 gaps, or 50 missing numbers, within a minute.
    pub fn on_seq_gaps(&mut self, source: &Id, gaps: u64, missing: u64, now: Ts, out: &mut Vec<Signal>) {
        let recent = self.gaps.entry(source.clone()).or_default();
        recent.push_back((now, missing));
        // One entry per gap occurrence would be exact; a frame's gaps share a time.
        for _ in 1..gaps {
            recent.push_back((now, 0));
        }
        while recent.front().is_some_and(|(t, _)| *t < now - GAP_WINDOW_MS) {
            recent.pop_front();
        }
        let n = recent.len();
        let lost: u64 = recent.iter().map(|(_, m)| m).sum();
        // An event-loss fault raised now ends five minutes after its last gap.
        self.quiet_until = self.quiet_until.min(now + 5 * GAP_WINDOW_MS + 1);
        if (n >= 3 || lost >= 50) && !self.losing.contains_key(source) {
            self.losing.insert(source.clone(), now);
            let subject = Subject::CtiLink(source.clone());
            let mut f = self.fire(AlertKey { kind: Kind::SystemFault, subject }, Severity::Critical, now);
            f.source = Some(source.clone());
            f.component = Some(Id::from(vocab::CTI_LINK));
            f.text = Text::of(|l| text::event_loss(l, source, n, lost));
            f.value = Some(lost as f64);
            out.push(Signal::Fire(Box::new(f)));
        }
    }

    /// An event-loss fault clears after five minutes without a gap.
    fn check_event_loss_end(&mut self, now: Ts, out: &mut Vec<Signal>) {
        let over: Vec<Id> = self
            .losing
            .keys()
            .filter(|s| {
                self.gaps.get(*s).and_then(|g| g.back()).is_none_or(|(t, _)| now - t > 5 * GAP_WINDOW_MS)
            })
            .cloned()
            .collect();
        for source in over {
            self.losing.remove(&source);
            self.gaps.remove(&source);
            let subject = Subject::CtiLink(source.clone());
            out.push(Signal::Clear { key: AlertKey { kind: Kind::SystemFault, subject }, at: now });
        }
    }

    fn fire(&self, key: AlertKey, severity: Severity, started_at: Ts) -> Fire {
        Fire {
            key,
            severity,
            started_at,
            agent: None,
            team: None,
            queue: None,
            source: None,
            component: None,
            text: Text::default(),
            value: None,
            threshold: None,
        }
    }

    fn acw_limit_ms(&self, c: &AgentChange) -> i64 {
        let secs = c
            .team
            .as_ref()
            .and_then(|t| self.cfg.acw_overrun_secs_by_team.get(t.as_str()))
            .or_else(|| c.queue.as_ref().and_then(|q| self.cfg.acw_overrun_secs_by_queue.get(q.as_str())))
            .copied()
            .unwrap_or(self.cfg.acw_overrun_secs);
        i64::from(secs) * 1000
    }

    /// The overrun limit of the agent's new state; 0 when the state has none.
    fn limit_ms(&self, c: &AgentChange) -> i64 {
        match c.state {
            Some(AgentState::Acw) => self.acw_limit_ms(c),
            Some(AgentState::NotReady) => self.busy_limit_ms(c.reason.as_deref()),
            _ => 0,
        }
    }

    fn busy_limit_ms(&self, reason: Option<&str>) -> i64 {
        let secs = reason
            .and_then(|r| self.cfg.busy_limit_secs.get(r))
            .copied()
            .unwrap_or(self.cfg.busy_default_secs);
        i64::from(secs) * 1000
    }

    fn on_agent(&mut self, c: &AgentChange, now: Ts, out: &mut Vec<Signal>) {
        // What was known of the agent. Its watch is updated in place at the end
        // (taking it out and putting a new one back moved ~150 bytes twice per
        // agent event and churned the table).
        let slot = c.slot as usize;
        let critical_factor = self.cfg.critical_factor;
        let previous = slot_entry(&mut self.agents, c.slot).as_ref().map(|w| {
            // Left after its limit by the events' own times, yet never raised:
            // the timer waited for a lagging source, whose backlog this is.
            let elapsed = c.since - w.change.since;
            let overran = (w.level.is_none() && w.limit_ms > 0 && elapsed >= w.limit_ms)
                .then(|| overrun_kind(w.change.state))
                .flatten()
                .map(|kind| {
                    let critical_at = (w.limit_ms as f64 * critical_factor) as i64;
                    let severity =
                        if elapsed >= critical_at { Severity::Critical } else { Severity::Warning };
                    overrun_fire(kind, severity, &w.change, elapsed, w.limit_ms)
                });
            Previous { state: w.change.state, level: w.level, generation: w.generation, overran }
        });
        // Leaving a state ends its overrun, if one was raised (or restored).
        if let Some(prev) = previous.as_ref()
            && let Some(f) = &prev.overran
        {
            // Raised with its true start, then cleared at once by this change.
            self.restored.retain(|k| *k != f.key);
            out.push(Signal::Fire(Box::new(f.clone())));
            out.push(Signal::Clear { key: f.key.clone(), at: c.since });
        }
        if let Some(prev) = &previous {
            let was = prev.state;
            let kind = match was {
                Some(AgentState::Acw) => Some(Kind::AcwOverrun),
                Some(AgentState::NotReady) => Some(Kind::BusyOverrun),
                _ => None,
            };
            if let Some(kind) = kind
                && prev.level.is_some()
                && prev.overran.is_none()
            {
                let subject = Subject::Agent(c.agent.clone());
                out.push(Signal::Clear { key: AlertKey { kind, subject }, at: c.since });
            }
        }
        self.restored.retain(|k| {
            let keep = !matches!(&k.subject, Subject::Agent(a) if *a == c.agent)
                || !matches!(k.kind, Kind::AcwOverrun | Kind::BusyOverrun);
            if !keep {
                let leaving = match k.kind {
                    Kind::AcwOverrun => c.state != Some(AgentState::Acw),
                    _ => c.state != Some(AgentState::NotReady),
                };
                if leaving {
                    out.push(Signal::Clear { key: k.clone(), at: c.since });
                }
            }
            keep
        });

        match (previous.as_ref().and_then(|p| p.state), c.state) {
            (None, Some(_)) => self.logged_in += 1,
            (Some(_), None) => {
                self.logged_in = self.logged_in.saturating_sub(1);
                self.on_logout(c.since, now, out);
            }
            _ => {}
        }
        let limit_ms = self.limit_ms(c);
        let generation = previous.as_ref().map_or(0, |p| p.generation + 1);
        if c.state.is_none() {
            self.agents[slot] = None;
            return;
        }
        if limit_ms > 0 {
            self.heap.push(Reverse((c.since + limit_ms, generation, c.slot)));
        }
        match &mut self.agents[slot] {
            Some(w) => {
                w.change.clone_from(c);
                w.generation = generation;
                w.level = None;
                w.limit_ms = limit_ms;
            }
            empty => *empty = Some(Watch { change: c.clone(), generation, level: None, limit_ms }),
        }
    }

    /// The watch of the agent `id` (a scan: for restored alerts, not per event).
    fn agent(&self, id: &Id) -> Option<&Watch> {
        self.agents.iter().flatten().find(|w| w.change.agent == *id)
    }

    /// The overrun deadline `due` of the agent in `slot` has passed on the
    /// wall clock; it fires only once the agent's source's event time has
    /// passed it too (otherwise it is held until that source's next batch), and
    /// it is measured in that time: a backlog never reads as an hour in ACW.
    fn overrun_due(
        &mut self,
        floor: &Floor,
        due: Ts,
        slot: u32,
        generation: u64,
        now: Ts,
        out: &mut Vec<Signal>,
    ) {
        let critical_factor = self.cfg.critical_factor;
        let Some(Some(w)) = self.agents.get_mut(slot as usize) else { return };
        if w.generation != generation || w.limit_ms == 0 {
            return;
        }
        let Some(kind) = overrun_kind(w.change.state) else { return };
        let at = now.min(floor.watermark(&w.change.source, now));
        if at < due {
            self.held.push((due, generation, slot));
            return;
        }
        let elapsed = at - w.change.since;
        let critical_at = (w.limit_ms as f64 * critical_factor) as i64;
        let severity = if elapsed >= critical_at { Severity::Critical } else { Severity::Warning };
        if w.level.is_some_and(|l| l >= severity) {
            return;
        }
        w.level = Some(severity);
        if severity == Severity::Warning && critical_at > w.limit_ms {
            self.heap.push(Reverse((w.change.since + critical_at, generation, slot)));
        }
        let f = overrun_fire(kind, severity, &w.change, elapsed, w.limit_ms);
        self.restored.retain(|k| *k != f.key);
        out.push(Signal::Fire(Box::new(f)));
    }

    fn on_logout(&mut self, ts: Ts, now: Ts, out: &mut Vec<Signal>) {
        self.logouts.push_back(ts);
        while self.logouts.front().is_some_and(|t| *t < ts - MASS_LOGOUT_WINDOW_MS) {
            self.logouts.pop_front();
        }
        let n = self.logouts.len() as u32;
        let before = self.logged_in + n;
        let needed = (f64::from(before) * self.cfg.mass_logout_share).ceil() as u32;
        if n >= self.cfg.mass_logout_min_agents.max(needed) && self.mass_logout_since.is_none() {
            self.mass_logout_since = Some(now);
            let key = AlertKey { kind: Kind::SystemFault, subject: Subject::Component(Id::from(AGENTS)) };
            let mut f = self.fire(key, Severity::Critical, ts);
            f.component = Some(Id::from(AGENTS));
            f.text = Text::of(|l| text::mass_logout(l, n, before));
            f.value = Some(f64::from(n));
            out.push(Signal::Fire(Box::new(f)));
        }
    }

    /// A mass logout clears once no agent has logged out for a full window.
    fn check_mass_logout_end(&mut self, now: Ts, out: &mut Vec<Signal>) {
        if let Some(since) = self.mass_logout_since {
            let last = self.logouts.back().copied().unwrap_or(since);
            if now - last.max(since) > MASS_LOGOUT_WINDOW_MS * 5 {
                self.mass_logout_since = None;
                self.logouts.clear();
                out.push(Signal::Clear {
                    key: AlertKey { kind: Kind::SystemFault, subject: Subject::Component(Id::from(AGENTS)) },
                    at: now,
                });
            }
        }
    }

    fn check_queue(&mut self, floor: &Floor, idx: QueueIdx, now: Ts, sweep: bool, out: &mut Vec<Signal>) {
        let stuck_ms = i64::from(self.cfg.stuck_secs) * 1000;
        let st = floor.queue_status(idx, now, self.window_ms, stuck_ms);
        let id = st.id.clone();
        let mut w = self.queues.get(&id).copied().unwrap_or_default();
        let t = &st.window;
        let volume = t.answered + t.abandoned.saturating_sub(t.abandoned_short);
        let hyst = self.cfg.hysteresis;
        let (fire_rate, clear_rate) = self.rate_limits(t);
        let (fire_sl, clear_sl) = sl_limits(t, &st.params, hyst, self.cfg.min_calls);

        // Answer rate (接通率).
        if let Some(rate) = t.answer_rate() {
            let min = self.cfg.answer_rate_min;
            let edge = w.answer_rate.step(fire_rate, clear_rate);
            out.extend(latched(
                edge,
                || queue_key(Kind::AnswerRateLow, &id),
                now,
                |key| {
                    let mut f = self.queue_fire(key, &id, now, rate, min);
                    f.text =
                        Text::of(|l| text::answer_rate(l, self.cfg.names.queue(&id, l), rate, min, volume));
                    f
                },
            ));
        }
        // Service level against the queue's own target.
        if let Some(sl) = t.service_level(&st.params) {
            let target = st.params.sl_target;
            let edge = w.service_level.step(fire_sl, clear_sl);
            out.extend(latched(
                edge,
                || queue_key(Kind::ServiceLevelLow, &id),
                now,
                |key| {
                    let mut f = self.queue_fire(key, &id, now, sl, target);
                    f.text = Text::of(|l| {
                        text::service_level(
                            l,
                            self.cfg.names.queue(&id, l),
                            sl,
                            target,
                            st.params.sl_threshold_secs,
                        )
                    });
                    f
                },
            ));
        }
        // Longest wait: grows with time alone, so also checked on the sweep. It
        // clears only once the wait has stayed under its clear level for the
        // hold-down, so one bad hour is one alert, not one per caller over 2 min.
        let max_ms = i64::from(self.cfg.longest_wait_max_secs) * 1000;
        let hold_ms = i64::from(self.cfg.longest_wait_clear_after_secs) * 1000;
        let wait_ms = st.longest_wait_ms;
        let mut calm_since = None;
        if w.longest_wait.is_on() {
            if wait_ms < max_ms * 4 / 5 {
                calm_since = Some(*w.wait_calm_since.get_or_insert(now));
            } else {
                w.wait_calm_since = None;
            }
        }
        let held_down = calm_since.is_some_and(|c| now - c >= hold_ms);
        let edge = w.longest_wait.step(wait_ms >= max_ms, held_down);
        if edge.is_some() {
            w.wait_calm_since = None;
        }
        out.extend(latched(
            edge,
            || queue_key(Kind::LongestWaitHigh, &id),
            // Resolved when the wait came back down: the hold-down only confirms it.
            calm_since.unwrap_or(now),
            |key| {
                let secs = wait_ms as f64 / 1000.0;
                let mut f = self.queue_fire(key, &id, now, secs, max_ms as f64 / 1000.0);
                f.severity = if wait_ms >= 2 * max_ms { Severity::Critical } else { Severity::Warning };
                f.text = Text::of(|l| text::longest_wait(l, self.cfg.names.queue(&id, l), wait_ms, max_ms));
                f
            },
        ));
        // Stuck dispatcher: calls keep coming, none is answered, agents are ready.
        if sweep && !self.presence_inferred {
            let r = &st.recent;
            let ready = floor.agents_in(AgentState::Ready);
            let stuck = r.offered >= self.cfg.stuck_min_offered && r.answered == 0 && ready > 0;
            let edge = w.stuck.step(stuck, !stuck && r.answered > 0);
            let dispatcher =
                || AlertKey { kind: Kind::SystemFault, subject: Subject::Dispatcher(id.clone()) };
            out.extend(latched(edge, dispatcher, now, |key| {
                let mut f = self.fire(key, Severity::Critical, now);
                f.queue = Some(id.clone());
                f.component = Some(Id::from(vocab::DISPATCHER));
                f.text = Text::of(|l| {
                    text::stuck(l, self.cfg.names.queue(&id, l), r.offered, ready, self.cfg.stuck_secs)
                });
                f.value = Some(f64::from(r.offered));
                f
            }));
        }
        let until = self.queue_quiet(&st, &w, now, stuck_ms);
        self.quiet(until);
        self.queues.insert(id, w);
    }

    /// The answer-rate latch's (fire, clear) conditions over the tally `t`.
    fn rate_limits(&self, t: &Tally) -> (bool, bool) {
        let volume = t.answered + t.abandoned.saturating_sub(t.abandoned_short);
        let min = self.cfg.answer_rate_min;
        t.answer_rate().map_or((false, false), |r| {
            (volume >= self.cfg.min_calls && r < min, r >= min + self.cfg.hysteresis)
        })
    }

    /// When the queue rules may next change their mind with time alone, given
    /// the status `st` just judged and the latches `w` as they now stand: the
    /// windows' slices leaving one by one (the first that would flip a latch),
    /// a slice stamped ahead of `now` entering, the longest wait reaching its
    /// threshold or its clear level, the hold-down ending. Each bound is at or
    /// before the real moment, never after it (a sweep too early finds nothing;
    /// one skipped would miss an alert).
    fn queue_quiet(&self, st: &QueueStatus<'_>, w: &QueueWatch, now: Ts, stuck_ms: i64) -> Ts {
        let mut until = Ts::MAX;
        let max_ms = i64::from(self.cfg.longest_wait_max_secs) * 1000;
        if let Some(since) = st.oldest_waiting_since {
            if !w.longest_wait.is_on() {
                until = until.min(since + max_ms);
            } else if w.wait_calm_since.is_some() {
                // Calm is broken by the wait growing back to the clear level.
                until = until.min(since + max_ms * 4 / 5);
            }
        }
        if w.longest_wait.is_on()
            && let Some(calm) = w.wait_calm_since
        {
            until = until.min(calm + i64::from(self.cfg.longest_wait_clear_after_secs) * 1000);
        }
        let Some(ring) = st.ring else { return until };
        if let Some(at) = ring.entering(now) {
            until = until.min(at);
        }
        let (hyst, min_calls) = (self.cfg.hysteresis, self.cfg.min_calls);
        let mut t = st.window;
        let flips = |t: &Tally| {
            let (fire, clear) = self.rate_limits(t);
            let (fire_sl, clear_sl) = sl_limits(t, &st.params, hyst, min_calls);
            (t.answer_rate().is_some() && w.answer_rate.would_change(fire, clear))
                || (t.service_level(&st.params).is_some() && w.service_level.would_change(fire_sl, clear_sl))
        };
        if let Some(at) = ring.leaving(now, self.window_ms, |slice| {
            t.sub(slice);
            flips(&t)
        }) {
            until = until.min(at);
        }
        if !self.presence_inferred {
            // Ready agents are not known here (they change without touching a
            // queue), so a queue that would be stuck if any agent were ready is
            // looked at on every sweep.
            let min_offered = self.cfg.stuck_min_offered;
            let changes =
                |r: &Tally| w.stuck.would_change(r.offered >= min_offered && r.answered == 0, r.answered > 0);
            let mut r = st.recent;
            if changes(&r) {
                return now;
            }
            if let Some(at) = ring.leaving(now, stuck_ms, |slice| {
                r.sub(slice);
                changes(&r)
            }) {
                until = until.min(at);
            }
        }
        until
    }

    fn queue_fire(&self, key: AlertKey, queue: &Id, now: Ts, value: f64, threshold: f64) -> Fire {
        let mut f = self.fire(key, Severity::Warning, now);
        f.queue = Some(queue.clone());
        f.value = Some(value);
        f.threshold = Some(threshold);
        f
    }

    /// Learned traffic profiles to keep across restarts: (queue, JSON).
    pub fn baselines(&self) -> Vec<(Id, String)> {
        self.surges.iter().map(|(q, (d, _, _))| (q.clone(), d.to_json())).collect()
    }

    /// 话务异动: offered volume significantly above the queue's learned level. The
    /// message gives observed against expected and, by Erlang C at the queue's
    /// service-level target, how many more agents the observed rate needs.
    fn check_surges(&mut self, floor: &Floor, now: Ts, out: &mut Vec<Signal>) {
        let mut aht = None;
        let mut ready = None;
        let names = &self.cfg.names;
        let mut quiet = Ts::MAX;
        let always = self.sweep_always;
        for (queue, (detector, firing, until)) in &mut self.surges {
            // Another queue's rule woke the sweep: this detector, still quiet,
            // would say what it said.
            if now < *until && !always {
                quiet = quiet.min(*until);
                continue;
            }
            let verdict = detector.evaluate(now);
            *until = detector.quiet_until(now);
            quiet = quiet.min(*until);
            let Some(v) = verdict else { continue };
            let key = AlertKey { kind: Kind::TrafficSurge, subject: Subject::Queue(queue.clone()) };
            if v.surging && !*firing {
                *firing = true;
                let params = floor
                    .queue_index(queue)
                    .map(|i| floor.queue_status(i, now, 0, 0).params)
                    .unwrap_or_default();
                let aht_secs = *aht.get_or_insert_with(|| floor.aht_secs().unwrap_or(DEFAULT_AHT_SECS));
                let ready_now = *ready.get_or_insert_with(|| floor.agents_in(AgentState::Ready));
                // The queue already has the agents working its calls; the floor's ready
                // agents could join. What is short beyond both must be added.
                let serving = floor.agents_serving(queue);
                let needed = surge::agents_needed(
                    v.observed_per_hour(),
                    aht_secs,
                    f64::from(params.sl_threshold_secs),
                    params.sl_target,
                );
                let mut f = Fire {
                    key,
                    severity: Severity::Warning,
                    started_at: now,
                    agent: None,
                    team: None,
                    queue: Some(queue.clone()),
                    source: None,
                    component: None,
                    text: Text::of(|l| {
                        text::surge(
                            l,
                            names.queue(queue, l),
                            v.observed,
                            v.expected,
                            v.span_secs,
                            needed,
                            serving,
                            ready_now,
                        )
                    }),
                    value: Some(f64::from(v.observed)),
                    threshold: Some(v.expected),
                };
                if needed.is_some_and(|n| n > ready_now + serving) {
                    f.severity = Severity::Critical;
                }
                out.push(Signal::Fire(Box::new(f)));
            } else if !v.surging && *firing {
                *firing = false;
                out.push(Signal::Clear { key, at: now });
            }
        }
        self.quiet(quiet);
    }

    fn check_sources(&mut self, floor: &Floor, now: Ts, out: &mut Vec<Signal>) {
        let timeout = i64::from(self.cfg.source_timeout_secs) * 1000;
        for (id, connections, last_heard) in floor.named_sources() {
            let silent = now - last_heard;
            let down = silent > timeout;
            match (down, self.sources_down.contains_key(id)) {
                (true, false) => {
                    self.sources_down.insert(id.clone(), now);
                    let key = AlertKey { kind: Kind::SourceDown, subject: Subject::Source(id.clone()) };
                    let mut f = self.fire(key, Severity::Critical, last_heard);
                    f.source = Some(id.clone());
                    f.text = Text::of(|l| text::source_down(l, id, connections > 0, silent));
                    f.value = Some(silent as f64 / 1000.0);
                    f.threshold = Some(timeout as f64 / 1000.0);
                    out.push(Signal::Fire(Box::new(f)));
                }
                (false, false) => {
                    let at = last_heard.saturating_add(timeout).saturating_add(1);
                    self.quiet_until = self.quiet_until.min(at);
                }
                (false, true) => {
                    self.sources_down.remove(id);
                    out.push(Signal::Clear {
                        key: AlertKey { kind: Kind::SourceDown, subject: Subject::Source(id.clone()) },
                        at: now,
                    });
                }
                (true, true) => {}
            }
        }
    }
}

/// The service-level latch's (fire, clear) conditions over the tally `t`.
fn sl_limits(t: &Tally, p: &QueueParams, hyst: f64, min_calls: u32) -> (bool, bool) {
    let volume = t.answered + t.abandoned.saturating_sub(t.abandoned_short);
    t.service_level(p)
        .map_or((false, false), |sl| (volume >= min_calls && sl < p.sl_target, sl >= p.sl_target + hyst))
}

/// The overrun kind of an agent state, if it has one.
fn overrun_kind(state: Option<AgentState>) -> Option<Kind> {
    match state {
        Some(AgentState::Acw) => Some(Kind::AcwOverrun),
        Some(AgentState::NotReady) => Some(Kind::BusyOverrun),
        _ => None,
    }
}

/// The alert of an agent `elapsed` ms into state `c`, over its `limit_ms`;
/// it started when the agent entered the state (event time), however late it
/// is raised.
fn overrun_fire(kind: Kind, severity: Severity, c: &AgentChange, elapsed: i64, limit_ms: i64) -> Fire {
    Fire {
        key: AlertKey { kind, subject: Subject::Agent(c.agent.clone()) },
        severity,
        started_at: c.since,
        agent: Some(c.agent.clone()),
        team: c.team.clone(),
        queue: c.queue.clone(),
        source: None,
        component: None,
        text: Text::of(|l| text::overrun(l, kind, c, elapsed, limit_ms)),
        value: Some(elapsed as f64 / 1000.0),
        threshold: Some(limit_ms as f64 / 1000.0),
    }
}

#[cfg(test)]
mod tests;
