//! Event → the canonical JSON shape (contract §3), the inverse of [`super::decode`]:
//! what `serve --record` writes and `replay --speed` sends. Beside `wire`, which
//! reads the same shape, so the field names live in one folder.

use serde::Serialize;

use crate::event::{Event, EventKind, format_ts};

/// The flat wire form: every field any type may carry, absent ones skipped.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
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
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// Appends `ev` as one JSON object (no newline) to `out`.
pub fn encode(ev: &Event, out: &mut String) {
    let mut w = Wire {
        ty: ev.kind.type_name(),
        ts: format_ts(ev.ts),
        seq: ev.seq,
        source: &ev.source,
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
    match &ev.kind {
        EventKind::AgentLogin { agent, name, team, state, reason } => {
            w.agent = Some(agent);
            w.name = name.as_deref();
            w.team = team.as_deref();
            w.state = Some(state.as_str());
            w.reason = reason.as_deref();
        }
        EventKind::AgentLogout { agent, reason } => {
            w.agent = Some(agent);
            w.reason = reason.as_deref();
        }
        EventKind::AgentState { agent, state, reason, queue, call } => {
            w.agent = Some(agent);
            w.state = Some(state.as_str());
            w.reason = reason.as_deref();
            w.queue = queue.as_deref();
            w.call = call.as_deref();
        }
        EventKind::CallOffered { call, queue, caller } => {
            w.call = Some(call);
            w.queue = Some(queue);
            w.caller = caller.as_deref();
        }
        EventKind::CallAnswered { call, agent, queue } => {
            w.call = Some(call);
            w.agent = Some(agent);
            w.queue = queue.as_deref();
        }
        EventKind::CallAbandoned { call, queue } => {
            w.call = Some(call);
            w.queue = queue.as_deref();
        }
        EventKind::CallEnded { call, agent } => {
            w.call = Some(call);
            w.agent = agent.as_deref();
        }
        EventKind::Heartbeat => {}
        EventKind::Fault { component, status, detail } => {
            w.component = Some(component);
            w.status = Some(status.as_str());
            w.detail = detail.as_deref();
        }
    }
    // A struct of strings and integers cannot fail to serialise; should it ever,
    // the line is left empty rather than half-written (a reader skips it).
    match serde_json::to_string(&w) {
        Ok(s) => out.push_str(&s),
        Err(e) => tracing::error!(error = %e, "event not encodable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AgentState, FaultStatus, Id};
    use crate::ingest::canonical::decode;

    fn ev(kind: EventKind) -> Event {
        Event { ts: 1_795_420_801_250, source: "acd-1".into(), seq: Some(41), kind }
    }

    /// Every type, with every optional field set and unset, decodes back to itself.
    #[test]
    fn every_event_type_round_trips_through_the_decoder() {
        let s = |x: &str| Some(Id::from(x));
        let events = vec![
            ev(EventKind::AgentLogin {
                agent: "A1".into(),
                name: s("李雷"),
                team: s("t1"),
                state: AgentState::NotReady,
                reason: s("break"),
            }),
            ev(EventKind::AgentLogin {
                agent: "A2".into(),
                name: None,
                team: None,
                state: AgentState::Ready,
                reason: None,
            }),
            ev(EventKind::AgentLogout { agent: "A1".into(), reason: s("end") }),
            ev(EventKind::AgentState {
                agent: "A1".into(),
                state: AgentState::Acw,
                reason: None,
                queue: s("billing"),
                call: s("C1"),
            }),
            ev(EventKind::CallOffered { call: "C1".into(), queue: "billing".into(), caller: s("+86138") }),
            ev(EventKind::CallOffered { call: "C2".into(), queue: "billing".into(), caller: None }),
            ev(EventKind::CallAnswered { call: "C1".into(), agent: "A1".into(), queue: s("billing") }),
            ev(EventKind::CallAbandoned { call: "C2".into(), queue: None }),
            ev(EventKind::CallEnded { call: "C1".into(), agent: s("A1") }),
            ev(EventKind::Heartbeat),
            ev(EventKind::Fault {
                component: "trunk".into(),
                status: FaultStatus::Down,
                detail: s("E1 \"lost\""),
            }),
            Event { seq: None, ..ev(EventKind::Heartbeat) },
        ];
        for e in events {
            let mut line = String::new();
            encode(&e, &mut line);
            let (mut out, mut rejected) = (Vec::new(), Vec::new());
            decode(&line, &Id::from("other"), &mut out, &mut rejected);
            assert!(rejected.is_empty(), "{line}: {rejected:?}");
            assert_eq!(out, vec![e], "{line}");
        }
    }
}
