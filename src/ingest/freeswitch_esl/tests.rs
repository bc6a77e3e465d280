//! The ESL session from bytes, as FreeSWITCH 1.10 sends them (headers and
//! listings from mod_callcenter.c and mod_event_socket).

use proptest::prelude::*;

use super::*;
use crate::event::{AgentState, Event, EventKind};

const T0: Ts = 1_764_662_400_000; // 2025-12-02T08:00:00Z
const T0_S: i64 = 1_764_662_400;

fn session() -> EslSession {
    EslSession::new("fs".into(), "ClueCon".into(), 10)
}

fn feed(s: &mut EslSession, bytes: &[u8], now: Ts) -> Out {
    let mut out = Out::default();
    s.read(bytes, now, &mut out).expect("link stays up");
    out
}

fn reply(text: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: {text}\n\n").into_bytes()
}

fn api(body: &str) -> Vec<u8> {
    format!("Content-Type: api/response\nContent-Length: {}\n\n{body}", body.len()).into_bytes()
}

/// A `text/event-plain` callcenter event; values URL-encoded as FreeSWITCH does.
fn cc(at_s: i64, fields: &[(&str, &str)]) -> Vec<u8> {
    let enc =
        |v: &str| percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut body = format!(
        "Event-Name: CUSTOM\nCore-UUID: 5e0f5a1c-0000\nEvent-Date-Timestamp: {}\nEvent-Subclass: {}\n",
        at_s * 1_000_000 + 250_000,
        enc("callcenter::info")
    );
    for (k, v) in fields {
        body.push_str(&format!("{k}: {}\n", enc(v)));
    }
    body.push('\n');
    format!("Content-Length: {}\nContent-Type: text/event-plain\n\n{body}", body.len()).into_bytes()
}

const AGENT_COLS: &str = "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count";
const MEMBER_COLS: &str = "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score";

fn agent_row(name: &str, status: &str, state: &str, wrap: u32, last_end: i64) -> String {
    format!(
        "{name}|single_box||callback|user/{name}|{status}|{state}|3|{wrap}|10|10|10|0|{last_end}|0|0|0|5|300|0|0"
    )
}

fn member_row(uuid: &str, joined: i64, bridge: i64, agent: &str, state: &str) -> String {
    format!(
        "support@default|single_box|{uuid}|sess-{uuid}|+8613800000002|Caller|{joined}|{joined}|0|{bridge}|0|0|0|{agent}|single_box|{state}|10"
    )
}

