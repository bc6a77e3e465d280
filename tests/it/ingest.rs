//! Ingest over the real WebSocket: exact counts, bad input, duplicates, order, auth.

use std::collections::HashMap;
use std::time::Duration;

use floorwatch::config::Config;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::harness::{Bridge, TestDaemon, metric_sum, ts};

/// 100k+ events over four connections, the events of one call scattered across
/// connections (so answers overtake offers), through a one-slot engine channel (so
/// ingest is under constant backpressure): every count must be exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_counts_for_100k_events_over_four_connections() {
    let mut cfg = Config::default();
    cfg.ingest.channel_capacity = 1;
    let d = TestDaemon::with_config(cfg).await;

    let mut rng = StdRng::seed_from_u64(7);
    let queues = ["billing", "cards", "tech", "vip"];
    let mut per_conn: Vec<Vec<serde_json::Value>> = vec![Vec::new(); 4];
    let mut expect: HashMap<&str, (u64, u64, u64)> = HashMap::new();
    let mut total = 0u64;
    let mut call = 0;
    while total < 100_000 {
        call += 1;
        let q = queues[rng.random_range(0..queues.len())];
        let t = rng.random_range(0.0..500.0);
        let id = format!("C{call}");
        let mut evs = vec![json!({"type":"call_offered","ts":ts(t),"call":id,"queue":q})];
        let e = expect.entry(q).or_default();
        e.0 += 1;
        match rng.random_range(0..10) {
            0..=6 => {
                let agent = format!("A{}", rng.random_range(0..300));
                evs.push(json!({"type":"call_answered","ts":ts(t + 5.0),"call":id,"agent":agent}));
                evs.push(json!({"type":"call_ended","ts":ts(t + 60.0),"call":id,"agent":agent}));
                e.1 += 1;
            }
            7..=8 => {
                evs.push(json!({"type":"call_abandoned","ts":ts(t + 30.0),"call":id}));
                e.2 += 1;
            }
            _ => {} // still waiting
        }
        for ev in evs {
            per_conn[rng.random_range(0..4)].push(ev);
            total += 1;
        }
    }

    let mut tasks = Vec::new();
    for events in per_conn {
        let url = d.ws_url(None);
        tasks.push(tokio::spawn(async move {
            let mut b = Bridge::connect(&url, None).await.expect("connect");
            for chunk in events.chunks(100) {
                b.send(serde_json::Value::Array(chunk.to_vec()).to_string()).await;
            }
            b.close().await;
        }));
    }
    for t in tasks {
        t.await.expect("bridge task");
    }
    d.wait_events(total).await;

    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[]), 0.0);
    for (q, (off, ans, ab)) in &expect {
        let l = [("queue", *q)];
        assert_eq!(metric_sum(&m, "floorwatch_calls_offered_total", &l) as u64, *off, "{q} offered");
        assert_eq!(metric_sum(&m, "floorwatch_calls_answered_total", &l) as u64, *ans, "{q} answered");
        assert_eq!(metric_sum(&m, "floorwatch_calls_abandoned_total", &l) as u64, *ab, "{q} abandoned");
    }
    let waiting: u64 = expect.values().map(|(o, a, b)| o - a - b).sum();
    let floor = d
        .wait_floor(|f| {
            f["queues"].as_array().is_some_and(|qs| {
                qs.iter().map(|q| q["waiting"].as_u64().unwrap_or(0)).sum::<u64>() == waiting
            })
        })
        .await;
    for q in floor["queues"].as_array().expect("queues") {
        let name = q["id"].as_str().expect("id");
        let (off, ans, ab) = expect[name];
        assert_eq!(q["offered"], off);
        assert_eq!(q["waiting"].as_u64(), Some(off - ans - ab), "{name}");
        // All events are within the last 60 minutes.
        assert_eq!(q["windows"]["60m"]["offered"], off);
        assert_eq!(q["windows"]["60m"]["answered"], ans);
    }
}

