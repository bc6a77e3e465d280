//! One agent's live state and today's figures.

use crate::event::{AgentState, Id, Ts};

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: Id,
    /// This agent's place in the floor's order of first sight; see [`AgentChange::slot`].
    pub slot: u32,
    pub name: Option<Id>,
    pub team: Option<Id>,
    /// `None` while logged out.
    pub state: Option<AgentState>,
    pub reason: Option<Id>,
    /// Event time the current state began; time in state is `now − since`.
    pub since: Ts,
    pub call: Option<Id>,
    pub queue: Option<Id>,
    pub login_at: Option<Ts>,
    /// The source whose event set the current state: its event time (watermark)
    /// decides when this state's overrun is due (empty: none known).
    pub source: Id,
    /// Start of the local day today's figures belong to.
    pub day: Ts,
    pub handled_today: u32,
    pub talk_ms_today: i64,
    pub acw_ms_today: i64,
}

impl Agent {
    pub fn new(id: Id, slot: u32, ts: Ts, day: Ts) -> Agent {
        Agent {
            id,
            slot,
            name: None,
            team: None,
            state: None,
            reason: None,
            since: ts,
            call: None,
            queue: None,
            login_at: None,
            source: Id::default(),
            day,
            handled_today: 0,
            talk_ms_today: 0,
            acw_ms_today: 0,
        }
    }

    /// Starts a new day's figures when `day` is later than the one held.
    pub fn roll_day(&mut self, day: Ts) {
        if day > self.day {
            self.day = day;
            self.handled_today = 0;
            self.talk_ms_today = 0;
            self.acw_ms_today = 0;
        }
    }

    /// Moves to `state` at `ts`, booking the time spent in the state being left;
    /// returns whether anything changed. A repeat of the current state and reason
    /// keeps `since`: a bridge that re-announces "acw" must not reset the overrun clock.
    pub fn enter(&mut self, state: Option<AgentState>, reason: Option<Id>, ts: Ts) -> bool {
        if state == self.state && reason == self.reason {
            return false;
        }
        self.book_until(ts);
        self.state = state;
        self.reason = reason;
        self.since = ts;
        true
    }

    /// Records the source of the event that changed the state (cloned only
    /// when it differs: one agent is nearly always fed by one source).
    pub fn note_source(&mut self, source: &Id) {
        if self.source != *source {
            self.source.clone_from(source);
        }
    }

    /// The change rules react to.
    pub fn change(&self) -> AgentChange {
        AgentChange {
            agent: self.id.clone(),
            slot: self.slot,
            team: self.team.clone(),
            queue: self.queue.clone(),
            state: self.state,
            reason: self.reason.clone(),
            since: self.since,
            source: self.source.clone(),
        }
    }

    fn book_until(&mut self, ts: Ts) {
        let spent = (ts - self.since).max(0);
        match self.state {
            Some(s) if s.on_call() => self.talk_ms_today += spent,
            Some(AgentState::Acw) => self.acw_ms_today += spent,
            _ => {}
        }
    }
}

/// A consumer's entry for agent `slot` (see [`AgentChange::slot`]) in its own
/// per-agent table, the table grown to hold it.
pub fn slot_entry<T>(table: &mut Vec<Option<T>>, slot: u32) -> &mut Option<T> {
    let slot = slot as usize;
    if slot >= table.len() {
        table.resize_with(slot + 1, || None);
    }
    &mut table[slot]
}

/// An agent's new state, as rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentChange {
    pub agent: Id,
    /// The agent's stable index on this floor: agents are numbered 0, 1, 2… in the
    /// order first seen and never forgotten (a logout keeps the record), so a
    /// consumer's per-agent table can be a `Vec` indexed by slot — no hashing of
    /// the id on every agent event.
    pub slot: u32,
    pub team: Option<Id>,
    pub queue: Option<Id>,
    /// `None`: logged out.
    pub state: Option<AgentState>,
    pub reason: Option<Id>,
    pub since: Ts,
    /// The source whose event made this change (see [`Agent::source`]).
    pub source: Id,
}
