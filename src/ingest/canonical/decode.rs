//! Text frame → events and rejections. Never fails as a whole: each event of a batch
//! is judged on its own, and only a frame that is not JSON at all (so no event in it
//! can be told apart from the next) is refused in one piece.

use serde::de::{DeserializeSeed, SeqAccess, Visitor};

use super::fast;
use super::wire::{Element, Val, WireEvent};
use crate::event::{AgentState, Event, EventKind, FaultStatus, Id, TsError, TsParser, valid_id};
use crate::ingest::{RejectReason, Rejection};

/// `limits.max_field_bytes` by default: what [`decode`] allows.
pub const DEFAULT_MAX_FIELD_BYTES: usize = 256;

/// Decodes one text frame. Accepted events go to `out` in frame order, rejections
/// to `rejected`; `default_source` is used when an event names no `source`.
/// String fields are held to [`DEFAULT_MAX_FIELD_BYTES`].
pub fn decode(frame: &str, default_source: &Id, out: &mut Vec<Event>, rejected: &mut Vec<Rejection>) {
    decode_limited(frame, default_source, DEFAULT_MAX_FIELD_BYTES, out, rejected);
}

/// [`decode`] with string fields held to `max_field_bytes` (`limits.max_field_bytes`):
/// an event with a longer one is rejected as `field_too_long`.
pub fn decode_limited(
    frame: &str,
    default_source: &Id,
    max_field_bytes: usize,
    out: &mut Vec<Event>,
    rejected: &mut Vec<Rejection>,
) {
    let mut sources = SourceCache::new(default_source, max_field_bytes);
    let (kept_out, kept_rej) = (out.len(), rejected.len());
    // Nearly every frame is an array of flat objects: the fast reader takes those
    // at about half serde's cost. Anything else it declines, and the frame is read
    // again from the start by serde, which judges every case.
    let mut i = 0;
    let fast = fast::read_array(frame, |w| {
        judge(w, i, &mut sources, out, rejected);
        i += 1;
    });
    if fast {
        return;
    }
    out.truncate(kept_out);
    rejected.truncate(kept_rej);
    decode_serde_limited(frame, default_source, max_field_bytes, out, rejected);
}

/// The fuzz target's body (`fuzz/fuzz_targets/decode.rs`), here so that the
/// proptest suite runs it on every `cargo test` too: any bytes, as a bridge
/// could send them, decoded by both readers. Never panics, and an accepted
/// event's source is within the limit.
pub fn fuzz_decode(data: &[u8]) {
    let Ok(frame) = std::str::from_utf8(data) else { return };
    let source = Id::from("fuzz");
    let (mut out, mut rejected) = (Vec::new(), Vec::new());
    decode_limited(frame, &source, 64, &mut out, &mut rejected);
    for ev in &out {
        assert!(ev.source.len() <= 64, "an accepted source within the limit");
    }
    // The serde reader alone, as the fast reader's fallback runs it.
    out.clear();
    rejected.clear();
    decode_serde_limited(frame, &source, 64, &mut out, &mut rejected);
}

/// [`decode`] by serde alone: any frame, every error named (the tests hold the
/// fast reader to it).
#[cfg(test)]
pub(super) fn decode_serde(
    frame: &str,
    default_source: &Id,
    out: &mut Vec<Event>,
    rejected: &mut Vec<Rejection>,
) {
    decode_serde_limited(frame, default_source, DEFAULT_MAX_FIELD_BYTES, out, rejected);
}

