//! One ingest WebSocket session: read frames, decode them, hand each to the
//! session's [`Connection`] (the intake, which dedupes, counts and sends to the
//! engine), answer each rejection with an error frame.
//!
//! Generic over the socket (`Stream` + `Sink` of axum messages) so the protocol's
//! edge cases can be driven from a channel pair in unit tests. The HTTP layer does
//! the handshake (auth, limits) and calls [`run`].

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::decode::decode_limited;
use super::wire::ErrorFrame;
use crate::event::{Event, Id};
use crate::ingest::limits::Throttle;
use crate::ingest::{Connection, Intake, RejectReason, Rejection};

/// WebSocket close codes used here (RFC 6455 §7.4.1).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOO_BIG: u16 = 1009;

pub struct Session {
    pub intake: Intake,
    /// The connection's own source id, used for events that name none.
    pub source: Id,
    /// Whether the bridge named it (`?source=`) rather than taking a `conn-N`.
    pub named: bool,
    pub cancel: CancellationToken,
    pub max_frame_bytes: usize,
    /// `limits.max_field_bytes`: longest string field of an event.
    pub max_field_bytes: usize,
    /// `limits.per_connection_events_per_sec`: above it, reads pause ([`Throttle`]).
    pub events_per_sec: u32,
}

pub async fn run<S>(ws: S, s: Session)
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin,
{
    let max = s.max_field_bytes;
    run_with(ws, s, move |f: &str, src: &Id, out: &mut Vec<Event>, rej: &mut Vec<Rejection>| {
        decode_limited(f, src, max, out, rej)
    })
    .await;
}

/// [`run`] with another decoder for the text frames (a vendor's format, see
/// `http::vendor`): everything else — limits, error frames, close codes, the
/// hand-off — is the canonical session's.
pub async fn run_with<S, D>(mut ws: S, s: Session, mut decode: D)
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin,
    D: FnMut(&str, &Id, &mut Vec<Event>, &mut Vec<Rejection>),
{
    let conn = s.intake.open(s.source, s.named).await;
    let mut events: Vec<Event> = Vec::new();
    let mut rejected: Vec<Rejection> = Vec::new();
    let mut throttle = Throttle::new(s.events_per_sec, tokio::time::Instant::now());
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
                decode(text.as_str(), conn.source(), &mut events, &mut rejected);
                let n = events.len() + rejected.len();
                if take(&mut ws, &conn, &mut events, &mut rejected).await.is_err() {
                    break;
                }
                // Over its rate, this connection stops reading for a while: its
                // frames wait in the sender's socket (lossless), and no other
                // connection is slowed.
                let pause = throttle.take(n, tokio::time::Instant::now());
                if !pause.is_zero() {
                    conn.throttled(pause);
                    tokio::select! {
                        _ = s.cancel.cancelled() => {}
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
            Some(Ok(Message::Binary(_))) => {
                // A frame, refused whole: counted like a text frame that held nothing.
                rejected.push(Rejection::new(
                    RejectReason::BinaryFrame,
                    "binary frames are not accepted; send JSON text frames".into(),
                ));
                if take(&mut ws, &conn, &mut events, &mut rejected).await.is_err() {
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
                    conn.reject(&r);
                    tracing::warn!(source = %conn.source(), limit = s.max_frame_bytes, "ingest frame too large, closing");
                    let _ = send_error(&mut ws, &r).await;
                    close(&mut ws, CLOSE_TOO_BIG, "frame too large").await;
                } else {
                    tracing::debug!(source = %conn.source(), error = %e, "ingest connection error");
                }
                break;
            }
        }
    }
    conn.close().await;
}

/// Hands one decoded frame to the connection, then answers its rejections (the
/// error frames follow the hand-off, so one that arrives says its frame was taken
/// in). `Err`: the session is over — the socket failed, or the engine has stopped
/// and the session has said so with a 1001 close.
async fn take<S>(
    ws: &mut S,
    conn: &Connection,
    events: &mut Vec<Event>,
    rejected: &mut Vec<Rejection>,
) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    let taken = conn.accept(events, rejected).await;
    for r in rejected.drain(..) {
        send_error(ws, &r).await?;
    }
    if taken.is_err() {
        close(ws, CLOSE_GOING_AWAY, "floorwatch is shutting down").await;
        return Err(());
    }
    Ok(())
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

#[cfg(test)]
mod tests;
