//! Genesys Cloud Notifications API messages (`WS /ingest/genesys-cloud`), as a
//! relay forwards them from the Genesys notification WebSocket: one message (or
//! an array of them) per frame.
//!
//! Topics read:
//! - `v2.users.{id}.routingStatus`, `v2.users.{id}.presence`,
//!   `v2.users.{id}.activity` (both at once): the agent's state. Routing status
//!   is fixed — `IDLE` ready, `INTERACTING`/`COMMUNICATING` talking,
//!   `NOT_RESPONDING` not ready (`system`); `OFF_QUEUE` leaves it to the
//!   presence, which goes through the source's mapping (`Offline` logs out,
//!   `Break`, `Meal` → `lunch`, … are not-ready reasons, `On Queue` is left to
//!   the routing status). A custom presence may be mapped by its definition id.
//! - `v2.routing.queues.{id}.conversations`: each update carries the whole
//!   conversation, so each step is emitted once (remembered per source): the
//!   `acd` participant connected → offered; an `agent` alerting → ringing,
//!   connected → answered, ended → call ended (and after-call work while its
//!   wrap-up is due); the `acd` participant ended with no agent ever connected
//!   and the customer gone → abandoned (still connected: transferred, nothing).
//! - `channel.metadata` (the channel's heartbeat) → `heartbeat`;
//!   `v2.system.socket_closing` → nothing (the relay reconnects).
//!
//! Genesys gives no event id: `metadata.CorrelationId` is used when present,
//! else the message's topic and body, so a relay that replays after a reconnect
//! has the replay dropped.

use serde_json::Value;

use super::vendor::{Cx, field, field_str, free_text, id_field, ts_of};
use super::vendor_config::Mapped;
use super::{RejectReason, Rejection};
use crate::event::{AgentState, Event, EventKind, Id, Ts};

/// Decodes one frame.
pub fn decode(frame: &[u8], cx: &mut Cx<'_>, out: &mut Vec<Event>, rejected: &mut Vec<Rejection>) {
    let v = match serde_json::from_slice::<Value>(frame) {
        Ok(v) => v,
        Err(e) => {
            rejected.push(Rejection::new(RejectReason::BadJson, format!("frame is not JSON: {e}")));
            return;
        }
    };
    let one = |i: usize, m: &Value, cx: &mut Cx<'_>, out: &mut Vec<Event>, rejected: &mut Vec<Rejection>| {
        if let Err(r) = message(m, cx, out) {
            rejected.push(r.at(i));
        }
    };
    match &v {
        Value::Array(items) => {
            for (i, m) in items.iter().enumerate() {
                one(i, m, cx, out, rejected);
            }
        }
        m => one(0, m, cx, out, rejected),
    }
}

fn missing(what: &str) -> Rejection {
    Rejection::new(RejectReason::MissingField, format!("missing field `{what}`"))
}

fn message(m: &Value, cx: &mut Cx<'_>, out: &mut Vec<Event>) -> Result<(), Rejection> {
    if !m.is_object() {
        return Err(Rejection::new(RejectReason::NotAnObject, "a notification must be a JSON object".into()));
    }
    let topic = field_str(m, "topicName").ok_or_else(|| missing("topicName"))?;
    if topic == "channel.metadata" {
        out.push(Event { ts: cx.now, source: cx.source.clone(), seq: None, kind: EventKind::Heartbeat });
        return Ok(());
    }
    if topic == "v2.system.socket_closing" {
        return Ok(());
    }
    let body = field(m, "eventBody").ok_or_else(|| missing("eventBody"))?;
    let parts: Vec<&str> = topic.split('.').collect();
    let kind = match parts.as_slice() {
        ["v2", "users", user, what] => Topic::User(user, what),
        ["v2", "routing", "queues", _, "conversations", ..] => Topic::Conversation,
        _ => return Err(Rejection::new(RejectReason::UnknownType, format!("unknown topic {topic:?}"))),
    };
    if let Topic::User(_, what) = kind
        && !matches!(what, "routingStatus" | "presence" | "activity")
    {
        return Err(Rejection::new(RejectReason::UnknownType, format!("unknown topic {topic:?}")));
    }
    let first = match field(m, "metadata").and_then(|md| field_str(md, "CorrelationId")) {
        Some(id) => cx.state.first_sight(id),
        None => cx.state.first_sight(&format!("{topic}\n{body}")),
    };
    if !first {
        return Err(Rejection::new(RejectReason::Duplicate, "notification was seen already".into()));
    }
    match kind {
        Topic::User(user, what) => user_event(user, what, body, cx, out),
        Topic::Conversation => conversation(body, cx, out),
    }
}

