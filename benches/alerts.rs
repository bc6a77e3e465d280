//! Alert timing — measured, printed, never asserted.
//!
//! `cargo bench --bench alerts` prints:
//! 1. event → `/ws/alerts` push latency (p50/p99) for fault events sent while a
//!    background load of ~100,000 events/s (the simulator's 5,000-agent floor)
//!    flows on other connections (goal p99 < 50 ms);
//! 2. overrun lateness with 50,000 agents put into after-call work at once: how long
//!    after its threshold each `acw_overrun` push arrives (goal ≤ 1 s).

mod support;

use std::sync::Arc;
use std::time::Duration;
use support::metric;

use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use floorwatch::sim::{SimConfig, SimModel};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        push_latency().await?;
        overrun_lateness().await
    })
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn start(cfg: Config) -> anyhow::Result<(Daemon, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let mut cfg = cfg;
    cfg.data_dir = dir.path().to_path_buf();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok((Daemon::start(cfg, listener, Clock::system()).await?, dir))
}

/// Realistic frames of 100 events, stamped from now on (a past floor replayed at
/// this speed would be all overdue timers: see benches/ingest.rs).
fn load_frames(n_frames: usize) -> Vec<Utf8Bytes> {
    let cfg = SimConfig { agents: 5000, teams: 40, seed: 9, ..SimConfig::default() };
    let start = chrono::Utc::now();
    let mut model = SimModel::new(&cfg, start);
    let mut events = Vec::new();
    let mut t = start;
    while events.len() < n_frames * 100 {
        t += chrono::Duration::seconds(5);
        model.advance_to(t, &mut events);
    }
    events
        .chunks(100)
        .take(n_frames)
        .enumerate()
        .map(|(k, chunk)| {
            let body: Vec<String> =
                chunk.iter().enumerate().map(|(i, e)| e.to_json((k * 100 + i + 1) as u64, "load")).collect();
            format!("[{}]", body.join(",")).into()
        })
        .collect()
}

async fn push_latency() -> anyhow::Result<()> {
    let (d, _dir) = start(Config::default()).await?;
    let addr = d.addr;
    let (mut alerts, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/alerts")).await?;

    // Background load: 1,000 frames of 100 events per second, for as long as the
    // probes run.
    let frames = Arc::new(load_frames(20_000));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (frames, stop) = (frames.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut ws, _) =
                tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=load")).await?;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut sent = 0usize;
            for chunk in frames.chunks(10) {
                tick.tick().await;
                for f in chunk {
                    ws.send(Message::Text(f.clone())).await?;
                    sent += 100;
                }
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
            anyhow::Ok(sent)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (mut probe, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=probe")).await?;
    let mut lat = Vec::new();
    let started = Instant::now();
    for i in 0..60 {
        let ts = floorwatch::event::format_ts(chrono::Utc::now().timestamp_millis());
        let component = format!("probe-{i}");
        let t0 = Instant::now();
        let ev = format!(r#"{{"type":"fault","ts":"{ts}","component":"{component}","status":"down"}}"#);
        probe.send(Message::Text(ev.into())).await?;
        loop {
            let Some(Ok(Message::Text(t))) =
                tokio::time::timeout(Duration::from_secs(10), alerts.next()).await?
            else {
                anyhow::bail!("alert stream ended");
            };
            if t.contains(&format!(r#""component":"{component}""#)) && t.contains(r#""state":"firing""#) {
                lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = load.await??;
    let m = metric(addr, "floorwatch_events_total").await?;
    println!(
        "push latency, fault event → /ws/alerts, {} probes under ~{:.0} events/s of background load ({} events processed): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 < 50 ms)",
        lat.len(),
        sent as f64 / (elapsed + 1.0),
        m,
        percentile(&mut lat.clone(), 0.5),
        percentile(&mut lat.clone(), 0.99),
        percentile(&mut lat, 1.0)
    );
    d.shutdown();
    d.wait().await?;
    Ok(())
}

async fn overrun_lateness() -> anyhow::Result<()> {
    const AGENTS: usize = 50_000;
    const LIMIT_SECS: i64 = 5;
    let mut cfg = Config::default();
    cfg.alerts.acw_overrun_secs = LIMIT_SECS as u32;
    let (d, _dir) = start(cfg).await?;
    let addr = d.addr;
    let (mut alerts, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/alerts")).await?;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=acd")).await?;

    let now = chrono::Utc::now().timestamp_millis();
    let ts = floorwatch::event::format_ts(now);
    for chunk in (0..AGENTS).collect::<Vec<_>>().chunks(1000) {
        let body: Vec<String> = chunk
            .iter()
            .flat_map(|a| {
                [
                    format!(
                        r#"{{"type":"agent_login","ts":"{ts}","agent":"A{a:05}","team":"team-{}"}}"#,
                        a % 100
                    ),
                    format!(r#"{{"type":"agent_state","ts":"{ts}","agent":"A{a:05}","state":"acw"}}"#),
                ]
            })
            .collect();
        ws.send(Message::Text(format!("[{}]", body.join(",")).into())).await?;
    }
    let loaded_after = chrono::Utc::now().timestamp_millis() - now;

    let mut late = Vec::with_capacity(AGENTS);
    let deadline = Instant::now() + Duration::from_secs(120);
    while late.len() < AGENTS && Instant::now() < deadline {
        let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_secs(30), alerts.next()).await
        else {
            break;
        };
        let received = chrono::Utc::now().timestamp_millis();
        let v: serde_json::Value = serde_json::from_str(&t)?;
        if v["kind"] != "acw_overrun" || v["state"] != "firing" {
            continue;
        }
        let started = v["started_at"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map_or(now, |t| t.timestamp_millis());
        late.push((received - (started + LIMIT_SECS * 1000)) as f64);
    }
    println!(
        "overrun lateness, {AGENTS} agents in acw at once (loaded in {loaded_after} ms), {} pushes: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms after the threshold (goal <= 1000 ms)",
        late.len(),
        percentile(&mut late.clone(), 0.5),
        percentile(&mut late.clone(), 0.99),
        percentile(&mut late, 1.0)
    );
    d.shutdown();
    d.wait().await?;
    Ok(())
}
