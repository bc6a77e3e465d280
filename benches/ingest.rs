//! Ingest throughput, memory and scrape time — measured, printed, never asserted.
//!
//! `cargo bench --bench ingest` runs, on this machine, in one process:
//! 1. the same realistic frames (the demo simulator's floor: 5,000 agents in four
//!    sites of 1,250, each site a bridge on its own connection, batches of 100)
//!    sent as fast as possible to
//!    (a) a decode-only baseline server: WebSocket + full typed JSON parse of every
//!    field + timestamp parse, no state; and
//!    (b) floorwatch (the real daemon, in-process), counting fully processed events
//!    from `floorwatch_events_total`;
//!    and prints events/s for each and the ratio b/a (goal ≥ 0.7), round by round
//!    (a and b back to back, taking turns going first, so both meet the same
//!    machine) and the median;
//! 2. the real `floorwatch serve` binary with 50,000 agents and 1,000 queues logged
//!    in: its RSS (goal < 200 MB) and the `/metrics` scrape time (goal < 100 ms).
//!
//! Environment knobs: FW_BENCH_EVENTS (default 1200000: about three simulated hours
//! of each site at peak traffic, so the floor's tables have grown as a working day's
//! do, and a round lasts long enough for a 1 ms reading of its end to be exact),
//! FW_BENCH_ROUNDS (default 9), FW_BENCH_STAGE_REPEAT (default 1),
//! FW_BENCH_ONLY=floorwatch, FW_BENCH_SKIP_MEMORY=1.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::{env_or, http_get, metric};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message as AxMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use floorwatch::sim::SimConfig;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

const CONNECTIONS: usize = 4;
const AGENTS: usize = 5000;
const BATCH: usize = 100;
/// How often both sides' event counts are read to see a run's end: one
/// millisecond, well under 1% of a run.
const POLL_MS: u64 = 1;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async_main())
}

