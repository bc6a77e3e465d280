//! Tests of the simulator: the model's invariants over a long run (what every
//! demo and benchmark relies on) and the transport against a bare WebSocket server.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_util::sync::CancellationToken;

use super::*;

fn cfg(seed: u64) -> SimConfig {
    SimConfig { seed, ..SimConfig::default() }
}

/// 09:30 China time: the run crosses the morning peak into the lunch window.
fn start() -> DateTime<Utc> {
    "2026-11-23T01:30:00Z".parse().expect("valid time")
}

fn simulate(cfg: &SimConfig, secs: i64, step_ms: i64) -> (SimModel, Vec<SimEvent>) {
    let mut model = SimModel::new(cfg, start());
    let mut out = Vec::new();
    let end = start() + chrono::Duration::seconds(secs);
    let mut t = start();
    while t < end {
        t = (t + chrono::Duration::milliseconds(step_ms)).min(end);
        model.advance_to(t, &mut out);
    }
    (model, out)
}

fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

/// Replays the stream and checks call and agent bookkeeping as the daemon would
/// see it; returns per-queue (offered, answered, abandoned) and what it measured.
#[derive(Default)]
struct Audit {
    per_queue: HashMap<String, (usize, usize, usize)>,
    acw_secs: Vec<f64>,
    away: Vec<(String, f64)>,
    max_away: usize,
    offers: Vec<(DateTime<Utc>, String)>,
    faults: Vec<(DateTime<Utc>, String, String)>,
    lunch_starts: Vec<DateTime<Utc>>,
    heartbeats: usize,
    logins: HashSet<String>,
    /// Agent-seconds per state, counted when the state ends.
    state_secs: HashMap<String, f64>,
}

fn audit(events: &[SimEvent]) -> Audit {
    let mut a = Audit::default();
    let mut last_ts = events.first().map(|e| e.ts()).unwrap_or_default();
    // call -> (queue, ringing agent, answered, done)
    let mut calls: HashMap<String, (String, Option<String>, bool, bool)> = HashMap::new();
    // agent -> (current call, state, since, reason)
    type AgentSeen = (Option<String>, &'static str, DateTime<Utc>, Option<&'static str>);
    let mut agents: HashMap<String, AgentSeen> = HashMap::new();
    for e in events {
        assert!(e.ts() >= last_ts, "time went backwards at {e:?}");
        last_ts = e.ts();
        match e.kind() {
            SimEventKind::AgentLogin { agent, name, team } => {
                assert!(!name.is_empty() && team.starts_with("team-"));
                assert!(a.logins.insert(agent.to_string()), "{agent} logged in twice");
                agents.insert(agent.to_string(), (None, "ready", e.ts(), None));
            }
            SimEventKind::AgentState { agent, state, reason, queue, call } => {
                let cur = agents.get_mut(&**agent).expect("state of an agent never logged in");
                *a.state_secs.entry(cur.1.to_owned()).or_default() += secs_between(cur.2, e.ts());
                match (cur.1, cur.3) {
                    ("acw", _) => a.acw_secs.push(secs_between(cur.2, e.ts())),
                    ("not_ready", Some(r)) => a.away.push((r.to_owned(), secs_between(cur.2, e.ts()))),
                    _ => {}
                }
                match *state {
                    "ringing" => {
                        assert!(cur.0.is_none(), "{agent} rings while on {:?}", cur.0);
                        assert_eq!(cur.1, "ready", "{agent} rang from {}", cur.1);
                        let c = call.as_ref().expect("ringing names its call");
                        let rec = calls.get_mut(&**c).expect("rings for an offered call");
                        assert!(rec.1.is_none() && !rec.2 && !rec.3, "{c} rang twice");
                        assert_eq!(queue.as_deref(), Some(rec.0.as_str()));
                        rec.1 = Some(agent.to_string());
                        cur.0 = Some(c.to_string());
                    }
                    "talking" | "hold" | "acw" => {
                        assert!(cur.0.is_some() && cur.0.as_deref() == call.as_deref(), "{e:?}");
                    }
                    "ready" | "not_ready" => {
                        let from: &[&str] =
                            if *state == "ready" { &["acw", "not_ready"] } else { &["acw", "ready"] };
                        assert!(from.contains(&cur.1), "{agent} {} -> {state}", cur.1);
                        assert!(call.is_none());
                        cur.0 = None;
                    }
                    other => panic!("unknown state {other}"),
                }
                assert_eq!(reason.is_some(), *state == "not_ready");
                if *reason == Some("lunch") {
                    a.lunch_starts.push(e.ts());
                }
                cur.1 = state;
                cur.2 = e.ts();
                cur.3 = *reason;
                let away = agents.values().filter(|s| s.1 == "not_ready").count();
                a.max_away = a.max_away.max(away);
            }
            SimEventKind::CallOffered { call, queue, caller } => {
                assert!(caller.starts_with("+861") && caller.len() == 14, "{caller}");
                let fresh = calls.insert(call.to_string(), (queue.to_string(), None, false, false));
                assert!(fresh.is_none(), "call id {call} reused");
                a.per_queue.entry(queue.to_string()).or_default().0 += 1;
                a.offers.push((e.ts(), queue.to_string()));
            }
            SimEventKind::CallAnswered { call, agent, queue } => {
                let rec = calls.get_mut(&**call).expect("answered call was offered");
                assert!(!rec.2 && !rec.3, "{call} answered or abandoned before");
                assert_eq!(rec.1.as_deref(), Some(&**agent), "{call} answered by whom?");
                assert_eq!(rec.0, **queue);
                rec.2 = true;
                a.per_queue.entry(queue.to_string()).or_default().1 += 1;
            }
            SimEventKind::CallAbandoned { call, queue } => {
                let rec = calls.get_mut(&**call).expect("abandoned call was offered");
                assert!(!rec.2 && !rec.3 && rec.1.is_none(), "{call} abandoned after pickup");
                rec.3 = true;
                a.per_queue.entry(queue.to_string()).or_default().2 += 1;
            }
            SimEventKind::CallEnded { call, agent } => {
                let rec = calls.get_mut(&**call).expect("ended call was offered");
                assert!(rec.2 && !rec.3, "{call} ended without an answer");
                assert_eq!(rec.1.as_deref(), Some(&**agent));
                rec.3 = true;
            }
            SimEventKind::Heartbeat => a.heartbeats += 1,
            SimEventKind::Fault { component, status, detail } => {
                assert!(!detail.is_empty());
                a.faults.push((e.ts(), component.to_string(), status.to_string()));
            }
        }
    }
    a
}

