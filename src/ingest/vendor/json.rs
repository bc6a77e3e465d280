//! Reading vendor JSON: keys however they are cased, times in whatever unit.

use std::borrow::Cow;

use serde_json::Value;

use crate::event::{Id, Ts, parse_ts, valid_id};
use crate::ingest::{RejectReason, Rejection};

/// Whether two keys name the same field: ASCII case, `_` and `-` aside, so
/// `EventType`, `eventType`, `event_type` and `event-type` all match (Connect
/// writes PascalCase and camelCase, Twilio PascalCase in callbacks and snake_case
/// in Event Streams).
fn same_key(a: &str, b: &str) -> bool {
    let mut x = a.bytes().filter(|c| !matches!(c, b'_' | b'-'));
    let mut y = b.bytes().filter(|c| !matches!(c, b'_' | b'-'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p.eq_ignore_ascii_case(&q) => {}
            _ => return false,
        }
    }
}

/// Field `key` of `obj` (any casing), unless absent or `null`.
pub(crate) fn field<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    let v = match map.get(key) {
        Some(v) => v,
        None => map.iter().find(|(k, _)| same_key(k, key)).map(|(_, v)| v)?,
    };
    (!v.is_null()).then_some(v)
}

/// A string field (an empty string counts as absent).
pub(crate) fn field_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    field(obj, key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A string or a number as text.
pub(crate) fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) if !s.is_empty() => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Below this a number is seconds since the epoch, from it milliseconds: no
/// event of a running call centre is before 1973 (10¹¹ ms) or after the year
/// 5138 (10¹¹ s), so the two never meet.
const MS_FROM: f64 = 1e11;

/// A time as vendors send it: RFC 3339 text, or epoch seconds or milliseconds as
/// a number or a string of digits (Twilio's `Timestamp` is seconds, Firehose's
/// `timestamp` milliseconds, Kinesis's arrival time fractional seconds).
pub(crate) fn ts_of(field_name: &str, v: &Value) -> Result<Ts, Rejection> {
    let bad = |what: String| {
        Rejection::new(RejectReason::BadTimestamp, format!("field `{field_name}` is not a time: {what}"))
    };
    let epoch = |x: f64| -> Result<Ts, Rejection> {
        if !(0.0..=1e15).contains(&x) {
            return Err(bad(format!("{x} is out of range")));
        }
        // In range, so the casts are exact enough (ms resolution).
        Ok(if x < MS_FROM { (x * 1000.0).round() as Ts } else { x.round() as Ts })
    };
    match v {
        Value::Number(n) => epoch(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            epoch(s.parse::<f64>().map_err(|_| bad(format!("{s:?}")))?)
        }
        Value::String(s) => parse_ts(s).map_err(|e| bad(e.to_string())),
        other => Err(bad(format!("a JSON {}", kind(other)))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The resource id at the end of an ARN (`…/agent/3f1c…` → `3f1c…`), or the text
/// itself when it has no `/`.
pub(crate) fn arn_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// An id that will be a map key and screen text: checked like the canonical
/// protocol's.
pub(crate) fn id_field(field_name: &str, s: &str) -> Result<Id, Rejection> {
    if valid_id(s) {
        Ok(Id::from(s))
    } else {
        Err(Rejection::new(
            RejectReason::InvalidField,
            format!("field `{field_name}` must be a non-empty id of at most 64 characters without spaces"),
        ))
    }
}

/// Free text (a name, a caller's number): any string, capped at 512 bytes.
pub(crate) fn free_text(s: &str) -> Id {
    let mut end = s.len().min(512);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Id::from(&s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_in_any_casing() {
        let v = json!({"EventType": "A", "event_id": "B", "detail-type": "C", "x": null});
        assert_eq!(field_str(&v, "eventType"), Some("A"));
        assert_eq!(field_str(&v, "EventId"), Some("B"));
        assert_eq!(field_str(&v, "DetailType"), Some("C"));
        assert_eq!(field(&v, "x"), None);
        assert_eq!(field(&v, "Event"), None);
        assert_eq!(field(&json!([1]), "x"), None);
    }

    #[test]
    fn times_in_seconds_milliseconds_and_rfc3339_agree() {
        let want = 1_795_420_800_000;
        for v in [
            json!(1_795_420_800),
            json!(1_795_420_800_000u64),
            json!("1795420800"),
            json!("1795420800000"),
            json!(1_795_420_800.0),
            json!("2026-11-23T08:00:00Z"),
            json!("2026-11-23T16:00:00+08:00"),
        ] {
            assert_eq!(ts_of("t", &v).ok(), Some(want), "{v}");
        }
        assert_eq!(ts_of("t", &json!(1_795_420_800.25)).ok(), Some(want + 250));
        for bad in [json!(-1), json!("soon"), json!(true), json!(1e300), json!("1.2.3")] {
            let r = ts_of("t", &bad).err().map(|r| r.reason);
            assert_eq!(r, Some(RejectReason::BadTimestamp), "{bad}");
        }
    }

    #[test]
    fn arn_ids_are_the_last_segment() {
        assert_eq!(arn_id("arn:aws:connect:eu-west-2:1:instance/i-1/agent/a-2"), "a-2");
        assert_eq!(arn_id("plain"), "plain");
    }
}
