//! Restart without amnesia: the live floor is checkpointed and restored, so a
//! graceful restart, a kill -9 or a damaged checkpoint never shows a floor that
//! lies — the same agents and waits, overruns on their original deadlines,
//! faults that recover, and nothing a person entered lost.

use std::process::Child;
use std::time::Duration;

use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use serde_json::{Value, json};

use crate::harness::{
    Bridge, PATIENCE, TestDaemon, free_port, http_get, http_send, serve_child, ts_now, wait_listening,
};

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).expect("JSON")
}

async fn eventually(addr: std::net::SocketAddr, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = http_get(addr, path).await;
        if status == 200 {
            let v = json_of(&body);
            if pred(&v) {
                return v;
            }
            assert!(tokio::time::Instant::now() < deadline, "{path} never matched: {v}");
        }
        assert!(tokio::time::Instant::now() < deadline, "{path}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn checkpointing(secs: u64) -> Config {
    let mut cfg = Config::default();
    cfg.floor.checkpoint_secs = secs;
    cfg
}

fn login(agent: &str, secs: f64) -> Value {
    json!({"type":"agent_login","ts":ts_now(secs),"agent":agent,"state":"ready"})
}

fn alerts_of(v: &Value, kind: &str) -> Vec<Value> {
    v.as_array().expect("alerts").iter().filter(|a| a["kind"] == kind).cloned().collect()
}

/// (a) A graceful restart in the middle of a stream: the same agents and
/// waiting call on `/api/floor`, the pending ACW overrun fires on its original
/// deadline (once), and the fault that went down before recovers on its "up",
/// closing the fault register entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_restart_restores_agents_waits_overrun_deadlines_and_faults() {
    let d = TestDaemon::with_config(checkpointing(1)).await;
    let mut b = d.bridge(Some("acd")).await;
    // ACW began 115 s ago: the 120 s overrun is due 5 s from now, after the restart.
    let frame = json!([
        login("A1", -200.0),
        login("A2", -200.0),
        login("A3", -200.0),
        {"type":"agent_state","ts":ts_now(-115.0),"agent":"A1","state":"acw"},
        {"type":"call_offered","ts":ts_now(-30.0),"call":"W1","queue":"billing"},
        {"type":"fault","ts":ts_now(-1.0),"component":"ivr","status":"down"},
    ]);
    b.send(frame.to_string()).await;
    eventually(d.addr, "/api/faults", |v| v.as_array().is_some_and(|l| l.len() == 1)).await;
    b.close().await;

    let d = d.restart().await;
    assert!(d.daemon().ready.load(std::sync::atomic::Ordering::Acquire), "ready once restored");
    let f = d.floor().await;
    assert_eq!(f["logged_in"], 3, "{f}");
    assert_eq!(f["agents_by_state"]["acw"], 1);
    let billing = f["queues"].as_array().expect("queues").iter().find(|q| q["id"] == "billing").cloned();
    let billing = billing.expect("billing restored");
    assert_eq!(billing["waiting"], 1);
    assert!(
        billing["longest_wait_secs"].as_f64().is_some_and(|w| w >= 29.0),
        "the wait continues: {billing}"
    );
    assert_eq!(f["faults"].as_array().map(Vec::len), Some(1));

    // The overrun fires on its own, with no event after the restart, once.
    let alerts = eventually(d.addr, "/api/alerts", |v| !alerts_of(v, "acw_overrun").is_empty()).await;
    assert_eq!(alerts_of(&alerts, "acw_overrun").len(), 1, "{alerts}");
    assert_eq!(alerts_of(&alerts, "acw_overrun")[0]["subject"]["agent"], "A1", "{alerts}");

    // The fault recovers end to end: alert resolved, register entry recovered.
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"fault","ts":ts_now(0.0),"component":"ivr","status":"up"}).to_string()).await;
    eventually(d.addr, "/api/faults", |v| v[0]["recovered_at"].is_string()).await;
    let alerts = eventually(d.addr, "/api/alerts", |v| {
        alerts_of(v, "system_fault").iter().all(|a| a["state"] == "resolved")
    })
    .await;
    assert_eq!(alerts_of(&alerts, "system_fault").len(), 1, "not re-raised: {alerts}");
    b.close().await;
    d.shutdown().await.expect("clean shutdown");
}

/// (c) A checkpoint row that does not match its checksum (a torn write, a bad
/// disk) is ignored with a warning: the daemon starts, with an empty floor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_checkpoint_is_ignored_and_the_daemon_starts_empty() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = Config { data_dir: dir.path().to_path_buf(), ..checkpointing(1) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let d = Daemon::start(cfg.clone(), listener, Clock::system()).await.expect("daemon starts");
    let mut b = Bridge::connect(&format!("ws://{}/ingest?source=acd", d.addr), None).await.expect("ingest");
    b.send(json!([login("A1", -5.0), login("A2", -5.0)]).to_string()).await;
    let mut snap = d.snapshot.clone();
    tokio::time::timeout(PATIENCE, snap.wait_for(|s| s.agents.len() == 2))
        .await
        .expect("applied")
        .expect("up");
    b.close().await;
    d.shutdown();
    tokio::time::timeout(PATIENCE, d.wait()).await.expect("stops").expect("clean");

    // Half the body, as a torn write would leave it.
    let db = rusqlite::Connection::open(dir.path().join("floorwatch.db")).expect("open db");
    let n = db
        .execute("UPDATE floor_checkpoint SET body = substr(body, 1, length(body) / 2) WHERE id = 1", [])
        .expect("damage");
    assert_eq!(n, 1, "a checkpoint was saved at shutdown");
    drop(db);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let d = Daemon::start(cfg, listener, Clock::system()).await.expect("starts despite the damage");
    assert!(d.snapshot.borrow().agents.is_empty(), "nothing of the damaged checkpoint is loaded");
    d.shutdown();
    tokio::time::timeout(PATIENCE, d.wait()).await.expect("stops").expect("clean");
}