async fn async_main() -> anyhow::Result<()> {
    let total: usize = env_or("FW_BENCH_EVENTS", 1_200_000);
    let rounds: usize = env_or("FW_BENCH_ROUNDS", 9);
    println!(
        "floorwatch ingest benchmark ({} CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let started = Instant::now();
    let frames = Arc::new(realistic_frames(total));
    let n_events: usize = frames.iter().map(|c| c.iter().map(|(_, n)| n).sum::<usize>()).sum();
    println!(
        "frames: {n_events} events from a 5,000-agent simulated floor of {CONNECTIONS} sites, batches of {BATCH}, one connection per site (generated in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    let mut base = Vec::new();
    let mut fw = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..env_or("FW_BENCH_STAGE_REPEAT", 1) {
        stage_costs(&frames, n_events);
    }
    scrape_stages();

    // FW_BENCH_ONLY=floorwatch skips the baseline and memory parts (for profiling).
    let only_fw = std::env::var("FW_BENCH_ONLY").is_ok_and(|v| v == "floorwatch");
    for round in 1..=rounds {
        // The two sides take turns going first: a machine whose speed drifts (a
        // shared VM's does, by a quarter within seconds) then favours neither.
        let baseline =
            async { if only_fw { Ok(1.0) } else { bench_baseline(frames.clone(), n_events).await } };
        let (a, b) = if round % 2 == 1 {
            let a = baseline.await?;
            (a, bench_floorwatch(frames.clone(), n_events).await?)
        } else {
            let b = bench_floorwatch(frames.clone(), n_events).await?;
            (baseline.await?, b)
        };
        // Cores kept busy while the events went through (CPU time over wall time,
        // whole process, client included): whether a side was short of CPU or
        // waiting on something.
        let busy = |i: usize| BUSY[i].load(Ordering::Relaxed) as f64 / 1000.0;
        println!(
            "round {round}: baseline {:>10.0} ev/s   floorwatch {:>10.0} ev/s   ratio {:.2}   (cores busy {:.2} / {:.2}; engine {} ns/event)",
            a,
            b,
            b / a,
            busy(0),
            busy(1),
            ENGINE_NS.load(Ordering::Relaxed),
        );
        base.push(a);
        fw.push(b);
        ratios.push(b / a);
    }
    if fw.is_empty() {
        return Ok(());
    }
    let (a, b, r) = (median(&mut base), median(&mut fw), median(&mut ratios));
    println!("median:  baseline {a:>10.0} ev/s   floorwatch {b:>10.0} ev/s   ratio {r:.2} (goal >= 0.70)");

    // FW_BENCH_SKIP_MEMORY=1 skips the memory and scrape part (for quick comparisons).
    if !only_fw && std::env::var_os("FW_BENCH_SKIP_MEMORY").is_none() {
        memory_and_scrape().await?;
    }
    Ok(())
}

/// Single-threaded cost of each stage over the same frames, to see where time goes.
/// Frames stay batches, driven through the engine's own [`Step`] as the engine
/// task drives it, so the rules see one batch's effects at a time.
///
/// [`Step`]: floorwatch::engine::Step
fn stage_costs(frames: &[Vec<(Utf8Bytes, usize)>], n: usize) {
    use floorwatch::engine::Step;
    use floorwatch::ingest::canonical::decode;
    let source = floorwatch::event::Id::from("bench");
    let mut batches: Vec<Vec<floorwatch::event::Event>> = Vec::new();
    let mut rejected = Vec::new();
    let t0 = Instant::now();
    // Batch i of every site, then batch i + 1: the sites' streams interleaved as a
    // live engine takes them, not one site's whole stream after another's.
    let longest = frames.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for (text, len) in frames.iter().filter_map(|conn| conn.get(i)) {
            let mut events = Vec::with_capacity(*len);
            decode(text.as_str(), &source, &mut events, &mut rejected);
            batches.push(events);
        }
    }
    let decode_ns = t0.elapsed().as_nanos() as f64 / n as f64;
    let t0 = Instant::now();
    let mut parsed = 0usize;
    for conn in frames {
        for (text, _) in conn {
            if let Ok(evs) = serde_json::from_str::<Vec<BaselineEvent<'_>>>(text.as_str()) {
                parsed += evs.iter().filter(|e| chrono::DateTime::parse_from_rfc3339(e.ts).is_ok()).count();
            }
        }
    }
    let baseline_ns = t0.elapsed().as_nanos() as f64 / parsed.max(1) as f64;
    let mut mix = [0usize; floorwatch::event::EVENT_TYPES.len()];
    for ev in batches.iter().flatten() {
        mix[ev.kind.type_index()] += 1;
    }
    let cfg = Config::default();
    let mut step = Step::new(&cfg.floor, &cfg.alerts, Vec::new(), Vec::new());
    let now = chrono::Utc::now().timestamp_millis();
    // The counting task's share (off the engine's core in the daemon).
    let mut counter =
        floorwatch::metrics::counting::Counter::new(std::sync::Arc::new(floorwatch::metrics::Metrics::new()));
    counter.count(step.take_counts());
    let (mut engine, mut counting) = (Duration::ZERO, Duration::ZERO);
    for batch in batches {
        // As the engine task does: one step per batch (apply, heard-from, rules,
        // the hand-off to counting, dropping the events and effects while they
        // are hot), then take its signals and counts.
        let t0 = Instant::now();
        step.batch(batch, now);
        let signals = step.take_signals();
        let round = step.take_counts();
        let t1 = Instant::now();
        counter.count(round);
        counting += t1.elapsed();
        engine += t1 - t0;
        drop(signals);
    }
    let engine_ns = engine.as_nanos() as f64 / n as f64;
    let counting_ns = counting.as_nanos() as f64 / n as f64;
    let t0 = Instant::now();
    let snap = step.snapshot(now);
    let snap_ms = t0.elapsed().as_secs_f64() * 1000.0;
    println!(
        "stage costs, one thread: baseline parse {baseline_ns:.0} ns/event, decode {decode_ns:.0} ns/event, engine step (floor apply, heard-from, rules, the hand-off to counting, dropping events and effects) {engine_ns:.0} ns/event, counting {counting_ns:.0} ns/event, snapshot of {} agents {snap_ms:.1} ms",
        snap.agents.len()
    );
    let mix: Vec<String> = floorwatch::event::EVENT_TYPES
        .iter()
        .zip(mix)
        .filter(|(_, k)| *k > 0)
        .map(|(t, k)| format!("{t} {:.1}%", 100.0 * k as f64 / n as f64))
        .collect();
    println!("event mix: {}", mix.join(", "));
}