/// Each kind of bad event is refused alone, with an error frame naming its reason
/// and index; the good events around it count and the connection stays usable.
#[tokio::test]
async fn bad_events_are_rejected_alone_and_the_connection_survives() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(None).await;
    let good = |n: u32| json!({"type":"call_offered","ts":ts(1.0),"call":format!("G{n}"),"queue":"billing"});
    let bad = [
        (json!({"type":"teleport","ts":ts(1.0)}), "unknown_type"),
        (json!({"type":"call_offered","ts":ts(1.0),"call":"X1"}), "missing_field"),
        (json!({"type":"call_offered","ts":"noon","call":"X2","queue":"billing"}), "bad_timestamp"),
        (json!({"type":"agent_state","ts":ts(1.0),"agent":"A1","state":"sleeping"}), "unknown_state"),
        (json!({"type":"call_offered","ts":ts(1.0),"call":17,"queue":"billing"}), "invalid_field"),
        (json!("hello"), "not_an_object"),
    ];
    let mut n = 0;
    let mut expected_good = 0;
    for (ev, reason) in &bad {
        n += 1;
        b.send(json!([good(n * 10), ev, good(n * 10 + 1)]).to_string()).await;
        expected_good += 2;
        let err = b.recv_json(Duration::from_secs(10)).await.expect("an error frame");
        assert_eq!(err["type"], "error");
        assert_eq!(err["reason"], *reason, "{err}");
        assert_eq!(err["index"], 1, "{err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A frame that is not JSON at all: refused as a whole, no index.
    b.send("{\"type\": \"call_offered\", oops").await;
    let err = b.recv_json(Duration::from_secs(10)).await.expect("an error frame");
    assert_eq!(err["reason"], "bad_json");
    // Binary frames are refused with an error frame; the connection goes on.
    b.ws.send(tokio_tungstenite::tungstenite::Message::Binary(vec![1, 2, 3].into())).await.expect("send");
    let err = b.recv_json(Duration::from_secs(10)).await.expect("an error frame");
    assert_eq!(err["reason"], "binary_frame");
    // Still alive: one more good event is accepted.
    b.send(good(999).to_string()).await;
    expected_good += 1;
    d.wait_events(expected_good).await;

    let m = d.metrics().await;
    for (_, reason) in &bad {
        assert_eq!(
            metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", reason)]),
            1.0,
            "{reason}"
        );
    }
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "bad_json")]), 1.0);
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "binary_frame")]), 1.0);
    assert_eq!(
        metric_sum(&m, "floorwatch_calls_offered_total", &[("queue", "billing")]),
        expected_good as f64
    );
}

use futures_util::SinkExt;

/// A frame over the size limit closes the connection with 1009 and is counted; the
/// daemon and other connections carry on.
#[tokio::test]
async fn oversized_frame_is_refused_with_close_1009() {
    let mut cfg = Config::default();
    cfg.ingest.max_frame_bytes = 4096;
    let d = TestDaemon::with_config(cfg).await;
    let mut other = d.bridge(None).await;
    let mut b = d.bridge(None).await;
    let big: Vec<_> = (0..200).map(|i| json!({"type":"heartbeat","ts":ts(i as f64)})).collect();
    let frame = serde_json::Value::Array(big).to_string();
    assert!(frame.len() > 4096);
    let _ = b.ws.send(tokio_tungstenite::tungstenite::Message::Text(frame.into())).await;
    let mut saw_error = false;
    let mut close_code = None;
    while let Ok(Some(msg)) =
        tokio::time::timeout(Duration::from_secs(10), futures_util::StreamExt::next(&mut b.ws)).await
    {
        match msg {
            Ok(tokio_tungstenite::tungstenite::Message::Text(t)) => {
                saw_error |= t.contains("frame_too_large");
            }
            Ok(tokio_tungstenite::tungstenite::Message::Close(f)) => {
                close_code = f.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(saw_error, "an error frame names the reason");
    assert_eq!(close_code, Some(1009));
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "frame_too_large")]), 1.0);
    other.send(json!({"type":"heartbeat","ts":ts(1.0)}).to_string()).await;
    d.wait_events(1).await;
}

/// A bridge that reconnects under the same source and replays: events not above
/// the last seq are dropped and counted; a jump is counted as a gap.
#[tokio::test]
async fn duplicates_and_gaps_across_a_reconnect() {
    let d = TestDaemon::start().await;
    let offer = |seq: u64| json!({"type":"call_offered","ts":ts(seq as f64),"seq":seq,"call":format!("C{seq}"),"queue":"billing"});
    let mut b = d.bridge(Some("acd-1")).await;
    b.send(serde_json::Value::Array((1..=10).map(offer).collect()).to_string()).await;
    d.wait_events(10).await;
    b.close().await;

    let mut b = d.bridge(Some("acd-1")).await;
    // Replays 8..=10, then new events 11..=15.
    b.send(serde_json::Value::Array((8..=15).map(offer).collect()).to_string()).await;
    d.wait_events(15).await;
    // 16..=19 lost upstream.
    b.send(offer(20).to_string()).await;
    d.wait_events(16).await;
    // Another source's seq numbers are its own.
    let mut c = d.bridge(Some("acd-2")).await;
    c.send(offer(3).to_string()).await;
    d.wait_events(17).await;

    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "duplicate")]), 3.0);
    assert_eq!(metric_sum(&m, "floorwatch_ingest_seq_gaps_total", &[]), 1.0);
    assert_eq!(metric_sum(&m, "floorwatch_ingest_seq_missing_total", &[]), 4.0);
    // C3 was offered by both sources: the same call id, so it is counted once.
    assert_eq!(metric_sum(&m, "floorwatch_calls_offered_total", &[("queue", "billing")]), 16.0);
    let f = d.wait_floor(|f| f["sources"].as_array().is_some_and(|s| s.len() >= 2)).await;
    let src: Vec<_> = f["sources"].as_array().expect("sources").iter().map(|s| s["id"].clone()).collect();
    assert!(src.contains(&json!("acd-1")) && src.contains(&json!("acd-2")), "{src:?}");
}

