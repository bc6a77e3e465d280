//! What the model emits, and how it looks on the wire.
//!
//! The simulator speaks the canonical protocol (contract section 3) exactly as a
//! CTI bridge would, so this file is the one place that knows its field names; the
//! model only deals in typed values and the transport only in strings.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// One simulated event: what happened and when (simulated time).
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    ts_ms: i64,
    kind: SimEventKind,
}

/// The canonical event types and their fields. State, reason and fault names are
/// the protocol's own strings (`"acw"`, `"break"`, `"down"`, …).
#[derive(Debug, Clone, PartialEq)]
pub enum SimEventKind {
    AgentLogin {
        agent: Arc<str>,
        name: Arc<str>,
        team: Arc<str>,
    },
    AgentState {
        agent: Arc<str>,
        state: &'static str,
        reason: Option<&'static str>,
        queue: Option<Arc<str>>,
        call: Option<Arc<str>>,
    },
    CallOffered {
        call: Arc<str>,
        queue: Arc<str>,
        caller: Arc<str>,
    },
    CallAnswered {
        call: Arc<str>,
        agent: Arc<str>,
        queue: Arc<str>,
    },
    CallAbandoned {
        call: Arc<str>,
        queue: Arc<str>,
    },
    CallEnded {
        call: Arc<str>,
        agent: Arc<str>,
    },
    Heartbeat,
    Fault {
        component: &'static str,
        status: &'static str,
        detail: &'static str,
    },
}

/// The flat wire form: every field any type may carry, absent ones skipped.
/// Borrowing keeps serialisation to one allocation per event.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    ts: String,
    seq: u64,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

impl SimEvent {
    pub(super) fn new(ts_ms: i64, kind: SimEventKind) -> SimEvent {
        SimEvent { ts_ms, kind }
    }

    /// When the simulated ACD saw the event.
    pub fn ts(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.ts_ms).unwrap_or_default()
    }

    /// [`SimEvent::ts`] as milliseconds since the Unix epoch.
    pub fn ts_millis(&self) -> i64 {
        self.ts_ms
    }

    pub fn kind(&self) -> &SimEventKind {
        &self.kind
    }

    /// The protocol's `type` for this event.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            SimEventKind::AgentLogin { .. } => "agent_login",
            SimEventKind::AgentState { .. } => "agent_state",
            SimEventKind::CallOffered { .. } => "call_offered",
            SimEventKind::CallAnswered { .. } => "call_answered",
            SimEventKind::CallAbandoned { .. } => "call_abandoned",
            SimEventKind::CallEnded { .. } => "call_ended",
            SimEventKind::Heartbeat => "heartbeat",
            SimEventKind::Fault { .. } => "fault",
        }
    }

    /// The canonical JSON object for this event, e.g.
    /// `{"type":"call_offered","ts":"2026-11-23T08:00:01.250Z","seq":41,"source":"demo-acd",...}`.
    pub fn to_json(&self, seq: u64, source: &str) -> String {
        let mut w = Wire {
            ty: self.type_name(),
            ts: self.ts().to_rfc3339_opts(SecondsFormat::Millis, true),
            seq,
            source,
            agent: None,
            name: None,
            team: None,
            state: None,
            reason: None,
            queue: None,
            call: None,
            caller: None,
            component: None,
            status: None,
            detail: None,
        };
        match &self.kind {
            SimEventKind::AgentLogin { agent, name, team } => {
                w.agent = Some(agent);
                w.name = Some(name);
                w.team = Some(team);
                w.state = Some("ready");
            }
            SimEventKind::AgentState { agent, state, reason, queue, call } => {
                w.agent = Some(agent);
                w.state = Some(state);
                w.reason = *reason;
                w.queue = queue.as_deref();
                w.call = call.as_deref();
            }
            SimEventKind::CallOffered { call, queue, caller } => {
                w.call = Some(call);
                w.queue = Some(queue);
                w.caller = Some(caller);
            }
            SimEventKind::CallAnswered { call, agent, queue } => {
                w.call = Some(call);
                w.agent = Some(agent);
                w.queue = Some(queue);
            }
            SimEventKind::CallAbandoned { call, queue } => {
                w.call = Some(call);
                w.queue = Some(queue);
            }
            SimEventKind::CallEnded { call, agent } => {
                w.call = Some(call);
                w.agent = Some(agent);
            }
            SimEventKind::Heartbeat => {}
            SimEventKind::Fault { component, status, detail } => {
                w.component = Some(component);
                w.status = Some(status);
                w.detail = Some(detail);
            }
        }
        // A struct of strings and integers always serialises.
        serde_json::to_string(&w).unwrap_or_default()
    }
}

/// Joins events into one batch frame (a JSON array), numbering them from
/// `first_seq`.
pub(super) fn batch_json(events: &[SimEvent], first_seq: u64, source: &str) -> String {
    let mut out = String::with_capacity(events.len() * 160 + 2);
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&e.to_json(first_seq + i as u64, source));
    }
    out.push(']');
    out
}
