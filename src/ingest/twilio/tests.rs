use proptest::prelude::*;

use crate::event::{AgentState, EventKind, Id, parse_ts};
use crate::ingest::RejectReason;
use crate::ingest::vendor::Bench;
use crate::ingest::vendor_config::Format;

const ACCEPTED: &str = include_str!("../../../tests/fixtures/vendors/twilio-reservation-accepted.form");
const STREAMS: &str = include_str!("../../../tests/fixtures/vendors/twilio-event-streams.json");

const TASK: &str = "WT0000000000000000000000000000001";
const WORKER: &str = "WK0000000000000000000000000000001";
const QUEUE: &str = "WQ0000000000000000000000000000001";

fn id(s: &str) -> Id {
    Id::from(s)
}

fn bench() -> Bench {
    Bench::new(Format::Twilio)
}

/// A form-encoded callback: `sid`, `kind`, `Timestamp` seconds, extra pairs.
fn form(sid: &str, kind: &str, secs: u64, extra: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("EventType", kind).append_pair("Sid", sid).append_pair("Timestamp", &secs.to_string());
    s.append_pair("AccountSid", "AC0000000000000000000000000000001");
    for (k, v) in extra {
        s.append_pair(k, v);
    }
    s.finish()
}

fn task_fields() -> Vec<(&'static str, &'static str)> {
    vec![("TaskSid", TASK), ("TaskQueueSid", QUEUE), ("TaskQueueName", "Support")]
}

fn with_worker(mut f: Vec<(&'static str, &'static str)>) -> Vec<(&'static str, &'static str)> {
    f.extend([("WorkerSid", WORKER), ("WorkerName", "alice")]);
    f
}

#[test]
fn the_documented_reservation_accepted_is_an_answer_in_seconds() {
    let (out, rej, _) = bench().feed(ACCEPTED.trim().as_bytes());
    assert!(rej.is_empty(), "{rej:?}");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ts, 1_795_420_830_000, "Timestamp is seconds");
    assert_eq!(
        out[0].kind,
        EventKind::CallAnswered { call: id(TASK), agent: id(WORKER), queue: Some(id(QUEUE)) }
    );
}

