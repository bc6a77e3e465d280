//! app_queue's AMI events (Asterisk 12 and later) → canonical [`Event`]s.
//!
//! Stateful, because AMI reports facts piecemeal: a member's pause per queue,
//! its device state, the call it rang or bridged. [`AmiFloor`] keeps those facts
//! per member and emits an `agent_state` only when the state they add up to
//! changes (see [`Member::state`]). It outlives links: after a reconnect the
//! `QueueStatus` snapshot is compared with it, so calls already known are not
//! offered again and calls that arrived meanwhile keep their real wait.
//!
//! Identities: an agent is the member's `Interface` (`PJSIP/1001`; the
//! `QueueMember` reply spells it `Location`, and the name `Name` rather than
//! `MemberName`); a call is the caller channel's `Uniqueid` `@` its queue, so a
//! call that overflows to a second queue is offered there too.
//!
//! Units: `HoldTime`, `TalkTime`, `Wait` and `AgentConnect.RingTime` are seconds;
//! `AgentRingNoAnswer.RingTime` is milliseconds; `Timestamp` (with
//! `timestampevents = yes`) is seconds with a fraction.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::frame::Message;
use crate::event::{AgentState, Event, EventKind, FastMap, Id, Ts};
use crate::ingest::dial::{id_of, reason_code};
use crate::ingest::finished_calls::FinishedCalls;
use crate::ingest::{RejectReason, Rejection};

/// Asterisk device states (`Status` of members).
mod device {
    pub(super) const NOT_INUSE: u8 = 1;
    pub(super) const INUSE: u8 = 2;
    pub(super) const BUSY: u8 = 3;
    pub(super) const INVALID: u8 = 4;
    pub(super) const UNAVAILABLE: u8 = 5;
    pub(super) const RINGING: u8 = 6;
    pub(super) const RINGINUSE: u8 = 7;
    pub(super) const ONHOLD: u8 = 8;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Waiting,
    Answered,
}

#[derive(Debug, Clone, Default)]
struct Member {
    name: Option<Id>,
    /// Queue → paused reason (`Some` when paused there; `paused` if none given).
    queues: BTreeMap<Id, Option<Id>>,
    /// The latest pause reason, for an agent paused everywhere.
    reason: Option<Id>,
    device: u8,
    /// `(call, queue)` rung or bridged.
    ringing: Option<(Id, Id)>,
    call: Option<(Id, Id)>,
    acw_until: Option<Ts>,
    acw_for: Option<(Id, Id)>,
    /// The member's own `Wrapuptime`, when set.
    wrapup_secs: Option<u32>,
    /// What the floor was last told.
    shown: Option<Shown>,
    /// When it was shown: what is told next is never earlier, so an event the
    /// ACD stamped a little before our own snapshot time (its clock behind
    /// ours) is not dropped by the floor as older than the agent's state.
    shown_at: Ts,
}

type Shown = (AgentState, Option<Id>, Option<Id>, Option<Id>);

impl Member {
    /// The state the facts add up to, with reason, queue and call. A queue call
    /// first, then the device (a call outside the queues is still a call), then
    /// ringing, after-call work, pauses (paused in every queue: not ready), an
    /// unreachable device.
    fn state(&self, now: Ts) -> Shown {
        if let Some((c, q)) = &self.call {
            let st = if self.device == device::ONHOLD { AgentState::Hold } else { AgentState::Talking };
            return (st, None, Some(q.clone()), Some(c.clone()));
        }
        match self.device {
            device::INUSE | device::BUSY => return (AgentState::Talking, None, None, None),
            device::ONHOLD => return (AgentState::Hold, None, None, None),
            _ => {}
        }
        if let Some((c, q)) = &self.ringing {
            return (AgentState::Ringing, None, Some(q.clone()), Some(c.clone()));
        }
        if matches!(self.device, device::RINGING | device::RINGINUSE) {
            return (AgentState::Ringing, None, None, None);
        }
        if self.acw_until.is_some_and(|t| t > now) {
            let (c, q) = self.acw_for.clone().unzip();
            return (AgentState::Acw, None, q, c);
        }
        if !self.queues.is_empty() && self.queues.values().all(Option::is_some) {
            let reason = self.reason.clone().or_else(|| Some(Id::from("paused")));
            return (AgentState::NotReady, reason, None, None);
        }
        if matches!(self.device, device::INVALID | device::UNAVAILABLE) {
            return (AgentState::NotReady, Some(Id::from("unavailable")), None, None);
        }
        (AgentState::Ready, None, None, None)
    }
}

