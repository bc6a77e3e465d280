//! The `nats` source on this machine — measured, printed, never asserted.
//!
//! `cargo bench --bench nats` (needs `nats-server` on PATH; scripts/test installs it):
//! 1. throughput: the same frames (a 4-site simulated floor, batches of 100) sent
//!    (a) over four WebSocket `/ingest` connections and (b) published to JetStream
//!    (one subject per site, the publisher waiting for every store ack in windows)
//!    while the daemon consumes them, one consumer per subject; then (c) the same
//!    stream already stored, drained by a fresh daemon (a backlog, as after an
//!    outage). Events/s for each and the ratio b/a (goal ≥ 0.5), round by round;
//! 2. latency: a `fault` published to JetStream → its alert on `/ws/alerts`, p50/p99
//!    (and the same probe over WebSocket `/ingest` for comparison);
//! 3. recovery after kill -9: the real `floorwatch serve` consuming the stream is
//!    killed mid-stream, restarted, and timed to listening and to caught up (every
//!    event on the floor, exactly once).
//!
//! Knobs: FW_BENCH_EVENTS (default 200000), FW_BENCH_ROUNDS (default 3).

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use floorwatch::ingest::sources::{DialTiming, NatsSource, SourceConfig, SourceKind};
use floorwatch::sim::SimConfig;
use futures_util::{SinkExt, StreamExt};
use support::{env_or, http_get};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const SITES: usize = 4;
const BATCH: usize = 100;
/// Publishes in flight before the publisher waits for their store acks.
const WINDOW: usize = 256;

type Frames = Arc<Vec<Vec<(String, usize)>>>;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async_main())
}

