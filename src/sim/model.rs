//! The floor model: a deterministic discrete-event simulation of an ACD with its
//! queues, agents and callers.
//!
//! It does no IO and never reads a clock: time only moves when the caller says so
//! through [`SimModel::advance_to`], and all chance comes from one seeded RNG. That
//! is what lets the same model drive the live demo, replayable tests and benchmarks
//! that need an hour of realistic traffic in milliseconds.
//!
//! Agent breaks and other `not_ready` spells live in `away.rs`; this file holds
//! the timer queue, arrivals, routing and the call life cycle.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Exp1, StandardNormal};

use super::SimConfig;
use super::curve;
use super::event::{SimEvent, SimEventKind};
use super::roster;

pub(super) const SEC: i64 = 1000;
pub(super) const MIN: i64 = 60 * SEC;
pub(super) const DAY: i64 = 24 * 60 * MIN;

/// Spread of talk times around their mean (log-space standard deviation).
const TALK_SIGMA: f64 = 0.55;

/// The simulated floor. See the module docs.
#[derive(Debug)]
pub struct SimModel {
    /// Traffic at the peak level all day (the demo), instead of the daily curve.
    pub(super) flat: bool,
    /// Mean length of a traffic surge, seconds.
    pub(super) surge_secs: f64,
    /// How much busier a queue gets during a surge (at least 1).
    pub(super) surge_factor: f64,
    pub(super) rng: StdRng,
    /// Simulated now, ms since the epoch; never goes backwards.
    pub(super) now: i64,
    /// Offset of the floor's local time from UTC, ms.
    pub(super) local_offset: i64,
    pub(super) overruns: bool,
    pub(super) showcase_every: i64,
    /// Showcase overruns still to hand out: the next system spell and the next
    /// after-call work run long.
    pub(super) showcase_system: bool,
    pub(super) showcase_acw: bool,
    timers: BinaryHeap<Timer>,
    timer_order: u64,
    pub(super) agents: Vec<Agent>,
    pub(super) teams: Vec<Arc<str>>,
    pub(super) queues: Vec<Queue>,
    /// Calls offered and not yet ended (waiting, ringing or in conversation).
    pub(super) calls: HashMap<u64, Call>,
    pub(super) next_call: u64,
    /// [`SimConfig::id_prefix`], put before call ids.
    pub(super) id_prefix: Arc<str>,
    /// Agents in `not_ready` now, and the most allowed at once.
    pub(super) away: usize,
    pub(super) away_cap: usize,
    pub(super) surge_every: i64,
    pub(super) surge_turn: usize,
    pub(super) fault_every: i64,
    pub(super) fault_turn: usize,
    /// Index into `traffic::FAULTS` and time it went down, while a fault is active.
    pub(super) fault: Option<(usize, i64)>,
    pub(super) recent_abandoners: VecDeque<Arc<str>>,
}

#[derive(Debug)]
pub(super) struct Queue {
    pub(super) name: Arc<str>,
    /// Offered calls per second at the curve's peak, without surges.
    pub(super) peak_rate: f64,
    /// Upper bound of the rate at any time, for thinning.
    pub(super) max_rate: f64,
    pub(super) mean_talk_secs: f64,
    /// Call ids in arrival order; abandoned ones are skipped lazily.
    pub(super) waiting: VecDeque<u64>,
    /// Ready agents with this skill, longest idle first: (ready since, agent).
    pub(super) idle: BTreeSet<(i64, usize)>,
    /// Offered, not yet answered or abandoned (waiting or ringing).
    pub(super) unanswered: usize,
    pub(super) surge_until: i64,
}

#[derive(Debug)]
pub(super) struct Agent {
    pub(super) id: Arc<str>,
    name: Arc<str>,
    team: usize,
    /// Queue indices, primary first.
    skills: Vec<usize>,
    pub(super) phase: Phase,
    call: Option<u64>,
    /// The key under which the agent sits in its queues' idle sets.
    idle_since: Option<i64>,
    /// A `not_ready` spell that is due but waits for the call to end or for room
    /// under the floor's cap.
    pub(super) pending: Option<Reason>,
    pub(super) retry_scheduled: bool,
    /// Local day number of the last lunch.
    pub(super) lunch_day: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    LoggedOut,
    Ready,
    Ringing,
    Talking,
    Hold,
    Acw,
    Away,
}