#[test]
fn two_hours_of_a_sixty_agent_floor_keep_their_invariants() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEEDS") {
        Ok(n) => (0..n.parse().unwrap_or(1)).collect(),
        Err(_) => vec![20261123, 1, 2],
    };
    for seed in seeds {
        check_two_hours(seed);
    }
}

fn check_two_hours(seed: u64) {
    let cfg = cfg(seed);
    let (model, events) = simulate(&cfg, 2 * 3600, 997);
    let a = audit(&events);

    assert_eq!(a.logins.len(), 60);
    assert!((3590..=3601).contains(&a.heartbeats), "{}", a.heartbeats);
    assert!(a.max_away <= 9, "{} of 60 away at once", a.max_away);

    // The model's own count of unanswered calls matches the stream's.
    for (queue, waiting) in model.calls_waiting() {
        let (offered, answered, abandoned) = a.per_queue.get(&*queue).copied().unwrap_or_default();
        assert!(offered > 100, "{queue}: only {offered} offered");
        assert_eq!(offered, answered + abandoned + waiting, "{queue}");
    }
    let offered: usize = a.per_queue.values().map(|q| q.0).sum();
    let answered: usize = a.per_queue.values().map(|q| q.1).sum();
    let rate = answered as f64 / offered as f64;
    assert!(rate > 0.70 && rate < 0.99, "answer rate {rate:.3} of {offered}");
    let (billing, tech) = (a.per_queue["billing"].0, a.per_queue["tech"].0);
    // Occupancy: time on calls (ringing to end of ACW) over time available.
    let busy: f64 = ["ringing", "talking", "hold", "acw"].iter().map(|s| a.state_secs[*s]).sum();
    let occupancy = busy / (busy + a.state_secs["ready"]);
    assert!((0.72..0.92).contains(&occupancy), "peak occupancy {occupancy:.3}");
    assert!(a.state_secs["hold"] > 0.0);
    assert!(billing * 10 > 17 * tech && billing < 3 * tech, "billing {billing} tech {tech}");

    // ACW: mostly short, ~5 % overruns past the 120 s threshold.
    let long = a.acw_secs.iter().filter(|&&s| s > 120.0).count();
    assert!(long > 0 && (long as f64) < 0.12 * a.acw_secs.len() as f64, "{long}");
    assert!(a.acw_secs.iter().all(|&s| s <= 400.0));

    // Not-ready: overruns of the break (15 min) and system (5 min) thresholds.
    let overrun = |r: &str, limit: f64| a.away.iter().filter(|(x, s)| x == r && *s > limit).count();
    assert!(overrun("break", 900.0) + overrun("system", 300.0) > 0, "no not_ready overrun");
    assert!(a.away.iter().all(|(r, s)| *s >= 60.0 && *s <= 3600.0 && r != "lunch" || *s >= 1800.0));
    // Lunch only from 11:00 local (03:00 UTC).
    assert!(!a.lunch_starts.is_empty());
    assert!(
        a.lunch_starts.iter().all(|t| *t >= "2026-11-23T03:00:00Z".parse::<DateTime<Utc>>().expect("time"))
    );

    // Faults alternate down/up, last 60–90 s, and start every 300 s.
    assert!(a.faults.len() >= 4, "{:?}", a.faults);
    for pair in a.faults.chunks(2) {
        let [(t0, c0, s0), (t1, c1, s1)] = pair else { continue };
        assert_eq!((s0.as_str(), s1.as_str(), c0), ("down", "up", c1));
        assert!((60.0..=90.0).contains(&secs_between(*t0, *t1)));
    }
    assert_eq!(a.faults[0].1, "trunk-2");
    assert!(a.faults.iter().any(|f| f.1 != "trunk-2"));

    // Surges: the rotating queue gets about 3× its traffic for the first 90 s of
    // each 240 s period, compared with the quiet 90 s at the end of the period.
    let queues = ["billing", "cards", "tech"];
    let (mut hot, mut calm) = (0, 0);
    for k in 1..(2 * 3600 / 240) {
        let q = queues[(k as usize - 1) % 3];
        let from = start() + chrono::Duration::seconds(240 * k);
        for (t, queue) in &a.offers {
            let s = secs_between(from, *t);
            if queue == q && (0.0..90.0).contains(&s) {
                hot += 1;
            } else if queue == q && (140.0..230.0).contains(&s) {
                calm += 1;
            }
        }
    }
    assert!(hot as f64 > 2.0 * calm as f64, "surge windows {hot} vs calm {calm}");
}

