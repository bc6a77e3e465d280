use base64::Engine as _;
use proptest::prelude::*;

use crate::event::{AgentState, EventKind, Id, parse_ts};
use crate::ingest::RejectReason;
use crate::ingest::vendor::Bench;
use crate::ingest::vendor_config::Format;

const STATE_CHANGE: &str = include_str!("../../../tests/fixtures/vendors/connect-agent-state-change.json");
const HEART_BEAT: &str = include_str!("../../../tests/fixtures/vendors/connect-agent-heartbeat.json");
const QUEUED: &str = include_str!("../../../tests/fixtures/vendors/connect-contact-queued.json");
const ABANDON: &str =
    include_str!("../../../tests/fixtures/vendors/connect-contact-disconnected-abandon.json");

fn id(s: &str) -> Id {
    Id::from(s)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn ts(s: &str) -> i64 {
    parse_ts(s).unwrap_or_default()
}

fn bench() -> Bench {
    Bench::new(Format::AmazonConnect)
}

/// An agent event stream record with a status and contacts.
fn record(event_id: &str, kind: &str, status: &str, contacts: &str) -> String {
    format!(
        r#"{{"AgentARN":"arn:aws:connect:eu-west-2:1:instance/i-1/agent/agent-b2","EventId":"{event_id}",
        "EventTimestamp":"2026-11-24T08:00:00.000Z","EventType":"{kind}",
        "CurrentAgentSnapshot":{{"AgentStatus":{{"Name":"{status}"}},
        "Configuration":{{"FirstName":"Li","LastName":"Wei","Username":"lwei"}},"Contacts":[{contacts}]}}}}"#
    )
}

#[test]
fn the_documented_state_change_is_an_agent_talking_on_its_contact() {
    let evs = bench().feed(STATE_CHANGE.as_bytes());
    assert!(evs.1.is_empty(), "{:?}", evs.1);
    assert_eq!(evs.0.len(), 1);
    let e = &evs.0[0];
    assert_eq!(e.ts, ts("2019-05-25T18:55:21.011Z"));
    assert_eq!(e.source, "amazon-connect");
    assert_eq!(
        e.kind,
        EventKind::AgentState {
            agent: id("agent-a1"),
            state: AgentState::Talking,
            reason: None,
            queue: Some(id("q-basic")),
            call: Some(id("contact-0001")),
        }
    );
}

