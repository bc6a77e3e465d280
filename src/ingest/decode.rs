//! Text frame → events and rejections. Never fails as a whole: each event of a batch
//! is judged on its own, and only a frame that is not JSON at all (so no event in it
//! can be told apart from the next) is refused in one piece.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::wire::{FIELD_TYPES, WireEvent};
use super::{RejectReason, Rejection};
use crate::config::valid_id;
use crate::event::{AgentState, Event, EventKind, FaultStatus, Id, Ts};

/// Decodes one text frame. Accepted events go to `out` in frame order, rejections
/// to `rejected`; `default_source` is used when an event names no `source`.
pub fn decode(frame: &str, default_source: &Id, out: &mut Vec<Event>, rejected: &mut Vec<Rejection>) {
    let trimmed = frame.trim_start();
    let mut sources = SourceCache::new(default_source);
    if trimmed.starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(frame) {
            Ok(items) => {
                for (i, raw) in items.into_iter().enumerate() {
                    match decode_one(raw.get(), &mut sources) {
                        Ok(ev) => out.push(ev),
                        Err(r) => rejected.push(r.at(i)),
                    }
                }
            }
            Err(e) => {
                rejected.push(Rejection::new(RejectReason::BadJson, format!("frame is not valid JSON: {e}")))
            }
        }
    } else if trimmed.starts_with('{') {
        match decode_one(frame, &mut sources) {
            Ok(ev) => out.push(ev),
            Err(r) => rejected.push(r.at(0)),
        }
    } else if serde_json::from_str::<serde_json::Value>(frame).is_ok() {
        rejected.push(Rejection::new(
            RejectReason::NotAnObject,
            "a frame must be an event object or an array of them".into(),
        ));
    } else {
        rejected.push(Rejection::new(RejectReason::BadJson, "frame is not valid JSON".into()));
    }
}

/// Reuses the `Arc` of the source named by the previous event, so a batch from one
/// bridge allocates its source id once.
struct SourceCache {
    default: Id,
    last: Option<Id>,
}

impl SourceCache {
    fn new(default: &Id) -> SourceCache {
        SourceCache { default: default.clone(), last: None }
    }

    fn get(&mut self, named: Option<Cow<'_, str>>) -> Result<Id, Rejection> {
        let Some(name) = named else { return Ok(self.default.clone()) };
        if let Some(last) = &self.last
            && **last == *name
        {
            return Ok(last.clone());
        }
        let id = checked_id("source", &name)?;
        self.last = Some(id.clone());
        Ok(id)
    }
}

fn decode_one(text: &str, sources: &mut SourceCache) -> Result<Event, Rejection> {
    let w: WireEvent<'_> = match serde_json::from_str(text) {
        Ok(w) => w,
        Err(e) => return Err(diagnose(text, e)),
    };
    let seq = w.seq;
    build(w, sources).map_err(|r| r.with_seq(seq))
}