#[test]
fn every_event_serialises_to_a_canonical_object() {
    let (_, events) = simulate(&cfg(5), 1800, 250);
    let required: HashMap<&str, &[&str]> = HashMap::from([
        ("agent_login", &["agent", "name", "team", "state"][..]),
        ("agent_state", &["agent", "state"][..]),
        ("call_offered", &["call", "queue", "caller"][..]),
        ("call_answered", &["call", "agent", "queue"][..]),
        ("call_abandoned", &["call", "queue"][..]),
        ("call_ended", &["call", "agent"][..]),
        ("heartbeat", &[][..]),
        ("fault", &["component", "status", "detail"][..]),
    ]);
    let mut seen = HashSet::new();
    for (i, e) in events.iter().enumerate() {
        let seq = 1000 + i as u64;
        let v: Value = serde_json::from_str(&e.to_json(seq, "demo-acd")).expect("valid json");
        let ty = v["type"].as_str().expect("type");
        assert_eq!(ty, e.type_name());
        seen.insert(ty.to_owned());
        assert_eq!(v["seq"].as_u64(), Some(seq));
        assert_eq!(v["source"], "demo-acd");
        let ts = v["ts"].as_str().expect("ts");
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z'));
        assert_eq!(ts.parse::<DateTime<Utc>>().expect("rfc 3339"), e.ts());
        for field in required[ty] {
            assert!(v[field].is_string(), "{ty} lacks {field}: {v}");
        }
        let object = v.as_object().expect("object");
        assert!(object.values().all(|x| !x.is_null()), "{v}");
        if ty == "agent_state" && v["state"] == "not_ready" {
            assert!(v["reason"].is_string());
        }
    }
    assert_eq!(seen.len(), required.len(), "types seen: {seen:?}");

    let batch: Value = serde_json::from_str(&event::batch_json(&events[..3], 7, "x")).expect("json");
    let seqs: Vec<u64> = batch.as_array().expect("array").iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(seqs, [7, 8, 9]);
}