#[test]
fn contact_states_decide_before_the_agent_status() {
    let contact =
        |state: &str| format!(r#"{{"ContactId":"c-1","State":"{state}","Queue":{{"ARN":"x/queue/q-1"}}}}"#);
    for (i, (state, want)) in [
        ("CONNECTED_ONHOLD", AgentState::Hold),
        ("CONNECTING", AgentState::Ringing),
        ("INCOMING", AgentState::Ringing),
        ("ENDED", AgentState::Acw),
    ]
    .into_iter()
    .enumerate()
    {
        let evs = bench().events(&record(&format!("e{i}"), "STATE_CHANGE", "Available", &contact(state)));
        assert!(
            matches!(&evs[..], [EventKind::AgentState { state, call: Some(c), queue: Some(q), .. }]
                if *state == want && c == "c-1" && q == "q-1"),
            "{state}: {evs:?}"
        );
    }
    // A talking contact outranks one in after-call work (a chat agent with two).
    let two = format!("{},{}", contact("ENDED"), contact("CONNECTED"));
    let evs = bench().events(&record("e9", "STATE_CHANGE", "Available", &two));
    assert!(matches!(&evs[..], [EventKind::AgentState { state: AgentState::Talking, .. }]), "{evs:?}");
    // A missed contact says nothing: the status does.
    let evs = bench().events(&record("e10", "STATE_CHANGE", "Available", &contact("MISSED")));
    assert!(
        matches!(&evs[..], [EventKind::AgentState { state: AgentState::Ready, call: None, .. }]),
        "{evs:?}"
    );
}

#[test]
fn statuses_map_through_the_source_config_with_custom_ones_as_reasons() {
    let mut b = bench();
    let evs = b.events(&record("s1", "STATE_CHANGE", "Lunch", ""));
    assert_eq!(
        evs,
        [EventKind::AgentState {
            agent: id("agent-b2"),
            state: AgentState::NotReady,
            reason: Some(id("lunch")),
            queue: None,
            call: None
        }]
    );
    let evs = b.events(&record("s2", "STATE_CHANGE", "Coaching Session", ""));
    assert!(matches!(&evs[..], [EventKind::AgentState { reason: Some(r), .. }] if r == "coaching_session"));
    let evs = b.events(&record("s3", "STATE_CHANGE", "Offline", ""));
    assert_eq!(evs, [EventKind::AgentLogout { agent: id("agent-b2"), reason: None }]);

    // A site's own mapping.
    let mut cfg = crate::ingest::vendor_config::VendorSettings::defaults(Format::AmazonConnect);
    cfg.statuses = {
        let raw: Vec<crate::ingest::vendor_config::RawVendorSource> =
            toml::from_str::<std::collections::HashMap<String, Vec<_>>>(
                "[[s]]\nid = \"c\"\nformat = \"amazon-connect\"\nstatuses = { \"Coaching Session\" = \"not_ready:training\", \"Lunch\" = \"ignore\" }",
            )
            .ok()
            .and_then(|mut m| m.remove("s"))
            .unwrap_or_default();
        let v = crate::ingest::vendor_config::validate(raw).unwrap_or_default();
        v.settings(Format::AmazonConnect, "c").statuses
    };
    b.settings = cfg;
    let evs = b.events(&record("s4", "STATE_CHANGE", "coaching session", ""));
    assert!(
        matches!(&evs[..], [EventKind::AgentState { reason: Some(r), .. }] if r == "training"),
        "{evs:?}"
    );
    assert!(b.events(&record("s5", "STATE_CHANGE", "Lunch", "")).is_empty());
}

#[test]
fn login_logout_and_heartbeat() {
    let mut b = bench();
    let evs = b.events(&record("l1", "LOGIN", "Available", ""));
    assert_eq!(
        evs,
        [EventKind::AgentLogin {
            agent: id("agent-b2"),
            name: Some(id("Li Wei")),
            team: None,
            state: AgentState::Ready,
            reason: None
        }]
    );
    // Signed in but Offline is not on the floor.
    assert!(b.events(&record("l2", "LOGIN", "Offline", "")).is_empty());
    let evs = b.events(&record("l3", "LOGOUT", "Offline", ""));
    assert_eq!(evs, [EventKind::AgentLogout { agent: id("agent-b2"), reason: None }]);
    let (out, rej, _) = b.feed(HEART_BEAT.as_bytes());
    assert!(rej.is_empty());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, EventKind::Heartbeat);
    assert_eq!(out[0].ts, ts("2019-05-25T18:58:00.000Z"));
}

#[test]
fn duplicates_by_event_id_are_dropped_and_counted() {
    let mut b = bench();
    let body = format!("[{STATE_CHANGE},{STATE_CHANGE}]");
    let (out, rej, _) = b.feed(body.as_bytes());
    assert_eq!(out.len(), 1);
    assert_eq!(rej.len(), 1);
    assert_eq!((rej[0].reason, rej[0].index), (RejectReason::Duplicate, Some(1)));
    // And across messages (a retried delivery).
    let (out, rej, _) = b.feed(STATE_CHANGE.as_bytes());
    assert!(out.is_empty());
    assert_eq!(rej[0].reason, RejectReason::Duplicate);
}

#[test]
fn camel_case_keys_read_like_pascal_case() {
    let camel = r#"{"agentArn":"arn:x/agent/agent-c3","eventId":"cc-1","eventTimestamp":"2026-11-24T08:00:00Z",
        "eventType":"STATE_CHANGE","currentAgentSnapshot":{"agentStatus":{"name":"Break"},"contacts":[]}}"#;
    let evs = bench().events(camel);
    assert!(
        matches!(&evs[..], [EventKind::AgentState { agent, state: AgentState::NotReady, reason: Some(r), .. }]
            if agent == "agent-c3" && r == "break"),
        "{evs:?}"
    );
}

