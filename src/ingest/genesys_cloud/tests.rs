use proptest::prelude::*;

use crate::event::{AgentState, EventKind, Id, parse_ts};
use crate::ingest::RejectReason;
use crate::ingest::vendor::Bench;
use crate::ingest::vendor_config::Format;

const ANSWERED: &str = include_str!("../../../tests/fixtures/vendors/genesys-conversation-answered.json");
const ACTIVITY: &str = include_str!("../../../tests/fixtures/vendors/genesys-user-activity.json");

fn id(s: &str) -> Id {
    Id::from(s)
}

fn ts(s: &str) -> i64 {
    parse_ts(s).unwrap_or_default()
}

fn bench() -> Bench {
    Bench::new(Format::GenesysCloud)
}

fn routing(user: &str, status: &str, at: &str) -> String {
    format!(
        r#"{{"topicName":"v2.users.{user}.routingStatus","version":"2",
        "eventBody":{{"routingStatus":{{"status":"{status}","startTime":"{at}"}}}}}}"#
    )
}

fn presence(user: &str, system: &str, at: &str) -> String {
    format!(
        r#"{{"topicName":"v2.users.{user}.presence","version":"2",
        "eventBody":{{"source":"PURECLOUD","presenceDefinition":{{"id":"def-{system}","systemPresence":"{system}"}},
        "modifiedDate":"{at}"}}}}"#
    )
}

fn state(agent: &str, state: AgentState, reason: Option<&str>) -> EventKind {
    EventKind::AgentState { agent: id(agent), state, reason: reason.map(id), queue: None, call: None }
}

#[test]
fn routing_status_and_presence_become_agent_states() {
    let mut b = bench();
    let (out, rej, _) = b.feed(routing("u1", "IDLE", "2026-11-24T08:00:00.500Z").as_bytes());
    assert!(rej.is_empty());
    assert_eq!(out[0].ts, ts("2026-11-24T08:00:00.500Z"));
    assert_eq!(out[0].kind, state("u1", AgentState::Ready, None));
    assert_eq!(
        b.events(&routing("u1", "INTERACTING", "2026-11-24T08:01:00Z")),
        [state("u1", AgentState::Talking, None)]
    );
    assert_eq!(
        b.events(&routing("u1", "NOT_RESPONDING", "2026-11-24T08:02:00Z")),
        [state("u1", AgentState::NotReady, Some("system"))]
    );
    // Off queue: the presence says why.
    assert!(b.events(&routing("u1", "OFF_QUEUE", "2026-11-24T08:03:00Z")).is_empty());
    assert_eq!(
        b.events(&presence("u1", "Break", "2026-11-24T08:03:00Z")),
        [state("u1", AgentState::NotReady, Some("break"))]
    );
    assert_eq!(
        b.events(&presence("u1", "Meal", "2026-11-24T08:04:00Z")),
        [state("u1", AgentState::NotReady, Some("lunch"))]
    );
    assert!(b.events(&presence("u1", "On Queue", "2026-11-24T08:05:00Z")).is_empty());
    assert_eq!(
        b.events(&presence("u1", "Offline", "2026-11-24T08:06:00Z")),
        [EventKind::AgentLogout { agent: id("u1"), reason: None }]
    );
    let (_, rej, _) = b.feed(routing("u1", "DANCING", "2026-11-24T08:07:00Z").as_bytes());
    assert_eq!(rej[0].reason, RejectReason::UnknownState);
}

#[test]
fn the_activity_topic_uses_routing_then_presence() {
    let mut b = bench();
    let (out, rej, _) = b.feed(ACTIVITY.as_bytes());
    assert!(rej.is_empty(), "{rej:?}");
    // The later of the two times.
    assert_eq!(out[0].ts, ts("2026-11-24T09:00:01.000Z"));
    assert_eq!(out[0].kind, state("user-7", AgentState::NotReady, Some("lunch")));
    // A custom presence mapped by its definition id.
    let mut b = bench();
    b.settings.statuses = {
        let raw = vec![toml::from_str::<crate::ingest::vendor_config::RawVendorSource>(
            "id = \"g\"\nformat = \"genesys-cloud\"\nstatuses = { \"6a3af858-942f-489d-9700-5f9bcdcdae9b\" = \"not_ready:meal_break\" }",
        )
        .expect("toml")];
        crate::ingest::vendor_config::validate(raw)
            .unwrap_or_default()
            .settings(Format::GenesysCloud, "g")
            .statuses
    };
    assert_eq!(b.events(ACTIVITY), [state("user-7", AgentState::NotReady, Some("meal_break"))]);
}

