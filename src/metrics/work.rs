//! Talk and after-call-work times, paired from the floor's agent changes.
//!
//! The floor reports every accepted agent change (`Effect::Agent`), in event time
//! and in order per agent: a change older than the agent's current state is dropped
//! before it gets here. So a stretch of talk (talking and hold, as one: hold is part
//! of the call) or of after-call work runs from the change that enters it to the
//! change that leaves it. Only the histograms need these stretches, so they are
//! kept here, beside the histograms, not in the floor's agent model.

use crate::event::{AgentState, Id, Ts};
use crate::floor::{AgentChange, slot_entry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Talk,
    Acw,
}

impl Work {
    fn of(state: Option<AgentState>) -> Option<Work> {
        match state? {
            AgentState::Talking | AgentState::Hold => Some(Work::Talk),
            AgentState::Acw => Some(Work::Acw),
            AgentState::Ready | AgentState::Ringing | AgentState::NotReady => None,
        }
    }
}

/// A stretch of work that just ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub work: Work,
    /// The agent's queue during the stretch (the first one named), as the agent's
    /// events gave it: free text, to be checked against the floor's queues.
    pub queue: Option<Id>,
    pub ms: i64,
}

#[derive(Debug, Clone)]
struct Open {
    work: Work,
    since: Ts,
    queue: Option<Id>,
}

/// What the work timer needs of an agent change (`AgentChange` without the ids
/// it does not use: this crosses to the counting task's core for every change).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkChange {
    pub since: Ts,
    /// The agent's queue as its events named it, if any.
    pub queue: Option<Id>,
    pub slot: u32,
    pub state: Option<AgentState>,
}

impl From<AgentChange> for WorkChange {
    fn from(c: AgentChange) -> WorkChange {
        WorkChange { since: c.since, queue: c.queue, slot: c.slot, state: c.state }
    }
}

/// The stretch each agent is in now, if any, indexed by the floor's agent slot.
#[derive(Debug, Default)]
pub struct WorkTimer {
    open: Vec<Option<Open>>,
}

impl WorkTimer {
    /// Takes one agent change; returns the stretch it ends, if any.
    pub fn on_change(&mut self, c: &WorkChange) -> Option<Finished> {
        let entry = slot_entry(&mut self.open, c.slot);
        let work = Work::of(c.state);
        if let Some(o) = entry
            && Some(o.work) == work
        {
            // talking ↔ hold: the same call goes on.
            if o.queue.is_none() {
                o.queue.clone_from(&c.queue);
            }
            return None;
        }
        let finished =
            entry.take().map(|o| Finished { work: o.work, queue: o.queue, ms: (c.since - o.since).max(0) });
        *entry = work.map(|work| Open { work, since: c.since, queue: c.queue.clone() });
        finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(agent: &str, state: Option<AgentState>, queue: Option<&str>, since_secs: i64) -> WorkChange {
        let c = AgentChange {
            agent: Id::from(agent),
            // As the floor numbers agents: one slot per agent (test agents are A<n>).
            slot: agent.trim_start_matches('A').parse().expect("test agent ids are A<n>"),
            team: Some(Id::from("team-1")),
            queue: queue.map(Id::from),
            state,
            reason: Some(Id::from("break")),
            since: since_secs * 1000,
            source: Id::default(),
        };
        WorkChange::from(c)
    }

    type Seen = Option<(Work, Option<String>, i64)>;

    /// (agent, state, queue, at secs) → what each change finishes.
    fn run(changes: &[(&str, Option<AgentState>, Option<&str>, i64)]) -> Vec<Seen> {
        let mut t = WorkTimer::default();
        changes
            .iter()
            .map(|(a, s, q, at)| {
                t.on_change(&change(a, *s, *q, *at)).map(|f| (f.work, f.queue.map(|q| q.to_string()), f.ms))
            })
            .collect()
    }

    fn done(work: Work, queue: Option<&str>, ms: i64) -> Seen {
        Some((work, queue.map(str::to_owned), ms))
    }

    use AgentState::{Acw, Hold, NotReady, Ready, Ringing, Talking};

    #[test]
    fn talk_spans_hold_and_acw_follows() {
        let got = run(&[
            ("A1", Some(Ringing), Some("billing"), 0),
            ("A1", Some(Talking), Some("billing"), 5),
            ("A1", Some(Hold), None, 65),
            ("A1", Some(Talking), None, 95),
            ("A1", Some(Acw), None, 185),
            ("A1", Some(Ready), None, 215),
        ]);
        let want = [done(Work::Talk, Some("billing"), 180_000), done(Work::Acw, None, 30_000)];
        assert_eq!(got, [vec![None; 4], want.to_vec()].concat());
    }

    #[test]
    fn agents_are_apart_and_leaving_by_logout_or_next_call_ends_a_stretch() {
        let got = run(&[
            ("A1", Some(Talking), Some("tech"), 0),
            ("A2", Some(Acw), Some("cards"), 10),
            ("A1", None, None, 40),
            ("A2", Some(Talking), Some("cards"), 70),
            ("A2", Some(NotReady), None, 100),
            ("A2", Some(Ready), None, 110),
        ]);
        assert_eq!(
            got,
            vec![
                None,
                None,
                done(Work::Talk, Some("tech"), 40_000),
                done(Work::Acw, Some("cards"), 60_000),
                done(Work::Talk, Some("cards"), 30_000),
                None,
            ]
        );
    }

    #[test]
    fn a_stretch_named_no_queue_takes_the_first_one_given() {
        let got = run(&[
            ("A1", Some(Talking), None, 0),
            ("A1", Some(Hold), Some("tech"), 10),
            ("A1", Some(Talking), Some("cards"), 20),
            ("A1", Some(Ready), None, 30),
        ]);
        assert_eq!(got[3], done(Work::Talk, Some("tech"), 30_000));
    }
}
