//! The `/ingest` handshake: who may send events, and how many at once.
//!
//! Rule (contract §1): when a token is configured (`FLOORWATCH_INGEST_TOKEN` or the
//! config), the handshake must carry `Authorization: Bearer <token>` or gets 401;
//! with no token configured only loopback peers are accepted (403 otherwise).

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::bearer;
use super::{ApiError, AppState};
use crate::access::{self, Refused, Speaks};
use crate::event::{Id, valid_id};
use crate::ingest::RefuseReason;
use crate::ingest::canonical::session::{self, Session};

/// The ingest rule for every way in (`/ingest` and the vendor routes), with the
/// token the request presented: counts and logs a refusal; the caller words it.
/// A forwarded request counts as loopback only through a trusted proxy.
pub(super) fn admit(
    st: &AppState,
    given: Option<&str>,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Speaks, Refused> {
    let loopback = access::peer_is_loopback(peer.ip(), headers, &st.trusted_proxies);
    let r = access::bridge(&st.access.current(), st.ingest.token.as_deref(), given, loopback);
    match r {
        Ok(_) => {}
        Err(Refused::Unauthorized) => {
            st.intake.refuse(RefuseReason::Unauthorized);
            tracing::warn!(%peer, "ingest handshake refused: missing or wrong token");
        }
        Err(Refused::NotLoopback) => {
            st.intake.refuse(RefuseReason::NotLoopback);
            tracing::warn!(%peer, "ingest handshake refused: no token configured and peer is not loopback (or is forwarded by an untrusted proxy)");
        }
    }
    r
}

/// The source a connection speaks for: the bound one of a bridge's token (a
/// `?source=` naming another is refused, counted as `wrong_source`), else the
/// one asked for. `Ok(None)`: none asked for and none bound.
pub(super) fn bound_source(
    st: &AppState,
    speaks: &Speaks,
    asked: Option<String>,
    peer: SocketAddr,
) -> Result<Option<String>, ApiError> {
    match (speaks, asked) {
        (Speaks::Any, asked) => Ok(asked),
        (Speaks::For(own), None) => Ok(Some(own.clone())),
        (Speaks::For(own), Some(a)) if *own == a => Ok(Some(a)),
        (Speaks::For(own), Some(a)) => {
            st.intake.refuse(RefuseReason::WrongSource);
            tracing::warn!(%peer, bound = %own, asked = %a, "ingest handshake refused: token bound to another source");
            Err(ApiError::field(
                StatusCode::FORBIDDEN,
                "source",
                format!("this token speaks for source {own:?} only, not {a:?}"),
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct IngestQuery {
    /// The connection's source id; a bridge that reconnects under the same id has
    /// its replayed events deduplicated by `seq`.
    source: Option<String>,
}

pub(super) async fn upgrade(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<IngestQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let speaks = match admit(&st, bearer(&headers), &headers, peer) {
        Ok(s) => s,
        Err(Refused::Unauthorized) => {
            let mut r =
                (StatusCode::UNAUTHORIZED, "ingest requires Authorization: Bearer <token>\n").into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
        Err(Refused::NotLoopback) => {
            return (
                StatusCode::FORBIDDEN,
                "no ingest token is configured, so ingest is accepted from loopback only (and not through an untrusted proxy); set FLOORWATCH_INGEST_TOKEN\n",
            )
                .into_response();
        }
    };
    let asked = match bound_source(&st, &speaks, q.source, peer) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let bound = matches!(speaks, Speaks::For(_));
    let named = asked.is_some();
    let source: Id = match asked {
        Some(s) if valid_id(&s) => Id::from(s),
        Some(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "`source` must be a non-empty id without spaces, at most 64 characters\n",
            )
                .into_response();
        }
        None => st.intake.unnamed_source(),
    };
    let Ok(permit) = st.conn_limit.clone().try_acquire_owned() else {
        st.intake.refuse(RefuseReason::TooMany);
        return (StatusCode::SERVICE_UNAVAILABLE, "too many ingest connections\n").into_response();
    };
    let limit = st.ingest.max_frame_bytes;
    let session = Session {
        intake: st.intake.clone(),
        source,
        named,
        cancel: st.cancel.clone(),
        max_frame_bytes: limit,
        max_field_bytes: st.limits.max_field_bytes,
        events_per_sec: st.limits.per_connection_events_per_sec,
    };
    ws.max_message_size(limit).max_frame_size(limit).on_upgrade(move |socket| async move {
        let _permit = permit;
        if bound {
            let decode = |text: &str, source: &Id, events: &mut Vec<_>, rejected: &mut Vec<_>| {
                crate::ingest::canonical::decode(text, source, events, rejected);
                crate::ingest::keep_own_source(source, events, rejected);
            };
            session::run_with(socket, session, decode).await;
        } else {
            session::run(socket, session).await;
        }
    })
}
