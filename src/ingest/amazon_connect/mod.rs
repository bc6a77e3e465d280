//! Amazon Connect, in its own formats (`WS|POST /ingest/amazon-connect`):
//!
//! - **agent event stream** records (`EventType` `LOGIN`, `LOGOUT`,
//!   `STATE_CHANGE`, `HEART_BEAT`), raw, or as Kinesis delivers them (`Records[]`
//!   with base64 `Data`, or Lambda's `Records[].kinesis.data`), or in a Kinesis
//!   Data Firehose HTTP-endpoint delivery (`requestId`, `records[].data`), whose
//!   acknowledgement the HTTP layer answers with the [`Decoded::firehose`] id;
//! - **contact events** from EventBridge (`detail-type: Amazon Connect Contact
//!   Event`; `QUEUED`, `CONNECTED_TO_AGENT`, `DISCONNECTED`).
//!
//! Keys are matched in any casing (the stream writes PascalCase, EventBridge
//! camelCase). Agent and queue ids are the last segment of their ARNs, so the
//! agent stream and the contact events name the same agent and queue; a source's
//! `queues` config gives queues their floorwatch names.
//!
//! Agent state: a contact in the snapshot decides (`CONNECTED` talking,
//! `CONNECTED_ONHOLD` hold, `CONNECTING`/`INCOMING`/`PENDING` ringing, `ENDED`
//! after-call work), else the agent status through the source's mapping.
//! An abandon is a `DISCONNECTED` contact that was queued and never connected to
//! an agent. Duplicates by `EventId` (agent stream) or `id` (EventBridge) are
//! dropped and counted.

use base64::Engine as _;
use serde_json::Value;

use super::vendor::{Cx, arn_id, field, field_str, free_text, id_field, ts_of};
use super::vendor_config::Mapped;
use super::{RejectReason, Rejection};
use crate::event::{AgentState, Event, EventKind, Id, Ts};

/// What the body was, besides its events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// A Firehose delivery's `requestId`, to be echoed in its acknowledgement.
    pub firehose: Option<String>,
    /// Records read (events, rejections and records that carry nothing).
    pub records: usize,
}

/// How deep wrappers may nest (Firehose → Kinesis record → record): a bound, so a
/// hostile body cannot recurse without end.
const MAX_DEPTH: u8 = 3;

/// Decodes one message (a POST body or a WebSocket frame).
pub fn decode(body: &[u8], cx: &mut Cx<'_>, out: &mut Vec<Event>, rejected: &mut Vec<Rejection>) -> Decoded {
    let mut d = Decoder { cx, out, rejected, index: 0, firehose: None };
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => d.envelope(&v, 0),
        // Kinesis data as it is stored: base64 of the record's JSON.
        Err(e) => match base64_json(body) {
            Some(v) => d.envelope(&v, 1),
            None => d.rejected.push(Rejection::new(
                RejectReason::BadJson,
                format!("body is not JSON (nor base64 of JSON): {e}"),
            )),
        },
    }
    Decoded { firehose: d.firehose, records: d.index }
}

struct Decoder<'a, 'c> {
    cx: &'a mut Cx<'c>,
    out: &'a mut Vec<Event>,
    rejected: &'a mut Vec<Rejection>,
    /// Records read so far: a rejection's index.
    index: usize,
    firehose: Option<String>,
}

impl Decoder<'_, '_> {
    fn envelope(&mut self, v: &Value, depth: u8) {
        if depth > MAX_DEPTH {
            self.reject(RejectReason::InvalidField, "wrappers nested too deep".into());
            return;
        }
        match v {
            Value::Array(items) => items.iter().for_each(|item| self.envelope(item, depth + 1)),
            Value::Object(_) => {
                if let (Some(id), Some(Value::Array(records))) =
                    (field_str(v, "requestId"), field(v, "records"))
                {
                    // A Firehose delivery: records' `data` is base64 of what the
                    // stream carried.
                    self.firehose = Some(id.to_owned());
                    for r in records {
                        self.wrapped(field(r, "data"), depth);
                    }
                } else if let Some(Value::Array(records)) = field(v, "Records") {
                    for r in records {
                        let data =
                            field(r, "kinesis").and_then(|k| field(k, "data")).or_else(|| field(r, "Data"));
                        self.wrapped(data, depth);
                    }
                } else if field(v, "EventType").is_none() && field(v, "detail").is_none() {
                    match field(v, "Data") {
                        Some(data) => self.wrapped(Some(data), depth),
                        None => self.record(v),
                    }
                } else {
                    self.record(v);
                }
            }
            _ => self.reject(RejectReason::NotAnObject, "a record must be a JSON object".into()),
        }
    }

