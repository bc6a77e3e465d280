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

use super::AppState;
use super::auth::{Refusal, bearer, check};
use crate::event::{Id, valid_id};
use crate::ingest::RefuseReason;
use crate::ingest::canonical::session::{self, Session};

/// The ingest rule for every way in (`/ingest` and the vendor routes), with the
/// token the request presented: counts and logs a refusal; the caller words it.
pub(super) fn admit(st: &AppState, given: Option<&str>, peer: SocketAddr) -> Result<(), Refusal> {
    let r = check(st.ingest.token.as_deref(), given, peer);
    match r {
        Ok(()) => {}
        Err(Refusal::Unauthorized) => {
            st.intake.refuse(RefuseReason::Unauthorized);
            tracing::warn!(%peer, "ingest handshake refused: missing or wrong token");
        }
        Err(Refusal::NotLoopback) => {
            st.intake.refuse(RefuseReason::NotLoopback);
            tracing::warn!(%peer, "ingest handshake refused: no token configured and peer is not loopback");
        }
    }
    r
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
    match admit(&st, bearer(&headers), peer) {
        Ok(()) => {}
        Err(Refusal::Unauthorized) => {
            let mut r =
                (StatusCode::UNAUTHORIZED, "ingest requires Authorization: Bearer <token>\n").into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
        Err(Refusal::NotLoopback) => {
            return (
                StatusCode::FORBIDDEN,
                "no ingest token is configured, so ingest is accepted from loopback only; set FLOORWATCH_INGEST_TOKEN\n",
            )
                .into_response();
        }
    }
    let named = q.source.is_some();
    let source: Id = match q.source {
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
        session::run(socket, session).await;
    })
}
