//! The wallboard and the team-lead console: `/ws/floor` over a plain WebSocket,
//! and both pages in real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `./scripts/test` installs) driven over WebDriver:
//! live agents and queues from `/ingest`, a new event reaching the page, a hostile
//! name staying text, languages, reconnecting after a daemon restart, and a team
//! lead acknowledging an alert.
//!
//! One chromedriver serves the whole test binary; each test has its own browser
//! session and its own daemon.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use floorwatch::floor::TeamConfig;
use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Bridge, PATIENCE, TestDaemon, http_request, ts_now};

// ---------------------------------------------------------------------------
// /ws/floor and the pages over plain HTTP
// ---------------------------------------------------------------------------

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).expect("frames are JSON"),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no frame from /ws/floor: {other:?}"),
        }
    }
}

#[tokio::test]
async fn ws_floor_sends_a_snapshot_then_deltas() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!({"type":"agent_login","ts":ts_now(-5.0),"agent":"A1","name":"王芳","team":"team-1"})
            .to_string(),
    )
    .await;
    // Published: /ws/floor shows what the engine has published, like /api/floor.
    d.wait_floor(|f| f["logged_in"] == 1).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/floor", d.addr)).await.expect("connect");
    let first = next_frame(&mut ws).await;
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["config"]["timezone"], "Asia/Shanghai");
    assert_eq!(first["config"]["limits"]["acw_secs"], 120);
    // The pages name kinds from the server's one list, in both languages.
    for k in floorwatch::vocab::Kind::ALL {
        let names = &first["config"]["kinds"][k.as_str()];
        assert!(names["zh-CN"].as_str().is_some_and(|n| !n.is_empty() && !n.is_ascii()), "{k}: {names}");
        assert!(names["en"].as_str().is_some_and(|n| !n.is_empty() && n.is_ascii()), "{k}: {names}");
    }
    assert_eq!(first["config"]["kinds"]["acw_overrun"]["en"], "ACW overrun");
    assert_eq!(first["agents"][0]["name"], "王芳", "{first}");
    let mut seq = first["seq"].as_u64().expect("seq");

    b.send(json!({"type":"call_offered","ts":ts_now(0.0),"call":"C1","queue":"billing"}).to_string()).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let f = next_frame(&mut ws).await;
        assert_eq!(f["type"], "delta");
        assert_eq!(f["seq"].as_u64(), Some(seq + 1), "deltas are numbered one by one");
        seq += 1;
        if let Some(q) = f["queues"].as_array().and_then(|qs| qs.iter().find(|q| q["id"] == "billing")) {
            assert_eq!(q["waiting"], 1);
            assert!(q["oldest_since"].is_i64());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the offered call never reached /ws/floor");
    }
}

#[tokio::test]
async fn pages_and_assets_are_served_with_their_types_and_policy() {
    let d = TestDaemon::start().await;
    for (path, ty) in [
        ("/", "text/html"),
        ("/lead", "text/html"),
        ("/assets/wall.js", "text/javascript"),
        ("/assets/style.css", "text/css"),
    ] {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut s = tokio::net::TcpStream::connect(d.addr).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut s, raw.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut buf).await.expect("read");
        let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
        let head = head.split("\r\n\r\n").next().unwrap_or("").to_string();
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(head.contains(&format!("content-type: {ty}")), "{path}: {head}");
        if ty == "text/html" {
            assert!(
                head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
                "{head}"
            );
        }
    }
    let (status, _) =
        http_request(d.addr, "GET /assets/nope.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status, 404);
}

/// The safety rule of the front-end, checked where it is written: outside text
/// goes in through textContent, never through an HTML parser or eval.
#[test]
fn wallboard_scripts_never_parse_html_or_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/wallboard");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("src/wallboard").flatten() {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "js" || e == "html") {
            let text = std::fs::read_to_string(&p).expect("readable");
            for banned in
                ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]
            {
                assert!(!text.contains(banned), "{} uses {banned}", p.display());
            }
            if p.extension().is_some_and(|e| e == "html") {
                assert!(!text.contains("<script>"), "{}: inline script (the CSP forbids it)", p.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 5, "wallboard files not found");
}