    /// A base64 `data` field: one record, or several JSON values one after the
    /// other (a stream that writes newline-delimited records).
    fn wrapped(&mut self, data: Option<&Value>, depth: u8) {
        let Some(text) = data.and_then(Value::as_str) else {
            self.reject(RejectReason::MissingField, "record has no base64 `data`".into());
            return;
        };
        let bytes = match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
            Ok(b) => b,
            Err(e) => {
                self.reject(RejectReason::InvalidField, format!("record `data` is not base64: {e}"));
                return;
            }
        };
        let mut any = false;
        for v in serde_json::Deserializer::from_slice(&bytes).into_iter::<Value>() {
            match v {
                Ok(v) => {
                    any = true;
                    self.envelope(&v, depth + 1);
                }
                Err(e) => {
                    self.reject(RejectReason::BadJson, format!("record `data` is not JSON: {e}"));
                    return;
                }
            }
        }
        if !any {
            self.reject(RejectReason::MissingField, "record `data` is empty".into());
        }
    }

    fn reject(&mut self, reason: RejectReason, message: String) {
        self.rejected.push(Rejection::new(reason, message).at(self.index));
        self.index += 1;
    }

    fn record(&mut self, v: &Value) {
        let result = if field(v, "detail").is_some() || field(v, "detail-type").is_some() {
            contact_event(v, self.cx)
        } else if field(v, "EventType").is_some() {
            agent_event(v, self.cx)
        } else {
            Err(Rejection::new(
                RejectReason::UnknownType,
                "neither an agent event stream record (EventType) nor an EventBridge contact event (detail)"
                    .into(),
            ))
        };
        match result {
            Ok(Some(ev)) => self.out.push(ev),
            Ok(None) => {}
            Err(r) => self.rejected.push(r.at(self.index)),
        }
        self.index += 1;
    }
}

