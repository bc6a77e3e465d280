//! The read model: an immutable picture of the floor that the engine publishes as
//! `Arc<Snapshot>`. Readers (HTTP API, metrics collector, later the wallboard and
//! rules) never touch the live `Floor`.

use super::QueueParams;
use super::agent::Agent;
use super::window::Tally;
use crate::event::{AgentState, Id, Ts};

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The engine's `now` when it was taken; time in state and waits are relative to it.
    pub taken_at: Ts,
    /// Events applied since start.
    pub events_applied: u64,
    pub shift: ShiftView,
    /// The windows every queue reports, in the order of `QueueView::windows`.
    pub windows: Vec<WindowSpec>,
    pub queues: Vec<QueueView>,
    /// Logged-in agents, in no particular order.
    pub agents: Vec<Agent>,
    /// Logged-in agents by state, indexed by [`AgentState::index`].
    pub agents_by_state: [u32; 6],
    pub teams: Vec<TeamView>,
    pub sources: Vec<SourceView>,
    /// Components currently reported down.
    pub faults: Vec<FaultView>,
    /// Average handle time today over every agent, seconds (`Floor::aht_secs`).
    pub aht_secs: Option<f64>,
}

impl Snapshot {
    pub fn agents_in(&self, state: AgentState) -> u32 {
        self.agents_by_state[state.index()]
    }
}

#[derive(Debug, Clone, Default)]
pub struct ShiftView {
    pub name: String,
    pub start: Ts,
    pub end: Ts,
}

#[derive(Debug, Clone)]
pub struct WindowSpec {
    /// `15m`, `60m`, `shift`: the `window` label in metrics and the API's key.
    pub label: String,
    /// Length of a rolling window; `None` for the current shift.
    pub secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct QueueView {
    pub id: Id,
    pub name: Id,
    pub params: QueueParams,
    pub configured: bool,
    pub offered_total: u64,
    pub answered_total: u64,
    pub abandoned_total: u64,
    /// Calls waiting now, longest first (all of them: the list is the queue).
    pub waiting: Vec<WaitingCall>,
    /// One tally per entry of `Snapshot::windows`.
    pub windows: Vec<Tally>,
    /// Agents on this queue's calls now (ringing, talking, hold, after-call
    /// work), and the agents ready to take one: the floor knows no skills, so
    /// any ready agent is available to every queue.
    pub staffed: u32,
    pub available: u32,
    /// Calls offered per minute over the last 60 minutes, oldest first (as far
    /// as the longest rolling window reaches; zeros beyond it).
    pub trend: Vec<u32>,
}

impl QueueView {
    /// Longest current wait, ms (0 when nobody waits).
    pub fn longest_wait_ms(&self, now: Ts) -> i64 {
        self.waiting.first().map_or(0, |w| (now - w.since).max(0))
    }
}

#[derive(Debug, Clone)]
pub struct WaitingCall {
    pub call: Id,
    /// Offer time.
    pub since: Ts,
}

#[derive(Debug, Clone)]
pub struct TeamView {
    pub id: Id,
    pub name: Id,
    pub lead: Option<Id>,
    pub agents_by_state: [u32; 6],
}

#[derive(Debug, Clone)]
pub struct SourceView {
    pub id: Id,
    /// Open ingest connections speaking for this source.
    pub connections: u32,
    pub events: u64,
    /// Latest event time seen from it.
    pub last_event_ts: Option<Ts>,
    /// Engine time when it was last heard from (any event or a connection change).
    pub last_heard: Ts,
}

#[derive(Debug, Clone)]
pub struct FaultView {
    pub component: Id,
    pub source: Id,
    pub since: Ts,
    pub detail: Option<Id>,
}