#[test]
fn kinesis_and_firehose_wrappers_carry_the_same_records() {
    let plain = bench().feed(STATE_CHANGE.as_bytes()).0;
    let kinesis = format!(
        r#"{{"Records":[{{"SequenceNumber":"1","ApproximateArrivalTimestamp":1.5e9,"Data":"{}"}}]}}"#,
        b64(STATE_CHANGE)
    );
    let lambda = format!(
        r#"{{"Records":[{{"eventID":"x","kinesis":{{"data":"{}","sequenceNumber":"1"}}}}]}}"#,
        b64(STATE_CHANGE)
    );
    let single = format!(r#"{{"Data":"{}"}}"#, b64(STATE_CHANGE));
    for body in [kinesis, lambda, single, b64(STATE_CHANGE)] {
        let (out, rej, fh) = bench().feed(body.as_bytes());
        assert!(rej.is_empty(), "{rej:?}");
        assert_eq!(out, plain, "{body}");
        assert_eq!(fh, None);
    }
    // Firehose: two records, one of them two newline-delimited events; one bad.
    let two = format!("{}\n{}\n", HEART_BEAT.replace('\n', ""), QUEUED.replace('\n', ""));
    let firehose = format!(
        r#"{{"requestId":"ed4acda5-034f-9f42-bba1-f29aea6d7d8f","timestamp":1578090901599,
           "records":[{{"data":"{}"}},{{"data":"{}"}},{{"data":"not base64!"}}]}}"#,
        b64(STATE_CHANGE),
        b64(&two)
    );
    let (out, rej, fh) = bench().feed(firehose.as_bytes());
    assert_eq!(fh.as_deref(), Some("ed4acda5-034f-9f42-bba1-f29aea6d7d8f"));
    let kinds: Vec<&str> = out.iter().map(|e| e.kind.type_name()).collect();
    assert_eq!(kinds, ["agent_state", "heartbeat", "call_offered"]);
    assert_eq!(rej.len(), 1);
    assert_eq!((rej[0].reason, rej[0].index), (RejectReason::InvalidField, Some(3)));
}

#[test]
fn contact_events_offer_answer_end_and_abandon() {
    let mut b = bench();
    let (out, rej, _) = b.feed(QUEUED.as_bytes());
    assert!(rej.is_empty(), "{rej:?}");
    assert_eq!(out[0].ts, ts("2020-11-30T18:28:03.500Z"), "the enqueue time, not the event's");
    assert_eq!(
        out[0].kind,
        EventKind::CallOffered {
            call: id("contact-0002"),
            queue: id("q-basic"),
            caller: Some(id("+14255550100"))
        }
    );
    let (out, rej, _) = b.feed(ABANDON.as_bytes());
    assert!(rej.is_empty(), "{rej:?}");
    assert_eq!(out[0].ts, ts("2020-11-30T18:29:09.250Z"));
    assert_eq!(
        out[0].kind,
        EventKind::CallAbandoned { call: id("contact-0002"), queue: Some(id("q-basic")) }
    );

    // Answered, then disconnected: an end, not an abandon.
    let ev = |id: &str, kind: &str, extra: &str| {
        format!(
            r#"{{"id":"{id}","detail-type":"Amazon Connect Contact Event","source":"aws.connect","time":"2026-11-24T08:00:30Z",
            "detail":{{"eventType":"{kind}","contactId":"c-9",
            "queueInfo":{{"queueArn":"arn:x/queue/q-7","enqueueTimestamp":"2026-11-24T08:00:00Z"}}{extra}}}}}"#
        )
    };
    let agent = r#","agentInfo":{"agentArn":"arn:x/agent/agent-d4","connectedToAgentTimestamp":"2026-11-24T08:00:12Z"}"#;
    let evs = b.events(&ev("x1", "CONNECTED_TO_AGENT", agent));
    assert_eq!(
        evs,
        [EventKind::CallAnswered { call: id("c-9"), agent: id("agent-d4"), queue: Some(id("q-7")) }]
    );
    let evs = b.events(&ev("x2", "DISCONNECTED", agent));
    assert_eq!(evs, [EventKind::CallEnded { call: id("c-9"), agent: Some(id("agent-d4")) }]);
    // Offered to an agent who never connected: still an abandon.
    let rang = r#","agentInfo":{"agentArn":"arn:x/agent/agent-d4"}"#;
    let evs = b.events(&ev("x3", "DISCONNECTED", rang).replace("c-9", "c-10"));
    assert_eq!(evs, [EventKind::CallAbandoned { call: id("c-10"), queue: Some(id("q-7")) }]);
    // Never queued (left in the IVR), and the types the floor does not count.
    let ivr = r#"{"id":"x4","detail-type":"Amazon Connect Contact Event","time":"2026-11-24T08:00:30Z",
        "detail":{"eventType":"DISCONNECTED","contactId":"c-11"}}"#;
    assert!(b.events(ivr).is_empty());
    assert!(b.events(&ev("x5", "INITIATED", "")).is_empty());
    let (_, rej, _) = b.feed(ev("x6", "TELEPORTED", "").as_bytes());
    assert_eq!(rej[0].reason, RejectReason::UnknownType);
    // EventBridge retried the delivery.
    let (out, rej, _) = b.feed(QUEUED.as_bytes());
    assert!(out.is_empty());
    assert_eq!(rej[0].reason, RejectReason::Duplicate);
}

