//! Alerts over HTTP: the list (as committed to the store), acknowledgement, and
//! the `/ws/alerts` push.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::admin::{AdminWrite, Author, WriteBody, anonymous};
use super::dto::AlertDto;
use super::{ApiError, AppState};
use crate::access::Can;
use crate::alerts::AlertsError;
use crate::store::{AlertFilter, AlertRecord};
use crate::vocab::{self, AlertState, Kind};

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    state: Option<String>,
    kind: Option<String>,
    team: Option<String>,
    queue: Option<String>,
    /// RFC 3339 time: alerts started at or after it.
    since: Option<String>,
    limit: Option<usize>,
}

use super::json_error as error;

pub(super) async fn list(State(st): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let since_ms = match q.since.as_deref().map(crate::event::parse_ts) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, e.in_field("ts")),
        None => None,
    };
    let state = match q.state.as_deref().map(AlertState::parse) {
        Some(Some(s)) => Some(s),
        Some(None) => {
            let valid = vocab::one_of(AlertState::ALL.map(AlertState::as_str));
            return error(StatusCode::BAD_REQUEST, format!("state must be {valid}"));
        }
        None => None,
    };
    let kind = match q.kind.as_deref().map(Kind::parse) {
        Some(Some(k)) => Some(k),
        // No alert has a kind that does not exist: the answer is the empty list.
        Some(None) => return Json(Vec::<AlertDto<'_>>::new()).into_response(),
        None => None,
    };
    let filter = AlertFilter {
        state,
        kind,
        team: q.team,
        queue: q.queue,
        since_ms,
        limit: q.limit.unwrap_or(500).min(5000),
    };
    match st.alerts.store.list_alerts(filter).await {
        Ok(v) => Json(v.iter().map(AlertDto::from).collect::<Vec<_>>()).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "listing alerts failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "alert store unavailable")
        }
    }
}

/// One alert as committed, by id; 404 when there is none.
pub(super) async fn get(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    match st.alerts.store.get_alert(id).await {
        Ok(Some(a)) => Json(AlertDto::from(&a)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => {
            tracing::error!(error = %e, "reading an alert failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "alert store unavailable")
        }
    }
}

/// The optional body of an acknowledgement (contract §2). It keeps the rules it
/// had before the shared ones of [`WriteBody`]: unknown fields pass, a body that
/// is not the documented object is a 400 naming no field, and `by` is kept as
/// given.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AckBody {
    by: Option<String>,
    note: Option<String>,
}

impl WriteBody for AckBody {
    /// The note.
    type Valid = Option<String>;
    const NEEDS: Can = Can::Ack;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<Option<String>, ApiError> {
        Ok(self.note)
    }

    /// serde_json's own reader, which also refuses text after the object.
    fn parse(body: &[u8]) -> Result<AckBody, ApiError> {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("body must be {{\"by\": …, \"note\": …}}: {e}"))
        })
    }

    /// Untrimmed: a blank `by` names nobody, any other is recorded as sent.
    fn actor(by: Option<String>, peer: SocketAddr) -> String {
        by.filter(|b| !b.trim().is_empty()).unwrap_or_else(|| anonymous(peer))
    }
}

pub(super) async fn ack(
    State(st): State<AppState>,
    Path(id): Path<String>,
    w: AdminWrite<AckBody>,
) -> Response {
    let AdminWrite { body: note, author } = w;
    if author.who.role.team_scoped() {
        // A lead acknowledges their own teams' alerts only: the alert's team
        // as committed decides (an alert of no team is nobody's lead's).
        match st.alerts.store.get_alert(id.clone()).await {
            Ok(Some(a)) => {
                if let Err(e) = author.reach("alert", a.team.as_deref()) {
                    return e.into_response();
                }
            }
            Ok(None) => return error(StatusCode::NOT_FOUND, format!("no alert {id}")),
            Err(e) => {
                tracing::error!(error = %e, "reading an alert failed");
                return error(StatusCode::SERVICE_UNAVAILABLE, "acknowledgement not recorded; try again");
            }
        }
    }
    let note = author.note_with_by(note);
    match st.alerts.ack(id.clone(), author.actor, note).await {
        Ok(Some(rec)) => Json(AlertDto::from(&rec)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no alert {id}")),
        Err(AlertsError::Resolved(_)) => {
            error(StatusCode::CONFLICT, format!("alert {id} is already resolved"))
        }
        Err(e) => {
            tracing::error!(error = %e, "acknowledgement failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "acknowledgement not recorded; try again")
        }
    }
}

pub(super) async fn push(State(st): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| push_session(socket, st))
}

/// Open alerts first, then every change. Subscribes before reading the open set,
/// so nothing falls between the two (a change may arrive twice; it is idempotent
/// by id and state). A client too slow for the broadcast gets the open set again.
async fn push_session(mut socket: WebSocket, st: AppState) {
    let mut rx = st.alerts.subscribe();
    if send_open(&mut socket, &st).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(rec) => {
                    if send(&mut socket, &rec).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "alert push client lagged; resending open alerts");
                    if send_open(&mut socket, &st).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = st.cancel.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}

async fn send_open(socket: &mut WebSocket, st: &AppState) -> Result<(), ()> {
    let open = st.alerts.open().await.map_err(|_| ())?;
    for rec in &open {
        send(socket, rec).await?;
    }
    Ok(())
}

async fn send(socket: &mut WebSocket, rec: &AlertRecord) -> Result<(), ()> {
    let text = serde_json::to_string(&AlertDto::from(rec)).map_err(|_| ())?;
    socket.send(Message::Text(text.into())).await.map_err(|_| ())
}