// ---------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------

/// chromedriver on a free loopback port, started once for the test binary. It
/// runs under a shell that kills it when the test binary's end of its stdin
/// closes, which happens however the binary exits.
pub(crate) fn chromedriver() -> u16 {
    static DRIVER: OnceLock<(u16, Child)> = OnceLock::new();
    DRIVER
        .get_or_init(|| {
            for tool in ["chromium", "chromedriver"] {
                let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
                assert!(
                    found.is_ok_and(|o| o.status.success()),
                    "`{tool}` is not installed: the wallboard tests need Debian's chromium and chromium-driver \
                     (./scripts/test installs them: apt-get install chromium chromium-driver)"
                );
            }
            let mut child = Command::new("sh")
                .args(["-c", "chromedriver --port=0 & pid=$!; read _; kill $pid"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let stdout = child.stdout.take().expect("stdout");
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    // "ChromeDriver was started successfully on port 41234."
                    if let Some(rest) = line.split("started successfully on port ").nth(1) {
                        let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>().ok());
                    }
                }
            });
            let port = rx.recv_timeout(PATIENCE).ok().flatten().expect("chromedriver printed its port");
            (port, child)
        })
        .0
}

/// A headless Chromium whose browser language is `lang`.
async fn browser(lang: &str) -> Client {
    let port = chromedriver();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1920,1080", format!("--lang={lang}")],
            "prefs": {"intl.accept_languages": lang},
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session")
}

/// Runs `body` with a browser and closes the browser however `body` ends.
pub async fn with_browser<F, Fut>(lang: &str, body: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let c = browser(lang).await;
    let outcome = std::panic::AssertUnwindSafe(body(c.clone())).catch_unwind().await;
    let _ = c.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Polls `script` (a function body) until it returns something other than
/// null/false; returns that.
pub async fn until(c: &Client, what: &str, script: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let v = c.execute(script, vec![]).await.expect("script runs");
        if !v.is_null() && v != Value::Bool(false) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "page never showed {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A page script: the visible text in Chinese (ideographs, CJK punctuation,
/// full-width forms) — text nodes, input placeholders and options — after each
/// of `allowed` (names the config gives only in Chinese) is taken out. The
/// language toggle names the other language in its own script, by design.
pub fn cjk_script(allowed: &[&str]) -> String {
    format!(
        r##"
const allowed = {};
const cjk = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
const clean = (t) => allowed.reduce((s, a) => s.split(a).join(""), t);
const out = [];
const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walk.nextNode(); n; n = walk.nextNode()) {{
  const p = n.parentElement;
  if (!p || !p.offsetParent || p.id === "lang-toggle") continue;
  if (cjk.test(clean(n.textContent))) out.push(n.textContent.slice(0, 60));
}}
for (const e of document.querySelectorAll("input[placeholder], option")) {{
  // An option has no box of its own: it shows when its select does.
  const shown = e.offsetParent || (e.tagName === "OPTION" && e.closest("select")?.offsetParent);
  const t = e.placeholder || e.textContent;
  if (shown && cjk.test(clean(t))) out.push(t);
}}
return out;
"##,
        serde_json::json!(allowed)
    )
}

pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script runs")
}

/// The text of the first element matching `css`, or null.
pub fn text_of(css: &str) -> String {
    format!("const e = document.querySelector({css:?}); return e ? e.textContent : null;")
}

