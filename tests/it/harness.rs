//! `TestDaemon`: the real daemon on an ephemeral loopback port, and the clients a
//! CTI bridge or a browser would use against it (WebSocket, plain HTTP/1.1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound for anything a test waits for: a guard against hangs, not a
/// performance assertion.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct TestDaemon {
    pub addr: SocketAddr,
    daemon: Option<Daemon>,
    cfg: Config,
    _dir: tempfile::TempDir,
}

impl TestDaemon {
    pub async fn start() -> TestDaemon {
        TestDaemon::with_config(Config::default()).await
    }

    pub async fn with_config(cfg: Config) -> TestDaemon {
        TestDaemon::in_dir(cfg, tempfile::tempdir().expect("temp dir")).await
    }

    async fn in_dir(mut cfg: Config, dir: tempfile::TempDir) -> TestDaemon {
        cfg.data_dir = dir.path().to_path_buf();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let daemon = Daemon::start(cfg.clone(), listener, Clock::system()).await.expect("daemon starts");
        TestDaemon { addr: daemon.addr, daemon: Some(daemon), cfg, _dir: dir }
    }

    /// Stops the daemon gracefully and starts a new one on the same data directory.
    pub async fn restart(mut self) -> TestDaemon {
        let d = self.daemon.take().expect("daemon running");
        d.shutdown();
        tokio::time::timeout(PATIENCE, d.wait()).await.expect("shutdown finishes").expect("clean shutdown");
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().expect("temp dir"));
        TestDaemon::in_dir(self.cfg.clone(), dir).await
    }

    pub async fn post(&self, path: &str, body: &str, token: Option<&str>) -> (u16, String) {
        http_send(self.addr, "POST", path, body, token).await
    }

    pub async fn patch(&self, path: &str, body: &str, token: Option<&str>) -> (u16, String) {
        http_send(self.addr, "PATCH", path, body, token).await
    }

    pub fn ws_url(&self, source: Option<&str>) -> String {
        match source {
            Some(s) => format!("ws://{}/ingest?source={s}", self.addr),
            None => format!("ws://{}/ingest", self.addr),
        }
    }

    pub async fn bridge(&self, source: Option<&str>) -> Bridge {
        Bridge::connect(&self.ws_url(source), None).await.expect("ingest handshake")
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await
    }

    pub async fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200);
        body
    }

    pub async fn floor(&self) -> serde_json::Value {
        let (status, body) = self.get("/api/floor").await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("floor is JSON")
    }

    /// Waits until `floorwatch_events_total` (summed) reaches `n`.
    pub async fn wait_events(&self, n: u64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let got = metric_sum(&self.metrics().await, "floorwatch_events_total", &[]);
            if got as u64 >= n {
                assert_eq!(got as u64, n, "more events processed than sent");
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "only {got} of {n} events processed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the published snapshot satisfies `pred`.
    pub async fn wait_floor(&self, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let f = self.floor().await;
            if pred(&f) {
                return f;
            }
            assert!(tokio::time::Instant::now() < deadline, "floor never reached the expected state: {f}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Where the daemon's database lives.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("daemon running")
    }

    /// Graceful shutdown, returning the daemon's result.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let d = self.daemon.take().expect("daemon running");
        d.shutdown();
        tokio::time::timeout(PATIENCE, d.wait()).await.expect("shutdown finishes")
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(d) = &self.daemon {
            d.shutdown();
        }
    }
}

/// A CTI bridge's end of `/ingest`.
pub struct Bridge {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Bridge {
    pub async fn connect(url: &str, token: Option<&str>) -> Result<Bridge, tungstenite::Error> {
        let mut req = url.into_client_request()?;
        if let Some(t) = token {
            req.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {t}")).expect("header value"),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Bridge { ws })
    }

    pub async fn send(&mut self, frame: impl Into<String>) {
        self.ws.send(Message::Text(frame.into().into())).await.expect("send frame");
    }

    /// The next text frame as JSON, or `None` if nothing arrives in `wait`.
    pub async fn recv_json(&mut self, wait: Duration) -> Option<serde_json::Value> {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(&t).expect("server frames are JSON"));
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                _ => return None,
            }
        }
    }

    /// Reads until the server's close frame; returns it.
    pub async fn recv_close(&mut self) -> Option<CloseFrame> {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next()).await {
                Ok(Some(Ok(Message::Close(f)))) => return f,
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Drain until the server acknowledges, so its session has really ended.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(5), self.ws.next()).await {}
    }
}

/// A minimal HTTP/1.1 GET (no client library needed for a loopback test).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")).await
}

/// A request with a JSON body and, optionally, the bearer token.
pub async fn http_send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, String) {
    let (status, _, body) = http_send_full(addr, method, path, body, token).await;
    (status, body)
}

/// Like [`http_send`], also returning the response head (status line and headers).
pub async fn http_send_full(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> (u16, String, String) {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    http_request_full(addr, &raw).await
}

pub async fn http_request(addr: SocketAddr, raw: &str) -> (u16, String) {
    let (status, _, body) = http_request_full(addr, raw).await;
    (status, body)
}

pub async fn http_request_full(addr: SocketAddr, raw: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(raw.as_bytes()).await.expect("write request");
    let mut buf = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut buf)).await.expect("response in time").expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Sum of every sample of `name` whose labels include all of `labels`.
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, lbls) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let ok = labels.iter().all(|(k, v)| lbls.split(',').any(|p| p == format!("{k}=\"{v}\"")));
            ok.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// An event time `secs` after a base ten minutes before the test binary started,
/// so events fall inside the live rolling windows.
pub fn ts(secs: f64) -> String {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| chrono::Utc::now().timestamp_millis() - 600_000);
    floorwatch::event::format_ts(base + (secs * 1000.0) as i64)
}

/// Waits for a child process to exit (bounded by [`PATIENCE`]) and asserts success.
pub async fn expect_clean_exit(child: &mut std::process::Child, what: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            assert!(st.success(), "{what}: exit status {st}");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An event time `secs` from now (negative: in the past).
/// One `[[access.tokens]]` entry: `teams` is the TOML list's inside, already
/// quoted (`"\"team-1\""`), empty for none; the token is stored as its SHA-256.
pub fn token_toml(name: &str, role: &str, teams: &str, token: &str) -> String {
    format!(
        "[[access.tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nteams = [{teams}]\nsha256 = \"{}\"\n",
        floorwatch::access::Digest::of(token).to_hex()
    )
}

pub fn ts_now(secs: f64) -> String {
    floorwatch::event::format_ts(chrono::Utc::now().timestamp_millis() + (secs * 1000.0) as i64)
}

/// A webhook receiver that records what it gets.
pub async fn recording_receiver() -> (SocketAddr, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use axum::routing::post;
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("lock").push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, got)
}

/// `floorwatch serve` as a child process on `port` (the real binary, for tests
/// that kill -9 it or send it signals), data in `dir`, with `config` when given.
pub fn serve_child(
    config: Option<&std::path::Path>,
    dir: &std::path::Path,
    port: u16,
) -> std::process::Child {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_floorwatch"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd.arg("--data-dir")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn floorwatch serve")
}

/// Waits until something listens on `addr` (a child daemon has bound its port).
pub async fn wait_listening(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TcpStream::connect(addr).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "daemon never listened on {addr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loopback port nothing listens on now (for a child process to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}
