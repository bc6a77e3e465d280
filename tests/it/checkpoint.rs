//! The checkpoint's metrics: each COMMIT shows on `/metrics` (its size, its
//! time and when it last succeeded), and the engine's copy is timed apart.

use std::time::Duration;

use floorwatch::config::Config;
use serde_json::json;

use crate::harness::{PATIENCE, TestDaemon, metric_sum, ts_now};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkpoint_saved_shows_its_size_time_and_success_on_metrics() {
    let mut cfg = Config::default();
    cfg.floor.checkpoint_secs = 1;
    let d = TestDaemon::with_config(cfg).await;
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_checkpoint_last_success_timestamp_seconds", &[]), 0.0, "none yet");
    let mut b = d.bridge(Some("acd")).await;
    let logins: Vec<_> =
        (0..50).map(|i| json!({"type":"agent_login","ts":ts_now(-1.0),"agent":format!("A{i}")})).collect();
    b.send(serde_json::Value::Array(logins).to_string()).await;
    d.wait_events(50).await;
    let before = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let m = d.metrics().await;
        let last = metric_sum(&m, "floorwatch_checkpoint_last_success_timestamp_seconds", &[]);
        // A checkpoint taken after the logins holds 50 agents: over 50 × 30 bytes.
        let bytes = metric_sum(&m, "floorwatch_checkpoint_bytes", &[]);
        if last >= before && bytes > 1_500.0 {
            assert!(metric_sum(&m, "floorwatch_checkpoint_seconds_count", &[]) >= 1.0);
            assert!(metric_sum(&m, "floorwatch_checkpoint_build_seconds_count", &[]) >= 1.0);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no checkpoint committed after the logins: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.close().await;
    d.shutdown().await.expect("clean shutdown");
}
