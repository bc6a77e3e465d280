//! The AMI session from bytes, as Asterisk 18/20 sends them (field sets from
//! app_queue.c's `QueueStatus` replies and its documented manager events).

use proptest::prelude::*;

use super::*;
use crate::event::{AgentState, Event, EventKind};

const T0: Ts = 1_764_662_400_000; // 2025-12-02T08:00:00Z

fn msg(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    b.extend_from_slice(b"\r\n");
    b
}

fn session() -> AmiSession {
    AmiSession::new("pbx".into(), "floorwatch".into(), "s3cret".into(), 30)
}

fn feed(s: &mut AmiSession, bytes: &[u8], now: Ts) -> Out {
    let mut out = Out::default();
    s.read(bytes, now, &mut out).expect("link stays up");
    out
}

/// Logs in and completes an empty snapshot.
fn live(s: &mut AmiSession) {
    let mut out = Out::default();
    s.connected(T0, &mut out);
    feed(s, b"Asterisk Call Manager/9.0.0\r\n", T0);
    feed(
        s,
        &msg(&[("Response", "Success"), ("ActionID", "fw-login"), ("Message", "Authentication accepted")]),
        T0,
    );
    let o = feed(
        s,
        &msg(&[
            ("Event", "QueueStatusComplete"),
            ("ActionID", "fw-status"),
            ("EventList", "Complete"),
            ("ListItems", "0"),
        ]),
        T0,
    );
    assert!(o.resynced);
}

fn kinds(evs: &[Event]) -> Vec<(Ts, EventKind)> {
    evs.iter().map(|e| (e.ts - T0, e.kind.clone())).collect()
}

fn st(
    agent: &str,
    state: AgentState,
    reason: Option<&str>,
    queue: Option<&str>,
    call: Option<&str>,
) -> EventKind {
    EventKind::AgentState {
        agent: agent.into(),
        state,
        reason: reason.map(Into::into),
        queue: queue.map(Into::into),
        call: call.map(Into::into),
    }
}

fn member(queue: &str, iface: &str, status: &str, paused: &str, reason: &str) -> Vec<u8> {
    // The reply spells the interface `Location` and the name `Name`.
    msg(&[
        ("Event", "QueueMember"),
        ("ActionID", "fw-status"),
        ("Queue", queue),
        ("Name", "Li Na"),
        ("Location", iface),
        ("StateInterface", iface),
        ("Membership", "dynamic"),
        ("Penalty", "0"),
        ("CallsTaken", "3"),
        ("LastCall", "1764660000"),
        ("LastPause", "0"),
        ("LoginTime", "1764650000"),
        ("InCall", "0"),
        ("Status", status),
        ("Paused", paused),
        ("PausedReason", reason),
        ("Wrapuptime", "0"),
    ])
}

fn entry(queue: &str, uid: &str, wait: &str) -> Vec<u8> {
    msg(&[
        ("Event", "QueueEntry"),
        ("ActionID", "fw-status"),
        ("Queue", queue),
        ("Position", "1"),
        ("Channel", "PJSIP/trunk-00000001"),
        ("Uniqueid", uid),
        ("CallerIDNum", "+8613800000001"),
        ("CallerIDName", "<unknown>"),
        ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"),
        ("Wait", wait),
        ("Priority", "0"),
    ])
}

fn ev(name: &str, queue: &str, uid: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut f = vec![
        ("Event", name),
        ("Privilege", "agent,all"),
        ("Channel", "PJSIP/trunk-00000001"),
        ("ChannelState", "6"),
        ("CallerIDNum", "+8613800000001"),
        ("Uniqueid", uid),
        ("Linkedid", uid),
        ("Queue", queue),
    ];
    f.extend_from_slice(extra);
    msg(&f)
}

