//! Wallboard timing and cost — measured, printed, never asserted.
//!
//! `cargo bench --bench wallboard` prints:
//! 1. event → DOM latency (p50/p99) in headless Chromium showing the wall with
//!    2,000 agents while ~10,000 events/s of a simulated floor flow through the
//!    daemon (goal p99 < 250 ms): a probe agent's state is flipped over its own
//!    ingest connection, and the page records (MutationObserver) when the probe's
//!    cell changes (or, as team summaries, its team tile's count: the probe is a
//!    team of its own), and when the next frame after that is drawn;
//! 2. ingest throughput with 100 `/ws/floor` clients connected — 80 reading, 20
//!    that never read a byte — against the same run with none (goal ≥ 0.9).
//!
//! Needs Debian's chromium and chromium-driver (./scripts/test installs them).
//! Knobs: FW_WALL_PROBES (default 150), FW_WALL_AGENTS (2000),
//! FW_WALL_EVENTS (throughput run, default 4000000), FW_WALL_ROUNDS (3),
//! FW_WALL_SNAPSHOT_MS (the latency run's floor.snapshot_interval_ms; default as
//! configured), FW_WALL_PUSH_MS (its wallboard.push_interval_ms, 100..; default as
//! configured), FW_WALL_ONLY=latency|throughput, FW_WALL_CHROME_ARGS (extra browser switches),
//! FW_WALL_CSS (a style sheet added to the wall before the probes: try a change
//! without a rebuild), FW_WALL_SPLIT (times 500 forced class changes: script,
//! style and layout apart),
//! FW_WALL_INCIDENT (a fault opens an incident before the probes: its alert and
//! reply script on the wall), FW_WALL_MODE=cells|summary (the wall's `?agents=`: every agent as a cell, or
//! teams as summaries; default as `wallboard.agent_cells_max` decides),
//! FW_WALL_TRACE=file (records a
//! Chrome trace of the probes — devtools.timeline — into `file` as the trace
//! events' JSON array, for chrome://tracing or a script; it slows the page, so
//! the figures of a traced run are not the page's).
//!
//! The latency run also prints where the page's main thread spent the probes
//! (CDP `Performance.getMetrics`: script, style, layout), which needs no trace.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::{env_or, metric};

use fantoccini::{Client, ClientBuilder};
use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use floorwatch::sim::SimConfig;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let only = std::env::var("FW_WALL_ONLY").unwrap_or_default();
    rt.block_on(async {
        if only != "throughput" {
            latency().await?;
        }
        if only != "latency" {
            throughput().await?;
        }
        anyhow::Ok(())
    })
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

async fn start(cfg: Config) -> anyhow::Result<(Daemon, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let cfg = Config { data_dir: dir.path().to_path_buf(), ..cfg };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok((Daemon::start(cfg, listener, Clock::system()).await?, dir))
}

