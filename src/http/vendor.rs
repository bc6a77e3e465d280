//! The vendor endpoints (contract §7): `WS /ingest/{format}` and
//! `POST /ingest/{format}` for `amazon-connect`, `genesys-cloud` and `twilio`.
//!
//! Same rule as `/ingest` ([`admit`]), with the token taken wherever the vendor
//! can put it (bearer, Firehose's access-key header, Basic's password); the same
//! frame/body limit (`ingest.max_frame_bytes`) and connection limit. Each WS
//! connection, and each POST, is one intake `Connection` of its source
//! (`?source=`, default the format's name); a POST is named `false`, since a
//! webhook has no connection to lose (its silence is what `source_down` sees).
//!
//! A POST is answered 200 only once its events are with the engine: Firehose
//! gets its acknowledgement (`{"requestId", "timestamp"}`), others
//! `{"accepted": n, "rejected": [...]}`. A body nothing could be read from is a
//! 400 with a JSON error; one over the limit a 413.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::vendor_token;
use super::ingest::{admit, bound_source};
use super::{ApiError, AppState};
use crate::access::Refused;
use crate::event::{Event, Id, valid_id};
use crate::ingest::canonical::session::{self, Session};
use crate::ingest::vendor::{self, Cx};
use crate::ingest::vendor_config::Format;
use crate::ingest::{RefuseReason, RejectReason, Rejection};

#[derive(Debug, Deserialize)]
pub(super) struct VendorQuery {
    source: Option<String>,
}

/// At most this many rejections are listed in a POST's answer (all are counted).
const LISTED_REJECTIONS: usize = 100;

/// The checks every vendor request passes, in order: a known format, the ingest
/// rule, a valid source id, a free connection slot.
fn gate(
    st: &AppState,
    format: &str,
    q: VendorQuery,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<(Format, Id, tokio::sync::OwnedSemaphorePermit), ApiError> {
    let Some(format) = Format::parse(format) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown ingest format {format:?} (amazon-connect, genesys-cloud, twilio)"),
        ));
    };
    let speaks = match admit(st, vendor_token(headers).as_deref(), headers, peer) {
        Ok(s) => s,
        Err(Refused::Unauthorized) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "ingest requires the ingest token (Authorization: Bearer, X-Amz-Firehose-Access-Key, or Basic)",
            ));
        }
        Err(Refused::NotLoopback) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "no ingest token is configured, so ingest is accepted from loopback only; set FLOORWATCH_INGEST_TOKEN",
            ));
        }
    };
    // A bridge's token binds the source; the vendor decoders stamp every event
    // with the connection's source, so the handshake's check is the whole check.
    let source = match bound_source(st, &speaks, q.source, peer)? {
        Some(s) if valid_id(&s) => Id::from(s),
        Some(_) => {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "source",
                "`source` must be a non-empty id without spaces, at most 64 characters",
            ));
        }
        None => Id::from(format.as_str()),
    };
    let Ok(permit) = st.conn_limit.clone().try_acquire_owned() else {
        st.intake.refuse(RefuseReason::TooMany);
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too many ingest connections"));
    };
    Ok((format, source, permit))
}

pub(super) async fn upgrade(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(format): Path<String>,
    Query(q): Query<VendorQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let (format, source, permit) = match gate(&st, &format, q, &headers, peer) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let limit = st.ingest.max_frame_bytes;
    let session = Session {
        intake: st.intake.clone(),
        source,
        named: true,
        cancel: st.cancel.clone(),
        max_frame_bytes: limit,
        max_field_bytes: st.limits.max_field_bytes,
        events_per_sec: st.limits.per_connection_events_per_sec,
    };
    ws.max_message_size(limit).max_frame_size(limit).on_upgrade(move |socket| async move {
        let _permit = permit;
        let decode = |text: &str, source: &Id, events: &mut Vec<Event>, rejected: &mut Vec<Rejection>| {
            st.vendors.with(format, source, |settings, state| {
                let mut cx = Cx { source, settings, state, now: st.clock.now_ms() };
                vendor::decode(format, text.as_bytes(), &mut cx, events, rejected);
            });
        };
        session::run_with(socket, session, decode).await;
    })
}

