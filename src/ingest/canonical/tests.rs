//! Every way an event can be wrong, each rejected alone.

use super::decode::{decode, decode_serde};
use super::fast;
use crate::event::{AgentState, Event, EventKind, Id};
use crate::ingest::RejectReason as R;
use crate::ingest::{RejectReason, Rejection};

fn run(frame: &str) -> (Vec<Event>, Vec<Rejection>) {
    let mut ev = Vec::new();
    let mut rej = Vec::new();
    decode(frame, &Id::from("conn-1"), &mut ev, &mut rej);
    (ev, rej)
}

const GOOD: &str = r#"{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"}"#;

#[test]
fn single_object_and_batch() {
    let (ev, rej) = run(
        r#"{"type":"call_offered","ts":"2026-11-23T08:00:01.250Z","seq":41,"call":"C1001","queue":"billing","caller":"+8613800000001"}"#,
    );
    assert!(rej.is_empty());
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].ts, 1_795_420_801_250);
    assert_eq!(ev[0].seq, Some(41));
    assert_eq!(&*ev[0].source, "conn-1");
    assert!(matches!(&ev[0].kind, EventKind::CallOffered { queue, .. } if &**queue == "billing"));

    let (ev, rej) = run(
        r#"[{"type":"agent_state","ts":"2026-11-23T16:00:03+08:00","agent":"A7","state":"acw","source":"acd-2"},
            {"type":"agent_login","ts":"2026-11-23T08:00:03Z","agent":"A8"}]"#,
    );
    assert!(rej.is_empty(), "{rej:?}");
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].ts, ev[1].ts, "offsets are normalised to UTC");
    assert_eq!(&*ev[0].source, "acd-2");
    assert!(matches!(ev[1].kind, EventKind::AgentLogin { state: AgentState::Ready, .. }));
}

