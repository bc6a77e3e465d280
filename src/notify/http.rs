//! The HTTP side of a push: one shared hyper client (rustls with ring, Mozilla roots, HTTP/1.1),
//! a POST bounded by a timeout, and the verdict on the answer (sent, retry, or give up).

use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::config::SinkKind;

/// Robots' answers are small; read at most this much of any answer.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds the shared client; `http://` and `https://` both allowed.
pub(crate) fn client() -> HttpClient {
    let provider = rustls::crypto::ring::default_provider();
    // Fails only for a provider without a safe protocol version; ring has TLS 1.2 and 1.3.
    #[allow(clippy::expect_used)]
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .expect("ring supports the default TLS versions");
    let connector = builder.https_or_http().enable_http1().build();
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector)
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Sent,
    /// Worth another try (connection error, timeout, 5xx, 429, a robot's rate limit).
    Retry(String),
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
        let bytes = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        Ok::<_, String>((status, bytes))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Outcome::Retry(format!("timed out after {}s", timeout.as_secs_f32())),
        Ok(Err(e)) => Outcome::Retry(e),
        Ok(Ok((status, bytes))) => judge(kind, status, &bytes),
    }
}

/// The verdict on an answer.
pub(crate) fn judge(kind: &SinkKind, status: StatusCode, body: &[u8]) -> Outcome {
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        return Outcome::Retry(format!("HTTP {}", status.as_u16()));
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
            if is_rate_limit(kind, c) { Outcome::Retry(text) } else { Outcome::GiveUp(text) }
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