#[test]
fn login_asks_for_agent_events_only_then_for_queue_status() {
    let mut s = session();
    let mut out = Out::default();
    s.connected(T0, &mut out);
    let o = feed(&mut s, b"Asterisk Call Manager/9.0.0\r\n", T0);
    let sent = String::from_utf8(o.send).expect("text");
    assert_eq!(
        sent,
        "Action: Login\r\nActionID: fw-login\r\nUsername: floorwatch\r\nSecret: s3cret\r\nEvents: agent\r\n\r\n"
    );
    let o = feed(
        &mut s,
        &msg(&[("Response", "Success"), ("ActionID", "fw-login"), ("Message", "Authentication accepted")]),
        T0,
    );
    assert_eq!(
        String::from_utf8(o.send).expect("text"),
        "Action: QueueStatus\r\nActionID: fw-status\r\n\r\n"
    );
    // No keepalive before the snapshot is asked for; one after.
    let mut o = Out::default();
    s.ping(&mut o);
    assert!(String::from_utf8(o.send).expect("text").starts_with("Action: Ping\r\n"));
    let o = feed(
        &mut s,
        &msg(&[
            ("Response", "Success"),
            ("ActionID", "fw-ping"),
            ("Ping", "Pong"),
            ("Timestamp", "1764662400.1"),
        ]),
        T0,
    );
    assert_eq!(o.pongs, 1);
}

#[test]
fn a_refused_login_or_a_foreign_banner_drops_the_link() {
    let mut s = session();
    let mut out = Out::default();
    s.connected(T0, &mut out);
    feed(&mut s, b"Asterisk Call Manager/9.0.0\r\n", T0);
    let bad = msg(&[("Response", "Error"), ("ActionID", "fw-login"), ("Message", "Authentication failed")]);
    let e = s.read(&bad, T0, &mut out).expect_err("refused");
    assert!(matches!(e, LinkError::LoginRefused(ref m) if m == "Authentication failed"), "{e}");

    let mut s = session();
    s.connected(T0, &mut out);
    assert!(matches!(s.read(b"SSH-2.0-OpenSSH_9.6\r\n", T0, &mut out), Err(LinkError::Protocol(_))));
}

#[test]
fn the_snapshot_is_the_floor_as_it_stands_waiting_calls_keep_their_wait() {
    let mut s = session();
    let mut out = Out::default();
    s.connected(T0, &mut out);
    feed(&mut s, b"Asterisk Call Manager/9.0.0\r\n", T0);
    feed(&mut s, &msg(&[("Response", "Success"), ("ActionID", "fw-login")]), T0);
    let mut b = msg(&[
        ("Response", "Success"),
        ("ActionID", "fw-status"),
        ("EventList", "start"),
        ("Message", "Queue status will follow"),
    ]);
    b.extend(msg(&[
        ("Event", "QueueParams"),
        ("ActionID", "fw-status"),
        ("Queue", "billing"),
        ("Max", "0"),
        ("Strategy", "ringall"),
        ("Calls", "1"),
        ("Holdtime", "12"),
        ("TalkTime", "80"),
        ("Completed", "10"),
        ("Abandoned", "2"),
        ("ServiceLevel", "20"),
        ("ServicelevelPerf", "80.0"),
        ("ServicelevelPerf2", "75.0"),
        ("Weight", "0"),
    ]));
    b.extend(member("billing", "PJSIP/1001", "1", "0", ""));
    b.extend(member("billing", "PJSIP/1002", "1", "1", "Lunch"));
    b.extend(member("billing", "PJSIP/1003", "5", "0", ""));
    b.extend(entry("billing", "1764662370.42", "30"));
    b.extend(msg(&[
        ("Event", "QueueStatusComplete"),
        ("ActionID", "fw-status"),
        ("EventList", "Complete"),
        ("ListItems", "5"),
    ]));
    let o = feed(&mut s, &b, T0);
    assert!(o.resynced && o.rejected.is_empty(), "{:?}", o.rejected);
    let login = |a: &str, state, reason: Option<&str>| EventKind::AgentLogin {
        agent: a.into(),
        name: Some("Li Na".into()),
        team: None,
        state,
        reason: reason.map(Into::into),
    };
    assert_eq!(
        kinds(&o.events),
        vec![
            (0, login("PJSIP/1001", AgentState::Ready, None)),
            (0, login("PJSIP/1002", AgentState::NotReady, Some("lunch"))),
            (0, login("PJSIP/1003", AgentState::NotReady, Some("unavailable"))),
            (
                -30_000,
                EventKind::CallOffered {
                    call: "1764662370.42@billing".into(),
                    queue: "billing".into(),
                    caller: Some("+8613800000001".into())
                }
            ),
        ]
    );
}

