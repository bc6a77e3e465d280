//! Call lifecycle: offer, answer or abandon, end — in whatever order they arrive.
//!
//! Each call remembers what has been seen and what has been counted, so every count
//! happens exactly once: the offer when its offer arrives, the outcome when both the
//! outcome and the call's queue are known, the wait when both the offer time and the
//! outcome time are known.
//!
//! Calls are kept in two tables. A call is *active* while an event can still change
//! what is counted for it (and, answered, until its end). Once finished, all a later
//! event of it can do is be a duplicate, so only its id and latest time are kept:
//! the active table holds the few thousand calls in progress, and stays in cache,
//! instead of every call of the last `call_retention_secs`.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::{Entry, OccupiedEntry};

use super::checkpoint::CallCp;
use super::finished::Finished;
use super::queue::{Queue, QueueIdx};
use super::{Anomaly, Calendar, Effect, Floor, Settings};
use crate::event::{AgentState, FastHash, Id, Ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Abandoned,
}

/// "Not seen yet" for a call's times: no event time is this far in the past
/// (decoded times lie within years 0000–9999).
const NOT_SEEN: Ts = Ts::MIN;
/// "No queue known yet". Queue indices stay far below it: each queue is hundreds
/// of bytes, so `u32::MAX` of them could never be held.
const NO_QUEUE: u32 = u32::MAX;

/// Calls the active table keeps room for when it gives room back: a big floor's
/// calls in progress, some hundreds of KB.
const ACTIVE_ROOM: usize = 4096;

/// Every call mentioned within `call_retention_secs`, each in exactly one of the
/// tables. Tables rather than maps so that both share one hasher: an event's call
/// id is hashed once, whichever table holds it.
#[derive(Debug)]
pub(super) struct Calls {
    hasher: FastHash,
    /// Calls still being counted: waiting, outcome before offer, answered and not
    /// ended, ends of unknown calls.
    pub(super) active: HashTable<(Id, Call)>,
    /// Calls whose counting is complete, with their latest event time (retention
    /// runs from it): 32 bytes an entry. A later offer or outcome of one is a
    /// duplicate and a later end nothing, so that is all a record has left to say.
    pub(super) finished: Finished,
    /// At or before the earliest `touched` of the active calls (`Ts::MAX`: none):
    /// when the purge can next have an active call to forget. Exact after a
    /// purge, lowered by each new call; touches only raise a call's time.
    pub(super) oldest_active: Ts,
}

impl Default for Calls {
    fn default() -> Calls {
        Calls {
            hasher: FastHash::default(),
            active: HashTable::new(),
            finished: Finished::default(),
            oldest_active: Ts::MAX,
        }
    }
}

/// Where an event's call was found.
enum Found<'a> {
    /// Still being counted (or new: created by this event).
    Active(Active<'a>),
    /// Counted in full; its retention time has been moved on.
    Finished,
}

/// An active call's record, held so that finishing it takes no second lookup.
struct Active<'a> {
    entry: OccupiedEntry<'a, (Id, Call)>,
    hash: u64,
    finished: &'a mut Finished,
    hasher: &'a FastHash,
}

impl Active<'_> {
    fn get(&self) -> &Call {
        &self.entry.get().1
    }

    fn get_mut(&mut self) -> &mut Call {
        &mut self.entry.get_mut().1
    }

    /// Moves the call to the finished table if [`Call::is_done`], handing back
    /// its last full record (for the call log, [`FinishedCall`]).
    fn finish_if_done(self) -> Option<(Id, Call)> {
        if self.get().is_done() {
            let ((id, c), _) = self.entry.remove();
            self.finished.insert(self.hash, id.clone(), c.touched, self.hasher);
            return Some((id, c));
        }
        None
    }
}