const HOSTILE: &str = r#"<img src=x onerror="window.__pwned=1">"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_shows_the_live_floor_in_the_browser_language_and_keeps_names_as_text() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(-30.0),"agent":"A1","name":"王芳","team":"team-1"},
            {"type":"agent_login","ts":ts_now(-30.0),"agent":"A2","name":HOSTILE,"team":"team-1"},
            {"type":"agent_state","ts":ts_now(-20.0),"agent":"A2","state":"not_ready","reason":"<b>bold</b>"},
            {"type":"agent_login","ts":ts_now(-30.0),"agent":"A3","name":"Emily Chen","team":"team-2"},
            {"type":"call_offered","ts":ts_now(-10.0),"call":"C1","queue":"billing"},
            {"type":"call_offered","ts":ts_now(-9.0),"call":"C2","queue":"billing"},
            {"type":"call_answered","ts":ts_now(-5.0),"call":"C2","agent":"A3"},
            {"type":"agent_state","ts":ts_now(-5.0),"agent":"A3","state":"talking","queue":"billing","call":"C2"}
        ])
        .to_string(),
    )
    .await;
    d.wait_events(8).await;
    let url = format!("http://{}/", d.addr);
    with_browser("zh-CN", |c| async move {
        c.goto(&url).await.expect("open the wall");
        // Chinese by default on a Chinese browser.
        assert_eq!(js(&c, "return document.documentElement.lang").await, "zh-CN");
        until(&c, "A1 on the wall", &text_of("[data-agent='A1'] .an")).await;
        assert_eq!(js(&c, &text_of("[data-agent='A1'] .an")).await, "王芳");
        assert_eq!(js(&c, &text_of(".chip.st-ready .k")).await, "空闲");
        let talking = js(&c, "return document.querySelector(\"[data-agent='A3']\").className").await;
        assert!(talking.as_str().is_some_and(|s| s.contains("st-talking")), "{talking}");
        // The queue tile: one call waiting, one answered.
        assert_eq!(js(&c, &text_of("[data-queue='billing'] .waiting .v")).await, "1");
        let counts = js(&c, &text_of("[data-queue='billing'] .counts")).await;
        assert!(counts.as_str().is_some_and(|s| s.contains("呼入 2") && s.contains("接通 1")), "{counts}");

        // A hostile name and reason are shown literally and run nothing.
        assert_eq!(js(&c, &text_of("[data-agent='A2'] .an")).await, HOSTILE);
        let reason = js(&c, &text_of("[data-agent='A2'] .ar")).await;
        assert!(reason.as_str().is_some_and(|r| r.starts_with("<b>bold</b>")), "{reason}");
        assert_eq!(js(&c, "return document.querySelectorAll('#teams img, #teams b b').length").await, 0);
        assert_eq!(js(&c, "return window.__pwned === undefined").await, true);

        // Time in state ticks in the browser with no event.
        let before = js(&c, &text_of("[data-agent='A1'] .at")).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let after = js(&c, &text_of("[data-agent='A1'] .at")).await;
        assert_ne!(before, after, "time in state did not move");

        // A new event reaches the page.
        let mut b = b;
        b.send(json!({"type":"agent_state","ts":ts_now(0.0),"agent":"A1","state":"not_ready","reason":"lunch"}).to_string())
            .await;
        until(&c, "A1 on lunch", "const e = document.querySelector(\"[data-agent='A1']\"); return e && e.className.includes('st-not_ready') && e.querySelector('.ar').textContent.startsWith('用餐');").await;

        // The toggle switches to English, and the choice is remembered.
        c.find(Locator::Css("#lang-toggle")).await.expect("toggle").click().await.expect("click");
        until(&c, "English labels", "return document.querySelector('.chip.st-ready .k').textContent === 'Ready';").await;
        assert_eq!(js(&c, "return document.documentElement.lang").await, "en");
        assert_eq!(js(&c, "return new URL(location.href).searchParams.get('lang')").await, "en");
        c.goto(&url).await.expect("reload without ?lang");
        until(&c, "English after reload", "const e = document.querySelector('.chip.st-ready .k'); return e && e.textContent === 'Ready';").await;
        let date = js(&c, &text_of("#date")).await;
        assert!(date.as_str().is_some_and(|s| s.chars().any(|ch| ch.is_ascii_alphabetic())), "English date: {date}");
        // ?lang= wins over everything.
        c.goto(&format!("{url}?lang=zh-CN")).await.expect("open with ?lang");
        until(&c, "Chinese from ?lang", "const e = document.querySelector('.chip.st-ready .k'); return e && e.textContent === '空闲';").await;
        let date = until(&c, "the date", &text_of("#date")).await;
        assert!(date.as_str().is_some_and(|s| s.contains('年') && s.contains('日')), "Chinese date: {date}");
    })
    .await;
}