#[test]
fn a_call_from_join_to_wrap_up() {
    let mut s = session();
    live(&mut s);
    feed(&mut s, &member_added("billing", "PJSIP/1001"), T0);
    let call = "1764662400.7@billing";
    let mut b = ev("QueueCallerJoin", "billing", "1764662400.7", &[("Position", "1"), ("Count", "1")]);
    b.extend(ev(
        "AgentCalled",
        "billing",
        "1764662400.7",
        &[("DestChannel", "PJSIP/1001-0002"), ("MemberName", "Li Na"), ("Interface", "PJSIP/1001")],
    ));
    let o = feed(&mut s, &b, T0);
    assert_eq!(
        kinds(&o.events),
        vec![
            (
                0,
                EventKind::CallOffered {
                    call: call.into(),
                    queue: "billing".into(),
                    caller: Some("+8613800000001".into())
                }
            ),
            (0, st("PJSIP/1001", AgentState::Ringing, None, Some("billing"), Some(call))),
        ]
    );
    let mut b = ev("QueueCallerLeave", "billing", "1764662400.7", &[("Count", "0"), ("Position", "1")]);
    b.extend(ev(
        "AgentConnect",
        "billing",
        "1764662400.7",
        &[("MemberName", "Li Na"), ("Interface", "PJSIP/1001"), ("HoldTime", "8"), ("RingTime", "3")],
    ));
    let o = feed(&mut s, &b, T0 + 8_000);
    assert_eq!(
        kinds(&o.events),
        vec![
            (
                8_000,
                EventKind::CallAnswered {
                    call: call.into(),
                    agent: "PJSIP/1001".into(),
                    queue: Some("billing".into())
                }
            ),
            (8_000, st("PJSIP/1001", AgentState::Talking, None, Some("billing"), Some(call))),
        ]
    );
    let o = feed(
        &mut s,
        &ev(
            "AgentComplete",
            "billing",
            "1764662400.7",
            &[
                ("MemberName", "Li Na"),
                ("Interface", "PJSIP/1001"),
                ("HoldTime", "8"),
                ("TalkTime", "120"),
                ("Reason", "caller"),
            ],
        ),
        T0 + 128_000,
    );
    // No ACW event in AMI: `wrapup_secs` (30) of it is synthesised.
    assert_eq!(
        kinds(&o.events),
        vec![
            (128_000, EventKind::CallEnded { call: call.into(), agent: Some("PJSIP/1001".into()) }),
            (128_000, st("PJSIP/1001", AgentState::Acw, None, Some("billing"), Some(call))),
        ]
    );
    // The device going idle during wrap-up changes nothing shown.
    let o = feed(&mut s, &status_event("billing", "PJSIP/1001", "1", "0"), T0 + 129_000);
    assert!(o.events.is_empty(), "{:?}", o.events);
    assert_eq!(s.next_deadline(), Some(T0 + 158_000));
    let mut o = Out::default();
    s.tick(T0 + 158_400, &mut o);
    assert_eq!(kinds(&o.events), vec![(158_000, st("PJSIP/1001", AgentState::Ready, None, None, None))]);
    assert_eq!(s.next_deadline(), None);
}

fn member_added(queue: &str, iface: &str) -> Vec<u8> {
    msg(&[
        ("Event", "QueueMemberAdded"),
        ("Queue", queue),
        ("MemberName", "Li Na"),
        ("Interface", iface),
        ("StateInterface", iface),
        ("Membership", "dynamic"),
        ("Status", "1"),
        ("Paused", "0"),
        ("PausedReason", ""),
        ("Wrapuptime", "0"),
    ])
}

fn status_event(queue: &str, iface: &str, status: &str, paused: &str) -> Vec<u8> {
    msg(&[
        ("Event", "QueueMemberStatus"),
        ("Queue", queue),
        ("MemberName", "Li Na"),
        ("Interface", iface),
        ("Status", status),
        ("Paused", paused),
        ("InCall", "0"),
    ])
}

