//! mod_callcenter's `CUSTOM callcenter::info` events and `callcenter_config`
//! listings → canonical [`Event`]s.
//!
//! Like the AMI decoder it keeps per-agent facts (status, state, the call rung
//! or bridged, after-call work) and emits a state only when they add up to a
//! new one; it outlives links, so a resync offers only calls it did not know.
//!
//! Identities: an agent is its `CC-Agent` name (`1000@default`), a call its
//! `CC-Member-UUID` (one per queue entry). Units: `Event-Date-Timestamp` is
//! microseconds since the epoch, every `CC-*-Time` and `*_epoch` seconds.
//!
//! After-call work: mod_callcenter sets the agent `Waiting` again the moment a
//! call ends but offers it nothing for its `wrap_up_time`; that span is `acw`.

use std::collections::{BTreeSet, HashSet};

use crate::event::{AgentState, Event, EventKind, FastMap, Id, Ts};
use crate::ingest::dial::id_of;
use crate::ingest::finished_calls::FinishedCalls;
use crate::ingest::{RejectReason, Rejection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Waiting,
    Answered,
}

/// mod_callcenter's agent status (what the agent chose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Available,
    OnBreak,
    LoggedOut,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "Available" | "Available (On Demand)" => Status::Available,
            "On Break" => Status::OnBreak,
            "Logged Out" => Status::LoggedOut,
            _ => return None,
        })
    }
}

/// mod_callcenter's agent state (what the dispatcher is doing with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FsState {
    Waiting,
    Receiving,
    InCall,
    Idle,
    /// `Reserved` and any newer state: changes nothing shown.
    Other,
}