impl Calls {
    /// The call's record, created by `ts` if the call is unknown (`on_new` is told),
    /// touched by `ts` either way.
    fn find(&mut self, id: &Id, ts: Ts, on_new: impl FnOnce()) -> Found<'_> {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(id);
        let mut entry = match self.active.entry(hash, |(k, _)| k == id, |(k, _)| hasher.hash_one(k)) {
            Entry::Occupied(o) => o,
            Entry::Vacant(v) => {
                // Probed only for calls not active, mostly new offers: a miss
                // mostly reads the table's control bytes, not its entries.
                if let Some(t) = self.finished.find_mut(hash, id) {
                    *t = (*t).max(ts);
                    return Found::Finished;
                }
                on_new();
                self.oldest_active = self.oldest_active.min(ts);
                v.insert((id.clone(), Call::new(ts)))
            }
        };
        let c = &mut entry.get_mut().1;
        c.touched = c.touched.max(ts);
        Found::Active(Active { entry, hash, finished: &mut self.finished, hasher })
    }

    /// Whether `id` is a call the floor holds, in either table (the call limit's
    /// check: only a new call is refused).
    pub(super) fn knows(&self, id: &Id) -> bool {
        let hash = self.hasher.hash_one(id);
        self.active.find(hash, |(k, _)| k == id).is_some() || self.finished.holds(hash, id)
    }

    /// Which table holds `id`, for tests: "active", "finished" or "forgotten".
    #[cfg(test)]
    pub(super) fn held(&self, id: &str) -> &'static str {
        let id = Id::from(id);
        let hash = self.hasher.hash_one(&id);
        let active = self.active.find(hash, |(k, _)| *k == id).is_some();
        match (active, self.finished.holds(hash, &id)) {
            (true, false) => "active",
            (false, true) => "finished",
            (false, false) => "forgotten",
            (true, true) => "both",
        }
    }
}

impl Calls {
    /// The calls still being counted, for a checkpoint (`queues`: to name each
    /// call's queue by id, as indices change with the config).
    pub(super) fn checkpoint_active(&self, queues: &[Queue]) -> Vec<CallCp> {
        self.active
            .iter()
            .map(|(id, c)| CallCp {
                id: id.clone(),
                offered_at: c.offered_at(),
                outcome: c.outcome.map(|o| (o == Outcome::Answered, c.outcome_at, c.outcome_counted)),
                touched: c.touched,
                caller: c.caller.clone(),
                queue: c.queue().and_then(|q| queues.get(q)).map(|q| q.id.clone()),
                ended: c.ended,
                agent: c.agent.clone(),
                ended_at: (c.ended_at != NOT_SEEN).then_some(c.ended_at),
            })
            .collect()
    }

    /// Finished calls touched within `kept_ms` of the latest, for a checkpoint.
    pub(super) fn checkpoint_finished(&self, kept_ms: Ts) -> Vec<(Id, Ts)> {
        self.finished.recent_ids(kept_ms)
    }

    /// Puts back the calls of a checkpoint into empty tables; `queue_of` finds a
    /// queue's index by id. Returns how many were left out: a call whose queue
    /// is not on this floor any more (beyond `max_queues`), or one twice.
    pub(super) fn restore(
        &mut self,
        active: Vec<CallCp>,
        finished: Vec<(Id, Ts)>,
        queue_of: impl Fn(&Id) -> Option<QueueIdx>,
    ) -> usize {
        let mut dropped = 0;
        let hasher = &self.hasher;
        for c in active {
            let queue = match &c.queue {
                Some(q) => match queue_of(q) {
                    Some(i) => u32::try_from(i).unwrap_or(NO_QUEUE),
                    None => {
                        dropped += 1;
                        continue;
                    }
                },
                None => NO_QUEUE,
            };
            let (outcome, outcome_at, outcome_counted) = match c.outcome {
                Some((answered, at, counted)) => {
                    (Some(if answered { Outcome::Answered } else { Outcome::Abandoned }), at, counted)
                }
                None => (None, NOT_SEEN, false),
            };
            let call = Call {
                offered_at: c.offered_at.unwrap_or(NOT_SEEN),
                outcome_at,
                touched: c.touched,
                caller: c.caller,
                queue,
                outcome,
                outcome_counted,
                ended: c.ended,
                agent: c.agent,
                ended_at: c.ended_at.unwrap_or(NOT_SEEN),
            };
            let hash = hasher.hash_one(&c.id);
            match self.active.entry(hash, |(k, _)| *k == c.id, |(k, _)| hasher.hash_one(k)) {
                Entry::Vacant(v) => {
                    self.oldest_active = self.oldest_active.min(call.touched);
                    v.insert((c.id, call));
                }
                Entry::Occupied(_) => dropped += 1,
            }
        }
        for (id, touched) in finished {
            let hash = hasher.hash_one(&id);
            let active = self.active.find(hash, |(k, _)| *k == id).is_some();
            if active || self.finished.find_mut(hash, &id).is_some() {
                dropped += 1;
                continue;
            }
            self.finished.insert(hash, id, touched, hasher);
        }
        dropped
    }
}