#[test]
fn ring_times_are_milliseconds_on_no_answer_and_seconds_on_connect() {
    let mut s = session();
    live(&mut s);
    feed(&mut s, &member_added("billing", "PJSIP/1001"), T0);
    feed(&mut s, &member_added("billing", "PJSIP/1002"), T0);
    // The `AgentCalled`s were missed; the ringing is put back from `RingTime`.
    let o = feed(
        &mut s,
        &ev(
            "AgentRingNoAnswer",
            "billing",
            "1.1",
            &[("MemberName", "Li Na"), ("Interface", "PJSIP/1001"), ("RingTime", "15000")],
        ),
        T0 + 20_000,
    );
    assert_eq!(
        kinds(&o.events),
        vec![
            (5_000, st("PJSIP/1001", AgentState::Ringing, None, Some("billing"), Some("1.1@billing"))),
            (20_000, st("PJSIP/1001", AgentState::Ready, None, None, None)),
        ]
    );
    let o = feed(
        &mut s,
        &ev(
            "AgentConnect",
            "billing",
            "1.1",
            &[("MemberName", "Li Na"), ("Interface", "PJSIP/1002"), ("HoldTime", "24"), ("RingTime", "4")],
        ),
        T0 + 24_000,
    );
    assert_eq!(
        kinds(&o.events),
        vec![
            // The join was missed too: `HoldTime` (s) puts the offer back.
            (
                0,
                EventKind::CallOffered {
                    call: "1.1@billing".into(),
                    queue: "billing".into(),
                    caller: Some("+8613800000001".into())
                }
            ),
            (20_000, st("PJSIP/1002", AgentState::Ringing, None, Some("billing"), Some("1.1@billing"))),
            (
                24_000,
                EventKind::CallAnswered {
                    call: "1.1@billing".into(),
                    agent: "PJSIP/1002".into(),
                    queue: Some("billing".into())
                }
            ),
            (24_000, st("PJSIP/1002", AgentState::Talking, None, Some("billing"), Some("1.1@billing"))),
        ]
    );
}

#[test]
fn an_abandon_is_counted_once_and_stops_the_ringing() {
    let mut s = session();
    live(&mut s);
    feed(&mut s, &member_added("billing", "PJSIP/1001"), T0);
    let mut b = ev("QueueCallerJoin", "billing", "9.9", &[]);
    b.extend(ev("AgentCalled", "billing", "9.9", &[("MemberName", "Li Na"), ("Interface", "PJSIP/1001")]));
    feed(&mut s, &b, T0);
    // A timeout or leave-when-empty is reported with this same event.
    let ab = ev(
        "QueueCallerAbandon",
        "billing",
        "9.9",
        &[("Position", "1"), ("OriginalPosition", "1"), ("HoldTime", "12")],
    );
    let o = feed(&mut s, &ab, T0 + 12_000);
    assert_eq!(
        kinds(&o.events),
        vec![
            (12_000, EventKind::CallAbandoned { call: "9.9@billing".into(), queue: Some("billing".into()) }),
            (12_000, st("PJSIP/1001", AgentState::Ready, None, None, None)),
        ]
    );
    let o = feed(&mut s, &ab, T0 + 12_500);
    assert!(o.events.is_empty(), "a repeat counts nothing: {:?}", o.events);
    // The same caller overflowing to another queue is that queue's call.
    let o = feed(&mut s, &ev("QueueCallerJoin", "overflow", "9.9", &[]), T0 + 13_000);
    assert_eq!(
        kinds(&o.events),
        vec![(
            13_000,
            EventKind::CallOffered {
                call: "9.9@overflow".into(),
                queue: "overflow".into(),
                caller: Some("+8613800000001".into())
            }
        )]
    );
}

#[test]
fn pauses_are_per_queue_and_removal_from_the_last_queue_logs_out() {
    let mut s = session();
    live(&mut s);
    feed(&mut s, &member_added("billing", "PJSIP/1001"), T0);
    feed(&mut s, &member_added("sales", "PJSIP/1001"), T0);
    let pause = |q: &str, p: &str, r: &str| {
        msg(&[
            ("Event", "QueueMemberPause"),
            ("Queue", q),
            ("MemberName", "Li Na"),
            ("Interface", "PJSIP/1001"),
            ("Paused", p),
            ("PausedReason", r),
        ])
    };
    let o = feed(&mut s, &pause("billing", "1", "Training"), T0 + 1_000);
    assert!(o.events.is_empty(), "still available in sales: {:?}", o.events);
    let o = feed(&mut s, &pause("sales", "1", "Training"), T0 + 2_000);
    assert_eq!(
        kinds(&o.events),
        vec![(2_000, st("PJSIP/1001", AgentState::NotReady, Some("training"), None, None))]
    );
    let o = feed(&mut s, &pause("sales", "0", ""), T0 + 3_000);
    assert_eq!(kinds(&o.events), vec![(3_000, st("PJSIP/1001", AgentState::Ready, None, None, None))]);
    let removed = |q: &str| {
        msg(&[
            ("Event", "QueueMemberRemoved"),
            ("Queue", q),
            ("MemberName", "Li Na"),
            ("Interface", "PJSIP/1001"),
        ])
    };
    let o = feed(&mut s, &removed("billing"), T0 + 4_000);
    assert!(o.events.is_empty(), "{:?}", o.events);
    let o = feed(&mut s, &removed("sales"), T0 + 5_000);
    assert_eq!(
        kinds(&o.events),
        vec![(5_000, EventKind::AgentLogout { agent: "PJSIP/1001".into(), reason: None })]
    );
}