#[test]
fn a_task_is_a_call_from_offer_to_completion() {
    let mut b = bench();
    let attrs = [("TaskAttributes", r#"{"from":"+14155550100","type":"inbound"}"#)];
    let mut created = task_fields();
    created.extend(attrs);
    assert_eq!(
        b.events(&form("EV1", "task.created", 1_795_420_800, &created)),
        [EventKind::CallOffered { call: id(TASK), queue: id(QUEUE), caller: Some(id("+14155550100")) }]
    );
    // The queue entry repeats the offer: once is enough.
    assert!(b.events(&form("EV2", "task-queue.entered", 1_795_420_800, &task_fields())).is_empty());
    assert_eq!(
        b.events(&form("EV3", "reservation.created", 1_795_420_801, &with_worker(task_fields()))),
        [EventKind::AgentState {
            agent: id(WORKER),
            state: AgentState::Ringing,
            reason: None,
            queue: Some(id(QUEUE)),
            call: Some(id(TASK))
        }]
    );
    assert!(matches!(
        &b.events(&form("EV4", "reservation.accepted", 1_795_420_805, &with_worker(task_fields())))[..],
        [EventKind::CallAnswered { .. }]
    ));
    // task.wrapup names no worker: the one who accepted is remembered.
    assert_eq!(
        b.events(&form("EV5", "task.wrapup", 1_795_420_900, &task_fields())),
        [
            EventKind::CallEnded { call: id(TASK), agent: Some(id(WORKER)) },
            EventKind::AgentState {
                agent: id(WORKER),
                state: AgentState::Acw,
                reason: None,
                queue: Some(id(QUEUE)),
                call: Some(id(TASK))
            },
        ]
    );
    assert_eq!(
        b.events(&form("EV6", "task.completed", 1_795_420_930, &task_fields())),
        [EventKind::AgentState {
            agent: id(WORKER),
            state: AgentState::Ready,
            reason: None,
            queue: None,
            call: None
        }]
    );
    // A retried callback is a duplicate by its Sid.
    let (out, rej, _) = b.feed(form("EV6", "task.completed", 1_795_420_930, &task_fields()).as_bytes());
    assert!(out.is_empty());
    assert_eq!(rej[0].reason, RejectReason::Duplicate);
}

#[test]
fn a_canceled_task_is_an_abandon_unless_answered() {
    let mut b = bench();
    assert_eq!(
        b.events(&form("EV1", "task.canceled", 1_795_420_842, &task_fields())),
        [EventKind::CallAbandoned { call: id(TASK), queue: Some(id(QUEUE)) }]
    );
    let other = [("TaskSid", "WT2"), ("TaskQueueSid", QUEUE)];
    b.events(&form(
        "EV2",
        "reservation.accepted",
        1_795_420_850,
        &[other[0], other[1], ("WorkerSid", WORKER)],
    ));
    assert_eq!(
        b.events(&form("EV3", "task.canceled", 1_795_420_860, &other)),
        [EventKind::CallEnded { call: id("WT2"), agent: Some(id(WORKER)) }]
    );
}

#[test]
fn worker_activities_map_through_the_source_config() {
    let mut b = bench();
    let act = |name: &'static str, prev: &'static str| {
        vec![
            ("WorkerSid", WORKER),
            ("WorkerName", "alice"),
            ("WorkerActivityName", name),
            ("WorkerPreviousActivityName", prev),
        ]
    };
    assert_eq!(
        b.events(&form("EV1", "worker.activity.update", 1_795_420_800, &act("Available", "Offline"))),
        [EventKind::AgentLogin {
            agent: id(WORKER),
            name: Some(id("alice")),
            team: None,
            state: AgentState::Ready,
            reason: None
        }]
    );
    assert_eq!(
        b.events(&form("EV2", "worker.activity.update", 1_795_420_810, &act("Break", "Available"))),
        [EventKind::AgentState {
            agent: id(WORKER),
            state: AgentState::NotReady,
            reason: Some(id("break")),
            queue: None,
            call: None
        }]
    );
    assert_eq!(
        b.events(&form("EV3", "worker.activity.update", 1_795_420_820, &act("Offline", "Break"))),
        [EventKind::AgentLogout { agent: id(WORKER), reason: None }]
    );
    // A ring that times out puts the worker back where its activity was.
    b.events(&form("EV4", "worker.activity.update", 1_795_420_830, &act("Training Room", "Offline")));
    b.events(&form("EV5", "reservation.created", 1_795_420_840, &with_worker(task_fields())));
    assert_eq!(
        b.events(&form("EV6", "reservation.timeout", 1_795_420_860, &with_worker(task_fields()))),
        [EventKind::AgentState {
            agent: id(WORKER),
            state: AgentState::NotReady,
            reason: Some(id("training_room")),
            queue: None,
            call: None
        }]
    );
}

#[test]
fn event_streams_cloudevents_read_like_callbacks() {
    let (out, rej, _) = bench().feed(STREAMS.as_bytes());
    assert!(rej.is_empty(), "{rej:?}");
    let task = "WT0000000000000000000000000000009";
    let got: Vec<(i64, &EventKind)> = out.iter().map(|e| (e.ts, &e.kind)).collect();
    assert_eq!(
        got,
        [
            (
                parse_ts("2026-11-24T08:00:00.000Z").unwrap_or_default(),
                &EventKind::CallOffered {
                    call: id(task),
                    queue: id(QUEUE),
                    caller: Some(id("+14155550111"))
                }
            ),
            (
                parse_ts("2026-11-24T08:00:42.000Z").unwrap_or_default(),
                &EventKind::CallAbandoned { call: id(task), queue: Some(id(QUEUE)) }
            ),
        ]
    );
}

#[test]
fn configured_queue_names_apply_by_sid_or_name() {
    let mut b = bench();
    b.settings.queues.insert("Support".into(), id("support"));
    let evs = b.events(&form("EV1", "task.created", 1_795_420_800, &task_fields()));
    assert!(matches!(&evs[..], [EventKind::CallOffered { queue, .. }] if queue == "support"));
}

#[test]
fn what_cannot_be_read_is_rejected_with_its_reason() {
    let mut b = bench();
    let cases: [(String, RejectReason); 5] = [
        ("AccountSid=AC1&Timestamp=1".into(), RejectReason::MissingField),
        (
            form("EV1", "task.created", 0, &[]).replace("Timestamp=0", "Timestamp=soon"),
            RejectReason::BadTimestamp,
        ),
        (form("EV2", "sms.received", 1_795_420_800, &[]), RejectReason::UnknownType),
        (form("EV3", "reservation.accepted", 1_795_420_800, &task_fields()), RejectReason::MissingField),
        (form("EV4", "task.created", 1_795_420_800, &[("TaskSid", "has space")]), RejectReason::InvalidField),
    ];
    for (body, want) in cases {
        let (out, rej, _) = b.feed(body.as_bytes());
        assert!(out.is_empty(), "{body}");
        assert_eq!(rej.iter().map(|r| r.reason).collect::<Vec<_>>(), [want], "{body}");
    }
    // TaskRouter's other events are skipped, not rejected.
    assert!(b.events(&form("EV5", "workflow.target-matched", 1_795_420_800, &task_fields())).is_empty());
    let ce = r#"[{"type":"com.twilio.messaging.inbound-message.received","id":"x","time":"2026-11-24T08:00:00Z","data":{}}, 5]"#;
    let (_, rej, _) = b.feed(ce.as_bytes());
    let got: Vec<(RejectReason, Option<usize>)> = rej.iter().map(|r| (r.reason, r.index)).collect();
    assert_eq!(got, [(RejectReason::UnknownType, Some(0)), (RejectReason::NotAnObject, Some(1))]);
    let (_, rej, _) = b.feed(b"[{oops");
    assert_eq!((rej[0].reason, rej[0].index), (RejectReason::BadJson, None));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = bench().feed(&body);
    }

    #[test]
    fn arbitrary_forms_never_panic(pairs in proptest::collection::vec(("[A-Za-z]{1,12}", ".{0,40}"), 0..12)) {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("EventType", "task.created").append_pair("Timestamp", "1795420800");
        for (k, v) in &pairs {
            s.append_pair(k, v);
        }
        let _ = bench().feed(s.finish().as_bytes());
    }
}
