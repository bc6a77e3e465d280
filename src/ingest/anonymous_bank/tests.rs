use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::event::{AgentState, Event, EventKind, Ts};

const HEADER: &str = "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver";

// Rows copied from data_anonymous_bank_february.txt (its line number in the name).
/// Straight to an agent: never queued (q_start, q_exit 0:00:00).
const L2_DIRECT: &str = "AA0101\t34536\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t0:00:00\t0:00:00\t0\tAGENT\t7:02:55\t7:05:41\t166\tDORIT";
/// Queued, then abandoned; the caller is identified.
const L5_ABANDONED: &str = "AA0101\t34539\t23317894\t2\tPS\t990201\t8:09:16\t8:09:22\t6\t8:09:22\t8:09:27\t5\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER";
/// Queued 34 s, then answered.
const L6_ANSWERED: &str = "AA0101\t34540\t48178511\t2\tPS\t990201\t8:19:42\t8:19:47\t5\t8:19:47\t8:20:21\t34\tAGENT\t8:20:20\t8:22:04\t104\tMICHAL";
/// Hung up in the VRU: never reached the floor.
const L51_IVR_HANG: &str = "AA0101\t34585\t0\t0\tPS\t990201\t17:16:03\t17:17:16\t73\t0:00:00\t0:00:00\t0\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER";
const L109_PHANTOM: &str = "AA0101\t34645\t24442634\t2\tPS\t990202\t13:13:33\t13:13:42\t9\t13:13:42\t13:14:12\t30\tPHANTOM\t13:13:40\t13:14:18\t38\tNO_SERVER";
/// Served, but no service time logged (ser_start 0:00:00).
const L112_NO_SERVICE_TIME: &str = "AA0101\t34648\t24442634\t2\tPS\t990202\t13:44:47\t13:44:53\t6\t13:44:53\t13:45:06\t13\tAGENT\t0:00:00\t0:00:00\t0\tYIFAT";
/// A HANG with a service time.
const L511_HANG_WITH_SERVICE: &str = "AA0101\t35050\t67158097\t2\tPS\t990208\t18:11:39\t18:11:44\t5\t18:11:44\t18:12:10\t26\tHANG\t18:12:10\t18:14:17\t127\tNO_SERVER";
/// Negative vru_time: vru_exit (and q_start) before vru_entry.
const L2047_NEGATIVE_VRU: &str = "AA0102\t30456\t25627027\t2\tPS\t990207\t9:48:14\t9:47:17\t-57\t9:47:17\t9:50:11\t174\tAGENT\t9:50:11\t9:51:28\t77\tKAZAV";
/// Queued at midnight exactly: q_start 0:00:00 is a real time here (q_time 27).
const L2639_QUEUED_AT_MIDNIGHT: &str = "AA0102\t31056\t15696776\t2\tPS\t990215\t23:59:54\t23:59:54\t0\t0:00:00\t0:00:27\t27\tAGENT\t0:00:26\t0:01:33\t67\tAVNI";
/// Service that crosses midnight (ser_exit < ser_start).
const L5516_TALK_CROSSES_MIDNIGHT: &str = "AA0104\t22869\t24309866\t2\tPS\t990208\t23:51:29\t23:51:34\t5\t23:51:34\t23:52:21\t47\tAGENT\t23:52:20\t0:00:55\t515\tAVNI";
/// Wait that crosses midnight, then abandoned.
const L7328_WAIT_CROSSES_MIDNIGHT: &str = "AA0105\t35608\t0\t0\tNW\t990210\t23:59:19\t23:59:19\t0\t23:59:29\t0:00:26\t57\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER";
/// Arrived before midnight, answered after it, straight from the VRU.
const L12905_DIRECT_AFTER_MIDNIGHT: &str = "AA0110\t29885\t0\t0\tPS\t990211\t23:59:55\t23:59:55\t0\t0:00:00\t0:00:00\t0\tAGENT\t0:00:07\t0:02:13\t126\tYITZ";

fn file(rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push_str("\r\n");
        s.push_str(r);
    }
    s.push_str("\r\n");
    s
}