#[test]
fn a_resync_offers_only_new_calls_and_settles_what_left_meanwhile() {
    let mut s = session();
    live(&mut s);
    feed(&mut s, &member_added("billing", "PJSIP/1001"), T0);
    feed(&mut s, &member_added("billing", "PJSIP/1002"), T0);
    let mut b = ev("QueueCallerJoin", "billing", "1.1", &[]);
    b.extend(ev("QueueCallerJoin", "billing", "2.2", &[]));
    feed(&mut s, &b, T0);
    assert_eq!(s.floor().waiting(), 2);

    // The link drops and comes back 20 s later: 1.1 still waits, 2.2 has gone,
    // 3.3 joined meanwhile, and PJSIP/1002 was removed.
    let mut out = Out::default();
    s.connected(T0 + 20_000, &mut out);
    feed(&mut s, b"Asterisk Call Manager/9.0.0\r\n", T0 + 20_000);
    feed(&mut s, &msg(&[("Response", "Success"), ("ActionID", "fw-login")]), T0 + 20_000);
    let mut b = member("billing", "PJSIP/1001", "1", "0", "");
    b.extend(entry("billing", "1.1", "20"));
    b.extend(entry("billing", "3.3", "5"));
    b.extend(msg(&[
        ("Event", "QueueStatusComplete"),
        ("ActionID", "fw-status"),
        ("EventList", "Complete"),
        ("ListItems", "3"),
    ]));
    let o = feed(&mut s, &b, T0 + 20_000);
    assert!(o.resynced);
    assert_eq!(
        kinds(&o.events),
        vec![
            (
                15_000,
                EventKind::CallOffered {
                    call: "3.3@billing".into(),
                    queue: "billing".into(),
                    caller: Some("+8613800000001".into())
                }
            ),
            (20_000, EventKind::CallAbandoned { call: "2.2@billing".into(), queue: Some("billing".into()) }),
            (20_000, EventKind::AgentLogout { agent: "PJSIP/1002".into(), reason: None }),
        ]
    );
    assert_eq!(s.floor().waiting(), 2);
}

#[test]
fn what_cannot_be_used_is_a_counted_rejection() {
    let mut s = session();
    live(&mut s);
    let mut b = msg(&[("Event", "QueueCallerJoin"), ("Uniqueid", "1.1")]);
    b.extend(msg(&[
        ("Event", "QueueMemberStatus"),
        ("Queue", "q"),
        ("Interface", "PJSIP/1"),
        ("Status", "42"),
    ]));
    b.extend(msg(&[
        ("Event", "AgentCalled"),
        ("Queue", "q"),
        ("Uniqueid", "has space"),
        ("Interface", "PJSIP/1"),
    ]));
    b.extend(msg(&[
        ("Event", "QueueCallerJoin"),
        ("Timestamp", "soon"),
        ("Queue", "q"),
        ("Uniqueid", "1.2"),
    ]));
    b.extend(b"garbage without a colon\r\n\r\n".to_vec());
    // Events floorwatch does not need are passed over, not rejected.
    b.extend(msg(&[("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted")]));
    let o = feed(&mut s, &b, T0);
    let reasons: Vec<RejectReason> = o.rejected.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            RejectReason::MissingField,
            RejectReason::UnknownState,
            RejectReason::InvalidField,
            RejectReason::BadTimestamp,
            RejectReason::InvalidField
        ]
    );
    assert!(o.events.is_empty());
}