enum Topic<'a> {
    User(&'a str, &'a str),
    Conversation,
}

fn user_event(
    user: &str,
    what: &str,
    body: &Value,
    cx: &mut Cx<'_>,
    out: &mut Vec<Event>,
) -> Result<(), Rejection> {
    let agent = id_field("topicName user id", user)?;
    let (routing, presence) = match what {
        "routingStatus" => (field(body, "routingStatus").or(Some(body)), None),
        "presence" => (None, Some(body)),
        _ => (field(body, "routingStatus"), field(body, "presence")),
    };
    let routing_status = routing.and_then(|r| field_str(r, "status"));
    let time = |v: Option<&Value>, key: &str| -> Result<Option<Ts>, Rejection> {
        v.and_then(|v| field(v, key)).map(|t| ts_of(key, t)).transpose()
    };
    let routing_ts = time(routing, "startTime")?;
    let presence_ts = time(presence, "modifiedDate")?;
    let ts = routing_ts.max(presence_ts).unwrap_or(cx.now);
    let mapped = match routing_status {
        Some("IDLE") => Mapped::State(AgentState::Ready, None),
        Some("INTERACTING" | "COMMUNICATING") => Mapped::State(AgentState::Talking, None),
        Some("NOT_RESPONDING") => Mapped::State(AgentState::NotReady, Some(Id::from("system"))),
        Some("OFF_QUEUE") | None => match presence {
            Some(p) => presence_mapping(p, cx)?,
            None if routing_status.is_some() => Mapped::Ignore,
            None => return Err(missing("eventBody.routingStatus.status")),
        },
        Some(other) => {
            return Err(Rejection::new(
                RejectReason::UnknownState,
                format!("unknown routing status {other:?}"),
            ));
        }
    };
    let kind = match mapped {
        Mapped::Ignore => return Ok(()),
        Mapped::Logout => EventKind::AgentLogout { agent, reason: None },
        Mapped::State(state, reason) => {
            EventKind::AgentState { agent, state, reason, queue: None, call: None }
        }
    };
    out.push(Event { ts, source: cx.source.clone(), seq: None, kind });
    Ok(())
}

fn presence_mapping(p: &Value, cx: &Cx<'_>) -> Result<Mapped, Rejection> {
    let def = field(p, "presenceDefinition").ok_or_else(|| missing("presenceDefinition"))?;
    if let Some(m) = field_str(def, "id").and_then(|id| cx.settings.statuses.get(id)) {
        return Ok(m);
    }
    let system =
        field_str(def, "systemPresence").ok_or_else(|| missing("presenceDefinition.systemPresence"))?;
    Ok(cx.settings.statuses.map(system))
}

/// A participant of a conversation, as far as the floor cares.
struct Party<'a> {
    purpose: &'a str,
    user: Option<&'a str>,
    queue: Option<&'a str>,
    address: Option<&'a str>,
    connected: Option<Ts>,
    ended: Option<Ts>,
    wrapup_due: bool,
    acw_from: Option<Ts>,
    acw_done: bool,
}

