//! Call lifecycle: offer, answer or abandon, end — in whatever order they arrive.
//!
//! Each call remembers what has been seen and what has been counted, so every count
//! happens exactly once: the offer when its offer arrives, the outcome when both the
//! outcome and the call's queue are known, the wait when both the offer time and the
//! outcome time are known.

use super::queue::{Queue, QueueIdx};
use super::{Anomaly, Calendar, Effect, Floor, Settings};
use crate::event::{AgentState, Id, Ts};

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Answered,
    Abandoned,
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    queue: Option<QueueIdx>,
    offered_at: Option<Ts>,
    answered_at: Option<Ts>,
    abandoned_at: Option<Ts>,
    ended_at: Option<Ts>,
    /// The caller's number from the offer, kept so an abandon can be called back.
    caller: Option<Id>,
    /// Whether the answer or abandon has been counted in `queue`.
    outcome_counted: bool,
    /// Latest event time seen for this call; retention runs from it.
    touched: Ts,
}

impl Call {
    fn new(ts: Ts) -> Call {
        Call {
            queue: None,
            offered_at: None,
            answered_at: None,
            abandoned_at: None,
            ended_at: None,
            caller: None,
            outcome_counted: false,
            touched: ts,
        }
    }

    fn has_outcome(&self) -> bool {
        self.answered_at.is_some() || self.abandoned_at.is_some()
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
        let c = self.calls.entry_ref(call).or_insert_with(|| Call::new(ts));
        c.touched = c.touched.max(ts);
        if c.offered_at.is_some() {
            fx.push(Effect::Anomaly(Anomaly::DuplicateOffer));
            return;
        }
        c.offered_at = Some(ts);
        c.caller = caller.cloned();
        if let (Some(caller), Some(at)) = (caller, c.abandoned_at) {
            // The abandon came first: now we know whom to call back.
            fx.push(Effect::CallerLost {
                queue: c.queue.or(Some(named)),
                call: call.clone(),
                caller: caller.clone(),
                ts: at,
            });
        }
        // An outcome that already named a queue was counted there; keep it.
        let qi = *c.queue.get_or_insert(named);
        let q = &mut self.queues[qi];
        q.offered += 1;
        tally(q, &mut self.calendar, &self.settings, ts, |t| t.offered += 1);
        fx.push(Effect::Offered { queue: qi, ts });

        if !c.has_outcome() {
            q.waiting.insert((ts, call.clone()));
            return;
        }
        if !c.outcome_counted {
            c.outcome_counted = true;
            count_outcome(q, c, qi, &mut self.calendar, &self.settings, fx);
        }
        record_wait(q, c, qi, &mut self.calendar, &self.settings, fx);
    }

    pub(super) fn on_answered(
        &mut self,
        call: &Id,
        agent: &Id,
        queue: Option<&Id>,
        ts: Ts,
        fx: &mut Vec<Effect>,
    ) {
        let Ok(qi) = self.on_outcome(call, queue, ts, Outcome::Answered, fx) else { return };
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
        let _ = self.on_outcome(call, queue, ts, Outcome::Abandoned, fx);
    }

    /// Records a call's answer or abandon and counts it once its queue is known.
    /// Returns the call's queue, or `Err` for a second outcome (counted as an anomaly).
    fn on_outcome(
        &mut self,
        call: &Id,
        queue: Option<&Id>,
        ts: Ts,
        outcome: Outcome,
        fx: &mut Vec<Effect>,
    ) -> Result<Option<QueueIdx>, ()> {
        let named = queue.map(|q| self.queue_for(q, fx));
        let c = self.calls.entry_ref(call).or_insert_with(|| Call::new(ts));
        c.touched = c.touched.max(ts);
        if c.has_outcome() {
            fx.push(Effect::Anomaly(Anomaly::DuplicateOutcome));
            return Err(());
        }
        match outcome {
            Outcome::Answered => c.answered_at = Some(ts),
            Outcome::Abandoned => c.abandoned_at = Some(ts),
        }
        let qi = c.queue.or(named);
        c.queue = qi;
        if let (Outcome::Abandoned, Some(caller)) = (outcome, &c.caller) {
            fx.push(Effect::CallerLost { queue: qi, call: call.clone(), caller: caller.clone(), ts });
        }
        if let Some(qi) = qi {
            let q = &mut self.queues[qi];
            c.outcome_counted = true;
            count_outcome(q, c, qi, &mut self.calendar, &self.settings, fx);
            if let Some(off) = c.offered_at {
                q.waiting.remove(&(off, call.clone()));
                record_wait(q, c, qi, &mut self.calendar, &self.settings, fx);
            }
        }
        Ok(qi)
    }