/// Reason codes for `not_ready`, in rising priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Reason {
    System,
    Meeting,
    Training,
    Break,
    Lunch,
}

impl Reason {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Reason::Break => "break",
            Reason::Lunch => "lunch",
            Reason::Training => "training",
            Reason::Meeting => "meeting",
            Reason::System => "system",
        }
    }
}

#[derive(Debug)]
pub(super) struct Call {
    pub(super) id: Arc<str>,
    pub(super) queue: usize,
    pub(super) caller: Arc<str>,
    pub(super) offered_at: i64,
    pub(super) agent: Option<usize>,
}

/// Something scheduled to happen at a simulated instant.
#[derive(Debug, Clone, Copy)]
pub(super) enum Action {
    Login(usize),
    Heartbeat,
    Arrival(usize),
    Abandon(u64),
    Answer(usize),
    HoldStart(usize),
    HoldEnd(usize),
    TalkEnd(usize),
    AcwEnd(usize),
    AwayEnd(usize),
    BreakDue(usize),
    LunchDue(usize),
    MiscDue(usize),
    AwayRetry(usize),
    SurgeStart,
    Showcase,
    FaultDown,
    FaultUp,
}

#[derive(Debug)]
struct Timer {
    at: i64,
    /// Insertion order, so equal times fire first-scheduled-first and runs repeat.
    order: u64,
    action: Action,
}

impl Ord for Timer {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap; the earliest timer must come out first.
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}

impl Eq for Timer {}

impl SimModel {
    /// A floor as `cfg` describes it, starting at `start` with every agent about to
    /// log in.
    pub fn new(cfg: &SimConfig, start: DateTime<Utc>) -> SimModel {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let names: Vec<String> = match cfg.queues.is_empty() {
            true => vec!["general".to_owned()],
            false => cfg.queues.clone(),
        };
        let shares = curve::queue_shares(names.len());
        let peak = match cfg.calls_per_min {
            Some(c) if c.is_finite() && c > 0.0 => c / 60.0,
            Some(_) => 0.0,
            None => curve::derived_peak_per_sec(cfg.agents, &names, &shares, cfg.overruns),
        };
        let surge_bound = if cfg.surge_every_secs > 0 { cfg.surge_factor.max(1.0) } else { 1.0 };
        let queues: Vec<Queue> = names
            .iter()
            .zip(&shares)
            .map(|(name, share)| Queue {
                name: Arc::from(name.as_str()),
                peak_rate: peak * share,
                max_rate: peak * share * curve::PEAK_LEVEL * surge_bound,
                mean_talk_secs: curve::mean_talk_secs(name),
                waiting: VecDeque::new(),
                idle: BTreeSet::new(),
                unanswered: 0,
                surge_until: i64::MIN,
            })
            .collect();
        let workload: Vec<f64> =
            names.iter().zip(&shares).map(|(n, s)| s * curve::mean_handle_secs(n, cfg.overruns)).collect();
        let (members, teams) = roster::build(cfg.agents, cfg.teams, &cfg.id_prefix, &workload, &mut rng);
        let agents = members
            .into_iter()
            .map(|m| Agent {
                id: m.id,
                name: m.name,
                team: m.team,
                skills: m.skills,
                phase: Phase::LoggedOut,
                call: None,
                idle_since: None,
                pending: None,
                retry_scheduled: false,
                lunch_day: i64::MIN,
            })
            .collect();

        let now = start.timestamp_millis();
        let mut model = SimModel {
            rng,
            now,
            local_offset: i64::from(cfg.utc_offset_mins) * MIN,
            flat: cfg.flat_curve,
            surge_secs: cfg.surge_secs as f64,
            surge_factor: cfg.surge_factor.max(1.0),
            overruns: cfg.overruns,
            showcase_every: cfg.showcase_every_secs.saturating_mul(1000).min(i64::MAX as u64) as i64,
            showcase_system: false,
            showcase_acw: false,
            timers: BinaryHeap::new(),
            timer_order: 0,
            agents,
            teams,
            queues,
            calls: HashMap::new(),
            next_call: 1001,
            id_prefix: Arc::from(cfg.id_prefix.as_str()),
            away: 0,
            away_cap: ((cfg.agents as f64 * 0.15).floor() as usize).max(1),
            surge_every: cfg.surge_every_secs.saturating_mul(1000).min(i64::MAX as u64) as i64,
            surge_turn: 0,
            fault_every: cfg.fault_every_secs.saturating_mul(1000).min(i64::MAX as u64) as i64,
            fault_turn: 0,
            fault: None,
            recent_abandoners: VecDeque::new(),
        };
        model.schedule(now, Action::Heartbeat);
        for a in 0..model.agents.len() {
            let at = now + model.rng.random_range(0..5 * SEC);
            model.schedule(at, Action::Login(a));
        }
        for q in 0..model.queues.len() {
            model.schedule_arrival(q);
        }
        if model.surge_every > 0 {
            let first = cfg.first_surge_secs.map_or(model.surge_every, |s| s.saturating_mul(1000) as i64);
            model.schedule(now.saturating_add(first), Action::SurgeStart);
        }
        if model.fault_every > 0 {
            model.schedule(now.saturating_add(model.fault_every), Action::FaultDown);
        }
        if model.showcase_every > 0 {
            model.schedule(now + 45 * SEC, Action::Showcase);
        }
        model
    }