/// A call counted in full, as the call log keeps it ([`Effect::CallDone`]):
/// times are event times, UTC milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedCall {
    pub call: Id,
    pub queue: Option<Id>,
    /// Who answered it; `None` for an abandoned call.
    pub agent: Option<Id>,
    pub caller: Option<Id>,
    pub offered_at: Ts,
    pub answered_at: Option<Ts>,
    pub abandoned_at: Option<Ts>,
    /// `None` for an abandoned call.
    pub ended_at: Option<Ts>,
}

/// One active call, about 110 bytes with its id (the call log's agent and end
/// time were added to it). Sentinels stand for "not seen", behind
/// accessors, to keep it small: the active table should stay in cache.
#[derive(Debug, Clone)]
pub(super) struct Call {
    offered_at: Ts,
    /// Time of the answer or abandon, whichever came (`outcome` says which).
    outcome_at: Ts,
    /// Latest event time seen for this call; retention runs from it.
    touched: Ts,
    /// The caller's number from the offer, kept so an abandon can be called back.
    caller: Option<Id>,
    queue: u32,
    outcome: Option<Outcome>,
    /// Whether the answer or abandon has been counted in `queue`.
    outcome_counted: bool,
    /// Whether an end has been seen (its time changes nothing that is counted).
    ended: bool,
    /// Who answered it (from the answer, else the end): for the call log.
    agent: Option<Id>,
    /// When its end was seen (`NOT_SEEN` before): for the call log's talk time.
    ended_at: Ts,
}

impl Call {
    fn new(ts: Ts) -> Call {
        Call {
            offered_at: NOT_SEEN,
            outcome_at: NOT_SEEN,
            touched: ts,
            caller: None,
            queue: NO_QUEUE,
            outcome: None,
            outcome_counted: false,
            ended: false,
            agent: None,
            ended_at: NOT_SEEN,
        }
    }

    /// Whether every count of this call is done, so that later events of it can
    /// only be duplicates: offered, with its outcome (then counted too, as the
    /// offer gave a queue). An answered call also waits for its end, which nearly
    /// always follows: that end then finds it in the small table, and the
    /// finished table is written once per call.
    fn is_done(&self) -> bool {
        debug_assert!(self.offered_at().is_none() || !self.has_outcome() || self.outcome_counted);
        self.offered_at().is_some()
            && match self.outcome {
                Some(Outcome::Abandoned) => true,
                Some(Outcome::Answered) => self.ended,
                None => false,
            }
    }

    fn offered_at(&self) -> Option<Ts> {
        (self.offered_at != NOT_SEEN).then_some(self.offered_at)
    }

    fn queue(&self) -> Option<QueueIdx> {
        (self.queue != NO_QUEUE).then_some(self.queue as QueueIdx)
    }

    fn set_queue(&mut self, qi: QueueIdx) {
        debug_assert!(qi < NO_QUEUE as usize);
        self.queue = u32::try_from(qi).unwrap_or(NO_QUEUE);
    }

    fn has_outcome(&self) -> bool {
        self.outcome.is_some()
    }
}

/// Counts into the slice and shift of `ts`.
fn tally(q: &mut Queue, cal: &mut Calendar, st: &Settings, ts: Ts, f: impl Fn(&mut super::window::Tally)) {
    let shift = cal.shift_at(ts).start;
    q.tally(ts, shift, || st.ring(), f);
}

impl Floor {
    pub(super) fn on_offered(
        &mut self,
        call: &Id,
        queue: &Id,
        caller: Option<&Id>,
        ts: Ts,
        fx: &mut Vec<Effect>,
    ) {
        let named = self.queue_for(queue, fx);
        let mut found = match self.calls.find(call, ts, || {}) {
            Found::Active(a) if a.get().offered_at().is_none() => a,
            _ => {
                fx.push(Effect::Anomaly(Anomaly::DuplicateOffer));
                return;
            }
        };
        let c = found.get_mut();
        c.offered_at = ts;
        c.caller = caller.cloned();
        if let (Some(caller), Some(Outcome::Abandoned)) = (caller, c.outcome) {
            // The abandon came first: now we know whom to call back.
            fx.push(Effect::CallerLost {
                queue: c.queue().or(Some(named)),
                call: call.clone(),
                caller: caller.clone(),
                ts: c.outcome_at,
            });
        }
        // An outcome that already named a queue was counted there; keep it.
        let qi = match c.queue() {
            Some(qi) => qi,
            None => {
                c.set_queue(named);
                named
            }
        };
        let q = &mut self.queues[qi];
        q.offered += 1;
        tally(q, &mut self.calendar, &self.settings, ts, |t| t.offered += 1);
        fx.push(Effect::Offered { queue: qi, ts });

        if !c.has_outcome() {
            q.waiting.insert((ts, call.clone()));
            return;
        }
        let count = !c.outcome_counted;
        c.outcome_counted = true;
        count_outcome(q, c, qi, count, &mut self.calendar, &self.settings, fx);
        if let Some(done) = found.finish_if_done() {
            self.call_done(done, fx);
        }
    }

