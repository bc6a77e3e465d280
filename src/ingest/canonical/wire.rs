//! The canonical protocol's JSON shape (contract §3). This is the only place that
//! knows it; `decode` turns it into [`crate::event::Event`].
//!
//! A frame is read in one pass. Each array element is read *leniently*: any JSON
//! value is accepted for any field ([`Val`] records what it was), so an ill-typed
//! field in one event cannot abort the parse of the frame, and `decode` can name
//! the field and the type it should have had. Only invalid JSON refuses a frame
//! as a whole. Unknown fields are skipped (forward compatibility).
//!
//! Frames as bridges send them (flat objects of plain strings and integers) are
//! read by [`super::fast`] instead; whatever it does not handle falls back to
//! this reader.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// One field's value, whatever JSON type it had.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Str(Cow<'a, str>),
    U64(u64),
    Null,
    /// Any other JSON value, described for the error message ("a number", …).
    Other(&'static str),
}

/// One event object of a frame, each field as it was sent.
#[derive(Debug, Default)]
pub struct WireEvent<'a> {
    pub kind: Option<Val<'a>>,
    pub ts: Option<Val<'a>>,
    pub seq: Option<Val<'a>>,
    pub source: Option<Val<'a>>,
    pub agent: Option<Val<'a>>,
    pub name: Option<Val<'a>>,
    pub team: Option<Val<'a>>,
    pub state: Option<Val<'a>>,
    pub reason: Option<Val<'a>>,
    pub queue: Option<Val<'a>>,
    pub call: Option<Val<'a>>,
    pub caller: Option<Val<'a>>,
    pub component: Option<Val<'a>>,
    pub status: Option<Val<'a>>,
    pub detail: Option<Val<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Val<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Val::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        // serde_json hands non-negative integers to visit_u64; this is a negative one.
        Ok(if v >= 0 { Val::U64(v.unsigned_abs()) } else { Val::Other("a negative number") })
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Val::Other("a fractional number"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Val::Other("a boolean"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Val::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Val::Other("an object"))
    }
}

/// Reads one element and hands it to `F` while it is still on the stack: an
/// event object as `Ok(&WireEvent)`, anything else as `Err(what it was)`. The
/// element is never moved (it is ~500 bytes of mostly empty fields).
pub struct Element<'f, F>(pub &'f mut F);

impl<'de, F> DeserializeSeed<'de> for Element<'_, F>
where
    F: FnMut(Result<&WireEvent<'de>, &'static str>),
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F> Visitor<'de> for Element<'_, F>
where
    F: FnMut(Result<&WireEvent<'de>, &'static str>),
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut w = WireEvent::default();
        while let Some(key) = map.next_key::<Key>()? {
            match w.slot(key) {
                Some(slot) => *slot = Some(map.next_value::<Val<'de>>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        (self.0)(Ok(&w));
        Ok(())
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<(), E> {
        (self.0)(Err("a string"));
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        (self.0)(Err("a string"));
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        (self.0)(Err("a number"));
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        (self.0)(Err("a number"));
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        (self.0)(Err("a number"));
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        (self.0)(Err("a boolean"));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        (self.0)(Err("null"));
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        (self.0)(Err("an array"));
        Ok(())
    }
}

/// A field name, matched without allocating (keys are read as plain `&str`).
/// Shared by the serde reader and the fast reader (`fast`).
#[derive(Clone, Copy)]
pub(super) enum Key {
    Type,
    Ts,
    Seq,
    Source,
    Agent,
    Name,
    Team,
    State,
    Reason,
    Queue,
    Call,
    Caller,
    Component,
    Status,
    Detail,
    Unknown,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key::parse(v))
    }
}

impl Key {
    pub(super) fn parse(v: &str) -> Key {
        match v {
            "type" => Key::Type,
            "ts" => Key::Ts,
            "seq" => Key::Seq,
            "source" => Key::Source,
            "agent" => Key::Agent,
            "name" => Key::Name,
            "team" => Key::Team,
            "state" => Key::State,
            "reason" => Key::Reason,
            "queue" => Key::Queue,
            "call" => Key::Call,
            "caller" => Key::Caller,
            "component" => Key::Component,
            "status" => Key::Status,
            "detail" => Key::Detail,
            _ => Key::Unknown,
        }
    }
}

impl<'a> WireEvent<'a> {
    /// Where the value of `key` goes; `None` for an unknown key (skipped).
    pub(super) fn slot(&mut self, key: Key) -> Option<&mut Option<Val<'a>>> {
        Some(match key {
            Key::Type => &mut self.kind,
            Key::Ts => &mut self.ts,
            Key::Seq => &mut self.seq,
            Key::Source => &mut self.source,
            Key::Agent => &mut self.agent,
            Key::Name => &mut self.name,
            Key::Team => &mut self.team,
            Key::State => &mut self.state,
            Key::Reason => &mut self.reason,
            Key::Queue => &mut self.queue,
            Key::Call => &mut self.call,
            Key::Caller => &mut self.caller,
            Key::Component => &mut self.component,
            Key::Status => &mut self.status,
            Key::Detail => &mut self.detail,
            Key::Unknown => return None,
        })
    }
}

/// The frame sent back for each rejected event.
#[derive(Debug, Serialize)]
pub struct ErrorFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub reason: &'static str,
    /// Position in the batch; absent when the whole frame was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub message: &'a str,
}