fn decode_serde_limited(
    frame: &str,
    default_source: &Id,
    max_field_bytes: usize,
    out: &mut Vec<Event>,
    rejected: &mut Vec<Rejection>,
) {
    let mut sources = SourceCache::new(default_source, max_field_bytes);
    let (kept_out, kept_rej) = (out.len(), rejected.len());
    let mut de = serde_json::Deserializer::from_str(frame);
    let result = if frame.trim_start().starts_with('[') {
        // Events are judged as the array is read, without an intermediate Vec.
        let seed = FrameSeed { sources: &mut sources, out: &mut *out, rejected: &mut *rejected };
        seed.deserialize(&mut de)
    } else {
        let mut one = |r: Result<&WireEvent<'_>, &'static str>| match r {
            Ok(w) => match decode_one(w, &mut sources) {
                Ok(ev) => out.push(ev),
                Err(r) => rejected.push(r.at(0)),
            },
            Err(what) => rejected.push(Rejection::new(
                RejectReason::NotAnObject,
                format!("a frame must be an event object or an array of them, not {what}"),
            )),
        };
        Element(&mut one).deserialize(&mut de)
    };
    if let Err(e) = result.and_then(|()| de.end()) {
        // The JSON broke: no event of this frame can be trusted, take them back.
        out.truncate(kept_out);
        rejected.truncate(kept_rej);
        rejected.push(Rejection::new(RejectReason::BadJson, format!("frame is not valid JSON: {e}")));
    }
}

/// Reads a JSON array of events, judging each as soon as it is read.
struct FrameSeed<'x> {
    sources: &'x mut SourceCache,
    out: &'x mut Vec<Event>,
    rejected: &'x mut Vec<Rejection>,
}

impl<'de> DeserializeSeed<'de> for FrameSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FrameSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        let FrameSeed { sources, out, rejected } = self;
        let mut each = |r: Result<&WireEvent<'de>, &'static str>| {
            match r {
                Ok(w) => judge(w, i, sources, out, rejected),
                Err(what) => rejected.push(
                    Rejection::new(
                        RejectReason::NotAnObject,
                        format!("an event must be a JSON object, not {what}"),
                    )
                    .at(i),
                ),
            }
            i += 1;
        };
        while seq.next_element_seed(Element(&mut each))?.is_some() {}
        Ok(())
    }
}

/// Decodes the event at `index` of a batch into `out`, or its rejection.
fn judge(
    w: &WireEvent<'_>,
    index: usize,
    sources: &mut SourceCache,
    out: &mut Vec<Event>,
    rejected: &mut Vec<Rejection>,
) {
    match decode_one(w, sources) {
        Ok(ev) => out.push(ev),
        Err(r) => rejected.push(r.at(index)),
    }
}

/// Reuses the source named by the previous event, so a batch from one bridge
/// validates its source id once.
struct SourceCache {
    default: Id,
    /// `limits.max_field_bytes`.
    max_field_bytes: usize,
    last: Option<Id>,
    /// Reads the frame's timestamps, which nearly all share their date.
    times: TsParser,
}

impl SourceCache {
    fn new(default: &Id, max_field_bytes: usize) -> SourceCache {
        SourceCache { default: default.clone(), max_field_bytes, last: None, times: TsParser::new() }
    }

    fn get(&mut self, named: Option<&str>) -> Result<Id, Rejection> {
        let Some(name) = named else { return Ok(self.default.clone()) };
        if let Some(last) = &self.last
            && last.as_str() == name
        {
            return Ok(last.clone());
        }
        let id = checked_id("source", name)?;
        self.last = Some(id.clone());
        Ok(id)
    }
}

fn decode_one(w: &WireEvent<'_>, sources: &mut SourceCache) -> Result<Event, Rejection> {
    let seq = match &w.seq {
        None | Some(Val::Null) => None,
        Some(Val::U64(n)) => Some(*n),
        Some(other) => return Err(ill_typed("seq", "a non-negative integer", other)),
    };
    if let Some(field) = too_long(w, sources.max_field_bytes) {
        return Err(Rejection::new(
            RejectReason::FieldTooLong,
            format!("field `{field}` is longer than the {} byte limit", sources.max_field_bytes),
        )
        .with_seq(seq));
    }
    build(w, seq, sources).map_err(|r| r.with_seq(seq))
}

