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

/// A simulated floor of `base.agents` agents as `sites` sites, each its own bridge
/// for its own agents and their calls: ids prefixed `site<n>-` (when more than
/// one), seeds `base.seed + n`; the sites share the queues. Each site's events,
/// `per_site` of them, stamped from now on.
///
/// One floor's stream cut round-robin over several connections instead reaches
/// the daemon out of order (the connections race), and a third of it was set
/// aside as stale: a bench of that measures rejections, not a floor.
pub(crate) fn site_events(
    base: &floorwatch::sim::SimConfig,
    sites: usize,
    per_site: usize,
) -> Vec<Vec<floorwatch::sim::SimEvent>> {
    let start = chrono::Utc::now();
    (0..sites)
        .map(|c| {
            let cfg = floorwatch::sim::SimConfig {
                agents: base.agents / sites,
                teams: (base.teams / sites).max(1),
                id_prefix: if sites > 1 { format!("site{}-", c + 1) } else { base.id_prefix.clone() },
                seed: base.seed + c as u64,
                ..base.clone()
            };
            let mut model = floorwatch::sim::SimModel::new(&cfg, start);
            let mut events = Vec::new();
            let mut t = start;
            while events.len() < per_site {
                t += chrono::Duration::seconds(10);
                model.advance_to(t, &mut events);
            }
            events.truncate(per_site);
            events
        })
        .collect()
}

/// `events` as one frame (a JSON array) from `source`, numbered on from `seq`.
pub(crate) fn frame(events: &[floorwatch::sim::SimEvent], source: &str, seq: &mut u64) -> String {
    let mut text = String::from("[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        *seq += 1;
        text.push_str(&e.to_json(*seq, source));
    }
    text.push(']');
    text
}