    pub(super) fn on_ended(&mut self, call: &Id, agent: Option<&Id>, ts: Ts, fx: &mut Vec<Effect>) {
        let c = self.calls.entry_ref(call).or_insert_with(|| {
            fx.push(Effect::Anomaly(Anomaly::EndOfUnknownCall));
            Call::new(ts)
        });
        c.touched = c.touched.max(ts);
        c.ended_at = Some(c.ended_at.map_or(ts, |e| e.min(ts)));
        if let Some(agent) = agent
            && let Some(a) = self.agents.get_mut(agent)
            && a.call.as_ref() == Some(call)
            && ts >= a.since
        {
            a.call = None;
        }
    }

    /// Forgets calls nobody has mentioned for `call_retention_ms`.
    pub(super) fn purge_calls(&mut self, now: Ts, fx: &mut Vec<Effect>) {
        let horizon = now - self.settings.call_retention_ms;
        let queues = &mut self.queues;
        self.calls.retain(|id, c| {
            if c.touched >= horizon {
                return true;
            }
            let waiting = c.offered_at.is_some() && !c.has_outcome();
            let unplaced = c.has_outcome() && !c.outcome_counted;
            if waiting && let (Some(qi), Some(off)) = (c.queue, c.offered_at) {
                queues[qi].waiting.remove(&(off, id.clone()));
            }
            if waiting || unplaced {
                fx.push(Effect::Anomaly(Anomaly::CallExpired));
            }
            false
        });
    }
}

fn count_outcome(
    q: &mut Queue,
    c: &Call,
    qi: QueueIdx,
    cal: &mut Calendar,
    st: &Settings,
    fx: &mut Vec<Effect>,
) {
    if let Some(at) = c.answered_at {
        q.answered += 1;
        tally(q, cal, st, at, |t| t.answered += 1);
        fx.push(Effect::Answered(qi));
    } else if let Some(at) = c.abandoned_at {
        q.abandoned += 1;
        tally(q, cal, st, at, |t| t.abandoned += 1);
        fx.push(Effect::Abandoned(qi));
    }
}

/// Books the wait of a call whose offer and outcome are both known, in the slice
/// of the outcome.
fn record_wait(
    q: &mut Queue,
    c: &Call,
    qi: QueueIdx,
    cal: &mut Calendar,
    st: &Settings,
    fx: &mut Vec<Effect>,
) {
    let Some(off) = c.offered_at else { return };
    let sl_ms = i64::from(q.params.sl_threshold_secs) * 1000;
    let short_ms = i64::from(q.params.short_abandon_secs) * 1000;
    if let Some(at) = c.answered_at {
        let wait = (at - off).max(0);
        let wait_u = u64::try_from(wait).unwrap_or(0);
        tally(q, cal, st, at, |t| {
            t.answered_with_wait += 1;
            t.answered_wait_ms += wait_u;
            if wait <= sl_ms {
                t.answered_within_sl += 1;
            }
        });
        fx.push(Effect::Wait { queue: qi, answered: true, ms: wait });
    } else if let Some(at) = c.abandoned_at {
        let wait = (at - off).max(0);
        tally(q, cal, st, at, |t| {
            if wait < short_ms {
                t.abandoned_short += 1;
            } else if wait <= sl_ms {
                t.abandoned_within_sl += 1;
            }
        });
        fx.push(Effect::Wait { queue: qi, answered: false, ms: wait });
    }
}