pub(super) async fn post(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(format): Path<String>,
    Query(q): Query<VendorQuery>,
    uri: axum::extract::OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Firehose wants its request id back even on failure.
    let firehose_id =
        headers.get("x-amz-firehose-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let refuse = |e: ApiError, st: &AppState| match &firehose_id {
        Some(id) => firehose_error(e.status(), id, e.message(), st),
        None => e.into_response(),
    };
    let (format, source, _permit) = match gate(&st, &format, q, &headers, peer) {
        Ok(g) => g,
        Err(e) => return refuse(e, &st),
    };
    let gzip = match headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(enc) if enc.eq_ignore_ascii_case("identity") => false,
        Some(enc) if enc.eq_ignore_ascii_case("gzip") => true,
        Some(enc) => {
            let e = ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding {enc:?} is not read: deliver it uncompressed or as gzip"),
            );
            return refuse(e, &st);
        }
    };
    let conn = st.intake.open(source, false).await;
    let limit = st.ingest.max_frame_bytes;
    let too_large = |what: &str| {
        Rejection::new(RejectReason::FrameTooLarge, format!("{what} exceeds the {limit} byte limit"))
    };
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            let r = too_large("body");
            conn.reject(&r);
            conn.close().await;
            let e = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, r.message);
            return refuse(e, &st);
        }
    };
    let bytes = if gzip {
        match gunzip(&bytes, limit) {
            Ok(b) => axum::body::Bytes::from(b),
            Err(Gunzip::TooLarge) => {
                let r = too_large("the gzip body, uncompressed,");
                conn.reject(&r);
                conn.close().await;
                return refuse(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, r.message), &st);
            }
            Err(Gunzip::Corrupt(why)) => {
                let r =
                    Rejection::new(RejectReason::BadEncoding, format!("the gzip body cannot be read: {why}"));
                conn.reject(&r);
                conn.close().await;
                return refuse(ApiError::new(StatusCode::BAD_REQUEST, r.message), &st);
            }
        }
    } else {
        bytes
    };
    if format == Format::Twilio
        && let Some(auth) = st.vendors.twilio_auth(conn.source())
    {
        let path = uri.0.path_and_query().map_or("/", |p| p.as_str());
        let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
        if let Err(e) =
            crate::ingest::twilio::signature::verify(&auth.token, &auth.url(path), &bytes, signature)
        {
            tracing::warn!(source = %conn.source(), error = %e, "Twilio request refused");
            st.intake.refuse(RefuseReason::Unauthorized);
            conn.close().await;
            return ApiError::new(StatusCode::FORBIDDEN, e.to_string()).into_response();
        }
    }
    let (mut events, mut rejected) = (Vec::new(), Vec::new());
    let firehose = st.vendors.with(format, conn.source(), |settings, state| {
        let mut cx = Cx { source: conn.source(), settings, state, now: st.clock.now_ms() };
        vendor::decode(format, &bytes, &mut cx, &mut events, &mut rejected)
    });
    let accepted = events.len();
    // Nothing in it could be read at all: the sender must hear it is wrong.
    let unusable = accepted == 0 && !rejected.is_empty() && rejected.iter().all(|r| r.index.is_none());
    let taken = conn.accept(&mut events, &rejected).await;
    conn.close().await;
    if taken.is_err() {
        let e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "floorwatch is shutting down");
        return refuse(e, &st);
    }
    tracing::debug!(source = %format.as_str(), accepted, rejected = rejected.len(), "vendor body taken");
    let firehose = firehose.or(firehose_id);
    if unusable {
        let r = &rejected[0];
        return match firehose {
            Some(id) => firehose_error(StatusCode::BAD_REQUEST, &id, &r.message, &st),
            None => (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": r.message, "reason": r.reason.as_label() })),
            )
                .into_response(),
        };
    }
    if let Some(id) = firehose {
        return Json(serde_json::json!({ "requestId": id, "timestamp": st.clock.now_ms() })).into_response();
    }
    let listed: Vec<serde_json::Value> = rejected
        .iter()
        .take(LISTED_REJECTIONS)
        .map(|r| serde_json::json!({ "reason": r.reason.as_label(), "index": r.index, "message": r.message }))
        .collect();
    Json(serde_json::json!({ "accepted": accepted, "rejected": listed })).into_response()
}

/// Firehose's error shape: its request id, a time in ms, and a message.
fn firehose_error(status: StatusCode, id: &str, msg: &str, st: &AppState) -> Response {
    let body = serde_json::json!({ "requestId": id, "timestamp": st.clock.now_ms(), "errorMessage": msg });
    (status, Json(body)).into_response()
}

enum Gunzip {
    TooLarge,
    Corrupt(String),
}

/// Inflates a gzip body, reading at most `limit` bytes of it uncompressed (a
/// small body can inflate a thousandfold: the limit is on what it becomes).
fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, Gunzip> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let mut rd = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64 + 1);
    rd.read_to_end(&mut out).map_err(|e| Gunzip::Corrupt(e.to_string()))?;
    if out.len() > limit {
        return Err(Gunzip::TooLarge);
    }
    Ok(out)
}