#[test]
fn configured_queue_names_replace_arn_ids() {
    let mut b = bench();
    b.settings.queues.insert("q-basic".into(), id("billing"));
    let (out, _, _) = b.feed(QUEUED.as_bytes());
    assert!(matches!(&out[0].kind, EventKind::CallOffered { queue, .. } if queue == "billing"));
    let (out, _, _) = b.feed(STATE_CHANGE.as_bytes());
    assert!(matches!(&out[0].kind, EventKind::AgentState { queue: Some(q), .. } if q == "billing"));
}

#[test]
fn bad_records_are_rejected_alone_with_their_reason() {
    let mut b = bench();
    let body = format!(
        r#"[{STATE_CHANGE}, 7, {{"EventType":"STATE_CHANGE","EventId":"z1"}},
        {{"EventType":"STATE_CHANGE","EventId":"z2","EventTimestamp":"yesterday","AgentARN":"a/agent/x"}},
        {{"EventType":"TELEPORT","EventId":"z3","EventTimestamp":"2026-11-24T08:00:00Z"}},
        {{"EventType":"STATE_CHANGE","EventId":"z4","EventTimestamp":"2026-11-24T08:00:00Z","AgentARN":"a/agent/has space"}},
        {{"hello":"world"}}]"#
    );
    let (out, rej, _) = b.feed(body.as_bytes());
    assert_eq!(out.len(), 1);
    let got: Vec<(RejectReason, Option<usize>)> = rej.iter().map(|r| (r.reason, r.index)).collect();
    assert_eq!(
        got,
        [
            (RejectReason::NotAnObject, Some(1)),
            (RejectReason::MissingField, Some(2)),
            (RejectReason::BadTimestamp, Some(3)),
            (RejectReason::UnknownType, Some(4)),
            (RejectReason::InvalidField, Some(5)),
            (RejectReason::UnknownType, Some(6)),
        ]
    );
    let (out, rej, _) = b.feed(b"{not json");
    assert!(out.is_empty());
    assert_eq!((rej[0].reason, rej[0].index), (RejectReason::BadJson, None));
}

#[test]
fn nested_wrappers_are_bounded() {
    let mut body = STATE_CHANGE.to_owned();
    for _ in 0..6 {
        body = format!(r#"{{"Data":"{}"}}"#, b64(&body));
    }
    let (out, rej, _) = bench().feed(body.as_bytes());
    assert!(out.is_empty());
    assert_eq!(rej[0].reason, RejectReason::InvalidField);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = bench().feed(&body);
    }

    #[test]
    fn bent_records_never_panic(cut in 0usize..2000, byte in any::<u8>()) {
        let mut body = STATE_CHANGE.as_bytes().to_vec();
        let at = cut % body.len();
        body[at] = byte;
        let _ = bench().feed(&body);
        let _ = bench().feed(&body[..at]);
    }
}