#[test]
fn same_seed_same_floor_whatever_the_step() {
    let (_, coarse) = simulate(&cfg(42), 1800, 60_000);
    let (_, fine) = simulate(&cfg(42), 1800, 137);
    assert!(coarse.len() > 1000);
    assert_eq!(coarse, fine);
    let (_, other) = simulate(&cfg(43), 1800, 60_000);
    assert_ne!(coarse, other);
}

#[test]
fn knobs_change_the_floor() {
    let quiet = SimConfig { surge_every_secs: 0, fault_every_secs: 0, overruns: false, ..cfg(9) };
    let (_, events) = simulate(&quiet, 3600, 5000);
    let a = audit(&events);
    assert!(a.faults.is_empty());
    assert!(a.acw_secs.iter().all(|&s| s <= 120.0));
    assert!(a.away.iter().all(|(r, s)| !(r == "break" && *s > 900.0 || r == "system" && *s > 300.0)));

    let busy = SimConfig { calls_per_min: Some(60.0), agents: 10, teams: 2, ..cfg(9) };
    let (model, events) = simulate(&busy, 1800, 5000);
    let a = audit(&events);
    let offered: usize = a.per_queue.values().map(|q| q.0).sum();
    // 60/min at peak, 09:30–10:00 is about 0.95 of it, plus surges.
    assert!((1500..2600).contains(&offered), "{offered}");
    let abandoned: usize = a.per_queue.values().map(|q| q.2).sum();
    assert!(abandoned > offered / 2, "10 agents cannot take 60 calls a minute");
    assert!(model.calls_waiting().iter().map(|q| q.1).sum::<usize>() > 0);

    // A fault loses a share of arrivals: compare each fault with as long a span
    // just before it (no surges here to blur the picture).
    let faulty = SimConfig { surge_every_secs: 0, ..cfg(9) };
    let (_, events) = simulate(&faulty, 4 * 3600, 5000);
    let a = audit(&events);
    let (mut during, mut before) = (0, 0);
    for pair in a.faults.chunks(2) {
        let [(down, ..), (up, ..)] = pair else { continue };
        let span = *up - *down;
        during += a.offers.iter().filter(|(t, _)| t >= down && t < up).count();
        before += a.offers.iter().filter(|(t, _)| *t >= *down - span && t < down).count();
    }
    assert!(before > 200 && (during as f64) < 0.8 * before as f64, "during {during}, before {before}");
}