fn read_rows(rows: &[&str]) -> Reading {
    match read(&file(rows), &Options::default()) {
        Ok(r) => r,
        Err(e) => panic!("read failed: {e}"),
    }
}

fn utc(s: &str) -> Ts {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.timestamp_millis(),
        Err(e) => panic!("bad test time {s}: {e}"),
    }
}

fn call_of(k: &EventKind) -> Option<&str> {
    match k {
        EventKind::CallOffered { call, .. }
        | EventKind::CallAnswered { call, .. }
        | EventKind::CallAbandoned { call, .. }
        | EventKind::CallEnded { call, .. } => Some(call.as_str()),
        _ => None,
    }
}

/// The call events of `call`, as (type, time).
fn call_events(r: &Reading, call: &str) -> Vec<(&'static str, Ts)> {
    r.events.iter().filter(|e| call_of(&e.kind) == Some(call)).map(|e| (e.kind.type_name(), e.ts)).collect()
}

fn agent_of(k: &EventKind) -> Option<&str> {
    match k {
        EventKind::AgentLogin { agent, .. }
        | EventKind::AgentLogout { agent, .. }
        | EventKind::AgentState { agent, .. } => Some(agent.as_str()),
        _ => None,
    }
}

/// The presence events of `agent`, as (type or state, time).
fn agent_events(r: &Reading, agent: &str) -> Vec<(&'static str, Ts)> {
    r.events
        .iter()
        .filter(|e| agent_of(&e.kind) == Some(agent))
        .map(|e| match &e.kind {
            EventKind::AgentState { state, .. } => (state.as_str(), e.ts),
            k => (k.type_name(), e.ts),
        })
        .collect()
}

fn assert_time_ordered(events: &[Event]) {
    for (i, w) in events.windows(2).enumerate() {
        assert!(w[0].ts <= w[1].ts, "event {i} at {} after event {} at {}", w[0].ts, i + 1, w[1].ts);
    }
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, Some(i as u64 + 1));
        assert_eq!(e.source, "anonymous-bank");
    }
}

#[test]
fn a_phantom_row_is_ignored_and_counted() {
    let r = read_rows(&[L109_PHANTOM]);
    assert!(r.events.is_empty(), "{:?}", r.events);
    assert_eq!((r.rows, r.phantoms), (1, 1));
    assert_eq!(r.totals.get(Service::Regular).phantoms, 1);
    assert_eq!(r.totals.all().offered, 0);
    assert!(r.rejected.is_empty());
}