#[test]
fn a_conversation_yields_each_step_once_however_often_it_is_sent() {
    let mut b = bench();
    let (out, rej, _) = b.feed(ANSWERED.as_bytes());
    assert!(rej.is_empty(), "{rej:?}");
    let got: Vec<(i64, &EventKind)> = out.iter().map(|e| (e.ts, &e.kind)).collect();
    assert_eq!(
        got,
        [
            (
                ts("2026-11-24T08:00:10.000Z"),
                &EventKind::CallOffered {
                    call: id("conv-0001"),
                    queue: id("q-sales"),
                    caller: Some(id("tel:+14155550101"))
                }
            ),
            (
                ts("2026-11-24T08:00:25.000Z"),
                &EventKind::CallAnswered {
                    call: id("conv-0001"),
                    agent: id("user-7"),
                    queue: Some(id("q-sales"))
                }
            ),
        ]
    );
    // The same conversation again (a new update with another correlation id): nothing new.
    let again = ANSWERED.replace("corr-0001", "corr-0003");
    assert!(b.events(&again).is_empty());
    // The agent hangs up with wrap-up due: ended, and after-call work.
    let ended = again.replace("corr-0003", "corr-0004").replace(
        r#""wrapupRequired": true,"#,
        r#""wrapupRequired": true, "endTime": "2026-11-24T08:03:00.000Z", "startAcwTime": "2026-11-24T08:03:00.200Z","#,
    );
    let (out, _, _) = b.feed(ended.as_bytes());
    let kinds: Vec<&EventKind> = out.iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        [
            &EventKind::CallEnded { call: id("conv-0001"), agent: Some(id("user-7")) },
            &EventKind::AgentState {
                agent: id("user-7"),
                state: AgentState::Acw,
                reason: None,
                queue: Some(id("q-sales")),
                call: Some(id("conv-0001"))
            },
        ]
    );
    assert_eq!(out[1].ts, ts("2026-11-24T08:03:00.200Z"));
    // The same message replayed by the relay: a duplicate.
    let (out, rej, _) = b.feed(ended.as_bytes());
    assert!(out.is_empty());
    assert_eq!(rej[0].reason, RejectReason::Duplicate);
}

#[test]
fn a_caller_who_leaves_the_queue_unanswered_abandons() {
    let conv = |corr: &str, customer_end: &str, acd_end: &str| {
        format!(
            r#"{{"topicName":"v2.routing.queues.q-1.conversations","eventBody":{{"id":"conv-2","participants":[
            {{"purpose":"customer","address":"tel:+1","connectedTime":"2026-11-24T08:00:00Z"{customer_end}}},
            {{"purpose":"acd","queueId":"q-1","connectedTime":"2026-11-24T08:00:05Z"{acd_end}}}]}},
            "metadata":{{"CorrelationId":"{corr}"}}}}"#
        )
    };
    let mut b = bench();
    let evs = b.events(&conv("a", "", ""));
    assert!(matches!(&evs[..], [EventKind::CallOffered { .. }]), "{evs:?}");
    // The queue leg ends but the customer is still there: transferred, not abandoned.
    assert!(b.events(&conv("b", "", r#","endTime":"2026-11-24T08:00:40Z""#)).is_empty());
    let (out, rej, _) = b.feed(
        conv("c", r#","endTime":"2026-11-24T08:00:41Z""#, r#","endTime":"2026-11-24T08:00:41Z""#).as_bytes(),
    );
    assert!(rej.is_empty());
    assert_eq!(out[0].kind, EventKind::CallAbandoned { call: id("conv-2"), queue: Some(id("q-1")) });
    assert_eq!(out[0].ts, ts("2026-11-24T08:00:41Z"));
}

#[test]
fn heartbeats_and_socket_closing() {
    let mut b = bench();
    let (out, rej, _) =
        b.feed(br#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#);
    assert!(rej.is_empty());
    assert_eq!(out[0].kind, EventKind::Heartbeat);
    assert_eq!(out[0].ts, b.now, "a heartbeat has no time of its own");
    // Heartbeats are all alike, and none is a duplicate.
    let (out, _, _) =
        b.feed(br#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#);
    assert_eq!(out.len(), 1);
    assert!(b.events(r#"{"topicName":"v2.system.socket_closing","eventBody":{"message":"bye"}}"#).is_empty());
}

#[test]
fn what_cannot_be_read_is_rejected_alone() {
    let mut b = bench();
    let body = format!(
        r#"[{}, 1, {{"topicName":"v2.users.u2.geolocation","eventBody":{{}}}}, {{"eventBody":{{}}}},
           {{"topicName":"v2.users.u3.routingStatus","eventBody":{{"routingStatus":{{"status":"IDLE","startTime":"noon"}}}}}}]"#,
        routing("u1", "IDLE", "2026-11-24T08:00:00Z")
    );
    let (out, rej, _) = b.feed(body.as_bytes());
    assert_eq!(out.len(), 1);
    let got: Vec<(RejectReason, Option<usize>)> = rej.iter().map(|r| (r.reason, r.index)).collect();
    assert_eq!(
        got,
        [
            (RejectReason::NotAnObject, Some(1)),
            (RejectReason::UnknownType, Some(2)),
            (RejectReason::MissingField, Some(3)),
            (RejectReason::BadTimestamp, Some(4)),
        ]
    );
    let (_, rej, _) = b.feed(b"\xff\xfe");
    assert_eq!((rej[0].reason, rej[0].index), (RejectReason::BadJson, None));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = bench().feed(&body);
    }

    #[test]
    fn bent_conversations_never_panic(cut in 0usize..4000, byte in any::<u8>()) {
        let mut body = ANSWERED.as_bytes().to_vec();
        let at = cut % body.len();
        body[at] = byte;
        let _ = bench().feed(&body);
    }
}
