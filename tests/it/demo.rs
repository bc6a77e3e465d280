//! The README's first command, as a newcomer runs it: `floorwatch demo` shows a live
//! floor in /api/floor and /metrics, and raises and resolves every kind of alert on
//! its own within ten minutes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{PATIENCE, expect_clean_exit, http_get, metric_sum, recording_receiver};

/// Starts `floorwatch demo` with `args` and returns it with the address it printed.
fn spawn_demo(args: &[&str], data_dir: &std::path::Path) -> (Child, SocketAddr) {
    let (child, addr, _) = spawn_demo_with_urls(args, data_dir);
    (child, addr)
}

/// [`spawn_demo`], also returning every http URL the demo printed.
fn spawn_demo_with_urls(args: &[&str], data_dir: &std::path::Path) -> (Child, SocketAddr, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn floorwatch demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let (urls_tx, urls_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut urls = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("Ctrl-C") {
                let _ = urls_tx.send(std::mem::take(&mut urls));
            } else if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                urls.push(url.to_string());
            }
            // The wallboard's URL gives the address; the team lead's console,
            // printed right after it, must be there too (a newcomer's first look).
            if let Some(url) = line.trim().strip_prefix("wallboard") {
                let _ = tx.send(url.trim().to_string());
            } else if let Some(url) = line.trim().strip_prefix("team lead") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let url = rx.recv_timeout(PATIENCE).expect("demo prints the wallboard URL");
    let lead = rx.recv_timeout(PATIENCE).expect("demo prints the team lead's URL");
    assert_eq!(lead, format!("{url}lead"), "the console's URL beside the wall's");
    let addr = url.trim_start_matches("http://").trim_end_matches('/').parse().expect("URL has an address");
    let urls = urls_rx.recv_timeout(PATIENCE).expect("demo prints its URLs, then how to stop it");
    (child, addr, urls)
}

async fn stop(child: &mut Child) {
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    expect_clean_exit(child, "demo after Ctrl-C").await;
}

#[tokio::test]
async fn demo_shows_a_live_floor() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut child, addr, urls) =
        spawn_demo_with_urls(&["--calls-per-min", "240", "--seed", "3"], dir.path());
    // Every URL printed answers, and the newcomer's list is complete.
    for path in
        ["/", "/lead", "/api/floor", "/api/alerts", "/api/callbacks", "/metrics", "/healthz", "/readyz"]
    {
        assert!(urls.contains(&format!("http://{addr}{path}")), "demo does not print {path}: {urls:?}");
    }

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
    // Once the floor is live (readyz waits for the source), every URL answers.
    for url in &urls {
        let path = url.trim_start_matches(&format!("http://{addr}"));
        let (status, body) = http_get(addr, path).await;
        assert_eq!(status, 200, "{url}: {body}");
    }
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

    stop(&mut child).await;
}

/// The floor's own time (the demo's clock runs `speed` times faster), from the
/// snapshot's `taken_at`.
async fn floor_time(addr: SocketAddr) -> chrono::DateTime<chrono::Utc> {
    let (_, body) = http_get(addr, "/api/floor").await;
    let f: Value = serde_json::from_str(&body).expect("floor JSON");
    f["taken_at"].as_str().and_then(|t| t.parse().ok()).expect("taken_at is a time")
}