    pub(super) fn on_answered(
        &mut self,
        call: &Id,
        agent: &Id,
        queue: Option<&Id>,
        ts: Ts,
        fx: &mut Vec<Effect>,
    ) {
        let Ok(qi) = self.on_outcome(call, queue, Some(agent), ts, Outcome::Answered, fx) else { return };
        let queue_id = qi.map(|i| self.queues[i].id.clone());

        let a = self.agent_entry(agent, ts);
        a.handled_today += 1;
        if ts >= a.since {
            a.call = Some(call.clone());
            if queue_id.is_some() {
                a.queue = queue_id;
            }
            // The answer itself tells us the agent is talking, even if the bridge's
            // agent_state for it comes later (or never).
            if matches!(a.state, None | Some(AgentState::Ready | AgentState::Ringing)) {
                if a.state.is_none() {
                    a.login_at = Some(ts);
                }
                if a.enter(Some(AgentState::Talking), None, ts) {
                    fx.push(Effect::Agent(a.change()));
                }
            }
        }
    }

    pub(super) fn on_abandoned(&mut self, call: &Id, queue: Option<&Id>, ts: Ts, fx: &mut Vec<Effect>) {
        let _ = self.on_outcome(call, queue, None, ts, Outcome::Abandoned, fx);
    }

    /// Records a call's answer or abandon and counts it once its queue is known.
    /// Returns the call's queue, or `Err` for a second outcome (counted as an anomaly).
    fn on_outcome(
        &mut self,
        call: &Id,
        queue: Option<&Id>,
        agent: Option<&Id>,
        ts: Ts,
        outcome: Outcome,
        fx: &mut Vec<Effect>,
    ) -> Result<Option<QueueIdx>, ()> {
        let named = queue.map(|q| self.queue_for(q, fx));
        let mut found = match self.calls.find(call, ts, || {}) {
            Found::Active(a) if !a.get().has_outcome() => a,
            _ => {
                fx.push(Effect::Anomaly(Anomaly::DuplicateOutcome));
                return Err(());
            }
        };
        let c = found.get_mut();
        c.outcome = Some(outcome);
        c.outcome_at = ts;
        if let Some(a) = agent {
            c.agent = Some(a.clone());
        }
        let qi = c.queue().or(named);
        if let (Outcome::Abandoned, Some(caller)) = (outcome, &c.caller) {
            fx.push(Effect::CallerLost { queue: qi, call: call.clone(), caller: caller.clone(), ts });
        }
        if let Some(qi) = qi {
            c.set_queue(qi);
            let q = &mut self.queues[qi];
            c.outcome_counted = true;
            if let Some(off) = c.offered_at() {
                q.waiting.remove(&(off, call.clone()));
            }
            count_outcome(q, c, qi, true, &mut self.calendar, &self.settings, fx);
        }
        if let Some(done) = found.finish_if_done() {
            self.call_done(done, fx);
        }
        Ok(qi)
    }

    pub(super) fn on_ended(&mut self, call: &Id, agent: Option<&Id>, ts: Ts, fx: &mut Vec<Effect>) {
        // A finished call's end (an abandoned call's, or a second one) changes nothing.
        let unknown = || fx.push(Effect::Anomaly(Anomaly::EndOfUnknownCall));
        if let Found::Active(mut a) = self.calls.find(call, ts, unknown) {
            let c = a.get_mut();
            if !c.ended {
                c.ended = true;
                c.ended_at = ts;
            }
            if c.agent.is_none() {
                c.agent = agent.cloned();
            }
            if let Some(done) = a.finish_if_done() {
                self.call_done(done, fx);
            }
        }
        if let Some(agent) = agent
            && let Some(a) = self.agents.get_mut(agent)
            && a.call.as_ref() == Some(call)
            && ts >= a.since
        {
            a.call = None;
        }
    }