    /// Runs the floor up to and including `t`, appending what happened to `out` in
    /// time order. A `t` at or before the model's present does nothing.
    pub fn advance_to(&mut self, t: DateTime<Utc>, out: &mut Vec<SimEvent>) {
        let t = t.timestamp_millis();
        while self.timers.peek().is_some_and(|top| top.at <= t) {
            let Some(timer) = self.timers.pop() else { break };
            self.now = self.now.max(timer.at);
            self.fire(timer.action, out);
        }
        self.now = self.now.max(t);
    }

    /// The model's present (simulated).
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.now).unwrap_or_default()
    }

    /// Per queue, calls offered and not yet answered or abandoned (waiting in the
    /// queue or ringing at an agent), as a wallboard would count them.
    pub fn calls_waiting(&self) -> Vec<(Arc<str>, usize)> {
        self.queues.iter().map(|q| (q.name.clone(), q.unanswered)).collect()
    }

    pub(super) fn schedule(&mut self, at: i64, action: Action) {
        self.timer_order += 1;
        self.timers.push(Timer { at: at.max(self.now), order: self.timer_order, action });
    }

    /// Uniform whole milliseconds in `[lo, hi)` seconds.
    pub(super) fn uniform_ms(&mut self, lo_secs: f64, hi_secs: f64) -> i64 {
        (self.rng.random_range(lo_secs..hi_secs) * 1000.0) as i64
    }

    /// Exponentially distributed milliseconds with the given mean in seconds.
    pub(super) fn exp_ms(&mut self, mean_secs: f64) -> i64 {
        let x: f64 = self.rng.sample(Exp1);
        (x * mean_secs * 1000.0) as i64
    }

    pub(super) fn emit(&self, out: &mut Vec<SimEvent>, kind: SimEventKind) {
        out.push(SimEvent::new(self.now, kind));
    }

    /// Emits the agent's state; `with_call` adds the queue and call it works on.
    pub(super) fn emit_state(
        &self,
        out: &mut Vec<SimEvent>,
        a: usize,
        state: &'static str,
        reason: Option<Reason>,
        with_call: bool,
    ) {
        let agent = &self.agents[a];
        let call = agent.call.filter(|_| with_call).and_then(|c| self.calls.get(&c));
        self.emit(
            out,
            SimEventKind::AgentState {
                agent: agent.id.clone(),
                state,
                reason: reason.map(Reason::as_str),
                queue: call.map(|c| self.queues[c.queue].name.clone()),
                call: call.map(|c| c.id.clone()),
            },
        );
    }

    fn fire(&mut self, action: Action, out: &mut Vec<SimEvent>) {
        match action {
            Action::Login(a) => self.login(a, out),
            Action::Heartbeat => {
                self.emit(out, SimEventKind::Heartbeat);
                self.schedule(self.now + 2 * SEC, Action::Heartbeat);
            }
            Action::Arrival(q) => self.arrival(q, out),
            Action::Abandon(c) => self.abandon(c, out),
            Action::Answer(a) => self.answer(a, out),
            Action::HoldStart(a) => {
                self.agents[a].phase = Phase::Hold;
                self.emit_state(out, a, "hold", None, true);
            }
            Action::HoldEnd(a) => {
                self.agents[a].phase = Phase::Talking;
                self.emit_state(out, a, "talking", None, true);
            }
            Action::TalkEnd(a) => self.talk_end(a, out),
            Action::AcwEnd(a) => self.acw_end(a, out),
            Action::AwayEnd(a) => self.away_end(a, out),
            Action::BreakDue(a) => self.break_due(a, out),
            Action::LunchDue(a) => self.lunch_due(a, out),
            Action::MiscDue(a) => self.misc_due(a, out),
            Action::AwayRetry(a) => {
                self.agents[a].retry_scheduled = false;
                self.try_away(a, out);
            }
            Action::SurgeStart => self.surge(),
            Action::Showcase => self.showcase(out),
            Action::FaultDown => self.fault_down(out),
            Action::FaultUp => self.fault_up(out),
        }
    }

    fn login(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        let agent = &self.agents[a];
        self.emit(
            out,
            SimEventKind::AgentLogin {
                agent: agent.id.clone(),
                name: agent.name.clone(),
                team: self.teams[agent.team].clone(),
            },
        );
        self.plan_first_away(a);
        // The login itself says `ready`; no separate state event.
        self.become_ready(a, false, out);
    }

    fn abandon(&mut self, c: u64, out: &mut Vec<SimEvent>) {
        // Answered calls (agent set) or ended ones (gone) ignore their patience timer.
        match self.calls.get(&c) {
            Some(call) if call.agent.is_none() => {}
            _ => return,
        }
        let Some(call) = self.calls.remove(&c) else { return };
        let queue = &mut self.queues[call.queue];
        queue.unanswered -= 1;
        // Drop abandoned ids at the head now so a queue nobody serves stays small.
        while queue.waiting.front().is_some_and(|id| !self.calls.contains_key(id)) {
            queue.waiting.pop_front();
        }
        let name = queue.name.clone();
        self.emit(out, SimEventKind::CallAbandoned { call: call.id, queue: name });
        if self.recent_abandoners.len() >= 64 {
            self.recent_abandoners.pop_front();
        }
        self.recent_abandoners.push_back(call.caller);
    }

    pub(super) fn assign(&mut self, a: usize, c: u64, out: &mut Vec<SimEvent>) {
        self.leave_idle(a);
        if let Some(call) = self.calls.get_mut(&c) {
            call.agent = Some(a);
        }
        let agent = &mut self.agents[a];
        agent.phase = Phase::Ringing;
        agent.call = Some(c);
        self.emit_state(out, a, "ringing", None, true);
        let ring = self.uniform_ms(2.0, 6.0);
        self.schedule(self.now + ring, Action::Answer(a));
    }

    fn answer(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        let Some(call) = self.agents[a].call.and_then(|c| self.calls.get(&c)) else { return };
        let q = call.queue;
        self.queues[q].unanswered -= 1;
        self.emit(
            out,
            SimEventKind::CallAnswered {
                call: call.id.clone(),
                agent: self.agents[a].id.clone(),
                queue: self.queues[q].name.clone(),
            },
        );
        self.agents[a].phase = Phase::Talking;
        self.emit_state(out, a, "talking", None, true);

        let mean = self.queues[q].mean_talk_secs;
        let z: f64 = self.rng.sample(StandardNormal);
        let talk_secs = (mean.ln() - TALK_SIGMA * TALK_SIGMA / 2.0 + TALK_SIGMA * z).exp();
        let talk = (talk_secs.clamp(20.0, 1800.0) * 1000.0) as i64;
        if self.rng.random_bool(curve::HOLD_SHARE) {
            let hold = self.uniform_ms(15.0, 60.0);
            let before = (talk as f64 * self.rng.random_range(0.3..0.7)) as i64;
            self.schedule(self.now + before, Action::HoldStart(a));
            self.schedule(self.now + before + hold, Action::HoldEnd(a));
            self.schedule(self.now + talk + hold, Action::TalkEnd(a));
        } else {
            self.schedule(self.now + talk, Action::TalkEnd(a));
        }
    }

    fn talk_end(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        let Some(c) = self.agents[a].call else { return };
        if let Some(call) = self.calls.get(&c) {
            self.emit(
                out,
                SimEventKind::CallEnded { call: call.id.clone(), agent: self.agents[a].id.clone() },
            );
        }
        self.agents[a].phase = Phase::Acw;
        self.emit_state(out, a, "acw", None, true);
        self.calls.remove(&c);
        self.agents[a].call = None;

        let acw = if self.showcase_acw {
            // Past every ACW limit the demo sets (2–3 min), over well before ten.
            self.showcase_acw = false;
            self.uniform_ms(200.0, 240.0)
        } else if self.overruns && self.rng.random_bool(curve::ACW_OVERRUN_SHARE) {
            self.uniform_ms(150.0, 400.0)
        } else {
            (8 * SEC + self.exp_ms(curve::MEAN_ACW_SECS - 8.0)).min(110 * SEC)
        };
        self.schedule(self.now + acw, Action::AcwEnd(a));
    }

    fn acw_end(&mut self, a: usize, out: &mut Vec<SimEvent>) {
        // Agents take a due break between calls rather than taking another one.
        match self.away_allowed(a) {
            Some(reason) => self.start_away(a, reason, out),
            None => self.become_ready(a, true, out),
        }
    }

    /// Puts the agent in `ready` and hands it the longest-waiting call it is
    /// skilled for, or lets it wait for one.
    pub(super) fn become_ready(&mut self, a: usize, announce: bool, out: &mut Vec<SimEvent>) {
        self.agents[a].phase = Phase::Ready;
        if announce {
            self.emit_state(out, a, "ready", None, false);
        }
        match self.oldest_waiting(a) {
            Some(c) => self.assign(a, c, out),
            None => {
                let since = self.now;
                for i in 0..self.agents[a].skills.len() {
                    let q = self.agents[a].skills[i];
                    self.queues[q].idle.insert((since, a));
                }
                self.agents[a].idle_since = Some(since);
            }
        }
        if self.agents[a].pending.is_some() && !self.agents[a].retry_scheduled {
            self.agents[a].retry_scheduled = true;
            let wait = self.uniform_ms(20.0, 60.0);
            self.schedule(self.now + wait, Action::AwayRetry(a));
        }
    }

    /// Takes the longest-waiting call across the agent's skills off its queue.
    fn oldest_waiting(&mut self, a: usize) -> Option<u64> {
        let mut best: Option<(i64, usize)> = None;
        for i in 0..self.agents[a].skills.len() {
            let q = self.agents[a].skills[i];
            let waiting = &mut self.queues[q].waiting;
            while let Some(&c) = waiting.front() {
                match self.calls.get(&c) {
                    Some(call) if call.agent.is_none() => {
                        if best.is_none_or(|(t, _)| call.offered_at < t) {
                            best = Some((call.offered_at, q));
                        }
                        break;
                    }
                    _ => {
                        waiting.pop_front();
                    }
                }
            }
        }
        best.and_then(|(_, q)| self.queues[q].waiting.pop_front())
    }

    pub(super) fn leave_idle(&mut self, a: usize) {
        if let Some(since) = self.agents[a].idle_since.take() {
            for i in 0..self.agents[a].skills.len() {
                let q = self.agents[a].skills[i];
                self.queues[q].idle.remove(&(since, a));
            }
        }
    }
}
