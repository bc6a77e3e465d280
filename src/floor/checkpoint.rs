//! The floor's checkpoint: a plain, serialisable copy of everything a restarted
//! daemon needs to show the same floor — agents, queues with their waiting calls,
//! rolling windows and shift tallies, calls in progress, recently finished call
//! ids, teams seen, sources and faults.
//!
//! Why a layer of its own: the floor's live types are shaped for the hot path
//! (sentinels, hash tables, a Bloom filter) and are not serialised; this module is
//! the one place that maps them to a stable, versioned form and back. No IO here:
//! the engine takes a [`FloorCheckpoint`] from [`Floor::checkpoint`] and the store
//! writes it; [`Floor::restore`] builds a floor from one at start.
//!
//! What is not kept, and why:
//! - queue parameters: configured queues take theirs from the config in force, so
//!   a changed target applies after a restart; discovered queues take the defaults;
//! - finished calls last touched more than [`FINISHED_KEPT_MS`] before the
//!   checkpoint: their ids only serve to recognise a late duplicate, a replay is
//!   recent, and a big floor's four hours of them would make every checkpoint
//!   megabytes larger (the bound is documented in the README);
//! - sources' connection counts: connections do not survive a restart.

use serde::{Deserialize, Serialize};

use super::Floor;
use super::FloorConfig;
use super::agent::Agent;
use super::window::Tally;
use super::{Effect, FaultInfo, SourceInfo};
use crate::event::{AgentState, Id, Ts};

/// Finished calls kept in a checkpoint: those last touched within this long
/// before it (event time). Enough for a bridge's replay after a reconnect.
pub const FINISHED_KEPT_MS: Ts = 15 * 60_000;

/// The floor as a checkpoint holds it. Field names are short: an agent's entry is
/// written 50,000 times on a big floor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FloorCheckpoint {
    pub events_applied: u64,
    /// In slot order (the order of first sight), so slots survive.
    pub agents: Vec<AgentCp>,
    pub queues: Vec<QueueCp>,
    /// Calls still being counted.
    pub calls: Vec<CallCp>,
    /// Finished calls' ids and latest times (see [`FINISHED_KEPT_MS`]).
    pub finished: Vec<(Id, Ts)>,
    /// Teams seen in logins, beyond the configured ones.
    pub teams: Vec<Id>,
    pub sources: Vec<SourceCp>,
    pub faults: Vec<FaultCp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCp {
    pub id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Id>,
    /// [`AgentState::index`]; absent while logged out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub st: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Id>,
    pub since: Ts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Ts>,
    pub day: Ts,
    /// Today's handled calls, talk ms, after-call work ms.
    pub today: (u32, i64, i64),
    /// The source of the current state (its watermark times the overrun).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Id>,
}

/// A [`Tally`] as eight numbers, in its field order.
pub type TallyCp = [u64; 8];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueCp {
    pub id: Id,
    pub name: Id,
    pub configured: bool,
    /// Lifetime offered, answered, abandoned.
    pub totals: (u64, u64, u64),
    /// Calls waiting: (offer time, call).
    pub waiting: Vec<(Ts, Id)>,
    /// The ring's slice length; a ring of another length is not restored.
    pub bucket_ms: i64,
    /// Rolling-window slices: (slice number, tally), only those holding counts.
    pub ring: Vec<(i64, TallyCp)>,
    /// Shift tallies: (shift start, tally), current and previous.
    pub shift: Vec<(Ts, TallyCp)>,
    /// The source of the latest offer (its watermark times the waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallCp {
    pub id: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_at: Option<Ts>,
    /// (answered?, time, counted in its queue?).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<(bool, Ts, bool)>,
    pub touched: Ts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Id>,
    /// The queue's id (indices change when the config does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Id>,
    pub ended: bool,
    /// Who answered it, for the call log (absent in checkpoints before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Ts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceCp {
    pub id: Id,
    pub named: bool,
    pub events: u64,
    pub last_event_ts: Option<Ts>,
    pub last_heard: Ts,
    /// Whether it was caught up (live) when last heard: with `last_event_ts`,
    /// its watermark. Absent in checkpoints from before watermarks: taken as
    /// caught up, as every source was treated then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caught_up: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultCp {
    pub component: Id,
    pub down: bool,
    pub source: Id,
    pub since: Ts,
    pub last_report: Ts,
    pub detail: Option<Id>,
}

pub(super) fn tally_cp(t: &Tally) -> TallyCp {
    [
        u64::from(t.offered),
        u64::from(t.answered),
        u64::from(t.abandoned),
        u64::from(t.abandoned_short),
        u64::from(t.abandoned_within_sl),
        u64::from(t.answered_with_wait),
        u64::from(t.answered_within_sl),
        t.answered_wait_ms,
    ]
}

pub(super) fn tally_of(c: &TallyCp) -> Tally {
    let n = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
    Tally {
        offered: n(c[0]),
        answered: n(c[1]),
        abandoned: n(c[2]),
        abandoned_short: n(c[3]),
        abandoned_within_sl: n(c[4]),
        answered_with_wait: n(c[5]),
        answered_within_sl: n(c[6]),
        answered_wait_ms: c[7],
    }
}