/// Where a scrape's time goes at 1,000 queues and 50,000 agents: gathering (the
/// floor collector builds its families) versus text encoding.
fn scrape_stages() {
    use floorwatch::event::{AgentState, Event, EventKind, Id};
    use floorwatch::floor::Floor;
    use floorwatch::metrics::Metrics;
    use floorwatch::metrics::collector::FloorCollector;
    let cfg = Config::default();
    let mut fx = Vec::new();
    let mut floor = Floor::new(&cfg.floor, &mut fx);
    let now = chrono::Utc::now().timestamp_millis();
    let metrics = Metrics::new();
    let ev = |ts, kind| Event { ts, source: Id::from("s"), seq: None, kind };
    for a in 0..50_000 {
        let kind = EventKind::AgentLogin {
            agent: Id::from(format!("A{a}")),
            name: None,
            team: Some(Id::from(format!("team-{}", a % 100))),
            state: AgentState::Ready,
            reason: None,
        };
        floor.apply(&ev(now - 60_000, kind), now, &mut fx);
    }
    for q in 0..1000 {
        let qm = metrics.queue(&format!("queue-{q}"));
        for c in 0..30 {
            let call = Id::from(format!("Q{q}C{c}"));
            let kind = EventKind::CallOffered {
                call: call.clone(),
                queue: Id::from(format!("queue-{q}")),
                caller: None,
            };
            floor.apply(&ev(now - 50_000, kind), now, &mut fx);
            if c < 20 {
                let kind = EventKind::CallAnswered {
                    call,
                    agent: Id::from(format!("A{}", q * 20 + c)),
                    queue: None,
                };
                floor.apply(&ev(now - 40_000, kind), now, &mut fx);
                qm.wait_answered.observe(10.0);
            } else if c < 25 {
                floor.apply(&ev(now - 10_000, EventKind::CallAbandoned { call, queue: None }), now, &mut fx);
                qm.wait_abandoned.observe(40.0);
            }
        }
    }
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(floor.snapshot(now)));
    let _ = metrics.registry.register(Box::new(FloorCollector::new(rx)));
    let (mut gather_ms, mut encode_ms) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let t0 = Instant::now();
        let families = metrics.registry.gather();
        gather_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        let t0 = Instant::now();
        let text = prometheus::TextEncoder::new().encode_to_string(&families).unwrap_or_default();
        encode_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(text);
    }
    println!(
        "scrape stages at 1,000 queues / 50,000 agents: gather {:.1} ms, encode {:.1} ms (median of 10)",
        median(&mut gather_ms),
        median(&mut encode_ms)
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Frames per connection: (text, events in it). A 5,000-agent floor of four sites,
/// each its own bridge (connection, source and `seq`) for its own 1,250 agents and
/// their calls (see `support::site_events`).
fn realistic_frames(total: usize) -> Vec<Vec<(Utf8Bytes, usize)>> {
    // Stamped from now on: replaying a *past* floor at this speed would make every
    // after-call-work spell overdue by the wall clock, and the run would measure an
    // alert storm (one alert raised and cleared per call) instead of ingest. A live
    // floor's events carry the present time.
    let floor = SimConfig {
        agents: AGENTS,
        teams: 40,
        seed: 42,
        // A component fault an hour per site, not the demo's one every five minutes
        // (made to show incidents soon after start). Each fault opens an incident
        // that logs its abandoned callers for call-back and writes the fault
        // register, all committed to SQLite: at the demo's rate, compressed into a
        // second of wall time, those commits took a tenth of a core, a floor's
        // month of faults in one run.
        fault_every_secs: 3600,
        // Peak traffic whatever the hour the bench is run at (the daily curve made
        // a run at the floor's night a different mix of events).
        flat_curve: true,
        ..SimConfig::default()
    };
    support::site_events(&floor, CONNECTIONS, total.div_ceil(CONNECTIONS))
        .into_iter()
        .enumerate()
        .map(|(c, events)| {
            let (source, mut seq) = (format!("bench-{c}"), 0);
            events
                .chunks(BATCH)
                .map(|chunk| (support::frame(chunk, &source, &mut seq).into(), chunk.len()))
                .collect()
        })
        .collect()
}

/// Sends every connection's frames as fast as the server takes them.
async fn blast(url: String, frames: Arc<Vec<Vec<(Utf8Bytes, usize)>>>) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let url = url.clone();
        let frames = frames.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
            for (text, _) in &frames[c] {
                // A refcount bump, not a copy: the client's cost stays out of the way.
                ws.send(Message::Text(text.clone())).await?;
            }
            ws.close(None).await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// (a) decode-only baseline
// ---------------------------------------------------------------------------

/// Every field of the canonical protocol, borrowed: the full JSON parse work, no
/// allocation, no validation, no state.
#[derive(Deserialize)]
#[allow(dead_code)]
struct BaselineEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(borrow)]
    ts: &'a str,
    seq: Option<u64>,
    #[serde(borrow)]
    source: Option<&'a str>,
    #[serde(borrow)]
    agent: Option<&'a str>,
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    team: Option<&'a str>,
    #[serde(borrow)]
    state: Option<&'a str>,
    #[serde(borrow)]
    reason: Option<&'a str>,
    #[serde(borrow)]
    queue: Option<&'a str>,
    #[serde(borrow)]
    call: Option<&'a str>,
    #[serde(borrow)]
    caller: Option<&'a str>,
    #[serde(borrow)]
    component: Option<&'a str>,
    #[serde(borrow)]
    status: Option<&'a str>,
    #[serde(borrow)]
    detail: Option<std::borrow::Cow<'a, str>>,
}