/// A daemon on a fixed address that can be stopped and started again there,
/// on the same data directory.
struct Restartable {
    addr: SocketAddr,
    cfg: Config,
    daemon: Option<Daemon>,
    _dir: tempfile::TempDir,
}

impl Restartable {
    async fn start() -> Restartable {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        // Checkpoints off: the test is about the wall taking the new daemon's
        // floor, which with a checkpoint would be the old one restored.
        cfg.floor.checkpoint_secs = 0;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let daemon = Daemon::start(cfg.clone(), listener, Clock::system()).await.expect("daemon");
        Restartable { addr: daemon.addr, cfg, daemon: Some(daemon), _dir: dir }
    }

    async fn stop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown();
            tokio::time::timeout(PATIENCE, d.wait()).await.expect("stops").expect("clean stop");
        }
    }

    async fn start_again(&mut self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(tokio::time::Instant::now() < deadline, "cannot bind {} again: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        self.daemon = Some(Daemon::start(self.cfg.clone(), listener, Clock::system()).await.expect("daemon"));
    }

    async fn bridge(&self) -> Bridge {
        Bridge::connect(&format!("ws://{}/ingest?source=acd", self.addr), None).await.expect("ingest")
    }
}

impl Drop for Restartable {
    fn drop(&mut self) {
        if let Some(d) = &self.daemon {
            d.shutdown();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_shows_disconnected_and_reconnects_after_a_daemon_restart() {
    let mut d = Restartable::start().await;
    let mut b = d.bridge().await;
    b.send(
        json!({"type":"agent_login","ts":ts_now(-5.0),"agent":"A1","name":"Iris Liu","team":"team-1"})
            .to_string(),
    )
    .await;
    let url = format!("http://{}/?lang=en", d.addr);
    let d = &mut d;
    with_browser("en-US", |c| async move {
        c.goto(&url).await.expect("open the wall");
        until(&c, "A1", &text_of("[data-agent='A1'] .an")).await;
        assert_eq!(js(&c, &text_of("#conn")).await, "Live");
        assert_eq!(js(&c, "return document.getElementById('lost').hidden").await, true);

        drop(b);
        d.stop().await;
        until(&c, "the disconnected state", "return !document.getElementById('lost').hidden && document.getElementById('conn').textContent.startsWith('Disconnected');").await;

        d.start_again().await;
        let mut b = d.bridge().await;
        b.send(json!({"type":"agent_login","ts":ts_now(0.0),"agent":"A2","name":"Sam King","team":"team-1"}).to_string())
            .await;
        // Reconnected by itself, with the new daemon's floor.
        until(&c, "A2 after the restart", &text_of("[data-agent='A2'] .an")).await;
        until(&c, "live again", "return document.getElementById('conn').textContent === 'Live' && document.getElementById('lost').hidden;").await;
        assert_eq!(js(&c, "return document.querySelector(\"[data-agent='A1']\") === null").await, true, "the old floor is gone");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_lead_sees_who_needs_attention_and_acknowledges_an_alert() {
    let mut cfg = Config::default();
    cfg.alerts.acw_overrun_secs = 3;
    cfg.floor.teams = two_teams();
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(-300.0),"agent":"A7","name":"王芳","team":"team-1"},
            {"type":"agent_login","ts":ts_now(-300.0),"agent":"A8","name":"Sam King","team":"team-1"},
            {"type":"agent_login","ts":ts_now(-300.0),"agent":"A9","name":HOSTILE,"team":"team-1"},
            {"type":"agent_state","ts":ts_now(-120.0),"agent":"A9","state":"not_ready","reason":"break"},
            {"type":"agent_login","ts":ts_now(-300.0),"agent":"B1","name":"Other Team","team":"team-2"}
        ])
        .to_string(),
    )
    .await;
    d.wait_events(5).await;
    let url = format!("http://{}/lead?team=team-1", d.addr);
    let addr = d.addr;
    with_browser("en-US", |c| async move {
        c.goto(&url).await.expect("open the console");
        // English on an English browser.
        until(&c, "the agents of team-1", "return document.querySelectorAll('#agents tr[data-agent]').length === 3;").await;
        assert_eq!(js(&c, &text_of("#title")).await, "Team-lead console");
        let picked = js(&c, "const s = document.getElementById('team'); return s.options[s.selectedIndex].textContent").await;
        assert_eq!(picked, "一组 · Lead 张伟");
        // Longest not-ready first; a hostile name is text.
        let order = "return [...document.querySelectorAll('#agents tr[data-agent]')].map(r => r.dataset.agent).join(',')";
        assert_eq!(js(&c, order).await, "A9,A7,A8");
        assert_eq!(js(&c, &text_of("#agents tr[data-agent='A9'] .an")).await, HOSTILE);
        assert_eq!(js(&c, "return window.__pwned === undefined && document.querySelectorAll('#agents img').length === 0").await, true);

        // Browser notifications, recorded (headless Chromium shows none), and the
        // alerts switch, which a team lead taps once.
        js(&c, "window.__shown = []; window.Notification = class { static permission = 'granted'; \
                static requestPermission() { return Promise.resolve('granted'); } \
                constructor(title, opts) { window.__shown.push(title + ' | ' + opts.body); } }; return true").await;
        c.find(Locator::Css("#alerts-on")).await.expect("button").click().await.expect("click");
        until(&c, "alerts switched on", "return document.getElementById('alerts-on').textContent === 'Alerts on';").await;

        // A7 goes into after-call work and overruns: first in the list, an alert
        // for the team with a notification.
        let mut b = b;
        b.send(json!({"type":"agent_state","ts":ts_now(-0.5),"agent":"A7","state":"acw"}).to_string()).await;
        until(&c, "A7 first, overrun", "const r = document.querySelector('#agents tr[data-agent]'); return r && r.dataset.agent === 'A7' && r.className === 'ov';").await;
        until(&c, "the team alert", "return document.querySelector('#team-alerts .card.state-firing button.ack') !== null;").await;
        let shown = until(&c, "a notification", "return window.__shown.length ? window.__shown : null;").await;
        assert_eq!(shown.as_array().map(Vec::len), Some(1), "{shown}");
        assert!(shown[0].as_str().is_some_and(|s| s.starts_with("New alert: ACW overrun · 王芳 (A7)")), "{shown}");
        assert_eq!(js(&c, "return document.querySelectorAll('#floor-alerts .card').length").await, 0);

        // Acknowledge it.
        c.find(Locator::Css("#team-alerts button.ack")).await.expect("ack button").click().await.expect("click");
        until(&c, "the dialog", "return document.getElementById('ack-dialog').open;").await;
        assert_eq!(js(&c, "return document.getElementById('ack-by').value").await, "张伟");
        c.find(Locator::Css("#ack-note")).await.expect("note").send_keys("on my way").await.expect("type");
        c.find(Locator::Css("#ack-submit")).await.expect("submit").click().await.expect("click");
        until(&c, "the acknowledgement", "const a = document.querySelector('#team-alerts .card.state-acknowledged .acked'); return a && a.textContent.startsWith('Acknowledged by 张伟') && !document.getElementById('ack-dialog').open;").await;

        let (status, body) =
            http_request(addr, "GET /api/alerts?state=acknowledged HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status, 200);
        let list: Value = serde_json::from_str(&body).expect("json");
        let a = &list[0];
        assert_eq!(a["kind"], "acw_overrun");
        assert_eq!(a["subject"]["agent"], "A7");
        assert_eq!(a["acknowledged_by"], "张伟");
        assert_eq!(a["ack_note"], "on my way");
    })
    .await;
}

/// Incidents on screen: a fault's unified script appears on the wall in large
/// type; the supervisor edits and publishes it from the console and the wall
/// follows; a team lead logs a caller and a fault note from the console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unified_script_reaches_the_wall_and_the_console_edits_it() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"fault","ts":ts_now(0.0),"component":"trunk-2","status":"down"}).to_string()).await;
    let (wall, lead, addr) =
        (format!("http://{}/?lang=zh-CN", d.addr), format!("http://{}/lead?lang=en", d.addr), d.addr);
    with_browser("zh-CN", |c| async move {
        c.goto(&wall).await.expect("open the wall");
        let text = until(&c, "the script on the wall", "const s = document.querySelector('#incident .script-text'); return s && !document.getElementById('incident').hidden ? s.textContent : null;").await;
        assert!(text.as_str().is_some_and(|t| t.contains("trunk-2") && t.contains("系统故障")), "{text}");

        // The console, in another tab: publish a new version.
        c.new_window(true).await.expect("new tab");
        let handles = c.windows().await.expect("tabs");
        c.switch_to_window(handles[1].clone()).await.expect("switch");
        c.goto(&lead).await.expect("open the console");
        until(&c, "the script editor", "const e = document.getElementById('script-editor'); return !e.hidden && document.getElementById('script-zh').value.includes('trunk-2');").await;
        let new_zh = format!("{HOSTILE} 您好，2 号中继线正在抢修，预计 10 分钟恢复。");
        js(&c, &format!("document.getElementById('script-zh').value = {new_zh:?}; return true")).await;
        c.find(Locator::Css("#script-form button[type=submit]")).await.expect("publish").click().await.expect("click");
        until(&c, "published", "return document.querySelector('#script-form .msg').textContent === 'Version 2 published';").await;

        // A caller logged against the incident, and a note on the fault entry.
        until(&c, "the incident in the call-back form", "return document.querySelectorAll('#cb-incident option').length === 2;").await;
        js(&c, "const s = document.getElementById('cb-incident'); s.value = s.options[1].value; return true").await;
        c.find(Locator::Css("#cb-caller")).await.expect("caller").send_keys("13800000001").await.expect("type");
        c.find(Locator::Css("#cb-note")).await.expect("note").send_keys("asked for a call after 3 pm").await.expect("type");
        c.find(Locator::Css("#callback-form button[type=submit]")).await.expect("log").click().await.expect("click");
        until(&c, "logged", "return document.querySelector('#callback-form .msg').textContent === 'Logged 13800000001';").await;
        until(&c, "the fault form", "return !document.getElementById('fault-notes').hidden;").await;
        c.find(Locator::Css("#fault-cause")).await.expect("cause").send_keys("carrier lost on E1 2").await.expect("type");
        c.find(Locator::Css("#fault-form button[type=submit]")).await.expect("save").click().await.expect("click");
        until(&c, "saved", "return document.querySelector('#fault-form .msg').textContent === 'Saved';").await;

        // Back on the wall: version 2, the hostile text shown as text.
        c.switch_to_window(handles[0].clone()).await.expect("switch back");
        until(&c, "version 2 on the wall", &format!("const s = document.querySelector('#incident .script-text'); return s && s.textContent === {new_zh:?};")).await;
        assert_eq!(js(&c, "return window.__pwned === undefined && document.querySelectorAll('#incident img').length === 0").await, true);

        let (_, body) = http_request(addr, "GET /api/callbacks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        let cbs: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(cbs[0]["caller"], "13800000001");
        assert_eq!(cbs[0]["note"], "asked for a call after 3 pm");
        assert!(cbs[0]["incident"].is_string());
        let (_, body) = http_request(addr, "GET /api/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        let faults: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(faults[0]["cause"], "carrier lost on E1 2");
    })
    .await;
}

/// The two teams the console tests work with, each with its lead.
pub fn two_teams() -> Vec<TeamConfig> {
    let team = |id: &str, name: &str, lead: &str| TeamConfig {
        id: id.into(),
        name: name.into(),
        names: Default::default(),
        lead: Some(lead.into()),
    };
    vec![team("team-1", "一组", "张伟"), team("team-2", "二组", "李娜")]
}