#[test]
fn each_bad_event_is_rejected_alone_with_its_index() {
    let cases: &[(&str, RejectReason, &str)] = &[
        (r#"{"type":"teleport","ts":"2026-11-23T08:00:00Z"}"#, R::UnknownType, "teleport"),
        (r#"{"ts":"2026-11-23T08:00:00Z"}"#, R::MissingField, "`type`"),
        (r#"{"type":"heartbeat"}"#, R::MissingField, "`ts`"),
        (r#"{"type":"heartbeat","ts":"yesterday"}"#, R::BadTimestamp, "yesterday"),
        (r#"{"type":"heartbeat","ts":"2026-11-23 08:00:00"}"#, R::BadTimestamp, "RFC 3339"),
        (r#"{"type":"call_offered","ts":"2026-11-23T08:00:00Z","call":"c"}"#, R::MissingField, "`queue`"),
        (r#"{"type":"agent_state","ts":"2026-11-23T08:00:00Z","agent":"a"}"#, R::MissingField, "`state`"),
        (
            r#"{"type":"agent_state","ts":"2026-11-23T08:00:00Z","agent":"a","state":"asleep"}"#,
            R::UnknownState,
            "asleep",
        ),
        (
            r#"{"type":"call_answered","ts":"2026-11-23T08:00:00Z","call":"c","agent":7}"#,
            R::InvalidField,
            "`agent`",
        ),
        (r#"{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":-1}"#, R::InvalidField, "`seq`"),
        (r#"{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":"5"}"#, R::InvalidField, "`seq`"),
        (r#"{"type":5,"ts":"2026-11-23T08:00:00Z"}"#, R::InvalidField, "`type`"),
        (
            r#"{"type":"call_offered","ts":"2026-11-23T08:00:00Z","call":"","queue":"q"}"#,
            R::InvalidField,
            "`call`",
        ),
        (
            r#"{"type":"call_offered","ts":"2026-11-23T08:00:00Z","call":"has space","queue":"q"}"#,
            R::InvalidField,
            "`call`",
        ),
        (
            r#"{"type":"fault","ts":"2026-11-23T08:00:00Z","component":"trunk","status":"sideways"}"#,
            R::InvalidField,
            "`status`",
        ),
        (r#""just a string""#, R::NotAnObject, "object"),
        (r#"42"#, R::NotAnObject, "object"),
    ];
    for (bad, reason, needle) in cases {
        let frame = format!("[{GOOD},{bad},{GOOD}]");
        let (ev, rej) = run(&frame);
        assert_eq!(ev.len(), 2, "good neighbours of {bad} must survive");
        assert_eq!(rej.len(), 1, "{bad}");
        assert_eq!(rej[0].reason, *reason, "{bad}: {}", rej[0].message);
        assert_eq!(rej[0].index, Some(1), "{bad}");
        assert!(rej[0].message.contains(needle), "{bad}: message {:?} lacks {needle}", rej[0].message);
    }
}

#[test]
fn rejection_carries_seq_when_known() {
    let (_, rej) = run(r#"{"type":"nope","ts":"2026-11-23T08:00:00Z","seq":77}"#);
    assert_eq!(rej[0].seq, Some(77));
    assert_eq!(rej[0].index, Some(0));
}

#[test]
fn broken_json_refuses_the_frame_as_a_whole() {
    for frame in [r#"[{"type":"heartbeat","ts":"#, "{", "not json", r#"[{"a":1},]"#] {
        let (ev, rej) = run(frame);
        assert!(ev.is_empty());
        assert_eq!(rej.len(), 1, "{frame}");
        assert_eq!(rej[0].reason, R::BadJson, "{frame}");
        assert_eq!(rej[0].index, None, "{frame}: the frame is refused, not one event");
    }
}

#[test]
fn a_frame_that_is_not_an_object_or_array_is_refused() {
    for frame in [r#""hello""#, "42", "null", "true"] {
        let (ev, rej) = run(frame);
        assert!(ev.is_empty());
        assert_eq!(rej[0].reason, R::NotAnObject, "{frame}");
    }
}

#[test]
fn ill_typed_fields_anywhere_in_an_event_do_not_disturb_its_neighbours() {
    // Nested objects and arrays as field values, and a field of every wrong type.
    let frame = format!(
        r#"[{GOOD},{{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","agent":{{"a":[1,2]}}}},{{"type":"heartbeat","ts":[1],"x":{{}}}},{{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":1.5}},{GOOD}]"#
    );
    let (ev, rej) = run(&frame);
    // A field the event's type does not use is not checked, like an unknown field:
    // the heartbeat with an object for `agent` is accepted.
    assert_eq!(ev.len(), 3, "{rej:?}");
    assert_eq!(rej.len(), 2);
    assert_eq!((rej[0].index, rej[0].reason), (Some(2), R::InvalidField));
    assert!(rej[0].message.contains("`ts` must be a string, got an array"), "{}", rej[0].message);
    assert_eq!((rej[1].index, rej[1].reason), (Some(3), R::InvalidField));
    assert!(rej[1].message.contains("`seq` must be a non-negative integer, got a fractional number"));
}

#[test]
fn unknown_fields_and_nulls_are_tolerated() {
    let (ev, rej) = run(
        r#"{"type":"agent_logout","ts":"2026-11-23T08:00:00Z","agent":"A1","reason":null,"vendor_extra":{"x":1}}"#,
    );
    assert!(rej.is_empty(), "{rej:?}");
    assert!(matches!(&ev[0].kind, EventKind::AgentLogout { reason: None, .. }));
}

#[test]
fn escaped_strings_are_decoded() {
    let (ev, rej) =
        run(r#"{"type":"agent_login","ts":"2026-11-23T08:00:00Z","agent":"A1","name":"\u5f20\u4f1f"}"#);
    assert!(rej.is_empty(), "{rej:?}");
    assert!(matches!(&ev[0].kind, EventKind::AgentLogin { name: Some(n), .. } if &**n == "张伟"));
}

/// Every time the parser refuses is a `bad_timestamp`, its message naming `ts`
/// (the parser itself is tested in `event::ts`).
#[test]
fn refused_times_are_bad_timestamps() {
    for ts in [
        "2026-11-23T24:00:00Z",
        "2016-12-31T23:59:60Z",
        "2026-11-23t08:00:00Z",
        "",
        "Z",
        "2026-11-23T08:00:00",
    ] {
        let (ev, rej) = run(&format!(r#"{{"type":"heartbeat","ts":{ts:?}}}"#));
        let Some(t) = crate::event::parse_ts(ts).err() else {
            assert_eq!((ev.len(), rej.len()), (1, 0), "{ts}");
            continue;
        };
        assert!(ev.is_empty(), "{ts}");
        assert_eq!(rej[0].reason, R::BadTimestamp, "{ts}");
        assert_eq!(rej[0].message, t.in_field("ts"), "{ts}");
    }
}

/// The fast reader must give exactly what serde gives, on real frames and on
/// frames broken or bent in every way it might meet (where it declines, serde
/// reads them anyway, so any frame must come out the same).
#[test]
fn fast_reader_agrees_with_serde() {
    let both = |frame: &str| {
        let source = Id::from("conn-1");
        let (mut ev, mut rej) = (Vec::new(), Vec::new());
        decode(frame, &source, &mut ev, &mut rej);
        let (mut ev2, mut rej2) = (Vec::new(), Vec::new());
        decode_serde(frame, &source, &mut ev2, &mut rej2);
        assert_eq!(ev, ev2, "events of {frame}");
        assert_eq!(rej, rej2, "rejections of {frame}");
        fast::read_array(frame, |_| {})
    };

    // Real frames from the simulator: every one must take the fast path.
    let cfg = crate::sim::SimConfig { agents: 60, teams: 4, seed: 3, ..crate::sim::SimConfig::default() };
    let start = chrono::DateTime::from_timestamp_millis(T_SIM).unwrap_or_default();
    let mut model = crate::sim::SimModel::new(&cfg, start);
    let mut sim = Vec::new();
    let mut t = start;
    while sim.len() < 3000 {
        t += chrono::Duration::seconds(10);
        model.advance_to(t, &mut sim);
    }
    let mut frames = Vec::new();
    for (k, chunk) in sim.chunks(25).enumerate() {
        let parts: Vec<String> =
            chunk.iter().enumerate().map(|(i, e)| e.to_json((k * 25 + i) as u64, "acd-1")).collect();
        frames.push(format!("[{}]", parts.join(",")));
    }
    for f in &frames {
        assert!(both(f), "a simulator frame was declined: {f}");
    }

    // Hand-made corners: each either read fast or declined, never different.
    let corners = [
        "[]",
        " [ ] ",
        "[]x",
        "[",
        "[{}]",
        "[{} ]",
        "[ {\"type\" : \"heartbeat\" , \"ts\" :\"2026-11-23T08:00:00Z\"}\n]\r\n\t",
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":0}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":00}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":01}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":-0}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":1.0}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":1e3}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":9999999999999999999}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":18446744073709551615}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":18446744073709551616}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":12x}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":null}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":nul}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":nullx}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":true}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","x":[1,{"y":2}]}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","x":{}}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z",}]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"},]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"}{"type":"heartbeat"}]"#,
        r#"[{"type":"heartbeat""ts":"2026-11-23T08:00:00Z"}]"#,
        r#"[{"type" "heartbeat","ts":"2026-11-23T08:00:00Z"}]"#,
        r#"[{type:"heartbeat"}]"#,
        r#"[{"type":"heartbeat","type":"fault","ts":"2026-11-23T08:00:00Z","component":"c","status":"up"}]"#,
        r#"[{"typ\u0065":"heartbeat","ts":"2026-11-23T08:00:00Z"}]"#,
        r#"[{"types":"heartbeat","ty":"x","t":"y","":"z","ts":"2026-11-23T08:00:00Z","type":"heartbeat"}]"#,
        r#"[{"type":"fault","ts":"2026-11-23T08:00:00Z","componen":"a","components":"b","component":"c","status":"down","detail":"d","callers":"e"}]"#,
        r#"[{"type":"call_offered","ts":"2026-11-23T08:00:00Z","call":"c1","caller":"+86","queue":"q","source":"s","seq":3,"state":"x","status":"y","team":"t","name":"n","reason":"r"}]"#,
        // The record is reused per element: nothing of one may stay for the next.
        r#"[{"type":"agent_state","ts":"2026-11-23T08:00:00Z","agent":"A1","state":"not_ready","reason":"r","queue":"q","call":"c","source":"s","seq":7},{"type":"agent_state","ts":"2026-11-23T08:00:01Z","agent":"A2","state":"ready"},{"ts":"2026-11-23T08:00:02Z"}]"#,
        r#"[{"type"#,
        r#"[{"ts"#,
        r#"[{"ts":"#,
        r#"[{"type":"agent_login","ts":"2026-11-23T08:00:00Z","agent":"A\"1"}]"#,
        r#"[{"type":"agent_login","ts":"2026-11-23T08:00:00Z","agent":"A1","name":"张伟"}]"#,
        "[{\"type\":\"agent_login\",\"ts\":\"2026-11-23T08:00:00Z\",\"agent\":\"A\u{1}1\"}]",
        "[{\"type\":\"agent_login\",\"ts\":\"2026-11-23T08:00:00Z\",\"agent\":\"A\u{7f}1\"}]",
        "\u{feff}[]",
        "\u{a0}[]",
        r#"{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"}"#,
        r#"[1, "a", null]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"}] ]"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"}"#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z""#,
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"#,
    ];
    for f in corners {
        both(f);
    }

    // Frames bent at random: a character deleted, doubled, or one of JSON's
    // own put in, a few times over.
    let chars: Vec<char> = r#"{}[]":,\ -.e0192nulltrue
	"#
    .chars()
    .chain(['\u{1}', '张'])
    .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let (mut taken_fast, mut declined) = (0, 0);
    for k in 0..6000 {
        let n = 1 + rnd(3);
        let parts: Vec<String> =
            (0..n).map(|i| sim[(k * 3 + i) % sim.len()].to_json(k as u64, "acd-1")).collect();
        let mut f: Vec<char> = format!("[{}]", parts.join(",")).chars().collect();
        for _ in 0..1 + rnd(2) {
            let at = rnd(f.len());
            match rnd(3) {
                0 => {
                    f.remove(at);
                }
                1 => f.insert(at, f[at]),
                _ => f.insert(at, chars[rnd(chars.len())]),
            }
        }
        let f: String = f.into_iter().collect();
        if both(&f) {
            taken_fast += 1;
        } else {
            declined += 1;
        }
    }
    assert!(taken_fast > 500 && declined > 500, "fast {taken_fast}, declined {declined}");
}

const T_SIM: i64 = 1_795_420_800_000;

/// A string field past `limits.max_field_bytes` refuses its event alone, as
/// `field_too_long`, in either reader; the rest of the batch goes on.
#[test]
fn a_field_over_the_length_limit_is_refused_alone() {
    let long = "A".repeat(65);
    let name = "名".repeat(30); // 90 bytes: free text is held to the limit too
    let frame = format!(
        r#"[{{"type":"agent_state","ts":"2026-11-23T08:00:00Z","agent":"{long}","state":"ready"}},
           {{"type":"agent_login","ts":"2026-11-23T08:00:00Z","agent":"A1","name":"{name}"}},
           {{"type":"agent_login","ts":"2026-11-23T08:00:00Z","agent":"A2","name":"王芳"}}]"#
    );
    for serde_only in [false, true] {
        let (mut ev, mut rej) = (Vec::new(), Vec::new());
        if serde_only {
            // An escaped quote sends the frame down the serde path.
            let f = frame.replace("王芳", "王\\\"芳");
            super::decode::decode_limited(&f, &Id::from("c"), 64, &mut ev, &mut rej);
        } else {
            super::decode::decode_limited(&frame, &Id::from("c"), 64, &mut ev, &mut rej);
        }
        let reasons: Vec<_> = rej.iter().map(|r| (r.reason, r.index)).collect();
        assert_eq!(
            reasons,
            [(R::FieldTooLong, Some(0)), (R::FieldTooLong, Some(1))],
            "serde only: {serde_only}"
        );
        assert!(rej[0].message.contains("`agent`"), "{}", rej[0].message);
        assert_eq!(ev.len(), 1);
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// JSON-ish text built from the protocol's own pieces, so the decoder's deep
    /// paths (types, fields, batches, broken JSON) are reached, not only "bad JSON".
    fn frame_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("null".to_string()),
            Just("-1".to_string()),
            Just("1e400".to_string()),
            Just("18446744073709551616".to_string()),
            Just(r#""type""#.to_string()),
            Just(r#""ts""#.to_string()),
            Just(r#""agent""#.to_string()),
            Just(r#""call""#.to_string()),
            Just(r#""state""#.to_string()),
            Just(r#""seq""#.to_string()),
            Just(r#""source""#.to_string()),
            Just(r#""agent_state""#.to_string()),
            Just(r#""call_offered""#.to_string()),
            Just(r#""2026-11-23T08:00:00Z""#.to_string()),
            Just(r#""ready""#.to_string()),
            "\"[^\"]{0,80}\"",
            "[ -~]{0,8}",
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The fuzz target's body, on arbitrary bytes: never panics.
        #[test]
        fn the_decoder_never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            super::super::decode::fuzz_decode(&data);
        }

        /// On protocol-shaped text: never panics, and whatever is not an accepted
        /// event is answered by a rejection (so nothing vanishes unexplained): a
        /// frame that yields no events says why.
        #[test]
        fn the_decoder_accepts_or_says_why(text in frame_text()) {
            super::super::decode::fuzz_decode(text.as_bytes());
            let (ev, rej) = run(&text);
            if ev.is_empty() && text.contains("type") {
                prop_assert!(!rej.is_empty(), "no event and no rejection for {text:?}");
            }
            for e in &ev {
                prop_assert!(crate::event::valid_id(&e.source));
            }
        }
    }
}