/// The alerts issue's "done when": left alone, the demo raises and resolves every
/// kind of alert within ten minutes of floor time (here run twenty times faster,
/// the daemon's clock and timers with it), and the pushes reach /ws/alerts and a
/// configured webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_raises_and_resolves_every_kind_within_ten_minutes() {
    let (hook, webhook) = recording_receiver().await;
    let dir = tempfile::tempdir().expect("tmp");
    // The demo's own config plus a team lead's webhook, as a site would add one.
    let config = format!(
        "{}\n[[notify.receivers]]\nname = \"lead\"\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\n",
        include_str!("../../config/demo.toml")
    );
    let config_path = dir.path().join("demo.toml");
    std::fs::write(&config_path, config).expect("write config");
    let config_arg = config_path.to_str().expect("utf-8 path");
    let data = dir.path().join("data");
    let (mut child, addr) = spawn_demo(&["--speed", "20", "--seed", "21", "--config", config_arg], &data);

    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/alerts")).await.expect("ws/alerts");
    let start = floor_time(addr).await;
    let end = start + chrono::Duration::minutes(10);
    // Per kind: alert ids seen firing, and those seen resolved by the ten minutes.
    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut resolved: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let real_deadline = tokio::time::Instant::now() + Duration::from_secs(30) + PATIENCE;
    while floor_time(addr).await < end {
        assert!(tokio::time::Instant::now() < real_deadline, "the demo's clock is not running fast");
        let Ok(frame) = tokio::time::timeout(Duration::from_millis(250), ws.next()).await else { continue };
        let Some(Ok(Message::Text(text))) = frame else { panic!("/ws/alerts ended: {frame:?}") };
        let a: Value = serde_json::from_str(&text).expect("alert JSON");
        let (kind, id) = (a["kind"].as_str().expect("kind"), a["id"].as_str().expect("id"));
        match a["state"].as_str() {
            Some("firing") => fired.entry(kind.into()).or_default().insert(id.into()),
            Some("resolved") => {
                let at: chrono::DateTime<chrono::Utc> =
                    a["resolved_at"].as_str().and_then(|t| t.parse().ok()).expect("resolved_at");
                if at > end {
                    continue;
                }
                resolved.entry(kind.into()).or_default().insert(id.into())
            }
            _ => continue,
        };
    }
    let kinds = floorwatch::rules::Kind::ALL.map(|k| k.as_str());
    for kind in kinds {
        let both =
            fired.get(kind).zip(resolved.get(kind)).is_some_and(|(f, r)| f.intersection(r).next().is_some());
        assert!(
            both,
            "no {kind} raised and resolved within ten minutes: fired {fired:?}, resolved {resolved:?}"
        );
    }

    // The webhook got the same story (each receiver has its own queue: give it a
    // moment to drain).
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got: Vec<Value> = webhook.lock().expect("lock").clone();
        let seen = |state: &str| -> BTreeSet<String> {
            got.iter()
                .filter(|n| n["state"] == state)
                .filter_map(|n| n["kind"].as_str().map(String::from))
                .collect()
        };
        let (firing, done) = (seen("firing"), seen("resolved"));
        if kinds.iter().all(|k| firing.contains(*k) && done.contains(*k)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the webhook did not get every kind firing and resolved: {firing:?} {done:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The incidents issue's "done when": the surge and the fault each opened an
    // incident that published its script, filled the call-back log and the fault
    // register, and closed on recovery — and all of it survives a restart.
    let incidents = get_json(addr, "/api/incidents").await;
    let closed_of = |kind: &str| -> Vec<Value> {
        incidents
            .as_array()
            .map(|l| l.iter().filter(|i| i["kind"] == kind && i["state"] == "closed").cloned().collect())
            .unwrap_or_default()
    };
    let surge = closed_of("traffic_surge");
    let fault = closed_of("system_fault");
    assert!(!surge.is_empty() && !fault.is_empty(), "no closed surge and fault incidents: {incidents}");
    for inc in surge.iter().chain(&fault) {
        assert!(inc["script_version"]["zh"].as_str().is_some_and(|s| !s.is_empty()), "no script: {inc}");
    }
    let callbacks = get_json(addr, "/api/callbacks").await;
    let surge_ids: Vec<&Value> = surge.iter().map(|i| &i["id"]).collect();
    assert!(
        callbacks.as_array().is_some_and(|l| l.iter().any(|c| surge_ids.contains(&&c["incident"]))),
        "nobody who gave up during the surge was logged for a call-back: {callbacks}"
    );
    let faults = get_json(addr, "/api/faults").await;
    assert!(
        faults
            .as_array()
            .is_some_and(|l| l.iter().any(|f| f["recovered_at"].is_string() && f["offered_during"].is_u64())),
        "no recovered fault entry with its impact: {faults}"
    );
    stop(&mut child).await;

    let (mut child, addr) = spawn_demo(&["--speed", "20", "--seed", "21", "--config", config_arg], &data);
    let after = get_json(addr, "/api/incidents?state=closed").await;
    for inc in surge.iter().chain(&fault) {
        assert!(
            after
                .as_array()
                .is_some_and(|l| l.iter().any(|i| i["id"] == inc["id"] && i["summary"] == inc["summary"])),
            "{} lost in the restart",
            inc["id"]
        );
    }
    let callbacks_after = get_json(addr, "/api/callbacks?limit=100000").await;
    let ids = |v: &Value| -> BTreeSet<i64> {
        v.as_array().map(|l| l.iter().filter_map(|c| c["id"].as_i64()).collect()).unwrap_or_default()
    };
    assert!(ids(&callbacks).is_subset(&ids(&callbacks_after)), "call-backs lost in the restart");
    stop(&mut child).await;
}

async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = http_get(addr, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}