/// `floorwatch serve` on `port`, data in `dir`, checkpoints every `secs`.
fn serve(dir: &std::path::Path, port: u16, secs: u64) -> Child {
    let config = dir.join("floorwatch.toml");
    std::fs::write(&config, format!("[floor]\ncheckpoint_secs = {secs}\n")).expect("config");
    serve_child(Some(&config), dir, port)
}

fn offered_in(floor: &Value, queue: &str) -> u64 {
    floor["queues"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|q| q["id"] == queue)
        .map_or(0, |q| q["offered"].as_u64().unwrap_or(0))
}

/// (b) kill -9 loses at most one checkpoint interval: what was applied before
/// the last checkpoint is on the floor after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_restart_restores_the_floor_up_to_the_last_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = serve(dir.path(), port, 1);
    wait_listening(addr).await;
    let mut b = Bridge::connect(&format!("ws://{addr}/ingest?source=acd"), None).await.expect("ingest");
    let logins: Vec<Value> = (0..20).map(|i| login(&format!("A{i}"), -60.0)).collect();
    b.send(Value::Array(logins).to_string()).await;
    b.send(json!({"type":"call_offered","ts":ts_now(-10.0),"call":"W1","queue":"billing"}).to_string()).await;
    eventually(addr, "/api/floor", |f| f["logged_in"] == 20 && offered_in(f, "billing") == 1).await;
    // Two intervals: a checkpoint has certainly been taken since.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let mut child = serve(dir.path(), port, 1);
    wait_listening(addr).await;
    let (_, body) = http_get(addr, "/api/floor").await;
    let f = json_of(&body);
    assert_eq!(f["logged_in"], 20, "{f}");
    assert_eq!(offered_in(&f, "billing"), 1);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

/// How long before a kill what was sent is owed after the restart (three
/// one-second intervals: one between checkpoints, one for the COMMIT).
const OWED: Duration = Duration::from_millis(2_100);

/// A tiny deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// (d) Twenty kills under load at seeded random moments. After each restart:
/// every call-back a person POSTed and got a 2xx for is there, and the restored
/// floor matches the stream up to the last checkpoint — per queue, offered is
/// at most what was sent and at least what was sent before the last checkpoint
/// that certainly ran (two intervals before the kill), counted from what the
/// previous restart restored (what a kill lost is lost for good); the agents logged in are
/// the ones the stream logged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_kills_under_load_lose_no_entry_and_restore_the_floor_to_a_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Offered on the floor as the previous restart restored it: what this
    // round adds is counted from there.
    let mut base = 0u64;
    let mut callbacks: Vec<String> = Vec::new();
    let mut child = serve(dir.path(), port, 1);
    wait_listening(addr).await;
    for round in 0..20 {
        let mut b = Bridge::connect(&format!("ws://{addr}/ingest?source=acd"), None).await.expect("ingest");
        let logins: Vec<Value> = (0..10).map(|i| login(&format!("A{i}"), -600.0)).collect();
        b.send(Value::Array(logins).to_string()).await;
        // The stream runs for a random 1.0–4.0 s, a frame every 20 ms, with
        // call-backs entered by a person now and then.
        let run = Duration::from_millis(1_000 + rng.below(3_000));
        let started = tokio::time::Instant::now();
        let mut before_checkpoint = None;
        let mut sent = base;
        while started.elapsed() < run {
            let frame: Vec<Value> = (0..10)
                .map(|i| {
                    let call = format!("R{round}-{sent}-{i}");
                    json!({"type":"call_offered","ts":ts_now(-1.0),"call":call,"queue":"billing"})
                })
                .collect();
            b.send(Value::Array(frame).to_string()).await;
            sent += 10;
            if rng.below(20) == 0 {
                let caller = format!("1390000{:04}", callbacks.len());
                let (s, body) =
                    http_send(addr, "POST", "/api/callbacks", &json!({"caller":caller}).to_string(), None)
                        .await;
                assert!((200..300).contains(&s), "{s} {body}");
                callbacks.push(caller);
            }
            // What was sent two intervals before the kill is certainly in a
            // checkpoint: one interval between checkpoints, and room for the
            // COMMIT itself (an fsync on a busy shared disk can take a while).
            if run.saturating_sub(started.elapsed()) <= OWED && before_checkpoint.is_none() {
                before_checkpoint = Some(sent);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        drop(b);

        child = serve(dir.path(), port, 1);
        wait_listening(addr).await;
        let (_, body) = http_get(addr, "/api/floor").await;
        let f = json_of(&body);
        let offered = offered_in(&f, "billing");
        assert!(offered <= sent, "round {round}: {offered} offered of {sent} sent");
        // A run shorter than two intervals may end before a checkpoint caught it;
        // then only what the previous restart restored is owed.
        let owed = before_checkpoint.filter(|_| run >= OWED).unwrap_or(base);
        assert!(offered >= owed, "round {round}: {offered} offered, {owed} were checkpointed");
        assert!(f["logged_in"].as_u64().is_some_and(|n| n == 10 || n == 0), "round {round}: {f}");
        let (_, cbs) = http_get(addr, "/api/callbacks").await;
        let cbs = json_of(&cbs);
        let held = cbs.as_array().map_or(0, Vec::len);
        assert_eq!(held, callbacks.len(), "round {round}: every acknowledged call-back survives");
        base = offered;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}
