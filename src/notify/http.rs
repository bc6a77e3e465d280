//! The HTTP side of a push: a hyper client per receiver (rustls with ring, the Mozilla roots plus
//! the receiver's CA file, HTTP/1.1, the environment's HTTPS proxy), a POST bounded by a
//! timeout, and the verdict on the answer (sent, retry — when the receiver says, per
//! `Retry-After` — or give up).

use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::config::{ProxyConfig, ReceiverConfig, SinkKind};
use super::connect::{self, ConnectError, ProxyConnector};

/// Robots' answers are small; read at most this much of any answer.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub(crate) type HttpClient = Client<HttpsConnector<ProxyConnector>, Full<Bytes>>;

/// Longest `Retry-After` honoured: a receiver asking for more is retried after this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Builds receiver `rc`'s client; `http://` and `https://` both allowed. Reads
/// its CA file, so call it at start-up.
pub(crate) fn client(rc: &ReceiverConfig, proxy: &ProxyConfig) -> Result<HttpClient, ConnectError> {
    let tls = connect::tls_config(rc.ca_file.as_deref())?;
    let tcp = ProxyConnector::new(proxy)?;
    for url in &rc.urls {
        if let Ok(uri) = url.parse::<hyper::Uri>()
            && tcp.proxied(&uri)
        {
            tracing::info!(receiver = %rc.name, url = %super::render::mask_url(url), "notify: through the https proxy");
        }
    }
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector))
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Sent,
    /// Worth another try (connection error, timeout, 5xx, 429, a robot's rate
    /// limit); `after` is the receiver's own `Retry-After`, when it gave one.
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// Not worth another try (4xx, a robot's error code).
    GiveUp(String),
}

/// POSTs `body` as JSON to `url`, the whole exchange bounded by `timeout`.
pub(crate) async fn post(
    client: &HttpClient,
    kind: &SinkKind,
    url: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Outcome {
    let req = match Request::post(url)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .header(header::USER_AGENT, concat!("floorwatch/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(Bytes::from(body)))
    {
        Ok(r) => r,
        Err(_) => return Outcome::GiveUp("invalid request URL".into()),
    };
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| error_chain(&e))?;
        let status = resp.status();
        let after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, std::time::SystemTime::now()));
        let bytes = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        Ok::<_, String>((status, bytes, after))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => retry(format!("timed out after {}s", timeout.as_secs_f32())),
        Ok(Err(e)) => retry(e),
        Ok(Ok((status, bytes, after))) => match judge(kind, status, &bytes) {
            Outcome::Retry { why, after: None } => Outcome::Retry { why, after },
            other => other,
        },
    }
}

fn retry(why: String) -> Outcome {
    Outcome::Retry { why, after: None }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay seconds, or an HTTP date
/// (a date in the past means now). Capped at [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(v: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = v.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(v).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// The verdict on an answer.
pub(crate) fn judge(kind: &SinkKind, status: StatusCode, body: &[u8]) -> Outcome {
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        return retry(format!("HTTP {}", status.as_u16()));
    }
    if !status.is_success() {
        return Outcome::GiveUp(format!("HTTP {}: {}", status.as_u16(), snippet(body)));
    }
    let robot = matches!(kind, SinkKind::WeCom | SinkKind::DingTalk { .. } | SinkKind::Feishu { .. });
    if !robot {
        return Outcome::Sent;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Outcome::GiveUp(format!("unexpected answer: {}", snippet(body)));
    };
    // WeCom/DingTalk: errcode/errmsg; Feishu: code/msg (older: StatusCode/StatusMessage).
    let code = ["errcode", "code", "StatusCode"].iter().find_map(|k| v.get(*k)).and_then(|c| c.as_i64());
    let msg = ["errmsg", "msg", "StatusMessage"].iter().find_map(|k| v.get(*k)).and_then(|m| m.as_str());
    match code {
        None | Some(0) => Outcome::Sent,
        Some(c) => {
            let text = format!("{} error {c}: {}", kind.as_str(), msg.unwrap_or(""));
            if is_rate_limit(kind, c) { retry(text) } else { Outcome::GiveUp(text) }
        }
    }
}

/// Robot error codes meaning "too fast, try later" (plus the robots' own system-busy codes).
fn is_rate_limit(kind: &SinkKind, code: i64) -> bool {
    match kind {
        // 45009: API freq out of limit; 45033: too many concurrent calls; -1: system busy.
        SinkKind::WeCom => matches!(code, 45009 | 45033 | -1),
        // 130101: sending too fast (20/min); -1: system busy.
        SinkKind::DingTalk { .. } => matches!(code, 130101 | -1),
        // 11232: frequency limited; 9499 wraps 429 for some tenants.
        SinkKind::Feishu { .. } => matches!(code, 11232 | 9499),
        _ => false,
    }
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().take(200).collect();
    s.replace(['\n', '\r'], " ")
}

/// `Display` of an error and its sources; hyper's errors carry no URL, so nothing secret.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