impl FsState {
    fn parse(s: &str) -> Option<FsState> {
        Some(match s {
            "Waiting" => FsState::Waiting,
            "Receiving" => FsState::Receiving,
            "In a queue call" => FsState::InCall,
            "Idle" => FsState::Idle,
            "Reserved" | "Unknown" => FsState::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
struct Agent {
    status: Status,
    state: FsState,
    ringing: Option<(Id, Id)>,
    call: Option<(Id, Id)>,
    acw_until: Option<Ts>,
    acw_for: Option<(Id, Id)>,
    wrapup_secs: Option<u32>,
    shown: Option<Shown>,
    /// When it was shown: what is told next is never earlier, so an event the
    /// ACD stamped a little before our own snapshot time (its clock behind
    /// ours) is not dropped by the floor as older than the agent's state.
    shown_at: Ts,
}

type Shown = (AgentState, Option<Id>, Option<Id>, Option<Id>);

impl Agent {
    fn new(status: Status) -> Agent {
        Agent {
            status,
            state: FsState::Waiting,
            ringing: None,
            call: None,
            acw_until: None,
            acw_for: None,
            wrapup_secs: None,
            shown: None,
            shown_at: 0,
        }
    }

    fn shown_state(&self, now: Ts) -> Shown {
        if let Some((c, q)) = &self.call {
            return (AgentState::Talking, None, Some(q.clone()), Some(c.clone()));
        }
        if self.state == FsState::InCall {
            return (AgentState::Talking, None, None, None);
        }
        if let Some((c, q)) = &self.ringing {
            return (AgentState::Ringing, None, Some(q.clone()), Some(c.clone()));
        }
        if self.state == FsState::Receiving {
            return (AgentState::Ringing, None, None, None);
        }
        if self.acw_until.is_some_and(|t| t > now) {
            let (c, q) = self.acw_for.clone().unzip();
            return (AgentState::Acw, None, q, c);
        }
        if self.status == Status::OnBreak {
            return (AgentState::NotReady, Some(Id::from("break")), None, None);
        }
        if self.state == FsState::Idle {
            return (AgentState::NotReady, Some(Id::from("idle")), None, None);
        }
        (AgentState::Ready, None, None, None)
    }
}

pub struct Sink<'a> {
    pub events: &'a mut Vec<Event>,
    pub rejected: &'a mut Vec<Rejection>,
}

/// The floor as this FreeSWITCH has shown it, across links.
#[derive(Debug)]
pub struct EslFloor {
    source: Id,
    wrapup_secs: u32,
    agents: FastMap<Id, Agent>,
    calls: FastMap<Id, CallState>,
    finished: FinishedCalls,
    acw_due: BTreeSet<(Ts, Id)>,
}

type Failure = (RejectReason, String);
type Res = Result<(), Failure>;

impl EslFloor {
    pub fn new(source: Id, wrapup_secs: u32) -> EslFloor {
        EslFloor {
            source,
            wrapup_secs,
            agents: FastMap::default(),
            calls: FastMap::default(),
            finished: FinishedCalls::default(),
            acw_due: BTreeSet::new(),
        }
    }

    pub fn waiting(&self) -> usize {
        self.calls.values().filter(|c| **c == CallState::Waiting).count()
    }

    pub fn next_deadline(&self) -> Option<Ts> {
        self.acw_due.first().map(|(t, _)| *t)
    }

    pub fn tick(&mut self, now: Ts, out: &mut Sink<'_>) {
        while let Some((due, agent)) = self.acw_due.first().cloned() {
            if due > now {
                break;
            }
            self.acw_due.remove(&(due, agent.clone()));
            if let Some(a) = self.agents.get_mut(&agent)
                && a.acw_until == Some(due)
            {
                a.acw_until = None;
                a.acw_for = None;
                self.settle(&agent, due, out);
            }
        }
    }

    /// One `text/event-plain` event's (decoded) headers.
    pub fn on_event(&mut self, h: &[(String, String)], now: Ts, out: &mut Sink<'_>) {
        let get = |k: &str| super::frame::get(h, k);
        if get("Event-Subclass") != Some("callcenter::info") {
            return;
        }
        let Some(action) = get("CC-Action") else {
            out.rejected.push(reject(
                RejectReason::MissingField,
                "callcenter::info",
                "missing `CC-Action`".into(),
            ));
            return;
        };
        let ts = match get("Event-Date-Timestamp") {
            None => now,
            Some(t) => match t.trim().parse::<i64>() {
                // Microseconds since the epoch.
                Ok(us) if us > 0 && us < 253_402_300_800_000_000 => us / 1000,
                _ => {
                    out.rejected.push(reject(
                        RejectReason::BadTimestamp,
                        action,
                        format!("`Event-Date-Timestamp` {t:?}"),
                    ));
                    return;
                }
            },
        };
        let r = match action {
            "member-queue-start" | "member-queue-resume" => self.member_start(h, ts, out),
            "agent-offering" => self.offering(h, ts, out),
            "bridge-agent-start" => self.bridge_start(h, ts, out),
            "bridge-agent-end" => self.bridge_end(h, ts, out),
            "bridge-agent-fail" => self.bridge_fail(h, ts, out),
            "member-queue-end" => self.member_end(h, ts, out),
            "agent-status-change" => self.status_change(h, ts, out),
            "agent-state-change" => self.state_change(h, ts, out),
            _ => Ok(()),
        };
        if let Err((reason, what)) = r {
            out.rejected.push(reject(reason, action, what));
        }
    }

    /// `callcenter_config agent list`: every agent's status, state and wrap-up.
    /// Agents known but not listed are gone.
    pub fn agent_list(&mut self, body: &str, now: Ts, out: &mut Sink<'_>) {
        let Some(rows) = table(body, out) else { return };
        let mut seen = HashSet::new();
        for row in rows {
            let r = (|| -> Res {
                let name = col_id(&row, "name")?;
                let status = col(&row, "status")?;
                let status = Status::parse(status)
                    .ok_or_else(|| (RejectReason::UnknownState, format!("status {status:?}")))?;
                let state = col(&row, "state")?;
                let state = FsState::parse(state)
                    .ok_or_else(|| (RejectReason::UnknownState, format!("state {state:?}")))?;
                let wrap = col(&row, "wrap_up_time").ok().and_then(|w| w.parse::<u32>().ok());
                let last_end =
                    col(&row, "last_bridge_end").ok().and_then(|w| w.parse::<i64>().ok()).unwrap_or(0);
                seen.insert(name.clone());
                if status == Status::LoggedOut {
                    self.logout(&name, now, out);
                    return Ok(());
                }
                let default = self.wrapup_secs;
                let a = self.agents.entry(name.clone()).or_insert_with(|| Agent::new(status));
                a.status = status;
                a.state = state;
                a.wrapup_secs = wrap;
                if state != FsState::InCall {
                    a.call = None;
                }
                if state != FsState::Receiving {
                    a.ringing = None;
                }
                // Still inside its wrap-up after the last call: after-call work
                // until it ends, as the dispatcher sees it.
                let wrap = i64::from(wrap.filter(|w| *w > 0).unwrap_or(default));
                let until = (last_end + wrap) * 1000;
                if last_end > 0 && wrap > 0 && until > now && a.call.is_none() && a.acw_until.is_none() {
                    a.acw_until = Some(until);
                    self.acw_due.insert((until, name.clone()));
                }
                self.settle(&name, now, out);
                Ok(())
            })();
            if let Err((reason, what)) = r {
                out.rejected.push(reject(reason, "agent list", what));
            }
        }
        let gone: Vec<Id> = self.agents.keys().filter(|a| !seen.contains(*a)).cloned().collect();
        for a in gone {
            self.logout(&a, now, out);
        }
    }

    /// `callcenter_config queue list members`: callers in the queues now.
    /// Waiting ones keep their wait (`joined_epoch`); answered ones are
    /// answered by their `serving_agent` at `bridge_epoch`; calls known waiting
    /// and not listed left while the link was down.
    pub fn member_list(&mut self, body: &str, now: Ts, out: &mut Sink<'_>) {
        let Some(rows) = table(body, out) else { return };
        let mut seen = HashSet::new();
        for row in rows {
            let r = (|| -> Res {
                let call = col_id(&row, "uuid")?;
                let queue = col_id(&row, "queue")?;
                let state = col(&row, "state")?;
                let epoch =
                    |k: &str| col(&row, k).ok().and_then(|v| v.parse::<i64>().ok()).filter(|v| *v > 0);
                let joined = epoch("joined_epoch").map_or(now, |s| s * 1000);
                let caller = col(&row, "cid_number").ok().and_then(id_of);
                seen.insert(call.clone());
                match state {
                    "Waiting" | "Trying" => self.offer(&call, &queue, caller, joined, out),
                    "Answered" => {
                        self.offer(&call, &queue, caller, joined, out);
                        if let (Some(agent), Some(at)) =
                            (col(&row, "serving_agent").ok().and_then(id_of), epoch("bridge_epoch"))
                        {
                            self.answer(&call, &queue, &agent, at * 1000, out);
                        }
                    }
                    "Abandoned" => {
                        if self.calls.contains_key(&call) {
                            let at = epoch("abandoned_epoch").map_or(now, |s| s * 1000);
                            self.abandon(&call, &queue, at, out);
                        }
                    }
                    other => return Err((RejectReason::UnknownState, format!("member state {other:?}"))),
                }
                Ok(())
            })();
            if let Err((reason, what)) = r {
                out.rejected.push(reject(reason, "member list", what));
            }
        }
        let vanished: Vec<Id> = self
            .calls
            .iter()
            .filter(|(c, s)| **s == CallState::Waiting && !seen.contains(*c))
            .map(|(c, _)| c.clone())
            .collect();
        for call in vanished {
            // Same rule as for AMI: its outcome was not seen and it no longer
            // waits; the only outcome without an agent is an abandon.
            tracing::warn!(source = %self.source, call = %call, "call left the queue while the link was down; counted abandoned");
            self.finish(&call);
            self.push(out, now, EventKind::CallAbandoned { call, queue: None });
        }
    }

    fn push(&self, out: &mut Sink<'_>, ts: Ts, kind: EventKind) {
        out.events.push(Event { ts, source: self.source.clone(), seq: None, kind });
    }

    fn finish(&mut self, call: &Id) {
        self.calls.remove(call);
        self.finished.insert(call);
    }

    fn offer(&mut self, call: &Id, queue: &Id, caller: Option<Id>, at: Ts, out: &mut Sink<'_>) {
        if self.calls.contains_key(call) || self.finished.contains(call) {
            return;
        }
        self.calls.insert(call.clone(), CallState::Waiting);
        self.push(out, at, EventKind::CallOffered { call: call.clone(), queue: queue.clone(), caller });
    }

    fn answer(&mut self, call: &Id, queue: &Id, agent: &Id, at: Ts, out: &mut Sink<'_>) {
        if self.calls.get(call) == Some(&CallState::Waiting) {
            self.calls.insert(call.clone(), CallState::Answered);
            let kind = EventKind::CallAnswered {
                call: call.clone(),
                agent: agent.clone(),
                queue: Some(queue.clone()),
            };
            self.push(out, at, kind);
        }
        let a = self.agents.entry(agent.clone()).or_insert_with(|| Agent::new(Status::Available));
        a.ringing = None;
        a.acw_until = None;
        a.call = Some((call.clone(), queue.clone()));
        self.settle(agent, at, out);
    }

    fn abandon(&mut self, call: &Id, queue: &Id, at: Ts, out: &mut Sink<'_>) {
        if self.calls.get(call) != Some(&CallState::Waiting) {
            return;
        }
        self.finish(call);
        self.push(out, at, EventKind::CallAbandoned { call: call.clone(), queue: Some(queue.clone()) });
        let ringing: Vec<Id> = self
            .agents
            .iter()
            .filter(|(_, a)| a.ringing.as_ref().is_some_and(|(c, _)| c == call))
            .map(|(n, _)| n.clone())
            .collect();
        for n in ringing {
            if let Some(a) = self.agents.get_mut(&n) {
                a.ringing = None;
            }
            self.settle(&n, at, out);
        }
    }

    fn member_start(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = (hid(h, "CC-Member-UUID")?, hid(h, "CC-Queue")?);
        let caller = super::frame::get(h, "CC-Member-CID-Number").and_then(id_of);
        self.offer(&call, &queue, caller, ts, out);
        Ok(())
    }

    fn offering(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue, agent) = (hid(h, "CC-Member-UUID")?, hid(h, "CC-Queue")?, hid(h, "CC-Agent")?);
        let a = self.agents.entry(agent.clone()).or_insert_with(|| Agent::new(Status::Available));
        a.ringing = Some((call, queue));
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn bridge_start(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue, agent) = (hid(h, "CC-Member-UUID")?, hid(h, "CC-Queue")?, hid(h, "CC-Agent")?);
        // A call whose start was missed is offered when it joined.
        let joined = secs_header(h, "CC-Member-Joined-Time")?.map_or(ts, |s| s * 1000);
        let caller = super::frame::get(h, "CC-Member-CID-Number").and_then(id_of);
        self.offer(&call, &queue, caller, joined, out);
        self.answer(&call, &queue, &agent, ts, out);
        // Others rung for it stop ringing.
        let others: Vec<Id> = self
            .agents
            .iter()
            .filter(|(n, a)| **n != agent && a.ringing.as_ref().is_some_and(|(c, _)| *c == call))
            .map(|(n, _)| n.clone())
            .collect();
        for n in others {
            if let Some(a) = self.agents.get_mut(&n) {
                a.ringing = None;
            }
            self.settle(&n, ts, out);
        }
        Ok(())
    }

    fn bridge_end(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue, agent) = (hid(h, "CC-Member-UUID")?, hid(h, "CC-Queue")?, hid(h, "CC-Agent")?);
        if !self.finished.contains(&call) {
            self.finish(&call);
            self.push(out, ts, EventKind::CallEnded { call: call.clone(), agent: Some(agent.clone()) });
        }
        let default = self.wrapup_secs;
        let a = self.agents.entry(agent.clone()).or_insert_with(|| Agent::new(Status::Available));
        a.call = None;
        a.ringing = None;
        if a.state == FsState::InCall {
            a.state = FsState::Waiting;
        }
        let wrap = a.wrapup_secs.filter(|w| *w > 0).unwrap_or(default);
        if wrap > 0 {
            let until = ts + i64::from(wrap) * 1000;
            a.acw_until = Some(until);
            a.acw_for = Some((call, queue));
            self.acw_due.insert((until, agent.clone()));
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn bridge_fail(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let agent = hid(h, "CC-Agent")?;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.ringing = None;
            if a.state == FsState::Receiving {
                a.state = FsState::Waiting;
            }
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn member_end(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let (call, queue) = (hid(h, "CC-Member-UUID")?, hid(h, "CC-Queue")?);
        match super::frame::get(h, "CC-Cause") {
            // The caller left unanswered: hung up (`CC-Cancel-Reason: NONE`),
            // or timed out / broke out (`TIMEOUT`, `NO_AGENT_TIMEOUT`,
            // `BREAK_OUT`, `EXIT_WITH_KEY`): all leave the queue unanswered.
            Some("Cancel") => {
                let joined = secs_header(h, "CC-Member-Joined-Time")?.map_or(ts, |s| s * 1000);
                self.offer(&call, &queue, None, joined, out);
                self.abandon(&call, &queue, ts, out);
            }
            // An answered call's end (its `bridge-agent-end` has ended it).
            Some("Terminated") => {
                if self.calls.get(&call) == Some(&CallState::Answered) {
                    self.finish(&call);
                    self.push(out, ts, EventKind::CallEnded { call, agent: None });
                }
            }
            Some(other) => return Err((RejectReason::UnknownState, format!("`CC-Cause` {other:?}"))),
            None => return Err((RejectReason::MissingField, "missing `CC-Cause`".into())),
        }
        Ok(())
    }

    fn status_change(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let agent = hid(h, "CC-Agent")?;
        let s = super::frame::get(h, "CC-Agent-Status")
            .ok_or((RejectReason::MissingField, "missing `CC-Agent-Status`".into()))?;
        let status = Status::parse(s)
            .ok_or_else(|| (RejectReason::UnknownState, format!("`CC-Agent-Status` {s:?}")))?;
        if status == Status::LoggedOut {
            self.logout(&agent, ts, out);
            return Ok(());
        }
        let a = self.agents.entry(agent.clone()).or_insert_with(|| Agent::new(status));
        a.status = status;
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn state_change(&mut self, h: &[(String, String)], ts: Ts, out: &mut Sink<'_>) -> Res {
        let agent = hid(h, "CC-Agent")?;
        let s = super::frame::get(h, "CC-Agent-State")
            .ok_or((RejectReason::MissingField, "missing `CC-Agent-State`".into()))?;
        let state = FsState::parse(s)
            .ok_or_else(|| (RejectReason::UnknownState, format!("`CC-Agent-State` {s:?}")))?;
        let Some(a) = self.agents.get_mut(&agent) else {
            // A state change of an agent never logged in (status unknown): the
            // next snapshot or status change brings it.
            return Ok(());
        };
        if state != FsState::Other {
            a.state = state;
        }
        if state == FsState::Waiting {
            a.ringing = None;
        }
        self.settle(&agent, ts, out);
        Ok(())
    }

    fn logout(&mut self, agent: &Id, ts: Ts, out: &mut Sink<'_>) {
        if let Some(a) = self.agents.remove(agent)
            && a.shown.is_some()
        {
            if let Some(until) = a.acw_until {
                self.acw_due.remove(&(until, agent.clone()));
            }
            self.push(out, ts, EventKind::AgentLogout { agent: agent.clone(), reason: None });
        }
    }

    fn settle(&mut self, agent: &Id, ts: Ts, out: &mut Sink<'_>) {
        let Some(a) = self.agents.get_mut(agent) else { return };
        let now = a.shown_state(ts);
        if a.shown.as_ref() == Some(&now) {
            return;
        }
        let first = a.shown.is_none();
        a.shown = Some(now.clone());
        let ts = ts.max(a.shown_at);
        a.shown_at = ts;
        let (state, reason, queue, call) = now;
        let kind = if first {
            EventKind::AgentLogin { agent: agent.clone(), name: None, team: None, state, reason }
        } else {
            EventKind::AgentState { agent: agent.clone(), state, reason, queue, call }
        };
        self.push(out, ts, kind);
    }
}

fn reject(reason: RejectReason, what: &str, detail: String) -> Rejection {
    let what: String = what.chars().take(40).collect();
    Rejection::new(reason, format!("ESL {what}: {detail}"))
}

fn hid(h: &[(String, String)], key: &str) -> Result<Id, Failure> {
    let v =
        super::frame::get(h, key).ok_or_else(|| (RejectReason::MissingField, format!("missing `{key}`")))?;
    id_of(v).ok_or_else(|| (RejectReason::InvalidField, format!("`{key}` is not a usable id")))
}

/// A `CC-*-Time` header: seconds since the epoch (0 or absent: not known).
fn secs_header(h: &[(String, String)], key: &str) -> Result<Option<i64>, Failure> {
    match super::frame::get(h, key) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(0) => Ok(None),
            Ok(s) if (1..253_402_300_800).contains(&s) => Ok(Some(s)),
            _ => Err((RejectReason::BadTimestamp, format!("`{key}` {v:?}"))),
        },
    }
}

type Row<'a> = Vec<(&'a str, &'a str)>;

/// A `callcenter_config … list` answer: a `|`-separated header row, rows, and
/// `+OK`; an empty listing is `+OK` alone. `None` (with a rejection) for an
/// `-ERR`.
fn table<'a>(body: &'a str, out: &mut Sink<'_>) -> Option<Vec<Row<'a>>> {
    let mut lines = body.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty());
    let first = lines.next()?;
    if first.starts_with("-ERR") {
        let why: String = first.chars().take(80).collect();
        out.rejected.push(reject(RejectReason::InvalidField, "callcenter_config", why));
        return None;
    }
    if first.starts_with("+OK") {
        return Some(Vec::new());
    }
    let names: Vec<&str> = first.split('|').collect();
    let mut rows = Vec::new();
    for line in lines {
        if line.starts_with("+OK") {
            break;
        }
        rows.push(names.iter().copied().zip(line.split('|')).collect());
    }
    Some(rows)
}

fn col<'a>(row: &Row<'a>, name: &str) -> Result<&'a str, Failure> {
    row.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| (RejectReason::MissingField, format!("no `{name}` column")))
}

fn col_id(row: &Row<'_>, name: &str) -> Result<Id, Failure> {
    id_of(col(row, name)?).ok_or_else(|| (RejectReason::InvalidField, format!("`{name}` is not a usable id")))
}
