//! Call-back logging under load — measured, printed, never asserted.
//!
//! `cargo bench --bench incidents` sends the same realistic stream (the simulator's
//! 5,000-agent floor, 4 connections, batches of 100) with one extra abandoned
//! call carrying a caller number per 6,000 events — 1,000 abandons a minute at
//! 100,000 events/s — twice:
//! 1. as fast as the daemon takes it, without and then with an incident open (so
//!    every one of those abandons is logged for a call-back): the throughput
//!    ratio (goal: with ≥ 0.9 × without);
//! 2. paced at 100,000 events/s for 30 s with the incident open: the rate
//!    achieved and whether every abandon was logged.

mod support;

use std::sync::Arc;
use std::time::Duration;
use support::{metric, request};

use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use floorwatch::sim::SimConfig;
use futures_util::SinkExt;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// One abandon with a number per this many background events.
const EVENTS_PER_ABANDON: usize = 6_000;
const CONNECTIONS: usize = 4;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let n_frames = 30_000; // 3,000,000 events
        let mut ratios = Vec::new();
        for round in 1..=3 {
            let without = blast(n_frames, false).await?;
            let with = blast(n_frames, true).await?;
            println!(
                "round {round}: {:.2} M events/s without an incident, {:.2} M with one open ({} of {} injected abandons logged): ratio {:.2}",
                without.rate / 1e6,
                with.rate / 1e6,
                with.logged,
                with.abandons,
                with.rate / without.rate
            );
            ratios.push(with.rate / without.rate);
        }
        ratios.sort_by(|a, b| a.total_cmp(b));
        println!("throughput with call-back logging / without: median {:.2} (goal ≥ 0.90)", ratios[1]);
        paced().await
    })
}

struct Run {
    rate: f64,
    abandons: usize,
    logged: usize,
}

async fn start() -> anyhow::Result<(Daemon, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let cfg = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok((Daemon::start(cfg, listener, Clock::system()).await?, dir))
}

/// Frames of ~100 events per connection, stamped from now on, with an
/// offered-then-abandoned call with a caller number every `EVENTS_PER_ABANDON`.
/// The floor is one site per connection (see `support::site_events`).
fn frames(n_frames: usize) -> (Vec<Vec<Utf8Bytes>>, usize) {
    let floor = SimConfig { agents: 5000, teams: 40, seed: 9, ..SimConfig::default() };
    let per_conn = n_frames.div_ceil(CONNECTIONS);
    let sites = support::site_events(&floor, CONNECTIONS, per_conn * 100);
    let mut out = vec![Vec::new(); CONNECTIONS];
    let mut seqs = [0u64; CONNECTIONS];
    let mut abandons = 0;
    for k in 0..n_frames {
        let (conn, i) = (k % CONNECTIONS, k / CONNECTIONS);
        let Some(chunk) = sites[conn].chunks(100).nth(i) else { break };
        let source = format!("load-{conn}");
        let text = support::frame(chunk, &source, &mut seqs[conn]);
        let mut body = text[1..text.len() - 1].to_owned();
        if (k * 100) % EVENTS_PER_ABANDON == 0 {
            let ts = floorwatch::event::format_ts(chunk[0].ts_millis());
            let call = format!("LOST{abandons}");
            let seq = seqs[conn] + 1;
            seqs[conn] += 2;
            body.push_str(&format!(
                r#",{{"type":"call_offered","ts":"{ts}","seq":{seq},"call":"{call}","queue":"billing","caller":"+86139{abandons:08}"}}"#
            ));
            body.push_str(&format!(
                r#",{{"type":"call_abandoned","ts":"{ts}","seq":{},"call":"{call}"}}"#,
                seq + 1
            ));
            abandons += 1;
        }
        out[conn].push(format!("[{body}]").into());
    }
    (out, abandons)
}

async fn open_incident(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let body = r#"{"title":"bench: floor-wide incident","by":"bench"}"#;
    let raw = format!(
        "POST /api/incidents HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let reply = request(addr, &raw).await?;
    anyhow::ensure!(reply.starts_with("HTTP/1.1 201"), "incident not opened: {reply}");
    Ok(())
}

async fn blast(n_frames: usize, incident: bool) -> anyhow::Result<Run> {
    let (d, _dir) = start().await?;
    let addr = d.addr;
    if incident {
        open_incident(addr).await?;
    }
    let (per_conn, abandons) = frames(n_frames);
    let total: usize = per_conn.iter().flatten().map(|f| f.matches("\"type\"").count()).sum();
    let started = Instant::now();
    let mut senders = Vec::new();
    for (c, frames) in per_conn.into_iter().enumerate() {
        senders.push(tokio::spawn(async move {
            let (mut ws, _) =
                tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=load-{c}")).await?;
            for f in frames {
                ws.send(Message::Text(f)).await?;
            }
            anyhow::Ok(ws)
        }));
    }
    let mut open = Vec::new();
    for s in senders {
        open.push(s.await??);
    }
    // Fully processed: counted by the engine, not merely sent.
    loop {
        if metric(addr, "floorwatch_events_total").await? >= total as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let logged = if incident { count_logged(addr, abandons).await? } else { 0 };
    drop(open);
    d.shutdown();
    d.wait().await?;
    Ok(Run { rate, abandons, logged })
}

/// Call-backs logged, once the incidents task has caught up (bounded wait).
async fn count_logged(addr: std::net::SocketAddr, want: usize) -> anyhow::Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = request(
            addr,
            &format!("GET /api/callbacks?limit=100000 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        )
        .await?;
        // The injected abandons only (the simulated floor's own callers who give
        // up are logged too, and counted separately by the caller).
        let n = body.matches("\"call\":\"LOST").count();
        if n >= want || Instant::now() > deadline {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn paced() -> anyhow::Result<()> {
    let (d, _dir) = start().await?;
    let addr = d.addr;
    open_incident(addr).await?;
    // 30 s at 100,000 events/s: 30,000 frames, 10 ms ticks of 10 frames.
    let (per_conn, abandons) = frames(30_000);
    let frames: Arc<Vec<Utf8Bytes>> = Arc::new(
        (0..per_conn[0].len()).flat_map(|i| per_conn.iter().filter_map(move |c| c.get(i).cloned())).collect(),
    );
    let total: usize = frames.iter().map(|f| f.matches("\"type\"").count()).sum();
    let mut conns = Vec::new();
    for c in 0..CONNECTIONS {
        conns.push(tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=load-{c}")).await?.0);
    }
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for (k, chunk) in frames.chunks(10).enumerate() {
        tick.tick().await;
        for (j, f) in chunk.iter().enumerate() {
            // Frame i went to connection i % CONNECTIONS when it was built.
            conns[(k * 10 + j) % CONNECTIONS].send(Message::Text(f.clone())).await?;
        }
    }
    loop {
        if metric(addr, "floorwatch_events_total").await? >= total as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let logged = count_logged(addr, abandons).await?;
    let floor_abandons = metric(addr, "floorwatch_calls_abandoned_total").await?;
    println!(
        "paced: {total} events in {secs:.1} s ({:.0} events/s, offered 100,000/s) with an incident open; {abandons} injected abandons ({:.0}/min), {logged} of them logged for call-back (the floor's {floor_abandons} abandons in all, each with a number, were logged too)",
        total as f64 / secs,
        abandons as f64 / secs * 60.0
    );
    drop(conns);
    d.shutdown();
    d.wait().await?;
    Ok(())
}