#[test]
fn an_hour_of_a_large_floor_is_quick() {
    let big = SimConfig { agents: 600, teams: 12, ..cfg(3) };
    let started = tokio::time::Instant::now();
    let (_, events) = simulate(&big, 3600, 100);
    let took = started.elapsed();
    assert!(events.len() > 50_000, "{}", events.len());
    // Generous for unoptimised test builds on a shared machine.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// What the test server saw on one connection.
#[derive(Debug, Default)]
struct Conn {
    frames: Vec<Vec<Value>>,
    auth: Option<String>,
    closed_cleanly: bool,
}

/// Accepts two connections: drops the first on its fourth frame (having rejected
/// one event of the first), keeps the second until the client closes it.
/// Each frame kept is told on `progress` as (connection, its highest seq).
async fn flaky_server(listener: TcpListener, progress: mpsc::UnboundedSender<(usize, u64)>) -> Vec<Conn> {
    let mut conns = Vec::new();
    for round in 0..2 {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut auth = None;
        #[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
        let grab = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            Ok(resp)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, grab).await.expect("handshake");
        let mut conn = Conn { auth, ..Conn::default() };
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    if round == 0 && conn.frames.len() == 3 {
                        // The fourth frame is read and thrown away with the
                        // connection: sent by the client, never arrived. (A pause
                        // before the drop left this to timing: on a loaded machine
                        // the client might write nothing in it.)
                        break;
                    }
                    let v: Value = serde_json::from_str(t.as_str()).expect("frame is json");
                    let batch = v.as_array().expect("frame is a batch").clone();
                    let top = batch.iter().filter_map(|e| e["seq"].as_u64()).max().unwrap_or(0);
                    conn.frames.push(batch);
                    if round == 0 && conn.frames.len() == 1 {
                        let err = r#"{"type":"error","reason":"bad_ts","index":0,"message":"test"}"#;
                        ws.send(Message::text(err)).await.expect("send error frame");
                    }
                    let _ = progress.send((round, top));
                }
                Ok(Message::Close(_)) => conn.closed_cleanly = true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        conns.push(conn);
    }
    conns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_batches_and_carries_seq_across_a_reconnect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/ingest", listener.local_addr().expect("addr"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = tokio::spawn(flaky_server(listener, tx));

    let cfg = SimConfig {
        url,
        token: Some("s3cret".to_owned()),
        agents: 20,
        teams: 2,
        speed: 30.0,
        batch_ms: 40,
        max_batch: 25,
        seed: 11,
        ..SimConfig::default()
    };
    let cancel = CancellationToken::new();
    let sim = tokio::spawn(run(cfg, cancel.clone()));

    // Let the second connection carry a few frames and the stream pass seq 20
    // (waited for, not timed: a loaded machine sends smaller frames), then
    // shut down.
    let (mut on_second, mut top) = (0, 0);
    while on_second < 5 || top <= 20 {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some((round, seq))) => {
                top = top.max(seq);
                if round == 1 {
                    on_second += 1;
                }
            }
            other => panic!("server stalled: {other:?}"),
        }
    }
    cancel.cancel();
    let stats = tokio::time::timeout(Duration::from_secs(5), sim)
        .await
        .expect("run stops when cancelled")
        .expect("no panic")
        .expect("run succeeds");
    let conns =
        tokio::time::timeout(Duration::from_secs(5), server).await.expect("server ends").expect("no panic");

    assert_eq!(stats.reconnects, 1);
    assert_eq!(stats.errors_received, 1);
    assert!(conns[1].closed_cleanly, "no Close frame on shutdown");
    assert!(conns.iter().all(|c| c.auth.as_deref() == Some("Bearer s3cret")));

    // Seq is strictly increasing inside a frame; across connections the client may
    // resend what it sent just before the drop, but never skips a number.
    let mut last = 0;
    let mut events = 0;
    for frame in conns.iter().flat_map(|c| &c.frames) {
        assert!(!frame.is_empty() && frame.len() <= 25);
        let seqs: Vec<u64> = frame.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert!(seqs[0] <= last + 1, "gap: {} after {last}", seqs[0]);
        last = last.max(seqs[seqs.len() - 1]);
        assert!(frame.iter().all(|e| e["source"] == "demo-acd" && e["ts"].is_string()));
        events += frame.len() as u64;
    }
    assert!(last > 20, "only {last} events");
    // Frames written into the dying connection count as sent but never arrived.
    let frames: usize = conns.iter().map(|c| c.frames.len()).sum();
    assert!(stats.events_sent > events && stats.frames_sent > frames as u64, "{stats:?}");
}

#[tokio::test]
async fn a_rejected_token_is_fatal() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/ingest", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        #[allow(clippy::result_large_err)]
        let deny = |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
            let mut resp = ErrorResponse::new(None);
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            Err(resp)
        };
        let _ = tokio_tungstenite::accept_hdr_async(tcp, deny).await;
    });
    let cfg = SimConfig { url, token: Some("wrong".to_owned()), ..cfg(1) };
    let result = tokio::time::timeout(Duration::from_secs(5), run(cfg, CancellationToken::new())).await;
    let err = result.expect("fails fast").expect_err("401 is fatal");
    assert!(format!("{err:#}").contains("401"), "{err:#}");
}

#[tokio::test]
async fn cancel_stops_the_retry_loop() {
    // Nothing listens on a port we just released.
    let port = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr").port();
    let cfg = SimConfig { url: format!("ws://127.0.0.1:{port}/ingest"), ..cfg(1) };
    let cancel = CancellationToken::new();
    let sim = tokio::spawn(run(cfg, cancel.clone()));
    tokio::time::sleep(Duration::from_millis(600)).await;
    cancel.cancel();
    let stats = tokio::time::timeout(Duration::from_secs(2), sim).await.expect("stops").expect("no panic");
    assert_eq!(stats.expect("cancel is not an error"), SimStats::default());
}

#[tokio::test]
async fn bad_configs_are_refused() {
    let cancel = CancellationToken::new();
    for bad in [
        SimConfig { speed: 0.0, ..cfg(1) },
        SimConfig { queues: vec![], ..cfg(1) },
        SimConfig { url: "not a url".to_owned(), ..cfg(1) },
        SimConfig { max_batch: 0, ..cfg(1) },
    ] {
        assert!(run(bad, cancel.clone()).await.is_err());
    }
}

