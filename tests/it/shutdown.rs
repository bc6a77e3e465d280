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