#[test]
fn timestamps_from_timestampevents_are_used() {
    let mut s = session();
    live(&mut s);
    let o =
        feed(&mut s, &ev("QueueCallerJoin", "q", "5.5", &[("Timestamp", "1764662405.250000")]), T0 + 9_000);
    assert_eq!(o.events[0].ts, T0 + 5_250);
}

#[test]
fn an_endless_message_is_capped_and_drops_the_link() {
    let mut s = session();
    live(&mut s);
    let mut out = Out::default();
    let long = vec![b'x'; MAX_MESSAGE_BYTES + 10];
    let e = s.read(&long, T0, &mut out).expect_err("too large");
    assert!(matches!(e, LinkError::TooLarge { .. }));
    assert_eq!(out.rejected[0].reason, RejectReason::FrameTooLarge);
}

#[test]
fn messages_split_anywhere_decode_the_same() {
    let mut whole = session();
    live(&mut whole);
    let mut b = member_added("billing", "PJSIP/1001");
    b.extend(ev("QueueCallerJoin", "billing", "1.1", &[]));
    let expected = feed(&mut whole, &b, T0).events;
    for cut in 1..b.len() {
        let mut s = session();
        live(&mut s);
        let mut got = feed(&mut s, &b[..cut], T0).events;
        got.extend(feed(&mut s, &b[cut..], T0).events);
        assert_eq!(got, expected, "cut at {cut}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic the session, before or after login.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), logged_in in any::<bool>()) {
        let mut s = session();
        let mut out = Out::default();
        if logged_in {
            live(&mut s);
        } else {
            s.connected(T0, &mut out);
        }
        let _ = s.read(&bytes, T0, &mut out);
        s.tick(T0 + 3_600_000, &mut out);
    }

    /// Field soup shaped like AMI events never panics the decoder either.
    #[test]
    fn arbitrary_events_never_panic(
        fields in proptest::collection::vec((
            prop::sample::select(vec!["Event", "Queue", "Uniqueid", "Interface", "Location", "Status", "Paused", "PausedReason", "HoldTime", "RingTime", "Wait", "Timestamp", "InCall", "Wrapuptime"]),
            "[ -~]{0,12}",
        ), 0..12),
        name in prop::sample::select(vec!["QueueCallerJoin", "QueueCallerAbandon", "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "QueueMemberPause", "QueueMemberStatus", "QueueMemberAdded", "QueueMemberRemoved", "QueueMember", "QueueEntry"]),
    ) {
        let mut s = session();
        live(&mut s);
        let mut f: Vec<(&str, &str)> = vec![("Event", name)];
        f.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        let mut out = Out::default();
        let _ = s.read(&msg(&f), T0, &mut out);
        s.tick(i64::MAX / 4, &mut out);
    }
}

#[test]
fn an_event_stamped_before_the_member_was_shown_still_moves_it() {
    // Asterisk's clock is behind ours: the member is shown at our time (T0),
    // the connect that followed carries Asterisk's `Timestamp` (before T0).
    let mut s = session();
    live(&mut s);
    let added = msg(&[
        ("Event", "QueueMemberAdded"),
        ("Queue", "billing"),
        ("MemberName", "Li Na"),
        ("Interface", "PJSIP/1001"),
        ("Status", "1"),
        ("Paused", "0"),
    ]);
    let o = feed(&mut s, &added, T0);
    assert_eq!(o.events.len(), 1, "{:?}", o.events);
    let stamp = format!("{:.6}", (T0 - 500) as f64 / 1000.0);
    let connect = ev(
        "AgentConnect",
        "billing",
        "1.1",
        &[
            ("MemberName", "Li Na"),
            ("Interface", "PJSIP/1001"),
            ("HoldTime", "10"),
            ("RingTime", "0"),
            ("Timestamp", &stamp),
        ],
    );
    let o = feed(&mut s, &connect, T0 + 100);
    let evs = kinds(&o.events);
    // The call keeps Asterisk's times; the member's change is no earlier than its login.
    assert!(matches!(evs[1], (-500, EventKind::CallAnswered { .. })), "{evs:?}");
    assert_eq!(
        evs[2],
        (0, st("PJSIP/1001", AgentState::Talking, None, Some("billing"), Some("1.1@billing")))
    );
}