async fn baseline_ws(ws: WebSocketUpgrade, State(count): State<Arc<AtomicU64>>) -> Response {
    ws.max_message_size(1 << 20).on_upgrade(move |mut socket: WebSocket| async move {
        while let Some(Ok(msg)) = socket.next().await {
            if let AxMessage::Text(t) = msg
                && let Ok(events) = serde_json::from_str::<Vec<BaselineEvent<'_>>>(t.as_str())
            {
                let ok = events.iter().filter(|e| chrono::DateTime::parse_from_rfc3339(e.ts).is_ok()).count();
                count.fetch_add(ok as u64, Ordering::Relaxed);
            }
        }
    })
}

async fn bench_baseline(frames: Arc<Vec<Vec<(Utf8Bytes, usize)>>>, n: usize) -> anyhow::Result<f64> {
    let count = Arc::new(AtomicU64::new(0));
    let app = Router::new().route("/ingest", get(baseline_ws)).with_state(count.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (t0, c0) = (Instant::now(), cpu_ns());
    blast(format!("ws://{addr}/ingest"), frames).await?;
    while count.load(Ordering::Relaxed) < n as u64 {
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    BUSY[0].store(busy_permille(c0, t0), Ordering::Relaxed);
    server.abort();
    Ok(rate)
}

// ---------------------------------------------------------------------------
// (b) floorwatch
// ---------------------------------------------------------------------------

async fn bench_floorwatch(frames: Arc<Vec<Vec<(Utf8Bytes, usize)>>>, n: usize) -> anyhow::Result<f64> {
    // Each round starts from an empty store. With the default ./floorwatch-data,
    // rounds and runs inherited the alerts and traffic baselines learned from the
    // previous rounds' replay (an hour of traffic in a tenth of a second), so later
    // rounds raised traffic surges and wrote alerts: not ingest, and not the same
    // work from one round to the next.
    static ROUND: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fw-bench-ingest-{}-{}",
        std::process::id(),
        ROUND.fetch_add(1, Ordering::Relaxed)
    ));
    let cfg = Config { data_dir: dir.clone(), ..Config::default() };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let daemon = Daemon::start(cfg, listener, Clock::system()).await?;
    let addr = daemon.addr;
    let (t0, c0) = (Instant::now(), cpu_ns());
    let sender = tokio::spawn(blast(format!("ws://{addr}/ingest"), frames));
    // The end is watched on the very counters `/metrics` exposes as
    // `floorwatch_events_total`, read in-process as the baseline's count is. Polling
    // the HTTP endpoint instead measured the observer: every scrape renders the whole
    // floor's series (a few ms at 5,000 agents) on the cores ingest needs, and a
    // 20 ms poll on a ~100 ms run adds up to a fifth to the measured time.
    let processed = || daemon.metrics.events.iter().map(|c| c.get()).sum::<u64>();
    while processed() < n as u64 {
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    BUSY[1].store(busy_permille(c0, t0), Ordering::Relaxed);
    sender.await??;
    // ... and the exposition agrees: every event sent is counted there too.
    let exposed = events_total(addr).await?;
    anyhow::ensure!(exposed == n as u64, "/metrics counts {exposed} events processed, {n} were sent");
    // Each site's events arrive in order on its own connection: the floor should
    // find nothing out of order, or the run measures rejections, not a floor.
    let anomalies = metric(addr, "floorwatch_event_anomalies_total").await?;
    anyhow::ensure!(anomalies == 0.0, "{anomalies} event anomalies: the frames are not a well-ordered floor");
    let rejected = metric(addr, "floorwatch_events_rejected_total").await?;
    anyhow::ensure!(
        rejected == 0.0,
        "{rejected} events were rejected: the frames are not what the bench meant"
    );
    // The engine is the one serial stage: its time per event in place (apply and
    // rules, from its own batch histogram) bounds the rate.
    let engine = metric(addr, "floorwatch_engine_batch_seconds_sum").await?;
    ENGINE_NS.store((engine * 1e9 / n as f64) as u64, Ordering::Relaxed);
    daemon.shutdown();
    daemon.wait().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rate)
}