/// The first string field longer than `max` bytes, by name. Checked before
/// anything is built, so nothing of an oversized event is copied.
fn too_long(w: &WireEvent<'_>, max: usize) -> Option<&'static str> {
    let fields = [
        ("type", &w.kind),
        ("ts", &w.ts),
        ("source", &w.source),
        ("agent", &w.agent),
        ("name", &w.name),
        ("team", &w.team),
        ("state", &w.state),
        ("reason", &w.reason),
        ("queue", &w.queue),
        ("call", &w.call),
        ("caller", &w.caller),
        ("component", &w.component),
        ("status", &w.status),
        ("detail", &w.detail),
    ];
    fields.into_iter().find(|(_, v)| matches!(v, Some(Val::Str(s)) if s.len() > max)).map(|(f, _)| f)
}

fn build(w: &WireEvent<'_>, seq: Option<u64>, sources: &mut SourceCache) -> Result<Event, Rejection> {
    let kind_name = text("type", &w.kind)?.ok_or_else(|| missing("type"))?;
    let ts = sources.times.parse(text("ts", &w.ts)?.ok_or_else(|| missing("ts"))?).map_err(bad_ts)?;
    let source = sources.get(text("source", &w.source)?)?;
    let kind = match kind_name {
        "agent_login" => EventKind::AgentLogin {
            agent: required("agent", &w.agent)?,
            name: free_text("name", &w.name)?,
            team: optional("team", &w.team)?,
            state: match text("state", &w.state)? {
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
            state: parse_state(text("state", &w.state)?.ok_or_else(|| missing("state"))?)?,
            reason: optional("reason", &w.reason)?,
            queue: optional("queue", &w.queue)?,
            call: optional("call", &w.call)?,
        },
        "call_offered" => EventKind::CallOffered {
            call: required("call", &w.call)?,
            queue: required("queue", &w.queue)?,
            caller: free_text("caller", &w.caller)?,
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
            status: match text("status", &w.status)? {
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
            detail: free_text("detail", &w.detail)?,
        },
        other => {
            return Err(Rejection::new(RejectReason::UnknownType, format!("unknown event type {other:?}")));
        }
    };
    Ok(Event { ts, source, seq, kind })
}

/// A string field: `Ok(None)` when absent or null, an error when of another type.
fn text<'v>(field: &str, v: &'v Option<Val<'_>>) -> Result<Option<&'v str>, Rejection> {
    match v {
        None | Some(Val::Null) => Ok(None),
        Some(Val::Str(s)) => Ok(Some(s)),
        Some(other) => Err(ill_typed(field, "a string", other)),
    }
}

fn ill_typed(field: &str, want: &str, got: &Val<'_>) -> Rejection {
    let got = match got {
        Val::Str(_) => "a string",
        Val::U64(_) => "a number",
        Val::Null => "null",
        Val::Other(what) => what,
    };
    Rejection::new(RejectReason::InvalidField, format!("field `{field}` must be {want}, got {got}"))
}

fn missing(field: &str) -> Rejection {
    Rejection::new(RejectReason::MissingField, format!("missing field `{field}`"))
}

fn required(field: &str, v: &Option<Val<'_>>) -> Result<Id, Rejection> {
    match text(field, v)? {
        Some(s) => checked_id(field, s),
        None => Err(missing(field)),
    }
}

fn optional(field: &str, v: &Option<Val<'_>>) -> Result<Option<Id>, Rejection> {
    text(field, v)?.map(|s| checked_id(field, s)).transpose()
}

/// Free text (a name, a caller's number, a fault's detail): any string, capped in
/// length.
fn free_text(field: &str, v: &Option<Val<'_>>) -> Result<Option<Id>, Rejection> {
    Ok(text(field, v)?.map(|s| {
        let mut end = s.len().min(512);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Id::from(&s[..end])
    }))
}

/// Ids become map keys, label values and screen text: they must be non-empty,
/// short and printable.
fn checked_id(field: &str, s: &str) -> Result<Id, Rejection> {
    if valid_id(s) {
        Ok(Id::from(s))
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

/// A `ts` that is not an RFC 3339 time, in the words ingest has always used.
fn bad_ts(e: TsError) -> Rejection {
    Rejection::new(RejectReason::BadTimestamp, e.in_field("ts"))
}
