//! One ingest WebSocket session: read frames, decode, dedupe, hand accepted events
//! to the engine, answer each rejection with an error frame.
//!
//! Generic over the socket (`Stream` + `Sink` of axum messages) so the protocol's
//! edge cases can be driven from a channel pair in unit tests. The HTTP layer does
//! the handshake (auth, limits) and calls [`run`].

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::decode::decode;
use super::dedupe::SeqMarks;
use super::wire::ErrorFrame;
use super::{RejectReason, Rejection};
use crate::engine::EngineInput;
use crate::event::{Event, Id};
use crate::metrics::Metrics;

/// WebSocket close codes used here (RFC 6455 §7.4.1).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOO_BIG: u16 = 1009;

pub struct Session {
    /// The connection's own source id, used for events that name none.
    pub source: Id,
    /// Whether the bridge named it (`?source=`) rather than taking a `conn-N`.
    pub named: bool,
    pub engine: mpsc::Sender<EngineInput>,
    pub marks: Arc<SeqMarks>,
    pub metrics: Arc<Metrics>,
    pub cancel: CancellationToken,
    pub max_frame_bytes: usize,
}

pub async fn run<S>(mut ws: S, s: Session)
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin,
{
    s.metrics.connections.inc();
    s.metrics.connections_total.inc();
    tracing::info!(source = %s.source, "ingest connection opened");
    let _ =
        s.engine.send(EngineInput::Connection { source: s.source.clone(), delta: 1, named: s.named }).await;

    let mut events: Vec<Event> = Vec::new();
    let mut rejected: Vec<Rejection> = Vec::new();
    loop {
        let msg = tokio::select! {
            _ = s.cancel.cancelled() => {
                close(&mut ws, CLOSE_GOING_AWAY, "floorwatch is shutting down").await;
                break;
            }
            msg = ws.next() => msg,
        };
        match msg {
            None | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(text))) => {
                s.metrics.frames.inc();
                decode(text.as_str(), &s.source, &mut events, &mut rejected);
                let gaps = drop_duplicates(&s, &mut events);
                for r in rejected.drain(..) {
                    s.metrics.reject(r.reason);
                    tracing::debug!(source = %s.source, reason = %r.reason, index = ?r.index, "event rejected");
                    if send_error(&mut ws, &r).await.is_err() {
                        break;
                    }
                }
                if let Some(input) = gaps
                    && s.engine.send(input).await.is_err()
                {
                    break;
                }
                if !events.is_empty() {
                    // The batch goes to the engine; the next one starts sized like it
                    // (a bridge's frames are alike), so decoding does not regrow it.
                    let len = events.len();
                    let batch = std::mem::replace(&mut events, Vec::with_capacity(len));
                    if s.engine.send(EngineInput::Batch(batch)).await.is_err() {
                        // The engine is gone: the daemon is stopping.
                        close(&mut ws, CLOSE_GOING_AWAY, "floorwatch is shutting down").await;
                        break;
                    }
                }
            }
            Some(Ok(Message::Binary(_))) => {
                s.metrics.frames.inc();
                let r = Rejection::new(
                    RejectReason::BinaryFrame,
                    "binary frames are not accepted; send JSON text frames".into(),
                );
                s.metrics.reject(r.reason);
                if send_error(&mut ws, &r).await.is_err() {
                    break;
                }
            }
            // Pings are answered by the WebSocket layer itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Err(e)) => {
                if is_too_big(&e) {
                    let r = Rejection::new(
                        RejectReason::FrameTooLarge,
                        format!("frame exceeds the {} byte limit", s.max_frame_bytes),
                    );
                    s.metrics.reject(r.reason);
                    tracing::warn!(source = %s.source, limit = s.max_frame_bytes, "ingest frame too large, closing");
                    let _ = send_error(&mut ws, &r).await;
                    close(&mut ws, CLOSE_TOO_BIG, "frame too large").await;
                } else {
                    tracing::debug!(source = %s.source, error = %e, "ingest connection error");
                }
                break;
            }
        }
    }

    s.metrics.connections.dec();
    tracing::info!(source = %s.source, "ingest connection closed");
    let _ =
        s.engine.send(EngineInput::Connection { source: s.source.clone(), delta: -1, named: s.named }).await;
}

/// Drops events whose `seq` is not above their source's mark; counts gaps, and
/// returns them for the engine's event-loss signature.
fn drop_duplicates(s: &Session, events: &mut Vec<Event>) -> Option<EngineInput> {
    let r = s.marks.filter(events);
    if r.duplicates > 0 {
        s.metrics.rejected[RejectReason::Duplicate.index()].inc_by(r.duplicates);
        tracing::debug!(source = %s.source, dropped = r.duplicates, "duplicate events dropped");
    }
    if r.gaps > 0 {
        s.metrics.seq_gaps.inc_by(r.gaps);
        s.metrics.seq_missing.inc_by(r.missing);
        tracing::warn!(source = %s.source, gaps = r.gaps, missing = r.missing, "sequence gap");
        let source = events.first().map_or_else(|| s.source.clone(), |e| e.source.clone());
        return Some(EngineInput::SeqGaps { source, gaps: r.gaps, missing: r.missing });
    }
    None
}

async fn send_error<S>(ws: &mut S, r: &Rejection) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    let frame = ErrorFrame {
        kind: "error",
        reason: r.reason.as_label(),
        index: r.index,
        seq: r.seq,
        message: &r.message,
    };
    let text = serde_json::to_string(&frame).map_err(|_| ())?;
    ws.send(Message::Text(text.into())).await.map_err(|_| ())
}

async fn close<S>(ws: &mut S, code: u16, reason: &'static str)
where
    S: Sink<Message> + Unpin,
{
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = ws.send(Message::Close(Some(frame))).await;
    let _ = ws.flush().await;
}

fn is_too_big(e: &axum::Error) -> bool {
    use std::error::Error as _;
    use tokio_tungstenite::tungstenite::Error as WsError;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(err) = cur {
        if let Some(WsError::Capacity(_)) = err.downcast_ref::<WsError>() {
            return true;
        }
        cur = err.source();
    }
    false
}
