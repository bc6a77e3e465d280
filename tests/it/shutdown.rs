//! Shutdown while bridges are streaming: stop accepting, close sessions with 1001,
//! drain every accepted event into the floor.
//!
//! "Accepted" is what the daemon's ingest took in, not what the bridge sent: frames
//! still in the socket's buffers at shutdown were never read, so `applied <= sent`
//! alone would also pass for an engine that dropped its queue at shutdown.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::harness::{TestDaemon, ts};

/// Bridges streaming at once: together they outpace the one engine, so its queue
/// still holds batches when the sessions close (with an empty queue, an engine that
/// dropped it would pass too). Checked by breaking the drain: the last sender's
/// leave found thousands of events queued.
const BRIDGES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_streaming_drains_and_closes_sessions() {
    let d = TestDaemon::start().await;
    let snapshot = d.daemon().snapshot.clone();
    // The daemon's own counters, read in-process after it has stopped.
    let metrics = d.daemon().metrics.clone();
    let ingest = d.daemon().ingest.clone();
    let sent = Arc::new(AtomicU64::new(0));
    let mut streamers = Vec::new();
    for k in 0..BRIDGES {
        let mut b = d.bridge(Some(&format!("acd-{k}"))).await;
        let counter = sent.clone();
        let at = ts(1.0);
        streamers.push(tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                // Written out by hand: a bridge cheaper than the engine, which is
                // what fills the engine's queue.
                let mut text = String::with_capacity(50 * 96);
                for i in 0..50 {
                    text.push(if i == 0 { '[' } else { ',' });
                    let _ = write!(
                        text,
                        r#"{{"type":"call_offered","ts":"{at}","call":"C{k}-{n}-{i}","queue":"billing"}}"#
                    );
                }
                text.push(']');
                use futures_util::SinkExt;
                let frame = tokio_tungstenite::tungstenite::Message::Text(text.into());
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
        }));
    }
    // Let some traffic flow, then stop.
    d.wait_floor(|f| f["events_applied"].as_u64().is_some_and(|n| n > 2_000)).await;
    let addr = d.addr;
    d.shutdown().await.expect("clean shutdown");
    for streamer in streamers {
        let close = streamer.await.expect("streamer");
        assert_eq!(close.map(|c| u16::from(c.code)), Some(1001), "sessions are closed with 'going away'");
    }
    // Everything the engine accepted is in its last snapshot; nothing is applied twice.
    let applied = snapshot.borrow().events_applied;
    assert!(applied > 2_000 && applied <= sent.load(Ordering::SeqCst), "applied {applied}");
    // What ingest accepted: every event of every frame a session read, less those it
    // refused (none: all are valid and carry no seq to deduplicate). A session hands
    // a frame's events to the engine before it reads the next, and the engine ends
    // only after every session has let go of its sender, so this count is final and
    // each of these events went into the engine's queue.
    let frames = ingest.frames.get();
    let refused: u64 = ingest.rejected.iter().map(|c| c.get()).sum();
    assert_eq!(refused, 0, "no event of the stream is refused");
    let accepted = frames * 50;
    // Shutdown drains that queue: an engine that dropped what was still queued (or
    // stopped reading it) when the sessions closed would fall short here.
    assert_eq!(applied, accepted, "applied {applied} of {accepted} accepted events ({frames} frames)");
    let counted: u64 = metrics.events.iter().map(|c| c.get()).sum();
    assert_eq!(counted, applied, "every applied event is counted before the engine ends");
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

    use serde_json::json;

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

/// Every long-lived task is supervised, not only the engine: when one of them
/// ends while the daemon serves (here the store's writer, closed behind the
/// daemon's back), the daemon shuts itself down with an error naming the task,
/// which `main` turns into exit code 1, instead of serving on without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervised_task_that_stops_while_serving_shuts_the_daemon_down_with_an_error() {
    use floorwatch::app::Daemon;
    use floorwatch::clock::Clock;
    use floorwatch::config::Config;

    use crate::harness::PATIENCE;

    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let d = Daemon::start(cfg, listener, Clock::system()).await.expect("daemon starts");
    let addr = d.addr;
    d.store.close().await;
    let err = tokio::time::timeout(PATIENCE, d.wait())
        .await
        .expect("the daemon stops by itself")
        .expect_err("a task died: the daemon fails");
    assert!(err.to_string().contains("store writer"), "the error names the task: {err}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "still accepting after the fault");
}