/// What a `QueueStatus` snapshot has listed so far.
#[derive(Debug, Default)]
struct Snapshot {
    calls: HashSet<Id>,
    members: HashSet<(Id, Id)>,
    /// Calls waiting when the snapshot began.
    waiting_before: Vec<Id>,
}

/// The floor as the ACD has shown it on this source, across links.
#[derive(Debug)]
pub struct AmiFloor {
    source: Id,
    wrapup_secs: u32,
    members: FastMap<Id, Member>,
    calls: FastMap<Id, CallState>,
    finished: FinishedCalls,
    acw_due: BTreeSet<(Ts, Id)>,
    snapshot: Option<Snapshot>,
}

/// What decoding one message produced.
pub struct Sink<'a> {
    pub events: &'a mut Vec<Event>,
    pub rejected: &'a mut Vec<Rejection>,
}

impl AmiFloor {
    pub fn new(source: Id, wrapup_secs: u32) -> AmiFloor {
        AmiFloor {
            source,
            wrapup_secs,
            members: FastMap::default(),
            calls: FastMap::default(),
            finished: FinishedCalls::default(),
            acw_due: BTreeSet::new(),
            snapshot: None,
        }
    }

    /// Calls waiting now, as this source has reported them (for tests).
    pub fn waiting(&self) -> usize {
        self.calls.values().filter(|c| **c == CallState::Waiting).count()
    }

    /// A `QueueStatus` snapshot begins: what it lists is compared with what is known.
    pub fn begin_snapshot(&mut self) {
        let waiting_before =
            self.calls.iter().filter(|(_, s)| **s == CallState::Waiting).map(|(c, _)| c.clone()).collect();
        self.snapshot = Some(Snapshot { waiting_before, ..Snapshot::default() });
    }

    /// The snapshot is complete: calls known waiting that it did not list left
    /// the queue while the link was down, and members it did not list are gone.
    pub fn end_snapshot(&mut self, now: Ts, out: &mut Sink<'_>) {
        let Some(snap) = self.snapshot.take() else { return };
        for call in snap.waiting_before {
            if snap.calls.contains(&call) || self.calls.get(&call) != Some(&CallState::Waiting) {
                continue;
            }
            // Its outcome was not seen; the ACD no longer has it waiting. The
            // canonical protocol's only outcome without an agent is an abandon
            // (Asterisk's own `Abandoned` counter counts timeouts the same way).
            tracing::warn!(source = %self.source, call = %call, "call left the queue while the link was down; counted abandoned");
            let queue = call.rsplit_once('@').and_then(|(_, q)| id_of(q));
            self.finish(&call);
            self.push(out, now, EventKind::CallAbandoned { call, queue });
        }
        let agents: Vec<Id> = self.members.keys().cloned().collect();
        for agent in agents {
            let Some(m) = self.members.get_mut(&agent) else { continue };
            m.queues.retain(|q, _| snap.members.contains(&(agent.clone(), q.clone())));
            if m.queues.is_empty() {
                self.logout(&agent, now, out);
            } else {
                self.settle(&agent, now, out);
            }
        }
    }

    /// When after-call work next ends.
    pub fn next_deadline(&self) -> Option<Ts> {
        self.acw_due.first().map(|(t, _)| *t)
    }

