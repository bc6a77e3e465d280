//! The README's first command, as a newcomer runs it: `floorwatch demo` shows a live
//! floor in /api/floor and /metrics.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{PATIENCE, expect_clean_exit, http_get, metric_sum};

#[tokio::test]
async fn demo_shows_a_live_floor() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["demo", "--listen", "127.0.0.1:0", "--calls-per-min", "240", "--seed", "3", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn floorwatch demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("wallboard") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let url = rx.recv_timeout(PATIENCE).expect("demo prints the wallboard URL");
    let addr: std::net::SocketAddr =
        url.trim_start_matches("http://").trim_end_matches('/').parse().expect("URL has an address");

    let (status, page) = http_get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("floorwatch"));

    let deadline = tokio::time::Instant::now() + PATIENCE;
    let floor = loop {
        let (_, body) = http_get(addr, "/api/floor").await;
        let f: serde_json::Value = serde_json::from_str(&body).expect("floor JSON");
        let offered: u64 =
            f["queues"].as_array().map_or(0, |q| q.iter().filter_map(|q| q["offered"].as_u64()).sum());
        if f["logged_in"] == 60 && offered >= 3 {
            break f;
        }
        assert!(tokio::time::Instant::now() < deadline, "the demo floor never came alive: {f}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let queues: Vec<_> =
        floor["queues"].as_array().expect("queues").iter().map(|q| q["id"].clone()).collect();
    assert_eq!(queues, vec!["billing", "cards", "tech"]);
    assert_eq!(floor["teams"].as_array().map(Vec::len), Some(4));
    assert_eq!(floor["sources"][0]["id"], "demo-acd");
    assert_eq!(floor["sources"][0]["connected"], true);

    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(metric_sum(&metrics, "floorwatch_events_total", &[]) >= 63.0);
    assert_eq!(metric_sum(&metrics, "floorwatch_agents", &[]), 60.0);
    assert_eq!(
        metric_sum(&metrics, "floorwatch_events_rejected_total", &[]),
        0.0,
        "the simulator speaks the protocol"
    );

    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    expect_clean_exit(&mut child, "demo after Ctrl-C").await;
}