/// Frames of `batch` events of a simulated floor of `agents`, stamped from now on,
/// as `connections` streams each with its own source and seq: with several, the
/// floor is that many sites, one bridge each (see `support::site_events`).
fn frames(agents: usize, n_events: usize, batch: usize, connections: usize) -> Vec<Vec<Utf8Bytes>> {
    let floor = SimConfig { agents, teams: agents.div_ceil(100), seed: 7, ..SimConfig::default() };
    support::site_events(&floor, connections, n_events.div_ceil(connections))
        .into_iter()
        .enumerate()
        .map(|(c, events)| {
            let (source, mut seq) = (format!("load-{c}"), 0);
            events.chunks(batch).map(|chunk| support::frame(chunk, &source, &mut seq).into()).collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Event → DOM latency in Chromium
// ---------------------------------------------------------------------------

/// chromedriver on a free port, killed when this process's end of its stdin closes.
fn chromedriver() -> anyhow::Result<(u16, Child)> {
    let mut child = Command::new("sh")
        .args(["-c", "chromedriver --port=0 & pid=$!; read _; kill $pid"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start chromedriver (apt-get install chromium-driver): {e}"))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>().ok());
            }
        }
    });
    let port =
        rx.recv_timeout(Duration::from_secs(30))?.ok_or_else(|| anyhow::anyhow!("no chromedriver port"))?;
    Ok((port, child))
}

async fn browser(port: u16, trace: bool) -> anyhow::Result<Client> {
    let mut caps = serde_json::Map::new();
    let mut opts = json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--window-size=1920,1080", "--lang=zh-CN"]});
    // Extra switches, e.g. Chrome's own trace of the whole run without the
    // driver: `--trace-startup=devtools.timeline --trace-startup-duration=90
    // --trace-startup-file=/tmp/wall.json` (chromedriver's log can stall on a
    // busy page).
    if let Ok(extra) = std::env::var("FW_WALL_CHROME_ARGS")
        && let Some(args) = opts["args"].as_array_mut()
    {
        args.extend(extra.split_whitespace().map(|a| json!(a)));
    }
    if trace {
        // chromedriver records the trace from the start and hands it over with
        // the "performance" log.
        opts["perfLoggingPrefs"] = json!({"enableNetwork": false, "enablePage": false,
            "traceCategories": "devtools.timeline,disabled-by-default-devtools.timeline"});
        caps.insert("goog:loggingPrefs".into(), json!({"performance": "ALL"}));
    }
    caps.insert("goog:chromeOptions".into(), opts);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Ok(ClientBuilder::new(connector).capabilities(caps).connect(&format!("http://127.0.0.1:{port}")).await?)
}

async fn js(c: &Client, script: &str) -> anyhow::Result<Value> {
    Ok(c.execute(script, vec![]).await?)
}

/// A chromedriver extension command (`POST /session/{id}/{path}`) over plain
/// HTTP/1.1 with `Connection: close` (chromedriver answers with a length, not
/// chunks, and does not speak HTTP/1.0), returning its `value`.
async fn driver_post(port: u16, c: &Client, path: &str, body: &Value) -> anyhow::Result<Value> {
    let sid = c.session_id().await?.ok_or_else(|| anyhow::anyhow!("no WebDriver session"))?;
    let body = body.to_string();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let raw = format!(
        "POST /session/{sid}/{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // Bounded: a figure the driver does not give must not stall the bench.
    let text = tokio::time::timeout(Duration::from_secs(10), support::request(addr, &raw))
        .await
        .map_err(|_| anyhow::anyhow!("chromedriver did not answer {path}"))??;
    let (_, answer) = text.split_once("\r\n\r\n").ok_or_else(|| anyhow::anyhow!("no HTTP answer"))?;
    let mut v: Value = serde_json::from_str(answer)?;
    Ok(v["value"].take())
}

/// A Chrome DevTools Protocol command through chromedriver.
async fn cdp(port: u16, c: &Client, cmd: &str, params: Value) -> anyhow::Result<Value> {
    driver_post(port, c, "goog/cdp/execute", &json!({"cmd": cmd, "params": params})).await
}

/// The page's cumulative main-thread figures (CDP `Performance.getMetrics`).
async fn page_metrics(port: u16, c: &Client) -> anyhow::Result<std::collections::HashMap<String, f64>> {
    let v = cdp(port, c, "Performance.getMetrics", json!({})).await?;
    Ok(v["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["name"].as_str()?.to_string(), m["value"].as_f64()?)))
        .collect())
}

/// Records, per probe number, when the probe's cell took the awaited state (DOM)
/// and when the frame after that was drawn.
const OBSERVER: &str = r#"
// Cells: the probe's own cell takes the state's class. Team summaries: the
// probe is its team's only agent, so the team tile's count of that state is 1.
const summary = document.getElementById('teams').className.includes('d-sum');
const cell = summary ? document.querySelector("[data-team='probe'] .tsum") : document.querySelector("[data-agent='P0001']");
const shows = (state) => summary
  ? (cell.querySelector('.chip.st-' + state + ' .n') || {}).textContent === '1'
  : cell.className.includes('st-' + state);
window.__probe = { want: -1, state: '', dom: {}, paint: {} };
window.__long = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
  .observe({ type: 'longtask' });
// Where a long frame's time went (Long Animation Frames): scripts by what ran
// them, then style and layout; raster happens off the main thread.
window.__loaf = { n: 0, total: 0, script: 0, layout: 0, by: {} };
try {
  new PerformanceObserver((l) => {
    const L = window.__loaf;
    for (const e of l.getEntries()) {
      L.n++;
      L.total += e.duration;
      if (!L.worst || e.duration > L.worst.duration) L.worst = {
        duration: Math.round(e.duration),
        render_at: Math.round(e.renderStart ? e.renderStart - e.startTime : -1),
        style_layout_at: Math.round(e.styleAndLayoutStart ? e.styleAndLayoutStart - e.startTime : -1),
        scripts: e.scripts.map((x) => `${x.invoker} ${x.sourceFunctionName || ''} ${Math.round(x.duration)} ms (forced layout ${Math.round(x.forcedStyleAndLayoutDuration)})`),
      };
      if (e.styleAndLayoutStart) L.layout += e.startTime + e.duration - e.styleAndLayoutStart;
      for (const s of e.scripts) {
        L.script += s.duration;
        const k = s.invokerType + ' ' + s.invoker;
        L.by[k] = (L.by[k] || 0) + s.duration;
      }
    }
  }).observe({ type: 'long-animation-frame' });
} catch (_) { /* an older browser: no breakdown */ }
new MutationObserver(() => {
  const p = window.__probe;
  if (p.want >= 0 && p.dom[p.want] === undefined && shows(p.state)) {
    const k = p.want;
    p.dom[k] = performance.timeOrigin + performance.now();
    requestAnimationFrame(() => { p.paint[k] = performance.timeOrigin + performance.now(); });
  }
}).observe(cell, summary ? { subtree: true, childList: true, characterData: true } : { attributes: true, attributeFilter: ['class'] });
return true;
"#;

const SPLIT: &str = r#"
const cells = [...document.querySelectorAll('#teams .agent')];
const states = ['st-ready', 'st-talking', 'st-acw', 'st-not_ready'];
const out = [];
for (let round = 0; round < 5; round++) {
  document.body.offsetHeight;
  const t0 = performance.now();
  for (let i = round; i < cells.length; i += 4) {
    const c = cells[i];
    c.className = c.className.replace(/st-[a-z_]+/, states[(i + round) % 4]);
  }
  const t1 = performance.now();
  getComputedStyle(cells[cells.length - 1]).color;
  const t2 = performance.now();
  document.body.offsetHeight;
  const t3 = performance.now();
  out.push([t1 - t0, t2 - t1, t3 - t2].map((x) => x.toFixed(1)).join('/'));
}
return 'js/style/layout ms for 500 class changes: ' + out.join(' ') + ' mode ' + document.getElementById('teams').className;
"#;

/// Every animation frame callback followed by a forced style and layout, timed:
/// what the browser would do after the callback anyway, so what is left of a
/// long frame beyond both is paint and compositing.
const FORCED: &str = r#"
const raf = window.requestAnimationFrame.bind(window);
window.__split = { n: 0, js: 0, forced: 0, worst: 0 };
window.requestAnimationFrame = (cb) => raf((ts) => {
  const t0 = performance.now();
  cb(ts);
  const t1 = performance.now();
  document.body.offsetHeight;
  const t2 = performance.now();
  const S = window.__split;
  S.n++; S.js += t1 - t0; S.forced += t2 - t1; S.worst = Math.max(S.worst, t2 - t1);
});
return true;
"#;

async fn latency() -> anyhow::Result<()> {
    let agents = env_or("FW_WALL_AGENTS", 2000);
    let probes = env_or("FW_WALL_PROBES", 150);
    const RATE: usize = 10_000;
    // Enough load for the probes (~0.6 s each) plus the start.
    let secs = probes * 6 / 10 + 30;
    let t0 = Instant::now();
    let load = Arc::new(frames(agents - 1, RATE * secs, 100, 1).remove(0));
    println!(
        "latency: {} frames of 100 events from a {}-agent simulated floor (generated in {:.1} s)",
        load.len(),
        agents - 1,
        t0.elapsed().as_secs_f64()
    );

    let mut cfg = Config::default();
    if let Ok(ms) = std::env::var("FW_WALL_SNAPSHOT_MS").map(|v| v.parse()) {
        cfg.floor.snapshot_interval_ms = ms?;
    }
    if let Ok(ms) = std::env::var("FW_WALL_PUSH_MS").map(|v| v.parse()) {
        cfg.wallboard.push_interval_ms = ms?;
    }
    println!(
        "  floor.snapshot_interval_ms = {}, wallboard.push_interval_ms = {}",
        cfg.floor.snapshot_interval_ms, cfg.wallboard.push_interval_ms
    );
    let (d, _dir) = start(cfg).await?;
    let addr = d.addr;
    // The floor signs in first (the simulator's first frames are its logins),
    // then the wall opens, then the load runs at its pace while the probes go.
    const WARM: usize = 60;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=load")).await?;
    for f in &load[..WARM] {
        ws.send(Message::Text(f.clone())).await?;
    }
    let (mut probe, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=probe")).await?;
    let ts = || floorwatch::event::format_ts(chrono::Utc::now().timestamp_millis());
    probe
        .send(Message::Text(
            json!({"type":"agent_login","ts":ts(),"agent":"P0001","name":"probe","team":"probe"})
                .to_string()
                .into(),
        ))
        .await?;
    if std::env::var("FW_WALL_INCIDENT").is_ok() {
        // A trunk down: a critical fault alert, and the incident it opens puts
        // its reply script on the wall, as during the demo's outage.
        probe
            .send(Message::Text(
                json!({"type":"fault","ts":ts(),"component":"trunk-2","status":"down"}).to_string().into(),
            ))
            .await?;
        println!("  during an incident: trunk-2 down, its script on the wall");
    }
    let (port, _driver) = chromedriver()?;
    let trace = std::env::var("FW_WALL_TRACE").ok().filter(|t| !t.is_empty());
    let c = browser(port, trace.is_some()).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let outcome = measure(&c, port, trace.as_deref(), addr, agents, probes, &mut probe, ts, || {
        let (load, stop) = (load.clone(), stop.clone());
        tokio::spawn(async move {
            // 100 frames of 100 events a second.
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut sent = 0usize;
            for f in &load[WARM..] {
                tick.tick().await;
                ws.send(Message::Text(f.clone())).await?;
                sent += 100;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            anyhow::Ok(sent)
        })
    })
    .await;
    let _ = c.close().await;
    stop.store(true, Ordering::Relaxed);
    let (dom, paint, server, on_screen, rate, offsets, sender) = outcome?;
    let sent = sender.await??;
    let (mut dom, mut paint, mut server) = (dom, paint, server);
    println!(
        "event → DOM, {} probes, {on_screen} agents on the wall, {rate:.0} events/s processed during the probes \
         ({sent} load events sent; browser clock offset {:.1} ms before, {:.1} ms after):",
        dom.len(),
        offsets.0,
        offsets.1,
    );
    println!(
        "  DOM changed: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; next frame drawn: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal p99 < 250 ms)",
        percentile(&mut dom, 0.5),
        percentile(&mut dom, 0.99),
        percentile(&mut dom, 1.0),
        percentile(&mut paint, 0.5),
        percentile(&mut paint, 0.99),
        percentile(&mut paint, 1.0),
    );
    println!(
        "  the same change on a plain /ws/floor client (no browser): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&mut server, 0.5),
        percentile(&mut server, 0.99),
        percentile(&mut server, 1.0),
    );
    d.shutdown();
    d.wait().await?;
    Ok(())
}

/// The browser's clock against ours, from the round trips that took least time
/// (a busy page answers late, which would skew the midpoint).
async fn clock_offset(c: &Client) -> anyhow::Result<f64> {
    let mut samples = Vec::new();
    for _ in 0..20 {
        let before = unix_ms();
        let b = js(c, "return performance.timeOrigin + performance.now()").await?.as_f64().unwrap_or(0.0);
        let after = unix_ms();
        samples.push((after - before, b - (before + after) / 2.0));
    }
    samples.sort_by(|x, y| x.0.total_cmp(&y.0));
    Ok(samples[..5].iter().map(|s| s.1).sum::<f64>() / 5.0)
}

type Probe = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

type Sender = tokio::task::JoinHandle<anyhow::Result<usize>>;
type Measured = (Vec<f64>, Vec<f64>, Vec<f64>, u64, f64, (f64, f64), Sender);

#[allow(clippy::too_many_arguments)]
async fn measure(
    c: &Client,
    driver: u16,
    trace: Option<&str>,
    addr: SocketAddr,
    agents: usize,
    probes: usize,
    probe: &mut Probe,
    ts: impl Fn() -> String,
    start_load: impl FnOnce() -> Sender,
) -> anyhow::Result<Measured> {
    // FW_WALL_MODE=cells|summary: the wall's `?agents=` (default: as
    // `wallboard.agent_cells_max` says, summaries past 1,000 agents).
    let how = std::env::var("FW_WALL_MODE").map(|m| format!("?agents={m}")).unwrap_or_default();
    c.goto(&format!("http://{addr}/{how}")).await?;
    // The whole floor on the wall first: as cells, or counted by the team tiles.
    let deadline = Instant::now() + Duration::from_secs(60);
    let on_screen = loop {
        let n = js(
            c,
            "return document.getElementById('teams').className.includes('d-sum') \
             ? [...document.querySelectorAll('#flow .team .ttotal')].reduce((n, e) => n + Number(e.textContent.replace(/[^0-9]/g, '')), 0) \
             : document.querySelectorAll('#teams .agent').length",
        )
        .await?
        .as_u64()
        .unwrap_or(0);
        let has_probe = js(c, "return !!document.querySelector(\"[data-team='probe']\")").await? == true;
        if n >= agents as u64 && has_probe {
            break n;
        }
        anyhow::ensure!(Instant::now() < deadline, "only {n} agents on the wall");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    js(c, OBSERVER).await?;
    if let Ok(css) = std::env::var("FW_WALL_CSS") {
        js(c, &format!("const s = document.createElement('style'); s.textContent = {}; document.head.append(s); return true", json!(css))).await?;
    }
    if std::env::var("FW_WALL_SPLIT").is_ok() {
        let v = js(c, SPLIT).await?;
        println!("  split: {v}");
        js(c, FORCED).await?;
    }
    // What the wall looks like at this size, for the curious.
    let shot = std::env::temp_dir().join("floorwatch-wall-2000.png");
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(&shot, png);
        println!("  (the wall at this size: {})", shot.display());
    }
    let offset = clock_offset(c).await?;
    let pushed = watch_probe(addr).await?;
    let sender = start_load();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The page's own figures are best effort: the latency does not depend on them.
    let metered = cdp(driver, c, "Performance.enable", json!({})).await;
    if let Err(e) = &metered {
        println!("  (no CDP performance figures: {e})");
    }
    if trace.is_some() {
        // What the log holds so far (the page's start) is dropped: the trace
        // covers the probes.
        driver_post(driver, c, "se/log", &json!({"type": "performance"})).await?;
    }
    let metrics_before = if metered.is_ok() { page_metrics(driver, c).await.ok() } else { None };
    let events_before = metric(addr, "floorwatch_events_total").await?;
    let started = Instant::now();
    let (mut dom, mut paint, mut server) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..probes {
        let (state, extra) = if k % 2 == 0 { ("not_ready", r#","reason":"break""#) } else { ("ready", "") };
        js(c, &format!("window.__probe.state = '{state}'; window.__probe.want = {k}; return true")).await?;
        let ev =
            format!(r#"{{"type":"agent_state","ts":"{}","agent":"P0001","state":"{state}"{extra}}}"#, ts());
        let sent = unix_ms();
        probe.send(Message::Text(ev.into())).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let v = js(c, &format!("return [window.__probe.dom[{k}], window.__probe.paint[{k}]]")).await?;
            if let (Some(d), Some(p)) = (v[0].as_f64(), v[1].as_f64()) {
                dom.push(d - offset - sent);
                paint.push(p - offset - sent);
                let at = pushed
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .iter()
                    .find(|(t, s)| *t >= sent && s == state)
                    .map(|(t, _)| *t);
                if let Some(t) = at {
                    server.push(t - sent);
                }
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "probe {k} never reached the page");
        }
        // A random phase against the wall's update rhythm.
        let pause = (k * 7919 % 400) as u64;
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let rate =
        (metric(addr, "floorwatch_events_total").await? - events_before) / started.elapsed().as_secs_f64();
    let secs = started.elapsed().as_secs_f64();
    let metrics = match metrics_before {
        Some(before) => page_metrics(driver, c).await.ok().map(|after| (before, after)),
        None => None,
    };
    if let Some((metrics_before, metrics_after)) = metrics {
        let spent = |k: &str| metrics_after.get(k).unwrap_or(&0.0) - metrics_before.get(k).unwrap_or(&0.0);
        println!(
            "  the page's main thread per second of probes (CDP Performance.getMetrics): busy {:.0} ms — script {:.0} ms, \
         style {:.0} ms ({:.1} recalcs), layout {:.0} ms ({:.1} layouts); JS heap {:.0} MB",
            spent("TaskDuration") * 1000.0 / secs,
            spent("ScriptDuration") * 1000.0 / secs,
            spent("RecalcStyleDuration") * 1000.0 / secs,
            spent("RecalcStyleCount") / secs,
            spent("LayoutDuration") * 1000.0 / secs,
            spent("LayoutCount") / secs,
            metrics_after.get("JSHeapUsedSize").unwrap_or(&0.0) / 1e6,
        );
    }
    if let Some(path) = trace {
        let log = driver_post(driver, c, "se/log", &json!({"type": "performance"})).await?;
        let events: Vec<Value> = log
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
            .filter(|m| m["message"]["method"] == "Tracing.dataCollected")
            .map(|mut m| m["message"]["params"].take())
            .collect();
        std::fs::write(path, serde_json::to_vec(&events)?)?;
        println!("  trace of the probes: {} events in {path}", events.len());
    }
    let long = js(c, "return window.__long").await?;
    let mut long: Vec<f64> = long.as_array().into_iter().flatten().filter_map(Value::as_f64).collect();
    println!(
        "  the page's main thread during the probes: {} tasks over 50 ms, longest {:.0} ms, 99th percentile {:.0} ms",
        long.len(),
        percentile(&mut long.clone(), 1.0),
        percentile(&mut long, 0.99)
    );
    let split = js(c, "return window.__split || null").await?;
    if split["n"].as_f64().unwrap_or(0.0) > 0.0 {
        println!(
            "  forced after each frame callback: {} callbacks, script {:.1} ms/s, style+layout {:.1} ms/s (worst {:.0} ms)",
            split["n"],
            split["js"].as_f64().unwrap_or(0.0) / secs,
            split["forced"].as_f64().unwrap_or(0.0) / secs,
            split["worst"].as_f64().unwrap_or(0.0)
        );
    }
    let loaf = js(c, "return window.__loaf").await?;
    if loaf["n"].as_u64().unwrap_or(0) > 0 {
        let f = |k: &str| loaf[k].as_f64().unwrap_or(0.0);
        let mut by: Vec<(String, f64)> = loaf["by"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect();
        by.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<String> = by.iter().take(4).map(|(k, v)| format!("{k} {:.0} ms/s", v / secs)).collect();
        println!(
            "  long animation frames: {} ({:.0} ms/s of the probes), of which scripts {:.0} ms/s, style and layout {:.0} ms/s; \
             scripts by caller: {}",
            loaf["n"],
            f("total") / secs,
            f("script") / secs,
            f("layout") / secs,
            top.join(", ")
        );
        println!("  the longest animation frame: {}", loaf["worst"]);
    }
    let after = clock_offset(c).await?;
    Ok((dom, paint, server, on_screen, rate, (offset, after), sender))
}

/// A plain WebSocket client on /ws/floor noting when each frame that carries the
/// probe agent arrives, and the state it carries: the server's share of the
/// latency, without a browser.
async fn watch_probe(addr: SocketAddr) -> anyhow::Result<Arc<std::sync::Mutex<Vec<(f64, String)>>>> {
    use futures_util::StreamExt;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/floor")).await?;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = seen.clone();
    tokio::spawn(async move {
        while let Some(Ok(Message::Text(t))) = ws.next().await {
            let at = unix_ms();
            if let Some(i) = t.find(r#"{"id":"P0001""#) {
                let rest = &t[i..];
                let obj = &rest[..rest.find('}').unwrap_or(rest.len())];
                if let Some(st) = obj.split(r#""state":""#).nth(1).and_then(|x| x.split('"').next())
                    && let Ok(mut v) = out.lock()
                {
                    v.push((at, st.to_string()));
                }
            }
        }
    });
    Ok(seen)
}

// ---------------------------------------------------------------------------
// 2. Ingest throughput with 100 wall clients
// ---------------------------------------------------------------------------

/// A `/ws/floor` client without a WebSocket library: the handshake, then either
/// reading and dropping every byte (a browser elsewhere costs this process
/// nothing but the socket) or never reading at all.
async fn wall_client(addr: SocketAddr, reads: bool, bytes: Arc<AtomicU64>) -> anyhow::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    let req = format!(
        "GET /ws/floor HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await?;
        head.push(byte[0]);
    }
    anyhow::ensure!(head.starts_with(b"HTTP/1.1 101"), "no upgrade: {}", String::from_utf8_lossy(&head));
    if !reads {
        // Hold the socket open and read nothing.
        std::future::pending::<()>().await;
    }
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
}

async fn blast(addr: SocketAddr, frames: Arc<Vec<Vec<Utf8Bytes>>>) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for c in 0..frames.len() {
        let frames = frames.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) =
                tokio_tungstenite::connect_async(format!("ws://{addr}/ingest?source=bench-{c}")).await?;
            for f in &frames[c] {
                ws.send(Message::Text(f.clone())).await?;
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

/// Events/s to fully process `n` events, with `walls` wall clients (a fifth of
/// them never reading); and the bytes the readers got.
async fn run(frames: Arc<Vec<Vec<Utf8Bytes>>>, n: usize, walls: usize) -> anyhow::Result<(f64, u64)> {
    let (d, _dir) = start(Config::default()).await?;
    let addr = d.addr;
    let bytes = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for i in 0..walls {
        clients.push(tokio::spawn(wall_client(addr, i % 5 != 0, bytes.clone())));
    }
    // Every wall has had its snapshot of the empty floor before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    let sender = tokio::spawn(blast(addr, frames));
    loop {
        if metric(addr, "floorwatch_events_total").await? >= n as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    sender.await??;
    let got = bytes.load(Ordering::Relaxed);
    for c in clients {
        c.abort();
    }
    d.shutdown();
    d.wait().await?;
    Ok((rate, got))
}

async fn throughput() -> anyhow::Result<()> {
    let agents = env_or("FW_WALL_AGENTS", 2000);
    let n = env_or("FW_WALL_EVENTS", 4_000_000);
    let rounds = env_or("FW_WALL_ROUNDS", 3);
    let frames = Arc::new(frames(agents, n, 100, 4));
    let n: usize = n.min(frames.iter().map(Vec::len).sum::<usize>() * 100);
    println!(
        "throughput: {n} events from a {agents}-agent simulated floor, four sites of {} agents, batches of 100, one connection per site",
        agents / 4
    );
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let (alone, _) = run(frames.clone(), n, 0).await?;
        let (with, bytes) = run(frames.clone(), n, 100).await?;
        println!(
            "round {round}: no wall clients {alone:>10.0} ev/s   100 wall clients (20 never reading) {with:>10.0} ev/s   \
             ratio {:.2}   ({:.1} MB pushed to the 80 readers)",
            with / alone,
            bytes as f64 / 1e6
        );
        ratios.push(with / alone);
    }
    println!("median ratio {:.2} (goal >= 0.90)", percentile(&mut ratios, 0.5));
    Ok(())
}