    /// Ends after-call work that is due, at the time it was due.
    pub fn tick(&mut self, now: Ts, out: &mut Sink<'_>) {
        while let Some((due, agent)) = self.acw_due.first().cloned() {
            if due > now {
                break;
            }
            self.acw_due.remove(&(due, agent.clone()));
            if let Some(m) = self.members.get_mut(&agent)
                && m.acw_until == Some(due)
            {
                m.acw_until = None;
                m.acw_for = None;
                self.settle(&agent, due, out);
            }
        }
    }

    /// Decodes one event (or snapshot entry). Events app_queue's floor does not
    /// need (`FullyBooted`, `QueueParams`, …) are passed over without a word.
    pub fn on_event(&mut self, m: &Message, now: Ts, out: &mut Sink<'_>) {
        let Some(name) = m.get("Event") else { return };
        let ts = match m.get("Timestamp") {
            None => now,
            Some(t) => match t.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s < 1e11 => (s * 1000.0) as Ts,
                _ => {
                    out.rejected.push(reject(RejectReason::BadTimestamp, name, format!("`Timestamp` {t:?}")));
                    return;
                }
            },
        };
        let r = match name {
            "QueueCallerJoin" => self.caller_join(m, ts, out),
            "QueueCallerAbandon" => self.caller_abandon(m, ts, out),
            // Sent for every caller leaving, answered ones too (before their
            // `AgentConnect`): the outcome comes from the other events.
            "QueueCallerLeave" => Ok(()),
            "AgentCalled" => self.agent_called(m, ts, out),
            "AgentConnect" => self.agent_connect(m, ts, out),
            "AgentComplete" => self.agent_complete(m, ts, out),
            "AgentRingNoAnswer" | "AgentDump" => self.ring_ended(m, name, ts, out),
            "QueueMemberPause" | "QueueMemberStatus" | "QueueMemberAdded" => {
                self.member_update(m, "MemberName", "Interface", ts, out)
            }
            "QueueMember" => self.member_update(m, "Name", "Location", ts, out),
            "QueueMemberRemoved" => self.member_removed(m, ts, out),
            "QueueEntry" => self.queue_entry(m, ts, out),
            _ => Ok(()),
        };
        if let Err(e) = r {
            out.rejected.push(reject(e.0, name, e.1));
        }
    }

    fn push(&self, out: &mut Sink<'_>, ts: Ts, kind: EventKind) {
        out.events.push(Event { ts, source: self.source.clone(), seq: None, kind });
    }

    fn finish(&mut self, call: &Id) {
        self.calls.remove(call);
        self.finished.insert(call);
    }

    /// Offers `call` unless it is known (waiting, answered or finished).
    fn offer(&mut self, call: &Id, queue: &Id, caller: Option<Id>, at: Ts, out: &mut Sink<'_>) {
        if self.calls.contains_key(call) || self.finished.contains(call) {
            return;
        }
        self.calls.insert(call.clone(), CallState::Waiting);
        self.push(out, at, EventKind::CallOffered { call: call.clone(), queue: queue.clone(), caller });
    }

    fn caller_join(&mut self, m: &Message, ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = call_of(m)?;
        self.offer(&call, &queue, caller_of(m), ts, out);
        Ok(())
    }

    fn queue_entry(&mut self, m: &Message, ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = call_of(m)?;
        let wait = secs(m, "Wait")?;
        if let Some(s) = &mut self.snapshot {
            s.calls.insert(call.clone());
        }
        // A call waiting since before the link came up keeps its real wait.
        self.offer(&call, &queue, caller_of(m), ts - wait * 1000, out);
        Ok(())
    }

    fn caller_abandon(&mut self, m: &Message, ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = call_of(m)?;
        if self.finished.contains(&call) {
            return Ok(());
        }
        // Fired for a caller hanging up, and also for a queue timeout,
        // leave-when-empty and a withdrawal (app_queue's record_abandoned): none
        // of those can be told apart here, and Asterisk counts them all in its
        // `Abandoned` figure; a timed-out call that overflows to another queue is
        // offered there as its own call (`Uniqueid@queue`).
        let hold = secs(m, "HoldTime").unwrap_or(0);
        self.offer(&call, &queue, caller_of(m), ts - hold * 1000, out);
        self.finish(&call);
        self.push(out, ts, EventKind::CallAbandoned { call: call.clone(), queue: Some(queue) });
        // Members still ringing for it stop.
        let ringing: Vec<Id> = self
            .members
            .iter()
            .filter(|(_, mb)| mb.ringing.as_ref().is_some_and(|(c, _)| *c == call))
            .map(|(a, _)| a.clone())
            .collect();
        for a in ringing {
            if let Some(mb) = self.members.get_mut(&a) {
                mb.ringing = None;
            }
            self.settle(&a, ts, out);
        }
        Ok(())
    }

    fn agent_called(&mut self, m: &Message, ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = call_of(m)?;
        let agent = self.member(m, "MemberName", "Interface", ts, out)?;
        if let Some(mb) = self.members.get_mut(&agent) {
            mb.ringing = Some((call, queue));
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn ring_ended(&mut self, m: &Message, name: &str, ts: Ts, out: &mut Sink<'_>) -> Res {
        let agent = self.member(m, "MemberName", "Interface", ts, out)?;
        let Some(mb) = self.members.get_mut(&agent) else { return Ok(()) };
        if name == "AgentRingNoAnswer"
            && mb.ringing.is_none()
            && mb.shown.as_ref().is_some_and(|s| s.0 != AgentState::Ringing)
        {
            // The `AgentCalled` was missed: its ringing is put back from
            // `RingTime`, which this event gives in milliseconds.
            let ring_ms = secs(m, "RingTime").unwrap_or(0);
            let (call, queue) = call_of(m)?;
            mb.ringing = Some((call, queue));
            self.settle(&agent, ts - ring_ms, out);
        }
        if let Some(mb) = self.members.get_mut(&agent) {
            mb.ringing = None;
            if matches!(mb.device, device::RINGING | device::RINGINUSE) {
                mb.device = device::NOT_INUSE;
            }
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn agent_connect(&mut self, m: &Message, ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = call_of(m)?;
        let agent = self.member(m, "MemberName", "Interface", ts, out)?;
        // `HoldTime` counts from the caller's join to now, ringing included:
        // a call whose join was missed is offered when it really joined.
        let hold = secs(m, "HoldTime").unwrap_or(0);
        self.offer(&call, &queue, caller_of(m), ts - hold * 1000, out);
        let missed_ring = self.members.get(&agent).is_some_and(|mb| mb.ringing.is_none());
        if missed_ring {
            // `RingTime` here is seconds (unlike `AgentRingNoAnswer`'s).
            let ring = secs(m, "RingTime").unwrap_or(0);
            if ring > 0 {
                if let Some(mb) = self.members.get_mut(&agent) {
                    mb.ringing = Some((call.clone(), queue.clone()));
                }
                self.settle(&agent, ts - ring * 1000, out);
            }
        }
        // The answer after the ringing it ends, so the floor sees them in order.
        if self.calls.get(&call) == Some(&CallState::Waiting) {
            self.calls.insert(call.clone(), CallState::Answered);
            let ev = EventKind::CallAnswered {
                call: call.clone(),
                agent: agent.clone(),
                queue: Some(queue.clone()),
            };
            self.push(out, ts, ev);
        }
        // Others rung for the same call (ringall) stop ringing.
        let others: Vec<Id> = self
            .members
            .iter()
            .filter(|(a, mb)| **a != agent && mb.ringing.as_ref().is_some_and(|(c, _)| *c == call))
            .map(|(a, _)| a.clone())
            .collect();
        for a in others {
            if let Some(mb) = self.members.get_mut(&a) {
                mb.ringing = None;
            }
            self.settle(&a, ts, out);
        }
        if let Some(mb) = self.members.get_mut(&agent) {
            mb.ringing = None;
            mb.call = Some((call, queue));
            mb.acw_until = None;
            if !matches!(mb.device, device::ONHOLD) {
                mb.device = device::INUSE;
            }
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn agent_complete(&mut self, m: &Message, ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = call_of(m)?;
        let agent = self.member(m, "MemberName", "Interface", ts, out)?;
        if !self.finished.contains(&call) {
            self.finish(&call);
            self.push(out, ts, EventKind::CallEnded { call: call.clone(), agent: Some(agent.clone()) });
        }
        let default = self.wrapup_secs;
        let Some(mb) = self.members.get_mut(&agent) else { return Ok(()) };
        mb.call = None;
        mb.ringing = None;
        // The call is over, whatever the device reports next.
        mb.device = device::NOT_INUSE;
        // Asterisk has no after-call-work event: it is the member's wrap-up time
        // (its own `Wrapuptime`, else the source's `wrapup_secs`) after the call.
        let wrap = mb.wrapup_secs.filter(|w| *w > 0).unwrap_or(default);
        if wrap > 0 {
            let until = ts + i64::from(wrap) * 1000;
            mb.acw_until = Some(until);
            mb.acw_for = Some((call, queue));
            self.acw_due.insert((until, agent.clone()));
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    /// `QueueMember` (snapshot), `QueueMemberAdded`, `…Status`, `…Pause`.
    fn member_update(
        &mut self,
        m: &Message,
        name_key: &str,
        iface_key: &str,
        ts: Ts,
        out: &mut Sink<'_>,
    ) -> Res {
        let queue = id(m, "Queue")?;
        let agent = self.member(m, name_key, iface_key, ts, out)?;
        let paused = match m.get("Paused") {
            None => None,
            Some("1") => Some(true),
            Some("0") => Some(false),
            Some(p) => return Err((RejectReason::InvalidField, format!("`Paused` {p:?}"))),
        };
        let status = match m.get("Status") {
            None => None,
            Some(s) => match s.parse::<u8>() {
                Ok(d) if d <= device::ONHOLD => Some(d),
                _ => return Err((RejectReason::UnknownState, format!("device `Status` {s:?}"))),
            },
        };
        let wrap = m.get("Wrapuptime").and_then(|w| w.parse::<u32>().ok());
        let in_call = m.get("InCall") == Some("1");
        let reason = m.get("PausedReason").and_then(reason_code);
        if let Some(s) = &mut self.snapshot {
            s.members.insert((agent.clone(), queue.clone()));
        }
        let Some(mb) = self.members.get_mut(&agent) else { return Ok(()) };
        match paused {
            Some(true) => {
                mb.queues.insert(queue, Some(reason.clone().unwrap_or_else(|| Id::from("paused"))));
                if reason.is_some() {
                    mb.reason = reason;
                }
            }
            Some(false) => {
                mb.queues.insert(queue, None);
            }
            None => {
                mb.queues.entry(queue).or_insert(None);
            }
        }
        if let Some(d) = status {
            mb.device = d;
            if !matches!(d, device::RINGING | device::RINGINUSE) {
                mb.ringing = None;
            }
            if d == device::NOT_INUSE && !in_call {
                mb.call = None;
            }
        }
        if wrap.is_some() {
            mb.wrapup_secs = wrap;
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn member_removed(&mut self, m: &Message, ts: Ts, out: &mut Sink<'_>) -> Res {
        let queue = id(m, "Queue")?;
        let agent = id(m, "Interface")?;
        let Some(mb) = self.members.get_mut(&agent) else { return Ok(()) };
        mb.queues.remove(&queue);
        if mb.queues.is_empty() {
            self.logout(&agent, ts, out);
        } else {
            self.settle(&agent, ts, out);
        }
        Ok(())
    }

    /// The member an event names, created (not yet shown) if new.
    fn member(
        &mut self,
        m: &Message,
        name_key: &str,
        iface_key: &str,
        _ts: Ts,
        _out: &mut Sink<'_>,
    ) -> Result<Id, Failure> {
        let agent = id(m, iface_key)?;
        let name = m.get(name_key).filter(|n| !n.is_empty() && *n != agent.as_str()).map(|n| {
            let n: String = n.chars().filter(|c| !c.is_control()).take(64).collect();
            Id::from(n)
        });
        let mb = self.members.entry(agent.clone()).or_default();
        if name.is_some() {
            mb.name = name;
        }
        Ok(agent)
    }

    fn logout(&mut self, agent: &Id, ts: Ts, out: &mut Sink<'_>) {
        if let Some(mb) = self.members.remove(agent)
            && mb.shown.is_some()
        {
            if let Some(until) = mb.acw_until {
                self.acw_due.remove(&(until, agent.clone()));
            }
            self.push(out, ts, EventKind::AgentLogout { agent: agent.clone(), reason: None });
        }
    }

    /// Tells the floor of a member's state if what the facts add up to changed.
    fn settle(&mut self, agent: &Id, ts: Ts, out: &mut Sink<'_>) {
        let Some(mb) = self.members.get_mut(agent) else { return };
        if mb.queues.is_empty() && mb.shown.is_none() {
            // Named by a call event but in no queue we know of yet: the snapshot
            // or a `QueueMemberAdded` brings it in.
            if mb.call.is_none() && mb.ringing.is_none() {
                return;
            }
        }
        let now = mb.state(ts);
        if mb.shown.as_ref() == Some(&now) {
            return;
        }
        let first = mb.shown.is_none();
        mb.shown = Some(now.clone());
        let ts = ts.max(mb.shown_at);
        mb.shown_at = ts;
        let (state, reason, queue, call) = now;
        let kind = if first {
            EventKind::AgentLogin { agent: agent.clone(), name: mb.name.clone(), team: None, state, reason }
        } else {
            EventKind::AgentState { agent: agent.clone(), state, reason, queue, call }
        };
        self.push(out, ts, kind);
    }
}

/// Why an event could not be used: the reason and what was wrong.
type Failure = (RejectReason, String);
type Res = Result<(), Failure>;

fn reject(reason: RejectReason, event: &str, what: String) -> Rejection {
    let event: String = event.chars().take(40).collect();
    Rejection::new(reason, format!("AMI {event}: {what}"))
}

fn id(m: &Message, key: &str) -> Result<Id, Failure> {
    let v = m.get(key).ok_or_else(|| (RejectReason::MissingField, format!("missing `{key}`")))?;
    id_of(v).ok_or_else(|| (RejectReason::InvalidField, format!("`{key}` is not a usable id")))
}

fn call_of(m: &Message) -> Result<(Id, Id), Failure> {
    let queue = id(m, "Queue")?;
    let uid = id(m, "Uniqueid")?;
    let call = id_of(&format!("{uid}@{queue}")).unwrap_or(uid);
    Ok((call, queue))
}

fn caller_of(m: &Message) -> Option<Id> {
    m.get("CallerIDNum").filter(|c| !c.is_empty() && *c != "<unknown>").and_then(id_of)
}

fn secs(m: &Message, key: &str) -> Result<i64, Failure> {
    let v = m.get(key).ok_or_else(|| (RejectReason::MissingField, format!("missing `{key}`")))?;
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|s| (0..=10 * 365 * 86_400 * 1000).contains(s))
        .ok_or_else(|| (RejectReason::InvalidField, format!("`{key}` {v:?} is not a duration")))
}