fn agent_cp(a: &Agent) -> AgentCp {
    AgentCp {
        id: a.id.clone(),
        name: a.name.clone(),
        team: a.team.clone(),
        st: a.state.map(|s| s.index() as u8),
        reason: a.reason.clone(),
        since: a.since,
        call: a.call.clone(),
        queue: a.queue.clone(),
        login: a.login_at,
        day: a.day,
        today: (a.handled_today, a.talk_ms_today, a.acw_ms_today),
        src: (!a.source.is_empty()).then(|| a.source.clone()),
    }
}

fn agent_of(c: AgentCp, slot: u32) -> Agent {
    let mut a = Agent::new(c.id, slot, c.since, c.day);
    a.name = c.name;
    a.team = c.team;
    a.state = c.st.and_then(|i| AgentState::ALL.get(usize::from(i)).copied());
    a.reason = c.reason;
    a.call = c.call;
    a.queue = c.queue;
    a.login_at = c.login;
    a.source = c.src.unwrap_or_default();
    (a.handled_today, a.talk_ms_today, a.acw_ms_today) = c.today;
    a
}

impl Floor {
    /// A copy of the live floor for a checkpoint taken at `now` (event-time
    /// horizon for finished calls: [`FINISHED_KEPT_MS`] before the newest).
    /// Plain clones, no encoding: the engine builds this between inputs and the
    /// saver encodes it on another thread.
    pub fn checkpoint(&self) -> FloorCheckpoint {
        let mut agents: Vec<&Agent> = self.agents.values().collect();
        agents.sort_unstable_by_key(|a| a.slot);
        let configured_teams = self.configured_teams;
        FloorCheckpoint {
            events_applied: self.events_applied,
            agents: agents.into_iter().map(agent_cp).collect(),
            queues: self.queues.iter().map(|q| q.checkpoint()).collect(),
            calls: self.calls.checkpoint_active(&self.queues),
            finished: self.calls.checkpoint_finished(FINISHED_KEPT_MS),
            teams: self.teams.iter().skip(configured_teams).map(|(id, _)| id.clone()).collect(),
            sources: self
                .sources
                .iter()
                .map(|(id, s)| SourceCp {
                    id: id.clone(),
                    named: s.named,
                    events: s.events,
                    last_event_ts: s.last_event_ts,
                    last_heard: s.last_heard,
                    caught_up: Some(s.caught_up),
                })
                .collect(),
            faults: self
                .faults
                .iter()
                .map(|(c, f)| FaultCp {
                    component: c.clone(),
                    down: f.down,
                    source: f.source.clone(),
                    since: f.since,
                    last_report: f.last_report,
                    detail: f.detail.clone(),
                })
                .collect(),
        }
    }

    /// A floor built from the config in force and a checkpoint: the configured
    /// queues and teams first (as [`Floor::new`]), then what the checkpoint
    /// holds. `fx` receives a `QueueAdded` for every queue. Never fails: a
    /// queue beyond `max_queues` or a ring of another slice length is left out
    /// (counted in the returned number of parts dropped, for the caller to log).
    pub fn restore(cfg: &FloorConfig, cp: FloorCheckpoint, fx: &mut Vec<Effect>) -> (Floor, usize) {
        let mut floor = Floor::new(cfg, fx);
        let mut dropped = 0;
        floor.events_applied = cp.events_applied;
        for t in &cp.teams {
            floor.note_team(t);
        }
        for q in cp.queues {
            let idx = match floor.queue_index.get(&q.id) {
                Some(&i) => i,
                None if floor.queues.len() < floor.settings.max_queues => {
                    let params = floor.settings.queue_defaults;
                    floor.add_queue(q.id.clone(), q.name.clone(), params, false, fx)
                }
                None => {
                    dropped += 1;
                    continue;
                }
            };
            let ring = floor.settings.ring();
            if !floor.queues[idx].restore(q, ring) {
                dropped += 1;
            }
        }
        for (slot, a) in cp.agents.into_iter().enumerate() {
            let slot = u32::try_from(slot).unwrap_or(u32::MAX);
            let a = agent_of(a, slot);
            floor.agents.insert(a.id.clone(), a);
        }
        let index = &floor.queue_index;
        dropped += floor.calls.restore(cp.calls, cp.finished, |q| index.get(q).copied());
        for s in cp.sources {
            let info = SourceInfo {
                named: s.named,
                connections: 0,
                events: s.events,
                last_event_ts: s.last_event_ts,
                last_heard: s.last_heard,
                caught_up: s.caught_up.unwrap_or(true),
            };
            floor.sources.insert(s.id, info);
        }
        for f in cp.faults {
            let info = FaultInfo {
                down: f.down,
                source: f.source,
                since: f.since,
                last_report: f.last_report,
                detail: f.detail,
            };
            floor.faults.insert(f.component, info);
        }
        (floor, dropped)
    }

    /// Every logged-in agent's current state, as rules see it: what they rebuild
    /// their watches and overrun deadlines from after a restore.
    pub fn logged_in_agents(&self) -> impl Iterator<Item = super::AgentChange> + '_ {
        self.agents.values().filter(|a| a.state.is_some()).map(Agent::change)
    }

    /// Moves the time each source was last heard from up to `now`, except for
    /// those `keep` names (sources already reported down): a restarted daemon
    /// gives every source a full timeout to reconnect, as a fresh start does.
    pub fn hear_all_since(&mut self, now: Ts, keep: impl Fn(&Id) -> bool) {
        for (id, s) in &mut self.sources {
            if !keep(id) {
                s.last_heard = s.last_heard.max(now);
            }
        }
    }
}