    /// Announces a call counted in full, once (it left the active table for
    /// good): the call log's record of it.
    fn call_done(&self, (id, c): (Id, Call), fx: &mut Vec<Effect>) {
        let Some(offered_at) = c.offered_at() else { return };
        let answered = c.outcome == Some(Outcome::Answered);
        fx.push(Effect::CallDone(Box::new(FinishedCall {
            call: id,
            queue: c.queue().and_then(|q| self.queues.get(q)).map(|q| q.id.clone()),
            agent: c.agent,
            caller: c.caller,
            offered_at,
            answered_at: answered.then_some(c.outcome_at),
            abandoned_at: (!answered).then_some(c.outcome_at),
            ended_at: (c.ended_at != NOT_SEEN).then_some(c.ended_at),
        })));
    }

    /// Forgets calls nobody has mentioned for `call_retention_ms`: after that, an
    /// event of one counts as a new call's.
    pub(super) fn purge_calls(&mut self, now: Ts, fx: &mut Vec<Effect>) {
        let horizon = now - self.settings.call_retention_ms;
        // Finished calls were counted in full: they go without an anomaly.
        self.calls.finished.retain_since(horizon, &self.calls.hasher);
        let queues = &mut self.queues;
        let mut oldest = Ts::MAX;
        self.calls.active.retain(|(id, c)| {
            if c.touched >= horizon {
                oldest = oldest.min(c.touched);
                return true;
            }
            let waiting = c.offered_at().is_some() && !c.has_outcome();
            let unplaced = c.has_outcome() && !c.outcome_counted;
            let unended = c.outcome == Some(Outcome::Answered) && !c.ended;
            if waiting && let (Some(qi), Some(off)) = (c.queue(), c.offered_at()) {
                queues[qi].waiting.remove(&(off, id.clone()));
            }
            if waiting || unplaced {
                fx.push(Effect::Anomaly(Anomaly::CallExpired));
            } else if unended {
                fx.push(Effect::Anomaly(Anomaly::CallUnended));
            }
            false
        });
        self.calls.oldest_active = oldest;
    }

    /// A burst of calls in progress (a backlog resent out of order) grows the
    /// active table, and a hash table keeps its room; once they are done, give it
    /// back so the calls in progress lie dense in cache again. Only at four times
    /// the room needed, so a floor's ups and downs do not rehash. A check of two
    /// numbers: every tick, not only when a purge is due.
    pub(super) fn give_back_room(&mut self) {
        let (active, hasher) = (&mut self.calls.active, &self.calls.hasher);
        if active.capacity() > 4 * active.len().max(ACTIVE_ROOM) {
            active.shrink_to((2 * active.len()).max(ACTIVE_ROOM), |(k, _)| hasher.hash_one(k));
        }
    }
}

/// Counts a call's outcome (`count`: not counted before) and, when its offer is
/// known, books its wait — both in the slice and shift of the outcome, so in one
/// pass over the queue's tallies. Effects come in the order rules expect:
/// `Answered`/`Abandoned`, then `Wait`.
fn count_outcome(
    q: &mut Queue,
    c: &Call,
    qi: QueueIdx,
    count: bool,
    cal: &mut Calendar,
    st: &Settings,
    fx: &mut Vec<Effect>,
) {
    let Some(outcome) = c.outcome else { return };
    let at = c.outcome_at;
    let wait = c.offered_at().map(|off| (at - off).max(0));
    if !count && wait.is_none() {
        return;
    }
    let answered = outcome == Outcome::Answered;
    if count {
        if answered {
            q.answered += 1;
        } else {
            q.abandoned += 1;
        }
    }
    let sl_ms = i64::from(q.params.sl_threshold_secs) * 1000;
    let short_ms = i64::from(q.params.short_abandon_secs) * 1000;
    tally(q, cal, st, at, |t| {
        if answered {
            t.answered += u32::from(count);
            if let Some(wait) = wait {
                t.answered_with_wait += 1;
                t.answered_wait_ms += u64::try_from(wait).unwrap_or(0);
                if wait <= sl_ms {
                    t.answered_within_sl += 1;
                }
            }
        } else {
            t.abandoned += u32::from(count);
            if let Some(wait) = wait {
                if wait < short_ms {
                    t.abandoned_short += 1;
                } else if wait <= sl_ms {
                    t.abandoned_within_sl += 1;
                }
            }
        }
    });
    if count {
        fx.push(if answered { Effect::Answered(qi) } else { Effect::Abandoned(qi) });
    }
    if let Some(ms) = wait {
        fx.push(Effect::Wait { queue: qi, answered, ms });
    }
}