#[test]
fn a_direct_call_has_no_queue_times_and_waits_nothing() {
    let r = read_rows(&[L2_DIRECT]);
    // 07:02:55 in Israel in February is UTC+2.
    let answer = utc("1999-02-01T05:02:55Z");
    assert_eq!(
        call_events(&r, "AA0101-34536"),
        [("call_offered", answer), ("call_answered", answer), ("call_ended", utc("1999-02-01T05:05:41Z"))]
    );
    let f = r.totals.get(Service::Regular);
    assert_eq!((f.offered, f.answered, f.abandoned), (1, 1, 0));
    let offered = r.events.iter().find(|e| matches!(e.kind, EventKind::CallOffered { .. }));
    match offered.map(|e| &e.kind) {
        Some(EventKind::CallOffered { queue, caller, .. }) => {
            assert_eq!(queue, "regular");
            assert_eq!(*caller, None, "customer_id 0 is no caller");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_queued_call_is_answered_at_q_exit_so_its_wait_is_q_time() {
    let r = read_rows(&[L6_ANSWERED]);
    let ev = call_events(&r, "AA0101-34540");
    assert_eq!(
        ev,
        [
            ("call_offered", utc("1999-02-01T06:19:47Z")),
            ("call_answered", utc("1999-02-01T06:20:21Z")),
            ("call_ended", utc("1999-02-01T06:22:04Z")),
        ]
    );
    assert_eq!(ev[1].1 - ev[0].1, 34_000, "wait = q_time");
    let answered = r.events.iter().find_map(|e| match &e.kind {
        EventKind::CallAnswered { agent, queue, .. } => Some((agent.clone(), queue.clone())),
        _ => None,
    });
    assert_eq!(answered, Some(("MICHAL".into(), Some("regular".into()))));
}

#[test]
fn an_abandoned_call_is_offered_then_abandoned_at_q_exit() {
    let r = read_rows(&[L5_ABANDONED]);
    assert_eq!(
        call_events(&r, "AA0101-34539"),
        [("call_offered", utc("1999-02-01T06:09:22Z")), ("call_abandoned", utc("1999-02-01T06:09:27Z"))]
    );
    assert!(r.events.iter().any(|e| matches!(&e.kind,
        EventKind::CallOffered { caller: Some(c), .. } if c == "23317894")));
    let f = r.totals.get(Service::Regular);
    assert_eq!((f.offered, f.answered, f.abandoned, f.ivr_abandoned), (1, 0, 1, 0));
}

#[test]
fn a_hang_in_the_vru_never_reaches_the_floor() {
    let r = read_rows(&[L51_IVR_HANG]);
    assert!(r.events.is_empty(), "{:?}", r.events);
    let f = r.totals.get(Service::Regular);
    assert_eq!((f.offered, f.abandoned, f.ivr_abandoned), (0, 0, 1));
}

#[test]
fn a_hang_with_a_service_time_is_still_abandoned() {
    let r = read_rows(&[L511_HANG_WITH_SERVICE]);
    assert_eq!(
        call_events(&r, "AA0101-35050"),
        [("call_offered", utc("1999-02-08T16:11:44Z")), ("call_abandoned", utc("1999-02-08T16:12:10Z"))]
    );
    assert!(agent_events(&r, NO_SERVER).is_empty());
}

#[test]
fn a_served_call_without_service_times_ends_at_its_answer() {
    let r = read_rows(&[L112_NO_SERVICE_TIME]);
    let answer = utc("1999-02-02T11:45:06Z");
    assert_eq!(
        call_events(&r, "AA0101-34648"),
        [("call_offered", utc("1999-02-02T11:44:53Z")), ("call_answered", answer), ("call_ended", answer)]
    );
}

#[test]
fn a_talk_that_crosses_midnight_ends_the_next_day() {
    let r = read_rows(&[L5516_TALK_CROSSES_MIDNIGHT]);
    assert_eq!(
        call_events(&r, "AA0104-22869"),
        [
            ("call_offered", utc("1999-02-08T21:51:34Z")),
            ("call_answered", utc("1999-02-08T21:52:21Z")),
            // 00:00:55 on the 9th, Israeli time.
            ("call_ended", utc("1999-02-08T22:00:55Z")),
        ]
    );
}

#[test]
fn a_wait_that_crosses_midnight_is_abandoned_the_next_day() {
    let r = read_rows(&[L7328_WAIT_CROSSES_MIDNIGHT]);
    assert_eq!(
        call_events(&r, "AA0105-35608"),
        [("call_offered", utc("1999-02-10T21:59:29Z")), ("call_abandoned", utc("1999-02-10T22:00:26Z"))]
    );
    assert_eq!(r.totals.get(Service::Prospects).abandoned, 1);
}

#[test]
fn zero_time_is_midnight_when_the_span_shows_it_happened() {
    let r = read_rows(&[L2639_QUEUED_AT_MIDNIGHT]);
    assert_eq!(
        call_events(&r, "AA0102-31056"),
        [
            ("call_offered", utc("1999-02-15T22:00:00Z")),
            ("call_answered", utc("1999-02-15T22:00:27Z")),
            ("call_ended", utc("1999-02-15T22:01:33Z")),
        ]
    );
}

#[test]
fn a_direct_answer_after_midnight_is_on_the_next_day() {
    let r = read_rows(&[L12905_DIRECT_AFTER_MIDNIGHT]);
    let answer = utc("1999-02-11T22:00:07Z");
    assert_eq!(
        call_events(&r, "AA0110-29885"),
        [("call_offered", answer), ("call_answered", answer), ("call_ended", utc("1999-02-11T22:02:13Z"))]
    );
}

#[test]
fn a_negative_vru_time_is_read_as_logged() {
    let r = read_rows(&[L2047_NEGATIVE_VRU]);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(call_events(&r, "AA0102-30456")[0], ("call_offered", utc("1999-02-07T07:47:17Z")));
}

#[test]
fn malformed_rows_are_rejected_with_line_and_reason_and_the_rest_is_read() {
    let bad_time = L6_ANSWERED.replace("8:20:21", "8:61:21");
    let bad_date = L6_ANSWERED.replace("990201", "990230");
    let bad_type = L6_ANSWERED.replace("\tPS\t", "\tXX\t");
    let bad_outcome = L6_ANSWERED.replace("AGENT", "BUSY");
    let empty = L6_ANSWERED.replace("\tMICHAL", "\t");
    let not_number = L6_ANSWERED.replace("\t34\t", "\tabc\t");
    let negative = L6_ANSWERED.replace("\t34\t", "\t-34\t");
    let truncated = &L6_ANSWERED[..40];
    let rows = [
        L2_DIRECT,          // line 2
        truncated,          // 3
        &bad_time,          // 4
        &bad_date,          // 5
        &bad_type,          // 6
        &bad_outcome,       // 7
        &empty,             // 8
        &not_number,        // 9
        &negative,          // 10
        L5_ABANDONED,       // 11
        "garbage",          // 12
        "\t\t\t\t\t\t\t\t", // 13
    ];
    let r = read_rows(&rows);
    let got: Vec<(usize, RowReason, Option<&str>)> =
        r.rejected.iter().map(|x| (x.line, x.reason, x.field)).collect();
    assert_eq!(
        got,
        [
            (3, RowReason::FieldCount, None),
            (4, RowReason::BadTime, Some("q_exit")),
            (5, RowReason::BadDate, Some("date")),
            (6, RowReason::UnknownType, Some("type")),
            (7, RowReason::UnknownOutcome, Some("outcome")),
            (8, RowReason::EmptyField, Some("server")),
            (9, RowReason::BadNumber, Some("q_time")),
            (10, RowReason::BadNumber, Some("q_time")),
            (12, RowReason::FieldCount, None),
            (13, RowReason::FieldCount, None),
        ]
    );
    assert_eq!(r.rejected[1].value, "8:61:21");
    assert_eq!(r.rows, 12);
    let all = r.totals.all();
    assert_eq!((all.offered, all.answered, all.abandoned), (2, 1, 1), "the good rows are read");
    assert_eq!(r.rejected_by_reason()[&RowReason::FieldCount], 3);
}

#[test]
fn inputs_that_are_not_the_data_set_are_errors() {
    let o = Options::default();
    assert_eq!(read("", &o).unwrap_err(), Error::Empty);
    assert_eq!(read("\r\n \r\n", &o).unwrap_err(), Error::Empty);
    assert_eq!(read(L2_DIRECT, &o).unwrap_err(), Error::MissingColumn("vru+line"));
    let dup = format!("{HEADER}\tserver\r\n");
    assert_eq!(read(&dup, &o).unwrap_err(), Error::DuplicateColumn("server"));
    let bad = Options { session_gap_secs: 600, ..Options::default() };
    assert!(matches!(read(&file(&[L2_DIRECT]), &bad), Err(Error::Options(_))));
    // A header alone is a file of no calls.
    let r = read_rows(&[]);
    assert!(r.events.is_empty() && r.rows == 0);
}

#[test]
fn columns_are_found_by_name() {
    // The same rows with `server` moved to the front.
    let swap = |l: &str| {
        let mut f: Vec<&str> = l.split('\t').collect();
        let last = f.pop().unwrap_or_default();
        f.insert(0, last);
        f.join("\t")
    };
    let rows = [L6_ANSWERED, L5_ABANDONED];
    let text: String =
        std::iter::once(swap(HEADER)).chain(rows.iter().map(|r| swap(r))).collect::<Vec<_>>().join("\n");
    let moved = match read(&text, &Options::default()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(moved.events, read_rows(&rows).events);
}

#[test]
fn events_come_out_in_time_order_whatever_the_row_order() {
    // As in the file: sorted by line, then date, not by time.
    let rows = [
        L5516_TALK_CROSSES_MIDNIGHT,
        L6_ANSWERED,
        L2639_QUEUED_AT_MIDNIGHT,
        L2_DIRECT,
        L7328_WAIT_CROSSES_MIDNIGHT,
        L5_ABANDONED,
        L12905_DIRECT_AFTER_MIDNIGHT,
        L2047_NEGATIVE_VRU,
    ];
    let r = read_rows(&rows);
    assert_time_ordered(&r.events);
    // Every agent's presence goes login → … → logout, never twice logged in.
    let mut on: BTreeMap<&str, bool> = BTreeMap::new();
    for e in &r.events {
        match &e.kind {
            EventKind::AgentLogin { agent, .. } => {
                assert!(!on.insert(agent.as_str(), true).unwrap_or(false), "{agent} logged in twice");
            }
            EventKind::AgentLogout { agent, .. } => {
                assert!(on.insert(agent.as_str(), false).unwrap_or(false), "{agent} logged out while out");
            }
            _ => {}
        }
    }
    assert!(on.values().all(|v| !v), "everyone logs out: {on:?}");
}

/// A served call of `agent`: queued at `q` (or direct when `None`), answered at
/// `answer`, ended at `end`, on 1999-02-01, local `H:MM:SS` times.
fn served(id: u32, agent: &str, q: Option<&str>, answer: &str, end: &str) -> String {
    let (qs, qe) = match q {
        Some(q) => (q, answer),
        None => ("0:00:00", "0:00:00"),
    };
    let qt = parse_tod(qe).unwrap_or(0) - parse_tod(qs).unwrap_or(0);
    let st = parse_tod(end).unwrap_or(0) - parse_tod(answer).unwrap_or(0);
    let entry = q.unwrap_or(answer);
    format!(
        "AA0101\t{id}\t0\t0\tPS\t990201\t{entry}\t{entry}\t0\t{qs}\t{qe}\t{qt}\tAGENT\t{answer}\t{end}\t{st}\t{agent}"
    )
}

fn at(hms: &str) -> Ts {
    // 990201 local is UTC+2.
    utc(&format!("1999-02-01T{hms}Z")) - 2 * 3600 * 1000
}

#[test]
fn an_agent_is_logged_in_around_their_calls_and_ready_between_them() {
    let rows =
        [served(1, "DORIT", None, "08:00:00", "08:03:00"), served(2, "DORIT", None, "08:10:00", "08:12:00")];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let r = read_rows(&rows);
    assert_eq!(
        agent_events(&r, "DORIT"),
        [
            ("agent_login", at("07:55:00")),
            ("talking", at("08:00:00")),
            ("ready", at("08:03:00")),
            ("talking", at("08:10:00")),
            ("ready", at("08:12:00")),
            ("agent_logout", at("08:17:00")),
        ]
    );
    assert_eq!((r.inferred.agents, r.inferred.sessions, r.inferred.acw_spans), (1, 1, 0));
}

#[test]
fn acw_is_inferred_only_while_a_caller_waits() {
    let rows = [
        served(1, "DORIT", None, "08:00:00", "08:03:00"),
        // A caller waits from 08:02:00 to 08:04:00, when TOVA takes it: DORIT, free
        // from 08:03:00, did not, so she was wrapping up until then.
        served(2, "TOVA", Some("08:02:00"), "08:04:00", "08:05:00"),
        served(3, "DORIT", None, "08:06:00", "08:07:00"),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let r = read_rows(&rows);
    assert_eq!(
        agent_events(&r, "DORIT"),
        [
            ("agent_login", at("07:55:00")),
            ("talking", at("08:00:00")),
            ("acw", at("08:03:00")),
            ("ready", at("08:04:00")),
            ("talking", at("08:06:00")),
            ("ready", at("08:07:00")),
            ("agent_logout", at("08:12:00")),
        ]
    );
    assert_eq!((r.inferred.acw_spans, r.inferred.acw_total_ms), (1, 60_000));
    // The ACW names the call it follows and its queue.
    assert!(r.events.iter().any(|e| matches!(&e.kind,
        EventKind::AgentState { state: AgentState::Acw, call: Some(c), queue: Some(q), .. }
            if c == "AA0101-1" && q == "regular")));

    // Without the option, no ACW at all.
    let o = Options { infer_acw: false, ..Options::default() };
    let r = match read(&file(&rows), &o) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert!(agent_events(&r, "DORIT").iter().all(|(s, _)| *s != "acw"));
}

#[test]
fn acw_runs_to_the_next_answer_when_the_agent_takes_the_waiting_caller() {
    let rows = [
        served(1, "DORIT", None, "08:00:00", "08:03:00"),
        served(2, "DORIT", Some("08:02:00"), "08:03:40", "08:05:00"),
        // A caller answered 3 s after DORIT's second call ends is no sign of ACW.
        served(3, "TOVA", Some("08:04:30"), "08:05:03", "08:06:00"),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let r = read_rows(&rows);
    assert_eq!(
        agent_events(&r, "DORIT"),
        [
            ("agent_login", at("07:55:00")),
            ("talking", at("08:00:00")),
            ("acw", at("08:03:00")),
            ("talking", at("08:03:40")),
            ("ready", at("08:05:00")),
            ("agent_logout", at("08:10:00")),
        ]
    );
}

#[test]
fn overlapping_calls_are_one_busy_period_and_a_long_gap_ends_a_session() {
    let rows = [
        served(1, "AVNI", None, "08:00:00", "08:05:00"),
        served(2, "AVNI", None, "08:02:00", "08:04:00"),
        served(3, "AVNI", None, "09:00:00", "09:01:00"),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let r = read_rows(&rows);
    assert_eq!(
        agent_events(&r, "AVNI"),
        [
            ("agent_login", at("07:55:00")),
            ("talking", at("08:00:00")),
            ("talking", at("08:02:00")),
            ("ready", at("08:05:00")),
            ("agent_logout", at("08:10:00")),
            ("agent_login", at("08:55:00")),
            ("talking", at("09:00:00")),
            ("ready", at("09:01:00")),
            ("agent_logout", at("09:06:00")),
        ]
    );
    assert_eq!(r.inferred.sessions, 2);
}

#[test]
fn no_server_calls_go_to_a_pseudo_agent_present_only_on_its_calls() {
    let rows = [served(1, NO_SERVER, None, "08:00:00", "08:01:00")];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let r = read_rows(&rows);
    assert_eq!(agent_events(&r, NO_SERVER), [("talking", at("08:00:00")), ("agent_logout", at("08:01:00"))]);
    assert_eq!((r.inferred.agents, r.inferred.no_server_calls), (0, 1));
    // At the same instant the call ends before its agent logs out.
    let tail: Vec<&str> = r.events.iter().rev().take(2).map(|e| e.kind.type_name()).collect();
    assert_eq!(tail, ["agent_logout", "call_ended"]);
}

#[test]
fn every_inference_is_said_in_both_languages() {
    assert!(INFERENCES.len() >= 10);
    let mut keys: Vec<&str> = INFERENCES.iter().map(|i| i.key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), INFERENCES.len(), "keys are unique");
    for i in INFERENCES {
        assert!(i.en.is_ascii() && i.en.len() > 40, "{}", i.key);
        assert!(!i.zh.is_ascii() && !i.zh.contains("  "), "{}", i.key);
    }
    for s in Service::ALL {
        assert_eq!(Service::from_code(s.code()), Some(s));
        assert_eq!(Service::from_queue_id(s.queue_id()), Some(s));
    }
}

#[test]
fn arbitrary_lines_never_panic_and_every_row_is_accounted_for() {
    // A property test without a new dependency: seeded random edits of real rows
    // (bytes replaced, cut, tabs and multi-byte characters inserted) and random lines.
    let seeds = [
        L2_DIRECT,
        L5_ABANDONED,
        L6_ANSWERED,
        L109_PHANTOM,
        L5516_TALK_CROSSES_MIDNIGHT,
        L2639_QUEUED_AT_MIDNIGHT,
    ];
    let alphabet: Vec<char> = "0123456789:\t-AGENTHANGPHAOM_ \r é界\u{feff}".chars().collect();
    let mut rng = StdRng::seed_from_u64(15);
    for case in 0..200 {
        let n = rng.random_range(0..12);
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let mut row: Vec<char> = seeds[rng.random_range(0..seeds.len())].chars().collect();
            match rng.random_range(0..5) {
                0 => {
                    let len = rng.random_range(0..80);
                    row = (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect();
                }
                1 => row.truncate(rng.random_range(0..row.len())),
                _ => {
                    for _ in 0..rng.random_range(1..4) {
                        let i = rng.random_range(0..row.len());
                        row[i] = alphabet[rng.random_range(0..alphabet.len())];
                    }
                }
            }
            rows.push(row.into_iter().collect::<String>());
        }
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let text = file(&rows);
        let r = match read(&text, &Options::default()) {
            Ok(r) => r,
            Err(e) => panic!("case {case}: {e}\n{text:?}"),
        };
        let t = r.totals.all();
        let read_ok = t.offered + t.ivr_abandoned + t.phantoms;
        assert_eq!(read_ok + r.rejected.len() as u64, r.rows, "case {case}: every row read or rejected");
        assert_eq!(r.phantoms, t.phantoms);
        assert_time_ordered(&r.events);
    }
}

fn february_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ANONYMOUS_BANK_FILE") {
        return p.into();
    }
    let rel = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/anonymous-bank-1999/data_anonymous_bank_february.txt");
    // A git worktree under /work/wt/ has no shared/ beside it; the one at /work has.
    let abs = Path::new("/work/shared/data/anonymous-bank-1999/data_anonymous_bank_february.txt");
    if !rel.exists() && abs.exists() { abs.to_path_buf() } else { rel }
}

/// The data set's own figures, from the raw rows by its README's definitions:
/// offered = queued (q_start ≠ 0:00:00) or served, answered = AGENT, abandoned =
/// HANG that queued; PHANTOM excluded. Per `type`.
fn readme_figures(text: &str) -> BTreeMap<String, (u64, u64, u64)> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| match header.iter().position(|h| *h == name) {
        Some(i) => i,
        None => panic!("no {name} column"),
    };
    let (ty, q_start, outcome) = (col("type"), col("q_start"), col("outcome"));
    let mut m: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.trim_end_matches('\r').split('\t').collect();
        let queued = f[q_start] != "0:00:00";
        let e = m.entry(f[ty].to_string()).or_default();
        match f[outcome] {
            "AGENT" => {
                e.0 += 1;
                e.1 += 1;
            }
            "HANG" if queued => {
                e.0 += 1;
                e.2 += 1;
            }
            _ => {}
        }
    }
    m
}

#[test]
fn the_february_file_reads_whole_to_the_data_sets_own_figures() {
    let path = february_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the Anonymous Bank February file is missing at {}: {e}. It belongs in \
             shared/data/anonymous-bank-1999/ beside the checkout (or set ANONYMOUS_BANK_FILE)",
            path.display()
        )
    });
    let started = tokio::time::Instant::now();
    let r = match read(&text, &Options::default()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let took = started.elapsed();

    assert_eq!(r.rows, 33_344);
    assert!(r.rejected.is_empty(), "{:?}", &r.rejected[..r.rejected.len().min(5)]);
    assert_eq!(r.phantoms, 278);

    // Per queue: the reader's totals and the events it made, against the raw rows.
    let want = readme_figures(&text);
    let mut from_events: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    let mut queue_of: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for e in &r.events {
        match &e.kind {
            EventKind::CallOffered { call, queue, .. } => {
                queue_of.insert(call.as_str(), queue.as_str());
                from_events.entry(queue.as_str()).or_default().0 += 1;
            }
            EventKind::CallAnswered { queue: Some(q), .. } => {
                from_events.entry(q.as_str()).or_default().1 += 1
            }
            EventKind::CallAbandoned { queue: Some(q), .. } => {
                from_events.entry(q.as_str()).or_default().2 += 1
            }
            _ => {}
        }
    }
    for (code, &(offered, answered, abandoned)) in &want {
        let s = Service::from_code(code).unwrap_or_else(|| panic!("type {code}"));
        let f = r.totals.get(s);
        assert_eq!((f.offered, f.answered, f.abandoned), (offered, answered, abandoned), "{code} totals");
        assert_eq!(
            from_events.get(s.queue_id()).copied(),
            Some((offered, answered, abandoned)),
            "{code} events"
        );
    }
    // And the README's published figures.
    let all = r.totals.all();
    assert_eq!((all.offered, all.answered, all.abandoned, all.ivr_abandoned), (31_125, 27_162, 3_963, 1_941));
    let by_type: Vec<(&str, u64)> =
        r.totals.iter().map(|(s, f)| (s.code(), f.offered + f.ivr_abandoned + f.phantoms)).collect();
    assert_eq!(
        by_type,
        [("PS", 21_460), ("PE", 149), ("IN", 293), ("NE", 2_750), ("NW", 7_604), ("TT", 1_088)]
    );
    assert_eq!(r.inferred.agents, 24, "24 distinct agent names");
    assert_eq!(r.inferred.no_server_calls, 491);

    // Time order, and each call's own events in order inside February 1999 (UTC).
    assert_time_ordered(&r.events);
    let (first, last) = (utc("1999-01-31T22:00:00Z"), utc("1999-03-01T00:00:00Z"));
    let mut seen: std::collections::HashMap<&str, u8> = std::collections::HashMap::new();
    for e in &r.events {
        assert!(e.ts >= first - 3_600_000 && e.ts < last, "{e:?}");
        if let Some(c) = call_of(&e.kind) {
            let step = match e.kind {
                EventKind::CallOffered { .. } => 1,
                EventKind::CallAnswered { .. } | EventKind::CallAbandoned { .. } => 2,
                _ => 3,
            };
            let prev = seen.insert(c, step).unwrap_or(0);
            assert!(step > prev, "{c}: {} after step {prev}", e.kind.type_name());
            assert!(queue_of.contains_key(c));
        }
    }
    // What the inferred presence will show the rules (for the replay report): ACW
    // spans over the default 120 s overrun, and the most logouts in one minute
    // (the mass-logout rule looks at 60 s windows).
    let (mut acw_since, mut acw_over_2min) = (BTreeMap::new(), 0u32);
    let mut logouts: Vec<Ts> = Vec::new();
    for e in &r.events {
        match &e.kind {
            EventKind::AgentState { agent, state, .. } => {
                if let Some(since) = acw_since.remove(agent.as_str())
                    && e.ts - since > 120_000
                {
                    acw_over_2min += 1;
                }
                if *state == AgentState::Acw {
                    acw_since.insert(agent.as_str(), e.ts);
                }
            }
            EventKind::AgentLogout { agent, .. } => {
                if let Some(since) = acw_since.remove(agent.as_str())
                    && e.ts - since > 120_000
                {
                    acw_over_2min += 1;
                }
                logouts.push(e.ts);
            }
            _ => {}
        }
    }
    let mut most_logouts_per_minute = 0;
    for (i, t) in logouts.iter().enumerate() {
        let n = logouts[i..].iter().take_while(|u| **u < t + 60_000).count();
        most_logouts_per_minute = most_logouts_per_minute.max(n);
    }
    eprintln!(
        "february: {} events from {} rows in {took:?}; inferred {:?}; ACW over 120 s: {acw_over_2min}; \
         most logouts in a minute: {most_logouts_per_minute}",
        r.events.len(),
        r.rows,
        r.inferred,
    );
}