/// Authenticates, subscribes, and answers the snapshot with these listings.
fn live_with(s: &mut EslSession, agents: &str, members: &str, now: Ts) -> Out {
    let mut out = Out::default();
    s.connected(now, &mut out);
    let o = feed(s, b"Content-Type: auth/request\n\n", now);
    assert_eq!(o.send, b"auth ClueCon\n\n");
    let o = feed(s, &reply("+OK accepted"), now);
    assert_eq!(
        o.send, b"event plain HEARTBEAT CUSTOM callcenter::info\n\n",
        "CUSTOM last: each word after it is a subclass"
    );
    let o = feed(s, &reply("+OK event listener enabled plain"), now);
    assert_eq!(o.send, b"api callcenter_config queue list members\n\napi callcenter_config agent list\n\n");
    let mut b = api(members);
    b.extend(api(agents));
    let o = feed(s, &b, now);
    assert!(o.resynced);
    o
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

fn login(agent: &str, state: AgentState, reason: Option<&str>) -> EventKind {
    EventKind::AgentLogin {
        agent: agent.into(),
        name: None,
        team: None,
        state,
        reason: reason.map(Into::into),
    }
}

#[test]
fn the_snapshot_shows_agents_calls_waiting_with_their_wait_and_those_answered() {
    let mut s = session();
    let agents = [
        AGENT_COLS.to_owned(),
        agent_row("1000@default", "Available", "Waiting", 0, 0),
        agent_row("1001@default", "On Break", "Waiting", 0, 0),
        agent_row("1002@default", "Available", "In a queue call", 0, 0),
        // Its last call ended 5 s ago and its wrap-up is 20 s: 15 s of ACW left.
        agent_row("1003@default", "Available", "Waiting", 20, T0_S - 5),
        agent_row("1004@default", "Logged Out", "Waiting", 0, 0),
        "+OK".to_owned(),
    ]
    .join("\n");
    let members = [
        MEMBER_COLS.to_owned(),
        member_row("m-1", T0_S - 40, 0, "", "Waiting"),
        member_row("m-2", T0_S - 90, T0_S - 60, "1002@default", "Answered"),
        "+OK".to_owned(),
    ]
    .join("\n");
    let o = live_with(&mut s, &agents, &members, T0);
    assert!(o.rejected.is_empty(), "{:?}", o.rejected);
    let offered = |c: &str| EventKind::CallOffered {
        call: c.into(),
        queue: "support@default".into(),
        caller: Some("+8613800000002".into()),
    };
    assert_eq!(
        kinds(&o.events),
        vec![
            (-40_000, offered("m-1")),
            (-90_000, offered("m-2")),
            (
                -60_000,
                EventKind::CallAnswered {
                    call: "m-2".into(),
                    agent: "1002@default".into(),
                    queue: Some("support@default".into())
                }
            ),
            (
                -60_000,
                EventKind::AgentLogin {
                    agent: "1002@default".into(),
                    name: None,
                    team: None,
                    state: AgentState::Talking,
                    reason: None
                }
            ),
            (0, login("1000@default", AgentState::Ready, None)),
            (0, login("1001@default", AgentState::NotReady, Some("break"))),
            (0, login("1003@default", AgentState::Acw, None)),
        ]
    );
    assert_eq!(s.next_deadline(), Some(T0 + 15_000));
}

#[test]
fn a_call_through_mod_callcenter_with_wrap_up_from_the_agent() {
    let mut s = session();
    let agents =
        [AGENT_COLS.to_owned(), agent_row("1000@default", "Available", "Waiting", 25, 0), "+OK".to_owned()]
            .join("\n");
    live_with(&mut s, &agents, "+OK\n", T0);
    let q = ("CC-Queue", "support@default");
    let mut b = cc(
        T0_S + 1,
        &[
            q,
            ("CC-Action", "member-queue-start"),
            ("CC-Member-UUID", "m-7"),
            ("CC-Member-Session-UUID", "s-7"),
            ("CC-Member-CID-Name", "Zhang San"),
            ("CC-Member-CID-Number", "+8613800000003"),
        ],
    );
    b.extend(cc(
        T0_S + 3,
        &[
            q,
            ("CC-Action", "agent-offering"),
            ("CC-Agent", "1000@default"),
            ("CC-Agent-Type", "callback"),
            ("CC-Member-UUID", "m-7"),
        ],
    ));
    b.extend(cc(
        T0_S + 3,
        &[("CC-Action", "agent-state-change"), ("CC-Agent", "1000@default"), ("CC-Agent-State", "Receiving")],
    ));
    b.extend(cc(
        T0_S + 6,
        &[
            q,
            ("CC-Action", "bridge-agent-start"),
            ("CC-Agent", "1000@default"),
            ("CC-Member-UUID", "m-7"),
            ("CC-Agent-Called-Time", &(T0_S + 3).to_string()),
            ("CC-Agent-Answered-Time", &(T0_S + 6).to_string()),
            ("CC-Member-Joined-Time", &(T0_S + 1).to_string()),
        ],
    ));
    b.extend(cc(
        T0_S + 6,
        &[
            ("CC-Action", "agent-state-change"),
            ("CC-Agent", "1000@default"),
            ("CC-Agent-State", "In a queue call"),
        ],
    ));
    b.extend(cc(
        T0_S + 66,
        &[
            q,
            ("CC-Action", "bridge-agent-end"),
            ("CC-Hangup-Cause", "NORMAL_CLEARING"),
            ("CC-Agent", "1000@default"),
            ("CC-Member-UUID", "m-7"),
            ("CC-Bridge-Terminated-Time", &(T0_S + 66).to_string()),
        ],
    ));
    // mod_callcenter sets the agent Waiting at once; it still wraps up.
    b.extend(cc(
        T0_S + 66,
        &[("CC-Action", "agent-state-change"), ("CC-Agent", "1000@default"), ("CC-Agent-State", "Waiting")],
    ));
    b.extend(cc(
        T0_S + 66,
        &[
            q,
            ("CC-Action", "member-queue-end"),
            ("CC-Cause", "Terminated"),
            ("CC-Member-UUID", "m-7"),
            ("CC-Agent", "1000@default"),
        ],
    ));
    let o = feed(&mut s, &b, T0 + 70_000);
    assert!(o.rejected.is_empty(), "{:?}", o.rejected);
    let call = Some("m-7");
    let queue = Some("support@default");
    // `Event-Date-Timestamp` is µs (…250000 µs past each second).
    assert_eq!(
        kinds(&o.events),
        vec![
            (
                1_250,
                EventKind::CallOffered {
                    call: "m-7".into(),
                    queue: "support@default".into(),
                    caller: Some("+8613800000003".into())
                }
            ),
            (3_250, st("1000@default", AgentState::Ringing, None, queue, call)),
            (
                6_250,
                EventKind::CallAnswered {
                    call: "m-7".into(),
                    agent: "1000@default".into(),
                    queue: queue.map(Into::into)
                }
            ),
            (6_250, st("1000@default", AgentState::Talking, None, queue, call)),
            (66_250, EventKind::CallEnded { call: "m-7".into(), agent: Some("1000@default".into()) }),
            (66_250, st("1000@default", AgentState::Acw, None, queue, call)),
        ]
    );
    let mut o = Out::default();
    s.tick(T0 + 92_000, &mut o);
    assert_eq!(kinds(&o.events), vec![(91_250, st("1000@default", AgentState::Ready, None, None, None))]);
}

#[test]
fn cancel_is_an_abandon_counted_once_whatever_its_reason() {
    let mut s = session();
    live_with(&mut s, "+OK\n", "+OK\n", T0);
    let q = ("CC-Queue", "support@default");
    let mut b = cc(T0_S, &[q, ("CC-Action", "member-queue-start"), ("CC-Member-UUID", "m-1")]);
    b.extend(cc(
        T0_S + 30,
        &[
            q,
            ("CC-Action", "member-queue-end"),
            ("CC-Cause", "Cancel"),
            ("CC-Cancel-Reason", "NONE"),
            ("CC-Member-UUID", "m-1"),
            ("CC-Member-Joined-Time", &T0_S.to_string()),
        ],
    ));
    b.extend(cc(
        T0_S + 31,
        &[
            q,
            ("CC-Action", "member-queue-end"),
            ("CC-Cause", "Cancel"),
            ("CC-Cancel-Reason", "NONE"),
            ("CC-Member-UUID", "m-1"),
        ],
    ));
    // A timeout whose start was missed: offered when it joined, then abandoned.
    b.extend(cc(
        T0_S + 60,
        &[
            q,
            ("CC-Action", "member-queue-end"),
            ("CC-Cause", "Cancel"),
            ("CC-Cancel-Reason", "TIMEOUT"),
            ("CC-Member-UUID", "m-2"),
            ("CC-Member-Joined-Time", &(T0_S + 10).to_string()),
        ],
    ));
    let o = feed(&mut s, &b, T0 + 60_000);
    let abandoned =
        |c: &str| EventKind::CallAbandoned { call: c.into(), queue: Some("support@default".into()) };
    let offered =
        |c: &str| EventKind::CallOffered { call: c.into(), queue: "support@default".into(), caller: None };
    assert_eq!(
        kinds(&o.events),
        vec![
            (250, offered("m-1")),
            (30_250, abandoned("m-1")),
            (10_000, offered("m-2")),
            (60_250, abandoned("m-2"))
        ]
    );
}

#[test]
fn statuses_map_to_states_and_log_out() {
    let mut s = session();
    live_with(&mut s, "+OK\n", "+OK\n", T0);
    let status = |v: &str| {
        cc(
            T0_S + 1,
            &[("CC-Action", "agent-status-change"), ("CC-Agent", "1000@default"), ("CC-Agent-Status", v)],
        )
    };
    let o = feed(&mut s, &status("Available (On Demand)"), T0);
    assert_eq!(kinds(&o.events), vec![(1_250, login("1000@default", AgentState::Ready, None))]);
    let o = feed(&mut s, &status("On Break"), T0);
    assert_eq!(
        kinds(&o.events),
        vec![(1_250, st("1000@default", AgentState::NotReady, Some("break"), None, None))]
    );
    let o = feed(&mut s, &status("Logged Out"), T0);
    assert_eq!(
        kinds(&o.events),
        vec![(1_250, EventKind::AgentLogout { agent: "1000@default".into(), reason: None })]
    );
    let o = feed(&mut s, &status("Gone Fishing"), T0);
    assert_eq!(o.rejected[0].reason, RejectReason::UnknownState);
}

#[test]
fn a_resync_offers_only_new_calls_and_settles_what_left() {
    let mut s = session();
    live_with(&mut s, "+OK\n", "+OK\n", T0);
    let q = ("CC-Queue", "support@default");
    let mut b = cc(T0_S, &[q, ("CC-Action", "member-queue-start"), ("CC-Member-UUID", "m-1")]);
    b.extend(cc(T0_S, &[q, ("CC-Action", "member-queue-start"), ("CC-Member-UUID", "m-2")]));
    feed(&mut s, &b, T0);
    assert_eq!(s.floor().waiting(), 2);
    // Back after 30 s: m-1 still waits, m-2 left, m-3 came.
    let members = [
        MEMBER_COLS.to_owned(),
        member_row("m-1", T0_S, 0, "", "Waiting"),
        member_row("m-3", T0_S + 20, 0, "", "Waiting"),
        "+OK".to_owned(),
    ]
    .join("\n");
    let o = live_with(&mut s, "+OK\n", &members, T0 + 30_000);
    assert_eq!(
        kinds(&o.events),
        vec![
            (
                20_000,
                EventKind::CallOffered {
                    call: "m-3".into(),
                    queue: "support@default".into(),
                    caller: Some("+8613800000002".into())
                }
            ),
            (30_000, EventKind::CallAbandoned { call: "m-2".into(), queue: None }),
        ]
    );
}

#[test]
fn keepalives_are_answered_in_order_and_each_is_a_pong() {
    let mut s = session();
    live_with(&mut s, "+OK\n", "+OK\n", T0);
    let mut o = Out::default();
    s.ping(&mut o);
    assert_eq!(o.send, b"api strepoch\n\n");
    let o = feed(&mut s, &api("1764662400\n"), T0);
    assert_eq!(o.pongs, 1);
}

#[test]
fn refusals_and_oversized_frames_drop_the_link() {
    let mut s = session();
    let mut out = Out::default();
    s.connected(T0, &mut out);
    feed(&mut s, b"Content-Type: auth/request\n\n", T0);
    assert!(matches!(s.read(&reply("-ERR invalid"), T0, &mut out), Err(LinkError::LoginRefused(_))));

    let mut s = session();
    live_with(&mut s, "+OK\n", "+OK\n", T0);
    let mut out = Out::default();
    let huge = format!("Content-Type: api/response\nContent-Length: {}\n\n", MAX_BODY_BYTES + 1);
    assert!(matches!(s.read(huge.as_bytes(), T0, &mut out), Err(LinkError::TooLarge { .. })));
    assert_eq!(out.rejected[0].reason, RejectReason::FrameTooLarge);

    let mut s = session();
    live_with(&mut s, "+OK\n", "+OK\n", T0);
    let mut out = Out::default();
    assert!(matches!(
        s.read(&vec![b'a'; MAX_HEADER_BYTES + 1], T0, &mut out),
        Err(LinkError::TooLarge { .. })
    ));
    let mut out = Out::default();
    let mut s = session();
    assert!(s.read(b"Content-Type: text/disconnect-notice\n\n", T0, &mut out).is_err());
}

#[test]
fn bad_fields_are_counted_rejections() {
    let mut s = session();
    live_with(&mut s, "+OK\n", "+OK\n", T0);
    let mut b = cc(T0_S, &[("CC-Action", "member-queue-start"), ("CC-Member-UUID", "m-1")]);
    b.extend(cc(
        T0_S,
        &[
            ("CC-Queue", "q"),
            ("CC-Action", "member-queue-end"),
            ("CC-Member-UUID", "m-1"),
            ("CC-Cause", "Cancel"),
            ("CC-Member-Joined-Time", "yesterday"),
        ],
    ));
    b.extend(cc(T0_S, &[("CC-Action", "agent-status-change"), ("CC-Agent", "has space")]));
    let o = feed(&mut s, &b, T0);
    let reasons: Vec<RejectReason> = o.rejected.iter().map(|r| r.reason).collect();
    assert_eq!(reasons, [RejectReason::MissingField, RejectReason::BadTimestamp, RejectReason::InvalidField]);
}

#[test]
fn frames_split_anywhere_decode_the_same() {
    let q = ("CC-Queue", "support@default");
    let mut b = cc(T0_S, &[q, ("CC-Action", "member-queue-start"), ("CC-Member-UUID", "m-1")]);
    b.extend(cc(
        T0_S,
        &[
            ("CC-Action", "agent-status-change"),
            ("CC-Agent", "1000@default"),
            ("CC-Agent-Status", "Available"),
        ],
    ));
    let mut whole = session();
    live_with(&mut whole, "+OK\n", "+OK\n", T0);
    let expected = feed(&mut whole, &b, T0).events;
    assert_eq!(expected.len(), 2);
    for cut in 1..b.len() {
        let mut s = session();
        live_with(&mut s, "+OK\n", "+OK\n", T0);
        let mut got = feed(&mut s, &b[..cut], T0).events;
        got.extend(feed(&mut s, &b[cut..], T0).events);
        assert_eq!(got, expected, "cut at {cut}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), logged_in in any::<bool>()) {
        let mut s = session();
        let mut out = Out::default();
        if logged_in {
            live_with(&mut s, "+OK\n", "+OK\n", T0);
        } else {
            s.connected(T0, &mut out);
        }
        let _ = s.read(&bytes, T0, &mut out);
        s.tick(T0 + 3_600_000, &mut out);
    }

    #[test]
    fn arbitrary_events_and_listings_never_panic(
        fields in proptest::collection::vec((
            prop::sample::select(vec!["CC-Queue", "CC-Agent", "CC-Member-UUID", "CC-Cause", "CC-Agent-Status", "CC-Agent-State", "CC-Member-Joined-Time", "Event-Date-Timestamp", "CC-Member-CID-Number"]),
            "[ -~]{0,14}",
        ), 0..10),
        action in prop::sample::select(vec!["member-queue-start", "member-queue-resume", "agent-offering", "bridge-agent-start", "bridge-agent-end", "bridge-agent-fail", "member-queue-end", "agent-status-change", "agent-state-change"]),
        listing in "[a-z_|\n+OK0-9 -]{0,200}",
    ) {
        let mut s = session();
        let members = format!("{MEMBER_COLS}\n{listing}");
        live_with(&mut s, &format!("{AGENT_COLS}\n{listing}"), &members, T0);
        let mut f: Vec<(&str, &str)> = vec![("CC-Action", action)];
        f.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        let mut out = Out::default();
        let _ = s.read(&cc(T0_S, &f), T0, &mut out);
        s.tick(i64::MAX / 4, &mut out);
    }
}

#[test]
fn an_event_stamped_before_our_snapshot_still_moves_the_agent() {
    // FreeSWITCH's clock is behind ours: the snapshot is stamped with our time
    // (T0), the bridge that followed it with FreeSWITCH's (before T0). The
    // agent's change must not be older than its login, or the floor drops it.
    let mut s = session();
    let agents =
        [AGENT_COLS.to_owned(), agent_row("1000@default", "Available", "Waiting", 0, 0), "+OK".to_owned()]
            .join("\n");
    let o = live_with(&mut s, &agents, "+OK\n", T0);
    assert_eq!(kinds(&o.events), vec![(0, login("1000@default", AgentState::Ready, None))]);
    let b = cc(
        T0_S - 1,
        &[
            ("CC-Queue", "support@default"),
            ("CC-Action", "bridge-agent-start"),
            ("CC-Agent", "1000@default"),
            ("CC-Member-UUID", "m-1"),
            ("CC-Member-Joined-Time", &(T0_S - 20).to_string()),
        ],
    );
    let o = feed(&mut s, &b, T0 + 100);
    let evs = kinds(&o.events);
    assert_eq!(evs.len(), 3, "{evs:?}");
    // The call's own times are kept (it was answered at 750 ms before T0) …
    assert!(matches!(evs[1], (-750, EventKind::CallAnswered { .. })), "{evs:?}");
    // … the agent's change is told no earlier than its login.
    assert_eq!(
        evs[2],
        (0, st("1000@default", AgentState::Talking, None, Some("support@default"), Some("m-1")))
    );
}