fn build(w: WireEvent<'_>, sources: &mut SourceCache) -> Result<Event, Rejection> {
    let kind_name = w.kind.as_deref().ok_or_else(|| missing("type"))?;
    let ts_text = w.ts.as_deref().ok_or_else(|| missing("ts"))?;
    let ts = parse_ts(ts_text)?;
    let seq = w.seq;
    let source = sources.get(w.source.clone())?;
    let kind = match kind_name {
        "agent_login" => EventKind::AgentLogin {
            agent: required("agent", &w.agent)?,
            name: optional_text(&w.name),
            team: optional("team", &w.team)?,
            state: match w.state.as_deref() {
                Some(s) => parse_state(s)?,
                None => AgentState::Ready,
            },
            reason: optional("reason", &w.reason)?,
        },
        "agent_logout" => EventKind::AgentLogout {
            agent: required("agent", &w.agent)?,
            reason: optional("reason", &w.reason)?,
        },
        "agent_state" => EventKind::AgentState {
            agent: required("agent", &w.agent)?,
            state: parse_state(w.state.as_deref().ok_or_else(|| missing("state"))?)?,
            reason: optional("reason", &w.reason)?,
            queue: optional("queue", &w.queue)?,
            call: optional("call", &w.call)?,
        },
        "call_offered" => EventKind::CallOffered {
            call: required("call", &w.call)?,
            queue: required("queue", &w.queue)?,
            caller: optional_text(&w.caller),
        },
        "call_answered" => EventKind::CallAnswered {
            call: required("call", &w.call)?,
            agent: required("agent", &w.agent)?,
            queue: optional("queue", &w.queue)?,
        },
        "call_abandoned" => {
            EventKind::CallAbandoned { call: required("call", &w.call)?, queue: optional("queue", &w.queue)? }
        }
        "call_ended" => {
            EventKind::CallEnded { call: required("call", &w.call)?, agent: optional("agent", &w.agent)? }
        }
        "heartbeat" => EventKind::Heartbeat,
        "fault" => EventKind::Fault {
            component: required("component", &w.component)?,
            status: match w.status.as_deref() {
                Some("down") => FaultStatus::Down,
                Some("up") => FaultStatus::Up,
                Some(other) => {
                    return Err(Rejection::new(
                        RejectReason::InvalidField,
                        format!("field `status` must be \"down\" or \"up\", not {other:?}"),
                    ));
                }
                None => return Err(missing("status")),
            },
            detail: optional_text(&w.detail),
        },
        other => {
            return Err(Rejection::new(RejectReason::UnknownType, format!("unknown event type {other:?}")));
        }
    };
    Ok(Event { ts, source, seq, kind })
}

/// The typed parse failed: find out why, on this slow path only.
fn diagnose(text: &str, err: serde_json::Error) -> Rejection {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return Rejection::new(RejectReason::BadJson, format!("event is not valid JSON: {err}")),
    };
    let Some(obj) = value.as_object() else {
        return Rejection::new(RejectReason::NotAnObject, "an event must be a JSON object".into());
    };
    for (field, ty) in FIELD_TYPES {
        if let Some(v) = obj.get(*field)
            && !ty.accepts(v)
        {
            return Rejection::new(
                RejectReason::InvalidField,
                format!("field `{field}` must be {}, got {}", ty.describe(), short(v)),
            )
            .with_seq(obj.get("seq").and_then(|s| s.as_u64()));
        }
    }
    Rejection::new(RejectReason::InvalidField, format!("event could not be read: {err}"))
}

fn short(v: &serde_json::Value) -> String {
    let mut s = v.to_string();
    if s.len() > 40 {
        let mut cut = 40;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn missing(field: &str) -> Rejection {
    Rejection::new(RejectReason::MissingField, format!("missing field `{field}`"))
}

fn required(field: &str, v: &Option<Cow<'_, str>>) -> Result<Id, Rejection> {
    match v {
        Some(s) => checked_id(field, s),
        None => Err(missing(field)),
    }
}

fn optional(field: &str, v: &Option<Cow<'_, str>>) -> Result<Option<Id>, Rejection> {
    v.as_deref().map(|s| checked_id(field, s)).transpose()
}

/// Free text (a caller's number, a fault's detail): any string, capped in length.
fn optional_text(v: &Option<Cow<'_, str>>) -> Option<Id> {
    v.as_deref().map(|s| {
        let mut end = s.len().min(512);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Id::from(&s[..end])
    })
}

/// Ids become map keys, label values and screen text: they must be non-empty,
/// short and printable.
fn checked_id(field: &str, s: &str) -> Result<Id, Rejection> {
    if valid_id(s) {
        Ok(Arc::from(s))
    } else {
        Err(Rejection::new(
            RejectReason::InvalidField,
            format!("field `{field}` must be a non-empty id of at most 64 characters without spaces"),
        ))
    }
}

fn parse_state(s: &str) -> Result<AgentState, Rejection> {
    AgentState::parse(s).ok_or_else(|| {
        Rejection::new(
            RejectReason::UnknownState,
            format!("unknown agent state {s:?} (ready, ringing, talking, hold, acw, not_ready)"),
        )
    })
}

/// RFC 3339 with any offset, to UTC milliseconds.
pub fn parse_ts(s: &str) -> Result<Ts, Rejection> {
    chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp_millis()).map_err(|e| {
        Rejection::new(RejectReason::BadTimestamp, format!("`ts` {s:?} is not an RFC 3339 time: {e}"))
    })
}

#[cfg(test)]
mod tests;
