//! `/metrics` against the real Prometheus tooling.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::harness::{TestDaemon, metric_sum, ts};

/// `promtool check metrics` (Debian package `prometheus`, installed by the test
/// script) accepts the exposition, with every contract metric present.
#[tokio::test]
async fn exposition_passes_promtool_and_has_the_contract_metrics() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(None).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts(0.0),"agent":"A1","team":"team-1"},
            {"type":"call_offered","ts":ts(1.0),"call":"C1","queue":"billing"},
            {"type":"call_offered","ts":ts(2.0),"call":"C2","queue":"billing"},
            {"type":"call_answered","ts":ts(9.0),"call":"C1","agent":"A1"},
            {"type":"call_abandoned","ts":ts(40.0),"call":"C2"},
            {"type":"call_offered","ts":ts(50.0),"call":"C3","queue":"tech"}
        ])
        .to_string(),
    )
    .await;
    b.send("not json").await;
    let err = b.recv_json(std::time::Duration::from_secs(30)).await.expect("error frame for the bad frame");
    assert_eq!(err["reason"], "bad_json");
    d.wait_events(6).await;
    let text = d.wait_floor(|f| f["queues"].as_array().is_some_and(|q| q.len() == 2)).await;
    assert!(text["queues"].is_array());
    let m = d.metrics().await;

    for name in [
        "floorwatch_events_total",
        "floorwatch_events_rejected_total",
        "floorwatch_calls_offered_total",
        "floorwatch_calls_answered_total",
        "floorwatch_calls_abandoned_total",
        "floorwatch_calls_waiting",
        "floorwatch_agents",
        "floorwatch_alerts_firing",
        "floorwatch_queue_wait_seconds_bucket",
        "floorwatch_ingest_connections",
        "floorwatch_ingest_lag_seconds_bucket",
        "floorwatch_queue_service_level",
        "floorwatch_queue_answer_rate",
    ] {
        assert!(m.lines().any(|l| l.starts_with(name)), "{name} missing from /metrics");
    }
    assert_eq!(metric_sum(&m, "floorwatch_events_total", &[("type", "call_offered")]), 3.0);
    assert_eq!(metric_sum(&m, "floorwatch_calls_waiting", &[("queue", "tech")]), 1.0);
    assert_eq!(metric_sum(&m, "floorwatch_agents", &[("state", "talking")]), 1.0);
    assert_eq!(
        metric_sum(&m, "floorwatch_queue_answer_rate", &[("queue", "billing"), ("window", "15m")]),
        0.5
    );
    assert_eq!(metric_sum(&m, "floorwatch_queue_wait_seconds_count", &[("queue", "billing")]), 2.0);
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "bad_json")]), 1.0);

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: run ./scripts/test, which installs the Debian package `prometheus`");
    child.stdin.take().expect("stdin").write_all(m.as_bytes()).expect("write metrics to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics:\n{report}");
}
