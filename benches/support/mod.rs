//! Helpers the benchmarks share. Each bench is its own crate and takes this in
//! with `mod support;`; each uses a different part of it.
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A knob from the environment, or its default.
pub(crate) fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends a raw HTTP/1.1 request (with `Connection: close`) and returns the whole
/// response, head and body.
pub(crate) async fn request(addr: SocketAddr, raw: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(raw.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The body of `GET path`.
pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let text =
        request(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")).await?;
    Ok(text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// The sum of every series of metric `name` in the daemon's `/metrics`.
pub(crate) async fn metric(addr: SocketAddr, name: &str) -> anyhow::Result<f64> {
    let body = http_get(addr, "/metrics").await?;
    Ok(body
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum())
}