#[test]
fn link_outages_fall_in_the_last_part_of_each_period() {
    let cfg = SimConfig { link_outage_every_secs: 100, link_outage_secs: 25, ..cfg(1) };
    let t0 = tokio::time::Instant::now();
    let feed = feed::Feed::new(&cfg, start(), t0);
    let at = |s: u64| t0 + Duration::from_secs(s);
    assert!(!feed.in_outage(at(0)));
    assert!(!feed.in_outage(at(74)));
    assert!(feed.in_outage(at(75)));
    assert!(feed.in_outage(at(99)));
    assert!(!feed.in_outage(at(100)));
    assert!(feed.in_outage(at(180)));
    let never = feed::Feed::new(&SimConfig { link_outage_every_secs: 0, ..cfg.clone() }, start(), t0);
    assert!(!never.in_outage(at(99)));
    // Periods are simulated time: ten times faster, ten times sooner.
    let fast = feed::Feed::new(&SimConfig { speed: 10.0, ..cfg.clone() }, start(), t0);
    assert!(!fast.in_outage(at(7)));
    assert!(fast.in_outage(at(8)));
    assert!(!fast.in_outage(at(10)));
}

#[test]
fn the_first_surge_comes_when_asked() {
    let first = |c: &SimConfig| {
        let (_, events) = simulate(c, 300, 1000);
        // Surges show as a run of offers well above the flat rate; find the first
        // 30 s bucket with three times the average.
        let offers: Vec<i64> = events
            .iter()
            .filter(|e| matches!(e.kind(), SimEventKind::CallOffered { .. }))
            .map(|e| (e.ts_millis() - start().timestamp_millis()) / 30_000)
            .collect();
        offers
    };
    let base = SimConfig { flat_curve: true, calls_per_min: Some(60.0), surge_secs: 120, ..cfg(5) };
    let early = first(&SimConfig { surge_every_secs: 600, first_surge_secs: Some(30), ..base.clone() });
    let none = first(&SimConfig { surge_every_secs: 0, ..base.clone() });
    let in_first_minutes = |v: &[i64]| v.iter().filter(|&&b| (1..5).contains(&b)).count();
    // 60 calls/min on three queues, one of them tripled for 2 minutes from 0:30:
    // about 80 more calls in minutes 0:30–2:30 than without the surge.
    assert!(
        in_first_minutes(&early) > in_first_minutes(&none) + 40,
        "{} vs {}",
        in_first_minutes(&early),
        in_first_minutes(&none)
    );
}

/// With an id prefix, every agent, team and call id carries it and queue names do
/// not: two prefixed sites on one daemon never share an agent or a call.
#[test]
fn an_id_prefix_marks_agents_teams_and_calls_but_not_queues() {
    let site = SimConfig { id_prefix: "site2-".into(), agents: 30, teams: 3, ..cfg(5) };
    let (_, events) = simulate(&site, 1800, 1000);
    let mut seen = HashSet::new();
    for ev in &events {
        let v: Value = serde_json::from_str(&ev.to_json(1, "s")).expect("valid JSON");
        for field in ["agent", "team", "call"] {
            if let Some(id) = v.get(field).and_then(Value::as_str) {
                assert!(id.starts_with("site2-"), "{field} {id:?} lacks the prefix");
                seen.insert(field);
            }
        }
        if let Some(q) = v.get("queue").and_then(Value::as_str) {
            assert!(!q.starts_with("site2-"), "queue {q:?} was prefixed");
            seen.insert("queue");
        }
    }
    assert_eq!(seen.len(), 4, "the run named every kind of id: {seen:?}");
    // Without one, the ids are as before.
    let (_, plain) = simulate(&cfg(5), 600, 1000);
    let first_agent = plain.iter().find_map(|ev| match ev.kind() {
        SimEventKind::AgentLogin { agent, .. } => Some(agent.clone()),
        _ => None,
    });
    assert!(first_agent.is_some_and(|a| a.starts_with('A')));
}

/// The flat curve (the demo's) has no lunch wave: the same two hours across the
/// floor's lunchtime that send agents to lunch on the daily curve send none, so a
/// demo started at lunchtime is staffed as at any other hour.
#[test]
fn a_flat_curve_floor_takes_no_lunch() {
    let lunches = |flat: bool| {
        let (_, events) = simulate(&SimConfig { flat_curve: flat, ..cfg(11) }, 2 * 3600, 1000);
        audit(&events).lunch_starts.len()
    };
    assert!(lunches(false) > 0, "the daily curve's floor lunches");
    assert_eq!(lunches(true), 0);
}
