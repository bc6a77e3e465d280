//! The WebSocket side: dialling ingest, one connection's send/receive loop, and
//! the clean close on shutdown.
//!
//! Reads and writes share one task and one `select!`, so the daemon's error
//! frames and a dead peer are noticed between batches without extra tasks.

use std::time::Duration;

use anyhow::Context;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::feed::Feed;
use super::{SimConfig, SimStats};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a shutdown waits for the daemon to answer our Close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) enum ConnectError {
    /// Retrying cannot help (bad URL, token rejected).
    Refused(String),
    /// Worth another try later.
    Failed(String),
}

pub(super) enum SessionEnd {
    Cancelled,
    Dropped,
}

/// The upgrade request for `cfg.url`, with the bearer token when there is one.
pub(super) fn request(cfg: &SimConfig) -> anyhow::Result<Request> {
    let mut req =
        cfg.url.as_str().into_client_request().with_context(|| format!("bad simulator url {:?}", cfg.url))?;
    if let Some(token) = &cfg.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the ingest token is not a valid header value")?;
        req.headers_mut().insert(header::AUTHORIZATION, value);
    }
    Ok(req)
}

pub(super) async fn connect(cfg: &SimConfig) -> Result<Ws, ConnectError> {
    let req = request(cfg).map_err(|e| ConnectError::Refused(format!("{e:#}")))?;
    // Nagle off: batches are already sized, waiting only adds latency.
    let dial = tokio_tungstenite::connect_async_with_config(req, None, true);
    match timeout(CONNECT_TIMEOUT, dial).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(resp)))
            if matches!(resp.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) =>
        {
            Err(ConnectError::Refused(format!("HTTP {} (check the ingest token)", resp.status())))
        }
        Ok(Err(WsError::Url(e))) => Err(ConnectError::Refused(e.to_string())),
        Ok(Err(e)) => Err(ConnectError::Failed(e.to_string())),
        Err(_) => Err(ConnectError::Failed("connect timed out".to_owned())),
    }
}

/// Drives one connection: every `batch_ms` the feed is topped up and its frames
/// written; in between, whatever the daemon says is read.
pub(super) async fn session(
    ws: Ws,
    feed: &mut Feed,
    stats: &mut SimStats,
    cfg: &SimConfig,
    cancel: &CancellationToken,
) -> SessionEnd {
    let (mut sink, mut stream) = ws.split();
    let mut tick = tokio::time::interval(Duration::from_millis(cfg.batch_ms));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => on_server_text(text.as_str(), stats),
                Some(Ok(Message::Close(frame))) => {
                    info!(reason = ?frame, "ingest closed the connection");
                    return SessionEnd::Dropped;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    warn!(error = %e, "ingest connection lost");
                    return SessionEnd::Dropped;
                }
                None => {
                    warn!("ingest connection lost");
                    return SessionEnd::Dropped;
                }
            },
            _ = tick.tick() => {
                let now = Instant::now();
                feed.refill(now);
                if feed.in_outage(now) {
                    // The link hangs: nothing goes out, events pile up to be sent after.
                    continue;
                }
                match write_due(&mut sink, feed, stats, cancel).await {
                    Ok(()) => {}
                    Err(SessionEnd::Cancelled) => break,
                    Err(SessionEnd::Dropped) => return SessionEnd::Dropped,
                }
            }
        }
    }

    // Cancelled: say goodbye properly so the daemon sees a clean close, not a
    // dropped source.
    let goodbye = async {
        sink.send(Message::Close(None)).await?;
        while let Some(msg) = stream.next().await {
            if let Message::Text(text) = msg? {
                on_server_text(text.as_str(), stats);
            }
        }
        Ok::<(), WsError>(())
    };
    match timeout(CLOSE_TIMEOUT, goodbye).await {
        Ok(Ok(())) | Ok(Err(WsError::ConnectionClosed)) => debug!("ingest connection closed"),
        Ok(Err(e)) => debug!(error = %e, "close handshake failed"),
        Err(_) => debug!("ingest did not answer the close"),
    }
    SessionEnd::Cancelled
}

/// Writes every queued frame. A frame leaves the queue only once written, so one
/// that fails goes first on the next connection.
async fn write_due(
    sink: &mut SplitSink<Ws, Message>,
    feed: &mut Feed,
    stats: &mut SimStats,
    cancel: &CancellationToken,
) -> Result<(), SessionEnd> {
    while let Some(frame) = feed.next_frame() {
        let (events, first_seq) = (frame.events, frame.first_seq);
        let written = tokio::select! {
            // A half-written frame stays buffered in the socket; the Close that
            // follows flushes it first.
            _ = cancel.cancelled() => return Err(SessionEnd::Cancelled),
            r = sink.send(Message::Text(frame.text.clone())) => r,
        };
        if let Err(e) = written {
            warn!(error = %e, first_seq, "sending to ingest failed");
            return Err(SessionEnd::Dropped);
        }
        feed.sent(Instant::now());
        stats.frames_sent += 1;
        stats.events_sent += events;
    }
    Ok(())
}

/// Counts and logs the daemon's rejections; anything else it says is ignored.
fn on_server_text(text: &str, stats: &mut SimStats) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        debug!(len = text.len(), "ignoring non-json frame from ingest");
        return;
    };
    if value.get("type").and_then(|t| t.as_str()) != Some("error") {
        return;
    }
    stats.errors_received += 1;
    let field = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let index = value.get("index").and_then(|v| v.as_u64());
    warn!(reason = %field("reason"), index, message = %field("message"), "server rejected event");
}
