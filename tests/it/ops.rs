//! The daemon beside the operator's tools (issue 17): health and readiness as
//! systemd and load balancers read them, both languages in the API, gzip, and
//! JSON log lines a collector can parse.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::{PATIENCE, TestDaemon, expect_clean_exit, http_get, http_request_full, ts_now};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_turns_503_while_the_store_cannot_commit_and_200_again_after() {
    let d = TestDaemon::start().await;
    let (status, body) = d.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = d.get("/readyz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
    // Another process holds the database's write lock (an operator's shell, a
    // backup tool, a wedged disk): the daemon cannot commit, so it is unhealthy.
    let db = d.data_dir().join("floorwatch.db");
    let locker = rusqlite::Connection::open(&db).expect("open the daemon's database");
    locker.execute_batch("BEGIN IMMEDIATE; UPDATE health SET pings = pings WHERE id = 1;").expect("lock");
    let (status, body) = d.get("/healthz").await;
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "unavailable");
    assert!(v["reason"].as_str().is_some_and(|r| r.contains("store")), "{v}");
    // Still ready: it has its state and takes events; health is the alarm.
    assert_eq!(d.get("/readyz").await.0, 200);
    locker.execute_batch("ROLLBACK").expect("unlock");
    drop(locker);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = d.get("/healthz").await;
        if status == 200 {
            assert!(body.contains("writable"), "{body}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never healthy again: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_carry_both_languages_and_large_answers_are_gzipped() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"fault","ts":ts_now(0.0),"component":"trunk-2","status":"down"}).to_string()).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let a = loop {
        let (_, body) = d.get("/api/alerts").await;
        let list: Vec<Value> = serde_json::from_str(&body).expect("json");
        if let Some(a) = list.into_iter().find(|a| a["subject"]["component"] == "trunk-2") {
            break a;
        }
        assert!(tokio::time::Instant::now() < deadline, "no alert");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(a["messages"]["zh-CN"], "系统故障：trunk-2 中断");
    assert_eq!(a["messages"]["en"], "System fault: trunk-2 down");
    // `message` stays the configured language (zh-CN by default).
    assert_eq!(a["message"], a["messages"]["zh-CN"]);
    let id = a["id"].as_str().expect("id");
    let (status, one) = d.get(&format!("/api/alerts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&one).expect("json")["messages"], a["messages"]);
    assert_eq!(d.get("/api/alerts/nope").await.0, 404);

    let get = |path: &str, gzip: bool| {
        let enc = if gzip { "Accept-Encoding: gzip\r\n" } else { "" };
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{enc}Connection: close\r\n\r\n")
    };
    // /api/floor too on a real floor; here it is under the 1 KiB worth compressing.
    for path in ["/metrics"] {
        // Raw bytes: a gzipped body is not text.
        let mut s = tokio::net::TcpStream::connect(d.addr).await.expect("connect");
        s.write_all(get(path, true).as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        tokio::time::timeout(PATIENCE, s.read_to_end(&mut raw)).await.expect("in time").expect("read");
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("content-encoding: gzip"), "{path}: {head}");
        // The gzip magic, after the first chunk's size line when chunked.
        let body = &raw[end + 4..];
        assert!(body.windows(2).take(16).any(|w| w == b"\x1f\x8b"), "not a gzip stream");
        let (_, head, body) = http_request_full(d.addr, &get(path, false)).await;
        assert!(!head.to_ascii_lowercase().contains("content-encoding"), "{path} without asking: {head}");
        assert!(!body.is_empty());
    }
    let m = d.metrics().await;
    let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    let info = m.lines().find(|l| l.starts_with("floorwatch_build_info{")).expect("build_info");
    assert!(info.contains(&version) && info.ends_with("} 1"), "{info}");
    assert!(m.contains("process_resident_memory_bytes"), "process metrics");
    assert!(m.contains("floorwatch_store_rows_purged_total{table=\"audit\"} 0"));
}

#[tokio::test]
async fn json_log_lines_parse() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["serve", "--log-format", "json", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn floorwatch serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let addr = loop {
        let line = rx.recv_timeout(PATIENCE).expect("the daemon logs");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{v}");
        lines.push(v.clone());
        if v["fields"]["message"] == "floorwatch listening" {
            break v["fields"]["addr"]
                .as_str()
                .expect("addr field")
                .parse::<std::net::SocketAddr>()
                .expect("addr");
        }
    };
    assert!(lines.iter().any(|v| v["fields"]["message"] == "store opened"), "{lines:?}");
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    expect_clean_exit(&mut child, "daemon after SIGTERM").await;
    // Every line to the end, shutdown included, is one JSON object.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) {
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}
