//! Shutdown while a bridge is streaming: stop accepting, close sessions with 1001,
//! drain every accepted event into the floor.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use crate::harness::{TestDaemon, ts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_streaming_drains_and_closes_sessions() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(Some("acd")).await;
    let snapshot = d.daemon().snapshot.clone();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let streamer = tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            let batch: Vec<_> = (0..50)
                .map(|i| json!({"type":"call_offered","ts":ts(1.0),"call":format!("C{n}-{i}"),"queue":"billing"}))
                .collect();
            use futures_util::SinkExt;
            let frame = tokio_tungstenite::tungstenite::Message::Text(json!(batch).to_string().into());
            if b.ws.send(frame).await.is_err() {
                break;
            }
            counter.fetch_add(50, Ordering::SeqCst);
            n += 1;
            if n % 20 == 0 {
                tokio::task::yield_now().await;
            }
            if n > 200_000 {
                break;
            }
        }
        b.recv_close().await
    });
    // Let some traffic flow, then stop.
    d.wait_floor(|f| f["events_applied"].as_u64().is_some_and(|n| n > 2_000)).await;
    let addr = d.addr;
    d.shutdown().await.expect("clean shutdown");
    let close = streamer.await.expect("streamer");
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1001), "sessions are closed with 'going away'");
    // Everything the engine accepted is in its last snapshot; nothing is applied twice.
    let applied = snapshot.borrow().events_applied;
    assert!(applied > 2_000 && applied <= sent.load(Ordering::SeqCst), "applied {applied}");
    // The port no longer accepts connections.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "still accepting after shutdown");
}

/// The traffic profiles the rules learned are on disk after a graceful shutdown:
/// the engine hands its last baselines over without waiting, and the daemon waits
/// for them to be saved before the store closes, so a restart does not learn them
/// afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_baselines_are_saved_before_the_store_closes() {
    use floorwatch::app::Daemon;
    use floorwatch::clock::Clock;
    use floorwatch::config::Config;

    use crate::harness::{Bridge, PATIENCE};

    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let d = Daemon::start(cfg, listener, Clock::system()).await.expect("daemon starts");
    let mut b =
        Bridge::connect(&format!("ws://{}/ingest?source=acd", d.addr), None).await.expect("handshake");
    b.send(json!([{"type":"call_offered","ts":ts(1.0),"call":"C1","queue":"billing"}]).to_string()).await;
    let mut snapshot = d.snapshot.clone();
    tokio::time::timeout(PATIENCE, snapshot.wait_for(|s| s.events_applied == 1))
        .await
        .expect("applied")
        .expect("engine running");
    d.shutdown();
    tokio::time::timeout(PATIENCE, d.wait()).await.expect("shutdown finishes").expect("clean shutdown");

    let store = floorwatch::store::StoreHandle::open(dir.path()).expect("reopen");
    let queues: Vec<String> =
        store.load_baselines().await.expect("load").into_iter().map(|(q, _)| q.to_string()).collect();
    assert_eq!(queues, ["billing"]);
    store.close().await;
}
