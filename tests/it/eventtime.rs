//! Event time for timers (issue 16 item 4): a bridge that reconnects and
//! flushes an hour-old buffer raises no overrun or long wait that the buffer
//! itself resolves, raises the one it really holds with its true start, and
//! does not hold up another, live source's timers.

use std::time::Duration;

use floorwatch::config::Config;
use serde_json::{Value, json};

use crate::harness::{PATIENCE, TestDaemon, ts_now};

/// Default limits (ACW 2:00, not ready 15:00, longest wait 2:00), except the
/// `live` team's ACW, 2 s: the control that shows the timers are running.
fn cfg() -> Config {
    let mut c = Config::default();
    c.alerts.acw_overrun_secs_by_team.insert("live".into(), 2);
    c
}

async fn alerts(d: &TestDaemon) -> Vec<Value> {
    let (status, body) = d.get("/api/alerts").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).expect("json").as_array().cloned().expect("a list")
}

/// Waits until the alert list satisfies `pred`.
async fn alerts_until(d: &TestDaemon, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let list = alerts(d).await;
        if pred(&list) {
            return list;
        }
        assert!(tokio::time::Instant::now() < deadline, "alerts never matched: {list:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn of_kind<'a>(list: &'a [Value], kind: &str) -> Vec<&'a Value> {
    list.iter().filter(|a| a["kind"] == kind).collect()
}

fn ms_of(v: &Value) -> i64 {
    let s = v.as_str().expect("a time");
    chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339").timestamp_millis()
}

/// An hour-old stream in two frames 2 s apart (wall time): 20 s of ACW, 35 s
/// not ready, a call that waited 39 s. The wall clock is an hour past every
/// deadline between the frames, yet nothing is raised; a live source's 2 s
/// overrun meanwhile fires on time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_old_stream_in_pieces_raises_nothing_it_resolves_itself() {
    let d = TestDaemon::with_config(cfg()).await;
    let mut live = d.bridge(Some("live-acd")).await;
    let mut late = d.bridge(Some("acd")).await;
    late.send(
        json!([
            {"type":"agent_login","ts":ts_now(-3_610.0),"agent":"A1"},
            {"type":"agent_login","ts":ts_now(-3_610.0),"agent":"A2"},
            {"type":"call_offered","ts":ts_now(-3_599.0),"call":"C1","queue":"billing"},
            {"type":"agent_state","ts":ts_now(-3_595.0),"agent":"A1","state":"acw"},
            {"type":"agent_state","ts":ts_now(-3_595.0),"agent":"A2","state":"not_ready","reason":"meeting"},
        ])
        .to_string(),
    )
    .await;
    live.send(
        json!([
            {"type":"agent_login","ts":ts_now(-5.0),"agent":"L1","team":"live"},
            {"type":"agent_state","ts":ts_now(-0.2),"agent":"L1","state":"acw"},
        ])
        .to_string(),
    )
    .await;
    d.wait_events(7).await;
    // Two seconds of wall time between the frames: many ticks and a sweep.
    tokio::time::sleep(Duration::from_secs(2)).await;
    late.send(
        json!([
            {"type":"agent_state","ts":ts_now(-3_575.0),"agent":"A1","state":"ready"},
            {"type":"agent_state","ts":ts_now(-3_560.0),"agent":"A2","state":"ready"},
            {"type":"call_answered","ts":ts_now(-3_560.0),"call":"C1","agent":"A1","queue":"billing"},
        ])
        .to_string(),
    )
    .await;
    d.wait_events(10).await;
    // The control: the live source's overrun fires from the timer alone.
    let list = alerts_until(&d, |l| !of_kind(l, "acw_overrun").is_empty()).await;
    // And a sweep (every 5 s) after the backlog, for the long-wait rule.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let list = [list, alerts(&d).await].concat();
    let agents: Vec<_> =
        of_kind(&list, "acw_overrun").iter().map(|a| a["subject"]["agent"].clone()).collect();
    assert!(agents.iter().all(|a| a == "L1"), "only the live agent overran: {list:?}");
    assert!(of_kind(&list, "busy_overrun").is_empty(), "{list:?}");
    assert!(of_kind(&list, "longest_wait_high").is_empty(), "{list:?}");
    live.close().await;
    late.close().await;
    d.shutdown().await.expect("clean shutdown");
}

/// A backlog that holds a real overrun (ten minutes of ACW by its own events)
/// raises it, started when the ACW began an hour ago and 10:00 long, and
/// resolves it where the ACW ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_with_a_real_overrun_raises_it_with_its_true_start() {
    let d = TestDaemon::with_config(cfg()).await;
    let mut late = d.bridge(Some("acd")).await;
    let began = ts_now(-3_600.0);
    late.send(
        json!([
            {"type":"agent_login","ts":ts_now(-3_700.0),"agent":"A3","team":"team-1"},
            {"type":"agent_state","ts":began,"agent":"A3","state":"acw"},
        ])
        .to_string(),
    )
    .await;
    d.wait_events(2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(of_kind(&alerts(&d).await, "acw_overrun").is_empty(), "not before its events show it");
    // Ten minutes after `began` exactly (not `ts_now`: two seconds have passed).
    let ended = floorwatch::event::format_ts(ms_of(&json!(began)) + 600_000);
    late.send(json!([{"type":"agent_state","ts":ended,"agent":"A3","state":"ready"}]).to_string()).await;
    let list = alerts_until(&d, |l| of_kind(l, "acw_overrun").iter().any(|a| a["state"] == "resolved")).await;
    let a = of_kind(&list, "acw_overrun")[0];
    assert_eq!(a["subject"]["agent"], "A3");
    assert_eq!(ms_of(&a["started_at"]), ms_of(&json!(began)), "its true start: {a}");
    assert_eq!(ms_of(&a["resolved_at"]), ms_of(&json!(ended)), "resolved where it ended: {a}");
    assert!(a["message"].as_str().is_some_and(|m| m.contains("10:00")), "ten minutes, not an hour: {a}");
    late.close().await;
    d.shutdown().await.expect("clean shutdown");
}