async fn async_main() -> anyhow::Result<()> {
    let total: usize = env_or("FW_BENCH_EVENTS", 200_000);
    let rounds: usize = env_or("FW_BENCH_ROUNDS", 3);
    println!(
        "floorwatch NATS benchmark ({} CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let frames = Arc::new(frames(total));
    let n: usize = frames.iter().map(|s| s.iter().map(|(_, k)| k).sum::<usize>()).sum();
    println!("frames: {n} events of a 5,000-agent simulated floor, {SITES} sites, batches of {BATCH}");

    let (mut ws, mut live, mut backlog, mut ratios) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let a = bench_ws(frames.clone(), n).await?;
        let (b, c) = bench_nats(frames.clone(), n).await?;
        println!(
            "round {}: websocket {a:.0} ev/s, jetstream live {b:.0} ev/s ({:.2}), jetstream backlog {c:.0} ev/s ({:.2})",
            round + 1,
            b / a,
            c / a
        );
        ws.push(a);
        live.push(b);
        backlog.push(c);
        ratios.push(b / a);
    }
    println!(
        "median: websocket {:.0} ev/s, jetstream live {:.0} ev/s, backlog drain {:.0} ev/s; live/websocket {:.2} (goal >= 0.5)",
        median(&mut ws),
        median(&mut live),
        median(&mut backlog),
        median(&mut ratios)
    );
    latency().await?;
    recovery(frames, n).await?;
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Each site's frames, `source` `bench-<site>`, numbered by `seq`.
fn frames(total: usize) -> Vec<Vec<(String, usize)>> {
    let floor = SimConfig {
        agents: 5000,
        teams: 40,
        seed: 42,
        fault_every_secs: 3600,
        flat_curve: true,
        ..SimConfig::default()
    };
    support::site_events(&floor, SITES, total.div_ceil(SITES))
        .into_iter()
        .enumerate()
        .map(|(c, events)| {
            let (source, mut seq) = (format!("bench-{c}"), 0);
            events
                .chunks(BATCH)
                .map(|chunk| (support::frame(chunk, &source, &mut seq), chunk.len()))
                .collect()
        })
        .collect()
}

/// A nats-server with JetStream in a temp dir; killed when dropped.
struct Nats {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nats {
    async fn start() -> anyhow::Result<Nats> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let child = Command::new("nats-server")
            .args(["-js", "-sd"])
            .arg(dir.path())
            .args(["-p", &port.to_string(), "-a", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        wait_port(port).await?;
        Ok(Nats { port, child, _dir: dir })
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn stream(&self) -> anyhow::Result<jetstream::Context> {
        let js = jetstream::new(async_nats::connect(self.url()).await?);
        js.get_or_create_stream(jetstream::stream::Config {
            name: "FLOOR".into(),
            subjects: vec!["floor.>".into()],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await?;
        Ok(js)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn nats_source(url: &str, subjects: Vec<String>) -> SourceConfig {
    SourceConfig {
        id: "site-nats".into(),
        address: url.into(),
        kind: SourceKind::Nats(NatsSource { stream: "FLOOR".into(), subjects, durable: "fw-bench".into() }),
        wrapup_secs: 0,
        timing: DialTiming { backoff_initial: Duration::from_millis(50), ..DialTiming::default() },
    }
}

fn site_subjects() -> Vec<String> {
    (0..SITES).map(|c| format!("floor.site{c}.acd")).collect()
}

async fn daemon(cfg: Config) -> anyhow::Result<(Daemon, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let cfg = Config { data_dir: dir.path().to_path_buf(), ..cfg };
    let d = Daemon::start(cfg, TcpListener::bind("127.0.0.1:0").await?, Clock::system()).await?;
    Ok((d, dir))
}

/// Waits until the daemon has processed `n` events (its own counters, in-process).
async fn processed(d: &Daemon, n: usize) {
    while d.metrics.events.iter().map(|c| c.get()).sum::<u64>() < n as u64 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn bench_ws(frames: Frames, n: usize) -> anyhow::Result<f64> {
    let (d, _dir) = daemon(Config::default()).await?;
    let addr = d.addr;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..SITES {
        let frames = frames.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ingest")).await?;
            for (text, _) in &frames[c] {
                ws.send(Message::Text(text.as_str().into())).await?;
            }
            ws.close(None).await?;
            anyhow::Ok(())
        }));
    }
    processed(&d, n).await;
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    for t in tasks {
        t.await??;
    }
    d.shutdown();
    d.wait().await?;
    Ok(rate)
}

/// Publishes every site's frames on its subject, `WINDOW` store acks in flight.
async fn publish_all(js: &jetstream::Context, frames: &Frames) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for (c, subject) in site_subjects().into_iter().enumerate() {
        let (js, frames) = (js.clone(), frames.clone());
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::with_capacity(WINDOW);
            for (text, _) in &frames[c] {
                acks.push(js.publish(subject.clone(), text.clone().into()).await?);
                if acks.len() == WINDOW {
                    for a in acks.drain(..) {
                        a.await?;
                    }
                }
            }
            for a in acks {
                a.await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// (live rate, backlog rate).
async fn bench_nats(frames: Frames, n: usize) -> anyhow::Result<(f64, f64)> {
    let nats = Nats::start().await?;
    let js = nats.stream().await?;
    let cfg = Config { sources: vec![nats_source(&nats.url(), site_subjects())], ..Config::default() };
    let (d, _dir) = daemon(cfg.clone()).await?;
    let t0 = Instant::now();
    let publisher = {
        let (js, frames) = (js.clone(), frames.clone());
        tokio::spawn(async move { publish_all(&js, &frames).await })
    };
    processed(&d, n).await;
    let live = n as f64 / t0.elapsed().as_secs_f64();
    publisher.await??;
    d.shutdown();
    d.wait().await?;
    // A fresh daemon (empty data dir, so no position) drains the stored stream.
    let (d, _dir2) = daemon(cfg).await?;
    let t0 = Instant::now();
    processed(&d, n).await;
    let backlog = n as f64 / t0.elapsed().as_secs_f64();
    d.shutdown();
    d.wait().await?;
    Ok((live, backlog))
}

/// Publish (or send) a `fault` down → its firing alert on `/ws/alerts`.
async fn latency() -> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let js = nats.stream().await?;
    let cfg =
        Config { sources: vec![nats_source(&nats.url(), vec!["floor.probe".into()])], ..Config::default() };
    let (d, _dir) = daemon(cfg).await?;
    let addr = d.addr;
    let (mut alerts, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/alerts")).await?;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=probe-ws")).await?;
    let probes = 100;
    let (mut via_nats, mut via_ws) = (Vec::new(), Vec::new());
    for i in 0..probes * 2 {
        let ts = floorwatch::event::format_ts(chrono::Utc::now().timestamp_millis());
        let component = format!("probe-{i}");
        let ev = format!(
            r#"{{"type":"fault","ts":"{ts}","source":"probe-src","component":"{component}","status":"down"}}"#
        );
        let t0 = Instant::now();
        if i % 2 == 0 {
            js.publish("floor.probe", ev.into()).await?;
        } else {
            ws.send(Message::Text(ev.into())).await?;
        }
        let want = format!(r#""component":"{component}""#);
        loop {
            let Some(Ok(Message::Text(t))) =
                tokio::time::timeout(Duration::from_secs(10), alerts.next()).await?
            else {
                anyhow::bail!("alert stream ended");
            };
            if t.contains(&want) && t.contains(r#""state":"firing""#) {
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                if i % 2 == 0 {
                    via_nats.push(ms)
                } else {
                    via_ws.push(ms)
                }
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let p = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
    };
    println!(
        "latency, fault → /ws/alerts ({probes} probes each): jetstream publish p50 {:.2} ms, p99 {:.2} ms; websocket /ingest p50 {:.2} ms, p99 {:.2} ms",
        p(&mut via_nats, 0.5),
        p(&mut via_nats, 0.99),
        p(&mut via_ws, 0.5),
        p(&mut via_ws, 0.99)
    );
    d.shutdown();
    d.wait().await?;
    Ok(())
}

fn serve(dir: &std::path::Path, port: u16, nats_url: &str) -> anyhow::Result<Child> {
    let config = dir.join("floorwatch.toml");
    let subjects: Vec<String> = site_subjects().iter().map(|s| format!("\"{s}\"")).collect();
    std::fs::write(
        &config,
        format!(
            "[[sources]]\nid = \"site-nats\"\nkind = \"nats\"\nurl = \"{nats_url}\"\nstream = \"FLOOR\"\n\
             subjects = [{}]\ndurable = \"fw-bench\"\n",
            subjects.join(", ")
        ),
    )?;
    Ok(Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

/// Events on the floor per `/api/floor` (`events_applied`, heartbeats left out
/// by counting the bench sources only).
async fn floor_events(addr: SocketAddr) -> u64 {
    let Ok(body) = http_get(addr, "/api/floor").await else { return 0 };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else { return 0 };
    v["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["id"].as_str().is_some_and(|id| id.starts_with("bench-")))
        .filter_map(|s| s["events"].as_u64())
        .sum()
}

/// kill -9 in the middle of a stream at the default 5 s checkpoint, then the
/// time a restart takes to listen and to have every event, exactly once. Half
/// the sites are stored and applied first, a checkpoint passes, then the other
/// half is published and the daemon killed a second into it.
async fn recovery(frames: Frames, n: usize) -> anyhow::Result<()> {
    let nats = Nats::start().await?;
    let js = nats.stream().await?;
    let half = |keep: fn(usize) -> bool| -> Frames {
        Arc::new(
            frames.iter().enumerate().map(|(c, f)| if keep(c) { f.clone() } else { Vec::new() }).collect(),
        )
    };
    publish_all(&js, &half(|c| c < SITES / 2)).await?;
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = serve(dir.path(), port, &nats.url())?;
    wait_port(port).await?;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(5_600) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = half(|c| c >= SITES / 2);
    let publisher = {
        let js = js.clone();
        tokio::spawn(async move { publish_all(&js, &second).await })
    };
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let before = floor_events(addr).await;
    child.kill()?;
    child.wait()?;
    publisher.await??;
    let restarted = Instant::now();
    let mut child = serve(dir.path(), port, &nats.url())?;
    wait_port(port).await?;
    let listening = restarted.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut at = floor_events(addr).await;
    while at < n as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        at = floor_events(addr).await;
    }
    let caught_up = restarted.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = floor_events(addr).await;
    println!(
        "recovery after kill -9 ({before} of {n} events applied at the kill): listening {:.0} ms, every event on the floor {:.0} ms after the restart; {settled} events on the floor then ({})",
        listening.as_secs_f64() * 1000.0,
        caught_up.as_secs_f64() * 1000.0,
        if settled == n as u64 { "exactly once" } else { "MISMATCH" }
    );
    child.kill()?;
    child.wait()?;
    Ok(())
}