/// Events of one call on two connections, the answer and end first: counts and
/// the wait come out as if they had arrived in order.
#[tokio::test]
async fn answer_before_offer_across_connections() {
    let d = TestDaemon::start().await;
    let mut a = d.bridge(None).await;
    let mut b = d.bridge(None).await;
    a.send(json!({"type":"call_answered","ts":ts(12.0),"call":"C1","agent":"A1"}).to_string()).await;
    a.send(json!({"type":"call_ended","ts":ts(90.0),"call":"C1","agent":"A1"}).to_string()).await;
    a.send(json!({"type":"call_ended","ts":ts(91.0),"call":"NEVER","agent":"A2"}).to_string()).await;
    d.wait_events(3).await;
    b.send(json!({"type":"call_offered","ts":ts(2.0),"call":"C1","queue":"billing"}).to_string()).await;
    d.wait_events(4).await;
    let f = d
        .wait_floor(|f| f["queues"].as_array().is_some_and(|q| q.iter().any(|q| q["id"] == "billing")))
        .await;
    let q = f["queues"].as_array().expect("queues").iter().find(|q| q["id"] == "billing").expect("billing");
    assert_eq!(
        (q["offered"].clone(), q["answered"].clone(), q["waiting"].clone()),
        (json!(1), json!(1), json!(0))
    );
    assert_eq!(q["windows"]["15m"]["asa_secs"], 10.0);
    assert_eq!(q["windows"]["15m"]["service_level"], 1.0);
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_event_anomalies_total", &[("kind", "end_of_unknown_call")]), 1.0);
}

/// With a token configured, the handshake needs it (401 otherwise, before any
/// event is read); without one, loopback is accepted (the default in every other test).
#[tokio::test]
async fn token_is_checked_at_the_handshake() {
    let mut cfg = Config::default();
    cfg.ingest.token = Some("s3cret".into());
    let d = TestDaemon::with_config(cfg).await;
    let url = d.ws_url(None);
    for token in [None, Some("wrong")] {
        match Bridge::connect(&url, token).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
            Err(e) => panic!("expected 401, got {e}"),
            Ok(_) => panic!("handshake with token {token:?} must be refused"),
        }
    }
    let mut b = Bridge::connect(&url, Some("s3cret")).await.expect("right token is accepted");
    b.send(json!({"type":"heartbeat","ts":ts(0.0)}).to_string()).await;
    d.wait_events(1).await;
    let m = d.metrics().await;
    assert_eq!(
        metric_sum(&m, "floorwatch_ingest_connections_refused_total", &[("reason", "unauthorized")]),
        2.0
    );
}

/// The agent side of the floor as the API shows it.
#[tokio::test]
async fn api_floor_shows_agents_teams_and_windows() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts(0.0),"agent":"A1","name":"张伟","team":"team-1"},
            {"type":"agent_login","ts":ts(0.0),"agent":"A2","name":"Emily Chen","team":"team-1"},
            {"type":"agent_state","ts":ts(30.0),"agent":"A2","state":"not_ready","reason":"lunch"},
            {"type":"call_offered","ts":ts(40.0),"call":"C1","queue":"billing","caller":"+8613800000001"},
            {"type":"call_answered","ts":ts(45.0),"call":"C1","agent":"A1"},
            {"type":"fault","ts":ts(50.0),"component":"trunk-2","status":"down","detail":"E1 lost carrier"}
        ])
        .to_string(),
    )
    .await;
    d.wait_events(6).await;
    let f = d.wait_floor(|f| f["logged_in"] == 2).await;
    assert_eq!(f["windows"], json!(["15m", "60m", "shift"]));
    assert_eq!(f["agents_by_state"]["talking"], 1);
    assert_eq!(f["agents_by_state"]["not_ready"], 1);
    let a1 = &f["agents"][0];
    assert_eq!(
        (a1["id"].clone(), a1["name"].clone(), a1["state"].clone()),
        (json!("A1"), json!("张伟"), json!("talking"))
    );
    assert_eq!(a1["call"], "C1");
    assert_eq!(a1["queue"], "billing");
    assert_eq!(a1["handled_today"], 1);
    assert_eq!(f["agents"][1]["reason"], "lunch");
    assert!(f["agents"][1]["time_in_state_secs"].as_f64().is_some_and(|s| s > 0.0));
    assert_eq!(f["teams"][0]["agents_by_state"]["talking"], 1);
    assert_eq!(f["faults"][0]["component"], "trunk-2");
    let (status, body) = d.get("/api/floor?agents=false&team=team-1").await;
    assert_eq!(status, 200);
    let f: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(f.get("agents").is_none());
    assert_eq!(f["teams"].as_array().map(Vec::len), Some(1));
    let (status, _) = d.get("/healthz").await;
    assert_eq!(status, 200);
}