/// The last floorwatch round's engine time per event, ns.
static ENGINE_NS: AtomicU64 = AtomicU64::new(0);
/// Cores kept busy (whole process, ‰) while the last round's events went through,
/// daemon start and stop left out: [baseline, floorwatch].
static BUSY: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn busy_permille(cpu0: u64, t0: Instant) -> u64 {
    (cpu_ns().saturating_sub(cpu0) as f64 / t0.elapsed().as_nanos().max(1) as f64 * 1000.0) as u64
}

async fn events_total(addr: SocketAddr) -> anyhow::Result<u64> {
    Ok(metric(addr, "floorwatch_events_total").await? as u64)
}

// ---------------------------------------------------------------------------
// memory and scrape time at 50,000 agents / 1,000 queues
// ---------------------------------------------------------------------------

async fn memory_and_scrape() -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = std::env::temp_dir().join(format!("fw-bench-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "warn,floorwatch::app=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("addr=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr: SocketAddr = rx.recv_timeout(Duration::from_secs(30))?.parse()?;
    let rss_idle = rss_kb(child.id());

    // 50,000 agents in 100 teams, 1,000 queues; each queue gets 30 calls: 20
    // answered (agents talking), 5 abandoned, 5 still waiting — so every queue
    // has every window populated and a waiting list.
    let now = chrono::Utc::now();
    let ts = |s: i64| floorwatch::event::format_ts(now.timestamp_millis() - 1_800_000 + s * 1000);
    let mut events = Vec::new();
    for a in 0..50_000 {
        events.push(format!(
            r#"{{"type":"agent_login","ts":"{}","agent":"A{a:05}","name":"Agent {a}","team":"team-{}"}}"#,
            ts(0),
            a % 100
        ));
    }
    let mut agent = 0;
    for q in 0..1000 {
        for c in 0..30 {
            let call = format!("Q{q}C{c}");
            let t = 60 + c;
            events.push(format!(
                r#"{{"type":"call_offered","ts":"{}","call":"{call}","queue":"queue-{q}"}}"#,
                ts(t)
            ));
            if c < 20 {
                events.push(format!(
                    r#"{{"type":"call_answered","ts":"{}","call":"{call}","agent":"A{agent:05}"}}"#,
                    ts(t + 15)
                ));
                agent += 1;
            } else if c < 25 {
                events.push(format!(r#"{{"type":"call_abandoned","ts":"{}","call":"{call}"}}"#, ts(t + 40)));
            }
        }
    }
    let n = events.len();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ingest")).await?;
    for chunk in events.chunks(1000) {
        ws.send(Message::Text(format!("[{}]", chunk.join(",")).into())).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while events_total(addr).await? < n as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let a snapshot with everything in it be published.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rss = rss_kb(child.id());

    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..20 {
        let t0 = Instant::now();
        size = http_get(addr, "/metrics").await?.len();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let t0 = Instant::now();
    let floor_size = http_get(addr, "/api/floor").await?.len();
    let floor_ms = t0.elapsed().as_secs_f64() * 1000.0;
    times.sort_by(|a, b| a.total_cmp(b));

    println!("memory: {n} events loaded: 50,000 agents logged in, 1,000 queues");
    println!(
        "  RSS {:.1} MB (idle at start {:.1} MB; goal < 200 MB)",
        rss as f64 / 1024.0,
        rss_idle as f64 / 1024.0
    );
    println!(
        "  /metrics scrape: median {:.1} ms, max {:.1} ms over 20 scrapes, {} KB (goal < 100 ms)",
        times[times.len() / 2],
        times[times.len() - 1],
        size / 1024
    );
    println!("  /api/floor with every agent: {floor_ms:.1} ms, {} KB", floor_size / 1024);

    let _ = ws.close(None).await;
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// CPU time used so far by every thread of this process, ns (scheduler stats).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