fn party(p: &Value) -> Result<Party<'_>, Rejection> {
    let t = |key: &str| field(p, key).map(|v| ts_of(key, v)).transpose();
    Ok(Party {
        purpose: field_str(p, "purpose").unwrap_or(""),
        user: field_str(p, "userId"),
        queue: field_str(p, "queueId"),
        address: field_str(p, "address"),
        connected: t("connectedTime")?,
        ended: t("endTime")?,
        wrapup_due: field(p, "wrapupRequired").and_then(Value::as_bool).unwrap_or(false)
            && field(p, "wrapup").is_none(),
        acw_from: t("startAcwTime")?,
        acw_done: field(p, "endAcwTime").is_some(),
    })
}

fn conversation(body: &Value, cx: &mut Cx<'_>, out: &mut Vec<Event>) -> Result<(), Rejection> {
    let call = id_field("eventBody.id", field_str(body, "id").ok_or_else(|| missing("eventBody.id"))?)?;
    let Some(Value::Array(ps)) = field(body, "participants") else {
        return Err(missing("eventBody.participants"));
    };
    // Every time is read before anything is remembered, so a bad one rejects
    // the update without swallowing its steps.
    let parties = ps.iter().map(party).collect::<Result<Vec<_>, _>>()?;
    let customer = parties.iter().find(|p| matches!(p.purpose, "customer" | "external"));
    let acds: Vec<&Party<'_>> = parties.iter().filter(|p| p.purpose == "acd").collect();
    let queue = |p: &Party<'_>| p.queue.and_then(|q| cx.settings.queue(q));
    let mut push =
        |ts: Ts, kind: EventKind| out.push(Event { ts, source: cx.source.clone(), seq: None, kind });

    let first_queue = acds.first().and_then(|a| queue(a));
    if let Some(acd) = acds.first()
        && let (Some(ts), Some(q)) = (acd.connected, first_queue.clone())
        && cx.state.first_step("off", &call)
    {
        let caller = customer.and_then(|c| c.address).map(free_text);
        push(ts, EventKind::CallOffered { call: call.clone(), queue: q, caller });
    }
    let mut any_agent = cx.state.saw_step("ans", &call);
    for a in parties.iter().filter(|p| p.purpose == "agent") {
        let Some(user) = a.user else { continue };
        let agent = id_field("participants[].userId", user)?;
        let key = format!("{call}/{user}");
        let q = a.queue.and_then(|q| cx.settings.queue(q)).or_else(|| first_queue.clone());
        match (a.connected, a.ended) {
            (None, None) => {
                // Alerting: the agent's phone rings.
                if cx.state.first_step("ring", &key) {
                    let ts = cx.now;
                    let (call, queue) = (Some(call.clone()), q.clone());
                    push(
                        ts,
                        EventKind::AgentState {
                            agent: agent.clone(),
                            state: AgentState::Ringing,
                            reason: None,
                            queue,
                            call,
                        },
                    );
                }
            }
            (Some(ts), _) => {
                any_agent = true;
                if cx.state.first_step("ans", &call) {
                    push(
                        ts,
                        EventKind::CallAnswered {
                            call: call.clone(),
                            agent: agent.clone(),
                            queue: q.clone(),
                        },
                    );
                }
            }
            (None, Some(_)) => {}
        }
        if let (Some(_), Some(end)) = (a.connected, a.ended) {
            if cx.state.first_step("end", &key) {
                push(end, EventKind::CallEnded { call: call.clone(), agent: Some(agent.clone()) });
            }
            if a.wrapup_due && !a.acw_done && cx.state.first_step("acw", &key) {
                let ts = a.acw_from.unwrap_or(end);
                let (call, queue) = (Some(call.clone()), q);
                push(ts, EventKind::AgentState { agent, state: AgentState::Acw, reason: None, queue, call });
            }
        }
    }
    if let Some(last) = acds.last()
        && let Some(end) = last.ended
        && !any_agent
        && customer.is_some_and(|c| c.ended.is_some())
        && cx.state.first_step("out", &call)
    {
        push(end, EventKind::CallAbandoned { call: call.clone(), queue: queue(last) });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