fn base64_json(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn missing(what: &str) -> Rejection {
    Rejection::new(RejectReason::MissingField, format!("missing field `{what}`"))
}

fn event(cx: &Cx<'_>, ts: Ts, kind: EventKind) -> Option<Event> {
    Some(Event { ts, source: cx.source.clone(), seq: None, kind })
}

/// One agent event stream record.
fn agent_event(v: &Value, cx: &mut Cx<'_>) -> Result<Option<Event>, Rejection> {
    let kind = field_str(v, "EventType").ok_or_else(|| missing("EventType"))?;
    let ts = ts_of("EventTimestamp", field(v, "EventTimestamp").ok_or_else(|| missing("EventTimestamp"))?)?;
    if !matches!(kind, "LOGIN" | "LOGOUT" | "STATE_CHANGE" | "HEART_BEAT") {
        return Err(Rejection::new(RejectReason::UnknownType, format!("unknown EventType {kind:?}")));
    }
    if let Some(id) = field_str(v, "EventId")
        && !cx.state.first_sight(id)
    {
        return Err(Rejection::new(RejectReason::Duplicate, format!("EventId {id} was seen already")));
    }
    if kind == "HEART_BEAT" {
        return Ok(event(cx, ts, EventKind::Heartbeat));
    }
    let agent = id_field("AgentARN", arn_id(field_str(v, "AgentARN").ok_or_else(|| missing("AgentARN"))?))?;
    if kind == "LOGOUT" {
        return Ok(event(cx, ts, EventKind::AgentLogout { agent, reason: None }));
    }
    let snap = field(v, "CurrentAgentSnapshot");
    let (mapped, queue, call) = match snap {
        Some(s) => agent_state(s, cx)?,
        None if kind == "LOGIN" => (Mapped::State(AgentState::Ready, None), None, None),
        None => return Err(missing("CurrentAgentSnapshot")),
    };
    let kind = match (kind, mapped) {
        (_, Mapped::Ignore) => return Ok(None),
        // Signed in to the softphone but Offline: not on the floor yet.
        ("LOGIN", Mapped::Logout) => return Ok(None),
        (_, Mapped::Logout) => EventKind::AgentLogout { agent, reason: None },
        ("LOGIN", Mapped::State(state, reason)) => {
            EventKind::AgentLogin { agent, name: snap.and_then(agent_name), team: None, state, reason }
        }
        (_, Mapped::State(state, reason)) => EventKind::AgentState { agent, state, reason, queue, call },
    };
    Ok(event(cx, ts, kind))
}

/// The agent's state in a snapshot, with the contact it concerns.
fn agent_state(snap: &Value, cx: &Cx<'_>) -> Result<(Mapped, Option<Id>, Option<Id>), Rejection> {
    // The contact that says most about the agent: on a call beats ringing beats
    // after-call work (a chat agent may have one of each).
    let mut best: Option<(u8, AgentState, &Value)> = None;
    if let Some(Value::Array(contacts)) = field(snap, "Contacts") {
        for c in contacts {
            let (rank, st) = match field_str(c, "State") {
                Some("CONNECTED") => (3, AgentState::Talking),
                Some("CONNECTED_ONHOLD") => (3, AgentState::Hold),
                Some("CONNECTING" | "INCOMING" | "PENDING") => (2, AgentState::Ringing),
                Some("ENDED") => (1, AgentState::Acw),
                _ => continue,
            };
            if best.is_none_or(|(r, _, _)| rank > r) {
                best = Some((rank, st, c));
            }
        }
    }
    if let Some((_, st, c)) = best {
        let call = field_str(c, "ContactId").map(|s| id_field("ContactId", s)).transpose()?;
        let queue = field(c, "Queue")
            .and_then(|q| field_str(q, "ARN"))
            .and_then(|arn| cx.settings.queue(arn_id(arn)));
        return Ok((Mapped::State(st, None), queue, call));
    }
    let status = field(snap, "AgentStatus")
        .and_then(|s| field_str(s, "Name"))
        .ok_or_else(|| missing("CurrentAgentSnapshot.AgentStatus.Name"))?;
    Ok((cx.settings.statuses.map(status), None, None))
}

fn agent_name(snap: &Value) -> Option<Id> {
    let c = field(snap, "Configuration")?;
    match (field_str(c, "FirstName"), field_str(c, "LastName")) {
        (Some(f), Some(l)) => Some(free_text(&format!("{f} {l}"))),
        (Some(n), None) | (None, Some(n)) => Some(free_text(n)),
        (None, None) => field_str(c, "Username").map(free_text),
    }
}

/// One EventBridge contact event.
fn contact_event(v: &Value, cx: &mut Cx<'_>) -> Result<Option<Event>, Rejection> {
    if let Some(dt) = field_str(v, "detail-type")
        && dt != "Amazon Connect Contact Event"
    {
        return Err(Rejection::new(RejectReason::UnknownType, format!("unknown detail-type {dt:?}")));
    }
    let detail = field(v, "detail").ok_or_else(|| missing("detail"))?;
    let kind = field_str(detail, "eventType").ok_or_else(|| missing("detail.eventType"))?;
    if !matches!(
        kind,
        "QUEUED" | "CONNECTED_TO_AGENT" | "DISCONNECTED" | "INITIATED" | "CONTACT_DATA_UPDATED"
    ) {
        return Err(Rejection::new(RejectReason::UnknownType, format!("unknown contact eventType {kind:?}")));
    }
    let call = id_field(
        "detail.contactId",
        field_str(detail, "contactId").ok_or_else(|| missing("detail.contactId"))?,
    )?;
    let time = field(v, "time");
    let at = |inner: Option<&Value>, name: &str| -> Result<Ts, Rejection> {
        match inner.or(time) {
            Some(t) => ts_of(name, t),
            None => Err(missing("time")),
        }
    };
    let queue_info = field(detail, "queueInfo");
    let agent_info = field(detail, "agentInfo");
    let queue = queue_info.and_then(|q| field_str(q, "queueArn")).and_then(|a| cx.settings.queue(arn_id(a)));
    let agent = agent_info
        .and_then(|a| field_str(a, "agentArn"))
        .map(|a| id_field("detail.agentInfo.agentArn", arn_id(a)))
        .transpose()?;
    if let Some(id) = field_str(v, "id")
        && !cx.state.first_sight(id)
    {
        return Err(Rejection::new(RejectReason::Duplicate, format!("event id {id} was seen already")));
    }
    let kind = match kind {
        "QUEUED" => {
            let ts = at(queue_info.and_then(|q| field(q, "enqueueTimestamp")), "queueInfo.enqueueTimestamp")?;
            let queue = queue.ok_or_else(|| missing("detail.queueInfo.queueArn"))?;
            let caller =
                field(detail, "customerEndpoint").and_then(|c| field_str(c, "address")).map(free_text);
            (ts, EventKind::CallOffered { call, queue, caller })
        }
        "CONNECTED_TO_AGENT" => {
            let connected = agent_info.and_then(|a| field(a, "connectedToAgentTimestamp"));
            let ts = at(connected, "agentInfo.connectedToAgentTimestamp")?;
            let agent = agent.ok_or_else(|| missing("detail.agentInfo.agentArn"))?;
            cx.state.first_step("ans", &call);
            (ts, EventKind::CallAnswered { call, agent, queue })
        }
        "DISCONNECTED" => {
            let ts = at(field(detail, "disconnectTimestamp"), "disconnectTimestamp")?;
            let answered = agent_info.and_then(|a| field(a, "connectedToAgentTimestamp")).is_some()
                || cx.state.saw_step("ans", &call);
            match (answered, queue) {
                (true, _) => (ts, EventKind::CallEnded { call, agent }),
                (false, Some(queue)) => (ts, EventKind::CallAbandoned { call, queue: Some(queue) }),
                // Never queued (the caller left in the IVR): not a call of the floor.
                (false, None) => return Ok(None),
            }
        }
        // INITIATED, CONTACT_DATA_UPDATED: nothing the floor counts.
        _ => return Ok(None),
    };
    Ok(event(cx, kind.0, kind.1))
}

#[cfg(test)]
mod tests;
